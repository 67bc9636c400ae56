#include "runtime/relay/internal/envelope_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
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

// The name of the segment whose first record is `first`.
std::string SegmentName(std::uint64_t first) {
  char name[48];
  std::snprintf(name, sizeof name, "envelopes-%020llu.log", static_cast<unsigned long long>(first));
  return name;
}

// The first sequence number a segment file's name carries; nullopt for any other name.
std::optional<std::uint64_t> SegmentFirst(const std::string& name) {
  if (name.size() != SegmentName(0).size() || !name.starts_with("envelopes-") || !name.ends_with(".log")) {
    return std::nullopt;
  }
  std::string digits = name.substr(10, 20);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(digits);
}

// Reads the whole file open at `fd`.
Result<Bytes> ReadAll(int fd, const std::string& path) {
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) return Errno("cannot seek " + path);
  Bytes data(static_cast<std::size_t>(end));
  std::size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n <= 0) return Errno("cannot read " + path);
    got += static_cast<std::size_t>(n);
  }
  return data;
}

// Creates the empty segment `first` in `dir`, its directory entry durable; returns its descriptor.
Result<int> CreateSegment(const std::string& dir, std::uint64_t first) {
  std::string path = dir + "/" + SegmentName(first);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create " + path);
  // Its directory entry must be durable before any record in it is acknowledged.
  if (Status synced = SyncDirectory(dir); !synced.ok()) {
    ::close(fd);
    return synced;
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<EnvelopeLog>> EnvelopeLog::Open(const std::string& dir, std::uint64_t segment_bytes,
                                                       const std::function<void(std::uint64_t, ByteView)>& replay) {
  // A single log of an earlier version is the first segment.
  const std::string legacy = dir + "/envelopes.log";
  if (::access(legacy.c_str(), F_OK) == 0) {
    std::string first = dir + "/" + SegmentName(0);
    if (::rename(legacy.c_str(), first.c_str()) != 0) return Errno("cannot rename " + legacy + " to " + first);
    ENTENTE_RETURN_IF_ERROR(SyncDirectory(dir));
  }
  std::vector<Segment> segments;
  {
    DIR* listing = ::opendir(dir.c_str());
    if (listing == nullptr) return Errno("cannot list " + dir);
    while (dirent* entry = ::readdir(listing)) {
      if (auto first = SegmentFirst(entry->d_name)) segments.push_back({*first, dir + "/" + entry->d_name});
    }
    ::closedir(listing);
  }
  std::sort(segments.begin(), segments.end(), [](const Segment& x, const Segment& y) { return x.first < y.first; });
  if (segments.empty()) {
    ENTENTE_ASSIGN_OR_RETURN(int fd, CreateSegment(dir, 0));
    segments.push_back({0, dir + "/" + SegmentName(0)});
    return std::unique_ptr<EnvelopeLog>(new EnvelopeLog(dir, segment_bytes, std::move(segments), fd, 0, 0));
  }

  std::uint64_t records = segments.front().first;
  int fd = -1;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& segment = segments[i];
    const bool last = i + 1 == segments.size();
    if (segment.first != records) {
      if (fd >= 0) ::close(fd);
      return Status::Corruption(segment.path + " starts at record " + std::to_string(segment.first) +
                                ", but the segments before it end at record " + std::to_string(records));
    }
    if (fd >= 0) ::close(fd);
    fd = ::open(segment.path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open " + segment.path);
    auto data = ReadAll(fd, segment.path);
    if (!data.ok()) {
      ::close(fd);
      return data.status();
    }
    offset = 0;
    while (offset < data->size()) {
      std::optional<std::size_t> length = RecordAt(*data, offset);
      if (!length) {
        // A crash during an append leaves a torn tail of the last segment: no whole record follows it,
        // and none of it was acknowledged. A whole record after the damage, or a later segment, means
        // acknowledged envelopes would be lost.
        std::optional<std::size_t> next = NextRecordAfter(*data, offset);
        if (next || !last) {
          ::close(fd);
          return Status::Corruption(
              segment.path + ": record " + std::to_string(records) + " at offset " + std::to_string(offset) +
              " is damaged, and " +
              (next ? "a whole record follows at offset " + std::to_string(*next) : std::string("a later segment follows")) +
              "; refusing to cut acknowledged envelopes");
        }
        break;
      }
      replay(records++, ByteView(&(*data)[offset + kHeader], *length - kHeader));
      offset += *length;
    }
    if (last && offset < data->size()) {
      if (::ftruncate(fd, static_cast<off_t>(offset)) != 0 || ::fdatasync(fd) != 0) {
        Status s = Errno("cannot cut the torn end of " + segment.path);
        ::close(fd);
        return s;
      }
    }
  }
  if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    Status s = Errno("cannot seek " + segments.back().path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<EnvelopeLog>(new EnvelopeLog(dir, segment_bytes, std::move(segments), fd, offset, records));
}

EnvelopeLog::EnvelopeLog(std::string dir, std::uint64_t segment_bytes, std::vector<Segment> segments, int fd,
                         std::uint64_t active_bytes, std::uint64_t records)
    : dir_(std::move(dir)),
      segment_bytes_(segment_bytes),
      segments_(std::move(segments)),
      fd_(fd),
      active_bytes_(active_bytes),
      records_(records),
      durable_(records),
      writer_([this] { WriteLoop(); }) {}

Status EnvelopeLog::Roll(std::uint64_t first) {
  ENTENTE_ASSIGN_OR_RETURN(int fd, CreateSegment(dir_, first));
  ::close(fd_);
  fd_ = fd;
  active_bytes_ = 0;
  std::lock_guard lock(mu_);
  segments_.push_back({first, dir_ + "/" + SegmentName(first)});
  return Status::Ok();
}

Result<std::size_t> EnvelopeLog::DropSettled(std::uint64_t settled) {
  std::vector<std::string> drop;
  {
    std::lock_guard lock(mu_);
    // A segment's records end where the next segment starts.
    std::size_t n = 0;
    while (n + 1 < segments_.size() && segments_[n + 1].first <= settled) ++n;
    for (std::size_t i = 0; i < n; ++i) drop.push_back(segments_[i].path);
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  // Oldest first, each deletion durable before the next: a crash leaves the segments that remain
  // contiguous, never a gap that Open would take for corruption.
  for (const std::string& path : drop) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot delete " + path);
    ENTENTE_RETURN_IF_ERROR(SyncDirectory(dir_));
  }
  return drop.size();
}

std::size_t EnvelopeLog::segments() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

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
    active_bytes_ += batch.size();
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
    // The batch is durable in this segment; later records go to the next one.
    if (active_bytes_ >= segment_bytes_) {
      if (Status rolled = Roll(upto); !rolled.ok()) {
        {
          std::lock_guard lock(mu_);
          failed_ = rolled;
        }
        durable_cv_.notify_all();
        return;
      }
    }
  }
}

std::uint64_t EnvelopeLog::size() const {
  std::lock_guard lock(mu_);
  return records_;
}

}  // namespace entente::relay::internal
