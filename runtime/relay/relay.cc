// The relay's pipeline: log → verify (worker pool) → order (log order, per channel) → cut → MVCC →
// sign → commit.
#include "runtime/relay/relay.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <thread>

#include "runtime/alliance/alliance.h"
#include "runtime/common/file.h"
#include "runtime/common/json.h"
#include "runtime/common/log.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/common/waiters.h"
#include "runtime/endorser/endorser.h"
#include "runtime/relay/internal/delivery.h"
#include "runtime/relay/internal/envelope_log.h"
#include "runtime/validation/validation.h"

namespace entente::relay {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The tx id and channel of an envelope, as far as it parses: enough to place a log record at replay.
struct Peek {
  std::string tx_id;
  std::string channel;
};

Peek PeekEnvelope(const validation::ParsedEnvelope& parsed) {
  if (!parsed.proposal) return {};
  return {parsed.proposal->tx_id, parsed.proposal->channel};
}

// Meta keys of the relay's bookkeeping in its ledger.
std::string OrderedKey(std::string_view channel) { return "relay/ordered/" + std::string(channel); }
std::string RejectedKey(std::string_view hash) { return "relay/rejected/" + std::string(hash); }
std::string RejectedTxKey(std::string_view tx_id) { return "relay/rejected-tx/" + std::string(tx_id); }
std::string UnclaimedKey(std::string_view tx_id) { return "relay/unclaimed/" + std::string(tx_id); }
std::string EnvelopeKey(std::string_view hash) { return "relay/envelope/" + std::string(hash); }
std::string MessageKey(std::string_view channel, std::uint64_t block, std::uint64_t index) {
  return "relay/message/" + std::string(channel) + "/" + std::to_string(block) + "/" + std::to_string(index);
}

Bytes JsonBytes(const Json& j) { return ToBytes(DumpJson(j)); }

// The quota key of a verified submitter: its chain, role and id.
std::string SubmitterKey(const crypto::Certificate& certificate) {
  const crypto::Subject& subject = certificate.subject();
  return subject.chain + "/" + subject.role_name + "/" + subject.id;
}

// One envelope on its way through the pipeline.
struct Item {
  std::uint64_t seq = 0;
  Bytes bytes;
  std::string hash;
  std::string submitter;  // SubmitterKey of who submitted it; "" when replayed or in-process
  std::optional<validation::ParsedEnvelope> parsed;  // parsed once, at submission or replay; moved into `checked`
  validation::CheckedEnvelope checked;
  std::uint64_t checked_at = 0;  // the alliance height of the membership `checked` was decided with
  bool done = false;  // replayed from the log and already in a block or rejected
};

struct ChannelQueue {
  std::vector<Item> items;
  std::size_t bytes = 0;
  Clock::time_point oldest;
};

}  // namespace

std::string_view TxStateName(TxStatus::State state) {
  switch (state) {
    case TxStatus::State::kUnknown: return "unknown";
    case TxStatus::State::kPending: return "pending";
    case TxStatus::State::kCommitted: return "committed";
    case TxStatus::State::kRejected: return "rejected";
  }
  return "unknown";
}

struct Relay::State {
  RelayOptions options;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<internal::EnvelopeLog> log;
  std::unique_ptr<internal::Deliveries> deliveries;
  std::shared_ptr<spdlog::logger> logger;

  std::mutex reload_mu;  // serializes LoadAlliance (a config block, a CRL reload)
  mutable std::shared_mutex alliance_mu;
  chaincode::AllianceConfig config;                          // GUARDED_BY(alliance_mu)
  std::shared_ptr<const alliance::Membership> membership;    // GUARDED_BY(alliance_mu)

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
  std::condition_variable ordered_cv;
  std::atomic<bool> stopping{false};
  Status failure;  // why the pipeline stopped, if it did; GUARDED_BY(work_mu)

  std::vector<std::thread> workers;
  std::thread sequencer;
  std::map<std::string, ChannelQueue> queues;  // owned by the sequencer thread

  std::unique_ptr<HeightWaiters> waiters;  // long-polls for blocks, by channel

  // Metrics.
  std::atomic<std::uint64_t> accepted_count{0};
  std::atomic<std::uint64_t> verify_ns{0}, verified_count{0};
  mutable std::mutex code_mu;
  std::map<ValidationCode, std::uint64_t> code_counts;

