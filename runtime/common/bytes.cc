#include "runtime/common/bytes.h"

#include <array>

namespace entente {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kBase64Table = MakeBase64Table();

}  // namespace

ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Both copy through same-typed pointers, which is one memmove; a char-to-uint8_t range is copied
// byte by byte.
Bytes ToBytes(std::string_view s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  return Bytes(p, p + s.size());
}

std::string ToString(ByteView b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

std::string HexEncode(ByteView data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t byte : data) {
    out.push_back(kHexDigits[byte >> 4]);
    out.push_back(kHexDigits[byte & 0x0f]);
  }
  return out;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Status::InvalidArgument("hex: odd length " + std::to_string(hex.size()));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      size_t bad = hi < 0 ? i : i + 1;
      return Status::InvalidArgument("hex: invalid character at offset " + std::to_string(bad));
    }
    out[i / 2] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::string Base64Encode(ByteView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<Bytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument("base64: length " + std::to_string(text.size()) +
                                   " is not a multiple of 4");
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = (text[text.size() - 2] == '=') ? 2 : 1;
  Bytes out(text.size() / 4 * 3);
  auto invalid_at = [&text](size_t from) {
    size_t at = from;
    while (at < text.size() && kBase64Table[static_cast<unsigned char>(text[at])] >= 0) ++at;
    return Status::InvalidArgument("base64: invalid character at offset " + std::to_string(at));
  };
  // Every group but the last has no padding: four table lookups, one check of their sign bits.
  const size_t full = text.empty() ? 0 : text.size() - 4;
  size_t o = 0;
  for (size_t i = 0; i < full; i += 4, o += 3) {
    int a = kBase64Table[static_cast<unsigned char>(text[i])];
    int b = kBase64Table[static_cast<unsigned char>(text[i + 1])];
    int c = kBase64Table[static_cast<unsigned char>(text[i + 2])];
    int d = kBase64Table[static_cast<unsigned char>(text[i + 3])];
    if ((a | b | c | d) < 0) return invalid_at(i);
    uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                 (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
    out[o] = static_cast<std::uint8_t>(v >> 16);
    out[o + 1] = static_cast<std::uint8_t>(v >> 8);
    out[o + 2] = static_cast<std::uint8_t>(v);
  }
  if (!text.empty()) {
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[full + j];
      int value = 0;
      if (!(c == '=' && j >= 4 - padding)) {
        value = kBase64Table[static_cast<unsigned char>(c)];
        if (value < 0) return Status::InvalidArgument("base64: invalid character at offset " + std::to_string(full + j));
      }
      v = (v << 6) | static_cast<uint32_t>(value);
    }
    if ((padding == 1 && (v & 0xff) != 0) || (padding == 2 && (v & 0xffff) != 0)) {
      return Status::InvalidArgument("base64: non-zero bits in padding");
    }
    out[o] = static_cast<std::uint8_t>(v >> 16);
    out[o + 1] = static_cast<std::uint8_t>(v >> 8);
    out[o + 2] = static_cast<std::uint8_t>(v);
    out.resize(out.size() - padding);
  }
  return out;
}

}  // namespace entente
