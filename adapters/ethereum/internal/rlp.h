// Recursive Length Prefix (RLP), Ethereum's serialization of byte strings and nested lists of them
// (Yellow Paper, appendix B). Integers are byte strings holding the minimal big-endian form, so 0 is
// the empty string. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

namespace entente::adapters::ethereum {

// An RLP item: a byte string, or a list of items.
struct RlpItem {
  bool is_list = false;
  Bytes string;               // the contents when !is_list
  std::vector<RlpItem> list;  // the elements when is_list

  // Returns the byte string `bytes`.
  static RlpItem String(ByteView bytes);
  // Returns the minimal big-endian byte string of `value` (empty for 0).
  static RlpItem Uint(std::uint64_t value);
  // Returns the minimal form of the big-endian unsigned integer `big_endian` (leading zeros dropped).
  static RlpItem BigEndianUint(ByteView big_endian);
  // Returns the list of `items`.
  static RlpItem List(std::vector<RlpItem> items);

  friend bool operator==(const RlpItem& a, const RlpItem& b) = default;
};

// Returns the RLP encoding of `item`.
Bytes RlpEncode(const RlpItem& item);

// Returns the item that `encoded` holds. Returns InvalidArgument, naming the problem and its offset,
// unless `encoded` is exactly one canonically encoded item: a prefix whose length runs past the end,
// trailing bytes, a non-minimal length or single byte, or nesting deeper than 64 lists are rejected.
Result<RlpItem> RlpDecode(ByteView encoded);

// Returns the unsigned integer that `item` holds. Returns InvalidArgument for a list, more than
// 8 bytes, or a leading zero byte (not minimal).
Result<std::uint64_t> RlpToUint(const RlpItem& item);

}  // namespace entente::adapters::ethereum
