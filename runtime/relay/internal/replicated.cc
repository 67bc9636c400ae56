// Replicated ordering (DESIGN.md §11): every relay of the alliance appends what it accepts to one
// ordered log on etcd and takes every relay's entries from it in the log's order, so that each builds
// the same blocks. The pipeline after the log is the one of the local log (pipeline.cc).
#include "runtime/relay/internal/pipeline.h"

#include <algorithm>
#include <cstdlib>

namespace entente::relay {

using namespace internal;

namespace {

// Entries admitted and not yet taken by the sequencer, past which the log's reader waits.
constexpr std::size_t kMaxAdmitted = 20000;

}  // namespace

etcd::ClientOptions internal::EtcdClientOptions(const EtcdOrderingOptions& etcd) {
  etcd::ClientOptions client;
  client.endpoints = etcd.endpoints;
  client.ca_files = {etcd.ca_file};
  client.cert_file = etcd.cert_file;
  client.key_file = etcd.key_file;
  client.timeout = etcd.timeout;
  return client;
}

Status Relay::State::OpenReplicated() {
  const EtcdOrderingOptions& etcd = *options.etcd;
  // Nodes commit only what the alliance's relays certify: this relay must be one of them, with its key.
  {
    auto members = Members();
    auto self = std::find_if(members->relays.begin(), members->relays.end(),
                             [&](const alliance::Membership::RelayKey& r) { return r.id == etcd.relay_id; });
    if (self == members->relays.end()) {
      return Status::FailedPrecondition("relay " + etcd.relay_id +
                                        " is not among the alliance's relays (alliance.yaml relays:)");
    }
    if (!(self->key == options.signing_key->Public())) {
      return Status::FailedPrecondition("relay " + etcd.relay_id + "'s key (tls.key) is not the one of its certificate "
                                        "in the alliance's relays");
    }
  }
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
  ENTENTE_RETURN_IF_ERROR(CatchUp());
  for (const std::string& channel : ledger->Channels()) {
    ENTENTE_ASSIGN_OR_RETURN(auto upto, ledger->GetMeta(OrderedKey(channel)));
    if (upto) ordered_at_open[channel] = std::stoull(ToString(*upto));
  }
  std::int64_t resume = 1;
  ENTENTE_ASSIGN_OR_RETURN(auto stored, ledger->GetMeta(std::string(kResumeKey)));
  if (stored) resume = std::stoll(ToString(*stored));

  ENTENTE_RETURN_IF_ERROR(OpenCertifier());
  OrderingOptions ordering_options;
  ordering_options.client = EtcdClientOptions(etcd);
  ordering_options.prefix = etcd.prefix;
  ordering_options.relay = etcd.relay_id;
  ordering_options.cut_when_idle = options.cutting.cut_when_idle;
  StartPipeline();
  auto opened = EtcdOrdering::Open(std::move(ordering_options), resume,
                                   {[this](LogEntry entry) { return Admit(std::move(entry)); },
                                    [this, retention = etcd.retention](Status why) {
                                      Fail(why.WithContext(
                                          "this relay fell behind by more than the log keeps (retention " +
                                          std::to_string(retention) + " revisions); restart it: it catches up "
                                          "from its peers' certified blocks (docs/relay.md)"));
                                    }});
  if (!opened.ok()) {
    Fail(opened.status());
    return opened.status();
  }
  // Assigned before anything is read: the pipeline asks `ordering` for cut markers.
  ordering = std::move(opened).value();
  ordering->Start();
  logger->info("relay {} orders through etcd under {} from revision {}", etcd.relay_id, etcd.prefix, resume);
  CompactionOptions compaction;
  compaction.client = EtcdClientOptions(etcd);
  compaction.prefix = etcd.prefix;
  compaction.relay = etcd.relay_id;
  compaction.interval = etcd.compaction_interval;
  compaction.retention = etcd.retention;
  ENTENTE_ASSIGN_OR_RETURN(compactor, Compactor::Open(std::move(compaction), [this] { return AppliedRevision(); }));
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
    item.SetDigest(crypto::Sha256(item.bytes));
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
        CountInFlight(peek.tx_id, "");
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
    if (auto answer = AnswerWithoutLogging(item.hash, item.submitter)) return *answer;
    // Registered before it is appended: the log's reader may take it before Append returns.
    accepted.emplace(item.hash, acceptance);
    own.emplace(item.hash, item.submitter);
    CountInFlight(peek.tx_id, item.submitter);
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
  UncountInFlight(peek.tx_id, item.submitter);
  return position.status();
}

Status Relay::State::OpenDeliveryLease(Deliveries::Options& delivery) {
  const EtcdOrderingOptions& etcd = *options.etcd;
  ENTENTE_ASSIGN_OR_RETURN(delivery_lease, DeliveryLease::Open(EtcdClientOptions(etcd), etcd.prefix, etcd.relay_id));
  DeliveryLease* lease = delivery_lease.get();
  delivery.may_deliver = [lease] { return lease->held(); };
  delivery.settled_elsewhere = [lease](const std::string& tx_id) { return lease->SettledElsewhere(tx_id); };
  delivery.settled = [lease](const DeliveryRecord& record) { lease->Settled(record); };
  return Status::Ok();
}

Status Relay::State::OpenCertifier() {
  const EtcdOrderingOptions& etcd = *options.etcd;
  flip_verdicts = [] {
    const char* fault = std::getenv("ENTENTE_RELAY_FAULT");
    return fault != nullptr && std::string_view(fault) == "flip-verdicts";
  }();
  if (flip_verdicts) logger->critical("ENTENTE_RELAY_FAULT=flip-verdicts: this relay signs wrong verdicts (tests only)");
  // Where each channel's certificates stand, and this relay's signatures of the blocks past that.
  std::map<std::string, std::uint64_t> heights;
  std::map<std::string, std::map<std::uint64_t, Bytes>> pending;
  for (const std::string& channel : ledger->Channels()) {
    std::uint64_t from = channel == alliance::kAllianceChannel ? 1 : 0;
    ENTENTE_ASSIGN_OR_RETURN(auto stored, ledger->GetMeta(CertifiedKey(channel)));
    if (stored) from = std::stoull(ToString(*stored));
    heights[channel] = from;
    std::uint64_t committed = ledger->GetSavepoint(channel).height;
    for (std::uint64_t n = from; n < committed; ++n) {
      // Signed again with this relay's key: the data directory may be a copy of a peer's.
      ENTENTE_ASSIGN_OR_RETURN(ledger::Block block, ledger->GetBlock(channel, n));
      ENTENTE_ASSIGN_OR_RETURN(pending[channel][n], options.signing_key->Sign(block.SignedMetadataBytes()));
    }
  }
  {
    std::lock_guard lock(certified_mu);
    for (const auto& [channel, height] : heights) certified[channel] = height;
  }
  Certifier::Options certifier_options;
  certifier_options.client = EtcdClientOptions(etcd);
  certifier_options.prefix = etcd.prefix;
  certifier_options.relay = etcd.relay_id;
  Certifier::Hooks hooks;
  hooks.block = [this](const std::string& channel, std::uint64_t number) -> std::optional<ledger::Block> {
    if (number >= ledger->GetSavepoint(channel).height) return std::nullopt;
    auto block = ledger->GetBlock(channel, number);
    if (!block.ok()) return std::nullopt;
    return std::move(block).value();
  };
  hooks.members = [this] { return Members(); };
  hooks.certified = [this](const std::string& channel, std::uint64_t number,
                           const std::map<std::string, Bytes>& signatures) { Certified(channel, number, signatures); };
  ENTENTE_ASSIGN_OR_RETURN(certifier,
                           Certifier::Open(std::move(certifier_options), std::move(hooks), heights, std::move(pending)));
  return Status::Ok();
}

void Relay::State::Certified(const std::string& channel, std::uint64_t number,
                             const std::map<std::string, Bytes>& signatures) {
  Json certificate = Json::object();
  for (const auto& [relay, signature] : signatures) certificate[relay] = Base64Encode(signature);
  Status s = ledger->PutMeta({{CertificateKey(channel, number), JsonBytes(certificate)},
                              {CertifiedKey(channel), ToBytes(std::to_string(number + 1))}});
  if (!s.ok()) logger->error("cannot record the certificate of block {} of {}: {}", number, channel, s.ToString());
  {
    std::lock_guard lock(certified_mu);
    certified[channel] = number + 1;
  }
  waiters->Advance(channel, number + 1);
}

std::int64_t Relay::State::AppliedRevision() const {
  std::int64_t applied = ordering ? ordering->read_revision() : 1;
  auto stored = ledger->GetMeta(std::string(kResumeKey));
  applied = stored.ok() && *stored ? std::min<std::int64_t>(applied, std::stoll(ToString(**stored))) : 1;
  if (certifier) applied = std::min(applied, certifier->watch_revision());
  return applied;
}

std::uint64_t Relay::State::ServedHeight(std::string_view channel) const {
  if (!certifier) return ledger->GetSavepoint(channel).height;
  std::lock_guard lock(certified_mu);
  auto it = certified.find(channel);
  if (it != certified.end()) return it->second;
  return channel == alliance::kAllianceChannel ? 1 : 0;
}

}  // namespace entente::relay
