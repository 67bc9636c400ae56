// Ledger over LevelDB: the only file of Entente that includes LevelDB.
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "runtime/common/file.h"
#include "runtime/common/log.h"
#include "runtime/ledger/internal/block_file.h"
#include "runtime/ledger/internal/encoding.h"
#include "runtime/ledger/ledger.h"

namespace entente::ledger {
namespace {

using namespace internal;

Status FromLevelDb(const leveldb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  return Status::IOError(msg);
}

std::string BlockWhere(std::string_view channel, std::uint64_t number) {
  return "channel " + std::string(channel) + " block " + std::to_string(number);
}

// Reads and parses block `number` of `channel` from `file`, where the index places it; Corruption
// naming it if damaged.
Result<Block> ReadBlock(leveldb::DB* db, const BlockFile& file, const leveldb::ReadOptions& options,
                        std::string_view channel, std::uint64_t number) {
  std::string data;
  leveldb::Status s = db->Get(options, BlockKey(channel, number), &data);
  if (s.IsNotFound()) return Status::NotFound(BlockWhere(channel, number) + " does not exist");
  if (!s.ok()) return FromLevelDb(s, BlockWhere(channel, number));
  auto location = DecodeBlockLocation(data);
  if (!location.ok()) return Status::Corruption(BlockWhere(channel, number) + ": " + location.status().message());
  auto bytes = file.Read(location->offset, location->length);
  if (!bytes.ok()) return bytes.status().WithContext(BlockWhere(channel, number));
  auto block = Block::Parse(*bytes);
  if (!block.ok()) return Status::Corruption(BlockWhere(channel, number) + " is damaged: " + block.status().message());
  if (block->header.channel != channel || block->header.number != number) {
    return Status::Corruption(BlockWhere(channel, number) + " is damaged: its header says channel " +
                              block->header.channel + " block " + std::to_string(block->header.number));
  }
  if (block->ComputeDataHash() != block->header.data_hash) {
    return Status::Corruption(BlockWhere(channel, number) + " is damaged: its data does not match data_hash");
  }
  if (block->HeadDigest() != location->head_digest) {
    return Status::Corruption(BlockWhere(channel, number) + " is damaged: its header or metadata is not as committed");
  }
  return block;
}

class LevelDbSnapshot final : public Snapshot {
 public:
  LevelDbSnapshot(std::shared_ptr<leveldb::DB> db) : db_(std::move(db)), snapshot_(db_->GetSnapshot()) {
    options_.snapshot = snapshot_;
    options_.verify_checksums = true;
  }
  ~LevelDbSnapshot() override { db_->ReleaseSnapshot(snapshot_); }

  Result<std::optional<VersionedValue>> Get(std::string_view channel, std::string_view contract,
                                            std::string_view key) const override {
    std::string data;
    leveldb::Status s = db_->Get(options_, StateKey(channel, contract, key), &data);
    if (s.IsNotFound()) return std::optional<VersionedValue>();
    if (!s.ok()) return FromLevelDb(s, "state read");
    ENTENTE_ASSIGN_OR_RETURN(VersionedValue v, DecodeVersioned(data));
    return std::optional<VersionedValue>(std::move(v));
  }

  Result<RangePage> Range(std::string_view channel, std::string_view contract, std::string_view start,
                          std::string_view end, std::size_t page_size, std::string_view bookmark) const override {
    if (!bookmark.empty() && (bookmark < start || (!end.empty() && bookmark >= end))) {
      return Status::InvalidArgument("bookmark lies outside the range");
    }
    std::string prefix = StatePrefix(channel, contract);
    std::string from = prefix + std::string(bookmark.empty() ? start : bookmark);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(options_));
    RangePage page;
    for (it->Seek(from); it->Valid(); it->Next()) {
      leveldb::Slice k = it->key();
      if (!k.starts_with(prefix)) break;
      std::string_view key(k.data() + prefix.size(), k.size() - prefix.size());
      if (!end.empty() && key >= end) break;
      if (page_size > 0 && page.entries.size() == page_size) {
        page.bookmark = std::string(key);
        break;
      }
      ENTENTE_ASSIGN_OR_RETURN(VersionedValue v, DecodeVersioned(std::string_view(it->value().data(), it->value().size())));
      page.entries.emplace_back(std::string(key), std::move(v));
    }
    if (!it->status().ok()) return FromLevelDb(it->status(), "range read");
    return page;
  }

