// Data consistency verification (the paper's §3.2): every read of a transaction must still see the
// version it saw at simulation, counting the writes of earlier valid transactions of the same block.
#include <map>
#include <set>
#include <tuple>

#include "runtime/ledger/ledger.h"

namespace entente::ledger {
namespace {

// The writes of the valid transactions seen so far in the block, by (channel, contract, key):
// the new version, or nullopt for a delete.
using NamespaceKey = std::pair<std::string, std::string>;
using BlockWrites = std::map<NamespaceKey, std::map<std::string, std::optional<Version>>>;

bool WrittenInBlock(const BlockWrites& writes, const NamespaceRwSet& ns, const std::string& key) {
  auto it = writes.find({ns.channel, ns.contract});
  return it != writes.end() && it->second.count(key) > 0;
}

// A version in words: "version (block 3, tx 0)", or "missing".
std::string VersionText(const std::optional<Version>& version) {
  if (!version) return "missing";
  return "version (block " + std::to_string(version->block) + ", tx " + std::to_string(version->tx) + ")";
}

// A key of a namespace in words, made printable (keys are the contract's bytes).
std::string KeyText(const NamespaceRwSet& ns, const std::string& key) {
  return "key '" + Printable(key) + "' of " + ns.channel + "/" + ns.contract;
}

// The committed version of `key` in `ns`, or nullopt when it is missing.
Result<std::optional<Version>> CommittedVersion(const Snapshot& snapshot, const NamespaceRwSet& ns,
                                                const std::string& key) {
  ENTENTE_ASSIGN_OR_RETURN(auto committed, snapshot.Get(ns.channel, ns.contract, key));
  if (!committed) return std::optional<Version>();
  return std::optional<Version>(committed->version);
}

// Returns "" when every read of `ns` still sees the version it saw, else the first conflict in words.
Result<std::string> ReadConflict(const Snapshot& snapshot, const BlockWrites& writes, const NamespaceRwSet& ns) {
  for (const KeyRead& read : ns.reads) {
    if (WrittenInBlock(writes, ns, read.key)) {
      return "it read " + KeyText(ns, read.key) + " at " + VersionText(read.version) +
             ", which an earlier valid transaction of this block writes";
    }
    ENTENTE_ASSIGN_OR_RETURN(const std::optional<Version> now, CommittedVersion(snapshot, ns, read.key));
    if (now != read.version) {
      return "it read " + KeyText(ns, read.key) + " at " + VersionText(read.version) + ", which is " +
             VersionText(now) + " now";
    }
  }
  return std::string();
}

// Re-runs a range read over committed state merged with the block's earlier writes, and compares
// the keys and versions with what the transaction saw.
Result<bool> RangeStillSame(const Snapshot& snapshot, const BlockWrites& writes, const NamespaceRwSet& ns,
                            const RangeRead& range) {
  ENTENTE_ASSIGN_OR_RETURN(RangePage page, snapshot.Range(ns.channel, ns.contract, range.start, range.end));
  std::map<std::string, Version> now;
  for (const auto& [key, value] : page.entries) now.emplace(key, value.version);
  auto in_block = writes.find({ns.channel, ns.contract});
  if (in_block != writes.end()) {
    for (auto it = in_block->second.lower_bound(range.start); it != in_block->second.end(); ++it) {
      if (!range.end.empty() && it->first >= range.end) break;
      if (it->second) {
        now[it->first] = *it->second;
      } else {
        now.erase(it->first);
      }
    }
  }
  if (!range.exhausted) {
    // A page: only keys up to the last one read were promised.
    if (range.keys_read.empty()) return true;
    now.erase(now.upper_bound(range.keys_read.back().key), now.end());
  }
  if (now.size() != range.keys_read.size()) return false;
  auto it = now.begin();
  for (const KeyRead& read : range.keys_read) {
    if (it->first != read.key || !read.version || it->second != *read.version) return false;
    ++it;
  }
  return true;
}

}  // namespace

bool ClaimsTxId(ValidationCode code) {
  return code != ValidationCode::kBadPayload && code != ValidationCode::kBadCreatorSignature &&
         code != ValidationCode::kBadProposalTxid && code != ValidationCode::kDuplicateTxid;
}

Result<std::vector<ValidationCode>> ValidateMvcc(const Snapshot& snapshot, std::string_view channel,
                                                 std::uint64_t block_number, const std::vector<PendingTx>& txs,
                                                 std::vector<std::string>* reasons) {
  std::vector<ValidationCode> codes;
  codes.reserve(txs.size());
  if (reasons != nullptr) reasons->assign(txs.size(), std::string());
  // Records the code of tx `i`, and why when this validator decided it.
  auto decide = [&](std::size_t i, ValidationCode code, std::string reason) {
    codes.push_back(code);
    if (reasons != nullptr) (*reasons)[i] = std::move(reason);
  };
  std::set<std::string_view> ids_in_block;
  BlockWrites writes;
  for (size_t i = 0; i < txs.size(); ++i) {
    const PendingTx& tx = txs[i];
    ValidationCode given = tx.rwset == nullptr && tx.code == ValidationCode::kValid ? ValidationCode::kBadPayload : tx.code;
    if (ClaimsTxId(given)) {
      ENTENTE_ASSIGN_OR_RETURN(auto committed, snapshot.FindTx(channel, tx.tx_id));
      if (committed) {
        decide(i, ValidationCode::kDuplicateTxid, "tx id already committed on " + std::string(channel));
        continue;
      }
      if (!ids_in_block.insert(tx.tx_id).second) {
        decide(i, ValidationCode::kDuplicateTxid, "tx id claimed by an earlier transaction of the same block");
        continue;
      }
    }
    if (given != ValidationCode::kValid) {
      decide(i, given, "");
      continue;
    }
    ValidationCode code = ValidationCode::kValid;
    std::string reason;
    for (const NamespaceRwSet& ns : tx.rwset->namespaces) {
      if (!ns.writes.empty() && ns.channel != channel) {
        code = ValidationCode::kIllegalWriteset;
        reason = "it writes to channel " + ns.channel + ", not " + std::string(channel);
      }
    }
    for (size_t n = 0; code == ValidationCode::kValid && n < tx.rwset->namespaces.size(); ++n) {
      ENTENTE_ASSIGN_OR_RETURN(reason, ReadConflict(snapshot, writes, tx.rwset->namespaces[n]));
      if (!reason.empty()) code = ValidationCode::kMvccReadConflict;
    }
    for (size_t n = 0; code == ValidationCode::kValid && n < tx.rwset->namespaces.size(); ++n) {
      const NamespaceRwSet& ns = tx.rwset->namespaces[n];
      for (const RangeRead& range : ns.range_reads) {
        ENTENTE_ASSIGN_OR_RETURN(bool same, RangeStillSame(snapshot, writes, ns, range));
        if (!same) {
          code = ValidationCode::kPhantomReadConflict;
          reason = "its range read of " + ns.channel + "/" + ns.contract + " from '" + Printable(range.start) +
                   "' to '" + Printable(range.end) + "' would now return other keys or versions";
          break;
        }
      }
    }
    if (code == ValidationCode::kValid) {
      Version version{block_number, i};
      for (const NamespaceRwSet& ns : tx.rwset->namespaces) {
        auto& keys = writes[{ns.channel, ns.contract}];
        for (const KeyWrite& w : ns.writes) {
          keys[w.key] = w.is_delete ? std::nullopt : std::optional<Version>(version);
        }
      }
    }
    decide(i, code, std::move(reason));
  }
  return codes;
}

}  // namespace entente::ledger
