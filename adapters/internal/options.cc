// CheckReadable and CheckRetryOptions: option checks shared by the chain adapters.
#include "adapters/internal/options.h"

#include "runtime/common/file.h"

namespace entente::adapters {

Status CheckReadable(const std::string& option, const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("option " + option + " is empty");
  auto read = ReadFile(path);
  if (!read.ok()) {
    return Status::InvalidArgument("option " + option + ": cannot read " + path + ": " + read.status().message());
  }
  return Status::Ok();
}

Status CheckRetryOptions(int retries, std::chrono::milliseconds backoff, std::chrono::milliseconds max_backoff) {
  if (retries < 0) return Status::InvalidArgument("option retries must not be negative");
  if (backoff.count() < 0 || max_backoff.count() < 0) {
    return Status::InvalidArgument("options backoff and max_backoff must not be negative");
  }
  return Status::Ok();
}

}  // namespace entente::adapters
