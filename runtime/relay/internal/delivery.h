// Delivery of committed cross-chain writes to the chains the alliance reaches through adapters
// (DESIGN.md §8). A valid transaction's writes to such chains become a DeliveryRecord that the relay
// writes in the same WriteBatch as the block that commits the transaction, so an acknowledged commit
// never loses its deliveries. One worker thread delivers pending records in commit order: a write that
// the adapter reports Unavailable stays pending and is retried with exponential backoff (idempotency by
// tx id makes a retry safe); any other error marks it failed with the adapter's reason, e.g. a
// consistency failure. Every change is written to the ledger's meta store. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/adapter.h"
#include "runtime/common/json.h"
#include "runtime/ledger/ledger.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace entente::relay::internal {

// One write and where its delivery stands.
struct WriteDelivery {
  enum class State { kPending, kDelivered, kFailed };
  adapters::CrossChainWrite write;
  State state = State::kPending;
  bool applied = false;  // delivered by this delivery (false: it had been applied before)
  std::string detail;    // the chain's receipt, or why it failed (or is still pending)
  Json receipt = Json::object();  // the chain's evidence (adapters::Receipt::evidence) once delivered
};
std::string_view DeliveryStateName(WriteDelivery::State state);  // "pending", "delivered", "failed"

// A committed transaction's writes to chains reached through adapters.
struct DeliveryRecord {
  std::string tx_id;
  std::string channel;  // where the transaction committed
  std::uint64_t block = 0;
  std::uint64_t sequence = 0;  // the envelope's place in the relay's log: the order of delivery
  std::vector<WriteDelivery> writes;
  int attempts = 0;

  // Pending while any write is pending, else failed if any failed, else delivered.
  WriteDelivery::State State() const;
  // {"tx_id","channel","block","sequence","state","attempts","writes":[{"chain","contract","key","state","applied","detail",...}]}
  Json ToJson() const;
  static Result<DeliveryRecord> FromJson(const Json& json);
};

// The meta key of the record of `tx_id`.
std::string DeliveryKey(std::string_view tx_id);

// The writes of a valid transaction to chains in `external`, one per written key, each checked against
// the version the transaction read of that key there when it read it. Empty when there is none.
std::vector<adapters::CrossChainWrite> ExternalWrites(const std::string& tx_id, const ledger::RwSet& rwset,
                                                      const std::set<std::string>& external);

class Deliveries {
 public:
  struct Options {
    std::chrono::milliseconds backoff{200};  // before the first retry of an unavailable chain; doubles
    std::chrono::milliseconds max_backoff{10000};
    // Replicated relays deliver one at a time: whether this relay may deliver now (it holds the
    // delivery lease; empty: always); the final record another relay settled, which this one adopts
    // instead of delivering (nullopt while there is none); and where this relay publishes a record it
    // settled.
    std::function<bool()> may_deliver;
    std::function<std::optional<Json>(const std::string& tx_id)> settled_elsewhere;
    std::function<void(const DeliveryRecord& record)> settled;
  };

  Deliveries(ledger::Ledger& ledger, std::vector<std::shared_ptr<adapters::ChainAdapter>> adapters, Options options);
  ~Deliveries();  // Stop()s

  // Queues the pending records of the meta store (after a restart) and starts the worker.
  Status Start();
  // Queues records that were just committed.
  void Enqueue(std::vector<DeliveryRecord> records);
  // The record of `tx_id`; nullopt when it wrote no chain reached through adapters.
  Result<std::optional<DeliveryRecord>> Find(std::string_view tx_id) const;
  // Every record, in no order.
  Result<std::vector<DeliveryRecord>> List() const;
  // Stops the worker; pending records stay pending in the meta store.
  void Stop();

 private:
  void Run();
  // Tries every pending write of `record` once; returns whether any is still pending.
  bool Attempt(DeliveryRecord& record);
  // Takes the states another relay settled `record` with, when it did; returns whether it did.
  bool Adopt(DeliveryRecord& record);

  ledger::Ledger& ledger_;
  std::map<std::string, std::shared_ptr<adapters::ChainAdapter>, std::less<>> adapters_;
  const Options options_;
  std::shared_ptr<spdlog::logger> logger_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DeliveryRecord> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;             // GUARDED_BY(mu_)
  std::thread worker_;
};

}  // namespace entente::relay::internal
