#include "runtime/relay/internal/delivery.h"

#include <algorithm>
#include <utility>

#include "runtime/common/log.h"

namespace entente::relay::internal {
namespace {

constexpr char kDeliveryPrefix[] = "delivery/";

Json VersionJson(const ledger::Version& v) { return Json{{"block", v.block}, {"tx", v.tx}}; }

Result<WriteDelivery::State> ParseState(const std::string& name) {
  if (name == "pending") return WriteDelivery::State::kPending;
  if (name == "delivered") return WriteDelivery::State::kDelivered;
  if (name == "failed") return WriteDelivery::State::kFailed;
  return Status::Corruption("a delivery record has the unknown state '" + name + "'");
}

Json WriteJson(const WriteDelivery& d) {
  const adapters::CrossChainWrite& w = d.write;
  Json j{{"chain", w.channel},
         {"contract", w.contract},
         {"key", w.key},
         {"state", DeliveryStateName(d.state)},
         {"applied", d.applied},
         {"detail", d.detail}};
  if (!d.receipt.empty()) j["receipt"] = d.receipt;
  if (w.is_delete) {
    j["delete"] = true;
  } else {
    j["value"] = Base64Encode(w.value);
  }
  if (w.check_version) j["expected_version"] = w.expected_version ? VersionJson(*w.expected_version) : Json(nullptr);
  return j;
}

Result<WriteDelivery> WriteFromJson(const Json& j, const std::string& tx_id) {
  try {
    WriteDelivery d;
    d.write.tx_id = tx_id;
    d.write.channel = j.at("chain").get<std::string>();
    d.write.contract = j.at("contract").get<std::string>();
    d.write.key = j.at("key").get<std::string>();
    d.write.is_delete = j.value("delete", false);
    if (!d.write.is_delete) {
      ENTENTE_ASSIGN_OR_RETURN(d.write.value, Base64Decode(j.at("value").get<std::string>()));
    }
    if (j.contains("expected_version")) {
      d.write.check_version = true;
      const Json& v = j["expected_version"];
      if (!v.is_null()) d.write.expected_version = ledger::Version{v.at("block").get<std::uint64_t>(), v.at("tx").get<std::uint64_t>()};
    }
    ENTENTE_ASSIGN_OR_RETURN(d.state, ParseState(j.at("state").get<std::string>()));
    d.applied = j.value("applied", false);
    d.detail = j.value("detail", "");
    if (j.contains("receipt") && j["receipt"].is_object()) d.receipt = j["receipt"];
    return d;
  } catch (const std::exception& e) {
    return Status::Corruption("a delivery record of " + tx_id + " does not parse: " + e.what());
  }
}

Bytes RecordBytes(const DeliveryRecord& record) { return ToBytes(DumpJson(record.ToJson())); }

}  // namespace

std::string_view DeliveryStateName(WriteDelivery::State state) {
  switch (state) {
    case WriteDelivery::State::kPending:
      return "pending";
    case WriteDelivery::State::kDelivered:
      return "delivered";
    case WriteDelivery::State::kFailed:
      return "failed";
  }
  return "pending";
}

WriteDelivery::State DeliveryRecord::State() const {
  auto any = [&](WriteDelivery::State s) {
    return std::any_of(writes.begin(), writes.end(), [&](const WriteDelivery& w) { return w.state == s; });
  };
  if (any(WriteDelivery::State::kPending)) return WriteDelivery::State::kPending;
  if (any(WriteDelivery::State::kFailed)) return WriteDelivery::State::kFailed;
  return WriteDelivery::State::kDelivered;
}

Json DeliveryRecord::ToJson() const {
  Json list = Json::array();
  for (const WriteDelivery& w : writes) list.push_back(WriteJson(w));
  return Json{{"tx_id", tx_id}, {"channel", channel}, {"block", block}, {"sequence", sequence},
              {"state", DeliveryStateName(State())}, {"attempts", attempts}, {"writes", list}};
}

Result<DeliveryRecord> DeliveryRecord::FromJson(const Json& json) {
  DeliveryRecord record;
  try {
    record.tx_id = json.at("tx_id").get<std::string>();
    record.channel = json.at("channel").get<std::string>();
    record.block = json.at("block").get<std::uint64_t>();
    record.sequence = json.value("sequence", std::uint64_t{0});
    record.attempts = json.value("attempts", 0);
    for (const Json& w : json.at("writes")) {
      ENTENTE_ASSIGN_OR_RETURN(WriteDelivery write, WriteFromJson(w, record.tx_id));
      record.writes.push_back(std::move(write));
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("a delivery record does not parse: ") + e.what());
  }
  return record;
}

std::string DeliveryKey(std::string_view tx_id) { return kDeliveryPrefix + std::string(tx_id); }

std::vector<adapters::CrossChainWrite> ExternalWrites(const std::string& tx_id, const ledger::RwSet& rwset,
                                                      const std::set<std::string>& external) {
  std::vector<adapters::CrossChainWrite> writes;
  for (const ledger::NamespaceRwSet& ns : rwset.namespaces) {
    if (external.count(ns.channel) == 0) continue;
    for (const ledger::KeyWrite& w : ns.writes) {
      adapters::CrossChainWrite write{tx_id, ns.channel, ns.contract, w.key, w.value, w.is_delete};
      auto read = std::find_if(ns.reads.begin(), ns.reads.end(), [&](const ledger::KeyRead& r) { return r.key == w.key; });
      if (read != ns.reads.end()) {
        write.check_version = true;
        write.expected_version = read->version;
      }
      writes.push_back(std::move(write));
    }
  }
  return writes;
}

Deliveries::Deliveries(ledger::Ledger& ledger, std::vector<std::shared_ptr<adapters::ChainAdapter>> adapters,
                       Options options)
    : ledger_(ledger), options_(options), logger_(Logger("delivery")) {
  for (auto& adapter : adapters) {
    if (adapter) adapters_.emplace(adapter->chain(), std::move(adapter));
  }
}

Deliveries::~Deliveries() { Stop(); }

Status Deliveries::Start() {
  ENTENTE_ASSIGN_OR_RETURN(ledger::MetaEntries stored, ledger_.ScanMeta(kDeliveryPrefix));
  std::vector<DeliveryRecord> pending;
  for (const auto& [key, value] : stored) {
    ENTENTE_ASSIGN_OR_RETURN(Json json, ParseJson(ToString(value)));
    ENTENTE_ASSIGN_OR_RETURN(DeliveryRecord record, DeliveryRecord::FromJson(json));
    if (record.State() == WriteDelivery::State::kPending) pending.push_back(std::move(record));
  }
  // In log order, as they were first queued.
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.sequence < b.sequence; });
  if (!pending.empty()) logger_->info("resuming {} pending deliveries", pending.size());
  Enqueue(std::move(pending));
  worker_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Deliveries::Enqueue(std::vector<DeliveryRecord> records) {
  if (records.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (auto& r : records) queue_.push_back(std::move(r));
  }
  cv_.notify_all();
}

