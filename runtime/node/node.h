// A member-chain node (DESIGN.md §2, §7 steps 1-3, 5, 6): it hosts the contracts installed on it and
// runs only those whose hash, version and policy match the definition committed on the `alliance`
// channel; it endorses other nodes' proposals; it takes enterprise requests, simulates them, collects
// endorsements from the policy's endorsers, submits the envelope to the relay and waits for its own
// commit; and it pulls every channel's blocks from the relay, re-validates each block itself (relay
// signature, every envelope, MVCC) and commits it, halting a channel whose codes differ from the
// relay's. It keeps a replica of every channel of the alliance, so that MVCC of cross-chain reads runs
// against the same state the relay used.
//
// Thread-safety: Node is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "chaincode/alliance/alliance.h"
#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/common/status.h"
#include "runtime/common/tx_status.h"
#include "runtime/common/validation_code.h"
#include "runtime/crypto/crypto.h"
#include "adapters/adapter.h"
#include "runtime/endorser/endorser.h"
#include "runtime/http/http.h"
#include "runtime/ledger/ledger.h"

namespace entente::node {

// How this node reaches another Entente process (the relay, or a peer node) over mutual TLS.
struct Peer {
  std::string host;
  std::uint16_t port = 0;
};

struct NodeOptions {
  std::string id;        // this node's id in the alliance
  std::string chain;     // the member chain it belongs to
  std::string data_dir;  // ledger/ and contracts/
  ledger::Block genesis;  // block 0 of the alliance channel
  // This node's TCerts with their keys (the batch its CA issued), used in turn to sign endorsements.
  std::vector<endorser::Signer> tcerts;
  // The client identities this node holds for clients of its REST API (a custodial wallet), by the id
  // (CN) of the client's ECert; each signer presents that ECert first among its intermediates. A
  // request is signed with them only when its connection authenticated with exactly that ECert.
  std::map<std::string, std::vector<endorser::Signer>> wallet;
  Peer relay;
  std::optional<crypto::PublicKey> relay_key;  // verifies the relay's block signatures (required)
  // This node's ECert and key; ca_files (for peers and clients) default to the alliance's member CAs.
  http::TlsFiles tls;
  std::vector<std::string> crl_pems;
  std::chrono::milliseconds proposal_window{5 * 60 * 1000};
  std::chrono::milliseconds pull_wait{2000};  // long-poll of the block pull
  // Adapters of member chains without Entente nodes (an Ethereum chain, a REST service), which
  // contracts read during simulation along the alliance's routes.
  std::vector<std::shared_ptr<adapters::ChainAdapter>> adapters;
  // Requests that may wait for blocks at once (event streams and commit waits); past it WhenBlocks is
  // ResourceExhausted.
  std::size_t max_waits = 1024;
  std::size_t max_waits_per_member = 512;  // of one member chain
};

// What a client asks the node to run (POST /v1/transactions and /v1/queries).
struct TxRequest {
  std::string channel;  // default: the node's chain
  std::string contract;
  std::string function;
  std::vector<std::string> args;
  std::map<std::string, Bytes> transient;
  std::vector<std::string> endorsers;  // node ids to ask; empty: the contract's policy decides
  bool wait = true;                    // wait for this node's commit of the transaction
  int retry = 0;                       // re-endorse and resubmit up to this many times on MVCC_READ_CONFLICT
  std::chrono::milliseconds timeout{30000};
  // A repeat with the same key (of the same client, on the same channel) answers the first's status
  // instead of committing again (docs/api.md, "Idempotent submits"); "" for none.
  std::string idempotency_key;
};

// The answer to a submission: its status on this node (committed here with the relay's code and
// reason; rejected by the relay's checks before any block; or pending: submitted, not yet committed
// here, with a message that says why the answer came before the commit), and the contract's answer.
struct TxOutcome {
  std::string tx_id;
  TxStatus status;
  shim::Response response;  // the contract's answer in this node's simulation
  int attempts = 1;
};

// Why a request could not become a transaction at all (nothing was submitted to the relay).
struct Rejection {
  int http_status = 400;
  std::string reason;             // e.g. "ENDORSEMENT_POLICY_FAILURE", "CONTRACT_ERROR"
  std::string message;            // what was wrong, in words
  std::optional<int> code;        // a validation code, when one applies
  std::optional<shim::Response> response;  // CONTRACT_ERROR: the contract's answer
  // RELAY_REFUSED: the relay's HTTP status and its answer (a problem object, or its text as "body").
  std::optional<int> upstream_status;
  Json upstream;
  std::optional<std::uint64_t> limit;  // PAYLOAD_TOO_LARGE: the most bytes that fit
  // ENDORSEMENT_POLICY_FAILURE because an endorser simulated other state (a block ahead of or behind
  // this node): endorsing again may pass.
  bool endorsers_disagreed = false;
};

// A client's own signed proposal, endorsed: the envelope payload the client signs and submits.
struct Endorsed {
  std::string tx_id;
  std::string channel;
  Bytes envelope_payload;  // canonical JSON of {signed_proposal, result, endorsements}
  shim::Response response;  // the contract's answer in this node's simulation
};

// A proposal simulated on this node alone: the result bytes for endorsers the node does not ask (the
// alliance's admins endorse config transactions with their own keys).
struct Simulated {
  std::string tx_id;
  std::string channel;
  Bytes result;             // the canonical SimulationResult bytes endorsers sign
  shim::Response response;  // the contract's answer
};

// A contract installed on this node and whether the alliance's definition lets it run.
struct ContractInfo {
  std::string name;
  std::string version;
  std::string sha256;
  std::string policy;
  std::string channel;  // the channel whose definition it matches, or "" when it matches none
  bool active = false;
  std::string why_inactive;
};

class Node {
 public:
  // Opens the ledger (committing the genesis if needed), loads the installed contracts and starts
  // pulling blocks from the relay.
  static Result<std::unique_ptr<Node>> Open(NodeOptions options);
  ~Node();  // Stop()s
  void Stop();

