// CheckEnvelope: the per-envelope checks of DESIGN.md §7 step 4, in the order validation.h lists.
// Certificates are parsed once per PEM text (crypto::SharedChainCache) and the TrustStore caches chain
// verifications, so the cost of a valid envelope is essentially its signature verifications (the
// creator's two, one per endorsement) and its JSON parsing.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "runtime/common/json.h"
#include "runtime/validation/validation.h"

namespace entente::validation {
namespace {

using crypto::CertificateVerdict;

std::string_view AsText(ByteView bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

// The block code for a certificate that failed TrustStore::Check (DESIGN.md §3, codes 101-103).
ValidationCode CodeOf(CertificateVerdict verdict) {
  switch (verdict) {
    case CertificateVerdict::kValid:
      return ValidationCode::kValid;
    case CertificateVerdict::kExpired:
    case CertificateVerdict::kNotYetValid:
      return ValidationCode::kCertificateExpired;
    case CertificateVerdict::kRevoked:
    case CertificateVerdict::kEcertRevoked:
      return ValidationCode::kCertificateRevoked;
    case CertificateVerdict::kMalformed:
    case CertificateVerdict::kUntrusted:
    case CertificateVerdict::kUnknownEcert:
      return ValidationCode::kCertificateUntrusted;
  }
  return ValidationCode::kCertificateUntrusted;
}

std::string Seconds(double ms) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.3f s", ms / 1000.0);
  return buffer;
}

class EnvelopeChecker {
 public:
  EnvelopeChecker(const ValidationContext& ctx, CheckedEnvelope& out)
      : trust_(*ctx.trust), alliance_(*ctx.alliance), ctx_(ctx), out_(out) {}

  // Fills `out_`; returns at the first failure.
  void Run(ParsedEnvelope input) {
    // 1. Parse (the outer levels already are).
    if (input.proposal) out_.proposal.emplace(std::move(*input.proposal));
    if (out_.proposal) {
      out_.tx_id = out_.proposal->tx_id;
      out_.channel = out_.proposal->channel;
    }
    if (input.code != ValidationCode::kValid) return Reject(input.code, input.message);
    const SignedBytes* outer = &*input.outer;
    const endorser::Envelope* envelope = &*input.envelope;
    const SignedBytes& signed_proposal = envelope->signed_proposal;
    const endorser::Proposal& proposal = *out_.proposal;
    {
      auto parsed = endorser::SimulationResult::Parse(envelope->result);
      if (!parsed.ok()) {
        return Reject(ValidationCode::kBadPayload, "the result does not parse: " + parsed.status().message());
      }
      out_.result.emplace(std::move(parsed).value());
    }
    const endorser::SimulationResult& result = *out_.result;
    if (result.tx_id != proposal.tx_id) {
      return Reject(ValidationCode::kBadPayload,
                    "the result's tx_id " + result.tx_id + " is not the proposal's " + proposal.tx_id);
    }
    if (result.proposal_hash != crypto::Sha256Hex(signed_proposal.payload)) {
      return Reject(ValidationCode::kBadPayload, "the result's proposal_hash " + result.proposal_hash +
                                                     " is not the SHA-256 of the signed proposal");
    }

    // 2. The creator's signatures.
    auto parsed_creator = crypto::SharedChainCache().Parse(proposal.creator);
    if (!parsed_creator.ok()) {
      return Reject(ValidationCode::kBadPayload,
                    "the creator certificate does not parse: " + parsed_creator.status().message());
    }
    const std::vector<crypto::Certificate>& creator_chain = **parsed_creator;
    const crypto::Certificate& creator = creator_chain.front();
    const crypto::PublicKey creator_key = creator.Key();
    if (!creator_key.Verify(signed_proposal.payload, signed_proposal.signature)) {
      return Reject(
          ValidationCode::kBadCreatorSignature,
          "the creator's signature over the proposal does not verify with the key of " + creator.SubjectText());
    }
    if (!creator_key.Verify(outer->payload, outer->signature)) {
      return Reject(
          ValidationCode::kBadCreatorSignature,
          "the envelope's signature does not verify with the key of the proposal's creator " + creator.SubjectText());
    }

    // 3. The tx id.
    if (proposal.tx_id != endorser::ComputeTxId(proposal.nonce, creator.Der(), proposal.channel)) {
      return Reject(ValidationCode::kBadProposalTxid,
                    "tx_id " + proposal.tx_id + " is not SHA-256(nonce || creator certificate || channel)");
    }
    out_.creator_authenticated = true;

    // 4. The channel and the proposal's age.
    if (alliance_.channels.count(proposal.channel) == 0) {
      return Reject(ValidationCode::kTargetChainNotFound,
                    "channel '" + proposal.channel + "' is not a chain of the alliance");
    }
    const std::int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.now.time_since_epoch()).count();
    const std::int64_t window_ms = ctx_.proposal_window.count();
    if (proposal.timestamp_ms < now_ms - window_ms || proposal.timestamp_ms > now_ms + window_ms) {
      double offset = static_cast<double>(proposal.timestamp_ms) - static_cast<double>(now_ms);
      return Reject(ValidationCode::kProposalExpired,
                    "the proposal's timestamp " + std::to_string(proposal.timestamp_ms) + " ms is " +
                        Seconds(offset < 0 ? -offset : offset) + (offset < 0 ? " behind" : " ahead of") +
                        " the validator's clock, outside the window of ±" + Seconds(static_cast<double>(window_ms)));
    }

