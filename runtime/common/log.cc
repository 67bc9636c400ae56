#include "runtime/common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace entente {
namespace {

struct Registry {
  std::mutex mu;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::level::level_enum default_level = spdlog::level::info;
  std::map<std::string, spdlog::level::level_enum, std::less<>> overrides;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: loggers outlive static teardown
  return *registry;
}

Result<spdlog::level::level_enum> ParseLevel(std::string_view name) {
  static const std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off}};
  for (const auto& [n, level] : kLevels) {
    if (n == name) return level;
  }
  return Status::InvalidArgument("unknown log level '" + std::string(name) +
                                 "' (expected trace, debug, info, warn, error, critical or off)");
}

}  // namespace

std::shared_ptr<spdlog::logger> Logger(std::string_view component) {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  auto it = r.loggers.find(component);
  if (it != r.loggers.end()) return it->second;
  auto logger = std::make_shared<spdlog::logger>(std::string(component), r.sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v", spdlog::pattern_time_type::utc);
  auto level = r.overrides.find(component);
  logger->set_level(level != r.overrides.end() ? level->second : r.default_level);
  logger->flush_on(spdlog::level::warn);
  r.loggers.emplace(std::string(component), logger);
  return logger;
}

Status SetLogLevels(std::string_view spec) {
  spdlog::level::level_enum default_level = spdlog::level::info;
  std::map<std::string, spdlog::level::level_enum, std::less<>> overrides;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      ENTENTE_ASSIGN_OR_RETURN(default_level, ParseLevel(item));
    } else {
      ENTENTE_ASSIGN_OR_RETURN(auto level, ParseLevel(item.substr(eq + 1)));
      overrides[std::string(item.substr(0, eq))] = level;
    }
  }
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  r.default_level = default_level;
  r.overrides = std::move(overrides);
  for (auto& [name, logger] : r.loggers) {
    auto level = r.overrides.find(name);
    logger->set_level(level != r.overrides.end() ? level->second : r.default_level);
  }
  return Status::Ok();
}

}  // namespace entente
