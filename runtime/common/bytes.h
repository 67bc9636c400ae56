// Byte strings and their text encodings: lowercase hex and standard base64 (RFC 4648, padded).
// Decoders reject malformed input with a Status that says what and where. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/status.h"

namespace entente {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Views the characters of a string as bytes, and back.
ByteView AsBytes(std::string_view s);
Bytes ToBytes(std::string_view s);
std::string ToString(ByteView b);

// Returns lowercase hex, two characters per byte.
std::string HexEncode(ByteView data);
// Returns InvalidArgument for an odd length or a character outside [0-9a-fA-F], naming its offset.
Result<Bytes> HexDecode(std::string_view hex);

// Returns standard base64 with '=' padding.
std::string Base64Encode(ByteView data);
// Returns InvalidArgument for a length that is not a multiple of 4, a character outside the alphabet
// (whitespace included), misplaced padding, or non-zero unused bits (so every input has one encoding).
Result<Bytes> Base64Decode(std::string_view text);

}  // namespace entente