  Result<std::vector<HistoryEntry>> History(std::string_view channel, std::string_view contract,
                                            std::string_view key) const override {
    std::string prefix = HistoryPrefix(channel, contract, key);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(options_));
    std::vector<HistoryEntry> out;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      // Entries of this key have exactly a 16-byte version after the prefix; longer suffixes belong
      // to other keys that merely start with this key followed by NUL.
      if (it->key().size() != prefix.size() + 16) continue;
      std::string_view version_bytes(it->key().data() + prefix.size(), 16);
      Version v{ReadUint64(version_bytes), ReadUint64(version_bytes.substr(8))};
      ENTENTE_ASSIGN_OR_RETURN(HistoryEntry e, DecodeHistory(std::string_view(it->value().data(), it->value().size()), v));
      out.push_back(std::move(e));
    }
    if (!it->status().ok()) return FromLevelDb(it->status(), "history read");
    return out;
  }

  Result<std::optional<TxLocation>> FindTx(std::string_view channel, std::string_view tx_id) const override {
    std::string data;
    leveldb::Status s = db_->Get(options_, TxKey(channel, tx_id), &data);
    if (s.IsNotFound()) return std::optional<TxLocation>();
    if (!s.ok()) return FromLevelDb(s, "tx index read");
    ENTENTE_ASSIGN_OR_RETURN(TxLocation location, DecodeTxLocation(data));
    return std::optional<TxLocation>(location);
  }

  Result<std::string> TxMessage(std::string_view channel, std::uint64_t block, std::uint64_t index) const override {
    std::string data;
    leveldb::Status s = db_->Get(options_, TxMessageKey(channel, block, index), &data);
    if (s.IsNotFound()) return std::string();
    if (!s.ok()) return FromLevelDb(s, "reason read");
    return data;
  }

  Savepoint GetSavepoint(std::string_view channel) const override {
    std::string data;
    if (!db_->Get(options_, SavepointKey(channel), &data).ok()) return {};
    auto s = DecodeSavepoint(data);
    return s.ok() ? *s : Savepoint{};
  }

 private:
  std::shared_ptr<leveldb::DB> db_;
  const leveldb::Snapshot* snapshot_;
  leveldb::ReadOptions options_;
};

std::string MetaKey(std::string_view key) {
  std::string out(kMetaPrefix);
  out.append(key);
  return out;
}

Status AddMeta(leveldb::WriteBatch& batch, const MetaEntries& entries) {
  for (const auto& [key, value] : entries) {
    if (key.empty()) return Status::InvalidArgument("a meta entry needs a key");
    batch.Put(MetaKey(key), leveldb::Slice(reinterpret_cast<const char*>(value.data()), value.size()));
  }
  return Status::Ok();
}

class LevelDbLedger final : public Ledger {
 public:
  LevelDbLedger(std::shared_ptr<leveldb::DB> db, std::unique_ptr<BlockFile> blocks,
                std::map<std::string, Savepoint, std::less<>> savepoints)
      : db_(std::move(db)), blocks_(std::move(blocks)), savepoints_(std::move(savepoints)) {}

  using Ledger::Commit;
  std::unique_ptr<Snapshot> GetSnapshot() const override { return std::make_unique<LevelDbSnapshot>(db_); }

