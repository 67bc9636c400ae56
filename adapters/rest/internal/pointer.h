// JSON pointers (RFC 6901) into a REST service's answer, as the mapping file names them, and the
// readings of what they find, tolerant of how services write values: etcd's JSON gateway writes int64
// fields as strings and leaves out every field whose value is zero, false or empty. Pointer is an
// immutable value; the functions are pure. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/json.h"
#include "runtime/common/status.h"

namespace entente::adapters::rest {

class Pointer {
 public:
  Pointer() = default;  // "": the whole document

  // Returns InvalidArgument for text that is not a JSON pointer: not empty and not starting with '/',
  // or a '~' not followed by 0 or 1.
  static Result<Pointer> Parse(std::string_view text);

  const std::string& text() const { return text_; }

  // Returns the value at this pointer in `document`, or nullptr when there is none: a missing member,
  // an index that is not a number or is past the end, or a step into a string, number or null.
  const Json* Find(const Json& document) const;

 private:
  std::string text_;
  std::vector<std::string> tokens_;  // unescaped
};

// Returns whether the condition at `pointer` holds in `document`: false when the pointer finds
// nothing, null, false, 0, "", "0", "false", an empty array or an empty object; true otherwise.
bool Holds(const Json& document, const Pointer& pointer);

// Returns the non-negative integer at `pointer`: a JSON integer, or a string of decimal digits (what
// etcd sends for int64). InvalidArgument naming the pointer when nothing is there, or something else.
Result<std::uint64_t> NumberAt(const Json& document, const Pointer& pointer);

// Returns the string at `pointer`, nullopt when nothing or null is there; InvalidArgument naming the
// pointer for another kind of value.
Result<std::optional<std::string>> StringAt(const Json& document, const Pointer& pointer);

}  // namespace entente::adapters::rest
