// Checks of the options the chain adapters have in common, with the messages their Create functions
// return. Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "runtime/common/status.h"

namespace entente::adapters {

// Returns InvalidArgument "option <option> is empty" for an empty path, or "option <option>: cannot
// read <path>: ..." when the file cannot be read; Ok otherwise.
Status CheckReadable(const std::string& option, const std::string& path);

// Returns InvalidArgument for a negative `retries`, or a negative `backoff` or `max_backoff`.
Status CheckRetryOptions(int retries, std::chrono::milliseconds backoff, std::chrono::milliseconds max_backoff);

}  // namespace entente::adapters