  std::vector<std::string> Channels() const override {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, sp] : savepoints_) out.push_back(name);
    return out;
  }

  Savepoint GetSavepoint(std::string_view channel) const override {
    std::shared_lock lock(mu_);
    auto it = savepoints_.find(channel);
    return it == savepoints_.end() ? Savepoint{} : it->second;
  }

  Result<Block> GetBlock(std::string_view channel, std::uint64_t number) const override {
    leveldb::ReadOptions options;
    options.verify_checksums = true;
    return ReadBlock(db_.get(), *blocks_, options, channel, number);
  }

  Status Commit(const Block& block, const std::vector<CommittedTx>& txs, const MetaEntries& meta) override {
    const std::string& channel = block.header.channel;
    ENTENTE_RETURN_IF_ERROR(CheckName("channel", channel));
    std::lock_guard commit_lock(commit_mu_);
    Savepoint current = GetSavepoint(channel);
    std::string where = BlockWhere(channel, block.header.number);
    if (block.header.number != current.height) {
      return Status::InvalidArgument(where + ": expected block number " + std::to_string(current.height));
    }
    if (block.header.prev_hash != current.last_hash) {
      return Status::InvalidArgument(where + ": prev_hash does not match the last block's hash");
    }
    // Each envelope is hashed once on its way in: by the committer when it gives the hashes, else here.
    const bool hashed = txs.size() == block.envelopes.size() &&
                        std::all_of(txs.begin(), txs.end(), [](const CommittedTx& tx) { return tx.envelope_hash; });
    std::vector<Hash> envelope_hashes;
    if (hashed) {
      envelope_hashes.reserve(txs.size());
      for (const CommittedTx& tx : txs) envelope_hashes.push_back(*tx.envelope_hash);
    } else {
      envelope_hashes = block.EnvelopeHashes();
    }
    if (Block::DataHashOf(envelope_hashes) != block.header.data_hash) {
      return Status::InvalidArgument(where + ": data_hash does not match its envelopes");
    }
    if (block.metadata.validation_codes.size() != block.envelopes.size() || txs.size() != block.envelopes.size()) {
      return Status::InvalidArgument(where + ": " + std::to_string(block.envelopes.size()) + " envelopes, " +
                                     std::to_string(block.metadata.validation_codes.size()) + " codes, " +
                                     std::to_string(txs.size()) + " transactions");
    }
    for (size_t i = 0; i < txs.size(); ++i) {
      if (txs[i].tx_id.empty() || txs[i].tx_id.size() > kMaxTxIdLength) {
        return Status::InvalidArgument(where + ": tx " + std::to_string(i) + " has an empty or over-long id");
      }
      if (txs[i].code != block.metadata.validation_codes[i]) {
        return Status::InvalidArgument(where + ": tx " + std::to_string(i) + " code differs from the block's");
      }
      for (const NamespaceRwSet& ns : txs[i].rwset.namespaces) {
        ENTENTE_RETURN_IF_ERROR(CheckName("channel", ns.channel));
        ENTENTE_RETURN_IF_ERROR(CheckName("contract", ns.contract));
        // A version is (block, tx) of this channel: a write to another channel's state would give a
        // key there a version that channel's own blocks can repeat. Cross-chain writes are delivered
        // to their chain instead (DESIGN.md §8).
        if (txs[i].code == ValidationCode::kValid && !ns.writes.empty() && ns.channel != channel) {
          return Status::InvalidArgument(where + ": tx " + std::to_string(i) + " writes to channel " + ns.channel);
        }
      }
    }

    leveldb::WriteBatch batch;
    std::uint64_t entries = 3;  // the block's location, the block file's end and the savepoint
    // The block's bytes go to the block file first (synced), the index of them with everything else.
    const Bytes serialized = block.Serialize();
    ENTENTE_ASSIGN_OR_RETURN(const std::uint64_t offset, blocks_->Write(serialized));
    const std::uint64_t block_end = offset + serialized.size();
    batch.Put(BlockKey(channel, block.header.number), EncodeBlockLocation({offset, serialized.size(), block.HeadDigest()}));
    std::string end_value;
    AppendUint64(end_value, block_end);
    batch.Put(leveldb::Slice(kBlockFileEndKey.data(), kBlockFileEndKey.size()), end_value);
    std::set<std::string_view> indexed;
    std::string state_key, history_key, value_buf;
    static const Bytes kEmpty;
    for (size_t i = 0; i < txs.size(); ++i) {
      const CommittedTx& tx = txs[i];
      // Only a transaction that owns its id is indexed; the first owner in the block keeps it.
      if (ClaimsTxId(tx.code) && indexed.insert(tx.tx_id).second) {
        batch.Put(TxKey(channel, tx.tx_id), EncodeTxLocation({block.header.number, i, tx.code, envelope_hashes[i]}));
        ++entries;
      }
      if (tx.code != ValidationCode::kValid) {
        if (!tx.message.empty()) {
          batch.Put(TxMessageKey(channel, block.header.number, i), tx.message);
          ++entries;
        }
        continue;
      }
      Version version{block.header.number, i};
      for (const NamespaceRwSet& ns : tx.rwset.namespaces) {
        // Keys are built in reused buffers: a block carries thousands of writes.
        state_key = StatePrefix(ns.channel, ns.contract);
        history_key = HistoryPrefix(ns.channel, ns.contract, "");
        size_t state_prefix = state_key.size(), history_prefix = history_key.size() - 1;
        for (const KeyWrite& w : ns.writes) {
          state_key.resize(state_prefix);
          state_key.append(w.key);
          if (w.is_delete) {
            batch.Delete(state_key);
          } else {
            EncodeVersionedInto(value_buf, w.value, version);
            batch.Put(state_key, value_buf);
          }
          history_key.resize(history_prefix);
          history_key.append(w.key);
          history_key.push_back('\0');
          AppendUint64(history_key, version.block);
          AppendUint64(history_key, version.tx);
          EncodeHistoryInto(value_buf, tx.tx_id, w.is_delete, w.is_delete ? kEmpty : w.value);
          batch.Put(history_key, value_buf);
          entries += 2;
        }
      }
    }
    Savepoint next{block.header.number + 1, block.header.ComputeHash()};
    batch.Put(SavepointKey(channel), EncodeSavepoint(next));
    ENTENTE_RETURN_IF_ERROR(AddMeta(batch, meta));

    leveldb::WriteOptions options;
    options.sync = true;
    ENTENTE_RETURN_IF_ERROR(FromLevelDb(db_->Write(options, &batch), where + ": commit"));
    blocks_->Committed(offset, serialized.size());
    std::unique_lock lock(mu_);
    savepoints_.insert_or_assign(channel, next);
    last_commit_ = {entries, batch.ApproximateSize(), serialized.size()};
    return Status::Ok();
  }

  Status PutMeta(const MetaEntries& entries) override {
    leveldb::WriteBatch batch;
    ENTENTE_RETURN_IF_ERROR(AddMeta(batch, entries));
    leveldb::WriteOptions options;
    options.sync = true;
    return FromLevelDb(db_->Write(options, &batch), "meta write");
  }

  Result<std::optional<Bytes>> GetMeta(std::string_view key) const override {
    std::string data;
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), MetaKey(key), &data);
    if (s.IsNotFound()) return std::optional<Bytes>();
    if (!s.ok()) return FromLevelDb(s, "meta read");
    return std::optional<Bytes>(ToBytes(data));
  }

  Result<MetaEntries> ScanMeta(std::string_view prefix) const override {
    MetaEntries out;
    std::string start = MetaKey(prefix);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
      std::string_view key(it->key().data() + kMetaPrefix.size(), it->key().size() - kMetaPrefix.size());
      out.emplace_back(std::string(key), Bytes(it->value().data(), it->value().data() + it->value().size()));
    }
    if (!it->status().ok()) return FromLevelDb(it->status(), "meta scan");
    return out;
  }

  CommitStats LastCommitStats() const override {
    std::shared_lock lock(mu_);
    return last_commit_;
  }

  Status VerifyChain(std::string_view channel) const override {
    Savepoint savepoint = GetSavepoint(channel);
    leveldb::ReadOptions options;
    options.verify_checksums = true;
    options.fill_cache = false;
    Hash prev{};
    for (std::uint64_t n = 0; n < savepoint.height; ++n) {
      ENTENTE_ASSIGN_OR_RETURN(Block block, ReadBlock(db_.get(), *blocks_, options, channel, n));
      if (block.header.prev_hash != prev) {
        return Status::Corruption(BlockWhere(channel, n) + " does not link to block " + std::to_string(n - 1) +
                                  ": prev_hash mismatch");
      }
      prev = block.header.ComputeHash();
    }
    if (prev != savepoint.last_hash) {
      return Status::Corruption("channel " + std::string(channel) + ": the last block's hash does not match the savepoint");
    }
    std::string extra;
    if (db_->Get(options, BlockKey(channel, savepoint.height), &extra).ok()) {
      return Status::Corruption(BlockWhere(channel, savepoint.height) + " exists beyond the savepoint height " +
                                std::to_string(savepoint.height));
    }
    return Status::Ok();
  }

 private:
  std::shared_ptr<leveldb::DB> db_;
  std::unique_ptr<BlockFile> blocks_;
  std::mutex commit_mu_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Savepoint, std::less<>> savepoints_;
  CommitStats last_commit_;
};

