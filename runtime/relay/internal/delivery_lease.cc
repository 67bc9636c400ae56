#include "runtime/relay/internal/delivery_lease.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/common/log.h"

namespace entente::relay::internal {

struct DeliveryLease::Impl {
  std::unique_ptr<etcd::Client> client;
  std::string prefix;
  std::string relay;
  std::chrono::seconds ttl{5};
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<bool> holding{false};
  std::int64_t lease = 0;  // owned by the thread
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // GUARDED_BY(mu)
  std::thread thread;

  std::string LeaseKey() const { return prefix + "/delivery/lease"; }
  std::string DoneKey(const std::string& tx_id) const { return prefix + "/delivery/done/" + tx_id; }

  // Keeps the lease alive while this relay holds it; tries to take it while nobody does.
  void Loop() {
    using Clock = std::chrono::steady_clock;
    Clock::time_point alive = Clock::now();
    for (;;) {
      if (holding) {
        Status kept = client->KeepAlive(lease);
        if (kept.ok()) {
          alive = Clock::now();
        } else if (kept.code() == StatusCode::kNotFound || Clock::now() - alive > ttl) {
          // Expired, or not renewed for a whole ttl: another relay may hold it by now.
          holding = false;
          lease = 0;
          logger->warn("lost the delivery lease ({}); another relay delivers", kept.ToString());
        }
      } else {
        Status took = Take();
        if (!took.ok()) logger->debug("cannot take the delivery lease: {}", took.ToString());
        if (holding) {
          alive = Clock::now();
          logger->info("holds the delivery lease: this relay delivers to the chains reached through adapters");
        }
      }
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, ttl / 5, [&] { return stopping; })) return;
    }
  }

  // Takes the key under a fresh lease when nobody holds it; the lease goes again when somebody does.
  Status Take() {
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t fresh, client->GrantLease(ttl.count()));
    auto written = client->PutIfAbsent(LeaseKey(), ToBytes(relay), fresh);
    if (!written.ok() || !*written) {
      (void)client->RevokeLease(fresh);
      return written.status();
    }
    lease = fresh;
    holding = true;
    return Status::Ok();
  }
};

DeliveryLease::DeliveryLease(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DeliveryLease::~DeliveryLease() { Stop(); }

Result<std::unique_ptr<DeliveryLease>> DeliveryLease::Open(etcd::ClientOptions client, std::string prefix,
                                                           std::string relay, std::chrono::seconds ttl) {
  auto impl = std::make_unique<Impl>();
  ENTENTE_ASSIGN_OR_RETURN(impl->client, etcd::Client::Create(std::move(client)));
  impl->prefix = std::move(prefix);
  impl->relay = std::move(relay);
  impl->ttl = ttl;
  impl->logger = Logger("relay");
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<DeliveryLease>(new DeliveryLease(std::move(impl)));
}

bool DeliveryLease::held() const { return impl_->holding.load(); }

std::optional<Json> DeliveryLease::SettledElsewhere(const std::string& tx_id) const {
  auto found = impl_->client->Range({impl_->DoneKey(tx_id)});
  if (!found.ok() || found->kvs.size() != 1) return std::nullopt;
  auto record = ParseJson(ToString(found->kvs[0].value));
  if (!record.ok()) return std::nullopt;
  return std::move(record).value();
}

void DeliveryLease::Settled(const DeliveryRecord& record) const {
  auto put = impl_->client->Put(impl_->DoneKey(record.tx_id), ToBytes(DumpJson(record.ToJson())));
  if (!put.ok()) impl_->logger->warn("cannot publish the delivery of {}: {}", record.tx_id, put.status().ToString());
}

void DeliveryLease::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  // A relay that stops hands the lease on at once.
  if (impl_->holding && impl_->lease != 0) (void)impl_->client->RevokeLease(impl_->lease);
  impl_->holding = false;
}

}  // namespace entente::relay::internal