    // 5. The creator's certificate.
    crypto::CertificateCheck creator_check = trust_.Check(creator_chain, ctx_.now);
    if (!creator_check.ok()) {
      return Reject(CodeOf(creator_check.verdict),
                    "creator certificate " + std::string(crypto::CertificateVerdictName(creator_check.verdict)) + ": " +
                        creator_check.reason);
    }

    // A channel is written by its own chain's creators, or along a write route.
    const std::string& creator_member = creator.subject().chain;
    if (!alliance_.MayPropose(creator_member, proposal.channel, proposal.contract)) {
      return Reject(ValidationCode::kRouteNotAllowed,
                    "the creator " + creator.SubjectText() + " belongs to " + creator_member + " and may not propose '" +
                        proposal.contract + "' on channel '" + proposal.channel + "': no write route from " +
                        creator_member + " to " + proposal.channel + "/" + proposal.contract);
    }

    // 6. The contract.
    const ContractDef* contract = alliance_.FindContract(proposal.channel, proposal.contract);
    if (contract == nullptr) {
      return Reject(ValidationCode::kInvalidChaincode,
                    "contract '" + proposal.contract + "' is not defined on channel '" + proposal.channel + "'");
    }

    // 7. The endorsements.
    std::vector<EndorserIdentity> endorsers;
    endorsers.reserve(envelope->endorsements.size());
    for (size_t i = 0; i < envelope->endorsements.size(); ++i) {
      const endorser::Endorsement& endorsement = envelope->endorsements[i];
      auto parsed = crypto::SharedChainCache().Parse(endorsement.endorser);
      if (!parsed.ok()) {
        return Reject(ValidationCode::kBadPayload, "the certificate of endorsement " + std::to_string(i + 1) +
                                                       " does not parse: " + parsed.status().message());
      }
      const std::vector<crypto::Certificate>& chain = **parsed;
      const crypto::Certificate& certificate = chain.front();
      crypto::Subject subject = certificate.subject();
      const std::string who = subject.chain + "/" + subject.id;
      crypto::CertificateCheck check = trust_.Check(chain, ctx_.now);
      if (!check.ok()) {
        return Reject(CodeOf(check.verdict), "endorser " + who + ": certificate " +
                                                 std::string(crypto::CertificateVerdictName(check.verdict)) + ": " +
                                                 check.reason);
      }
      if (!certificate.Key().Verify(endorser::EndorsementMessage(envelope->result, endorsement.endorser),
                                    endorsement.signature)) {
        return Reject(ValidationCode::kBadResponsePayload,
                      "endorsement by " + who + " does not verify over the result bytes");
      }
      // The endorser is the holder of the ECert the TCert is bound to: a registered one, or the one
      // presented after the TCert (as TrustStore::Check finds it).
      if (std::optional<crypto::Digest> bound = certificate.BoundEcert()) {
        std::optional<crypto::Certificate> ecert = trust_.FindEcert(*bound);
        for (size_t c = 1; !ecert && c < chain.size(); ++c) {
          if (chain[c].Fingerprint() == *bound) ecert = chain[c];
        }
        if (!ecert) {
          return Reject(ValidationCode::kCertificateUntrusted,
                        "endorser " + who + ": TCert " + certificate.SubjectText() + " is bound to an unknown ECert");
        }
        subject = ecert->subject();
      }
      endorsers.push_back(
          EndorserIdentity{std::move(subject.chain), std::move(subject.role_name), std::move(subject.id)});
    }
    if (!result.response.ok()) {
      return Reject(ValidationCode::kBadResponsePayload, "the contract answered an error (status " +
                                                             std::to_string(result.response.status) +
                                                             "): " + result.response.message);
    }
    if (endorsers.empty()) {
      return Reject(ValidationCode::kEndorsementPolicyFailure, "the envelope carries no endorsement");
    }

    // 8. The endorsement policy.
    auto policy = ParsePolicy(contract->policy, contract->channel, alliance_);
    if (!policy.ok()) {
      return Reject(ValidationCode::kInvalidOtherReason, "the endorsement policy of " + contract->channel + "/" +
                                                             contract->name +
                                                             " does not parse: " + policy.status().message());
    }
    PolicyOutcome outcome = (*policy)->Evaluate(endorsers);
    if (!outcome.satisfied) {
      return Reject(ValidationCode::kEndorsementPolicyFailure, "endorsement policy " + (*policy)->Text() + " of " +
                                                                   contract->channel + "/" + contract->name +
                                                                   " is not satisfied: " + outcome.explanation);
    }

