#include "runtime/relay/internal/pipeline.h"

#include <algorithm>

#include "runtime/common/cores.h"
#include "runtime/common/file.h"
#include "runtime/relay/internal/delivery.h"

namespace entente::relay {

using namespace internal;

std::optional<TxStatus> Relay::State::Located(const std::string& key) const {
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
    auto m = ledger->GetSnapshot()->TxMessage(status.channel, status.block, status.index);
    if (m.ok()) status.message = std::move(*m);
  } else {
    status.state = TxStatus::State::kRejected;
    status.message = j->value("message", "");
  }
  return status;
}

std::shared_ptr<const alliance::Membership> Relay::State::Members() const {
  std::shared_lock lock(alliance_mu);
  return membership;
}

Status Relay::State::LoadAlliance() {
  auto snapshot = ledger->GetSnapshot();
  ENTENTE_ASSIGN_OR_RETURN(chaincode::AllianceConfig loaded, alliance::ReadConfig(*snapshot));
  ENTENTE_ASSIGN_OR_RETURN(alliance::Membership m, alliance::BuildMembership(loaded, options.crl_pems));
  m.alliance_height = snapshot->GetSavepoint(alliance::kAllianceChannel).height;
  // Recorded, so that blocks cut with it can be checked later (a relay catching up from its peers).
  ENTENTE_RETURN_IF_ERROR(alliance::RecordConfigAt(*ledger, m.alliance_height, loaded));
  for (const std::string& issuer : m.trust->StaleCrls(crypto::Clock::now())) {
    logger->warn("the CRL of {} is past its nextUpdate; its revocations stay in force until its chain publishes a "
                 "newer one (entente alliance update-crl)", issuer);
  }
  if (past_memberships) past_memberships->Clear();  // built with the CRL files of their time
  std::unique_lock lock(alliance_mu);
  config = std::move(loaded);
  membership = std::make_shared<const alliance::Membership>(std::move(m));
  return Status::Ok();
}

void Relay::State::Enqueue(Item item) {
  {
    std::lock_guard lock(work_mu);
    to_verify.push_back(std::move(item));
  }
  work_cv.notify_one();
}

void Relay::State::VerifyLoop() {
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
      verifying += batch.size();
    }
    auto members = Members();
    validation::ValidationContext ctx{members->validation_trust.get(), &members->view, std::chrono::system_clock::now(),
                                      options.proposal_window};
    for (Item& item : batch) {
      auto start = Clock::now();
      if (item.time_ms != 0) ctx.now = TimeOf(item);
      item.checked = validation::CheckEnvelope(std::move(*item.parsed), ctx);
      item.checked_at = members->alliance_height;
      item.parsed.reset();
      verify_ns += static_cast<std::uint64_t>(std::chrono::nanoseconds(Clock::now() - start).count());
      ++verified_count;
    }
    {
      std::lock_guard lock(work_mu);
      for (Item& item : batch) verified.emplace(item.order, std::move(item));
      verifying -= batch.size();
    }
    ordered_cv.notify_one();
  }
}

void Relay::State::Finish(const Item& item, ValidationCode code, bool recorded) {
  {
    std::lock_guard lock(code_mu);
    ++code_counts[code];
  }
  std::lock_guard lock(accepted_mu);
  if (recorded) {
    accepted.erase(item.hash);
    unsettled_seqs.erase(item.seq);
  }
  UncountInFlight(item.checked.tx_id, item.submitter);
}

std::optional<Result<Acceptance>> Relay::State::AnswerWithoutLogging(const std::string& hash,
                                                                     const std::string& submitter) const {
  if (auto it = accepted.find(hash); it != accepted.end()) {
    Acceptance again = it->second;
    again.resubmitted = true;
    return again;
  }
  // Settled envelopes are forgotten here once the ledger holds their verdict, which it does before
  // they leave `accepted`.
  if (auto settled = Settled(hash)) return Result<Acceptance>(*settled);
  if (auto it = unsettled.find(submitter); !submitter.empty() && it != unsettled.end() &&
                                           it->second >= options.submitter_quota) {
    return Result<Acceptance>(Status::ResourceExhausted(submitter + " has " + std::to_string(it->second) +
                                                        " envelopes not yet committed (submitter_quota)"));
  }
  return std::nullopt;
}