  // The status recorded under a meta key: a location {channel, block, index, code} in a block, or a
  // rejection {channel, code, message} outside every block.
  std::optional<TxStatus> Located(const std::string& key) const {
    auto record = ledger->GetMeta(key);
    if (!record.ok() || !*record) return std::nullopt;
    auto j = ParseJson(ToString(**record));
    if (!j.ok() || !j->is_object()) return std::nullopt;
    TxStatus status;
    status.channel = j->value("channel", "");
    status.code = ValidationCodeFromNumber(j->value("code", 255)).value_or(ValidationCode::kInvalidOtherReason);
    if (j->contains("block")) {
      status.state = TxStatus::State::kCommitted;
      status.block = j->value("block", std::uint64_t{0});
      status.index = j->value("index", std::uint64_t{0});
      auto m = ledger->GetMeta(MessageKey(status.channel, status.block, status.index));
      if (m.ok() && *m) status.message = ToString(**m);
    } else {
      status.state = TxStatus::State::kRejected;
      status.message = j->value("message", "");
    }
    return status;
  }

  std::shared_ptr<const alliance::Membership> Members() const {
    std::shared_lock lock(alliance_mu);
    return membership;
  }

  // Rebuilds the membership from the committed config and options.crl_pems. REQUIRES: reload_mu held,
  // or the relay not yet running.
  Status LoadAlliance() {
    auto snapshot = ledger->GetSnapshot();
    ENTENTE_ASSIGN_OR_RETURN(chaincode::AllianceConfig loaded, alliance::ReadConfig(*snapshot));
    ENTENTE_ASSIGN_OR_RETURN(alliance::Membership m, alliance::BuildMembership(loaded, options.crl_pems));
    m.alliance_height = snapshot->GetSavepoint(alliance::kAllianceChannel).height;
    for (const std::string& issuer : m.trust->StaleCrls(crypto::Clock::now())) {
      logger->warn("the CRL of {} is past its nextUpdate; its revocations stay in force until its chain publishes a "
                   "newer one (entente alliance update-crl)", issuer);
    }
    std::unique_lock lock(alliance_mu);
    config = std::move(loaded);
    membership = std::make_shared<const alliance::Membership>(std::move(m));
    return Status::Ok();
  }

  void Enqueue(Item item) {
    {
      std::lock_guard lock(work_mu);
      to_verify.push_back(std::move(item));
    }
    work_cv.notify_one();
  }

