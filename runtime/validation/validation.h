// Validation of transactions (DESIGN.md §3 "Validation codes", §7 step 4): the alliance as validation
// sees it, the endorsement policies (the paper's weighted policy, the admins' policy of config
// transactions, and Fabric's AND/OR/OutOf expressions), and CheckEnvelope, the per-envelope checks
// the relay and every committing node run: parse, creator signature, tx id, certificates, endorsement
// signatures, policy, routes. MVCC and duplicate tx ids are ledger::ValidateMvcc's, later, in order.
//
// A rejected transaction is a result (a ValidationCode and a message), never a Status error; nothing
// here throws. Thread-safety: every type is a value or immutable once built; CheckEnvelope and
// EndorsementPolicy::Evaluate may run concurrently on any number of threads.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"
#include "runtime/common/validation_code.h"
#include "runtime/crypto/crypto.h"
#include "runtime/endorser/endorser.h"

namespace entente::validation {

// ---- The alliance as validation sees it ----

// A node of a member chain; its ECert has O=chain, OU=node, CN=id.
struct NodeMember {
  std::string id;
  std::string chain;
  std::int64_t weight = 0;
};

// An administrator of the alliance; its ECert has O=chain, OU=admin, CN=id.
struct AdminMember {
  std::string id;
  std::string chain;
  std::int64_t weight = 0;
};

// A contract defined on a channel, with its endorsement policy text (see ParsePolicy).
struct ContractDef {
  std::string channel, name, version, sha256, policy;
};

// A communication requirement: `contract` on `from_chain` may read (and, when `write`, also write)
// the namespace `namespace_name` (a contract) on `to_chain`.
struct RouteDef {
  std::string from_chain, contract, to_chain, namespace_name;
  bool write = false;
};

// The alliance's membership, contracts and routes. A value: the relay rebuilds it when the alliance
// changes (from the `alliance` contract's state), and checks read it concurrently.
struct AllianceView {
  std::set<std::string> channels;  // member chains, plus "alliance"
  // The channel of config transactions ("alliance"), where every member's creators may propose.
  std::string config_channel;
  // Member chains without Entente nodes, reached only through adapters (an Ethereum chain, a REST
  // service): transactions may write them along write routes, and the relay delivers those writes.
  std::set<std::string> external_channels;
  std::vector<NodeMember> nodes;
  std::vector<AdminMember> admins;
  std::vector<ContractDef> contracts;
  std::vector<RouteDef> routes;

  // Returns the definition of `name` on `channel`, or nullptr when it is not defined there.
  const ContractDef* FindContract(std::string_view channel, std::string_view name) const;
  // True if a route lets `contract` on `from_chain` access `namespace_name` on `to_chain`: any route
  // for a read, a write route for a write.
  bool RouteAllows(std::string_view from_chain, std::string_view contract, std::string_view to_chain,
                   std::string_view namespace_name, bool write) const;
  // True if a creator of `creator_chain` may propose `contract` on `channel`: its own chain, the
  // alliance channel (whose contract checks admins itself), or another chain along a write route from
  // `creator_chain` to that chain's namespace `contract` (Fabric's channel writers policy).
  bool MayPropose(std::string_view creator_chain, std::string_view channel, std::string_view contract) const;
};

// ---- Endorsement policies ----

// Who endorsed: the subject of the ECert the endorsement's TCert is bound to (the certificate's own
// subject for an endorsement signed with an ECert).
struct EndorserIdentity {
  std::string chain;
  std::string role;  // the ECert's OU: node, admin, client, relay
  std::string id;

  friend auto operator<=>(const EndorserIdentity&, const EndorserIdentity&) = default;
};

struct PolicyOutcome {
  bool satisfied = false;
  std::string explanation;  // in words, e.g. "weight 2 of 4 (50%) is not above 50% ..."
};

class EndorsementPolicy {
 public:
  virtual ~EndorsementPolicy() = default;
  // `endorsers`: the identities of the endorsements whose signatures verified (the same identity may
  // appear more than once; it counts once).
  virtual PolicyOutcome Evaluate(const std::vector<EndorserIdentity>& endorsers) const = 0;
  // The policy in canonical text form, which ParsePolicy accepts (e.g. "Weighted(0.5, 'chainA')").
  virtual std::string Text() const = 0;
};

// Parses a policy text for a contract defined on `channel`, against `alliance`:
//  "Weighted(0.5)"                      the paper's weighted policy over the nodes of `channel`;
//  "Weighted(0.5, 'chainA', 'chainB')"  the same over the nodes of the listed chains;
//  "Admins(0.5)"                        weighted over every admin of the alliance;
//  "AND(p, ...)", "OR(p, ...)", "OutOf(n, p, ...)" nested freely, a principal being a quoted
//  '<chain>.<role>' (role: node, admin, client, or member = any role) or '<chain>.<node id>'.
// The threshold may be omitted ("Weighted()": 0.5). Weighted: the summed weight of the distinct
// eligible endorsers divided by the total eligible weight must be strictly above the threshold; a
// total of 0 never passes. Expressions: identities are deduplicated, and each satisfies at most one
// principal. Keywords are case-insensitive; quotes are ' or ".
// Returns InvalidArgument naming the position (1-based character) and what was expected for a
// malformed text, a threshold outside [0, 1), an unknown chain, or OutOf with n < 1 or n > the number
// of its sub-policies.
Result<std::unique_ptr<EndorsementPolicy>> ParsePolicy(std::string_view text, std::string_view channel,
                                                       const AllianceView& alliance);

// ---- Envelope validation ----

// The most bytes a sealed envelope may have anywhere in the alliance (docs/api.md, "Limits"): every
// relay refuses a larger one before logging it (413), and a node refuses a request whose envelope
// would be larger before it asks for endorsements. It fits one batch of the replicated relays' log.
inline constexpr std::size_t kMaxEnvelopeBytes = 255 << 10;

struct ValidationContext {
  const crypto::TrustStore* trust = nullptr;
  const AllianceView* alliance = nullptr;
  crypto::TimePoint now;
  // |proposal.timestamp - now| must be within this.
  std::chrono::milliseconds proposal_window{5 * 60 * 1000};
};

// The verdict on one envelope: what the relay orders and commits.
struct CheckedEnvelope {
  ValidationCode code = ValidationCode::kValid;
  std::string message;  // why, naming the certificate / endorser / key / namespace; empty when valid
  std::string tx_id;    // from the proposal when it could be parsed ("" otherwise)
  std::string channel;  // ditto
  std::optional<endorser::Proposal> proposal;        // set when it parsed
  std::optional<endorser::SimulationResult> result;  // set when it parsed
  // The creator's signatures verified and the tx id is SHA-256(nonce || creator || channel): the transaction
  // owns its id (see ledger::ClaimsTxId).
  bool creator_authenticated = false;

