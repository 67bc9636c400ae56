#include "adapters/ethereum/internal/rlp.h"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/support/must.h"

using namespace entente;
using namespace entente::adapters::ethereum;
using entente::testing::Must;

namespace {

RlpItem Text(std::string_view text) { return RlpItem::String(AsBytes(text)); }

std::string EncodeHex(const RlpItem& item) { return HexEncode(RlpEncode(item)); }

// Returns the Status of decoding `hex`.
Status DecodeStatus(std::string_view hex) { return RlpDecode(Must(HexDecode(hex))).status(); }

// Returns the encoding of an empty list wrapped in `depth` more lists, built without recursion.
Bytes NestedEmptyLists(int depth) {
  std::vector<Bytes> headers;
  std::size_t size = 1;  // c0
  for (int i = 0; i < depth; ++i) {
    Bytes header;
    if (size <= 55) {
      header.push_back(static_cast<std::uint8_t>(0xc0 + size));
    } else {
      Bytes length;
      for (std::size_t v = size; v != 0; v >>= 8) length.insert(length.begin(), static_cast<std::uint8_t>(v));
      header.push_back(static_cast<std::uint8_t>(0xf7 + length.size()));
      header.insert(header.end(), length.begin(), length.end());
    }
    size += header.size();
    headers.push_back(std::move(header));
  }
  Bytes out;
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) out.insert(out.end(), it->begin(), it->end());
  out.push_back(0xc0);
  return out;
}

}  // namespace

TEST_CASE("RLP encodes strings as the Ethereum RLP spec's examples show") {
  CHECK(EncodeHex(Text("dog")) == "83646f67");
  CHECK(EncodeHex(Text("")) == "80");
  CHECK(EncodeHex(RlpItem::String(Bytes{0x0f})) == "0f");
  CHECK(EncodeHex(RlpItem::String(Bytes{0x80})) == "8180");
  CHECK(EncodeHex(Text("Lorem ipsum dolor sit amet, consectetur adipisicing elit")) ==
        "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720"
        "656c6974");
}

TEST_CASE("RLP encodes integers in minimal big-endian form, zero as the empty string") {
  CHECK(EncodeHex(RlpItem::Uint(0)) == "80");
  CHECK(EncodeHex(RlpItem::Uint(15)) == "0f");
  CHECK(EncodeHex(RlpItem::Uint(1024)) == "820400");
  CHECK(EncodeHex(RlpItem::BigEndianUint(Bytes{0, 0, 0x04, 0x00})) == "820400");
  CHECK(EncodeHex(RlpItem::BigEndianUint(Bytes(32, 0))) == "80");
}

TEST_CASE("RLP encodes lists, including the spec's set-theoretic representation of three") {
  CHECK(EncodeHex(RlpItem::List({Text("cat"), Text("dog")})) == "c88363617483646f67");
  CHECK(EncodeHex(RlpItem::List({})) == "c0");
  RlpItem empty = RlpItem::List({});
  RlpItem one = RlpItem::List({empty});
  CHECK(EncodeHex(RlpItem::List({empty, one, RlpItem::List({empty, one})})) == "c7c0c1c0c3c0c1c0");
}

TEST_CASE("RLP uses the long list form for a payload over 55 bytes") {
  RlpItem list = RlpItem::List({Text(std::string(60, 'x'))});  // payload: b83c + 60 bytes = 62 bytes
  Bytes encoded = RlpEncode(list);
  CHECK(HexEncode(Bytes(encoded.begin(), encoded.begin() + 4)) == "f83eb83c");
  CHECK(Must(RlpDecode(encoded)) == list);
}

TEST_CASE("RlpDecode reads back what RlpEncode wrote") {
  RlpItem empty = RlpItem::List({});
  RlpItem nested = RlpItem::List({Text("cat"), RlpItem::List({Text(""), RlpItem::Uint(1024), empty}),
                                  Text(std::string(300, 'z')), RlpItem::Uint(0x7f)});
  CHECK(Must(RlpDecode(RlpEncode(nested))) == nested);
  CHECK(Must(RlpDecode(Must(HexDecode("c7c0c1c0c3c0c1c0")))) ==
        RlpItem::List({empty, RlpItem::List({empty}), RlpItem::List({empty, RlpItem::List({empty})})}));
}

TEST_CASE("RlpToUint reads integers and rejects lists, leading zeros and more than 64 bits") {
  CHECK(Must(RlpToUint(RlpItem::Uint(0))) == 0);
  CHECK(Must(RlpToUint(RlpItem::Uint(1024))) == 1024);
  CHECK(Must(RlpToUint(RlpItem::Uint(UINT64_MAX))) == UINT64_MAX);
  CHECK(RlpToUint(RlpItem::List({})).status().IsInvalidArgument());
  CHECK(RlpToUint(RlpItem::String(Bytes{0, 1})).status().IsInvalidArgument());
  CHECK(RlpToUint(RlpItem::String(Bytes(9, 1))).status().IsInvalidArgument());
}

TEST_CASE("RlpDecode rejects truncated, trailing and non-canonical input with InvalidArgument") {
  CHECK(DecodeStatus("").IsInvalidArgument());
  CHECK(DecodeStatus("83646f").IsInvalidArgument());              // string runs past the end
  CHECK(DecodeStatus("c883636174").IsInvalidArgument());          // list runs past the end
  CHECK(DecodeStatus("b9").IsInvalidArgument());                  // length of length runs past the end
  CHECK(DecodeStatus("ffffffffffffffffff").IsInvalidArgument());  // 2^64-1 byte list
  CHECK(DecodeStatus("83646f6700").IsInvalidArgument());          // trailing byte
  CHECK(DecodeStatus("8105").IsInvalidArgument());                // single byte with a prefix
  CHECK(DecodeStatus("b803646f67").IsInvalidArgument());          // long form for a short length
  CHECK(DecodeStatus("b900383c").IsInvalidArgument());            // length with a leading zero
  CHECK(DecodeStatus("c28105").IsInvalidArgument());              // bad item inside a list
  Status status = DecodeStatus("83646f");
  CHECK(status.message().find("runs past the end") != std::string::npos);
  CHECK(status.message().find("offset 0") != std::string::npos);
}

TEST_CASE("RlpDecode rejects lists nested too deeply instead of exhausting the stack") {
  CHECK(RlpDecode(NestedEmptyLists(64)).ok());
  CHECK(RlpDecode(NestedEmptyLists(65)).status().IsInvalidArgument());
  CHECK(RlpDecode(NestedEmptyLists(100000)).status().IsInvalidArgument());
  RlpItem item = RlpItem::List({});
  for (int i = 0; i < 60; ++i) item = RlpItem::List({item});
  CHECK(Must(RlpDecode(RlpEncode(item))) == item);
}

TEST_CASE("RlpDecode never crashes on arbitrary bytes") {
  std::uint32_t state = 12345;
  for (int round = 0; round < 20000; ++round) {
    Bytes input(state % 24);
    for (auto& byte : input) {
      state = state * 1664525u + 1013904223u;
      byte = static_cast<std::uint8_t>(state >> 24);
    }
    Result<RlpItem> decoded = RlpDecode(input);
    if (decoded.ok()) CHECK(RlpEncode(*decoded) == input);  // only canonical encodings are accepted
  }
}
