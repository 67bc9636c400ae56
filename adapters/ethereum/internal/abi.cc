#include "adapters/ethereum/internal/abi.h"

#include <algorithm>
#include <utility>

#include "adapters/ethereum/internal/keccak.h"

namespace entente::adapters::ethereum {
namespace {

constexpr std::size_t kWordSize = 32;
constexpr Selector kErrorStringSelector = {0x08, 0xc3, 0x79, 0xa0};

constexpr std::array<std::pair<AbiType, std::string_view>, 9> kTypeNames = {{
    {AbiType::kBool, "bool"},
    {AbiType::kUint32, "uint32"},
    {AbiType::kUint64, "uint64"},
    {AbiType::kUint256, "uint256"},
    {AbiType::kAddress, "address"},
    {AbiType::kBytes32, "bytes32"},
    {AbiType::kBytes, "bytes"},
    {AbiType::kString, "string"},
    {AbiType::kUint256Array, "uint256[]"},
}};

bool IsDynamic(AbiType type) {
  return type == AbiType::kBytes || type == AbiType::kString || type == AbiType::kUint256Array;
}

// Returns the number of leading bytes of a word that must be zero for `type`, or 0 for none.
std::size_t ZeroPrefixSize(AbiType type) {
  switch (type) {
    case AbiType::kBool:
      return 31;
    case AbiType::kUint32:
      return 28;
    case AbiType::kUint64:
      return 24;
    case AbiType::kAddress:
      return 12;
    default:
      return 0;
  }
}

void AppendWord(Bytes& out, const Word& word) { out.insert(out.end(), word.begin(), word.end()); }

// Appends `bytes` right-padded with zeros to a multiple of 32 bytes.
void AppendPadded(Bytes& out, ByteView bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
  out.resize(out.size() + (kWordSize - bytes.size() % kWordSize) % kWordSize, 0);
}

Word ReadWord(ByteView data, std::size_t pos) {
  Word word;
  std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(pos), kWordSize, word.begin());
  return word;
}

Status Malformed(std::size_t index, AbiType type, const std::string& problem) {
  return Status::InvalidArgument("abi: value " + std::to_string(index) + " (" + std::string(AbiTypeName(type)) +
                                 "): " + problem);
}

// Returns the word at `pos` as a size, which must be at most `limit`; `what` names it in errors.
Result<std::size_t> ReadSize(ByteView data, std::size_t pos, std::size_t limit, std::size_t index, AbiType type,
                             const std::string& what) {
  Word word = ReadWord(data, pos);
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < kWordSize; ++i) {
    if (i < 24 && word[i] != 0) return Malformed(index, type, what + " exceeds 64 bits");
    if (i >= 24) value = (value << 8) | word[i];
  }
  if (value > limit) {
    return Malformed(index, type,
                     what + " " + std::to_string(value) + " exceeds the " + std::to_string(limit) + " available");
  }
  return static_cast<std::size_t>(value);
}

// Returns the dynamic value of `type` whose offset is in head word `index`.
Result<AbiValue> DecodeTail(ByteView data, std::size_t index, AbiType type) {
  const std::size_t max_offset = data.size() - kWordSize;  // room for the length word
  ENTENTE_ASSIGN_OR_RETURN(std::size_t offset, ReadSize(data, index * kWordSize, max_offset, index, type, "offset"));
  const std::size_t body = offset + kWordSize;
  const std::size_t room = data.size() - body;
  AbiValue value;
  value.type = type;
  if (type == AbiType::kUint256Array) {
    ENTENTE_ASSIGN_OR_RETURN(std::size_t count, ReadSize(data, offset, room / kWordSize, index, type, "length"));
    for (std::size_t i = 0; i < count; ++i) value.words.push_back(ReadWord(data, body + i * kWordSize));
  } else {
    ENTENTE_ASSIGN_OR_RETURN(std::size_t length, ReadSize(data, offset, room, index, type, "length"));
    value.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(body),
                       data.begin() + static_cast<std::ptrdiff_t>(body + length));
  }
  return value;
}

// Returns the revert data after `selector`, or InvalidArgument if it starts otherwise.
Result<ByteView> StripSelector(ByteView revert_data, const Selector& selector) {
  if (revert_data.size() < selector.size() || !std::equal(selector.begin(), selector.end(), revert_data.begin())) {
    return Status::InvalidArgument("abi: revert data does not start with selector " + HexEncode(selector));
  }
  return revert_data.subspan(selector.size());
}

AbiValue StaticValue(AbiType type, const Word& word) {
  AbiValue value;
  value.type = type;
  value.word = word;
  return value;
}

}  // namespace

std::string_view AbiTypeName(AbiType type) {
  for (const auto& [known, name] : kTypeNames) {
    if (known == type) return name;
  }
  return "?";
}

Result<AbiType> ParseAbiType(std::string_view name) {
  for (const auto& [type, known] : kTypeNames) {
    if (known == name) return type;
  }
  return Status::InvalidArgument("abi: unsupported type '" + std::string(name) + "'");
}

Result<std::vector<AbiType>> ParseSignature(std::string_view signature) {
  const std::size_t open = signature.find('(');
  if (open == 0 || open == std::string_view::npos || signature.back() != ')') {
    return Status::InvalidArgument("abi: signature '" + std::string(signature) + "' is not name(types)");
  }
  if (signature.find(' ') != std::string_view::npos) {
    return Status::InvalidArgument("abi: signature '" + std::string(signature) + "' contains a space");
  }
  std::vector<AbiType> types;
  std::string_view list = signature.substr(open + 1, signature.size() - open - 2);
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    ENTENTE_ASSIGN_OR_RETURN(AbiType type, ParseAbiType(list.substr(0, comma)));
    types.push_back(type);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
    if (list.empty()) return Status::InvalidArgument("abi: signature '" + std::string(signature) + "' ends in ','");
  }
  return types;
}

