// ValidateBlock: the block-level steps shared by the relay and the nodes.
#include <algorithm>

#include "runtime/validation/validation.h"

namespace entente::validation {

Result<BlockVerdict> ValidateBlock(const ledger::Snapshot& snapshot, std::string_view channel, std::uint64_t number,
                                   const std::set<std::string>& external_channels,
                                   const std::vector<const CheckedEnvelope*>& checked,
                                   const std::vector<std::string>& envelope_hashes) {
  if (checked.size() != envelope_hashes.size()) {
    return Status::InvalidArgument("ValidateBlock: " + std::to_string(checked.size()) + " verdicts for " +
                                   std::to_string(envelope_hashes.size()) + " envelopes");
  }
  static const ledger::RwSet kNoReadsOrWrites;
  // Each rwset without the namespaces of external chains (a copy only where it has some).
  std::vector<ledger::RwSet> local(checked.size());
  auto local_rwset = [&](std::size_t i) -> const ledger::RwSet* {
    const CheckedEnvelope& c = *checked[i];
    if (!c.result) return &kNoReadsOrWrites;
    const auto& namespaces = c.result->rwset.namespaces;
    if (std::none_of(namespaces.begin(), namespaces.end(),
                     [&](const ledger::NamespaceRwSet& ns) { return external_channels.count(ns.channel) > 0; })) {
      return &c.result->rwset;
    }
    for (const ledger::NamespaceRwSet& ns : namespaces) {
      if (external_channels.count(ns.channel) == 0) local[i].namespaces.push_back(ns);
    }
    return &local[i];
  };
  std::vector<ledger::PendingTx> pending;
  pending.reserve(checked.size());
  for (std::size_t i = 0; i < checked.size(); ++i) {
    const CheckedEnvelope& c = *checked[i];
    std::string tx_id = c.tx_id.empty() || c.tx_id.size() > 256 ? "envelope-" + envelope_hashes[i] : c.tx_id;
    ValidationCode code = c.code;
    // Only an authenticated creator claims its id; ValidateMvcc reads that from the code.
    if (!c.creator_authenticated && ledger::ClaimsTxId(code)) code = ValidationCode::kBadPayload;
    pending.push_back({std::move(tx_id), local_rwset(i), code});
  }
  std::vector<std::string> reasons;
  ENTENTE_ASSIGN_OR_RETURN(std::vector<ValidationCode> codes,
                           ledger::ValidateMvcc(snapshot, channel, number, pending, &reasons));
  BlockVerdict verdict;
  verdict.codes = codes;
  for (std::size_t i = 0; i < checked.size(); ++i) {
    const CheckedEnvelope& c = *checked[i];
    ledger::CommittedTx tx{pending[i].tx_id, codes[i], {}};
    if (codes[i] == ValidationCode::kValid && c.result) tx.rwset = *pending[i].rwset;
    if (codes[i] != ValidationCode::kValid) {
      // The envelope's own reason, or MVCC's, or (a code changed before MVCC) the code's name.
      tx.message = codes[i] == c.code     ? c.message
                   : !reasons[i].empty() ? reasons[i]
                                         : std::string(ValidationCodeName(codes[i]));
    }
    verdict.txs.push_back(std::move(tx));
  }
  return verdict;
}

}  // namespace entente::validation