void Relay::State::CountInFlight(const std::string& tx_id, const std::string& submitter) {
  if (!tx_id.empty()) ++pending_tx[tx_id];
  if (!submitter.empty()) ++unsettled[submitter];
  ++outstanding;
}

void Relay::State::UncountInFlight(const std::string& tx_id, const std::string& submitter) {
  if (auto it = pending_tx.find(tx_id); !tx_id.empty() && it != pending_tx.end() && --it->second == 0) {
    pending_tx.erase(it);
  }
  if (auto it = unsettled.find(submitter); !submitter.empty() && it != unsettled.end() && --it->second == 0) {
    unsettled.erase(it);
  }
  if (outstanding > 0) --outstanding;
  idle_cv.notify_all();
}

void Relay::State::Reject(const Item& item) {
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

std::uint64_t Relay::State::SettledBelow() const {
  std::lock_guard lock(accepted_mu);
  return unsettled_seqs.empty() ? (log ? log->size() : 0) : *unsettled_seqs.begin();
}

void Relay::State::DropSettledSegments() {
  if (!log) return;  // replicated: etcd holds the log
  auto dropped = log->DropSettled(SettledBelow());
  if (!dropped.ok()) logger->warn("cannot delete a settled segment of the envelope log: {}", dropped.status().ToString());
}

std::optional<Acceptance> Relay::State::Settled(const std::string& hash) const {
  for (const std::string& key : {EnvelopeKey(hash), RejectedKey(hash)}) {
    auto record = ledger->GetMeta(key);
    if (!record.ok() || !*record) continue;
    auto j = ParseJson(ToString(**record));
    if (!j.ok() || !j->is_object()) continue;
    return Acceptance{j->value("tx_id", ""), hash, j->value("sequence", std::uint64_t{0}), true};
  }
  return std::nullopt;
}

Status Relay::State::CommitChannel(const std::string& channel, ChannelQueue& queue) {
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
      validation::ValidationContext item_ctx = now_ctx;
      if (item.time_ms != 0) item_ctx.now = TimeOf(item);
      item.checked = validation::CheckEnvelope(item.bytes, item_ctx);
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
  if (flip_verdicts && !verdict.codes.empty()) {
    ValidationCode flipped =
        verdict.codes[0] == ValidationCode::kValid ? ValidationCode::kMvccReadConflict : ValidationCode::kValid;
    verdict.codes[0] = verdict.txs[0].code = flipped;
  }
  const std::vector<ValidationCode>& codes = verdict.codes;

  ledger::Block block;
  block.header.channel = channel;
  block.header.number = savepoint.height;
  block.header.prev_hash = savepoint.last_hash;
  std::vector<std::uint64_t> seqs;
  std::vector<ledger::Hash> digests;
  for (std::size_t i = 0; i < queue.items.size(); ++i) {
    block.envelopes.push_back(std::move(queue.items[i].bytes));
    block.metadata.validation_codes.push_back(codes[i]);
    seqs.push_back(queue.items[i].seq);
    digests.push_back(queue.items[i].digest);
    verdict.txs[i].envelope_hash = queue.items[i].digest;  // hashed once, when it was accepted
  }
  const std::uint64_t last_seq = seqs.back();
  block.header.data_hash = ledger::Block::DataHashOf(digests);
  block.metadata.timestamp_ms = BlockTime(channel, queue);
  block.metadata.alliance_height = members_now->alliance_height;
  if (options.etcd) {
    block.metadata.log_position = last_seq;
    block.metadata.resume_revision = ResumeRevision(channel);
  }
  ENTENTE_ASSIGN_OR_RETURN(block.metadata.relay_signature, options.signing_key->Sign(block.SignedMetadataBytes()));
  auto [meta, deliveries_of_block] = RecordsOf(block, verdict, checked, hashes, seqs, external);
  meta.emplace_back(OrderedKey(channel), ToBytes(std::to_string(last_seq)));
  if (options.etcd) meta.emplace_back(std::string(kResumeKey), ToBytes(std::to_string(block.metadata.resume_revision)));
  ENTENTE_RETURN_IF_ERROR(ledger->Commit(block, verdict.txs, meta));
  last_block_time[channel] = block.metadata.timestamp_ms;
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
  if (certifier) {
    certifier->Committed(channel, block.header.number, block.metadata.relay_signature);
  } else {
    waiters->Advance(channel, block.header.number + 1);
  }
  queue = ChannelQueue{};
  return Status::Ok();
}

Relay::State::BlockRecords Relay::State::RecordsOf(const ledger::Block& block, const validation::BlockVerdict& verdict,
                                                   const std::vector<const validation::CheckedEnvelope*>& checked,
                                                   const std::vector<std::string>& hashes,
                                                   const std::vector<std::uint64_t>& seqs,
                                                   const std::set<std::string>& external) {
  BlockRecords out;
  const std::string& channel = block.header.channel;
  const std::uint64_t number = block.header.number;
  for (std::size_t i = 0; i < block.envelopes.size(); ++i) {
    const ValidationCode code = block.metadata.validation_codes[i];
    const validation::CheckedEnvelope& c = *checked[i];
    if (code == ValidationCode::kValid && c.result && !external.empty()) {
      auto writes = internal::ExternalWrites(verdict.txs[i].tx_id, c.result->rwset, external);
      if (!writes.empty()) {
        internal::DeliveryRecord record{verdict.txs[i].tx_id, channel, number, seqs[i], {}, 0};
        for (auto& w : writes) record.writes.push_back({std::move(w), internal::WriteDelivery::State::kPending, false, ""});
        out.meta.emplace_back(internal::DeliveryKey(record.tx_id), ToBytes(DumpJson(record.ToJson())));
        out.deliveries.push_back(std::move(record));
      }
    }
    // Where every envelope went, for its status and a resubmission once the relay forgot it.
    Json at{{"channel", channel}, {"block", number}, {"index", i}, {"code", static_cast<int>(code)},
            {"tx_id", c.tx_id}, {"sequence", seqs[i]}};
    out.meta.emplace_back(EnvelopeKey(hashes[i]), JsonBytes(at));
    if (code != ValidationCode::kValid) {
      if (!ledger::ClaimsTxId(code) && !c.tx_id.empty()) out.meta.emplace_back(UnclaimedKey(c.tx_id), JsonBytes(at));
    }
  }
  return out;
}

void Relay::State::SequenceLoop() {
  for (;;) {
    std::optional<Item> next;
    bool idle = false;  // nothing more to order now: what is pending may be cut at once
    std::map<std::string, Clock::time_point> read_at;
    {
      std::unique_lock lock(work_mu);
      auto deadline = Clock::now() + options.cutting.max_wait;
      for (const auto& [channel, q] : queues) {
        if (!q.items.empty()) deadline = std::min(deadline, q.oldest + options.cutting.max_wait);
      }
      ordered_cv.wait_until(lock, deadline,
                            [&] { return stopping || reader_came || verified.count(next_to_order) > 0; });
      if (stopping) return;
      reader_came = false;
      read_at = last_read;
      auto it = verified.find(next_to_order);
      if (it != verified.end()) {
        next = std::move(it->second);
        verified.erase(it);
        ++next_to_order;
      }
      idle = verified.count(next_to_order) == 0 && to_verify.empty() && verifying == 0;
    }
    room_cv.notify_one();
    // Nothing an envelope holds may stop the sequencer: a rejection is a result. An exception here
    // is a bug; the pipeline stops with it (Health reports it) rather than ending the process.
    try {
      if (next) {
        const bool cut_after = next->cut_after;
        last_taken = next->seq;
        if (!next->done) Place(std::move(*next));
        if (cut_after) CutAll();
      }
      // With the local log a block need not wait for more envelopes when none are coming; replicated
      // relays cut only where the log says (a batch marked cut-after is the same rule, made there).
      if (idle && options.cutting.cut_when_idle && !options.etcd) CutWhenIdle(read_at);
      auto now = Clock::now();
      for (auto& [channel, q] : queues) {
        if (q.items.empty() || now - q.oldest < options.cutting.max_wait) continue;
        if (!options.etcd) {
          CommitOrDie(channel, q);
        } else if (now - last_cut_request >= options.cutting.max_wait) {
          // Replicated relays cut only where the log says: ask for a cut marker in it.
          ordering->RequestCut();
          last_cut_request = now;
        }
      }
    } catch (const std::exception& e) {
      Fail(Status::Internal(std::string("the sequencer failed: ") + e.what()));
    }
  }
}

void Relay::State::Fail(Status why) {
  logger->critical("{}; the relay stops ordering", why.ToString());
  std::lock_guard lock(work_mu);
  if (failure.ok()) failure = std::move(why);
  stopping = true;
  work_cv.notify_all();
  room_cv.notify_all();
}

void Relay::State::StartPipeline() {
  int count = options.verify_workers > 0 ? options.verify_workers : UsableCores();
  for (int i = 0; i < count; ++i) workers.emplace_back([this] { VerifyLoop(); });
  sequencer = std::thread([this] { SequenceLoop(); });
}

void Relay::State::Place(Item item) {
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

void Relay::State::CommitOrDie(const std::string& channel, ChannelQueue& q) {
  Status s = CommitChannel(channel, q);
  if (!s.ok()) {
    // The ledger refused or failed: nothing of this block was written and the envelopes are still
    // in the log. Stop ordering rather than skip them; a restart retries.
    Fail(s.WithContext("cannot commit a block of " + channel));
  }
}

crypto::TimePoint Relay::State::TimeOf(const Item& item) {
  return crypto::TimePoint(std::chrono::milliseconds(item.time_ms));
}

std::int64_t Relay::State::BlockTime(const std::string& channel, const ChannelQueue& queue) {
  if (!options.etcd) return NowMs();
  // The log's time of the block's last envelope, never before the channel's previous block.
  auto last = last_block_time.find(channel);
  if (last == last_block_time.end()) {
    std::int64_t previous = 0;
    std::uint64_t height = ledger->GetSavepoint(channel).height;
    if (height > 0) {
      auto block = ledger->GetBlock(channel, height - 1);
      if (block.ok()) previous = block->metadata.timestamp_ms;
    }
    last = last_block_time.emplace(channel, previous).first;
  }
  return std::max(queue.items.back().time_ms, last->second);
}

std::int64_t Relay::State::ResumeRevision(const std::string& committed) const {
  // Everything before the item taken last is in a block or rejected, but for the items still queued
  // for other channels: a restart reads again from the earliest of them.
  std::int64_t revision = RevisionOf(last_taken);
  for (const auto& [channel, q] : queues) {
    if (channel != committed && !q.items.empty()) revision = std::min(revision, RevisionOf(q.items.front().seq));
  }
  return revision;
}

void Relay::State::CutWhenIdle(const std::map<std::string, Clock::time_point>& read_at) {
  // A reader that has not asked for this long is taken to be gone. (A block held for a busy reader is
  // cut by max_wait anyway, so a longer max_wait needs no shorter threshold.)
  const Clock::duration reader_gone = std::max<Clock::duration>(std::chrono::seconds(1), options.cutting.max_wait);
  const auto now = Clock::now();
  for (auto& [channel, q] : queues) {
    if (q.items.empty()) continue;
    auto read = read_at.find(channel);
    const bool unread = read == read_at.end() || now - read->second > reader_gone;
    if (unread || waiters->waiting(channel) > 0) CommitOrDie(channel, q);
  }
}

void Relay::State::ReaderWaits(const std::string& channel) {
  {
    std::lock_guard lock(work_mu);
    last_read[channel] = Clock::now();
    reader_came = true;
  }
  ordered_cv.notify_one();
}

void Relay::State::CutAll() {
  for (auto& [channel, q] : queues) {
    if (!q.items.empty()) CommitOrDie(channel, q);
  }
}

}  // namespace entente::relay
