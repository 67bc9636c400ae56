#include "adapters/ethereum/internal/abi.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/must.h"

using namespace entente;
using namespace entente::adapters::ethereum;
using entente::testing::Must;

namespace {

// Returns the ABI word of a small number, as hex.
std::string WordHex(std::uint64_t value) { return HexEncode(UintWord(value)); }

Word WordOf(std::string_view hex) {
  Word word{};
  Bytes bytes = Must(HexDecode(hex));
  REQUIRE(bytes.size() == word.size());
  std::copy(bytes.begin(), bytes.end(), word.begin());
  return word;
}

}  // namespace

TEST_CASE("FunctionSelector is the first four bytes of the signature's Keccak-256") {
  CHECK(HexEncode(FunctionSelector("transfer(address,uint256)")) == "a9059cbb");
  CHECK(HexEncode(FunctionSelector("baz(uint32,bool)")) == "cdcd77c0");
  CHECK(HexEncode(FunctionSelector("sam(bytes,bool,uint256[])")) == "a5643bf2");
  CHECK(HexEncode(FunctionSelector("Error(string)")) == "08c379a0");
}

TEST_CASE("AbiEncodeCall reproduces the Solidity ABI spec's baz(uint32,bool) example") {
  const std::vector<AbiValue> args = {AbiValue::Uint32(69), AbiValue::Bool(true)};
  CHECK(HexEncode(Must(AbiEncodeCall("baz(uint32,bool)", args))) == "cdcd77c0" + WordHex(69) + WordHex(1));
}

TEST_CASE("AbiEncodeCall reproduces the Solidity ABI spec's sam(bytes,bool,uint256[]) dynamic example") {
  const std::vector<AbiValue> args = {AbiValue::DynamicBytes(AsBytes("dave")), AbiValue::Bool(true),
                                      AbiValue::Uint256Array({UintWord(1), UintWord(2), UintWord(3)})};
  const std::string expected =
      "a5643bf2"
      "0000000000000000000000000000000000000000000000000000000000000060"
      "0000000000000000000000000000000000000000000000000000000000000001"
      "00000000000000000000000000000000000000000000000000000000000000a0"
      "0000000000000000000000000000000000000000000000000000000000000004"
      "6461766500000000000000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000000003"
      "0000000000000000000000000000000000000000000000000000000000000001"
      "0000000000000000000000000000000000000000000000000000000000000002"
      "0000000000000000000000000000000000000000000000000000000000000003";
  Bytes call = Must(AbiEncodeCall("sam(bytes,bool,uint256[])", args));
  CHECK(HexEncode(call) == expected);

  const std::vector<AbiType> types = Must(ParseSignature("sam(bytes,bool,uint256[])"));
  CHECK(Must(AbiDecode(types, ByteView(call).subspan(4))) == args);
}

TEST_CASE("AbiEncode right-aligns addresses and numbers and keeps bytes32 as given") {
  AddressBytes address;
  address.fill(0x35);
  Word id = WordOf("0102030405060708091011121314151617181920212223242526272829303132");
  const std::vector<AbiValue> values = {AbiValue::Address(address), AbiValue::Bytes32(id), AbiValue::Uint64(UINT64_MAX),
                                        AbiValue::Uint256(id)};
  CHECK(HexEncode(AbiEncode(values)) == std::string(24, '0') + HexEncode(address) + HexEncode(id) +
                                            std::string(48, '0') + std::string(16, 'f') + HexEncode(id));
}

TEST_CASE("AbiDecode reads back a (bytes, uint64) return tuple") {
  const std::vector<AbiValue> values = {AbiValue::DynamicBytes(Bytes(33, 0xab)), AbiValue::Uint64(1234567890123)};
  Bytes encoded = AbiEncode(values);
  CHECK(encoded.size() == 32 * 2 + 32 + 64);  // head, length, 33 bytes padded to 64
  const std::vector<AbiType> types = {AbiType::kBytes, AbiType::kUint64};
  std::vector<AbiValue> decoded = Must(AbiDecode(types, encoded));
  REQUIRE(decoded.size() == 2);
  CHECK(decoded[0].bytes == Bytes(33, 0xab));
  CHECK(decoded[1].AsUint64() == 1234567890123);
  CHECK(decoded == values);
}

TEST_CASE("AbiDecode reads back every supported type, empty dynamic values included") {
  AddressBytes address;
  address.fill(0x9d);
  const std::vector<AbiValue> values = {
      AbiValue::Bool(false),      AbiValue::Uint32(UINT32_MAX),      AbiValue::Address(address),
      AbiValue::String(""),       AbiValue::String("héllo, bridge"), AbiValue::DynamicBytes({}),
      AbiValue::Uint256Array({}), AbiValue::Bytes32(UintWord(7))};
  std::vector<AbiType> types;
  for (const AbiValue& value : values) types.push_back(value.type);
  std::vector<AbiValue> decoded = Must(AbiDecode(types, AbiEncode(values)));
  CHECK(decoded == values);
  CHECK(decoded[2].AsAddress() == address);
  CHECK(decoded[4].AsString() == "héllo, bridge");
}