  bool ok() const { return code == ValidationCode::kValid; }
};

// The first step of CheckEnvelope on its own: the outer SignedBytes, the Envelope and the Proposal,
// as far as they parse (code BAD_PAYLOAD and a message at the first level that does not). A caller
// that needs the tx id and channel at once (the relay, when it accepts an envelope) parses once and
// hands the result to CheckEnvelope.
struct ParsedEnvelope {
  std::optional<SignedBytes> outer;
  std::optional<endorser::Envelope> envelope;
  std::optional<endorser::Proposal> proposal;
  ValidationCode code = ValidationCode::kValid;
  std::string message;
};
ParsedEnvelope ParseEnvelope(ByteView envelope_bytes);

// Checks `envelope_bytes` (the stored form endorser::SealEnvelope returns) in this order, the first
// failure deciding the code:
//  1. the outer SignedBytes, the Envelope, the Proposal and the SimulationResult parse, the result's
//     tx_id is the proposal's and its proposal_hash the SHA-256 of the signed proposal → BAD_PAYLOAD;
//  2. the creator certificate parses (else BAD_PAYLOAD); the proposal's and the envelope's signatures
//     verify with its key → BAD_CREATOR_SIGNATURE;
//  3. tx_id = SHA-256(nonce || creator DER || channel) → BAD_PROPOSAL_TXID;
//  4. the channel is the alliance's → TARGET_CHAIN_NOT_FOUND; the proposal's timestamp is within
//     ctx.proposal_window of ctx.now → PROPOSAL_EXPIRED;
//  5. the creator certificate is valid at ctx.now → CERTIFICATE_UNTRUSTED / _EXPIRED / _REVOKED; its
//     chain may propose on the channel (AllianceView::MayPropose) → ROUTE_NOT_ALLOWED, and, in step 9,
//     write each namespace of the channel it writes → ROUTE_NOT_ALLOWED;
//  6. the contract is defined on the channel → INVALID_CHAINCODE;
//  7. every endorsement's certificate is valid (codes as in 5; an unparsable one is BAD_PAYLOAD) and
//     its signature verifies over the result bytes, and the response is a success →
//     BAD_RESPONSE_PAYLOAD; no endorsement at all → ENDORSEMENT_POLICY_FAILURE;
//  8. the contract's policy holds over the endorsers → ENDORSEMENT_POLICY_FAILURE (a policy that does
//     not parse → INVALID_OTHER_REASON);
//  9. the rwset: writes only to contracts defined on the proposal's channel, or to a chain reached
//     through adapters (external_channels), never to another Entente chain → ILLEGAL_WRITESET; a write
//     to an external chain only along a write route → ROUTE_NOT_ALLOWED; reads of another channel only
//     of a known chain → TARGET_CHAIN_NOT_FOUND, and along a route from the proposal's contract →
//     ROUTE_NOT_ALLOWED.
// REQUIRES: ctx.trust and ctx.alliance are set.
CheckedEnvelope CheckEnvelope(ByteView envelope_bytes, const ValidationContext& ctx);
// The same for an envelope that ParseEnvelope parsed.
CheckedEnvelope CheckEnvelope(ParsedEnvelope parsed, const ValidationContext& ctx);

// ---- Blocks ----

// The verdict on a block's envelopes after the block-level steps: one code per envelope, and what the
// ledger commits for each (with why an invalid one is invalid, CommittedTx::message).
struct BlockVerdict {
  std::vector<ValidationCode> codes;
  std::vector<ledger::CommittedTx> txs;
};

// The block-level steps of DESIGN.md §7 over envelopes that CheckEnvelope checked, in block order, as
// block `number` of `channel`: each envelope records its proposal's tx id ("envelope-<hash>" when it
// has none, or one longer than 256 characters), only an authenticated creator claims its id, then
// duplicate ids, MVCC and phantom reads against `snapshot` plus the block's earlier valid writes. The
// relay (which orders) and every node (which re-validates) call this, so equal inputs give equal codes.
// `checked` and `envelope_hashes` (hex SHA-256 of each envelope) have one entry per envelope.
// Namespaces of `external_channels` (AllianceView::external_channels) take no part: their writes are
// applied by the relay's delivery through adapters, which checks the version a transaction read of
// each key it writes there; reads of keys it does not write there are not checked again at commit.
Result<BlockVerdict> ValidateBlock(const ledger::Snapshot& snapshot, std::string_view channel, std::uint64_t number,
                                   const std::set<std::string>& external_channels,
                                   const std::vector<const CheckedEnvelope*>& checked,
                                   const std::vector<std::string>& envelope_hashes);

}  // namespace entente::validation
