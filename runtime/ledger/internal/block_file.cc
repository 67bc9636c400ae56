#include "runtime/ledger/internal/block_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "runtime/ledger/internal/encoding.h"

namespace entente::ledger::internal {
namespace {

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

// Makes a new file's directory entry durable.
Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("cannot sync " + dir);
}

}  // namespace

Result<std::unique_ptr<BlockFile>> BlockFile::Open(const std::string& path, std::uint64_t end) {
  const bool existed = std::filesystem::exists(path);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open " + path);
  std::unique_ptr<BlockFile> file(new BlockFile(path, fd, end));
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Errno("cannot stat " + path);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < end) {
    return Status::Corruption(path + " holds " + std::to_string(size) + " bytes, but the index places blocks up to " +
                              std::to_string(end));
  }
  if (size > end) {
    if (::ftruncate(fd, static_cast<off_t>(end)) != 0 || ::fdatasync(fd) != 0) return Errno("cannot cut " + path);
  }
  if (!existed) ENTENTE_RETURN_IF_ERROR(SyncDirectory(std::filesystem::path(path).parent_path().string()));
  return file;
}

BlockFile::~BlockFile() { ::close(fd_); }

Result<std::uint64_t> BlockFile::Write(ByteView bytes) {
  std::lock_guard lock(mu_);
  const std::uint64_t offset = end_;
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("cannot write a block to " + path_);
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return Errno("cannot sync " + path_);
  written_ = std::max(written_, offset + bytes.size());
  return offset;
}

void BlockFile::Committed(std::uint64_t offset, std::uint64_t length) {
  std::lock_guard lock(mu_);
  end_ = std::max(end_, offset + length);
}

Result<Bytes> BlockFile::Read(std::uint64_t offset, std::uint64_t length) const {
  {
    // A damaged location must not make a huge allocation: nothing lies beyond what was written.
    std::lock_guard lock(mu_);
    if (offset > written_ || length > written_ - offset) {
      return Status::Corruption(path_ + " has no " + std::to_string(length) + " bytes at offset " +
                                std::to_string(offset) + ": its blocks end at " + std::to_string(written_));
    }
  }
  Bytes out(length);
  std::size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read " + path_);
    if (n == 0) {
      return Status::Corruption(path_ + " ends before the " + std::to_string(length) + " bytes at offset " +
                                std::to_string(offset));
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

std::string EncodeBlockLocation(const BlockLocation& location) {
  std::string out;
  AppendUint64(out, location.offset);
  AppendUint64(out, location.length);
  out.append(reinterpret_cast<const char*>(location.head_digest.data()), location.head_digest.size());
  return out;
}

Result<BlockLocation> DecodeBlockLocation(std::string_view data) {
  if (data.size() != 48) return Status::Corruption("block location: " + std::to_string(data.size()) + " bytes, not 48");
  BlockLocation location;
  location.offset = ReadUint64(data.substr(0, 8));
  location.length = ReadUint64(data.substr(8, 8));
  std::memcpy(location.head_digest.data(), data.data() + 16, 32);
  return location;
}

}  // namespace entente::ledger::internal
