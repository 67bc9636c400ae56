// JSON in Entente: nlohmann::json values, parsed with errors that say where, and written in the
// canonical form that every signed structure uses (compact, keys sorted, UTF-8, no floats), so the
// same value always serializes to the same bytes. Pure functions.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

namespace entente {

using Json = nlohmann::json;

// How deeply JSON input may nest; deeper input is refused rather than risking the stack.
inline constexpr int kMaxJsonDepth = 64;

// Returns InvalidArgument naming the byte offset and the parser's reason for malformed JSON, or for
// nesting deeper than kMaxJsonDepth (refused before anything is built, so hostile input costs no
// more memory than its own bytes).
Result<Json> ParseJson(std::string_view text);

// Returns the compact serialization of `value` for a response, a record or a log; never throws:
// invalid UTF-8 in a string becomes U+FFFD. (Signed structures use CanonicalJson.)
std::string DumpJson(const Json& value);

// Returns the canonical serialization: compact, object keys in byte order, UTF-8 kept as is.
// Returns InvalidArgument for a floating-point number or invalid UTF-8 anywhere in the value.
Result<std::string> CanonicalJson(const Json& value);

// Typed field access for parsed input, each returning InvalidArgument naming the missing or mistyped
// field ("field 'tx_id': expected a string").
Result<std::string> JsonString(const Json& object, std::string_view field);
Result<std::int64_t> JsonInt(const Json& object, std::string_view field);
Result<Bytes> JsonBase64(const Json& object, std::string_view field);
// OK when `object` is a JSON object whose every member is one of `allowed`; else InvalidArgument naming
// the first other member and the allowed ones ("unknown field 'wiat' (expected one of: ...)"), so that
// a misspelt option is refused instead of ignored.
Status CheckMembers(const Json& object, std::initializer_list<std::string_view> allowed);

}  // namespace entente
