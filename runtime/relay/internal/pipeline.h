// The relay's pipeline (DESIGN.md §9): its state, shared by the public API (relay.cc), the pipeline
// (log → verify on a worker pool → order in log order, per channel → cut → MVCC → sign → commit;
// pipeline.cc) and the replicated ordering on etcd (replicated.cc). Internal to the relay.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/alliance/alliance.h"
#include "runtime/common/json.h"
#include "runtime/common/log.h"
#include "runtime/common/waiters.h"
#include "runtime/relay/internal/certifier.h"
#include "runtime/relay/internal/compactor.h"
#include "runtime/relay/internal/delivery.h"
#include "runtime/relay/internal/delivery_lease.h"
#include "runtime/relay/internal/envelope_log.h"
#include "runtime/relay/internal/etcd_ordering.h"
#include "runtime/relay/relay.h"
#include "runtime/validation/validation.h"

namespace entente::relay {
namespace internal {

using Clock = std::chrono::steady_clock;

// Milliseconds since the epoch by the system clock.
inline std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The tx id and channel of an envelope, as far as it parses: enough to place a log record at replay.
struct Peek {
  std::string tx_id;
  std::string channel;
};

inline Peek PeekEnvelope(const validation::ParsedEnvelope& parsed) {
  if (!parsed.proposal) return {};
  return {parsed.proposal->tx_id, parsed.proposal->channel};
}

// Meta keys of the relay's bookkeeping in its ledger.
inline std::string OrderedKey(std::string_view channel) { return "relay/ordered/" + std::string(channel); }
inline std::string RejectedKey(std::string_view hash) { return "relay/rejected/" + std::string(hash); }
inline std::string RejectedTxKey(std::string_view tx_id) { return "relay/rejected-tx/" + std::string(tx_id); }
inline std::string UnclaimedKey(std::string_view tx_id) { return "relay/unclaimed/" + std::string(tx_id); }
inline std::string EnvelopeKey(std::string_view hash) { return "relay/envelope/" + std::string(hash); }
// With replicated ordering: the revision of the ordered log a restart reads from, and the etcd prefix
// the ledger was ordered from.
inline constexpr std::string_view kResumeKey = "relay/resume";
inline constexpr std::string_view kOrderingKey = "relay/ordering";
// With replicated ordering: a channel's certified height, and a block's certificate ({relay: base64}).
inline std::string CertifiedKey(std::string_view channel) { return "relay/certified/" + std::string(channel); }
inline std::string CertificateKey(std::string_view channel, std::uint64_t block) {
  return "relay/certificate/" + std::string(channel) + "/" + std::to_string(block);
}

inline Bytes JsonBytes(const Json& j) { return ToBytes(DumpJson(j)); }

// How this relay reaches the etcd cluster.
etcd::ClientOptions EtcdClientOptions(const EtcdOrderingOptions& etcd);

// The quota key of a verified submitter: its chain, role and id.
inline std::string SubmitterKey(const crypto::Certificate& certificate) {
  const crypto::Subject& subject = certificate.subject();
  return subject.chain + "/" + subject.role_name + "/" + subject.id;
}

// One envelope (or, with replicated ordering, a cut marker) on its way through the pipeline.
struct Item {
  std::uint64_t order = 0;  // its place in the pipeline: dense, from the first item this run
  std::uint64_t seq = 0;    // its place in the log: the local log's sequence, or the etcd position
  Bytes bytes;
  crypto::Digest digest{};  // SHA-256 of `bytes`
  std::string hash;         // the same in hex, the envelope's name in the relay's records
  // Sets `digest` and `hash` to `digest_of_bytes`.
  void SetDigest(const crypto::Digest& digest_of_bytes) {
    digest = digest_of_bytes;
    hash = HexEncode(digest);
  }
  std::string submitter;  // SubmitterKey of who submitted it here; "" when replayed, another relay's, or in-process
  std::optional<validation::ParsedEnvelope> parsed;  // parsed once, at submission or replay; moved into `checked`
  validation::CheckedEnvelope checked;
  std::uint64_t checked_at = 0;  // the alliance height of the membership `checked` was decided with
  bool done = false;       // replayed from the log and already in a block or rejected, or a cut marker
  std::int64_t time_ms = 0;  // replicated: the log's time for it (validation, block timestamp); 0: the clock's
  bool cut_after = false;    // replicated: cut every pending block after it
};

struct ChannelQueue {
  std::vector<Item> items;
  std::size_t bytes = 0;
  Clock::time_point oldest;
};

}  // namespace internal

struct Relay::State {
  using Item = internal::Item;
  using ChannelQueue = internal::ChannelQueue;
  using LogEntry = internal::LogEntry;
  using Peek = internal::Peek;

