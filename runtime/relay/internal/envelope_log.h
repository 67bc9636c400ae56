// The relay's accepted-envelope log: segment files `envelopes-<first sequence number, 20 digits>.log` in
// the relay's data directory, each an append-only run of records [length u32][check u32][bytes], where
// check is the first four bytes of the SHA-256 of the bytes. A record's sequence number is its
// segment's first number plus its position there: the relay's total order. Appends are made durable by
// group commit: a writer thread writes every record appended since its last round with one write and
// one fdatasync, and Sync(seq) returns once record seq is on disk. Past `segment_bytes` the writer
// starts a new segment; DropSettled deletes the segments whose every record a block or a rejection
// holds already, so the log on disk (and what a restart reads) is bounded by what is unsettled. A failed
// write leaves the log failed: every later Append and Sync returns that error (a restart cuts the torn
// end). Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"

namespace entente::relay::internal {

class EnvelopeLog {
 public:
  // Opens the log in directory `dir` (creating its first segment, and syncing the directory, when there
  // is none; a single `envelopes.log` of an earlier version becomes the first segment) and calls
  // `replay(seq, bytes)` for every record in order, reading one segment at a time. A torn end of the
  // last segment (a crash during an append, never acknowledged: no whole record follows the damage) is
  // cut off; damage followed by any whole record, or in any earlier segment, or a gap between segments,
  // is Corruption naming the segment and the damaged record's offset, and nothing is cut.
  static Result<std::unique_ptr<EnvelopeLog>> Open(const std::string& dir, std::uint64_t segment_bytes,
                                                   const std::function<void(std::uint64_t, ByteView)>& replay);
  ~EnvelopeLog();  // writes what is pending, then stops the writer

  // Appends a record for `bytes`, whose SHA-256 is `sha256`, and returns its sequence number; it is
  // durable only once Sync(seq) returns OK.
  Result<std::uint64_t> Append(ByteView bytes, const crypto::Digest& sha256);
  // Returns once record `seq` is on disk; the log's failure otherwise.
  Status Sync(std::uint64_t seq);
  // Deletes the segments (but the one being written) whose records all have sequence numbers below
  // `settled`; returns how many it deleted, or the error of the first it could not.
  Result<std::size_t> DropSettled(std::uint64_t settled);
  std::uint64_t size() const;  // the sequence number the next record gets
  std::size_t segments() const;  // segment files on disk

 private:
  struct Segment {
    std::uint64_t first;  // sequence number of its first record
    std::string path;
  };
  EnvelopeLog(std::string dir, std::uint64_t segment_bytes, std::vector<Segment> segments, int fd,
              std::uint64_t active_bytes, std::uint64_t records);
  void WriteLoop();
  // Starts segment `first` and makes it the one written. Writer thread only.
  Status Roll(std::uint64_t first);

  const std::string dir_;
  const std::uint64_t segment_bytes_;
  std::vector<Segment> segments_;  // in order; the last is written; GUARDED_BY(mu_)
  int fd_;                         // of the last segment; writer thread only (and the destructor)
  std::uint64_t active_bytes_;     // bytes of the last segment; writer thread only
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
