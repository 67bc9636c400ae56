// BlockFile: a ledger's blocks, appended to one file beside its LevelDB index. A block's bytes are
// written and fdatasync'ed before the synced LevelDB batch that indexes them (and records the file's
// new end) commits, so a crash leaves at most an unindexed tail, which Open cuts off. LevelDB keeps
// only where each block is: blocks are most of a ledger's bytes, and in LevelDB every byte of them
// went through its log, its memtable and its compactions again.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"
#include "runtime/ledger/ledger.h"

namespace entente::ledger::internal {

class BlockFile {
 public:
  // Opens (creating, mode 0600) the file at `path`, whose indexed blocks end at `end`: cuts off what
  // lies beyond (a block written before a crash, never indexed); Corruption when the file is shorter.
  static Result<std::unique_ptr<BlockFile>> Open(const std::string& path, std::uint64_t end);
  ~BlockFile();
  BlockFile(const BlockFile&) = delete;
  BlockFile& operator=(const BlockFile&) = delete;

  // Writes `bytes` at the end and syncs them; returns their offset. The end moves only with
  // Committed, so bytes whose index did not commit are written over by the next block.
  Result<std::uint64_t> Write(ByteView bytes);
  // The index of the bytes written at `offset` with `length` committed: the file ends after them now.
  void Committed(std::uint64_t offset, std::uint64_t length);
  // Returns the `length` bytes at `offset`; Corruption when they lie beyond what was written (a
  // damaged location, refused before anything is allocated for it) or the file does not hold them.
  Result<Bytes> Read(std::uint64_t offset, std::uint64_t length) const;

 private:
  BlockFile(std::string path, int fd, std::uint64_t end)
      : path_(std::move(path)), fd_(fd), end_(end), written_(end) {}
  const std::string path_;
  const int fd_;
  mutable std::mutex mu_;
  std::uint64_t end_;      // GUARDED_BY(mu_): where the next block goes
  std::uint64_t written_;  // GUARDED_BY(mu_): how far the file holds synced bytes (an index may point
                           // at a block written and not yet Committed here)
};

// Where a block is in the block file, and the SHA-256 of its header and metadata (the data hash
// covers its envelopes), as the index stores it.
struct BlockLocation {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  Hash head_digest{};
};
std::string EncodeBlockLocation(const BlockLocation& location);
Result<BlockLocation> DecodeBlockLocation(std::string_view data);

}  // namespace entente::ledger::internal
