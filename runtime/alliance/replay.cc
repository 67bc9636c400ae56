#include "runtime/alliance/alliance.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "runtime/common/cores.h"
#include "runtime/crypto/crypto.h"

namespace entente::alliance {
namespace {

// A helper thread for replaying a block pays for itself from this many envelopes on.
constexpr std::size_t kEnvelopesPerHelper = 4;

}  // namespace

Result<std::shared_ptr<const Membership>> MembershipHistory::At(std::uint64_t height,
                                                                const std::vector<std::string>& crl_pems) {
  std::lock_guard lock(mu_);
  if (auto it = built_.find(height); it != built_.end()) return it->second;
  ENTENTE_ASSIGN_OR_RETURN(std::optional<chaincode::AllianceConfig> recorded, RecordedConfigAt(ledger_, height));
  if (!recorded) return Status::FailedPrecondition("no configuration recorded at alliance height " + std::to_string(height));
  ENTENTE_ASSIGN_OR_RETURN(Membership m, BuildMembership(*recorded, crl_pems));
  m.alliance_height = height;
  auto shared = std::make_shared<const Membership>(std::move(m));
  built_.emplace(height, shared);
  return shared;
}

void MembershipHistory::Clear() {
  std::lock_guard lock(mu_);
  built_.clear();
}

Status CheckBlockFollows(const ledger::Savepoint& savepoint, const ledger::Block& block) {
  const std::string name = "block " + std::to_string(block.header.number) + " of " + block.header.channel;
  if (block.header.number != savepoint.height || block.header.prev_hash != savepoint.last_hash) {
    return Status::FailedPrecondition(name + " does not follow block " + std::to_string(savepoint.height) +
                                      " of the ledger");
  }
  if (block.header.data_hash != block.ComputeDataHash()) {
    return Status::Corruption(name + ": the data hash does not match its envelopes");
  }
  if (block.metadata.validation_codes.size() != block.envelopes.size()) {
    return Status::Corruption(name + ": codes and envelopes differ in number");
  }
  return Status::Ok();
}

Result<Replay> ReplayBlock(const Membership& members, const ledger::Snapshot& snapshot, const ledger::Block& block,
                           std::chrono::milliseconds proposal_window) {
  validation::ValidationContext ctx{members.validation_trust.get(), &members.view,
                                    crypto::TimePoint(std::chrono::milliseconds(block.metadata.timestamp_ms)),
                                    proposal_window};
  Replay replay;
  const std::size_t n = block.envelopes.size();
  replay.checked.resize(n);
  replay.hashes.resize(n);
  std::vector<crypto::Digest> digests(n);
  // Envelopes are checked independently (signatures, certificates, policy), on every usable core when
  // the block is large enough to share; only the MVCC pass below goes in block order.
  std::atomic<std::size_t> next{0};
  auto check = [&] {
    for (std::size_t i = next++; i < n; i = next++) {
      replay.checked[i] = validation::CheckEnvelope(block.envelopes[i], ctx);
      digests[i] = crypto::Sha256(block.envelopes[i]);
      replay.hashes[i] = HexEncode(digests[i]);
    }
  };
  const std::size_t helpers = std::min<std::size_t>(static_cast<std::size_t>(UsableCores()) - 1, n / kEnvelopesPerHelper);
  std::vector<std::thread> threads;
  for (std::size_t h = 0; h < helpers; ++h) threads.emplace_back(check);
  check();
  for (std::thread& t : threads) t.join();
  std::vector<const validation::CheckedEnvelope*> pointers;
  for (const auto& c : replay.checked) pointers.push_back(&c);
  ENTENTE_ASSIGN_OR_RETURN(replay.verdict,
                           validation::ValidateBlock(snapshot, block.header.channel, block.header.number,
                                                     members.view.external_channels, pointers, replay.hashes));
  for (std::size_t i = 0; i < n && i < replay.verdict.txs.size(); ++i) replay.verdict.txs[i].envelope_hash = digests[i];
  const validation::BlockVerdict& v = replay.verdict;
  for (std::size_t i = 0; i < v.codes.size() && i < block.metadata.validation_codes.size(); ++i) {
    if (v.codes[i] == block.metadata.validation_codes[i]) continue;
    replay.disagreement = "transaction " + std::to_string(i) + " (" + v.txs[i].tx_id + "): the block says " +
                          std::string(ValidationCodeName(block.metadata.validation_codes[i])) + ", this finds " +
                          std::string(ValidationCodeName(v.codes[i])) +
                          (v.txs[i].message.empty() ? "" : " (" + v.txs[i].message + ")");
    break;
  }
  return replay;
}

}  // namespace entente::alliance