  // Verifies envelopes a few at a time (one lock round trip and one wake-up of the sequencer per batch).
  void VerifyLoop() {
    constexpr std::size_t kBatch = 8;
    std::vector<Item> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(work_mu);
        work_cv.wait(lock, [&] { return stopping || !to_verify.empty(); });
        if (stopping) return;
        while (!to_verify.empty() && batch.size() < kBatch) {
          batch.push_back(std::move(to_verify.front()));
          to_verify.pop_front();
        }
      }
      auto members = Members();
      validation::ValidationContext ctx{members->validation_trust.get(), &members->view, std::chrono::system_clock::now(),
                                        options.proposal_window};
      for (Item& item : batch) {
        auto start = Clock::now();
        item.checked = validation::CheckEnvelope(std::move(*item.parsed), ctx);
        item.checked_at = members->alliance_height;
        item.parsed.reset();
        verify_ns += static_cast<std::uint64_t>(std::chrono::nanoseconds(Clock::now() - start).count());
        ++verified_count;
      }
      {
        std::lock_guard lock(work_mu);
        for (Item& item : batch) verified.emplace(item.seq, std::move(item));
      }
      ordered_cv.notify_one();
    }
  }

  // Settles `item` with `code`; with `recorded` (the ledger holds its verdict) it is forgotten here and
  // its log segment may go. Without, it stays in the log, so that a restart records its verdict.
  void Finish(const Item& item, ValidationCode code, bool recorded = true) {
    {
      std::lock_guard lock(code_mu);
      ++code_counts[code];
    }
    std::lock_guard lock(accepted_mu);
    if (recorded) {
      accepted.erase(item.hash);
      unsettled_seqs.erase(item.seq);
    }
    if (!item.checked.tx_id.empty()) {
      auto it = pending_tx.find(item.checked.tx_id);
      if (it != pending_tx.end() && --it->second == 0) pending_tx.erase(it);
    }
    if (!item.submitter.empty()) {
      auto it = unsettled.find(item.submitter);
      if (it != unsettled.end() && --it->second == 0) unsettled.erase(it);
    }
    if (outstanding > 0) --outstanding;
    idle_cv.notify_all();
  }

  // An envelope that names no channel of the alliance cannot join a block: its verdict is kept apart.
  void Reject(const Item& item) {
    const auto& c = item.checked;
    ValidationCode code = c.ok() ? ValidationCode::kTargetChainNotFound : c.code;
    std::string message = c.ok() ? "channel " + c.channel + " is not a chain of the alliance" : c.message;
    Json record{{"tx_id", c.tx_id}, {"channel", c.channel}, {"code", static_cast<int>(code)}, {"message", message},
                {"sequence", item.seq}};
    ledger::MetaEntries meta{{RejectedKey(item.hash), JsonBytes(record)}};
    if (!c.tx_id.empty()) meta.emplace_back(RejectedTxKey(c.tx_id), JsonBytes(record));
    Status s = ledger->PutMeta(meta);
    if (!s.ok()) logger->error("cannot record the rejection of envelope {}: {}", item.hash, s.ToString());
    Finish(item, code, s.ok());
    DropSettledSegments();
  }

  // The lowest sequence number not yet settled (the next one when all are).
  std::uint64_t SettledBelow() const {
    std::lock_guard lock(accepted_mu);
    return unsettled_seqs.empty() ? log->size() : *unsettled_seqs.begin();
  }

  // Deletes the log segments whose every envelope is settled.
  void DropSettledSegments() {
    auto dropped = log->DropSettled(SettledBelow());
    if (!dropped.ok()) logger->warn("cannot delete a settled segment of the envelope log: {}", dropped.status().ToString());
  }

  // The acceptance of an envelope the ledger holds a verdict on (in a block, or rejected); nullopt
  // when it holds none.
  std::optional<Acceptance> Settled(const std::string& hash) const {
    for (const std::string& key : {EnvelopeKey(hash), RejectedKey(hash)}) {
      auto record = ledger->GetMeta(key);
      if (!record.ok() || !*record) continue;
      auto j = ParseJson(ToString(**record));
      if (!j.ok() || !j->is_object()) continue;
      return Acceptance{j->value("tx_id", ""), hash, j->value("sequence", std::uint64_t{0}), true};
    }
    return std::nullopt;
  }

  Status CommitChannel(const std::string& channel, ChannelQueue& queue) {
    if (queue.items.empty()) return Status::Ok();
    auto snapshot = ledger->GetSnapshot();
    ledger::Savepoint savepoint = ledger->GetSavepoint(channel);
    const std::shared_ptr<const alliance::Membership> members_now = Members();
    const std::set<std::string>& external = members_now->view.external_channels;
    // A configuration block committed since an envelope was checked (a CRL, a member removed) applies to
    // it too: the block names one membership, with which every node validates it.
    validation::ValidationContext now_ctx{members_now->validation_trust.get(), &members_now->view,
                                          std::chrono::system_clock::now(), options.proposal_window};
    std::vector<const validation::CheckedEnvelope*> checked;
    std::vector<std::string> hashes;
    for (Item& item : queue.items) {
      if (item.checked_at != members_now->alliance_height) {
        item.checked = validation::CheckEnvelope(item.bytes, now_ctx);
        item.checked_at = members_now->alliance_height;
      }
    }
    for (const Item& item : queue.items) {
      checked.push_back(&item.checked);
      hashes.push_back(item.hash);
    }
    ENTENTE_ASSIGN_OR_RETURN(validation::BlockVerdict verdict,
                             validation::ValidateBlock(*snapshot, channel, savepoint.height, external, checked,
                                                       hashes));
    const std::vector<ValidationCode>& codes = verdict.codes;

    ledger::Block block;
    block.header.channel = channel;
    block.header.number = savepoint.height;
    block.header.prev_hash = savepoint.last_hash;
    ledger::MetaEntries meta;
    std::uint64_t last_seq = 0;
    std::vector<internal::DeliveryRecord> deliveries_of_block;
    for (std::size_t i = 0; i < queue.items.size(); ++i) {
      Item& item = queue.items[i];
      if (codes[i] == ValidationCode::kValid && item.checked.result && !external.empty()) {
        auto writes = internal::ExternalWrites(verdict.txs[i].tx_id, item.checked.result->rwset, external);
        if (!writes.empty()) {
          internal::DeliveryRecord record{verdict.txs[i].tx_id, channel, block.header.number, item.seq, {}, 0};
          for (auto& w : writes) record.writes.push_back({std::move(w), internal::WriteDelivery::State::kPending, false, ""});
          meta.emplace_back(internal::DeliveryKey(record.tx_id), ToBytes(DumpJson(record.ToJson())));
          deliveries_of_block.push_back(std::move(record));
        }
      }
      block.envelopes.push_back(std::move(item.bytes));
      block.metadata.validation_codes.push_back(codes[i]);
      last_seq = item.seq;
      // Where every envelope went, for its status and a resubmission once the relay forgot it.
      Json at{{"channel", channel}, {"block", block.header.number}, {"index", i}, {"code", static_cast<int>(codes[i])},
              {"tx_id", item.checked.tx_id}, {"sequence", item.seq}};
      meta.emplace_back(EnvelopeKey(item.hash), JsonBytes(at));
      if (codes[i] != ValidationCode::kValid) {
        meta.emplace_back(MessageKey(channel, block.header.number, i), ToBytes(verdict.messages[i]));
        if (!ledger::ClaimsTxId(codes[i]) && !item.checked.tx_id.empty()) {
          meta.emplace_back(UnclaimedKey(item.checked.tx_id), JsonBytes(at));
        }
      }
    }
    block.header.data_hash = block.ComputeDataHash();
    block.metadata.timestamp_ms = NowMs();
    block.metadata.alliance_height = members_now->alliance_height;
    ENTENTE_ASSIGN_OR_RETURN(block.metadata.relay_signature, options.signing_key->Sign(block.SignedMetadataBytes()));
    meta.emplace_back(OrderedKey(channel), ToBytes(std::to_string(last_seq)));
    ENTENTE_RETURN_IF_ERROR(ledger->Commit(block, verdict.txs, meta));
    logger->debug("committed block {} of {} with {} transactions", block.header.number, channel, codes.size());
    deliveries->Enqueue(std::move(deliveries_of_block));

    bool config_changed = false;
    for (std::size_t i = 0; i < queue.items.size(); ++i) {
      Finish(queue.items[i], codes[i]);
      config_changed |= channel == alliance::kAllianceChannel && codes[i] == ValidationCode::kValid;
    }
    if (config_changed) {
      std::lock_guard reload(reload_mu);
      Status s = LoadAlliance();
      if (!s.ok()) logger->error("cannot reload the alliance after block {}: {}", block.header.number, s.ToString());
    }
    DropSettledSegments();
    waiters->Advance(channel, block.header.number + 1);
    queue = ChannelQueue{};
    return Status::Ok();
  }

  // Orders verified envelopes in log order; cuts and commits blocks.
  void SequenceLoop() {
    for (;;) {
      std::optional<Item> next;
      {
        std::unique_lock lock(work_mu);
        auto deadline = Clock::now() + options.cutting.max_wait;
        for (const auto& [channel, q] : queues) {
          if (!q.items.empty()) deadline = std::min(deadline, q.oldest + options.cutting.max_wait);
        }
        ordered_cv.wait_until(lock, deadline, [&] { return stopping || verified.count(next_to_order) > 0; });
        if (stopping) return;
        auto it = verified.find(next_to_order);
        if (it != verified.end()) {
          next = std::move(it->second);
          verified.erase(it);
          ++next_to_order;
        }
      }
      // Nothing an envelope holds may stop the sequencer: a rejection is a result. An exception here
      // is a bug; the pipeline stops with it (Health reports it) rather than ending the process.
      try {
        if (next && !next->done) Place(std::move(*next));
        auto now = Clock::now();
        for (auto& [channel, q] : queues) {
          if (!q.items.empty() && now - q.oldest >= options.cutting.max_wait) CommitOrDie(channel, q);
        }
      } catch (const std::exception& e) {
        Fail(Status::Internal(std::string("the sequencer failed: ") + e.what()));
      }
    }
  }

  // Stops ordering: the envelopes not yet in a block stay in the log for the next Open.
  void Fail(Status why) {
    logger->critical("{}; the relay stops ordering", why.ToString());
    std::lock_guard lock(work_mu);
    if (failure.ok()) failure = std::move(why);
    stopping = true;
    work_cv.notify_all();
  }

  void Place(Item item) {
    const std::string channel = item.checked.channel;  // a copy: `item` moves into the queue below
    auto members = Members();
    if (channel.empty() || members->view.channels.count(channel) == 0) {
      Reject(item);
      return;
    }
    ChannelQueue& q = queues[channel];
    if (q.items.empty()) q.oldest = Clock::now();
    q.bytes += item.bytes.size();
    q.items.push_back(std::move(item));
    if (q.items.size() >= options.cutting.max_tx || q.bytes >= options.cutting.max_bytes) CommitOrDie(channel, q);
  }

  void CommitOrDie(const std::string& channel, ChannelQueue& q) {
    Status s = CommitChannel(channel, q);
    if (!s.ok()) {
      // The ledger refused or failed: nothing of this block was written and the envelopes are still
      // in the log. Stop ordering rather than skip them; a restart retries.
      Fail(s.WithContext("cannot commit a block of " + channel));
    }
  }
};

