// The ledger of a node or of the relay (DESIGN.md §5): for many channels in one LevelDB, the
// versioned world state, the block store with its SHA-256 header hash chain, the transaction index,
// the history of every key, and a savepoint per channel. A block commits in one synced WriteBatch,
// so state never disagrees with the block store. The MVCC validator (ValidateMvcc) checks a block's
// transactions, in their serial order, against the committed versions before anything is written.
//
// Thread-safety: Ledger is thread-safe. Commits are serialized; any number of threads may read
// through Snapshots while a block commits, and each Snapshot sees the state as of its creation.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/composite_key.h"
#include "runtime/common/json.h"
#include "runtime/common/status.h"
#include "runtime/common/validation_code.h"

namespace entente::ledger {

using Hash = std::array<std::uint8_t, 32>;

// ---- Versions and read-write sets (DESIGN.md §3) ----

// The version of a key: the (block, tx index) of the transaction that last wrote it.
struct Version {
  std::uint64_t block = 0;
  std::uint64_t tx = 0;
  friend auto operator<=>(const Version&, const Version&) = default;
};

struct VersionedValue {
  Bytes value;
  Version version;
  friend bool operator==(const VersionedValue&, const VersionedValue&) = default;
};

// A key read during simulation, with the version seen (nullopt: the key did not exist).
struct KeyRead {
  std::string key;
  std::optional<Version> version;
  friend bool operator==(const KeyRead&, const KeyRead&) = default;
};

// A range read [start, end) and the keys it returned with their versions. `exhausted` is false when
// the reader stopped early (a page): then only the part up to the last key read is re-checked.
// An empty `end` means "to the end of the namespace".
struct RangeRead {
  std::string start;
  std::string end;
  bool exhausted = true;
  std::vector<KeyRead> keys_read;
  friend bool operator==(const RangeRead&, const RangeRead&) = default;
};

struct KeyWrite {
  std::string key;
  bool is_delete = false;
  Bytes value;
  friend bool operator==(const KeyWrite&, const KeyWrite&) = default;
};

// The reads and writes of one transaction in one namespace: a contract on a channel.
struct NamespaceRwSet {
  std::string channel;
  std::string contract;
  std::vector<KeyRead> reads;
  std::vector<RangeRead> range_reads;
  std::vector<KeyWrite> writes;
  friend bool operator==(const NamespaceRwSet&, const NamespaceRwSet&) = default;
};

struct RwSet {
  std::vector<NamespaceRwSet> namespaces;

  // {"namespaces":[{"namespace":"<channel>/<contract>","reads":[{"key","version":{"block","tx"}|null}],
  //  "range_reads":[{"start","end","exhausted","keys_read":[...]}],"writes":[{"key","value":b64}|{"key","delete":true}]}]}
  Json ToJson() const;
  // Returns InvalidArgument naming the first malformed field.
  static Result<RwSet> FromJson(const Json& json);
  friend bool operator==(const RwSet&, const RwSet&) = default;
};

// ---- Blocks ----

struct BlockHeader {
  std::string channel;
  std::uint64_t number = 0;
  Hash prev_hash{};  // Hash() of the previous block's header; zeros for block 0
  Hash data_hash{};  // SHA-256 over the envelopes (Block::ComputeDataHash)

  // SHA-256 of the header's canonical JSON: what the next block's prev_hash holds.
  Hash ComputeHash() const;
};

struct BlockMetadata {
  std::vector<ValidationCode> validation_codes;  // one per envelope
  std::int64_t timestamp_ms = 0;
  // The height of the alliance channel whose membership (certificates, CRLs, policies) validated the
  // block: every node validates it with that membership, whatever its own alliance channel has reached.
  std::uint64_t alliance_height = 0;
  Bytes relay_signature;  // over Block::SignedMetadataBytes(), by the relay
  // With replicated relays: each relay's signature over SignedMetadataBytes(), by relay id, as the
  // relays published them (a node counts the ones that verify). Empty with one relay.
  std::map<std::string, Bytes> certificate;
  // With replicated relays, where the block stands in the alliance's ordered log, so that a relay
  // catching up from its peers' certified blocks reads the log on where they did: the position of its
  // last envelope, and the revision from which the log held every envelope no block held yet when it
  // was cut. Signed; both 0 (and absent from the JSON) with one relay.
  std::uint64_t log_position = 0;
  std::int64_t resume_revision = 0;
};

struct Block {
  BlockHeader header;
  std::vector<Bytes> envelopes;  // the transactions, as the exact bytes the relay received
  BlockMetadata metadata;

