// Bounded storage of the replicated relays' log on etcd (docs/relay.md). Every relay announces, under a
// lease, the revision before which it needs nothing more of the log (`<prefix>/applied/<relay>`); the
// live relay with the smallest id deletes the batches and block signatures written before
// min(every live relay's revision, head - retention), compacts etcd's history there and, every tenth
// time, defragments the members. It records that revision at `<prefix>/compacted` first. A relay that
// was down longer than its lease is not waited for; if it comes back after the log it needs was
// compacted, it catches up from its peers' certified blocks (catch_up.cc). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/common/status.h"
#include "runtime/etcd/etcd.h"

namespace entente::relay::internal {

struct CompactionOptions {
  etcd::ClientOptions client;
  std::string prefix;
  std::string relay;
  std::chrono::milliseconds interval{10000};  // between announcements (and compactions)
  std::int64_t retention = 100000;            // revisions kept behind the head for relays that are down
  std::int64_t lease_seconds = 30;            // how long a silent relay still counts as live
};

// The revision before which the log may be gone: the last compaction's (0 before any).
Result<std::int64_t> CompactedRevision(etcd::Client& client, const std::string& prefix);

class Compactor {
 public:
  // Starts announcing `applied()` (the revision before which this relay needs nothing more) and
  // compacting when this relay is the live one with the smallest id.
  static Result<std::unique_ptr<Compactor>> Open(CompactionOptions options, std::function<std::int64_t()> applied);
  ~Compactor();  // Stop()s
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  // The revision this relay compacted the log at last (0 before it did).
  std::int64_t compacted() const;
  void Stop();

 private:
  struct Impl;
  explicit Compactor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace entente::relay::internal