Relay::Relay(std::unique_ptr<State> state) : state_(std::move(state)) {}

Relay::~Relay() { Stop(); }

Result<std::unique_ptr<Relay>> Relay::Open(RelayOptions options) {
  if (!options.signing_key) return Status::InvalidArgument("the relay needs a block signing key");
  auto state = std::make_unique<State>();
  state->logger = Logger("relay");
  state->waiters = std::make_unique<HeightWaiters>(options.max_waits, options.max_waits_per_member);
  ENTENTE_RETURN_IF_ERROR(MakeDirectories(options.data_dir, 0700));
  ENTENTE_ASSIGN_OR_RETURN(state->ledger, ledger::Ledger::Open(options.data_dir + "/ledger"));
  ENTENTE_RETURN_IF_ERROR(alliance::CommitGenesis(*state->ledger, options.genesis));
  state->options = std::move(options);
  ENTENTE_RETURN_IF_ERROR(state->LoadAlliance());
  state->deliveries = std::make_unique<internal::Deliveries>(
      *state->ledger, state->options.adapters, internal::Deliveries::Options{state->options.delivery_backoff});
  ENTENTE_RETURN_IF_ERROR(state->deliveries->Start());
  for (const std::string& chain : state->Members()->view.external_channels) {
    bool configured = std::any_of(state->options.adapters.begin(), state->options.adapters.end(),
                                  [&](const auto& a) { return a && a->chain() == chain; });
    if (!configured) {
      state->logger->warn("chain {} has no Entente nodes and no adapter here: writes to it stay pending", chain);
    }
  }

  // What the blocks already hold, per channel.
  std::map<std::string, std::uint64_t> ordered_upto;
  for (const std::string& channel : state->ledger->Channels()) {
    ENTENTE_ASSIGN_OR_RETURN(auto upto, state->ledger->GetMeta(OrderedKey(channel)));
    if (upto) ordered_upto[channel] = std::stoull(ToString(*upto));
  }
  // Replay the log: a record that a block or a rejection holds passes the sequencer as done, so
  // that log order goes on; every other record is verified and ordered again.
  State* s = state.get();
  std::uint64_t resumed = 0;
  Status replay_status;
  std::optional<std::uint64_t> first_replayed;  // settled segments are gone: ordering resumes from here
  auto opened = internal::EnvelopeLog::Open(s->options.data_dir, s->options.log_segment_bytes, [&](std::uint64_t seq, ByteView bytes) {
    if (!first_replayed) first_replayed = seq;
    Item item;
    item.seq = seq;
    item.bytes.assign(bytes.begin(), bytes.end());
    item.hash = crypto::Sha256Hex(bytes);
    item.parsed = validation::ParseEnvelope(bytes);
    Peek peek = PeekEnvelope(*item.parsed);
    auto upto = ordered_upto.find(peek.channel);
    auto rejected = s->ledger->GetMeta(RejectedKey(item.hash));
    if (!rejected.ok()) replay_status = rejected.status();
    if ((upto != ordered_upto.end() && seq <= upto->second) || (rejected.ok() && *rejected)) {
      item.done = true;
      item.bytes.clear();
      item.parsed.reset();
      s->verified.emplace(seq, std::move(item));
      return;
    }
    ++resumed;
    s->accepted.emplace(item.hash, Acceptance{peek.tx_id, item.hash, seq, false});
    s->unsettled_seqs.insert(seq);
    if (!peek.tx_id.empty()) ++s->pending_tx[peek.tx_id];
    ++s->outstanding;
    s->to_verify.push_back(std::move(item));
  });
  if (!opened.ok()) return opened.status();
  ENTENTE_RETURN_IF_ERROR(replay_status);
  s->log = std::move(opened).value();
  s->next_to_order = first_replayed.value_or(s->log->size());
  s->accepted_count = s->log->size();
  if (resumed > 0) s->logger->info("resuming {} logged envelopes that no block holds", resumed);

  int workers = s->options.verify_workers > 0 ? s->options.verify_workers
                                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < workers; ++i) s->workers.emplace_back([s] { s->VerifyLoop(); });
  s->sequencer = std::thread([s] { s->SequenceLoop(); });
  return std::unique_ptr<Relay>(new Relay(std::move(state)));
}

