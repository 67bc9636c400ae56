// The ordered log of replicated relays on etcd (DESIGN.md §11). Each relay appends the envelopes it
// accepted as one batch key `<prefix>/log/<relay>/<seq, 20 digits>`, written only if absent, so that a
// retry after a lost answer writes nothing twice. Every relay reads every batch in etcd's revision
// order: (revision, index in batch) is the alliance's total order, the same for all. A batch value is
// binary: "EBT1", a cut flag (the appender had nothing else pending: cut a block after it), the
// appender's time in milliseconds (blocks take their timestamps from the log), and the envelopes, each
// with a u32 big-endian length. Values come from other members' relays, so they are hostile until
// decoded: a value that does not decode is a batch with a reason and no envelopes, the same at every
// reader. Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"
#include "runtime/etcd/etcd.h"

namespace entente::relay::internal {

// Batches stay within etcd's default request limit (1.5 MiB) after the gateway's base64.
inline constexpr std::size_t kMaxBatchBytes = 256 << 10;

struct Batch {
  std::string relay;          // who appended it (from its key)
  std::uint64_t seq = 0;      // its number among that relay's batches
  std::int64_t revision = 0;  // where etcd ordered it
  bool cut_after = false;
  std::int64_t time_ms = 0;
  std::vector<Bytes> envelopes;
  std::string malformed;      // why the value did not decode ("" when it did)
};

// The value of a batch; InvalidArgument when it would exceed kMaxBatchBytes.
Result<Bytes> EncodeBatch(const std::vector<Bytes>& envelopes, bool cut_after, std::int64_t time_ms);
// Decodes `value` into `batch` (its envelopes, flag and time), or sets batch.malformed saying why.
void DecodeBatch(ByteView value, Batch& batch);

class BatchLog {
 public:
  // `client` outlives the log; `prefix` is the alliance's key prefix; `relay` this relay's id.
  BatchLog(etcd::Client& client, std::string prefix, std::string relay);

  // Appends batch `seq` of this relay. Returns the revision etcd ordered it at, also when an earlier
  // try whose answer was lost wrote it (nothing is written twice); nullopt when batch `seq` holds
  // another value (another writer took the key: the caller appends as the next seq). InvalidArgument
  // past kMaxBatchBytes.
  Result<std::optional<std::int64_t>> Append(std::uint64_t seq, const std::vector<Bytes>& envelopes, bool cut_after,
                                             std::int64_t time_ms);
  // The number of this relay's next batch: one past its highest batch key (0 for none).
  Result<std::uint64_t> NextSeq();
  // Hands every batch of every relay from `revision` on to `on_batch`, in order, until it returns
  // false or `duration` passed; returns the revision to read from next. FailedPrecondition when
  // `revision` was compacted away.
  Result<std::int64_t> Read(std::int64_t revision, const std::function<bool(const Batch&)>& on_batch,
                            std::chrono::milliseconds duration);

  // The key of batch `seq` of `relay`.
  std::string KeyOf(const std::string& relay, std::uint64_t seq) const;

 private:
  etcd::Client& client_;
  const std::string prefix_;
  const std::string relay_;
};

}  // namespace entente::relay::internal