Result<std::optional<DeliveryRecord>> Deliveries::Find(std::string_view tx_id) const {
  ENTENTE_ASSIGN_OR_RETURN(std::optional<Bytes> stored, ledger_.GetMeta(DeliveryKey(tx_id)));
  if (!stored) return std::optional<DeliveryRecord>();
  ENTENTE_ASSIGN_OR_RETURN(Json json, ParseJson(ToString(*stored)));
  ENTENTE_ASSIGN_OR_RETURN(DeliveryRecord record, DeliveryRecord::FromJson(json));
  return std::optional<DeliveryRecord>(std::move(record));
}

Result<std::vector<DeliveryRecord>> Deliveries::List() const {
  ENTENTE_ASSIGN_OR_RETURN(ledger::MetaEntries stored, ledger_.ScanMeta(kDeliveryPrefix));
  std::vector<DeliveryRecord> records;
  records.reserve(stored.size());
  for (const auto& [key, value] : stored) {
    ENTENTE_ASSIGN_OR_RETURN(Json json, ParseJson(ToString(value)));
    ENTENTE_ASSIGN_OR_RETURN(DeliveryRecord record, DeliveryRecord::FromJson(json));
    records.push_back(std::move(record));
  }
  return records;
}

void Deliveries::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool Deliveries::Attempt(DeliveryRecord& record) {
  ++record.attempts;
  bool pending = false;
  for (WriteDelivery& d : record.writes) {
    if (d.state != WriteDelivery::State::kPending) continue;
    auto adapter = adapters_.find(d.write.channel);
    if (adapter == adapters_.end()) {
      d.detail = "no adapter for chain " + d.write.channel + " is configured at the relay";
      pending = true;
      continue;
    }
    Result<adapters::Receipt> receipt = adapter->second->Deliver(d.write);
    if (receipt.ok()) {
      d.state = WriteDelivery::State::kDelivered;
      d.applied = receipt->applied;
      d.detail = receipt->detail;
      d.receipt = receipt->evidence;
    } else if (receipt.status().code() == StatusCode::kUnavailable) {
      d.detail = receipt.status().message();
      pending = true;
    } else {
      d.state = WriteDelivery::State::kFailed;
      d.detail = receipt.status().message();
      logger_->warn("delivery of {} to {} failed: {}", record.tx_id, d.write.channel, d.detail);
    }
  }
  Status s = ledger_.PutMeta({{DeliveryKey(record.tx_id), RecordBytes(record)}});
  if (!s.ok()) logger_->error("cannot record the delivery state of {}: {}", record.tx_id, s.ToString());
  return pending;
}