  RelayOptions options;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<internal::EnvelopeLog> log;
  std::unique_ptr<internal::Deliveries> deliveries;
  std::shared_ptr<spdlog::logger> logger;

  std::mutex reload_mu;  // serializes LoadAlliance (a config block, a CRL reload)
  mutable std::shared_mutex alliance_mu;
  chaincode::AllianceConfig config;                          // GUARDED_BY(alliance_mu)
  std::shared_ptr<const alliance::Membership> membership;    // GUARDED_BY(alliance_mu)
  // The memberships of earlier alliance heights, for blocks fetched from peers (catch_up.cc).
  std::unique_ptr<alliance::MembershipHistory> past_memberships;

  // Accepted envelopes not yet settled (in a block or rejected), by hash, for idempotent resubmission;
  // the ledger's meta records answer for settled ones. Their sequence numbers, whose lowest bounds the
  // log segments still needed. Pending tx ids.
  mutable std::mutex accepted_mu;
  std::map<std::string, Acceptance, std::less<>> accepted;   // GUARDED_BY(accepted_mu)
  std::set<std::uint64_t> unsettled_seqs;                    // GUARDED_BY(accepted_mu)
  std::map<std::string, int, std::less<>> pending_tx;        // tx id -> envelopes in flight
  std::map<std::string, std::size_t, std::less<>> unsettled;  // SubmitterKey -> envelopes in flight
  std::uint64_t outstanding = 0;                             // accepted, not yet committed or rejected
  mutable std::condition_variable idle_cv;

  // Verification queue and ordered results.
  std::mutex work_mu;
  std::condition_variable work_cv;
  std::deque<Item> to_verify;                // GUARDED_BY(work_mu)
  std::map<std::uint64_t, Item> verified;    // GUARDED_BY(work_mu)
  std::uint64_t next_to_order = 0;           // GUARDED_BY(work_mu)
  std::size_t verifying = 0;                 // GUARDED_BY(work_mu): items the workers hold
  std::condition_variable ordered_cv;
  // Readers of blocks (long-polls): when one last asked for each channel, and whether one came since
  // the sequencer last looked. GUARDED_BY(work_mu)
  std::map<std::string, internal::Clock::time_point> last_read;
  bool reader_came = false;
  std::atomic<bool> stopping{false};
  Status failure;  // why the pipeline stopped, if it did; GUARDED_BY(work_mu)

  std::vector<std::thread> workers;
  std::thread sequencer;
  std::map<std::string, ChannelQueue> queues;  // owned by the sequencer thread

  std::unique_ptr<HeightWaiters> waiters;  // long-polls for blocks, by channel

