// Keccak-256 as Ethereum uses it: the original Keccak submission's padding (0x01), which differs from
// FIPS 202 SHA3-256 (0x06) in every output. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "runtime/common/bytes.h"

namespace entente::adapters::ethereum {

using Hash256 = std::array<std::uint8_t, 32>;

// Returns the Keccak-256 digest of `data`.
Hash256 Keccak256(ByteView data);

// Returns the Keccak-256 digest of `data` as 64 lowercase hex digits, without "0x".
std::string Keccak256Hex(ByteView data);

}  // namespace entente::adapters::ethereum
