// The relay: the paper's "cross-chain alliance" service (DESIGN.md §7 step 4, §9). It logs every
// accepted envelope durably before acknowledging it, verifies envelopes on a worker pool (full-sequence
// signatures, certificates, endorsement policy, routes), orders them per channel in the log's total
// order, cuts blocks by count, bytes or time, runs MVCC against the committed state of every channel,
// signs and commits each block, and answers every transaction's status with its code and reason.
// After a crash it resumes from its log: nothing acknowledged is lost or committed twice.
//
// Thread-safety: Relay is thread-safe; Submit and the queries may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "chaincode/alliance/alliance.h"
#include "runtime/common/json.h"
#include "runtime/common/bytes.h"
#include "runtime/common/status.h"
#include "runtime/common/tx_status.h"
#include "runtime/common/validation_code.h"
#include "runtime/crypto/crypto.h"
#include "runtime/ledger/ledger.h"

namespace entente::relay {

// When a channel's pending transactions become a block: when `cut_when_idle`, as soon as the relay has
// nothing more to order (every accepted envelope is verified and placed) and a reader (a node's
// long-poll) waits for the channel's next block, or no reader asked for a second; else at any of these
// bounds. So a lone transaction is cut at once, and under load a block fills while the nodes still
// work on the last one. Replicated relays cut where the log marks it instead (a batch whose appender
// had nothing more pending, or a cut marker after max_wait).
struct BlockCutting {
  std::size_t max_tx = 500;
  std::size_t max_bytes = 4 << 20;
  std::chrono::milliseconds max_wait{50};
  // false: a block waits for max_tx, max_bytes or max_wait even when nothing more is coming (fewer,
  // fuller blocks at light load; every transaction waits up to max_wait).
  bool cut_when_idle = true;
};

// Replicated ordering (DESIGN.md §11): the relays of the alliance order through one etcd cluster.
struct EtcdOrderingOptions {
  std::string relay_id;                // this relay's name among the alliance's relays
  std::vector<std::string> endpoints;  // the members' client URLs
  std::string ca_file;                 // the CA of the members' server certificates
  std::string cert_file;               // this relay's etcd client certificate and key
  std::string key_file;
  std::string prefix = "/entente";     // the key prefix of the alliance's log
  std::chrono::milliseconds timeout{1500};  // per call to one member
  // Bounded storage: how often relays announce how far they applied the log (and compact it), and how
  // many revisions behind the head stay for relays that are down.
  std::chrono::milliseconds compaction_interval{10000};
  std::int64_t retention = 100000;
  // This relay's TLS certificate and key, with which it fetches its peers' certified blocks when the
  // log it needs was compacted (relay.yaml tls:).
  std::string peer_cert_file;
  std::string peer_key_file;
};

struct RelayOptions {
  std::string data_dir;    // ledger and envelope log
  ledger::Block genesis;   // block 0 of the alliance channel
  std::optional<crypto::PrivateKey> signing_key;  // signs every block's metadata (required)
  std::vector<std::string> crl_pems;
  BlockCutting cutting;
  int verify_workers = 0;  // 0: one per core
  std::chrono::milliseconds proposal_window{5 * 60 * 1000};
  // Adapters of the member chains without Entente nodes: the relay delivers committed writes to them.
  std::vector<std::shared_ptr<adapters::ChainAdapter>> adapters;
  std::chrono::milliseconds delivery_backoff{200};  // before the first retry of an unreachable chain
  // Envelopes one submitter may have accepted and not yet committed or rejected; past it, Submit
  // answers ResourceExhausted until some settle.
  std::size_t submitter_quota = 1000;
  // Bytes of one segment of the envelope log: past it a new segment starts, and a segment whose every
  // envelope a block or a rejection holds is deleted.
  std::uint64_t log_segment_bytes = 64 << 20;
  // Requests that may wait for blocks at once (long-polls); past it WhenBlocks is ResourceExhausted.
  std::size_t max_waits = 1024;
  std::size_t max_waits_per_member = 512;  // of one member chain
  // Order through etcd with the alliance's other relays; without it this relay orders alone with its
  // envelope log in data_dir.
  std::optional<EtcdOrderingOptions> etcd;
};

// Who hands an envelope to the relay: the certificate the connection authenticated with (the leaf,
// then the intermediates it sent). The relay checks it against the alliance's CAs and CRLs.
struct Submitter {
  crypto::Certificate certificate;
  std::vector<crypto::Certificate> intermediates;
};

// The answer to a submission: where it stands in the log.
struct Acceptance {
  std::string tx_id;          // the proposal's tx id, or "" when the envelope does not parse that far
  std::string envelope_hash;  // hex SHA-256 of the envelope bytes
  std::uint64_t sequence = 0;
  bool resubmitted = false;   // the same bytes were accepted before; nothing new was logged
};

class Relay {
 public:
  // Opens the ledger in options.data_dir, commits the genesis if needed (refusing a ledger of another
  // alliance), loads the alliance, replays the envelope log and resumes ordering what no block holds.
  // With options.etcd it reads the replicated log from where its blocks stand instead (and refuses a
  // ledger the local log ordered, or the log under another prefix).
  static Result<std::unique_ptr<Relay>> Open(RelayOptions options);
  ~Relay();  // Stop()s