    // 9. The read-write set.
    for (const ledger::NamespaceRwSet& ns : result.rwset.namespaces) {
      const std::string name = ns.channel + "/" + ns.contract;
      const bool writes = !ns.writes.empty();
      if (ns.channel == proposal.channel) {
        if (writes && alliance_.FindContract(ns.channel, ns.contract) == nullptr) {
          return Reject(ValidationCode::kIllegalWriteset, "the transaction writes namespace " + name +
                                                              ", but contract '" + ns.contract +
                                                              "' is not defined on channel '" + ns.channel + "'");
        }
        // A creator of another chain, let in by a write route to one namespace, writes no other.
        if (writes && !alliance_.MayPropose(creator_member, ns.channel, ns.contract)) {
          return Reject(ValidationCode::kRouteNotAllowed,
                        "the transaction writes namespace " + name + ", but its creator belongs to " + creator_member +
                            " and no write route from " + creator_member + " reaches " + name);
        }
        continue;
      }
      const bool external = alliance_.external_channels.count(ns.channel) > 0;
      if (writes && !external) {
        return Reject(ValidationCode::kIllegalWriteset, "the transaction writes namespace " + name +
                                                            " of another Entente chain: a transaction writes only "
                                                            "the channel it is submitted on (" +
                                                            proposal.channel + ") and chains reached through adapters");
      }
      if (writes && !alliance_.RouteAllows(proposal.channel, proposal.contract, ns.channel, ns.contract, true)) {
        return Reject(ValidationCode::kRouteNotAllowed,
                      "the transaction writes namespace " + name + ", but no write route lets contract '" +
                          proposal.contract + "' on " + proposal.channel + " write '" + ns.contract + "' on " +
                          ns.channel);
      }
      if (alliance_.channels.count(ns.channel) == 0) {
        return Reject(ValidationCode::kTargetChainNotFound, "the transaction reads namespace " + name + ", but '" +
                                                                ns.channel + "' is not a chain of the alliance");
      }
      if (!alliance_.RouteAllows(proposal.channel, proposal.contract, ns.channel, ns.contract, false)) {
        return Reject(ValidationCode::kRouteNotAllowed,
                      "the transaction reads namespace " + name + ", but no route lets contract '" + proposal.contract +
                          "' on " + proposal.channel + " read '" + ns.contract + "' on " + ns.channel);
      }
    }
  }

 private:
  // Records the verdict; the message quotes the envelope's own text, so it is made Printable.
  void Reject(ValidationCode code, std::string_view message) {
    out_.code = code;
    out_.message = Printable(message);
  }

  const crypto::TrustStore& trust_;
  const AllianceView& alliance_;
  const ValidationContext& ctx_;
  CheckedEnvelope& out_;
};

}  // namespace

ParsedEnvelope ParseEnvelope(ByteView envelope_bytes) {
  ParsedEnvelope out;
  auto fail = [&out](std::string message) {
    out.code = ValidationCode::kBadPayload;
    out.message = std::move(message);
    return std::move(out);
  };
  auto outer = SignedBytes::Parse(AsText(envelope_bytes));
  if (!outer.ok()) return fail("the envelope is not signed bytes: " + outer.status().message());
  out.outer.emplace(std::move(outer).value());
  auto envelope_json = ParseJson(AsText(out.outer->payload));
  if (!envelope_json.ok()) return fail("the envelope payload is not JSON: " + envelope_json.status().message());
  auto envelope = endorser::Envelope::FromJson(*envelope_json);
  if (!envelope.ok()) return fail("the envelope does not parse: " + envelope.status().message());
  out.envelope.emplace(std::move(envelope).value());
  auto proposal_json = ParseJson(AsText(out.envelope->signed_proposal.payload));
  if (!proposal_json.ok()) return fail("the proposal is not JSON: " + proposal_json.status().message());
  auto proposal = endorser::Proposal::FromJson(*proposal_json);
  if (!proposal.ok()) return fail("the proposal does not parse: " + proposal.status().message());
  out.proposal.emplace(std::move(proposal).value());
  return out;
}

CheckedEnvelope CheckEnvelope(ByteView envelope_bytes, const ValidationContext& ctx) {
  return CheckEnvelope(ParseEnvelope(envelope_bytes), ctx);
}

CheckedEnvelope CheckEnvelope(ParsedEnvelope parsed, const ValidationContext& ctx) {
  CheckedEnvelope out;
  try {
    EnvelopeChecker(ctx, out).Run(std::move(parsed));
  } catch (const std::exception& e) {
    out.code = ValidationCode::kInvalidOtherReason;
    out.message = Printable(std::string("the validator failed: ") + e.what());
  } catch (...) {
    out.code = ValidationCode::kInvalidOtherReason;
    out.message = "the validator failed";
  }
  return out;
}

}  // namespace entente::validation
