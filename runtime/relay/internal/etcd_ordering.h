// The replicated relays' ordering on etcd (DESIGN.md §11): appends the envelopes this relay accepted
// as batches of the BatchLog and reads every relay's batches back, in the log's order, as entries
// with a position the same at every relay. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"
#include "runtime/etcd/etcd.h"

namespace entente::relay::internal {

struct OrderingOptions {
  etcd::ClientOptions client;
  std::string prefix;  // the alliance's key prefix, e.g. "/entente/demo"
  std::string relay;   // this relay's id
  // How long Append waits for etcd to acknowledge a batch before it answers Unavailable.
  std::chrono::milliseconds append_timeout{1800};
  // Envelopes waiting to be appended; past it Append answers ResourceExhausted.
  std::size_t max_pending = 10000;
  // Marks a batch cut-after when nothing else waits to be appended (BlockCutting::cut_when_idle).
  bool cut_when_idle = true;
};

// Bits of a position that number an envelope within its batch: a batch of kMaxBatchBytes holds fewer.
inline constexpr int kIndexBits = 20;
// Where an envelope stands in the alliance's order: (revision, index in batch) as one number.
inline std::uint64_t PositionOf(std::int64_t revision, std::size_t index) {
  return (static_cast<std::uint64_t>(revision) << kIndexBits) | index;
}
inline std::int64_t RevisionOf(std::uint64_t position) { return static_cast<std::int64_t>(position >> kIndexBits); }

// The largest envelope a batch holds alone.
std::size_t MaxEnvelopeBytes();

// One entry of the ordered log as the relay's pipeline takes it.
struct LogEntry {
  std::uint64_t position = 0;  // PositionOf(revision, index); an empty batch has index 0
  std::int64_t time_ms = 0;    // the batch's time: the entry's time for validation and blocks
  bool cut_after = false;      // the last entry of a batch marked cut-after: cut every block pending
  std::optional<Bytes> envelope;  // nullopt for an empty batch (a cut marker) or a malformed one
  std::string relay;              // who appended it
};

class EtcdOrdering {
 public:
  // Calls `on_entry` on the reader thread, in log order, for each entry from `resume_revision` on (1:
  // the log's start); it may block to hold the reader back and returns false once the relay stops.
  // `on_failure` is called once when the log cannot be read on (compacted past where this relay stands).
  struct Callbacks {
    std::function<bool(LogEntry)> on_entry;
    std::function<void(Status)> on_failure;
  };
  // Connects to etcd and finds this relay's next batch number; Start() starts appending and reading.
  static Result<std::unique_ptr<EtcdOrdering>> Open(OrderingOptions options, std::int64_t resume_revision,
                                                   Callbacks callbacks);
  void Start();
  ~EtcdOrdering();  // Stop()s
  EtcdOrdering(const EtcdOrdering&) = delete;
  EtcdOrdering& operator=(const EtcdOrdering&) = delete;

  // Appends `envelope` to this relay's next batch; returns its position once etcd acknowledged the
  // batch (a quorum of its members holds it). InvalidArgument past MaxEnvelopeBytes; ResourceExhausted
  // when max_pending envelopes wait; Unavailable (saying why) when etcd did not acknowledge within
  // append_timeout: the batch may still land, and is then ordered like any other.
  Result<std::uint64_t> Append(Bytes envelope);
  // Appends an empty batch marked cut-after (a cut marker) without waiting, unless a batch is pending.
  void RequestCut();
  // The etcd errors seen so far and the last one ("" when none), for metrics and health.
  std::uint64_t errors() const;
  std::string last_error() const;
  // The revision the reader has read up to (exclusive).
  std::int64_t read_revision() const;
  // Batches etcd acknowledged, and the seconds their appends took in all.
  std::uint64_t appends() const;
  double append_seconds() const;
  void Stop();

 private:
  struct Impl;
  explicit EtcdOrdering(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace entente::relay::internal