  // Logs `envelope` durably and queues it for validation. Returns once it is on disk; the same bytes
  // submitted again are answered from the first acceptance. Nothing is logged when it returns an
  // error: InvalidArgument for an envelope that does not parse as far as its proposal (saying why);
  // PermissionDenied when `submitter` is not a valid certificate of the alliance now (expired,
  // revoked, untrusted); ResourceExhausted when the submitter has submitter_quota envelopes unsettled;
  // Unavailable when the pipeline has stopped (see Health). A null `submitter` is an in-process caller.
  // Replicated, it returns once etcd acknowledged the batch holding it (a quorum of its members has
  // it); Unavailable when etcd did not within ~2 s (the envelope may still be ordered: the status
  // tells). InvalidArgument past validation::kMaxEnvelopeBytes, the alliance's envelope limit.
  Result<Acceptance> Submit(ByteView envelope, const Submitter* submitter = nullptr);

  // Whether a connection's certificate identifies a member now (alliance::CheckPeerCertificate against
  // the current membership and CRLs): OK, or PermissionDenied with the reason.
  Status VerifyPeer(const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& intermediates) const;
  // Whether `reader` may read `channel` (and namespace `ns` of it) here: alliance::MayRead.
  bool MayRead(const crypto::Subject& reader, std::string_view channel,
               std::optional<std::string_view> ns = std::nullopt) const;
  // True if `channel` is a chain of the alliance (or the alliance channel).
  bool KnowsChannel(std::string_view channel) const;

  // Replaces the CRLs named in relay.yaml (SIGHUP) and rebuilds the membership with them. The current
  // ones stay when one of them does not load (InvalidArgument naming it).
  Status ReloadCrls(std::vector<std::string> crl_pems);

  // Ok while the pipeline orders and commits; otherwise the failure that stopped it (a ledger that
  // refused a block, a log that cannot be written), which a restart retries.
  Status Health() const;

  // The status of transaction `tx_id`: its committed claim (the first authenticated envelope with that
  // id), else pending, else where an unauthenticated copy landed, else a rejection. kUnknown otherwise.
  TxStatus StatusOf(std::string_view tx_id) const;
  // The status of the envelope with this hash (hex SHA-256 of its bytes): what happened to exactly
  // those bytes, e.g. DUPLICATE_TXID for a second envelope of an already committed transaction.
  TxStatus StatusOfEnvelope(std::string_view envelope_hash) const;

  // The committed value and version of `key` of contract `contract` on `channel`; nullopt when absent.
  Result<std::optional<ledger::VersionedValue>> GetState(std::string_view channel, std::string_view contract,
                                                         std::string_view key) const;

  // The height (number of committed blocks) and last block hash of `channel`. NotFound for a channel
  // the alliance does not know.
  Result<ledger::Savepoint> Height(std::string_view channel) const;

  // Blocks of `channel` from number `from`, at most `max`, as committed now (replicated: as certified
  // now, each with its certificate). NotFound for a channel the alliance does not know.
  Result<std::vector<ledger::Block>> Blocks(std::string_view channel, std::uint64_t from, std::size_t max) const;
  // Calls `ready` once, without holding a thread while it waits: when `channel` has a block numbered
  // `from` or above (at once when it has), when `wait` has passed, or when the relay stops. NotFound
  // for a channel the alliance does not know; ResourceExhausted when max_waits requests, or
  // max_waits_per_member of `member`'s (the asking certificate's chain), wait already.
  Status WhenBlocks(std::string_view channel, std::uint64_t from, std::chrono::milliseconds wait,
                    const std::string& member, std::function<void()> ready) const;

