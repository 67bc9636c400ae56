// Status is the outcome of an operation that can fail: ok, or an error code with a message.
// Result<T> is a value of type T or the error Status that prevented it. Both are values; copying is
// cheap when ok. Thread-compatible. A rejected transaction is never a Status error: validation
// reports it as a result with a validation code.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace entente {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong: malformed, out of range, unknown
  kNotFound,           // a named thing does not exist
  kAlreadyExists,      // a thing to create exists already
  kPermissionDenied,   // the caller may not do this
  kFailedPrecondition, // the system is not in a state where this can be done
  kCorruption,         // stored data is damaged
  kIOError,            // the operating system or a peer failed
  kUnavailable,        // a peer cannot be reached now; retrying may help
  kDeadlineExceeded,   // a timeout expired
  kResourceExhausted,  // a bound was reached (a quota, a queue); retrying later may succeed
  kInternal,           // a bug
};

// Returns the name of a code, e.g. "InvalidArgument".
std::string_view StatusCodeName(StatusCode code);

// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Returns `text` fit for a message, a log line or a JSON string, whatever bytes it holds: each byte of
// an invalid UTF-8 sequence and each control character (U+0000-U+001F, U+007F) becomes "\xNN"; the
// rest is kept. Every Status message passes through it, so text quoted from the network cannot forge
// a log line or break a JSON document.
std::string Printable(std::string_view text);

// The message of an error Status is always Printable text.
class [[nodiscard]] Status {
 public:
  Status() = default;  // ok

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) { return {StatusCode::kPermissionDenied, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {StatusCode::kFailedPrecondition, std::move(msg)};
  }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status DeadlineExceeded(std::string msg) { return {StatusCode::kDeadlineExceeded, std::move(msg)}; }
  static Status ResourceExhausted(std::string msg) { return {StatusCode::kResourceExhausted, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }

  // Returns a copy whose message is "<context>: <message>"; an ok status stays ok.
  Status WithContext(std::string_view context) const;

  // Returns "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(StatusCode code, std::string msg);  // makes `msg` Printable

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  // REQUIRES: !status.ok(). A Result made from an ok Status is a bug; it becomes kInternal.
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(state_).ok()) state_ = Status::Internal("Result constructed from an ok Status");
  }
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }

  // Returns Ok when a value is held, the error otherwise.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(state_); }

  // REQUIRES: ok().
  const T& value() const& { return Checked(); }
  T& value() & { return Checked(); }
  T&& value() && { return std::move(Checked()); }

  const T& operator*() const& { return Checked(); }
  T& operator*() & { return Checked(); }
  T&& operator*() && { return std::move(Checked()); }
  const T* operator->() const { return &Checked(); }
  T* operator->() { return &Checked(); }

  // Returns the value, or `fallback` when this holds an error.
  T value_or(T fallback) const& { return ok() ? std::get<T>(state_) : std::move(fallback); }

 private:
  T& Checked() {
    assert(ok() && "Result::value() on an error");
    return std::get<T>(state_);
  }
  const T& Checked() const {
    assert(ok() && "Result::value() on an error");
    return std::get<T>(state_);
  }

  std::variant<T, Status> state_;
};

}  // namespace entente

#define ENTENTE_CONCAT_INNER_(a, b) a##b
#define ENTENTE_CONCAT_(a, b) ENTENTE_CONCAT_INNER_(a, b)

// Returns from the current function with the Status of `expr` when it is not ok.
#define ENTENTE_RETURN_IF_ERROR(expr)                    \
  do {                                                   \
    ::entente::Status entente_status_ = (expr);          \
    if (!entente_status_.ok()) return entente_status_;   \
  } while (0)

// Evaluates `rexpr` (a Result<T>); on error returns its Status, else moves the value into `lhs`.
#define ENTENTE_ASSIGN_OR_RETURN(lhs, rexpr) \
  ENTENTE_ASSIGN_OR_RETURN_IMPL_(ENTENTE_CONCAT_(entente_result_, __LINE__), lhs, rexpr)
#define ENTENTE_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                   \
  if (!result.ok()) return result.status();                \
  lhs = std::move(result).value()
