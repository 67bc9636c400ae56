#include "runtime/ledger/internal/encoding.h"

#include <algorithm>

#include "runtime/common/json.h"

namespace entente::ledger::internal {
namespace {

std::string Prefixed(char tag, std::string_view a) {
  std::string out;
  out.reserve(2 + a.size() + 1);
  out.push_back(tag);
  out.push_back('\0');
  out.append(a);
  out.push_back('\0');
  return out;
}

}  // namespace

void AppendUint64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint64_t ReadUint64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  return v;
}

std::string StatePrefix(std::string_view channel, std::string_view contract) {
  std::string out = Prefixed('s', channel);
  out.append(contract);
  out.push_back('\0');
  return out;
}

std::string StateKey(std::string_view channel, std::string_view contract, std::string_view key) {
  std::string out = StatePrefix(channel, contract);
  out.append(key);
  return out;
}

std::string HistoryPrefix(std::string_view channel, std::string_view contract, std::string_view key) {
  std::string out = Prefixed('h', channel);
  out.append(contract);
  out.push_back('\0');
  out.append(key);
  out.push_back('\0');
  return out;
}

std::string HistoryKey(std::string_view channel, std::string_view contract, std::string_view key, Version version) {
  std::string out = HistoryPrefix(channel, contract, key);
  AppendUint64(out, version.block);
  AppendUint64(out, version.tx);
  return out;
}

std::string BlockPrefix(std::string_view channel) { return Prefixed('b', channel); }

std::string BlockKey(std::string_view channel, std::uint64_t number) {
  std::string out = BlockPrefix(channel);
  AppendUint64(out, number);
  return out;
}

std::string TxKey(std::string_view channel, std::string_view tx_id) {
  std::string out = Prefixed('t', channel);
  out.append(tx_id);
  return out;
}

std::string TxMessageKey(std::string_view channel, std::uint64_t block, std::uint64_t index) {
  std::string out = Prefixed('x', channel);
  AppendUint64(out, block);
  AppendUint64(out, index);
  return out;
}

std::string SavepointKey(std::string_view channel) {
  std::string out(kSavepointPrefix);
  out.append(channel);
  return out;
}

std::string EncodeVersioned(const Bytes& value, Version version) {
  std::string out;
  EncodeVersionedInto(out, value, version);
  return out;
}

void EncodeVersionedInto(std::string& out, const Bytes& value, Version version) {
  out.clear();
  AppendUint64(out, version.block);
  AppendUint64(out, version.tx);
  out.append(value.begin(), value.end());
}

Result<VersionedValue> DecodeVersioned(std::string_view data) {
  if (data.size() < 16) return Status::Corruption("state entry shorter than its version");
  VersionedValue v;
  v.version = {ReadUint64(data), ReadUint64(data.substr(8))};
  v.value.assign(data.begin() + 16, data.end());
  return v;
}

std::string EncodeHistory(std::string_view tx_id, bool is_delete, const Bytes& value) {
  std::string out;
  EncodeHistoryInto(out, tx_id, is_delete, value);
  return out;
}

void EncodeHistoryInto(std::string& out, std::string_view tx_id, bool is_delete, const Bytes& value) {
  out.clear();
  out.push_back(is_delete ? 1 : 0);
  out.push_back(static_cast<char>((tx_id.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(tx_id.size() & 0xff));
  out.append(tx_id);
  out.append(value.begin(), value.end());
}

Result<HistoryEntry> DecodeHistory(std::string_view data, Version version) {
  if (data.size() < 3) return Status::Corruption("history entry too short");
  size_t len = (static_cast<std::uint8_t>(data[1]) << 8) | static_cast<std::uint8_t>(data[2]);
  if (data.size() < 3 + len) return Status::Corruption("history entry shorter than its tx id");
  HistoryEntry e;
  e.version = version;
  e.is_delete = data[0] != 0;
  e.tx_id = std::string(data.substr(3, len));
  e.value.assign(data.begin() + 3 + static_cast<std::ptrdiff_t>(len), data.end());
  return e;
}

std::string EncodeTxLocation(const TxLocation& location) {
  std::string out;
  AppendUint64(out, location.block);
  AppendUint64(out, location.index);
  out.push_back(static_cast<char>(location.code));
  out.append(location.envelope_hash.begin(), location.envelope_hash.end());
  return out;
}

Result<TxLocation> DecodeTxLocation(std::string_view data) {
  // 17 bytes in ledgers written before entries carried the envelope's hash.
  if (data.size() != 17 && data.size() != 49) return Status::Corruption("tx index entry has the wrong size");
  auto code = ValidationCodeFromNumber(static_cast<std::uint8_t>(data[16]));
  if (!code) return Status::Corruption("tx index entry has an unknown validation code");
  TxLocation location{ReadUint64(data), ReadUint64(data.substr(8)), *code};
  if (data.size() == 49) std::copy(data.begin() + 17, data.end(), location.envelope_hash.begin());
  return location;
}

std::string EncodeSavepoint(const Savepoint& savepoint) {
  std::string out;
  AppendUint64(out, savepoint.height);
  out.append(savepoint.last_hash.begin(), savepoint.last_hash.end());
  return out;
}

Result<Savepoint> DecodeSavepoint(std::string_view data) {
  if (data.size() != 40) return Status::Corruption("savepoint has the wrong size");
  Savepoint s;
  s.height = ReadUint64(data);
  std::copy(data.begin() + 8, data.end(), s.last_hash.begin());
  return s;
}

Status CheckName(std::string_view what, std::string_view name) {
  if (name.empty()) return Status::InvalidArgument(std::string(what) + " name is empty");
  if (name.find('\0') != std::string_view::npos || name.find('/') != std::string_view::npos || !IsValidUtf8(name)) {
    return Status::InvalidArgument(std::string(what) + " name contains '/', NUL or bytes that are not UTF-8");
  }
  return Status::Ok();
}

}  // namespace entente::ledger::internal