// Records the current format in a ledger without blocks; refuses one with blocks of another format.
Status CheckFormat(leveldb::DB* db, bool has_blocks, const std::string& dir) {
  std::string format;
  leveldb::Status s = db->Get(leveldb::ReadOptions(), leveldb::Slice(kFormatKey.data(), kFormatKey.size()), &format);
  if (s.ok() && format == kFormat) return Status::Ok();
  if (!s.ok() && !s.IsNotFound()) return FromLevelDb(s, "cannot read the format of " + dir);
  if (has_blocks) {
    return Status::FailedPrecondition(
        "the ledger in " + dir + " has format " + (s.ok() ? format : std::string("1")) + ", this Entente writes " +
        std::string(kFormat) + ": it would not read or validate its blocks; "
        "create the alliance's ledgers anew (docs/ledger.md, Format)");
  }
  leveldb::WriteOptions sync;
  sync.sync = true;
  return FromLevelDb(db->Put(sync, leveldb::Slice(kFormatKey.data(), kFormatKey.size()),
                             leveldb::Slice(kFormat.data(), kFormat.size())),
                     "cannot record the format of " + dir);
}

// Checks the last block of a channel against its savepoint and the block before it.
Status CheckTip(leveldb::DB* db, const BlockFile& file, std::string_view channel, const Savepoint& savepoint) {
  if (savepoint.height == 0) return Status::Ok();
  leveldb::ReadOptions options;
  options.verify_checksums = true;
  std::uint64_t last = savepoint.height - 1;
  ENTENTE_ASSIGN_OR_RETURN(Block block, ReadBlock(db, file, options, channel, last));
  if (block.header.ComputeHash() != savepoint.last_hash) {
    return Status::Corruption(BlockWhere(channel, last) + ": header hash does not match the savepoint");
  }
  if (last > 0) {
    ENTENTE_ASSIGN_OR_RETURN(Block previous, ReadBlock(db, file, options, channel, last - 1));
    if (previous.header.ComputeHash() != block.header.prev_hash) {
      return Status::Corruption(BlockWhere(channel, last) + ": prev_hash does not match block " +
                                std::to_string(last - 1));
    }
  }
  return Status::Ok();
}

