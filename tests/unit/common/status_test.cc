#include "runtime/common/status.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace entente;

namespace {

Status FailWhen(bool fail) { return fail ? Status::NotFound("no such thing") : Status::Ok(); }

Status ReturnIfErrorCaller(bool fail, int* reached) {
  ENTENTE_RETURN_IF_ERROR(FailWhen(fail));
  ++*reached;
  return Status::Ok();
}

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::InvalidArgument("odd: " + std::to_string(n));
  return n / 2;
}

Result<int> Quarter(int n) {
  ENTENTE_ASSIGN_OR_RETURN(int half, Half(n));
  ENTENTE_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

}  // namespace

TEST_CASE("A default Status is ok with an empty message and prints as OK") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == StatusCode::kOk);
  CHECK(s.message().empty());
  CHECK(s.ToString() == "OK");
  CHECK(Status::Ok() == s);
}

TEST_CASE("Each Status factory sets its own code and keeps the message") {
  struct Case {
    Status status;
    StatusCode code;
    std::string_view name;
  };
  const std::vector<Case> cases = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, "InvalidArgument"},
      {Status::NotFound("m"), StatusCode::kNotFound, "NotFound"},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists, "AlreadyExists"},
      {Status::PermissionDenied("m"), StatusCode::kPermissionDenied, "PermissionDenied"},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition, "FailedPrecondition"},
      {Status::Corruption("m"), StatusCode::kCorruption, "Corruption"},
      {Status::IOError("m"), StatusCode::kIOError, "IOError"},
      {Status::Unavailable("m"), StatusCode::kUnavailable, "Unavailable"},
      {Status::DeadlineExceeded("m"), StatusCode::kDeadlineExceeded, "DeadlineExceeded"},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted, "ResourceExhausted"},
      {Status::Internal("m"), StatusCode::kInternal, "Internal"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK_FALSE(c.status.ok());
    CHECK(c.status.code() == c.code);
    CHECK(c.status.message() == "m");
    CHECK(StatusCodeName(c.code) == c.name);
    CHECK(c.status.ToString() == std::string(c.name) + ": m");
  }
}

TEST_CASE("StatusCodeName names the ok code OK") { CHECK(StatusCodeName(StatusCode::kOk) == "OK"); }

TEST_CASE("The Is helpers answer only for their own code") {
  CHECK(Status::NotFound("x").IsNotFound());
  CHECK_FALSE(Status::NotFound("x").IsCorruption());
  CHECK(Status::Corruption("x").IsCorruption());
  CHECK_FALSE(Status::Corruption("x").IsInvalidArgument());
  CHECK(Status::InvalidArgument("x").IsInvalidArgument());
  CHECK_FALSE(Status::Ok().IsNotFound());
}

TEST_CASE("WithContext prefixes the message and keeps the code") {
  Status s = Status::NotFound("key 'a'").WithContext("reading state");
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(s.message() == "reading state: key 'a'");
  CHECK(s.ToString() == "NotFound: reading state: key 'a'");
}

TEST_CASE("WithContext leaves an ok status ok and without a message") {
  Status s = Status::Ok().WithContext("anything");
  CHECK(s.ok());
  CHECK(s.message().empty());
}

TEST_CASE("Statuses are equal only when both code and message are equal") {
  CHECK(Status::NotFound("a") == Status::NotFound("a"));
  CHECK_FALSE(Status::NotFound("a") == Status::NotFound("b"));
  CHECK_FALSE(Status::NotFound("a") == Status::Corruption("a"));
}

TEST_CASE("A Result holding a value is ok and gives the value through every accessor") {
  Result<std::string> r = std::string("hello");
  REQUIRE(r.ok());
  CHECK(r.status().ok());
  CHECK(r.value() == "hello");
  CHECK(*r == "hello");
  CHECK(r->size() == 5);
  CHECK(r.value_or("fallback") == "hello");
  r.value() += "!";
  CHECK(*r == "hello!");
  std::string moved = std::move(r).value();
  CHECK(moved == "hello!");
}

TEST_CASE("A Result holding an error reports it and value_or gives the fallback") {
  Result<int> r = Status::Corruption("bad block");
  CHECK_FALSE(r.ok());
  CHECK(r.status() == Status::Corruption("bad block"));
  CHECK(r.value_or(7) == 7);
}

TEST_CASE("A Result constructed from an ok Status becomes an Internal error") {
  Result<int> r = Status::Ok();
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInternal);
  CHECK_FALSE(r.status().message().empty());
}

TEST_CASE("A Result can hold a move-only value") {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(42);
  REQUIRE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  REQUIRE(p != nullptr);
  CHECK(*p == 42);
}

TEST_CASE("ENTENTE_RETURN_IF_ERROR returns the error and continues past an ok status") {
  int reached = 0;
  Status failed = ReturnIfErrorCaller(true, &reached);
  CHECK(failed == Status::NotFound("no such thing"));
  CHECK(reached == 0);
  CHECK(ReturnIfErrorCaller(false, &reached).ok());
  CHECK(reached == 1);
}

TEST_CASE("ENTENTE_ASSIGN_OR_RETURN assigns values and returns the first error") {
  Result<int> ok = Quarter(12);
  REQUIRE(ok.ok());
  CHECK(*ok == 3);

  Result<int> first = Quarter(7);
  CHECK(first.status() == Status::InvalidArgument("odd: 7"));

  Result<int> second = Quarter(6);
  CHECK(second.status() == Status::InvalidArgument("odd: 3"));
}

namespace entente {

TEST_CASE("Printable escapes invalid UTF-8 and control characters and keeps valid UTF-8") {
  CHECK(Printable("plain text") == "plain text");
  CHECK(Printable("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");  // é €
  CHECK(Printable("\xff") == "\\xff");
  CHECK(Printable("a\nb\tc\x7f") == "a\\x0ab\\x09c\\x7f");
  CHECK(Printable(std::string("nul\0here", 8)) == "nul\\x00here");
  CHECK(Printable("\xc3") == "\\xc3");              // a truncated sequence
  CHECK(Printable("\xc0\xaf") == "\\xc0\\xaf");      // an overlong '/'
  CHECK(Printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(IsValidUtf8(Printable("\xff\xfe\xfd")));
}

TEST_CASE("A Status message quoting hostile bytes is stored Printable, so it cannot forge a log line") {
  Status s = Status::InvalidArgument("last read: '\xff\n[critical] forged'");
  CHECK(s.message() == "last read: '\\xff\\x0a[critical] forged'");
  CHECK(IsValidUtf8(s.message()));
  CHECK(s.WithContext("ctx\n").message() == "ctx\\x0a: last read: '\\xff\\x0a[critical] forged'");
}

}  // namespace entente
