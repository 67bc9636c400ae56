#include "runtime/relay/internal/envelope_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

}  // namespace

Result<std::unique_ptr<EnvelopeLog>> EnvelopeLog::Open(const std::string& path,
                                                       const std::function<void(std::uint64_t, ByteView)>& replay) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
    bool whole = data.size() - offset >= kHeader;
    std::uint32_t length = whole ? GetU32(&data[offset]) : 0;
    whole = whole && length <= kMaxRecord && data.size() - offset - kHeader >= length;
    ByteView bytes = whole ? ByteView(&data[offset + kHeader], length) : ByteView();
    if (!whole || Check(bytes) != GetU32(&data[offset + 4])) {
      if (whole && offset + kHeader + length < data.size()) {
        ::close(fd);
        return Status::Corruption(path + ": record " + std::to_string(records) + " at offset " +
                                  std::to_string(offset) + " is damaged");
      }
      break;  // a torn last record: cut it off
    }
    replay(records++, bytes);
    offset += kHeader + length;
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

EnvelopeLog::EnvelopeLog(int fd, std::uint64_t records) : fd_(fd), records_(records), durable_(records) {}

EnvelopeLog::~EnvelopeLog() { ::close(fd_); }

Result<std::uint64_t> EnvelopeLog::Append(ByteView bytes) {
  if (bytes.size() > kMaxRecord) return Status::InvalidArgument("envelope larger than 64 MiB");
  Bytes record(kHeader + bytes.size());
  PutU32(record.data(), static_cast<std::uint32_t>(bytes.size()));
  PutU32(record.data() + 4, Check(bytes));
  std::memcpy(record.data() + kHeader, bytes.data(), bytes.size());
  std::lock_guard lock(append_mu_);
  std::size_t written = 0;
  while (written < record.size()) {
    ssize_t n = ::write(fd_, record.data() + written, record.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Leave no partial record behind for the next append to follow.
      off_t end = ::lseek(fd_, -static_cast<off_t>(written), SEEK_CUR);
      if (end >= 0 && ::ftruncate(fd_, end) != 0) return Errno("envelope log damaged by a failed append");
      return Errno("cannot append to the envelope log");
    }
    written += static_cast<std::size_t>(n);
  }
  return records_++;
}

Status EnvelopeLog::Sync(std::uint64_t seq) {
  std::lock_guard lock(sync_mu_);
  if (durable_ > seq) return Status::Ok();
  std::uint64_t target;
  {
    std::lock_guard append_lock(append_mu_);
    target = records_;
  }
  if (::fdatasync(fd_) != 0) return Errno("cannot sync the envelope log");
  durable_ = target;
  return Status::Ok();
}

std::uint64_t EnvelopeLog::size() const {
  std::lock_guard lock(append_mu_);
  return records_;
}

}  // namespace entente::relay::internal
