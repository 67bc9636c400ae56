// Logging by component ("ledger", "relay", ...), on spdlog: every component gets its own named logger
// writing to one shared stderr sink, with its own level. Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

#include "runtime/common/status.h"

namespace entente {

// Returns the logger of `component`, creating it on first use at the default level.
std::shared_ptr<spdlog::logger> Logger(std::string_view component);

// Sets levels from a spec like "info" or "warn,ledger=debug,relay=trace": a bare level is the
// default for every component, and name=level overrides one. Returns InvalidArgument for an unknown
// level name, leaving the levels as they were.
Status SetLogLevels(std::string_view spec);

}  // namespace entente