Status Relay::VerifyPeer(const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& intermediates) const {
  return alliance::CheckPeerCertificate(*state_->Members(), leaf, intermediates, crypto::Clock::now(),
                                       state_->options.signing_key->Public());
}

bool Relay::MayRead(const crypto::Subject& reader, std::string_view channel, std::optional<std::string_view> ns) const {
  return alliance::MayRead(*state_->Members(), reader, channel, ns);
}

bool Relay::KnowsChannel(std::string_view channel) const {
  return state_->Members()->view.channels.count(std::string(channel)) > 0;
}

Status Relay::ReloadCrls(std::vector<std::string> crl_pems) {
  State& s = *state_;
  std::lock_guard reload(s.reload_mu);
  std::vector<std::string> previous = s.options.crl_pems;
  s.options.crl_pems = std::move(crl_pems);
  Status loaded = s.LoadAlliance();
  if (!loaded.ok()) s.options.crl_pems = std::move(previous);
  return loaded;
}

Status Relay::Health() const {
  std::lock_guard lock(state_->work_mu);
  if (!state_->failure.ok()) return state_->failure;
  if (state_->stopping) return Status::Unavailable("the relay is stopping");
  return Status::Ok();
}

Result<Acceptance> Relay::Submit(ByteView envelope, const Submitter* submitter) {
  State& s = *state_;
  if (envelope.empty()) return Status::InvalidArgument("empty envelope");
  if (Status health = Health(); !health.ok()) {
    return Status::Unavailable("the relay does not order now: " + health.message());
  }
  Item item;
  if (submitter) {
    // Who submits must hold a valid certificate of the alliance now: not merely one that passed a
    // handshake before its CRL changed.
    if (Status valid = VerifyPeer(submitter->certificate, submitter->intermediates); !valid.ok()) {
      return Status::PermissionDenied("the submitter's certificate is not valid: " + valid.message());
    }
    item.submitter = SubmitterKey(submitter->certificate);
  }
  // Only an envelope that parses as far as its proposal is logged: anything less has no transaction
  // to record a verdict for, so it is refused now with the reason.
  item.parsed = validation::ParseEnvelope(envelope);
  if (item.parsed->code != ValidationCode::kValid) return Status::InvalidArgument(item.parsed->message);
  Peek peek = PeekEnvelope(*item.parsed);
  const crypto::Digest digest = crypto::Sha256(envelope);
  std::string hash = HexEncode(digest);
  item.bytes.assign(envelope.begin(), envelope.end());
  item.hash = hash;
  Acceptance acceptance{peek.tx_id, hash, 0, false};
  {
    // Appending under accepted_mu keeps log order and the acceptance map in step.
    std::lock_guard lock(s.accepted_mu);
    auto it = s.accepted.find(hash);
    if (it != s.accepted.end()) {
      Acceptance again = it->second;
      again.resubmitted = true;
      return again;
    }
    // Settled envelopes are forgotten here once the ledger holds their verdict, which it does before
    // they leave `accepted`.
    if (auto settled = s.Settled(hash)) return *settled;
    if (!item.submitter.empty()) {
      auto unsettled = s.unsettled.find(item.submitter);
      if (unsettled != s.unsettled.end() && unsettled->second >= s.options.submitter_quota) {
        return Status::ResourceExhausted(item.submitter + " has " + std::to_string(unsettled->second) +
                                         " envelopes not yet committed (submitter_quota)");
      }
    }
    ENTENTE_ASSIGN_OR_RETURN(acceptance.sequence, s.log->Append(envelope, digest));
    item.seq = acceptance.sequence;
    s.accepted.emplace(hash, acceptance);
    s.unsettled_seqs.insert(acceptance.sequence);
    if (!peek.tx_id.empty()) ++s.pending_tx[peek.tx_id];
    if (!item.submitter.empty()) ++s.unsettled[item.submitter];
    ++s.outstanding;
  }
  if (Status synced = s.log->Sync(acceptance.sequence); !synced.ok()) {
    // Not acknowledged: forget it, so that a resubmission after a restart is taken afresh.
    s.Fail(synced.WithContext("cannot log envelope " + hash));
    std::lock_guard lock(s.accepted_mu);
    s.accepted.erase(hash);
    s.unsettled_seqs.erase(acceptance.sequence);
    if (auto it = s.pending_tx.find(peek.tx_id); it != s.pending_tx.end() && --it->second == 0) s.pending_tx.erase(it);
    if (auto it = s.unsettled.find(item.submitter); it != s.unsettled.end() && --it->second == 0) s.unsettled.erase(it);
    if (s.outstanding > 0) --s.outstanding;
    s.idle_cv.notify_all();
    return synced;
  }
  ++s.accepted_count;
  s.Enqueue(std::move(item));
  return acceptance;
}

