#include "runtime/relay/internal/compactor.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/common/log.h"

namespace entente::relay::internal {
namespace {

// Keys deleted per etcd transaction (its default limit of operations).
constexpr std::size_t kDeletesPerTxn = 128;

std::string CompactedKey(const std::string& prefix) { return prefix + "/compacted"; }

}  // namespace

Result<std::int64_t> CompactedRevision(etcd::Client& client, const std::string& prefix) {
  ENTENTE_ASSIGN_OR_RETURN(etcd::RangeResult found, client.Range({CompactedKey(prefix)}));
  if (found.kvs.empty()) return 0;
  std::string text = ToString(found.kvs[0].value);
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Corruption("etcd's " + CompactedKey(prefix) + " holds no revision ('" + text.substr(0, 40) + "')");
  }
  return static_cast<std::int64_t>(std::stoll(text));
}

struct Compactor::Impl {
  CompactionOptions options;
  std::function<std::int64_t()> applied;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<etcd::Client> client;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // GUARDED_BY(mu)
  std::int64_t lease = 0;
  std::atomic<std::int64_t> last_compacted{0};
  int compactions = 0;
  std::thread thread;

  // Announces this relay's applied revision under its lease.
  Status Announce() {
    if (lease != 0) {
      Status alive = client->KeepAlive(lease);
      if (alive.code() == StatusCode::kNotFound) lease = 0;
      else if (!alive.ok()) return alive;
    }
    if (lease == 0) {
      ENTENTE_ASSIGN_OR_RETURN(lease, client->GrantLease(options.lease_seconds));
    }
    return client->Put(options.prefix + "/applied/" + options.relay, ToBytes(std::to_string(applied())), lease).status();
  }

  // Deletes every key under `prefix` written before `revision`, in transactions of kDeletesPerTxn.
  Result<std::size_t> DeleteBefore(const std::string& prefix, std::int64_t revision) {
    etcd::RangeRequest old{prefix, etcd::PrefixEnd(prefix)};
    old.max_mod_revision = revision - 1;
    old.keys_only = true;
    ENTENTE_ASSIGN_OR_RETURN(etcd::RangeResult found, client->Range(old));
    std::vector<std::string> keys;
    for (const etcd::KeyValue& kv : found.kvs) {
      if (kv.mod_revision < revision) keys.push_back(kv.key);
    }
    for (std::size_t at = 0; at < keys.size(); at += kDeletesPerTxn) {
      std::vector<std::string> part(keys.begin() + static_cast<std::ptrdiff_t>(at),
                                    keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), at + kDeletesPerTxn)));
      ENTENTE_RETURN_IF_ERROR(client->DeleteKeys(part));
    }
    return keys.size();
  }

  // One round: announce; when this relay compacts, delete what every live relay is past and compact.
  Status Round() {
    ENTENTE_RETURN_IF_ERROR(Announce());
    const std::string announced = options.prefix + "/applied/";
    ENTENTE_ASSIGN_OR_RETURN(etcd::RangeResult live, client->Range({announced, etcd::PrefixEnd(announced)}));
    std::int64_t point = live.revision - options.retention;
    std::string first = options.relay;
    for (const etcd::KeyValue& kv : live.kvs) {
      std::string relay = kv.key.substr(announced.size());
      first = std::min(first, relay);
      std::string text = ToString(kv.value);
      if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) {
        return Status::FailedPrecondition("relay " + relay + " announces no revision ('" + text + "'): not compacting");
      }
      point = std::min(point, static_cast<std::int64_t>(std::stoll(text)));
    }
    if (first != options.relay || point <= 1) return Status::Ok();
    // Recorded before anything goes, so that a relay that needs what goes knows to catch up.
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t recorded, CompactedRevision(*client, options.prefix));
    if (point < recorded || point <= last_compacted.load()) return Status::Ok();
    if (point > recorded) {
      ENTENTE_RETURN_IF_ERROR(client->Put(CompactedKey(options.prefix), ToBytes(std::to_string(point))).status());
    }
    ENTENTE_ASSIGN_OR_RETURN(std::size_t batches, DeleteBefore(options.prefix + "/log/", point));
    ENTENTE_ASSIGN_OR_RETURN(std::size_t signatures, DeleteBefore(options.prefix + "/sig/", point));
    ENTENTE_RETURN_IF_ERROR(client->Compact(point));
    last_compacted = point;
    logger->info("compacted the ordered log at revision {}: {} batches and {} signatures deleted", point, batches,
                 signatures);
    if (++compactions % 10 == 0) {
      Status defragmented = client->Defragment();
      if (!defragmented.ok()) logger->warn("{}", defragmented.ToString());
    }
    return Status::Ok();
  }

  void Loop() {
    for (;;) {
      Status round = Round();
      if (!round.ok()) logger->warn("compacting the ordered log: {}", round.ToString());
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, options.interval, [&] { return stopping; })) return;
    }
  }
};

Compactor::Compactor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Compactor::~Compactor() { Stop(); }

Result<std::unique_ptr<Compactor>> Compactor::Open(CompactionOptions options, std::function<std::int64_t()> applied) {
  auto impl = std::make_unique<Impl>();
  impl->logger = Logger("relay");
  ENTENTE_ASSIGN_OR_RETURN(impl->client, etcd::Client::Create(options.client));
  impl->options = std::move(options);
  impl->applied = std::move(applied);
  // Where the last compaction stands, so that it is not tried again at the same revision.
  auto recorded = CompactedRevision(*impl->client, impl->options.prefix);
  if (recorded.ok()) impl->last_compacted = *recorded;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<Compactor>(new Compactor(std::move(impl)));
}

std::int64_t Compactor::compacted() const { return impl_->last_compacted.load(); }

void Compactor::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  // The lease is left to expire: a relay that restarts at once still counts as live meanwhile.
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace entente::relay::internal