bool Deliveries::Adopt(DeliveryRecord& record) {
  if (!options_.settled_elsewhere) return false;
  std::optional<Json> settled = options_.settled_elsewhere(record.tx_id);
  if (!settled) return false;
  // Another relay's record: only the states of the very writes this relay holds are taken.
  auto theirs = DeliveryRecord::FromJson(*settled);
  if (!theirs.ok() || theirs->tx_id != record.tx_id || theirs->writes.size() != record.writes.size()) {
    logger_->warn("another relay's delivery record of {} does not match this relay's; ignored", record.tx_id);
    return false;
  }
  for (std::size_t i = 0; i < record.writes.size(); ++i) {
    const WriteDelivery& w = theirs->writes[i];
    const adapters::CrossChainWrite& mine = record.writes[i].write;
    if (w.write.channel != mine.channel || w.write.contract != mine.contract || w.write.key != mine.key ||
        w.state == WriteDelivery::State::kPending) {
      logger_->warn("another relay's delivery record of {} does not match this relay's; ignored", record.tx_id);
      return false;
    }
  }
  for (std::size_t i = 0; i < record.writes.size(); ++i) {
    record.writes[i].state = theirs->writes[i].state;
    record.writes[i].applied = theirs->writes[i].applied;
    record.writes[i].detail = theirs->writes[i].detail.substr(0, 1024);
    // Another member's relay says so: its receipt is kept as its claim, within a bound.
    const Json& receipt = theirs->writes[i].receipt;
    record.writes[i].receipt = DumpJson(receipt).size() <= 4096 ? receipt : Json::object();
  }
  record.attempts = theirs->attempts;
  Status s = ledger_.PutMeta({{DeliveryKey(record.tx_id), RecordBytes(record)}});
  if (!s.ok()) logger_->error("cannot record the delivery state of {}: {}", record.tx_id, s.ToString());
  return true;
}

void Deliveries::Run() {
  std::chrono::milliseconds backoff = options_.backoff;
  for (;;) {
    DeliveryRecord record;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      record = std::move(queue_.front());
      queue_.pop_front();
    }
    if (options_.may_deliver && !options_.may_deliver()) {
      // Another relay delivers: take its outcome once it is there; until then wait, in order.
      if (Adopt(record)) continue;
      std::unique_lock lock(mu_);
      queue_.push_front(std::move(record));
      cv_.wait_for(lock, options_.backoff, [&] { return stopping_; });
      if (stopping_) return;
      continue;
    }
    if (!Attempt(record)) {
      if (options_.settled) options_.settled(record);
      backoff = options_.backoff;
      continue;
    }
    // Still pending: the chain is unreachable. Keep the order (this record first) and wait.
    logger_->info("delivery of {} is pending ({} attempts); retrying in {} ms", record.tx_id, record.attempts,
                  backoff.count());
    std::unique_lock lock(mu_);
    queue_.push_front(std::move(record));
    cv_.wait_for(lock, backoff, [&] { return stopping_; });
    if (stopping_) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace entente::relay::internal
