#include "runtime/common/log.h"

#include <doctest/doctest.h>

#include <string>
#include <utility>

using namespace entente;
using spdlog::level::level_enum;

namespace {

// Restores the default levels when a test ends, so tests do not depend on each other's order.
struct ResetLevels {
  ~ResetLevels() { (void)SetLogLevels("info"); }
};

}  // namespace

TEST_CASE("Logger returns one named logger per component") {
  ResetLevels reset;
  auto a = Logger("log_test.same");
  auto b = Logger("log_test.same");
  auto other = Logger("log_test.other");
  REQUIRE(a != nullptr);
  REQUIRE(other != nullptr);
  CHECK(a == b);
  CHECK(a != other);
  CHECK(a->name() == "log_test.same");
  CHECK(other->name() == "log_test.other");
}

TEST_CASE("Every component's logger writes to the same shared sink") {
  ResetLevels reset;
  auto a = Logger("log_test.sink_a");
  auto b = Logger("log_test.sink_b");
  REQUIRE(a->sinks().size() == 1);
  REQUIRE(b->sinks().size() == 1);
  CHECK(a->sinks()[0] == b->sinks()[0]);
}

TEST_CASE("A new logger starts at the default level, info") {
  ResetLevels reset;
  REQUIRE(SetLogLevels("info").ok());
  CHECK(Logger("log_test.fresh")->level() == level_enum::info);
}

TEST_CASE("SetLogLevels sets the default and per-component overrides on existing loggers") {
  ResetLevels reset;
  auto ledger = Logger("log_test.ledger");
  auto relay = Logger("log_test.relay");
  REQUIRE(SetLogLevels("warn,log_test.ledger=debug").ok());
  CHECK(ledger->level() == level_enum::debug);
  CHECK(relay->level() == level_enum::warn);
}

TEST_CASE("A logger created after SetLogLevels gets its override or the new default") {
  ResetLevels reset;
  REQUIRE(SetLogLevels("error,log_test.later_traced=trace").ok());
  CHECK(Logger("log_test.later_traced")->level() == level_enum::trace);
  CHECK(Logger("log_test.later_plain")->level() == level_enum::err);
}

TEST_CASE("An override applies whether it comes before or after the bare level") {
  ResetLevels reset;
  REQUIRE(SetLogLevels("log_test.first=trace,critical").ok());
  CHECK(Logger("log_test.first")->level() == level_enum::trace);
  CHECK(Logger("log_test.second")->level() == level_enum::critical);
}

TEST_CASE("SetLogLevels accepts every level name from trace to off") {
  ResetLevels reset;
  auto logger = Logger("log_test.names");
  const std::pair<const char*, level_enum> names[] = {{"trace", level_enum::trace}, {"debug", level_enum::debug},
                                                      {"info", level_enum::info},   {"warn", level_enum::warn},
                                                      {"error", level_enum::err},   {"critical", level_enum::critical},
                                                      {"off", level_enum::off}};
  for (const auto& [name, level] : names) {
    CAPTURE(name);
    REQUIRE(SetLogLevels(name).ok());
    CHECK(logger->level() == level);
  }
}

TEST_CASE("SetLogLevels rejects an unknown level name and leaves the levels as they were") {
  ResetLevels reset;
  auto logger = Logger("log_test.unchanged");
  REQUIRE(SetLogLevels("warn").ok());
  REQUIRE(logger->level() == level_enum::warn);

  Status bad_default = SetLogLevels("verbose");
  CHECK(bad_default.code() == StatusCode::kInvalidArgument);
  CHECK(bad_default.message().find("verbose") != std::string::npos);
  CHECK(logger->level() == level_enum::warn);

  // A good item before the bad one must not be applied either.
  Status bad_override = SetLogLevels("debug,log_test.unchanged=loud");
  CHECK(bad_override.code() == StatusCode::kInvalidArgument);
  CHECK(logger->level() == level_enum::warn);
  CHECK(Logger("log_test.unchanged_new")->level() == level_enum::warn);
}

TEST_CASE("Logging below a logger's level is filtered and at or above it is not") {
  ResetLevels reset;
  auto logger = Logger("log_test.filter");
  REQUIRE(SetLogLevels("info,log_test.filter=warn").ok());
  CHECK_FALSE(logger->should_log(level_enum::info));
  CHECK(logger->should_log(level_enum::warn));
  CHECK(logger->should_log(level_enum::err));
}