TxStatus Relay::StatusOf(std::string_view tx_id) const {
  const State& s = *state_;
  TxStatus status;
  auto snapshot = s.ledger->GetSnapshot();
  auto message_of = [&](const std::string& channel, std::uint64_t block, std::uint64_t index) {
    auto m = s.ledger->GetMeta(MessageKey(channel, block, index));
    return m.ok() && *m ? ToString(**m) : std::string();
  };
  for (const std::string& channel : s.ledger->Channels()) {
    auto found = snapshot->FindTx(channel, tx_id);
    if (found.ok() && *found) {
      status.state = TxStatus::State::kCommitted;
      status.channel = channel;
      status.block = (*found)->block;
      status.index = (*found)->index;
      status.code = (*found)->code;
      if (status.code != ValidationCode::kValid) status.message = message_of(channel, status.block, status.index);
      return status;
    }
  }
  {
    std::lock_guard lock(s.accepted_mu);
    if (s.pending_tx.count(tx_id) > 0) {
      status.state = TxStatus::State::kPending;
      return status;
    }
  }
  if (auto found = s.Located(UnclaimedKey(tx_id))) return *found;
  if (auto found = s.Located(RejectedTxKey(tx_id))) return *found;
  return status;
}

TxStatus Relay::StatusOfEnvelope(std::string_view envelope_hash) const {
  const State& s = *state_;
  if (auto found = s.Located(EnvelopeKey(envelope_hash))) return *found;
  if (auto found = s.Located(RejectedKey(envelope_hash))) return *found;
  std::string tx_id;
  {
    std::lock_guard lock(s.accepted_mu);
    auto it = s.accepted.find(envelope_hash);
    if (it == s.accepted.end()) return {};
    tx_id = it->second.tx_id;
  }
  // Not recorded as invalid: the valid claim of its tx id when that is exactly this envelope, else
  // pending (another envelope may own the tx id while this one waits for its block).
  TxStatus status = StatusOf(tx_id);
  bool mine = false;
  if (status.state == TxStatus::State::kCommitted && status.code == ValidationCode::kValid) {
    auto block = s.ledger->GetBlock(status.channel, status.block);
    mine = block.ok() && status.index < block->envelopes.size() &&
           crypto::Sha256Hex(block->envelopes[status.index]) == envelope_hash;
  }
  if (!mine) {
    status = TxStatus{};
    status.state = TxStatus::State::kPending;
  }
  return status;
}