  // SHA-256 over the concatenated SHA-256 of each envelope.
  Hash ComputeDataHash() const;
  // The SHA-256 of each envelope, in order, and the data hash made of them.
  std::vector<Hash> EnvelopeHashes() const;
  static Hash DataHashOf(const std::vector<Hash>& envelope_hashes);
  // The bytes the relay signs: canonical JSON of {alliance_height, header_hash, log_position?,
  // resume_revision?, timestamp_ms, validation_codes} (the log's fields only when not 0).
  Bytes SignedMetadataBytes() const;
  // SHA-256 of the header's and the metadata's stored JSON: with the data hash, it covers every byte
  // of the stored block.
  Hash HeadDigest() const;
  // The stored form: header and metadata as JSON, envelopes as raw length-prefixed bytes. Parse
  // returns InvalidArgument naming what is wrong with damaged or truncated input.
  Bytes Serialize() const;
  static Result<Block> Parse(ByteView bytes);
  // {"header":{channel,number,prev_hash,data_hash},"data":[base64...],"metadata":{validation_codes,
  //  timestamp_ms,alliance_height,relay_signature,certificate?,log_position?,resume_revision?}}: the form
  //  served over REST and printed
  //  by `entente ledger dump` (certificate: {relay id: base64}, only when it has signatures).
  Json ToJson() const;
  static Result<Block> FromJson(const Json& json);
};

// A transaction as the ledger commits it: its id, its final code, its read-write set (whose writes are
// applied only when the code is kValid), and the SHA-256 of its envelope when the committer hashed it
// already (the ledger then checks only that the block's data_hash is made of these hashes).
struct CommittedTx {
  std::string tx_id;
  ValidationCode code = ValidationCode::kValid;
  RwSet rwset;
  std::optional<Hash> envelope_hash;
  std::string message;  // why it is invalid, in words ("" for a valid one); kept beside the block
};

// Where a committed transaction is: its serial number (block, index), its code, and the SHA-256 of
// its envelope there (zeros in entries a ledger wrote before it kept them).
struct TxLocation {
  std::uint64_t block = 0;
  std::uint64_t index = 0;
  ValidationCode code = ValidationCode::kValid;
  Hash envelope_hash{};
  friend bool operator==(const TxLocation&, const TxLocation&) = default;
};

// One entry of a key's history, oldest first.
struct HistoryEntry {
  Version version;
  std::string tx_id;
  bool is_delete = false;
  Bytes value;
};

// The height of a channel (number of blocks) and the hash of its last block header.
struct Savepoint {
  std::uint64_t height = 0;
  Hash last_hash{};
};

struct RangePage {
  std::vector<std::pair<std::string, VersionedValue>> entries;
  std::string bookmark;  // the key to continue from; empty when the range is exhausted
};

// Composite keys (runtime/common/composite_key.h), as the ledger's callers know them.
using entente::CompositeKeyRange;
using entente::CreateCompositeKey;
using entente::SplitCompositeKey;

// Bookkeeping entries (key, value) of the ledger's owner; see Ledger::PutMeta.
using MetaEntries = std::vector<std::pair<std::string, Bytes>>;

// ---- Reading ----

// A consistent, read-only view of the ledger at one moment. Cheap to create; thread-safe.
class Snapshot {
 public:
  virtual ~Snapshot() = default;

  // Returns nullopt when the key does not exist; Corruption for an undecodable entry.
  virtual Result<std::optional<VersionedValue>> Get(std::string_view channel, std::string_view contract,
                                                    std::string_view key) const = 0;
  // Keys in [start, end) (end empty: to the namespace's end) in key order, starting at `bookmark` when
  // given (it must lie in the range), at most `page_size` entries (0: all).
  virtual Result<RangePage> Range(std::string_view channel, std::string_view contract, std::string_view start,
                                  std::string_view end, std::size_t page_size = 0,
                                  std::string_view bookmark = {}) const = 0;
  // The writes of `key`, oldest first.
  virtual Result<std::vector<HistoryEntry>> History(std::string_view channel, std::string_view contract,
                                                    std::string_view key) const = 0;
  // Where `tx_id` was committed on `channel`; nullopt if it was not.
  virtual Result<std::optional<TxLocation>> FindTx(std::string_view channel, std::string_view tx_id) const = 0;
  // Why the transaction at `index` of block `block` of `channel` is invalid, as committed with it
  // (CommittedTx::message); "" for a valid one, one not committed, or one committed without a message.
  virtual Result<std::string> TxMessage(std::string_view channel, std::uint64_t block, std::uint64_t index) const = 0;
  virtual Savepoint GetSavepoint(std::string_view channel) const = 0;
};

// ---- The ledger ----

class Ledger {
 public:
  virtual ~Ledger() = default;

  // Opens (creating if needed) the ledger in `dir`. For every channel it checks that the last block
  // parses, has the savepoint's number and hash, and links to the block before it; a damaged store
  // is refused with Corruption naming the channel, the block number and what did not match.
  enum class OpenMode { kCreateIfMissing, kExisting };
  // With kExisting (for inspection tools) a directory without a ledger is NotFound, not created.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& dir, OpenMode mode = OpenMode::kCreateIfMissing);

