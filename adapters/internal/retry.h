// Attempts retried with exponential backoff while a service cannot be reached, shared by the chain
// adapters. Stateless; the calling thread sleeps between attempts.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "runtime/common/status.h"

namespace entente::adapters {

struct RetryPolicy {
  int attempts = 1;                        // the first attempt and every retry
  std::chrono::milliseconds backoff{100};  // the sleep before the first retry; doubles after each
  std::chrono::milliseconds max_backoff{2000};
};

// Returns Unavailable "<where>unreachable after <attempts> attempt(s): <last>".
Status Unreachable(std::string_view where, int attempts, std::string_view last);

// Calls `attempt` up to policy.attempts times, sleeping between calls as the policy says. `attempt`
// takes a std::string& and returns std::optional<Result<T>>: a result to return at once, or nullopt
// after writing why this attempt failed transiently into its argument. Returns Unreachable(where, ...)
// with the last such reason when no attempt returned a result.
template <class T, class Attempt>
Result<T> WithRetries(const RetryPolicy& policy, std::string_view where, Attempt attempt) {
  std::chrono::milliseconds wait = policy.backoff;
  std::string last;
  for (int i = 0; i < policy.attempts; ++i) {
    if (i > 0) {
      std::this_thread::sleep_for(wait);
      wait = std::min(wait * 2, policy.max_backoff);
    }
    std::optional<Result<T>> ended = attempt(last);
    if (ended.has_value()) return std::move(*ended);
  }
  return Unreachable(where, policy.attempts, last);
}

}  // namespace entente::adapters