  // The delivery state of `tx_id`'s writes to chains reached through adapters (DESIGN.md §8):
  // {"state": "pending"|"delivered"|"failed", "attempts", "writes": [{"chain", "contract", "key",
  // "state", "applied", "detail"}]}; nullopt when it wrote no such chain (or is not committed).
  Result<std::optional<Json>> Delivery(std::string_view tx_id) const;
  // The delivery records (as Delivery's) of transactions on channels `reader` may read (MayRead),
  // newest first by the order their envelopes were logged in: those in `state` ("" for any), logged
  // before sequence `before` (0: from the newest), at most `limit`. {"deliveries": [...], "next": the
  // `before` of the next page, absent at the end}.
  Result<Json> Deliveries(const crypto::Subject& reader, std::string_view state, std::uint64_t before,
                          std::size_t limit) const;

  chaincode::AllianceConfig Alliance() const;
  // Replicated: the relays whose signature of a block did not verify on this relay's block (they
  // built another), the last 100: [{"relay", "channel", "block"}]; [] otherwise.
  Json Disagreements() const;
  // A file of the members' CA certificates (PEM) as of Open, which TLS clients must chain to.
  std::string CaFile() const;
  // The relay's block signing certificate's public key, for verifiers.
  crypto::PublicKey SigningKey() const;
  // Prometheus text: accepted envelopes, committed transactions per code, block height per channel,
  // verification latency.
  std::string Metrics() const;

  // Returns once every envelope submitted so far is committed or rejected (or `timeout` passed: false).
  bool WaitIdle(std::chrono::milliseconds timeout) const;
  // Stops the workers and the sequencer; pending envelopes stay in the log for the next Open.
  void Stop();

  struct State;

 private:
  explicit Relay(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// ---- The service ----

struct RelayConfig {
  std::string path;  // the relay.yaml it was loaded from (SIGHUP reloads its CRLs from there)
  RelayOptions relay;
  std::string genesis_file;
  std::string address = "127.0.0.1";
  std::uint16_t port = 7050;
  std::string tls_cert_file;  // the relay's ECert (OU=relay), with SANs for its address
  std::string tls_key_file;   // its key; also the block signing key
  std::size_t body_limit = 1 << 20;
  int io_threads = 2;
  std::size_t max_connections = 4096;  // http::ServerOptions; above max_waits, so waits alone cannot fill it
  std::size_t max_requests = 256;
  std::string record_responses;  // a file to append every answer to (tests/api checks them); "" for none
};

// Loads relay.yaml:
//   data: DIR            genesis: genesis.json
//   listen: {address: 127.0.0.1, port: 7050}
//   tls: {cert: FILE, key: FILE}
//   crls: [FILE, ...]    proposal_window_s: 300   workers: 0   body_limit: 1048576
//   blocks: {max_tx: 500, max_bytes: 4194304, max_wait_ms: 50}
//   adapters: [...]   (adapters::LoadAdapters)   delivery_backoff_ms: 200
//   submitter_quota: 1000   max_waits: 1024   max_waits_per_member: 512   max_connections: 4096
//   max_requests: 256   log_segment_bytes: 67108864
//   id: relay1            (replicated ordering; with ordering:)
//   ordering: {etcd: {endpoints: [https://127.0.0.1:2379, ...], ca: FILE, cert: FILE, key: FILE,
//                     prefix: /entente, timeout_ms: 1500, compaction_interval_ms: 10000, retention: 100000}}
// Paths are relative to the file's folder. Errors name the file, line and key.
Result<RelayConfig> LoadRelayConfig(const std::string& path);


// Serves the relay's REST API over HTTPS with mutual TLS until SIGINT or SIGTERM, then stops
// gracefully; SIGHUP reloads the CRL files from config.path. `on_ready(port)` is called once it
// listens. Returns the error that stopped it.
Status ServeRelay(const RelayConfig& config, const std::function<void(std::uint16_t)>& on_ready = {});

}  // namespace entente::relay
