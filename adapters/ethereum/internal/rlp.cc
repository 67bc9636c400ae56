#include "adapters/ethereum/internal/rlp.h"

#include <string>
#include <utility>

namespace entente::adapters::ethereum {
namespace {

constexpr std::uint8_t kStringOffset = 0x80;  // short string: 0x80 + length, up to 55 bytes
constexpr std::uint8_t kListOffset = 0xc0;    // short list: 0xc0 + payload length, up to 55 bytes
constexpr std::size_t kMaxShortLength = 55;
constexpr int kMaxDepth = 64;

// Returns `value` in minimal big-endian form (empty for 0).
Bytes MinimalBigEndian(std::uint64_t value) {
  Bytes out;
  for (; value != 0; value >>= 8) out.insert(out.begin(), static_cast<std::uint8_t>(value));
  return out;
}

// Appends the prefix of a string or list payload of `length` bytes.
void AppendHeader(Bytes& out, std::uint8_t offset, std::size_t length) {
  if (length <= kMaxShortLength) {
    out.push_back(static_cast<std::uint8_t>(offset + length));
    return;
  }
  Bytes length_bytes = MinimalBigEndian(length);
  out.push_back(static_cast<std::uint8_t>(offset + kMaxShortLength + length_bytes.size()));
  out.insert(out.end(), length_bytes.begin(), length_bytes.end());
}

void Encode(const RlpItem& item, Bytes& out) {
  if (!item.is_list) {
    if (item.string.size() == 1 && item.string[0] < kStringOffset) {
      out.push_back(item.string[0]);
      return;
    }
    AppendHeader(out, kStringOffset, item.string.size());
    out.insert(out.end(), item.string.begin(), item.string.end());
    return;
  }
  Bytes payload;
  for (const RlpItem& element : item.list) Encode(element, payload);
  AppendHeader(out, kListOffset, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
}

Status Malformed(std::size_t offset, const std::string& problem) {
  return Status::InvalidArgument("rlp: " + problem + " at offset " + std::to_string(offset));
}

// Decodes the item starting at `pos` in `data`, which must end by `end`, and advances `pos` past it.
Result<RlpItem> DecodeAt(ByteView data, std::size_t& pos, std::size_t end, int depth) {
  if (depth > kMaxDepth) return Malformed(pos, "lists nested deeper than " + std::to_string(kMaxDepth));
  if (pos >= end) return Malformed(pos, "item expected but input ended");
  const std::size_t start = pos;
  const std::uint8_t prefix = data[pos++];
  if (prefix < kStringOffset) return RlpItem::String(data.subspan(start, 1));

  const bool is_list = prefix >= kListOffset;
  const std::uint8_t offset = is_list ? kListOffset : kStringOffset;
  const std::size_t short_form = offset + kMaxShortLength;  // the largest one-byte prefix

  std::size_t length = 0;
  if (prefix <= short_form) {
    length = prefix - offset;
  } else {
    const std::size_t length_size = prefix - short_form;  // 1 to 8, so `length` fits 64 bits
    if (length_size > end - pos) return Malformed(start, "length of length runs past the end");
    if (data[pos] == 0) return Malformed(start, "length with a leading zero byte");
    for (std::size_t i = 0; i < length_size; ++i) length = (length << 8) | data[pos++];
    if (length <= kMaxShortLength) return Malformed(start, "long form used for a length under 56");
  }
  if (length > end - pos) return Malformed(start, "length " + std::to_string(length) + " runs past the end");

  if (!is_list) {
    if (length == 1 && data[pos] < kStringOffset) return Malformed(start, "single byte below 0x80 with a prefix");
    RlpItem item = RlpItem::String(data.subspan(pos, length));
    pos += length;
    return item;
  }
  RlpItem item = RlpItem::List({});
  const std::size_t list_end = pos + length;
  while (pos < list_end) {
    ENTENTE_ASSIGN_OR_RETURN(RlpItem element, DecodeAt(data, pos, list_end, depth + 1));
    item.list.push_back(std::move(element));
  }
  return item;
}

}  // namespace

RlpItem RlpItem::String(ByteView bytes) {
  RlpItem item;
  item.string.assign(bytes.begin(), bytes.end());
  return item;
}

RlpItem RlpItem::Uint(std::uint64_t value) { return String(MinimalBigEndian(value)); }

RlpItem RlpItem::BigEndianUint(ByteView big_endian) {
  std::size_t first = 0;
  while (first < big_endian.size() && big_endian[first] == 0) ++first;
  return String(big_endian.subspan(first));
}

RlpItem RlpItem::List(std::vector<RlpItem> items) {
  RlpItem item;
  item.is_list = true;
  item.list = std::move(items);
  return item;
}

Bytes RlpEncode(const RlpItem& item) {
  Bytes out;
  Encode(item, out);
  return out;
}

Result<RlpItem> RlpDecode(ByteView encoded) {
  std::size_t pos = 0;
  ENTENTE_ASSIGN_OR_RETURN(RlpItem item, DecodeAt(encoded, pos, encoded.size(), 0));
  if (pos != encoded.size()) return Malformed(pos, std::to_string(encoded.size() - pos) + " trailing bytes");
  return item;
}

Result<std::uint64_t> RlpToUint(const RlpItem& item) {
  if (item.is_list) return Status::InvalidArgument("rlp: integer expected, found a list");
  if (item.string.size() > 8) return Status::InvalidArgument("rlp: integer longer than 8 bytes");
  if (!item.string.empty() && item.string[0] == 0) {
    return Status::InvalidArgument("rlp: integer with a leading zero byte");
  }
  std::uint64_t value = 0;
  for (std::uint8_t byte : item.string) value = (value << 8) | byte;
  return value;
}

}  // namespace entente::adapters::ethereum
