#include "runtime/relay/internal/envelope_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "runtime/crypto/crypto.h"

namespace entente::relay::internal {
namespace {

constexpr std::size_t kHeader = 8;
constexpr std::uint32_t kMaxRecord = 64u << 20;

void PutU32(std::uint8_t* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
std::uint32_t GetU32(const std::uint8_t* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) | in[3];
}
std::uint32_t Check(ByteView bytes) { return GetU32(crypto::Sha256(bytes).data()); }

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

// The size (header included) of the whole, intact record at `offset` of `data`; nullopt when the
// bytes there are not one.
std::optional<std::size_t> RecordAt(const Bytes& data, std::size_t offset) {
  if (data.size() - offset < kHeader) return std::nullopt;
  std::uint32_t length = GetU32(&data[offset]);
  if (length > kMaxRecord || data.size() - offset - kHeader < length) return std::nullopt;
  if (Check(ByteView(&data[offset + kHeader], length)) != GetU32(&data[offset + 4])) return std::nullopt;
  return kHeader + length;
}

// The offset of the first whole record that starts after `offset`, if any.
std::optional<std::size_t> NextRecordAfter(const Bytes& data, std::size_t offset) {
  for (std::size_t at = offset + 1; at + kHeader <= data.size(); ++at) {
    if (RecordAt(data, at)) return at;
  }
  return std::nullopt;
}

// Makes the entry of a file just created in `dir` durable.
Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot sync " + dir);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<EnvelopeLog>> EnvelopeLog::Open(const std::string& path,
                                                       const std::function<void(std::uint64_t, ByteView)>& replay) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // A new log: its directory entry must be durable before any record in it is acknowledged.
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("cannot create " + path);
    std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
    if (Status synced = SyncDirectory(dir); !synced.ok()) {
      ::close(fd);
      return synced;
    }
  }
  if (fd < 0) return Errno("cannot open " + path);
  Bytes data;
  {
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) return Errno("cannot seek " + path);
    data.resize(static_cast<std::size_t>(end));
    std::size_t got = 0;
    while (got < data.size()) {
      ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
      if (n <= 0) {
        ::close(fd);
        return Errno("cannot read " + path);
      }
      got += static_cast<std::size_t>(n);
    }
  }
  std::size_t offset = 0;
  std::uint64_t records = 0;
  while (offset < data.size()) {
    std::optional<std::size_t> length = RecordAt(data, offset);
    if (!length) {
      // A crash during an append leaves a torn tail: no whole record follows it, and none of it was
      // acknowledged. A whole record after the damage means acknowledged envelopes would be lost.
      if (std::optional<std::size_t> next = NextRecordAfter(data, offset)) {
        ::close(fd);
        return Status::Corruption(path + ": record " + std::to_string(records) + " at offset " +
                                  std::to_string(offset) + " is damaged, and a whole record follows at offset " +
                                  std::to_string(*next) + "; refusing to cut acknowledged envelopes");
      }
      break;
    }
    replay(records++, ByteView(&data[offset + kHeader], *length - kHeader));
    offset += *length;
  }
  if (offset < data.size()) {
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0 || ::fdatasync(fd) != 0) {
      Status s = Errno("cannot cut the torn end of " + path);
      ::close(fd);
      return s;
    }
  }
  if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    Status s = Errno("cannot seek " + path);
    ::close(fd);
    return s;
  }
  std::unique_ptr<EnvelopeLog> log(new EnvelopeLog(fd, records));
  return log;
}

EnvelopeLog::EnvelopeLog(int fd, std::uint64_t records)
    : fd_(fd), records_(records), durable_(records), writer_([this] { WriteLoop(); }) {}

EnvelopeLog::~EnvelopeLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  pending_cv_.notify_all();
  writer_.join();
  ::close(fd_);
}

Result<std::uint64_t> EnvelopeLog::Append(ByteView bytes, const crypto::Digest& sha256) {
  if (bytes.size() > kMaxRecord) return Status::InvalidArgument("envelope larger than 64 MiB");
  std::uint8_t header[kHeader];
  PutU32(header, static_cast<std::uint32_t>(bytes.size()));
  std::copy_n(sha256.begin(), 4, header + 4);
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return failed_;
  if (stopping_) return Status::Unavailable("the envelope log is closing");
  pending_.insert(pending_.end(), header, header + kHeader);
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  pending_cv_.notify_one();
  return records_++;
}

Status EnvelopeLog::Sync(std::uint64_t seq) {
  std::unique_lock lock(mu_);
  durable_cv_.wait(lock, [&] { return durable_ > seq || !failed_.ok() || (stopping_ && pending_.empty()); });
  if (durable_ > seq) return Status::Ok();
  if (!failed_.ok()) return failed_;
  return Status::Unavailable("the envelope log closed before record " + std::to_string(seq) + " was written");
}

void EnvelopeLog::WriteLoop() {
  Bytes batch;
  for (;;) {
    std::uint64_t upto;
    {
      std::unique_lock lock(mu_);
      pending_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;
      batch.swap(pending_);
      pending_.clear();
      upto = records_;
    }
    Status status = Status::Ok();
    std::size_t written = 0;
    while (written < batch.size()) {
      ssize_t n = ::write(fd_, batch.data() + written, batch.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        status = Errno("cannot append to the envelope log");
        break;
      }
      written += static_cast<std::size_t>(n);
    }
    if (status.ok() && ::fdatasync(fd_) != 0) status = Errno("cannot sync the envelope log");
    {
      std::lock_guard lock(mu_);
      if (status.ok()) {
        durable_ = upto;
      } else {
        failed_ = status;
      }
    }
    durable_cv_.notify_all();
    if (!status.ok()) return;
  }
}

std::uint64_t EnvelopeLog::size() const {
  std::lock_guard lock(mu_);
  return records_;
}

}  // namespace entente::relay::internal
