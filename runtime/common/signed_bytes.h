// SignedBytes is DESIGN.md §3's unit of signed data: the exact bytes that were signed, and the
// signature over them, carried as {"payload":"<base64>","signature":"<base64>"}. Verifiers check the
// signature over `payload` first and only then parse it; nothing is re-serialized to verify. A value.
#pragma once

#include <string_view>

#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/common/status.h"

namespace entente {

struct SignedBytes {
  Bytes payload;
  Bytes signature;

  // Returns {"payload": base64, "signature": base64}.
  Json ToJson() const;
  // Returns InvalidArgument when a field is missing, not a string, or not valid base64.
  static Result<SignedBytes> FromJson(const Json& json);
  // Parses the JSON text first; returns InvalidArgument for malformed JSON too.
  static Result<SignedBytes> Parse(std::string_view text);

  friend bool operator==(const SignedBytes&, const SignedBytes&) = default;
};

}  // namespace entente
