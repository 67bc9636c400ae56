// The relay's accepted-envelope log: an append-only file of records [length u32][check u32][bytes],
// where check is the first four bytes of the SHA-256 of the bytes. A record's sequence number is its
// position in the file (0, 1, ...), which is the relay's total order. Appends are made durable by
// group commit: Sync(seq) returns once every record up to seq is on disk, sharing one fdatasync among
// the callers waiting at the same time. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

namespace entente::relay::internal {

class EnvelopeLog {
 public:
  // Opens (creating) the log at `path` and calls `replay(seq, bytes)` for every record in order. A
  // torn or damaged record at the end (a crash during an append, never acknowledged) is cut off;
  // damage before the last record is Corruption naming the record's offset.
  static Result<std::unique_ptr<EnvelopeLog>> Open(const std::string& path,
                                                   const std::function<void(std::uint64_t, ByteView)>& replay);
  ~EnvelopeLog();

  // Appends a record and returns its sequence number; it is durable only after Sync.
  Result<std::uint64_t> Append(ByteView bytes);
  // Returns once every record up to `seq` is on disk.
  Status Sync(std::uint64_t seq);
  std::uint64_t size() const;  // the number of records

 private:
  EnvelopeLog(int fd, std::uint64_t records);

  int fd_;
  mutable std::mutex append_mu_;
  std::uint64_t records_;  // GUARDED_BY(append_mu_)
  std::mutex sync_mu_;
  std::uint64_t durable_ = 0;  // records on disk; GUARDED_BY(sync_mu_)
};

}  // namespace entente::relay::internal