// The LevelDB settings of a ledger, and of the raw baseline it is measured against. Tables carry Bloom
// filters: most lookups miss (a new tx id, a key never written), and a miss then reads no table block.
leveldb::Options StoreOptions() {
  static const leveldb::FilterPolicy* const kFilter = leveldb::NewBloomFilterPolicy(10);  // never destroyed
  leveldb::Options options;
  options.write_buffer_size = 32 << 20;
  options.max_file_size = 8 << 20;
  options.filter_policy = kFilter;
  return options;
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& dir, OpenMode mode) {
  if (mode == OpenMode::kCreateIfMissing) {
    ENTENTE_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  } else if (!std::filesystem::exists(dir + "/CURRENT")) {
    // LevelDB would create its lock and log files before noticing there is no database.
    return Status::NotFound("no ledger in " + dir);
  }
  leveldb::Options options = StoreOptions();
  options.create_if_missing = mode == OpenMode::kCreateIfMissing;
  options.paranoid_checks = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    if (mode == OpenMode::kExisting && s.IsInvalidArgument()) return Status::NotFound("no ledger in " + dir);
    return FromLevelDb(s, "cannot open ledger in " + dir);
  }
  std::shared_ptr<leveldb::DB> db(raw);

  std::map<std::string, Savepoint, std::less<>> savepoints;
  leveldb::ReadOptions read_options;
  read_options.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(read_options));
  for (it->Seek(leveldb::Slice(kSavepointPrefix.data(), kSavepointPrefix.size()));
       it->Valid() && it->key().starts_with(leveldb::Slice(kSavepointPrefix.data(), kSavepointPrefix.size()));
       it->Next()) {
    std::string channel(it->key().data() + kSavepointPrefix.size(), it->key().size() - kSavepointPrefix.size());
    auto savepoint = DecodeSavepoint(std::string_view(it->value().data(), it->value().size()));
    if (!savepoint.ok()) return Status::Corruption("channel " + channel + ": " + savepoint.status().message());
    savepoints.emplace(channel, *savepoint);
  }
  if (!it->status().ok()) return FromLevelDb(it->status(), "cannot read savepoints in " + dir);
  it.reset();
  ENTENTE_RETURN_IF_ERROR(CheckFormat(db.get(), !savepoints.empty(), dir));
  std::string end;
  s = db->Get(read_options, leveldb::Slice(kBlockFileEndKey.data(), kBlockFileEndKey.size()), &end);
  if (!s.ok() && !s.IsNotFound()) return FromLevelDb(s, "cannot read where the blocks of " + dir + " end");
  if (s.ok() && end.size() != 8) return Status::Corruption("ledger " + dir + ": the block file's end is malformed");
  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<BlockFile> blocks,
                           BlockFile::Open(dir + "/" + std::string(kBlockFileName), s.ok() ? ReadUint64(end) : 0));
  for (const auto& [channel, savepoint] : savepoints) {
    ENTENTE_RETURN_IF_ERROR(CheckTip(db.get(), *blocks, channel, savepoint).WithContext("ledger " + dir));
  }
  Logger("ledger")->debug("opened {} with {} channels", dir, savepoints.size());
  return std::unique_ptr<Ledger>(
      std::make_unique<LevelDbLedger>(std::move(db), std::move(blocks), std::move(savepoints)));
}

}  // namespace entente::ledger

