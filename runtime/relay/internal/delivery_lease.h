// The replicated relays' delivery lease (docs/relay.md): one relay at a time delivers the alliance's
// writes to chains reached through adapters. A relay takes `<prefix>/delivery/lease` (written only if
// absent, under an etcd lease of `ttl`) and keeps it alive; when that relay dies, the key expires and
// another takes it over, delivering again what was pending (the adapters apply a transaction's write
// once). The holder publishes each record it settled at `<prefix>/delivery/done/<tx id>`, which the
// others adopt instead of delivering. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "runtime/common/json.h"
#include "runtime/common/status.h"
#include "runtime/etcd/etcd.h"
#include "runtime/relay/internal/delivery.h"

namespace entente::relay::internal {

class DeliveryLease {
 public:
  static Result<std::unique_ptr<DeliveryLease>> Open(etcd::ClientOptions client, std::string prefix, std::string relay,
                                                    std::chrono::seconds ttl = std::chrono::seconds(5));
  ~DeliveryLease();  // Stop()s
  DeliveryLease(const DeliveryLease&) = delete;
  DeliveryLease& operator=(const DeliveryLease&) = delete;

  // Whether this relay holds the lease now.
  bool held() const;
  // The record the holder published for `tx_id`; nullopt while there is none (or etcd cannot say).
  std::optional<Json> SettledElsewhere(const std::string& tx_id) const;
  // Publishes `record`, which this relay settled (best effort: a relay that misses it delivers again
  // once it holds the lease).
  void Settled(const DeliveryRecord& record) const;
  void Stop();

 private:
  struct Impl;
  explicit DeliveryLease(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace entente::relay::internal
