#include "runtime/common/bytes.h"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace entente;

TEST_CASE("AsBytes, ToBytes and ToString convert text to bytes and back without change") {
  const std::string text("a\0b\xff", 4);
  ByteView view = AsBytes(text);
  REQUIRE(view.size() == 4);
  CHECK(view[0] == 'a');
  CHECK(view[1] == 0);
  CHECK(view[3] == 0xff);
  Bytes bytes = ToBytes(text);
  CHECK(bytes == Bytes{'a', 0, 'b', 0xff});
  CHECK(ToString(bytes) == text);
  CHECK(ToString(Bytes{}).empty());
}

TEST_CASE("HexEncode writes two lowercase digits per byte") {
  CHECK(HexEncode(Bytes{}).empty());
  CHECK(HexEncode(Bytes{0x00, 0x01, 0x7f, 0x80, 0xab, 0xff}) == "00017f80abff");
}

TEST_CASE("HexDecode accepts upper and lower case and inverts HexEncode") {
  auto lower = HexDecode("deadbeef");
  REQUIRE(lower.ok());
  CHECK(*lower == Bytes{0xde, 0xad, 0xbe, 0xef});
  auto upper = HexDecode("DEADBEEF");
  REQUIRE(upper.ok());
  CHECK(*upper == *lower);
  auto empty = HexDecode("");
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(i);
  auto round = HexDecode(HexEncode(all));
  REQUIRE(round.ok());
  CHECK(*round == all);
}

TEST_CASE("HexDecode rejects an odd length") {
  auto r = HexDecode("abc");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("HexDecode rejects a character outside the hex alphabet and names its offset") {
  auto r = HexDecode("00a0zz");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().find('4') != std::string::npos);

  auto second = HexDecode("0g");
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().message().find('1') != std::string::npos);
}

TEST_CASE("Base64Encode matches the RFC 4648 test vectors") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(Base64Encode(AsBytes(plain)) == encoded);
    auto decoded = Base64Decode(encoded);
    REQUIRE(decoded.ok());
    CHECK(ToString(*decoded) == plain);
  }
}

TEST_CASE("Base64Encode uses the standard alphabet with + and /") {
  CHECK(Base64Encode(Bytes{0xfb, 0xff, 0xbf}) == "+/+/");
  auto decoded = Base64Decode("+/+/");
  REQUIRE(decoded.ok());
  CHECK(*decoded == Bytes{0xfb, 0xff, 0xbf});
}

TEST_CASE("Base64Decode inverts Base64Encode for every length and byte value") {
  Bytes data;
  for (int n = 0; n < 70; ++n) {
    CAPTURE(n);
    auto decoded = Base64Decode(Base64Encode(data));
    REQUIRE(decoded.ok());
    CHECK(*decoded == data);
    data.push_back(static_cast<std::uint8_t>(n * 37 + 11));
  }
}

TEST_CASE("Base64Decode rejects a length that is not a multiple of 4") {
  for (std::string_view text : {"Zg", "Zg=", "Zm9vY", "Zm9vYmFy="}) {
    CAPTURE(text);
    auto r = Base64Decode(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("Base64Decode rejects a character outside the alphabet and names its offset") {
  auto r = Base64Decode("Zm9v*mFy");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().find('4') != std::string::npos);

  // URL-safe characters are not part of the standard alphabet.
  CHECK_FALSE(Base64Decode("-_-_").ok());
}

TEST_CASE("Base64Decode rejects whitespace anywhere") {
  CHECK_FALSE(Base64Decode("Zm9v Zm9v").ok());  // length 9 anyway
  CHECK_FALSE(Base64Decode("Zm9\nYmFy").ok());
  CHECK_FALSE(Base64Decode("Zm9vYmF ").ok());
  CHECK_FALSE(Base64Decode(" Zm9vYmF").ok());
}

TEST_CASE("Base64Decode rejects misplaced padding") {
  CHECK_FALSE(Base64Decode("=Zm9").ok());
  CHECK_FALSE(Base64Decode("Z=m9").ok());
  CHECK_FALSE(Base64Decode("Zg==Zm9v").ok());  // padding before the last group
  CHECK_FALSE(Base64Decode("Zm=v").ok());      // data after padding
  CHECK_FALSE(Base64Decode("Z===").ok());      // three padding characters
  CHECK_FALSE(Base64Decode("====").ok());
}

TEST_CASE("Base64Decode rejects non-zero unused bits so every input has one encoding") {
  // "Zg==" is the only encoding of "f"; "Zh==" carries non-zero bits in the unused part.
  CHECK(Base64Decode("Zg==").ok());
  CHECK_FALSE(Base64Decode("Zh==").ok());
  // "Zm8=" is the only encoding of "fo"; "Zm9=" sets an unused bit.
  CHECK(Base64Decode("Zm8=").ok());
  CHECK_FALSE(Base64Decode("Zm9=").ok());
}
