// Unreachable: the one message every adapter gives when its retries are spent.
#include "adapters/internal/retry.h"

namespace entente::adapters {

Status Unreachable(std::string_view where, int attempts, std::string_view last) {
  return Status::Unavailable(std::string(where) + "unreachable after " + std::to_string(attempts) +
                             (attempts == 1 ? " attempt: " : " attempts: ") + std::string(last));
}

}  // namespace entente::adapters
