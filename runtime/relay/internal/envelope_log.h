// The relay's accepted-envelope log: an append-only file of records [length u32][check u32][bytes],
// where check is the first four bytes of the SHA-256 of the bytes. A record's sequence number is its
// position in the file (0, 1, ...), which is the relay's total order. Appends are made durable by
// group commit: a writer thread writes every record appended since its last round with one write and
// one fdatasync, and Sync(seq) returns once record seq is on disk. A failed write leaves the log
// failed: every later Append and Sync returns that error (a restart cuts the torn end). Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"

namespace entente::relay::internal {

class EnvelopeLog {
 public:
  // Opens (creating, and syncing its directory) the log at `path` and calls `replay(seq, bytes)` for
  // every record in order. A torn end (a crash during an append, never acknowledged: no whole record
  // follows the damage) is cut off; damage followed by any whole record is Corruption naming the
  // damaged record's offset, and nothing is cut.
  static Result<std::unique_ptr<EnvelopeLog>> Open(const std::string& path,
                                                   const std::function<void(std::uint64_t, ByteView)>& replay);
  ~EnvelopeLog();  // writes what is pending, then stops the writer

  // Appends a record for `bytes`, whose SHA-256 is `sha256`, and returns its sequence number; it is
  // durable only once Sync(seq) returns OK.
  Result<std::uint64_t> Append(ByteView bytes, const crypto::Digest& sha256);
  // Returns once record `seq` is on disk; the log's failure otherwise.
  Status Sync(std::uint64_t seq);
  std::uint64_t size() const;  // the number of records appended

 private:
  EnvelopeLog(int fd, std::uint64_t records);
  void WriteLoop();

  int fd_;
  mutable std::mutex mu_;
  std::condition_variable pending_cv_;  // the writer waits for records
  std::condition_variable durable_cv_;  // Sync waits for the writer
  Bytes pending_;            // appended records not yet written; GUARDED_BY(mu_)
  std::uint64_t records_;    // GUARDED_BY(mu_)
  std::uint64_t durable_;    // records on disk; GUARDED_BY(mu_)
  Status failed_;            // GUARDED_BY(mu_)
  bool stopping_ = false;    // GUARDED_BY(mu_)
  std::thread writer_;
};

}  // namespace entente::relay::internal