Result<std::optional<ledger::VersionedValue>> Relay::GetState(std::string_view channel, std::string_view contract,
                                                              std::string_view key) const {
  return state_->ledger->GetSnapshot()->Get(channel, contract, key);
}

Result<ledger::Savepoint> Relay::Height(std::string_view channel) const {
  const State& s = *state_;
  if (s.Members()->view.channels.count(std::string(channel)) == 0) {
    return Status::NotFound("channel " + std::string(channel) + " is not a chain of the alliance");
  }
  return s.ledger->GetSavepoint(channel);
}

Result<std::vector<ledger::Block>> Relay::Blocks(std::string_view channel, std::uint64_t from, std::size_t max) const {
  const State& s = *state_;
  if (s.Members()->view.channels.count(std::string(channel)) == 0) {
    return Status::NotFound("channel " + std::string(channel) + " is not a chain of the alliance");
  }
  std::vector<ledger::Block> out;
  std::uint64_t height = s.ledger->GetSavepoint(channel).height;
  for (std::uint64_t n = from; n < height && out.size() < std::max<std::size_t>(max, 1); ++n) {
    ENTENTE_ASSIGN_OR_RETURN(ledger::Block block, s.ledger->GetBlock(channel, n));
    out.push_back(std::move(block));
  }
  return out;
}