namespace entente::ledger {

Result<double> MeasureRawSyncedBatchRate(const std::string& dir, std::uint64_t entries, std::uint64_t bytes,
                                         std::uint64_t file_bytes, double seconds) {
  if (entries == 0) return Status::InvalidArgument("a batch needs at least one entry");
  constexpr std::size_t key_size = 24;
  std::size_t per_entry = static_cast<std::size_t>(bytes / entries);
  std::size_t value_size = per_entry > key_size ? per_entry - key_size : 1;
  ENTENTE_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  leveldb::Options options = StoreOptions();
  options.create_if_missing = true;
  leveldb::DB* raw = nullptr;
  ENTENTE_RETURN_IF_ERROR(FromLevelDb(leveldb::DB::Open(options, dir, &raw), "cannot open " + dir));
  std::unique_ptr<leveldb::DB> db(raw);
  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<BlockFile> file, BlockFile::Open(dir + "/raw.dat", 0));
  const Bytes file_chunk(file_bytes, 'b');
  leveldb::WriteOptions write_options;
  write_options.sync = true;
  std::string value(value_size, 'v');
  std::uint64_t counter = 0;
  std::uint64_t batches = 0;
  auto start = std::chrono::steady_clock::now();
  std::chrono::duration<double> elapsed{0};
  while (elapsed.count() < seconds || batches < 3) {
    if (file_bytes > 0) {
      ENTENTE_ASSIGN_OR_RETURN(std::uint64_t offset, file->Write(file_chunk));
      file->Committed(offset, file_chunk.size());
    }
    leveldb::WriteBatch batch;
    for (std::uint64_t i = 0; i < entries; ++i) {
      // Keys spread over the key space like the ledger's, not appended in order.
      std::string key = "k" + std::to_string((counter++ * 2654435761ULL) % 1000003);
      key.resize(key_size, '.');
      batch.Put(key, value);
    }
    ENTENTE_RETURN_IF_ERROR(FromLevelDb(db->Write(write_options, &batch), "raw batch"));
    ++batches;
    elapsed = std::chrono::steady_clock::now() - start;
  }
  return static_cast<double>(batches) / elapsed.count();
}

}  // namespace entente::ledger