Word UintWord(std::uint64_t value) {
  Word word{};
  for (std::size_t i = 0; i < 8; ++i) word[31 - i] = static_cast<std::uint8_t>(value >> (8 * i));
  return word;
}

AbiValue AbiValue::Bool(bool value) { return StaticValue(AbiType::kBool, UintWord(value ? 1 : 0)); }
AbiValue AbiValue::Uint32(std::uint32_t value) { return StaticValue(AbiType::kUint32, UintWord(value)); }
AbiValue AbiValue::Uint64(std::uint64_t value) { return StaticValue(AbiType::kUint64, UintWord(value)); }
AbiValue AbiValue::Uint256(const Word& big_endian) { return StaticValue(AbiType::kUint256, big_endian); }
AbiValue AbiValue::Bytes32(const Word& value) { return StaticValue(AbiType::kBytes32, value); }

AbiValue AbiValue::Address(const AddressBytes& address) {
  Word word{};
  std::copy(address.begin(), address.end(), word.begin() + 12);
  return StaticValue(AbiType::kAddress, word);
}

AbiValue AbiValue::DynamicBytes(ByteView value) {
  AbiValue result;
  result.type = AbiType::kBytes;
  result.bytes.assign(value.begin(), value.end());
  return result;
}

AbiValue AbiValue::String(std::string_view text) {
  AbiValue result = DynamicBytes(AsBytes(text));
  result.type = AbiType::kString;
  return result;
}

AbiValue AbiValue::Uint256Array(std::vector<Word> elements) {
  AbiValue result;
  result.type = AbiType::kUint256Array;
  result.words = std::move(elements);
  return result;
}

std::uint64_t AbiValue::AsUint64() const {
  std::uint64_t value = 0;
  for (std::size_t i = 24; i < kWordSize; ++i) value = (value << 8) | word[i];
  return value;
}

AddressBytes AbiValue::AsAddress() const {
  AddressBytes address;
  std::copy(word.begin() + 12, word.end(), address.begin());
  return address;
}

Selector FunctionSelector(std::string_view signature) {
  Hash256 hash = Keccak256(AsBytes(signature));
  Selector selector;
  std::copy_n(hash.begin(), selector.size(), selector.begin());
  return selector;
}

Bytes AbiEncode(std::span<const AbiValue> values) {
  Bytes head;
  Bytes tail;
  const std::size_t head_size = values.size() * kWordSize;
  for (const AbiValue& value : values) {
    if (!IsDynamic(value.type)) {
      AppendWord(head, value.word);
      continue;
    }
    AppendWord(head, UintWord(head_size + tail.size()));
    if (value.type == AbiType::kUint256Array) {
      AppendWord(tail, UintWord(value.words.size()));
      for (const Word& element : value.words) AppendWord(tail, element);
    } else {
      AppendWord(tail, UintWord(value.bytes.size()));
      AppendPadded(tail, value.bytes);
    }
  }
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

Result<Bytes> AbiEncodeCall(std::string_view signature, std::span<const AbiValue> args) {
  ENTENTE_ASSIGN_OR_RETURN(std::vector<AbiType> types, ParseSignature(signature));
  if (types.size() != args.size()) {
    return Status::InvalidArgument("abi: " + std::string(signature) + " takes " + std::to_string(types.size()) +
                                   " arguments, got " + std::to_string(args.size()));
  }
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (types[i] != args[i].type) {
      return Malformed(i, args[i].type, std::string(signature) + " expects " + std::string(AbiTypeName(types[i])));
    }
  }
  Selector selector = FunctionSelector(signature);
  Bytes call(selector.begin(), selector.end());
  Bytes encoded = AbiEncode(args);
  call.insert(call.end(), encoded.begin(), encoded.end());
  return call;
}

Result<std::vector<AbiValue>> AbiDecode(std::span<const AbiType> types, ByteView data) {
  if (data.size() < types.size() * kWordSize) {
    return Status::InvalidArgument("abi: " + std::to_string(types.size()) + " values need at least " +
                                   std::to_string(types.size() * kWordSize) + " bytes, got " +
                                   std::to_string(data.size()));
  }
  std::vector<AbiValue> values;
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (IsDynamic(types[i])) {
      ENTENTE_ASSIGN_OR_RETURN(AbiValue value, DecodeTail(data, i, types[i]));
      values.push_back(std::move(value));
      continue;
    }
    Word word = ReadWord(data, i * kWordSize);
    const std::size_t zeros = ZeroPrefixSize(types[i]);
    if (std::any_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(zeros), [](auto b) { return b != 0; }) ||
        (types[i] == AbiType::kBool && word[31] > 1)) {
      return Malformed(i, types[i], "word " + HexEncode(word) + " is out of range");
    }
    values.push_back(StaticValue(types[i], word));
  }
  return values;
}

Result<std::string> DecodeErrorString(ByteView revert_data) {
  ENTENTE_ASSIGN_OR_RETURN(ByteView args, StripSelector(revert_data, kErrorStringSelector));
  const AbiType types[] = {AbiType::kString};
  ENTENTE_ASSIGN_OR_RETURN(std::vector<AbiValue> values, AbiDecode(types, args));
  return values[0].AsString();
}

Result<std::vector<AbiValue>> DecodeCustomError(ByteView revert_data, std::string_view signature) {
  ENTENTE_ASSIGN_OR_RETURN(std::vector<AbiType> types, ParseSignature(signature));
  ENTENTE_ASSIGN_OR_RETURN(ByteView args, StripSelector(revert_data, FunctionSelector(signature)));
  return AbiDecode(types, args);
}

}  // namespace entente::adapters::ethereum
