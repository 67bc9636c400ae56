// The relay's public API: opening (replay of the local log, or replicated ordering on etcd),
// submission, and the queries. The pipeline itself is internal/pipeline.cc.
#include "runtime/relay/relay.h"

#include <algorithm>
#include <sstream>

#include "runtime/common/file.h"
#include "runtime/relay/internal/pipeline.h"

namespace entente::relay {

using namespace internal;

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
  state->past_memberships = std::make_unique<alliance::MembershipHistory>(*state->ledger);
  ENTENTE_RETURN_IF_ERROR(state->LoadAlliance());
  {
    std::string cas;
    for (const std::string& pem : state->Members()->ca_pems) cas += pem;
    ENTENTE_RETURN_IF_ERROR(WriteFileAtomic(state->CaFile(), cas, 0644));
  }
  internal::Deliveries::Options delivery_options{state->options.delivery_backoff};
  if (state->options.etcd) ENTENTE_RETURN_IF_ERROR(state->OpenDeliveryLease(delivery_options));
  state->deliveries =
      std::make_unique<internal::Deliveries>(*state->ledger, state->options.adapters, std::move(delivery_options));
  ENTENTE_RETURN_IF_ERROR(state->deliveries->Start());
  for (const std::string& chain : state->Members()->view.external_channels) {
    bool configured = std::any_of(state->options.adapters.begin(), state->options.adapters.end(),
                                  [&](const auto& a) { return a && a->chain() == chain; });
    if (!configured) {
      state->logger->warn("chain {} has no Entente nodes and no adapter here: writes to it stay pending", chain);
    }
  }

  if (state->options.etcd) {
    ENTENTE_RETURN_IF_ERROR(state->OpenReplicated());
    return std::unique_ptr<Relay>(new Relay(std::move(state)));
  }
  ENTENTE_ASSIGN_OR_RETURN(auto ordered_by, state->ledger->GetMeta(std::string(kOrderingKey)));
  if (ordered_by) {
    return Status::FailedPrecondition("the ledger in " + state->options.data_dir + " was ordered through etcd (" +
                                      ToString(*ordered_by) + "): start this relay with its ordering: etcd settings");
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
    item.order = seq;
    item.seq = seq;
    item.bytes.assign(bytes.begin(), bytes.end());
    item.SetDigest(crypto::Sha256(bytes));
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
    s->CountInFlight(peek.tx_id, "");
    s->to_verify.push_back(std::move(item));
  });
  if (!opened.ok()) return opened.status();
  ENTENTE_RETURN_IF_ERROR(replay_status);
  s->log = std::move(opened).value();
  s->next_to_order = first_replayed.value_or(s->log->size());
  s->accepted_count = s->log->size();
  if (resumed > 0) s->logger->info("resuming {} logged envelopes that no block holds", resumed);
  s->StartPipeline();
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
  if (envelope.size() > validation::kMaxEnvelopeBytes) {
    return Status::InvalidArgument("an envelope of " + std::to_string(envelope.size()) + " bytes is larger than the " +
                                   "alliance's limit of " + std::to_string(validation::kMaxEnvelopeBytes) + " bytes");
  }
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
  item.bytes.assign(envelope.begin(), envelope.end());
  item.SetDigest(crypto::Sha256(envelope));
  const crypto::Digest digest = item.digest;
  const std::string hash = item.hash;
  if (s.ordering) return s.SubmitReplicated(std::move(item), peek);
  Acceptance acceptance{peek.tx_id, hash, 0, false};
  {
    // Appending under accepted_mu keeps log order and the acceptance map in step.
    std::lock_guard lock(s.accepted_mu);
    if (auto answer = s.AnswerWithoutLogging(hash, item.submitter)) return *answer;
    ENTENTE_ASSIGN_OR_RETURN(acceptance.sequence, s.log->Append(envelope, digest));
    item.seq = acceptance.sequence;
    item.order = item.seq;
    s.accepted.emplace(hash, acceptance);
    s.unsettled_seqs.insert(acceptance.sequence);
    s.CountInFlight(peek.tx_id, item.submitter);
  }
  if (Status synced = s.log->Sync(acceptance.sequence); !synced.ok()) {
    // Not acknowledged: forget it, so that a resubmission after a restart is taken afresh.
    s.Fail(synced.WithContext("cannot log envelope " + hash));
    std::lock_guard lock(s.accepted_mu);
    s.accepted.erase(hash);
    s.unsettled_seqs.erase(acceptance.sequence);
    s.UncountInFlight(peek.tx_id, item.submitter);
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
    auto m = snapshot->TxMessage(channel, block, index);
    return m.ok() ? *m : std::string();
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
  ledger::Savepoint committed = s.ledger->GetSavepoint(channel);
  if (!s.certifier) return committed;
  // Replicated: what is certified, which is what nodes are served.
  ledger::Savepoint served{s.ServedHeight(channel), {}};
  if (served.height >= committed.height) return committed;
  if (served.height > 0) {
    ENTENTE_ASSIGN_OR_RETURN(ledger::Block last, s.ledger->GetBlock(channel, served.height - 1));
    served.last_hash = last.header.ComputeHash();
  }
  return served;
}

