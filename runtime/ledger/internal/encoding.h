// The ledger's LevelDB key layout (DESIGN.md §5) and value encodings. Pure functions.
//   state    s\0<channel>\0<contract>\0<key>                  -> version(16) value
//   history  h\0<channel>\0<contract>\0<key>\0<block><tx>     -> flags(1) txid_len(2) txid value
//   blocks   b\0<channel>\0<number>                           -> block bytes
//   tx index t\0<channel>\0<tx_id>                            -> block(8) index(8) code(1) envelope hash(32)
//   reasons  x\0<channel>\0<block><index>                     -> why the transaction there is invalid
//   savepoint p\0<channel>                                    -> height(8) last_hash(32)
//   meta     m\0<key>                                          -> the owner's bytes
// Integers are big-endian so that keys sort numerically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/common/status.h"
#include "runtime/ledger/ledger.h"

namespace entente::ledger::internal {

void AppendUint64(std::string& out, std::uint64_t v);
std::uint64_t ReadUint64(std::string_view in);  // REQUIRES: in.size() >= 8

std::string StatePrefix(std::string_view channel, std::string_view contract);
std::string StateKey(std::string_view channel, std::string_view contract, std::string_view key);
std::string HistoryPrefix(std::string_view channel, std::string_view contract, std::string_view key);
std::string HistoryKey(std::string_view channel, std::string_view contract, std::string_view key, Version version);
std::string BlockKey(std::string_view channel, std::uint64_t number);
std::string BlockPrefix(std::string_view channel);
std::string TxKey(std::string_view channel, std::string_view tx_id);
std::string TxMessageKey(std::string_view channel, std::uint64_t block, std::uint64_t index);
std::string SavepointKey(std::string_view channel);
inline constexpr std::string_view kSavepointPrefix{"p\0", 2};
inline constexpr std::string_view kMetaPrefix{"m\0", 2};
// The ledger format: written when a ledger is created; a ledger with blocks and another (or no) format
// refuses to open, since its blocks would no longer validate (docs/ledger.md, "Format").
inline constexpr std::string_view kFormatKey{"f\0format", 8};
inline constexpr std::string_view kFormat{"3"};
// Where the block file's indexed blocks end (8 bytes), written with every block's index.
inline constexpr std::string_view kBlockFileEndKey{"f\0blocks-end", 12};
// The block file, in the ledger's directory.
inline constexpr std::string_view kBlockFileName{"blocks.dat"};
// Tx ids are hex SHA-256 (64 characters); anything longer than this is refused.
inline constexpr std::size_t kMaxTxIdLength = 256;

std::string EncodeVersioned(const Bytes& value, Version version);
// Like EncodeVersioned / EncodeHistory, into `out` (replacing its contents, reusing its buffer).
void EncodeVersionedInto(std::string& out, const Bytes& value, Version version);
void EncodeHistoryInto(std::string& out, std::string_view tx_id, bool is_delete, const Bytes& value);
Result<VersionedValue> DecodeVersioned(std::string_view data);

std::string EncodeHistory(std::string_view tx_id, bool is_delete, const Bytes& value);
Result<HistoryEntry> DecodeHistory(std::string_view data, Version version);

std::string EncodeTxLocation(const TxLocation& location);
Result<TxLocation> DecodeTxLocation(std::string_view data);

std::string EncodeSavepoint(const Savepoint& savepoint);
Result<Savepoint> DecodeSavepoint(std::string_view data);

// Returns InvalidArgument if a channel or contract name is empty, holds '\0' or '/', or is not UTF-8.
Status CheckName(std::string_view what, std::string_view name);

}  // namespace entente::ledger::internal