  // Replaces the TCerts this node signs with (SIGHUP after a new batch was issued).
  Status ReloadTcerts(std::vector<endorser::Signer> tcerts);
  // Replaces the CRLs named in node.yaml (SIGHUP) and rebuilds the membership with them. The current
  // ones stay when one of them does not load (InvalidArgument naming it).
  Status ReloadCrls(std::vector<std::string> crl_pems);
  // Whether a connection's certificate identifies a member now (alliance::CheckPeerCertificate against
  // the current membership and CRLs): OK, or PermissionDenied with the reason.
  Status VerifyPeer(const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& intermediates) const;
  // Whether `reader` may read `channel` (and namespace `ns` of it) here: alliance::MayRead.
  bool MayRead(const crypto::Subject& reader, std::string_view channel,
               std::optional<std::string_view> ns = std::nullopt) const;

  const std::string& id() const;
  const std::string& chain() const;

  // Installs a contract package (.tar.gz bytes); its library is loaded, and runs, once the alliance
  // defines it. `installer` is the admin who uploads it, or null for the node's own operator
  // (node.yaml's packages). PermissionDenied unless the installer is an admin of this node's chain;
  // AlreadyExists for another package with an installed name and version (the same one again changes
  // nothing); InvalidArgument for a malformed package; IOError when it cannot be stored.
  Result<ContractInfo> Install(ByteView package, const crypto::Certificate* installer);
  std::vector<ContractInfo> Contracts() const;

  // Endorses another node's proposal: simulate, compare with `suggestion`, sign when equal.
  endorser::EndorseOutcome Endorse(const SignedBytes& signed_proposal, const std::map<std::string, Bytes>& transient,
                                   ByteView suggestion) const;

  // Where a submission goes on after its commit wait: runs the work on a thread that may block briefly
  // (the HTTP server's handler pool, Responder::Resume).
  using Resume = std::function<void(std::function<void()>)>;
  // Receives a submission's answer, once.
  using SubmitDone = std::function<void(Result<std::variant<TxOutcome, Rejection>>)>;

