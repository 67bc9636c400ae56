// The Solidity contract ABI for the types a bridge contract needs: call data (selector and arguments),
// return tuples, and revert data. Static types take one 32-byte head word; bytes, string and uint256[]
// are dynamic: the head holds an offset into the tail. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

namespace entente::adapters::ethereum {

using Word = std::array<std::uint8_t, 32>;  // a 32-byte big-endian word, e.g. a uint256
using AddressBytes = std::array<std::uint8_t, 20>;
using Selector = std::array<std::uint8_t, 4>;

enum class AbiType { kBool, kUint32, kUint64, kUint256, kAddress, kBytes32, kBytes, kString, kUint256Array };

// Returns the canonical name of `type` as it appears in a signature, e.g. "uint256[]".
std::string_view AbiTypeName(AbiType type);

// Returns the type named `name` ("bool", "uint32", "uint64", "uint256", "address", "bytes32", "bytes",
// "string", "uint256[]"). Returns InvalidArgument for any other name, aliases such as "uint" included.
Result<AbiType> ParseAbiType(std::string_view name);

// Returns the parameter types of a canonical signature such as "transfer(address,uint256)". Returns
// InvalidArgument for a missing name or parenthesis, a space, or a type ParseAbiType rejects.
Result<std::vector<AbiType>> ParseSignature(std::string_view signature);

// A typed ABI value. Make one with the factories; decoding fills the field its type uses.
struct AbiValue {
  AbiType type = AbiType::kUint256;
  Word word{};              // static types: the head word (numbers, bool and address right-aligned)
  Bytes bytes;              // kBytes and kString: the contents
  std::vector<Word> words;  // kUint256Array: the elements

  static AbiValue Bool(bool value);
  static AbiValue Uint32(std::uint32_t value);
  static AbiValue Uint64(std::uint64_t value);
  static AbiValue Uint256(const Word& big_endian);
  static AbiValue Address(const AddressBytes& address);
  static AbiValue Bytes32(const Word& value);
  static AbiValue DynamicBytes(ByteView value);
  static AbiValue String(std::string_view text);
  static AbiValue Uint256Array(std::vector<Word> elements);

  // Each returns the value as the named kind. REQUIRES: a matching type (decoding checks the range).
  bool AsBool() const { return word[31] != 0; }
  std::uint64_t AsUint64() const;
  AddressBytes AsAddress() const;
  std::string AsString() const { return ToString(bytes); }

  friend bool operator==(const AbiValue& a, const AbiValue& b) = default;
};

// Returns `value` as a 32-byte big-endian word.
Word UintWord(std::uint64_t value);

// Returns the first 4 bytes of the Keccak-256 of `signature`, e.g. a9059cbb for
// "transfer(address,uint256)". The signature is hashed as given: it must be canonical.
Selector FunctionSelector(std::string_view signature);

// Returns the ABI encoding of `values` as one tuple: the head words, then the tails of dynamic values.
Bytes AbiEncode(std::span<const AbiValue> values);

// Returns call data: FunctionSelector(signature) then AbiEncode(args). Returns InvalidArgument when
// the signature does not parse or its parameter types differ from the types of `args`.
Result<Bytes> AbiEncodeCall(std::string_view signature, std::span<const AbiValue> args);

// Returns the values of a tuple of `types` encoded in `data` (e.g. a call's return data). Returns
// InvalidArgument, naming the argument, when data is too short, an offset or length points outside
// it, or a static value is out of its type's range (e.g. a bool other than 0 or 1).
Result<std::vector<AbiValue>> AbiDecode(std::span<const AbiType> types, ByteView data);

// Returns the message of revert data from `revert("...")` or `require(..., "...")`: the selector of
// Error(string), 08c379a0, then an ABI string. Returns InvalidArgument for another selector or a
// malformed string.
Result<std::string> DecodeErrorString(ByteView revert_data);

// Returns the arguments of the custom error `signature` (e.g. "Expired(uint64)") carried by revert
// data. Returns InvalidArgument when the signature does not parse, the selector differs, or the
// arguments are malformed.
Result<std::vector<AbiValue>> DecodeCustomError(ByteView revert_data, std::string_view signature);

}  // namespace entente::adapters::ethereum
