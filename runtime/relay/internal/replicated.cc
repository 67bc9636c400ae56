// Replicated ordering (DESIGN.md §11): every relay of the alliance appends what it accepts to one
// ordered log on etcd and takes every relay's entries from it in the log's order, so that each builds
// the same blocks. The pipeline after the log is the one of the local log (pipeline.cc).
#include "runtime/relay/internal/pipeline.h"

namespace entente::relay {

using namespace internal;

namespace {

// Entries admitted and not yet taken by the sequencer, past which the log's reader waits.
constexpr std::size_t kMaxAdmitted = 20000;

}  // namespace

Status Relay::State::OpenReplicated() {
  const EtcdOrderingOptions& etcd = *options.etcd;
  // A ledger is ordered from one log: the relay's own, or one prefix on etcd.
  const std::string ordered_by = "etcd " + etcd.prefix;
  ENTENTE_ASSIGN_OR_RETURN(auto recorded, ledger->GetMeta(std::string(kOrderingKey)));
  if (recorded && ToString(*recorded) != ordered_by) {
    return Status::FailedPrecondition("the ledger in " + options.data_dir + " was ordered from " + ToString(*recorded) +
                                      ", not from " + ordered_by);
  }
  if (!recorded) {
    for (const std::string& channel : ledger->Channels()) {
      ENTENTE_ASSIGN_OR_RETURN(auto upto, ledger->GetMeta(OrderedKey(channel)));
      if (upto) {
        return Status::FailedPrecondition("the ledger in " + options.data_dir +
                                          " was ordered by this relay's local log: a replicated relay starts from a "
                                          "new data directory");
      }
    }
    ENTENTE_RETURN_IF_ERROR(ledger->PutMeta({{std::string(kOrderingKey), ToBytes(ordered_by)}}));
  }
  for (const std::string& channel : ledger->Channels()) {
    ENTENTE_ASSIGN_OR_RETURN(auto upto, ledger->GetMeta(OrderedKey(channel)));
    if (upto) ordered_at_open[channel] = std::stoull(ToString(*upto));
  }
  std::int64_t resume = 1;
  ENTENTE_ASSIGN_OR_RETURN(auto stored, ledger->GetMeta(std::string(kResumeKey)));
  if (stored) resume = std::stoll(ToString(*stored));

  OrderingOptions ordering_options;
  ordering_options.client.endpoints = etcd.endpoints;
  ordering_options.client.ca_files = {etcd.ca_file};
  ordering_options.client.cert_file = etcd.cert_file;
  ordering_options.client.key_file = etcd.key_file;
  ordering_options.client.timeout = etcd.timeout;
  ordering_options.prefix = etcd.prefix;
  ordering_options.relay = etcd.relay_id;
  StartPipeline();
  auto opened = EtcdOrdering::Open(std::move(ordering_options), resume,
                                   {[this](LogEntry entry) { return Admit(std::move(entry)); },
                                    [this](Status why) { Fail(std::move(why)); }});
  if (!opened.ok()) {
    Fail(opened.status());
    return opened.status();
  }
  ordering = std::move(opened).value();
  logger->info("relay {} orders through etcd under {} from revision {}", etcd.relay_id, etcd.prefix, resume);
  return Status::Ok();
}

bool Relay::State::Admit(LogEntry entry) {
  Item item;
  item.seq = entry.position;
  item.time_ms = entry.time_ms;
  item.cut_after = entry.cut_after;
  item.done = !entry.envelope;  // a cut marker, or a batch that did not decode
  if (entry.envelope) {
    item.bytes = std::move(*entry.envelope);
    item.hash = crypto::Sha256Hex(item.bytes);
    item.parsed = validation::ParseEnvelope(item.bytes);
    Peek peek = PeekEnvelope(*item.parsed);
    // Read again after a restart: what a block or a rejection holds passes as done, so that the
    // queues stand as they stood.
    auto upto = ordered_at_open.find(peek.channel);
    if (upto != ordered_at_open.end() && item.seq <= upto->second) item.done = true;
    if (!item.done) {
      auto rejected = ledger->GetMeta(RejectedKey(item.hash));
      if (!rejected.ok()) {
        Fail(rejected.status().WithContext("cannot read the relay's records"));
        return false;
      }
      if (*rejected) {
        auto record = ParseJson(ToString(**rejected));
        item.done = record.ok() && record->is_object() && record->value("sequence", std::uint64_t{0}) == item.seq;
      }
    }
    if (item.done) {
      item.bytes.clear();
      item.parsed.reset();
    } else {
      std::lock_guard lock(accepted_mu);
      if (auto mine = own.find(item.hash); mine != own.end()) {
        // This relay's own submission: its counts stand from Submit.
        item.submitter = mine->second;
        own.erase(mine);
        if (auto it = accepted.find(item.hash); it != accepted.end()) it->second.sequence = item.seq;
      } else {
        accepted.emplace(item.hash, Acceptance{peek.tx_id, item.hash, item.seq, false});
        if (!peek.tx_id.empty()) ++pending_tx[peek.tx_id];
        ++outstanding;
      }
    }
  }
  std::unique_lock lock(work_mu);
  room_cv.wait(lock, [&] { return stopping || to_verify.size() + verified.size() < kMaxAdmitted; });
  if (stopping) return false;
  item.order = next_admitted++;
  if (item.done) {
    verified.emplace(item.order, std::move(item));
    lock.unlock();
    ordered_cv.notify_one();
  } else {
    to_verify.push_back(std::move(item));
    lock.unlock();
    work_cv.notify_one();
  }
  return true;
}

Result<Acceptance> Relay::State::SubmitReplicated(Item item, const Peek& peek) {
  Acceptance acceptance{peek.tx_id, item.hash, 0, false};
  {
    std::lock_guard lock(accepted_mu);
    if (auto it = accepted.find(item.hash); it != accepted.end()) {
      Acceptance again = it->second;
      again.resubmitted = true;
      return again;
    }
    if (auto settled = Settled(item.hash)) return *settled;
    if (!item.submitter.empty()) {
      auto unsettled_of = unsettled.find(item.submitter);
      if (unsettled_of != unsettled.end() && unsettled_of->second >= options.submitter_quota) {
        return Status::ResourceExhausted(item.submitter + " has " + std::to_string(unsettled_of->second) +
                                         " envelopes not yet committed (submitter_quota)");
      }
      ++unsettled[item.submitter];
    }
    // Registered before it is appended: the log's reader may take it before Append returns.
    accepted.emplace(item.hash, acceptance);
    own.emplace(item.hash, item.submitter);
    if (!peek.tx_id.empty()) ++pending_tx[peek.tx_id];
    ++outstanding;
  }
  auto position = ordering->Append(std::move(item.bytes));
  std::lock_guard lock(accepted_mu);
  if (position.ok()) {
    ++accepted_count;
    acceptance.sequence = *position;
    if (auto it = accepted.find(item.hash); it != accepted.end()) it->second.sequence = *position;
    return acceptance;
  }
  auto mine = own.find(item.hash);
  if (mine == own.end()) {
    // The reader took it from the log meanwhile: it is ordered, though etcd's answer came late.
    ++accepted_count;
    if (auto it = accepted.find(item.hash); it != accepted.end()) return it->second;
    return Settled(item.hash).value_or(acceptance);
  }
  // Not acknowledged: forgotten here, so that a resubmission is taken afresh. Should the batch land
  // after all, the reader takes it as any relay's entry.
  own.erase(mine);
  accepted.erase(item.hash);
  if (auto it = pending_tx.find(peek.tx_id); it != pending_tx.end() && --it->second == 0) pending_tx.erase(it);
  if (auto it = unsettled.find(item.submitter); it != unsettled.end() && --it->second == 0) unsettled.erase(it);
  if (outstanding > 0) --outstanding;
  idle_cv.notify_all();
  return position.status();
}

}  // namespace entente::relay