  // Runs `request` for the client that authenticated with `client` (its ECert), signing with the wallet
  // identity of exactly that ECert: simulate, endorse and submit on this thread, then wait for the
  // commit holding no thread, and call `done` (on this thread or through `resume`). A Rejection when
  // nothing could be submitted (403 NO_IDENTITY when the wallet holds none for it, 403
  // ROUTE_NOT_ALLOWED for a channel the client's chain may not use); InvalidArgument etc. for a
  // malformed request. A submission that finds max_waits requests waiting already is answered as
  // submitted and not waited for (TxOutcome::committed false, saying so).
  void Submit(const crypto::Certificate& client, const TxRequest& request, Resume resume, SubmitDone done);
  // Endorses a proposal the client signed itself (as Fabric Gateway clients do): simulate, collect
  // endorsements (from `endorsers`, or as the policy asks), and return the envelope payload to sign.
  // `caller` is who sent it: it may use only its own chain, the alliance channel, or a write route
  // (403 ROUTE_NOT_ALLOWED otherwise), as for Submit and Query.
  Result<std::variant<Endorsed, Rejection>> EndorseSigned(const SignedBytes& signed_proposal,
                                                          const std::map<std::string, Bytes>& transient,
                                                          const std::vector<std::string>& endorsers,
                                                          const crypto::Subject& caller);
  // Simulates a proposal the client signed on this node only and returns the result to endorse.
  Result<std::variant<Simulated, Rejection>> Simulate(const SignedBytes& signed_proposal,
                                                      const std::map<std::string, Bytes>& transient,
                                                      const crypto::Subject& caller);
  // Submits an envelope the client sealed (SignedBytes JSON of an Endorsed payload) and waits, when
  // `wait`, for this node's commit of exactly that envelope, as Submit does; `member` is the chain of
  // the certificate that sent it (whose waits max_waits_per_member counts).
  void SubmitSigned(ByteView sealed_envelope, bool wait, std::chrono::milliseconds timeout, const std::string& member,
                    Resume resume, SubmitDone done);
  // Simulates `request` on this node only and returns the contract's answer; nothing is submitted.
  Result<std::variant<shim::Response, Rejection>> Query(const crypto::Certificate& client, const TxRequest& request);

  // What this node knows of `tx_id`: committed here (with the reason of an invalid one, as the relay
  // gives it), else what the relay says (pending, or rejected before any block; a transaction the relay
  // committed and this node has not yet is pending here), else unknown. `delivery` receives the relay's
  // delivery record of its writes to chains reached through adapters (Relay::Delivery) when it has
  // one. Unavailable when it is not committed here and the relay cannot be asked.
  Result<TxStatus> StatusOf(std::string_view tx_id, std::optional<Json>* delivery = nullptr) const;
  // Blocks and state of the replica.
  Result<ledger::Block> GetBlock(std::string_view channel, std::uint64_t number) const;
  Result<std::optional<ledger::VersionedValue>> GetState(std::string_view channel, std::string_view contract,
                                                         std::string_view key) const;
  // Keys of `contract` on `channel` in [start, end) in key order, a page at a time (ledger::Snapshot::Range).
  Result<ledger::RangePage> GetStateRange(std::string_view channel, std::string_view contract, std::string_view start,
                                          std::string_view end, std::size_t page_size,
                                          std::string_view bookmark) const;
  ledger::Savepoint Height(std::string_view channel) const;
  // Whether `channel` is a channel of the alliance (with or without blocks yet).
  bool KnowsChannel(std::string_view channel) const;
  // Calls `ready` once, without holding a thread while it waits: when `channel` has more than `from`
  // blocks here (at once when it has), when `wait` has passed, or when the node stops.
  // ResourceExhausted when max_waits requests, or max_waits_per_member of `member`'s (the asking
  // certificate's chain), wait already; Unavailable once the node stops.
  Status WhenBlocks(std::string_view channel, std::uint64_t from, std::chrono::milliseconds wait,
                    const std::string& member, std::function<void()> ready) const;
  chaincode::AllianceConfig Alliance() const;
  // Channels halted because a block's re-validation differed from the relay's (channel -> why).
  std::map<std::string, std::string> Halted() const;
  std::string Metrics() const;

  struct State;

 private:
  explicit Node(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// ---- The service ----

struct NodeConfig {
  std::string path;  // the node.yaml it was loaded from (SIGHUP reloads its TCerts from there)
  NodeOptions node;
  std::string address = "127.0.0.1";
  std::uint16_t port = 7051;
  std::size_t body_limit = 16 << 20;
  std::size_t max_connections = 4096;  // http::ServerOptions; above max_waits, so waits alone cannot fill it
  std::size_t max_requests = 256;
  std::vector<std::string> packages;  // installed at start
  std::string record_responses;        // a file to append every answer to (tests/api checks them); "" for none
};

// Loads node.yaml (docs/node.md); relative paths are relative to the file.
Result<NodeConfig> LoadNodeConfig(const std::string& path);

// Opens the node and serves its REST API until SIGINT or SIGTERM; calls on_ready(port) once listening.
// SIGHUP reloads the TCerts from config.path.
Status ServeNode(const NodeConfig& config, const std::function<void(std::uint16_t)>& on_ready);

}  // namespace entente::node
