// Endorsement (DESIGN.md §3, §7 steps 1-3): the signed structures of a transaction, the simulator
// that runs a contract over a ledger snapshot into a read-write set (the paper's "communication
// suggestion result" on the initiating node, its "actual execution result" on each endorser), and
// the Endorser that signs a result only when its own simulation produces the same bytes.
//
// Signed structures travel as SignedBytes: the exact JSON bytes that were signed, never
// re-serialized. Thread-safety: the value types are values; Endorser is thread-safe (simulations
// read ledger snapshots and share nothing mutable).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"
#include "runtime/ledger/ledger.h"
#include "runtime/shim/shim.h"

namespace entente::endorser {

// ---- Signed structures ----

// A client's request to run `function` of `contract` on `channel`. The transient map never enters the
// ledger: the proposal carries only its hash, and the map travels beside the signed proposal.
struct Proposal {
  std::string tx_id;  // hex(SHA-256(nonce || creator certificate DER || channel))
  std::string channel;
  std::string contract;
  std::string function;
  std::vector<std::string> args;
  std::string transient_hash;  // hex SHA-256 of the canonical JSON of the transient map, or ""
  std::string creator;         // PEM: the creator's TCert, then its intermediates
  Bytes nonce;
  std::int64_t timestamp_ms = 0;

  Json ToJson() const;
  static Result<Proposal> FromJson(const Json& json);
};

// The signing identity of a client or node: a TCert (with intermediates) and its key.
struct Signer {
  crypto::Certificate certificate;
  // Sent after the certificate: the ECert a TCert is bound to (so verifiers need not have it
  // registered), then any intermediate CAs.
  std::vector<crypto::Certificate> intermediates;
  crypto::PrivateKey key;

  // The certificate and its intermediates as PEM (what `creator` and `endorser` fields hold).
  std::string ChainPem() const;
};

// Returns the tx id of a proposal by `creator_der` with `nonce` on `channel`: hex(SHA-256(nonce ||
// creator DER || channel)). Fabric's tx id leaves the channel out; binding it in makes a tx id name its
// channel, so that one nonce yields a different id on each channel and a tx id is unique across the
// alliance (the DER is self-delimiting, so the channel's bytes cannot be confused with it).
std::string ComputeTxId(ByteView nonce, ByteView creator_der, std::string_view channel);

// Signs `proposal` as `signer`, setting its creator (the signer's chain) and its tx id (from its nonce,
// which must not be empty, the signer's certificate and its channel) first.
Result<SignedBytes> SignProposal(const Signer& signer, Proposal proposal);
// Builds a proposal with a fresh 24-byte nonce, the current time and its tx id, and signs it.
Result<SignedBytes> MakeSignedProposal(const Signer& signer, std::string channel, std::string contract,
                                       std::string function, std::vector<std::string> args,
                                       const std::map<std::string, Bytes>& transient = {});

// Returns the hex SHA-256 of the canonical JSON of `transient` ({key: base64}), "" when it is empty.
std::string TransientHash(const std::map<std::string, Bytes>& transient);

// The outcome of a simulation: what the contract read and wrote, answered and emitted.
struct SimulationResult {
  std::string tx_id;
  std::string proposal_hash;  // hex SHA-256 of the signed proposal's payload bytes
  ledger::RwSet rwset;
  shim::Response response;
  std::vector<std::pair<std::string, Bytes>> events;  // (name, payload); at most one today

  Json ToJson() const;
  static Result<SimulationResult> FromJson(const Json& json);
  // Canonical JSON bytes: what endorsers compare and sign.
  Bytes Serialize() const;
  static Result<SimulationResult> Parse(ByteView bytes);
};

// An endorser's signature over result bytes || endorser bytes.
struct Endorsement {
  std::string endorser;  // PEM of the endorser's TCert, then its intermediates
  Bytes signature;

  Json ToJson() const;
  static Result<Endorsement> FromJson(const Json& json);
};

// Returns the bytes an endorsement signs.
Bytes EndorsementMessage(ByteView result_bytes, std::string_view endorser_pem);
// Signs `result_bytes` as `signer`.
Result<Endorsement> Endorse(const Signer& signer, ByteView result_bytes);

// A transaction as submitted to the relay: {signed_proposal, result (base64 bytes), endorsements[]},
// itself signed by the client (the stored envelope is that SignedBytes' JSON).
struct Envelope {
  SignedBytes signed_proposal;
  Bytes result;
  std::vector<Endorsement> endorsements;

