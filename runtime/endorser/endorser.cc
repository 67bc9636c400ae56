#include <set>

#include "runtime/endorser/endorser.h"

namespace entente::endorser {
namespace {

// Per key "<channel>/<contract>/<key>": what was read (version) and written (value or delete).
std::map<std::string, std::string> KeyActivity(const ledger::RwSet& rwset) {
  std::map<std::string, std::string> out;
  for (const auto& ns : rwset.namespaces) {
    std::string prefix = ns.channel + "/" + ns.contract + "/";
    for (const auto& r : ns.reads) {
      out[prefix + r.key] += r.version ? "r" + std::to_string(r.version->block) + "." + std::to_string(r.version->tx)
                                       : std::string("r-");
    }
    for (const auto& w : ns.writes) out[prefix + w.key] += w.is_delete ? "d" : "w" + Base64Encode(w.value);
    for (const auto& range : ns.range_reads) {
      std::string what = range.exhausted ? "all:" : "page:";
      for (const auto& k : range.keys_read) {
        what += k.key + "@" + (k.version ? std::to_string(k.version->block) + "." + std::to_string(k.version->tx) : "-");
      }
      out[prefix + "[" + range.start + "," + range.end + ")"] += what;
    }
  }
  return out;
}

}  // namespace

Status RemoteState::CheckWrite(std::string_view from_channel, std::string_view from_contract, std::string_view channel,
                               std::string_view contract) {
  return Status::PermissionDenied(std::string(from_contract) + " on " + std::string(from_channel) + " may not write " +
                                  std::string(contract) + " on " + std::string(channel) + ": this node writes no other chain");
}

std::string_view RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone: return "NONE";
    case Refusal::kBadProposal: return "BAD_PROPOSAL";
    case Refusal::kBadSignature: return "BAD_CREATOR_SIGNATURE";
    case Refusal::kBadCertificate: return "BAD_CERTIFICATE";
    case Refusal::kProposalExpired: return "PROPOSAL_EXPIRED";
    case Refusal::kUnknownContract: return "UNKNOWN_CONTRACT";
    case Refusal::kEndorsementMismatch: return "ENDORSEMENT_MISMATCH";
    case Refusal::kContractError: return "CONTRACT_ERROR";
    case Refusal::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

std::vector<std::string> DifferingKeys(const ledger::RwSet& a, const ledger::RwSet& b) {
  auto left = KeyActivity(a);
  auto right = KeyActivity(b);
  std::set<std::string> keys;
  for (const auto& [k, v] : left) {
    auto it = right.find(k);
    if (it == right.end() || it->second != v) keys.insert(k);
  }
  for (const auto& [k, v] : right) {
    if (left.find(k) == left.end()) keys.insert(k);
  }
  return {keys.begin(), keys.end()};
}

Endorser::Endorser(const ledger::Ledger& ledger, const ChaincodeRegistry& registry, const crypto::TrustStore& trust,
                   std::shared_ptr<const Signer> signer, RemoteState* remote, SimulationOptions options)
    : ledger_(ledger), registry_(registry), trust_(trust), signer_(std::move(signer)), remote_(remote),
      options_(options) {}

Result<Proposal> Endorser::VerifyProposal(const SignedBytes& signed_proposal, Refusal* refusal) const {
  *refusal = Refusal::kBadProposal;
  auto json = ParseJson(ToString(signed_proposal.payload));
  if (!json.ok()) return json.status().WithContext("proposal");
  ENTENTE_ASSIGN_OR_RETURN(Proposal proposal, Proposal::FromJson(*json));
  auto chain = crypto::SharedChainCache().Parse(proposal.creator);
  if (!chain.ok()) return chain.status().WithContext("proposal creator");
  const crypto::Certificate& creator = (*chain)->front();
  if (!creator.Key().Verify(signed_proposal.payload, signed_proposal.signature)) {
    *refusal = Refusal::kBadSignature;
    return Status::PermissionDenied("the creator's signature over the proposal does not verify");
  }
  if (proposal.tx_id != ComputeTxId(proposal.nonce, creator.Der(), proposal.channel)) {
    return Status::InvalidArgument("tx_id is not SHA-256(nonce || creator || channel)");
  }
  if (options_.proposal_window.count() > 0) {
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
    const std::int64_t window_ms = options_.proposal_window.count();
    if (proposal.timestamp_ms < now_ms - window_ms || proposal.timestamp_ms > now_ms + window_ms) {
      *refusal = Refusal::kProposalExpired;
      return Status::InvalidArgument("the proposal's timestamp is " + std::to_string((proposal.timestamp_ms - now_ms) / 1000) +
                                     " s from this endorser's clock, outside the window of ±" +
                                     std::to_string(window_ms / 1000) + " s: it would commit as PROPOSAL_EXPIRED");
    }
  }
  crypto::CertificateCheck check = trust_.Check(**chain, crypto::Clock::now());
  if (!check.ok()) {
    *refusal = Refusal::kBadCertificate;
    return Status::PermissionDenied("creator certificate " + std::string(crypto::CertificateVerdictName(check.verdict)) +
                                    ": " + check.reason);
  }
  *refusal = Refusal::kNone;
  return proposal;
}

Result<SimulationResult> Endorser::SimulateProposal(const SignedBytes& signed_proposal,
                                                    const std::map<std::string, Bytes>& transient,
                                                    Refusal* refusal) const {
  ENTENTE_ASSIGN_OR_RETURN(Proposal proposal, VerifyProposal(signed_proposal, refusal));
  if (TransientHash(transient) != proposal.transient_hash) {
    *refusal = Refusal::kBadProposal;
    return Status::InvalidArgument("the transient map does not match the proposal's transient_hash");
  }
  // Parsed by VerifyProposal already: this is the cache's copy.
  ENTENTE_ASSIGN_OR_RETURN(crypto::CertificateChain creator_chain, crypto::SharedChainCache().Parse(proposal.creator));
  const crypto::Certificate& creator = creator_chain->front();
  crypto::Subject subject = creator.subject();
  shim::Identity identity{subject.chain, subject.role_name, subject.id, proposal.creator};
  // A TCert speaks for the holder of its ECert: a registered one, or the one presented beside it
  // (VerifyProposal has checked either with the TrustStore).
  if (const auto& bound = creator.BoundEcert()) {
    std::optional<crypto::Certificate> ecert = trust_.FindEcert(*bound);
    for (std::size_t i = 1; !ecert && i < creator_chain->size(); ++i) {
      if ((*creator_chain)[i].Fingerprint() == *bound) ecert = (*creator_chain)[i];
    }
    if (ecert) identity.role = ecert->subject().role_name;
  }
  std::unique_ptr<ledger::Snapshot> snapshot = ledger_.GetSnapshot();
  auto result = Simulate(proposal, signed_proposal, transient, identity, *snapshot, registry_, remote_, options_);
  if (!result.ok()) {
    *refusal = result.status().IsNotFound() ? Refusal::kUnknownContract : Refusal::kInternal;
  }
  return result;
}

EndorseOutcome Endorser::EndorseProposal(const SignedBytes& signed_proposal,
                                         const std::map<std::string, Bytes>& transient, ByteView suggestion) const {
  EndorseOutcome outcome;
  auto result = SimulateProposal(signed_proposal, transient, &outcome.refusal);
  if (!result.ok()) {
    outcome.message = result.status().message();
    return outcome;
  }
  Bytes own = result->Serialize();
  if (!std::equal(own.begin(), own.end(), suggestion.begin(), suggestion.end())) {
    outcome.refusal = Refusal::kEndorsementMismatch;
    auto theirs = SimulationResult::Parse(suggestion);
    if (!theirs.ok()) {
      outcome.message = "the suggestion result does not parse: " + theirs.status().message();
      return outcome;
    }
    outcome.differing_keys = DifferingKeys(result->rwset, theirs->rwset);
    if (outcome.differing_keys.empty()) {
      outcome.message = "this endorser's result differs from the suggestion result in its response or events";
    } else {
      outcome.message = "this endorser's result differs from the suggestion result at:";
      for (const auto& k : outcome.differing_keys) outcome.message += " " + k;
    }
    return outcome;
  }
  if (!result->response.ok()) {
    outcome.refusal = Refusal::kContractError;
    outcome.message = "the contract answered an error: " + result->response.message;
    return outcome;
  }
  auto endorsement = Endorse(*signer_, own);
  if (!endorsement.ok()) {
    outcome.refusal = Refusal::kInternal;
    outcome.message = endorsement.status().message();
    return outcome;
  }
  outcome.endorsement = std::move(*endorsement);
  return outcome;
}

}  // namespace entente::endorser