  // Replicated ordering on etcd (replicated.cc); null when the relay orders with its local log.
  std::unique_ptr<internal::EtcdOrdering> ordering;
  // Envelopes this relay appended that the log's reader has not yet taken: hash -> SubmitterKey.
  std::map<std::string, std::string, std::less<>> own;      // GUARDED_BY(accepted_mu)
  std::condition_variable room_cv;  // the reader waits on work_mu for room in the pipeline
  std::uint64_t next_admitted = 0;  // the order of the next item the reader admits; reader thread
  std::map<std::string, std::uint64_t> ordered_at_open;  // per channel, the last position blocks held at Open
  std::uint64_t last_taken = 0;                          // the log position the sequencer took last
  std::map<std::string, std::int64_t> last_block_time;   // per channel; sequencer thread
  internal::Clock::time_point last_cut_request;                  // sequencer thread
  std::unique_ptr<internal::Certifier> certifier;                // replicated: block certificates
  std::unique_ptr<internal::Compactor> compactor;                // replicated: bounded storage in etcd
  std::unique_ptr<internal::DeliveryLease> delivery_lease;       // replicated: one relay delivers at a time
  mutable std::mutex certified_mu;
  std::map<std::string, std::uint64_t, std::less<>> certified;  // GUARDED_BY(certified_mu): per channel
  // Test-only fault (ENTENTE_RELAY_FAULT=flip-verdicts): sign every block with its first verdict
  // flipped, as a relay that lies would.
  bool flip_verdicts = false;

  // Metrics.
  std::atomic<std::uint64_t> accepted_count{0};
  std::atomic<std::uint64_t> verify_ns{0}, verified_count{0};
  mutable std::mutex code_mu;
  std::map<ValidationCode, std::uint64_t> code_counts;

  // The status recorded under a meta key: a location {channel, block, index, code} in a block, or a
  // rejection {channel, code, message} outside every block.
  std::optional<TxStatus> Located(const std::string& key) const;

  std::shared_ptr<const alliance::Membership> Members() const;

  // Rebuilds the membership from the committed config and options.crl_pems. REQUIRES: reload_mu held,
  // or the relay not yet running.
  Status LoadAlliance();

  void Enqueue(Item item);

  // Verifies envelopes a few at a time (one lock round trip and one wake-up of the sequencer per batch).
  void VerifyLoop();

  // Settles `item` with `code`; with `recorded` (the ledger holds its verdict) it is forgotten here and
  // its log segment may go. Without, it stays in the log, so that a restart records its verdict.
  void Finish(const Item& item, ValidationCode code, bool recorded = true);

  // An envelope that names no channel of the alliance cannot join a block: its verdict is kept apart.
  void Reject(const Item& item);

  // The lowest sequence number not yet settled (the next one when all are).
  std::uint64_t SettledBelow() const;

  // Deletes the log segments whose every envelope is settled.
  void DropSettledSegments();

  // ---- Envelopes in flight (REQUIRE accepted_mu) ----
  // The answer to a submission of `hash` by `submitter` that logs nothing: its first acceptance, its
  // settled verdict, or ResourceExhausted past the submitter's quota; nullopt when it is to be logged.
  std::optional<Result<Acceptance>> AnswerWithoutLogging(const std::string& hash, const std::string& submitter) const;
  // Counts an envelope in flight: its tx id pending, its submitter's quota ("" for none), outstanding.
  void CountInFlight(const std::string& tx_id, const std::string& submitter);
  // Undoes CountInFlight, and wakes WaitIdle.
  void UncountInFlight(const std::string& tx_id, const std::string& submitter);

  // The acceptance of an envelope the ledger holds a verdict on (in a block, or rejected); nullopt
  // when it holds none.
  std::optional<Acceptance> Settled(const std::string& hash) const;

  Status CommitChannel(const std::string& channel, ChannelQueue& queue);
  // What committing `block` records beside it: where each envelope went (`hashes` and `seqs`, their
  // log positions, one per envelope), why each invalid one is, the tx ids it leaves unclaimed, and
  // the deliveries to chains of `external` its valid writes make.
  struct BlockRecords {
    ledger::MetaEntries meta;
    std::vector<internal::DeliveryRecord> deliveries;
  };
  BlockRecords RecordsOf(const ledger::Block& block, const validation::BlockVerdict& verdict,
                         const std::vector<const validation::CheckedEnvelope*>& checked,
                         const std::vector<std::string>& hashes, const std::vector<std::uint64_t>& seqs,
                         const std::set<std::string>& external);