Result<std::vector<ledger::Block>> Relay::Blocks(std::string_view channel, std::uint64_t from, std::size_t max) const {
  const State& s = *state_;
  if (s.Members()->view.channels.count(std::string(channel)) == 0) {
    return Status::NotFound("channel " + std::string(channel) + " is not a chain of the alliance");
  }
  std::vector<ledger::Block> out;
  std::uint64_t height = std::min(s.ledger->GetSavepoint(channel).height, s.ServedHeight(channel));
  for (std::uint64_t n = from; n < height && out.size() < std::max<std::size_t>(max, 1); ++n) {
    ENTENTE_ASSIGN_OR_RETURN(ledger::Block block, s.ledger->GetBlock(channel, n));
    if (s.certifier) {
      // The certificate the relays' signatures make, stored beside the block.
      ENTENTE_ASSIGN_OR_RETURN(auto stored, s.ledger->GetMeta(CertificateKey(channel, n)));
      if (stored) {
        ENTENTE_ASSIGN_OR_RETURN(Json certificate, ParseJson(ToString(*stored)));
        for (const auto& [relay, signature] : certificate.items()) {
          ENTENTE_ASSIGN_OR_RETURN(block.metadata.certificate[relay], JsonBase64(certificate, relay));
        }
      }
    }
    out.push_back(std::move(block));
  }
  return out;
}

Status Relay::WhenBlocks(std::string_view channel, std::uint64_t from, std::chrono::milliseconds wait,
                         const std::string& member, std::function<void()> ready) const {
  State& s = *state_;
  std::string name(channel);
  if (s.Members()->view.channels.count(name) == 0) {
    return Status::NotFound("channel " + name + " is not a chain of the alliance");
  }
  Status waiting = s.waiters->Wait(
      name, from, [&] { return s.ServedHeight(name); }, HeightWaiters::Clock::now() + wait, member,
      [ready = std::move(ready)](HeightWaiters::Outcome) { ready(); });
  if (waiting.ok() && !s.options.etcd) s.ReaderWaits(name);
  return waiting;
}

Json Relay::Disagreements() const {
  Json list = Json::array();
  if (!state_->certifier) return list;
  for (const internal::Disagreement& d : state_->certifier->disagreements()) {
    list.push_back(Json{{"relay", d.relay}, {"channel", d.channel}, {"block", d.block}});
  }
  return list;
}

chaincode::AllianceConfig Relay::Alliance() const {
  std::shared_lock lock(state_->alliance_mu);
  return state_->config;
}