  virtual std::unique_ptr<Snapshot> GetSnapshot() const = 0;
  virtual std::vector<std::string> Channels() const = 0;
  virtual Savepoint GetSavepoint(std::string_view channel) const = 0;

  // Returns the block, NotFound beyond the height, Corruption if it is stored damaged.
  virtual Result<Block> GetBlock(std::string_view channel, std::uint64_t number) const = 0;

  // Commits `block` and applies the writes of its valid transactions, all in one synced WriteBatch:
  // block, tx index, history, state and savepoint. `txs` holds one entry per envelope, with the codes
  // of block.metadata.validation_codes. Returns InvalidArgument, writing nothing, if the block number
  // is not the height, prev_hash is not the last block's hash, data_hash does not match, the counts or
  // codes disagree, a tx id is empty or longer than 256 bytes, or a valid tx writes to another channel. The tx index records each transaction that claims its id
  // (ClaimsTxId), valid or not, so that its initiator can learn the outcome.
  // REQUIRES: the codes come from ValidateMvcc (or match a validator's that did), so a claimed id is new.
  Status Commit(const Block& block, const std::vector<CommittedTx>& txs) { return Commit(block, txs, {}); }
  // Like Commit, and writes `meta` entries (see PutMeta) in the same synced WriteBatch: bookkeeping of
  // the ledger's owner (e.g. how far the relay's log has been ordered) that must never disagree with
  // the blocks.
  virtual Status Commit(const Block& block, const std::vector<CommittedTx>& txs, const MetaEntries& meta) = 0;

  // Bookkeeping entries of the ledger's owner, outside every channel: written synced, read back by
  // key or by prefix in key order. InvalidArgument for an empty key.
  virtual Status PutMeta(const MetaEntries& entries) = 0;
  virtual Result<std::optional<Bytes>> GetMeta(std::string_view key) const = 0;
  virtual Result<MetaEntries> ScanMeta(std::string_view prefix) const = 0;

  // Walks `channel`'s whole hash chain from block 0; Corruption naming the first damaged block.
  virtual Status VerifyChain(std::string_view channel) const = 0;

  // The shape of the last committed WriteBatch, for benchmarks and metrics.
  struct CommitStats {
    std::uint64_t batch_entries = 0;
    std::uint64_t batch_bytes = 0;
    std::uint64_t file_bytes = 0;  // the block's bytes, appended to the block file before the batch
  };
  virtual CommitStats LastCommitStats() const = 0;
};

// ---- Data consistency (MVCC) ----

// A transaction about to be ordered into a block: its id, its read-write set, and the code the
// earlier checks gave it (kValid if it passed them so far).
struct PendingTx {
  std::string tx_id;
  const RwSet* rwset = nullptr;
  ValidationCode code = ValidationCode::kValid;
};

// True when a transaction with this code owns its tx id: its creator's signature over the id was
// verified (so it is not BAD_PAYLOAD, BAD_CREATOR_SIGNATURE or BAD_PROPOSAL_TXID) and it is not itself a
// duplicate. Only such transactions enter the tx index and make later copies DUPLICATE_TXID, so that
// garbage carrying a copied id can never take the id from its real owner.
bool ClaimsTxId(ValidationCode code);

// Validates `txs` in their serial order as block `block_number` of `channel`, against `snapshot` plus
// the writes of the earlier valid transactions of the same block. Returns one code per tx:
//  - kDuplicateTxid for a tx that claims its id (ClaimsTxId of its given code) when the id is already
//    in the channel's index or was claimed earlier in the block;
//  - otherwise the given code when it is not kValid;
//  - kMvccReadConflict when a read's version is not the committed one, or an earlier valid tx of the
//    block wrote that key;
//  - kPhantomReadConflict when re-running a range read would return other keys or versions;
//  - kIllegalWriteset when it writes to a channel other than `channel`;
//  - kValid otherwise.
// When `reasons` is given it receives one entry per tx: for a code this validator decided (a duplicate,
// a read conflict, an illegal write set), why in words (for a read conflict the key or range, the
// version read and the version now); "" for a valid tx or a code it was given.
Result<std::vector<ValidationCode>> ValidateMvcc(const Snapshot& snapshot, std::string_view channel,
                                                 std::uint64_t block_number, const std::vector<PendingTx>& txs,
                                                 std::vector<std::string>* reasons = nullptr);

// ---- Benchmark baseline ----

// The machine's own limit for the ledger's commits: appends `file_bytes` to a file and syncs it, then
// writes a synced LevelDB WriteBatch of `entries` puts totalling about `bytes` (the shape of a ledger
// commit, see Ledger::LastCommitStats) into a scratch database under `dir`, with no ledger logic, for
// at least `seconds`. Returns batches/second.
Result<double> MeasureRawSyncedBatchRate(const std::string& dir, std::uint64_t entries, std::uint64_t bytes,
                                         std::uint64_t file_bytes,
                                         double seconds);

}  // namespace entente::ledger
