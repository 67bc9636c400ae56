#include "adapters/rest/internal/pointer.h"

#include <doctest/doctest.h>

#include "tests/support/must.h"

using namespace entente;
using namespace entente::adapters::rest;
using entente::testing::Must;

namespace {

// An etcd gateway answer: int64 as strings, zero values left out.
const Json kAnswer = Json::parse(R"({"header": {"revision": "17"},
  "kvs": [{"key": "YS9r", "mod_revision": "12", "value": "dg=="}], "count": "1",
  "n": 5, "neg": -3, "big": "18446744073709551616", "text": "x", "flag": true, "off": false, "zero": 0,
  "empty": "", "nothing": null, "list": [], "obj": {}, "a/b": 1, "t~": 2})");

Pointer P(std::string_view text) { return Must(Pointer::Parse(text)); }

}  // namespace

TEST_CASE("A pointer finds members and array elements") {
  REQUIRE(P("/kvs/0/mod_revision").Find(kAnswer) != nullptr);
  CHECK(*P("/kvs/0/mod_revision").Find(kAnswer) == "12");
  CHECK(P("").Find(kAnswer) == &kAnswer);
  CHECK(*P("/a~1b").Find(kAnswer) == 1);
  CHECK(*P("/t~0").Find(kAnswer) == 2);
}

TEST_CASE("A pointer finds nothing past an array's end, through a scalar or at a bad index") {
  CHECK(P("/kvs/1").Find(kAnswer) == nullptr);
  CHECK(P("/kvs/01").Find(kAnswer) == nullptr);
  CHECK(P("/kvs/-").Find(kAnswer) == nullptr);
  CHECK(P("/kvs/x").Find(kAnswer) == nullptr);
  CHECK(P("/text/0").Find(kAnswer) == nullptr);
  CHECK(P("/missing/deeper").Find(kAnswer) == nullptr);
}

TEST_CASE("Text that is not a JSON pointer is refused") {
  CHECK(Pointer::Parse("kvs/0").status().IsInvalidArgument());
  CHECK(Pointer::Parse("/a~2").status().message().find("'~' must be followed by 0 or 1") != std::string::npos);
  CHECK_FALSE(Pointer::Parse("/a~").ok());
}

TEST_CASE("A condition holds for present values and not for missing, null, false, zero or empty ones") {
  for (const char* yes : {"/kvs/0", "/count", "/flag", "/n", "/text", "/kvs"})
    CHECK_MESSAGE(Holds(kAnswer, P(yes)), yes);
  for (const char* no : {"/kvs/1", "/succeeded", "/off", "/zero", "/empty", "/nothing", "/list", "/obj"}) {
    CHECK_FALSE_MESSAGE(Holds(kAnswer, P(no)), no);
  }
  CHECK_FALSE(Holds(Json::parse(R"({"c": "0"})"), P("/c")));
  CHECK_FALSE(Holds(Json::parse(R"({"c": "false"})"), P("/c")));
}

TEST_CASE("A number may be a JSON integer or a string of digits") {
  CHECK(Must(NumberAt(kAnswer, P("/header/revision"))) == 17);
  CHECK(Must(NumberAt(kAnswer, P("/n"))) == 5);
  CHECK(Must(NumberAt(Json::parse(R"({"m": "18446744073709551615"})"), P("/m"))) == 18446744073709551615ULL);
}

TEST_CASE("A missing, negative, oversized or non-numeric number is refused, naming the pointer") {
  auto missing = NumberAt(kAnswer, P("/header/raft_term"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "at '/header/raft_term': nothing there, expected a number");
  CHECK(NumberAt(kAnswer, P("/neg")).status().message().find("at '/neg'") != std::string::npos);
  CHECK_FALSE(NumberAt(kAnswer, P("/big")).ok());
  CHECK_FALSE(NumberAt(kAnswer, P("/text")).ok());
  CHECK_FALSE(NumberAt(kAnswer, P("/flag")).ok());
  CHECK_FALSE(NumberAt(Json::parse(R"({"m": "1.5"})"), P("/m")).ok());
}

TEST_CASE("A string is read, nothing or null reads as none, another type is refused") {
  CHECK(Must(StringAt(kAnswer, P("/kvs/0/value"))) == "dg==");
  CHECK_FALSE(Must(StringAt(kAnswer, P("/kvs/0/lease"))).has_value());
  CHECK_FALSE(Must(StringAt(kAnswer, P("/nothing"))).has_value());
  CHECK(StringAt(kAnswer, P("/n")).status().message() == "at '/n': expected a string, got 5");
}