std::string Relay::CaFile() const { return state_->CaFile(); }

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
      << "entente_relay_log_segments " << (s.log ? s.log->segments() : 0) << "\n"
      << "# HELP entente_relay_crls_stale Installed CRLs past their nextUpdate (still in force), due for a newer one.\n"
      << "# TYPE entente_relay_crls_stale gauge\n"
      << "entente_relay_crls_stale " << s.Members()->trust->StaleCrls(crypto::Clock::now()).size() << "\n";
  if (s.ordering) {
    out << "# HELP entente_relay_log_revision The etcd revision of the ordered log this relay has read up to.\n"
        << "# TYPE entente_relay_log_revision gauge\n"
        << "entente_relay_log_revision " << s.ordering->read_revision() << "\n"
        << "# HELP entente_relay_etcd_errors_total Calls to etcd that failed (appends and reads).\n"
        << "# TYPE entente_relay_etcd_errors_total counter\n"
        << "entente_relay_etcd_errors_total " << s.ordering->errors() << "\n"
        << "# HELP entente_relay_etcd_append_seconds Time etcd took to acknowledge this relay's batches.\n"
        << "# TYPE entente_relay_etcd_append_seconds summary\n"
        << "entente_relay_etcd_append_seconds_sum " << s.ordering->append_seconds() << "\n"
        << "entente_relay_etcd_append_seconds_count " << s.ordering->appends() << "\n"
        << "# HELP entente_relay_certificate_disagreements_total Relays' signatures of blocks other than this relay's.\n"
        << "# TYPE entente_relay_certificate_disagreements_total counter\n"
        << "entente_relay_certificate_disagreements_total " << s.certifier->disagreement_count() << "\n"
        << "# HELP entente_relay_log_compacted_revision The revision this relay compacted the ordered log at last.\n"
        << "# TYPE entente_relay_log_compacted_revision gauge\n"
        << "entente_relay_log_compacted_revision " << (s.compactor ? s.compactor->compacted() : 0) << "\n"
        << "# HELP entente_relay_certified_height Blocks per channel that relays of more than half the weight signed.\n"
        << "# TYPE entente_relay_certified_height gauge\n";
    for (const std::string& channel : s.ledger->Channels()) {
      out << "entente_relay_certified_height{channel=\"" << channel << "\"} " << s.ServedHeight(channel) << "\n";
    }
  }
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
  s.room_cv.notify_all();
  if (s.compactor) s.compactor->Stop();
  if (s.ordering) s.ordering->Stop();
  if (s.certifier) s.certifier->Stop();
  if (s.waiters) s.waiters->Stop();
  for (auto& w : s.workers) {
    if (w.joinable()) w.join();
  }
  if (s.sequencer.joinable()) s.sequencer.join();
  if (s.deliveries) s.deliveries->Stop();
  if (s.delivery_lease) s.delivery_lease->Stop();
}

Result<std::optional<Json>> Relay::Delivery(std::string_view tx_id) const {
  ENTENTE_ASSIGN_OR_RETURN(auto record, state_->deliveries->Find(tx_id));
  if (!record) return std::optional<Json>();
  return std::optional<Json>(record->ToJson());
}

Result<Json> Relay::Deliveries(const crypto::Subject& reader, std::string_view state, std::uint64_t before,
                               std::size_t limit) const {
  ENTENTE_ASSIGN_OR_RETURN(std::vector<DeliveryRecord> records, state_->deliveries->List());
  std::sort(records.begin(), records.end(),
            [](const DeliveryRecord& a, const DeliveryRecord& b) { return a.sequence > b.sequence; });
  Json list = Json::array();
  std::optional<std::uint64_t> next;
  for (const DeliveryRecord& r : records) {
    if (before != 0 && r.sequence >= before) continue;
    if (!state.empty() && DeliveryStateName(r.State()) != state) continue;
    if (!MayRead(reader, r.channel)) continue;
    if (list.size() == limit) {
      next = list.back()["sequence"].get<std::uint64_t>();
      break;
    }
    list.push_back(r.ToJson());
  }
  Json page{{"deliveries", std::move(list)}};
  if (next) page["next"] = std::to_string(*next);
  return page;
}

}  // namespace entente::relay