  // Orders verified envelopes in log order; cuts and commits blocks.
  void SequenceLoop();

  // Stops ordering: the envelopes not yet in a block stay in the log for the next Open.
  void Fail(Status why);

  void Place(Item item);

  void CommitOrDie(const std::string& channel, ChannelQueue& q);

  // Starts the verifying workers and the sequencer.
  void StartPipeline();
  // Commits every channel's pending block (a cut marker or a cut-after batch in the log).
  void CutAll();
  // With nothing more to order: commits the pending blocks that a reader waits for, and those of
  // channels no one has read lately. A busy reader's next block keeps filling until it asks again
  // (or max_wait), so blocks grow with the load and a lone transaction is not held.
  void CutWhenIdle(const std::map<std::string, internal::Clock::time_point>& last_read);
  // A long-poll of `channel` is waiting for its next block: wakes the sequencer to cut it.
  void ReaderWaits(const std::string& channel);
  // The time an item of the replicated log is validated at: its batch's.
  static crypto::TimePoint TimeOf(const Item& item);
  // A block's timestamp: the clock's with the local log; with replicated ordering, the log's time of
  // its last envelope, never before the channel's previous block.
  std::int64_t BlockTime(const std::string& channel, const ChannelQueue& queue);
  // The revision a restart reads the replicated log from, once `committed`'s queue is in a block.
  std::int64_t ResumeRevision(const std::string& committed) const;

  // ---- Replicated ordering (replicated.cc) ----
  // The revision of the replicated log before which this relay needs nothing more (a restart reads from
  // its blocks' resume revision; the certifier watches signatures from its own).
  std::int64_t AppliedRevision() const;
  // The height served to nodes: the committed height with one relay, the certified height replicated.
  std::uint64_t ServedHeight(std::string_view channel) const;
  // Starts certifying blocks: publishing this relay's signatures and gathering the others'.
  Status OpenCertifier();
  // Records block `number` of `channel` as certified by `signatures` and wakes the long-polls.
  void Certified(const std::string& channel, std::uint64_t number, const std::map<std::string, Bytes>& signatures);
  // Takes part in the delivery lease, and makes `delivery` deliver only while this relay holds it.
  Status OpenDeliveryLease(internal::Deliveries::Options& delivery);
  // Starts reading and appending the ordered log on etcd from where the ledger stands.
  Status OpenReplicated();
  // Takes the next entry of the ordered log into the pipeline; false once the relay stops.
  bool Admit(LogEntry entry);
  // Appends `item` (checked and parsed by Submit) to the ordered log; returns once etcd holds it.
  Result<Acceptance> SubmitReplicated(Item item, const Peek& peek);

  // ---- Catching up from peers (catch_up.cc) ----
  // When the ordered log was compacted past where this relay resumes (it was down, or is new): takes
  // the blocks its peers certified until the last of them names a revision the log still holds, and
  // records that revision to resume from. FailedPrecondition when the peers' blocks do not reach it
  // within minutes; Corruption when this relay's ledger holds another block than they certified.
  Status CatchUp();
  // Takes the certified blocks of `channel` past this relay's certified height from each peer relay in
  // turn; returns how many it took. A peer that fails or serves anything else is passed over.
  Result<std::size_t> FetchFromPeers(const std::string& channel);
  // Checks `block`'s certificate with the membership it names, validates it again, and commits it
  // with its certificate (only records the certificate of a block this relay committed already).
  Status TakeCertifiedBlock(const std::string& channel, const ledger::Block& block);
  // The channel's certified height as the ledger records it.
  std::uint64_t CertifiedHeight(const std::string& channel) const;
  // The alliance's CA certificates for TLS, in data_dir (written at Open).
  std::string CaFile() const { return options.data_dir + "/alliance-cas.pem"; }
};

}  // namespace entente::relay