Status Relay::WhenBlocks(std::string_view channel, std::uint64_t from, std::chrono::milliseconds wait,
                         const std::string& member, std::function<void()> ready) const {
  const State& s = *state_;
  std::string name(channel);
  if (s.Members()->view.channels.count(name) == 0) {
    return Status::NotFound("channel " + name + " is not a chain of the alliance");
  }
  return s.waiters->Wait(
      name, from, [&] { return s.ledger->GetSavepoint(name).height; }, HeightWaiters::Clock::now() + wait, member,
      [ready = std::move(ready)](HeightWaiters::Outcome) { ready(); });
}

chaincode::AllianceConfig Relay::Alliance() const {
  std::shared_lock lock(state_->alliance_mu);
  return state_->config;
}

std::vector<std::string> Relay::CaPems() const { return state_->Members()->ca_pems; }

crypto::PublicKey Relay::SigningKey() const { return state_->options.signing_key->Public(); }

std::string Relay::Metrics() const {
  const State& s = *state_;
  std::ostringstream out;
  out << "# HELP entente_relay_envelopes_accepted_total Envelopes durably logged and acknowledged.\n"
      << "# TYPE entente_relay_envelopes_accepted_total counter\n"
      << "entente_relay_envelopes_accepted_total " << s.accepted_count.load() << "\n"
      << "# HELP entente_relay_transactions_total Transactions ordered, by validation code.\n"
      << "# TYPE entente_relay_transactions_total counter\n";
  {
    std::lock_guard lock(s.code_mu);
    for (const auto& [code, n] : s.code_counts) {
      out << "entente_relay_transactions_total{code=\"" << ValidationCodeName(code) << "\"} " << n << "\n";
    }
  }
  out << "# HELP entente_relay_block_height Blocks committed per channel.\n"
      << "# TYPE entente_relay_block_height gauge\n";
  for (const std::string& channel : s.ledger->Channels()) {
    out << "entente_relay_block_height{channel=\"" << channel << "\"} " << s.ledger->GetSavepoint(channel).height
        << "\n";
  }
  out << "# HELP entente_relay_verification_seconds Time spent verifying envelopes.\n"
      << "# TYPE entente_relay_verification_seconds summary\n"
      << "entente_relay_verification_seconds_sum " << static_cast<double>(s.verify_ns.load()) / 1e9 << "\n"
      << "entente_relay_verification_seconds_count " << s.verified_count.load() << "\n"
      << "# HELP entente_relay_waiting_requests Requests waiting for blocks (long-polls), holding no thread.\n"
      << "# TYPE entente_relay_waiting_requests gauge\n"
      << "entente_relay_waiting_requests " << s.waiters->waiting() << "\n"
      << "# HELP entente_relay_envelopes_unsettled Envelopes accepted and not yet in a block or rejected.\n"
      << "# TYPE entente_relay_envelopes_unsettled gauge\n"
      << "entente_relay_envelopes_unsettled " << [&] {
           std::lock_guard lock(s.accepted_mu);
           return s.unsettled_seqs.size();
         }() << "\n"
      << "# HELP entente_relay_log_segments Segment files of the envelope log on disk.\n"
      << "# TYPE entente_relay_log_segments gauge\n"
      << "entente_relay_log_segments " << s.log->segments() << "\n"
      << "# HELP entente_relay_crls_stale Installed CRLs past their nextUpdate (still in force), due for a newer one.\n"
      << "# TYPE entente_relay_crls_stale gauge\n"
      << "entente_relay_crls_stale " << s.Members()->trust->StaleCrls(crypto::Clock::now()).size() << "\n";
  return out.str();
}

bool Relay::WaitIdle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->accepted_mu);
  return state_->idle_cv.wait_for(lock, timeout, [&] { return state_->outstanding == 0; });
}

void Relay::Stop() {
  State& s = *state_;
  {
    std::lock_guard lock(s.work_mu);
    s.stopping = true;
  }
  s.work_cv.notify_all();
  s.ordered_cv.notify_all();
  if (s.waiters) s.waiters->Stop();
  for (auto& w : s.workers) {
    if (w.joinable()) w.join();
  }
  if (s.sequencer.joinable()) s.sequencer.join();
  if (s.deliveries) s.deliveries->Stop();
}

Result<std::optional<Json>> Relay::Delivery(std::string_view tx_id) const {
  ENTENTE_ASSIGN_OR_RETURN(auto record, state_->deliveries->Find(tx_id));
  if (!record) return std::optional<Json>();
  return std::optional<Json>(record->ToJson());
}

}  // namespace entente::relay