TEST_CASE("AbiDecode rejects short data, offsets and lengths out of bounds, and out-of-range words") {
  const std::vector<AbiType> bytes_type = {AbiType::kBytes};
  Bytes good = AbiEncode(std::vector<AbiValue>{AbiValue::DynamicBytes(AsBytes("dave"))});
  CHECK(Must(AbiDecode(bytes_type, good))[0].bytes == ToBytes("dave"));

  CHECK(AbiDecode(bytes_type, ByteView(good).first(31)).status().IsInvalidArgument());
  Bytes bad_offset = good;
  bad_offset[31] = 0x60;  // the length word would start at the end of the data
  CHECK(AbiDecode(bytes_type, bad_offset).status().IsInvalidArgument());
  Bytes huge_offset = good;
  huge_offset[0] = 0x01;  // 2^248
  Status status = AbiDecode(bytes_type, huge_offset).status();
  CHECK(status.IsInvalidArgument());
  CHECK(status.message().find("value 0 (bytes): offset") != std::string::npos);
  Bytes long_length = good;
  long_length[63] = 33;  // 33 bytes claimed, 32 present
  CHECK(AbiDecode(bytes_type, long_length).status().IsInvalidArgument());
  Bytes huge_length = good;
  huge_length[40] = 0x01;
  CHECK(AbiDecode(bytes_type, huge_length).status().IsInvalidArgument());

  const std::vector<AbiType> array_type = {AbiType::kUint256Array};
  Bytes array = AbiEncode(std::vector<AbiValue>{AbiValue::Uint256Array({UintWord(1)})});
  array[63] = 2;  // two elements claimed, one present
  CHECK(AbiDecode(array_type, array).status().IsInvalidArgument());

  const std::vector<AbiType> bool_type = {AbiType::kBool};
  CHECK(AbiDecode(bool_type, UintWord(2)).status().IsInvalidArgument());
  const std::vector<AbiType> uint64_type = {AbiType::kUint64};
  Word too_big = UintWord(1);
  too_big[23] = 1;
  CHECK(AbiDecode(uint64_type, too_big).status().IsInvalidArgument());
  const std::vector<AbiType> address_type = {AbiType::kAddress};
  Word dirty_address{};
  dirty_address[11] = 1;
  CHECK(AbiDecode(address_type, dirty_address).status().IsInvalidArgument());
}

TEST_CASE("AbiDecode never crashes on arbitrary data") {
  const std::vector<AbiType> types = {AbiType::kString, AbiType::kUint256Array, AbiType::kBytes};
  std::uint32_t state = 777;
  for (int round = 0; round < 5000; ++round) {
    Bytes data(96 + state % 96);
    for (auto& byte : data) {
      state = state * 1664525u + 1013904223u;
      // Mostly zeros, so that offsets and lengths are often small enough to be followed.
      byte = (state >> 28) == 0 ? static_cast<std::uint8_t>(state >> 20) : 0;
    }
    (void)AbiDecode(types, data);
  }
}

TEST_CASE("ParseSignature reads supported types and rejects malformed signatures") {
  CHECK(Must(ParseSignature("f()")).empty());
  CHECK(Must(ParseSignature("sam(bytes,bool,uint256[])")) ==
        std::vector<AbiType>{AbiType::kBytes, AbiType::kBool, AbiType::kUint256Array});
  CHECK(ParseSignature("f").status().IsInvalidArgument());
  CHECK(ParseSignature("(uint256)").status().IsInvalidArgument());
  CHECK(ParseSignature("f(uint256, bool)").status().IsInvalidArgument());
  CHECK(ParseSignature("f(uint256,)").status().IsInvalidArgument());
  CHECK(ParseSignature("f(uint)").status().IsInvalidArgument());
  CHECK(ParseSignature("f(int256)").status().IsInvalidArgument());
  CHECK(ParseSignature("").status().IsInvalidArgument());
}

TEST_CASE("AbiEncodeCall rejects arguments whose types differ from the signature") {
  const std::vector<AbiValue> args = {AbiValue::Uint64(1)};
  CHECK(AbiEncodeCall("f(uint256)", args).status().IsInvalidArgument());
  CHECK(AbiEncodeCall("f(uint64,bool)", args).status().IsInvalidArgument());
  CHECK(AbiEncodeCall("f(uint64)", args).ok());
}

TEST_CASE("DecodeErrorString reads the message of an Error(string) revert") {
  const std::vector<AbiValue> args = {AbiValue::String("Not enough Ether provided.")};
  Bytes revert = Must(AbiEncodeCall("Error(string)", args));
  CHECK(HexEncode(ByteView(revert).first(4)) == "08c379a0");
  CHECK(Must(DecodeErrorString(revert)) == "Not enough Ether provided.");

  Bytes other = revert;
  other[0] = 0x4e;
  CHECK(DecodeErrorString(other).status().IsInvalidArgument());
  CHECK(DecodeErrorString(ByteView(revert).first(3)).status().IsInvalidArgument());
  CHECK(DecodeErrorString(ByteView(revert).first(revert.size() - 32)).status().IsInvalidArgument());
}

TEST_CASE("DecodeCustomError reads the arguments of an error matched by its signature") {
  const std::vector<AbiValue> args = {AbiValue::Uint64(42), AbiValue::Bytes32(UintWord(9))};
  Bytes revert = Must(AbiEncodeCall("Expired(uint64,bytes32)", args));
  CHECK(HexEncode(ByteView(revert).first(4)) == "ca08c80d");  // keccak per js-sha3
  CHECK(Must(DecodeCustomError(revert, "Expired(uint64,bytes32)")) == args);
  CHECK(DecodeCustomError(revert, "Expired(uint64,uint256)").status().IsInvalidArgument());
  CHECK(DecodeCustomError(revert, "Expired(uint64").status().IsInvalidArgument());
}
