#include "runtime/common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace entente {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no such file: " + path);
    return Errno("cannot open", path);
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("cannot read", path);  // e.g. EISDIR for a directory
      ::close(fd);
      return s;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Errno("cannot create", tmp);
  // open() applies the umask; set the exact mode (private keys must be 0600 whatever the umask).
  if (::fchmod(fd, mode) != 0) {
    Status s = Errno("cannot chmod", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    written += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  Status sync_error = synced ? Status::Ok() : Errno("cannot sync", tmp);
  if (::close(fd) != 0 && synced) sync_error = Errno("cannot close", tmp);
  if (!sync_error.ok()) {
    ::unlink(tmp.c_str());
    return sync_error;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot rename onto", path);
    ::unlink(tmp.c_str());
    return s;
  }
  // Sync the directory too, so that the rename itself survives a power loss.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("cannot open directory of", path);
  bool dir_synced = ::fsync(dir_fd) == 0;
  ::close(dir_fd);
  if (!dir_synced) return Errno("cannot sync directory of", path);
  return Status::Ok();
}

std::string ResolvePath(const std::string& relative_to, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(relative_to).parent_path() / p).string();
}

Status MakeDirectories(const std::string& path, mode_t mode) {
  // Walk down from the first missing ancestor so that every directory made here gets `mode`.
  std::filesystem::path target(path);
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (auto p = target; !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), mode) != 0 && errno != EEXIST) return Errno("cannot create directory", it->string());
    // mkdir applies the umask; an existing one (perhaps /tmp) keeps its own mode.
    if (::chmod(it->c_str(), mode) != 0) return Errno("cannot chmod", it->string());
  }
  if (!std::filesystem::is_directory(target, ec)) return Status::IOError("not a directory: " + path);
  return Status::Ok();
}

}  // namespace entente