  Json ToJson() const;
  static Result<Envelope> FromJson(const Json& json);
};

// Signs `envelope` as `signer` and returns the stored form: the JSON bytes of {payload, signature}.
Result<Bytes> SealEnvelope(const Signer& signer, const Envelope& envelope);

// ---- Simulation ----

// Finds the contracts installed on this node.
class ChaincodeRegistry {
 public:
  virtual ~ChaincodeRegistry() = default;
  // Returns the chaincode of `contract` on `channel`, or nullptr if none is installed and defined. The
  // reference keeps it (and the library it came from) alive for as long as the caller holds it, so a
  // simulation never runs code that a reinstall or an unload freed.
  virtual std::shared_ptr<shim::Chaincode> Find(std::string_view channel, std::string_view contract) const = 0;
};

// A value of another chain and its version there.
struct RemoteValue {
  Bytes value;
  ledger::Version version;
};

// Reads state of other member chains during simulation (an adapter implements it). Implementations
// refuse reads that no route of the alliance allows for `from_contract` on `from_channel`.
class RemoteState {
 public:
  virtual ~RemoteState() = default;
  // nullopt when the key does not exist there; PermissionDenied without a route; Unavailable when the
  // chain cannot be reached.
  virtual Result<std::optional<RemoteValue>> Read(std::string_view from_channel, std::string_view from_contract,
                                                  std::string_view channel, std::string_view contract,
                                                  std::string_view key) = 0;
  // Returns Ok if `from_contract` on `from_channel` may write namespace `contract` on `channel` (a
  // write route to a chain reached through an adapter); PermissionDenied saying why not. The default
  // allows no write.
  virtual Status CheckWrite(std::string_view from_channel, std::string_view from_contract, std::string_view channel,
                            std::string_view contract);
};

struct SimulationOptions {
  // Reads see this transaction's own earlier writes (off: Fabric's semantics, reads see committed state).
  bool read_your_writes = false;
  // An Endorser refuses a proposal whose timestamp is further than this from its clock (PROPOSAL_EXPIRED),
  // as validation would mark it; 0 checks nothing.
  std::chrono::milliseconds proposal_window{0};
};

// Runs `proposal` (already verified by the caller) on `snapshot`: the contract sees the proposal's
// function, args, transient map, timestamp and creator; every read is recorded with its version and
// every write in the rwset, in key order, so equal executions give equal bytes. A contract's error
// response is a result (with its status), not an error; Status errors are for a missing contract or a
// ledger failure.
Result<SimulationResult> Simulate(const Proposal& proposal, const SignedBytes& signed_proposal,
                                  const std::map<std::string, Bytes>& transient, const shim::Identity& creator,
                                  const ledger::Snapshot& snapshot, const ChaincodeRegistry& registry,
                                  RemoteState* remote, SimulationOptions options = {});

// ---- Endorsing ----

// Why an endorser refused a proposal. These are answers to the initiating node, not block codes.
enum class Refusal {
  kNone,
  kBadProposal,           // unparsable, or its tx id is wrong
  kBadSignature,          // the creator's signature does not verify
  kBadCertificate,        // the creator's certificate is untrusted, expired or revoked
  kProposalExpired,       // its timestamp is outside the proposal window (SimulationOptions)
  kUnknownContract,       // not installed or not defined on this channel
  kEndorsementMismatch,   // this endorser's result differs from the suggestion result
  kContractError,         // the contract answered an error: there is nothing to endorse
  kInternal,              // this endorser failed (ledger error)
};
std::string_view RefusalName(Refusal refusal);  // e.g. "ENDORSEMENT_MISMATCH"

struct EndorseOutcome {
  Refusal refusal = Refusal::kNone;
  std::string message;               // why, in words; for a mismatch it names the differing keys
  std::vector<std::string> differing_keys;  // "<channel>/<contract>/<key>"
  std::optional<Endorsement> endorsement;   // set when refusal == kNone
  bool ok() const { return refusal == Refusal::kNone; }
};

// A node's endorser: checks a proposal's signature and creator, simulates it on its own state, and
// signs the result only if it is byte-identical to the suggestion result.
class Endorser {
 public:
  Endorser(const ledger::Ledger& ledger, const ChaincodeRegistry& registry, const crypto::TrustStore& trust,
           std::shared_ptr<const Signer> signer, RemoteState* remote = nullptr, SimulationOptions options = {});

  // Verifies `signed_proposal` (signature, tx id, creator certificate at the current time) and
  // returns the proposal, or the refusal.
  Result<Proposal> VerifyProposal(const SignedBytes& signed_proposal, Refusal* refusal) const;

  // Simulates on this node: the initiating node's suggestion result (unsigned).
  Result<SimulationResult> SimulateProposal(const SignedBytes& signed_proposal,
                                            const std::map<std::string, Bytes>& transient, Refusal* refusal) const;

  // The endorser's side: simulate, compare byte for byte with `suggestion`, sign when equal.
  EndorseOutcome EndorseProposal(const SignedBytes& signed_proposal, const std::map<std::string, Bytes>& transient,
                                 ByteView suggestion) const;

 private:
  const ledger::Ledger& ledger_;
  const ChaincodeRegistry& registry_;
  const crypto::TrustStore& trust_;
  std::shared_ptr<const Signer> signer_;
  RemoteState* remote_;
  SimulationOptions options_;
};

// Names the keys whose reads or writes differ between two read-write sets ("<channel>/<contract>/<key>").
std::vector<std::string> DifferingKeys(const ledger::RwSet& a, const ledger::RwSet& b);

}  // namespace entente::endorser
