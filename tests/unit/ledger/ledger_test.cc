// The ledger's public contract (runtime/ledger/ledger.h, DESIGN.md §5): committing chained blocks,
// versioned state, ranges and pages, history, the tx index, savepoints, refusals that write nothing,
// snapshots, composite keys, the rwset and block encodings, reopening, and independent channels.
#include "runtime/ledger/ledger.h"

#include <doctest/doctest.h>
#include <leveldb/db.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/file.h"
#include "runtime/common/json.h"
#include "runtime/common/validation_code.h"
#include "runtime/ledger/internal/block_file.h"
#include "runtime/ledger/internal/encoding.h"
#include "runtime/crypto/crypto.h"
#include "tests/support/support.h"

namespace entente::ledger {
namespace {

using entente::testing::TempDir;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One write of a tx: a value, or a delete when `value` is nullopt.
struct W {
  std::string key;
  std::optional<std::string> value;
};

RwSet WriteSet(const std::string& channel, const std::string& contract, const std::vector<W>& writes) {
  NamespaceRwSet ns;
  ns.channel = channel;
  ns.contract = contract;
  for (const W& w : writes) {
    KeyWrite kw;
    kw.key = w.key;
    kw.is_delete = !w.value.has_value();
    if (w.value) kw.value = ToBytes(*w.value);
    ns.writes.push_back(std::move(kw));
  }
  RwSet rw;
  rw.namespaces.push_back(std::move(ns));
  return rw;
}

CommittedTx Tx(const std::string& tx_id, const std::string& channel, const std::string& contract,
               const std::vector<W>& writes, ValidationCode code = ValidationCode::kValid) {
  return CommittedTx{tx_id, code, WriteSet(channel, contract, writes)};
}

// A well-formed block for `txs`: envelopes are arbitrary bytes derived from the tx ids.
Block MakeBlock(const std::string& channel, std::uint64_t number, const Hash& prev_hash,
                const std::vector<CommittedTx>& txs) {
  Block block;
  block.header.channel = channel;
  block.header.number = number;
  block.header.prev_hash = prev_hash;
  for (const CommittedTx& tx : txs) {
    Bytes envelope = ToBytes("envelope of " + tx.tx_id);
    envelope.push_back(0x00);
    envelope.push_back(0xff);
    block.envelopes.push_back(std::move(envelope));
    block.metadata.validation_codes.push_back(tx.code);
  }
  block.header.data_hash = block.ComputeDataHash();
  block.metadata.timestamp_ms = 1700000000000 + static_cast<std::int64_t>(number);
  block.metadata.relay_signature = ToBytes("sig-" + std::to_string(number));
  return block;
}

// Commits `txs` as the next block of `channel`, chained to the savepoint.
Status CommitNext(Ledger& ledger, const std::string& channel, const std::vector<CommittedTx>& txs) {
  Savepoint sp = ledger.GetSavepoint(channel);
  Hash prev{};
  if (sp.height > 0) prev = sp.last_hash;
  return ledger.Commit(MakeBlock(channel, sp.height, prev, txs), txs);
}

// Where the tx index should place transaction (block, index): with its code and the SHA-256 of the
// envelope the stored block holds there.
TxLocation Located(const Ledger& ledger, const std::string& channel, std::uint64_t block, std::uint64_t index,
                   ValidationCode code) {
  auto stored = ledger.GetBlock(channel, block);
  REQUIRE(stored.ok());
  REQUIRE(index < stored->envelopes.size());
  return TxLocation{block, index, code, crypto::Sha256(stored->envelopes[index])};
}

std::unique_ptr<Ledger> OpenOrDie(const std::string& dir) {
  auto opened = Ledger::Open(dir);
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  return std::move(opened).value();
}

std::optional<VersionedValue> Get(const Ledger& ledger, const std::string& channel, const std::string& contract,
                                  const std::string& key) {
  auto snap = ledger.GetSnapshot();
  auto got = snap->Get(channel, contract, key);
  REQUIRE_MESSAGE(got.ok(), got.status().ToString());
  return *got;
}

VersionedValue VV(const std::string& value, std::uint64_t block, std::uint64_t tx) {
  return VersionedValue{ToBytes(value), Version{block, tx}};
}

std::vector<std::string> Keys(const RangePage& page) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : page.entries) keys.push_back(k);
  return keys;
}

Hash ZeroHash() { return Hash{}; }

TEST_CASE("Open creates an empty ledger") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.Join("ledger"));
  CHECK(ledger->Channels().empty());
  Savepoint sp = ledger->GetSavepoint("ch1");
  CHECK(sp.height == 0);
  CHECK(sp.last_hash == ZeroHash());
  CHECK_FALSE(Get(*ledger, "ch1", "cc", "a").has_value());
  CHECK(ledger->GetBlock("ch1", 0).status().IsNotFound());

  auto snap = ledger->GetSnapshot();
  auto range = snap->Range("ch1", "cc", "", "");
  REQUIRE(range.ok());
  CHECK(range->entries.empty());
  CHECK(range->bookmark.empty());
  auto history = snap->History("ch1", "cc", "a");
  REQUIRE(history.ok());
  CHECK(history->empty());
  auto found = snap->FindTx("ch1", "tx0");
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());
  CHECK(snap->GetSavepoint("ch1").height == 0);
}

TEST_CASE("Commit chains blocks 0 and 1 by prev_hash and stores them as given") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());

  std::vector<CommittedTx> txs0{Tx("tx0", "ch1", "cc", {{"a", "1"}}), Tx("tx1", "ch1", "cc", {{"b", "2"}})};
  Block b0 = MakeBlock("ch1", 0, ZeroHash(), txs0);
  REQUIRE_MESSAGE(ledger->Commit(b0, txs0).ok(), ledger->Commit(b0, txs0).ToString());
  Savepoint sp0 = ledger->GetSavepoint("ch1");
  CHECK(sp0.height == 1);
  CHECK(sp0.last_hash == b0.header.ComputeHash());

  std::vector<CommittedTx> txs1{Tx("tx2", "ch1", "cc", {{"a", "3"}}), Tx("tx3", "ch1", "cc", {{"c", "4"}}),
                                Tx("tx4", "ch1", "cc", {{"d", "5"}}, ValidationCode::kEndorsementPolicyFailure)};
  Block b1 = MakeBlock("ch1", 1, b0.header.ComputeHash(), txs1);
  Status s = ledger->Commit(b1, txs1);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  Savepoint sp1 = ledger->GetSavepoint("ch1");
  CHECK(sp1.height == 2);
  CHECK(sp1.last_hash == b1.header.ComputeHash());
  CHECK(sp1.last_hash != sp0.last_hash);

  CHECK(ledger->Channels() == std::vector<std::string>{"ch1"});

  auto got1 = ledger->GetBlock("ch1", 1);
  REQUIRE_MESSAGE(got1.ok(), got1.status().ToString());
  CHECK(got1->header.channel == "ch1");
  CHECK(got1->header.number == 1);
  CHECK(got1->header.prev_hash == b0.header.ComputeHash());
  CHECK(got1->header.data_hash == b1.header.data_hash);
  CHECK(got1->envelopes == b1.envelopes);
  CHECK(got1->metadata.validation_codes == b1.metadata.validation_codes);
  CHECK(got1->metadata.timestamp_ms == b1.metadata.timestamp_ms);
  CHECK(got1->metadata.relay_signature == b1.metadata.relay_signature);
  CHECK(got1->header.ComputeHash() == sp1.last_hash);

  auto got0 = ledger->GetBlock("ch1", 0);
  REQUIRE(got0.ok());
  CHECK(got0->header.prev_hash == ZeroHash());
  CHECK(got0->envelopes == b0.envelopes);
  CHECK(ledger->GetBlock("ch1", 2).status().IsNotFound());

  CHECK(ledger->VerifyChain("ch1").ok());
}

TEST_CASE("state reads give the value and the version (block, tx index) of the last writer") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{"a", "a0"}, {"b", "b0"}}),
                                      Tx("t1", "ch1", "cc", {{"c", "c0"}})})
              .ok());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t2", "ch1", "cc", {{"x", "x1"}}), Tx("t3", "ch1", "cc", {{"x", "x1b"}}),
                                      Tx("t4", "ch1", "cc", {{"b", "b1"}})})
              .ok());

  CHECK(Get(*ledger, "ch1", "cc", "a") == VV("a0", 0, 0));
  CHECK(Get(*ledger, "ch1", "cc", "b") == VV("b1", 1, 2));
  CHECK(Get(*ledger, "ch1", "cc", "c") == VV("c0", 0, 1));
  // Within a block, the later valid tx wins.
  CHECK(Get(*ledger, "ch1", "cc", "x") == VV("x1b", 1, 1));
  CHECK_FALSE(Get(*ledger, "ch1", "cc", "nope").has_value());
  // Namespaces are separate.
  CHECK_FALSE(Get(*ledger, "ch1", "other", "a").has_value());
  CHECK_FALSE(Get(*ledger, "ch2", "cc", "a").has_value());
}

TEST_CASE("a write by an invalid transaction is not applied, but the transaction is recorded") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{"a", "good"}})}).ok());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("bad", "ch1", "cc", {{"a", "evil"}, {"new", "evil"}},
                                         ValidationCode::kMvccReadConflict),
                                      Tx("bad2", "ch1", "cc", {{"a", std::nullopt}},
                                         ValidationCode::kBadCreatorSignature)})
              .ok());
  CHECK(Get(*ledger, "ch1", "cc", "a") == VV("good", 0, 0));
  CHECK_FALSE(Get(*ledger, "ch1", "cc", "new").has_value());
  CHECK(ledger->GetSavepoint("ch1").height == 2);

  auto snap = ledger->GetSnapshot();
  auto history = snap->History("ch1", "cc", "a");
  REQUIRE(history.ok());
  REQUIRE(history->size() == 1);
  CHECK((*history)[0].tx_id == "t0");
  auto new_history = snap->History("ch1", "cc", "new");
  REQUIRE(new_history.ok());
  CHECK(new_history->empty());

  auto found = snap->FindTx("ch1", "bad");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK(**found == Located(*ledger, "ch1", 1, 0, ValidationCode::kMvccReadConflict));
}

TEST_CASE("a deleted key reads as missing and leaves a delete in its history") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{"a", "1"}, {"b", "2"}})}).ok());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t1", "ch1", "cc", {{"a", std::nullopt}})}).ok());
  CHECK_FALSE(Get(*ledger, "ch1", "cc", "a").has_value());
  CHECK(Get(*ledger, "ch1", "cc", "b") == VV("2", 0, 0));

  auto range = ledger->GetSnapshot()->Range("ch1", "cc", "", "");
  REQUIRE(range.ok());
  CHECK(Keys(*range) == std::vector<std::string>{"b"});

  // Written again after the delete, it comes back with the new version.
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t2", "ch1", "cc", {{"a", "3"}})}).ok());
  CHECK(Get(*ledger, "ch1", "cc", "a") == VV("3", 2, 0));
}

TEST_CASE("Range returns keys in order, end exclusive, an empty end meaning the namespace's end") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{"d", "4"}, {"b", "2"}, {"a", "1"}}),
                                      Tx("t1", "ch1", "cc", {{"c", "3"}, {"e", "5"}, {"b\xff", "x"}}),
                                      Tx("t2", "ch1", "other", {{"b1", "o"}, {"z", "o"}})})
              .ok());
  REQUIRE(CommitNext(*ledger, "ch2", {Tx("u0", "ch2", "cc", {{"b2", "ch2"}, {"zz", "ch2"}})}).ok());
  // A contract whose name extends "cc" must not leak into "cc"'s ranges either.
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t3", "ch1", "ccx", {{"b3", "x"}, {"zzz", "x"}})}).ok());

  auto snap = ledger->GetSnapshot();
  auto r = snap->Range("ch1", "cc", "b", "d");
  REQUIRE(r.ok());
  CHECK(Keys(*r) == std::vector<std::string>{"b", "b\xff", "c"});
  CHECK(r->bookmark.empty());
  REQUIRE(r->entries.size() == 3);
  CHECK(r->entries[0].second == VV("2", 0, 0));
  CHECK(r->entries[1].second == VV("x", 0, 1));
  CHECK(r->entries[2].second == VV("3", 0, 1));

  auto to_end = snap->Range("ch1", "cc", "c", "");
  REQUIRE(to_end.ok());
  CHECK(Keys(*to_end) == std::vector<std::string>{"c", "d", "e"});

  auto all = snap->Range("ch1", "cc", "", "");
  REQUIRE(all.ok());
  CHECK(Keys(*all) == std::vector<std::string>{"a", "b", "b\xff", "c", "d", "e"});

  auto empty = snap->Range("ch1", "cc", "c", "c");
  REQUIRE(empty.ok());
  CHECK(empty->entries.empty());

  auto other = snap->Range("ch1", "other", "", "");
  REQUIRE(other.ok());
  CHECK(Keys(*other) == std::vector<std::string>{"b1", "z"});

  auto ch2 = snap->Range("ch2", "cc", "", "");
  REQUIRE(ch2.ok());
  CHECK(Keys(*ch2) == std::vector<std::string>{"b2", "zz"});
}

TEST_CASE("Range pages of 2 over 5 keys take 3 pages by bookmark, the last with an empty bookmark") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{"k1", "1"}, {"k2", "2"}, {"k3", "3"}, {"k4", "4"},
                                                              {"k5", "5"}, {"z-outside", "9"}}),
                                      Tx("t1", "ch1", "cc2", {{"k25", "other contract"}})})
              .ok());
  auto snap = ledger->GetSnapshot();

  std::vector<std::vector<std::string>> pages;
  std::string bookmark;
  for (int i = 0; i < 10; ++i) {
    auto page = snap->Range("ch1", "cc", "k", "l", 2, bookmark);
    REQUIRE_MESSAGE(page.ok(), page.status().ToString());
    CHECK(page->entries.size() <= 2);
    pages.push_back(Keys(*page));
    bookmark = page->bookmark;
    if (bookmark.empty()) break;
  }
  REQUIRE(pages.size() == 3);
  CHECK(pages[0] == std::vector<std::string>{"k1", "k2"});
  CHECK(pages[1] == std::vector<std::string>{"k3", "k4"});
  CHECK(pages[2] == std::vector<std::string>{"k5"});

  // The first page's bookmark is where the second page starts.
  auto first = snap->Range("ch1", "cc", "k", "l", 2);
  REQUIRE(first.ok());
  CHECK_FALSE(first->bookmark.empty());
  auto again = snap->Range("ch1", "cc", "k", "l", 2, first->bookmark);
  REQUIRE(again.ok());
  CHECK(Keys(*again) == std::vector<std::string>{"k3", "k4"});

  // Page size 0 means all.
  auto all = snap->Range("ch1", "cc", "k", "l", 0);
  REQUIRE(all.ok());
  CHECK(all->entries.size() == 5);
  CHECK(all->bookmark.empty());
}

TEST_CASE("History lists a key's writes oldest first with tx ids, versions and deletes") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("h0", "ch1", "cc", {{"k", "v0"}})}).ok());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("h1", "ch1", "cc", {{"other", "x"}}), Tx("h2", "ch1", "cc", {{"k", "v1"}})})
              .ok());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("h3", "ch1", "cc", {{"k", std::nullopt}})}).ok());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("h4", "ch1", "cc", {{"k", "v2"}})}).ok());
  // Same key in another contract: not part of this history.
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("h5", "ch1", "cc2", {{"k", "elsewhere"}})}).ok());

  auto history = ledger->GetSnapshot()->History("ch1", "cc", "k");
  REQUIRE(history.ok());
  REQUIRE(history->size() == 4);
  const auto& h = *history;
  CHECK(h[0].tx_id == "h0");
  CHECK(h[0].version == Version{0, 0});
  CHECK_FALSE(h[0].is_delete);
  CHECK(h[0].value == ToBytes("v0"));
  CHECK(h[1].tx_id == "h2");
  CHECK(h[1].version == Version{1, 1});
  CHECK(h[1].value == ToBytes("v1"));
  CHECK(h[2].tx_id == "h3");
  CHECK(h[2].version == Version{2, 0});
  CHECK(h[2].is_delete);
  CHECK(h[3].tx_id == "h4");
  CHECK(h[3].version == Version{3, 0});
  CHECK_FALSE(h[3].is_delete);
  CHECK(h[3].value == ToBytes("v2"));
}

TEST_CASE("History of a key leaves out keys that extend it, as composite keys do") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  const std::string k("k", 1);
  const std::string longer("k\0x", 3);
  const std::string sixteen = std::string("k\0", 2) + std::string(16, 'z');
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{k, "1"}, {longer, "2"}, {sixteen, "3"}})}).ok());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t1", "ch1", "cc", {{longer, "4"}, {sixteen, "5"}})}).ok());
  auto snap = ledger->GetSnapshot();
  auto h = snap->History("ch1", "cc", k);
  REQUIRE(h.ok());
  REQUIRE(h->size() == 1);
  CHECK((*h)[0].value == ToBytes("1"));
  auto hl = snap->History("ch1", "cc", longer);
  REQUIRE(hl.ok());
  CHECK(hl->size() == 2);
  auto hs = snap->History("ch1", "cc", sixteen);
  REQUIRE(hs.ok());
  CHECK(hs->size() == 2);
}

TEST_CASE("History orders versions numerically past block 255 and 256") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  for (int n = 0; n < 260; ++n) {
    std::vector<CommittedTx> txs;
    if (n == 9 || n == 10 || n == 255 || n == 256 || n == 259) {
      txs.push_back(Tx("w" + std::to_string(n), "ch1", "cc", {{"k", std::to_string(n)}}));
    } else {
      txs.push_back(Tx("f" + std::to_string(n), "ch1", "cc", {{"filler", std::to_string(n)}}));
    }
    REQUIRE(CommitNext(*ledger, "ch1", txs).ok());
  }
  auto history = ledger->GetSnapshot()->History("ch1", "cc", "k");
  REQUIRE(history.ok());
  std::vector<std::uint64_t> blocks;
  for (const auto& e : *history) blocks.push_back(e.version.block);
  CHECK(blocks == std::vector<std::uint64_t>{9, 10, 255, 256, 259});
  CHECK(Get(*ledger, "ch1", "cc", "k") == VV("259", 259, 0));
}

TEST_CASE("FindTx gives the block, index and code of valid and invalid transactions") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("a", "ch1", "cc", {{"k", "1"}})}).ok());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("b", "ch1", "cc", {{"k", "2"}}),
                                      Tx("c", "ch1", "cc", {{"k", "3"}}, ValidationCode::kPhantomReadConflict),
                                      Tx("d", "ch1", "cc", {})})
              .ok());
  auto snap = ledger->GetSnapshot();
  auto find = [&](const std::string& id) {
    auto r = snap->FindTx("ch1", id);
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(find("a") == Located(*ledger, "ch1", 0, 0, ValidationCode::kValid));
  CHECK(find("b") == Located(*ledger, "ch1", 1, 0, ValidationCode::kValid));
  CHECK(find("c") == Located(*ledger, "ch1", 1, 1, ValidationCode::kPhantomReadConflict));
  CHECK(find("d") == Located(*ledger, "ch1", 1, 2, ValidationCode::kValid));
  CHECK_FALSE(find("e").has_value());
  auto elsewhere = snap->FindTx("ch2", "a");
  REQUIRE(elsewhere.ok());
  CHECK_FALSE(elsewhere->has_value());
}

TEST_CASE("TxMessage gives why an invalid transaction is invalid at its block and index, also after a reopen") {
  TempDir tmp;
  {
    auto ledger = OpenOrDie(tmp.path());
    CommittedTx conflicted = Tx("c", "ch1", "cc", {{"k", "3"}}, ValidationCode::kMvccReadConflict);
    conflicted.message = "it read key 'k' at version (block 0, tx 0), which is version (block 0, tx 1) now";
    CommittedTx valid = Tx("v", "ch1", "cc", {{"k", "1"}});
    valid.message = "ignored: a valid transaction has no reason";
    REQUIRE(CommitNext(*ledger, "ch1", {valid, conflicted, Tx("d", "ch1", "cc", {}, ValidationCode::kDuplicateTxid)}).ok());
  }
  auto ledger = OpenOrDie(tmp.path());
  auto snap = ledger->GetSnapshot();
  auto message = [&](std::uint64_t index) {
    auto m = snap->TxMessage("ch1", 0, index);
    REQUIRE(m.ok());
    return *m;
  };
  CHECK(message(1) == "it read key 'k' at version (block 0, tx 0), which is version (block 0, tx 1) now");
  CHECK(message(0).empty());
  CHECK(message(2).empty());  // committed without a message
  CHECK(message(7).empty());  // no such transaction
  auto other_channel = snap->TxMessage("ch2", 0, 1);
  REQUIRE(other_channel.ok());
  CHECK(other_channel->empty());
}

TEST_CASE("Commit takes the envelope hashes its committer gives when they make the data hash, and refuses others") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::vector<CommittedTx> txs{Tx("a", "ch1", "cc", {{"k", "1"}}), Tx("b", "ch1", "cc", {{"k", "2"}})};
  Block block = MakeBlock("ch1", 0, ZeroHash(), txs);
  // Hashes that are not the envelopes' but do not make the header's data hash either: refused.
  std::vector<CommittedTx> wrong = txs;
  wrong[0].envelope_hash = crypto::Sha256(AsBytes(std::string("another envelope")));
  wrong[1].envelope_hash = crypto::Sha256(block.envelopes[1]);
  Status refused = ledger->Commit(block, wrong);
  CHECK_MESSAGE(refused.IsInvalidArgument(), refused.ToString());
  CHECK(Contains(refused.message(), "data_hash"));
  CHECK(ledger->GetSavepoint("ch1").height == 0);
  // The envelopes' own hashes: committed and indexed with them.
  for (std::size_t i = 0; i < txs.size(); ++i) txs[i].envelope_hash = crypto::Sha256(block.envelopes[i]);
  REQUIRE(ledger->Commit(block, txs).ok());
  auto found = ledger->GetSnapshot()->FindTx("ch1", "b");
  REQUIRE(found.ok());
  CHECK(*found == Located(*ledger, "ch1", 0, 1, ValidationCode::kValid));
}

TEST_CASE("the savepoint gives the height and the last block's header hash") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  Hash prev{};
  for (std::uint64_t n = 0; n < 4; ++n) {
    std::vector<CommittedTx> txs{Tx("s" + std::to_string(n), "ch1", "cc", {{"k", "v"}})};
    Block b = MakeBlock("ch1", n, prev, txs);
    REQUIRE(ledger->Commit(b, txs).ok());
    prev = b.header.ComputeHash();
    Savepoint sp = ledger->GetSavepoint("ch1");
    CHECK(sp.height == n + 1);
    CHECK(sp.last_hash == prev);
    Savepoint snap_sp = ledger->GetSnapshot()->GetSavepoint("ch1");
    CHECK(snap_sp.height == n + 1);
    CHECK(snap_sp.last_hash == prev);
  }
}

TEST_CASE("Commit refuses a malformed block with InvalidArgument and writes nothing") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::vector<CommittedTx> txs0{Tx("t0", "ch1", "cc", {{"a", "0"}})};
  Block b0 = MakeBlock("ch1", 0, ZeroHash(), txs0);
  REQUIRE(ledger->Commit(b0, txs0).ok());
  const Hash h0 = b0.header.ComputeHash();

  std::vector<CommittedTx> txs{Tx("t1", "ch1", "cc", {{"a", "1"}, {"fresh", "1"}}),
                               Tx("t2", "ch1", "cc", {{"b", "2"}}, ValidationCode::kBadPayload)};

  auto expect_refused = [&](const Block& block, const std::vector<CommittedTx>& committed) {
    Status s = ledger->Commit(block, committed);
    CHECK_MESSAGE(s.IsInvalidArgument(), s.ToString());
    Savepoint sp = ledger->GetSavepoint("ch1");
    CHECK(sp.height == 1);
    CHECK(sp.last_hash == h0);
    CHECK(Get(*ledger, "ch1", "cc", "a") == VV("0", 0, 0));
    CHECK_FALSE(Get(*ledger, "ch1", "cc", "fresh").has_value());
    auto snap = ledger->GetSnapshot();
    for (const auto& tx : committed) {
      if (tx.tx_id.empty()) continue;
      auto found = snap->FindTx("ch1", tx.tx_id);
      REQUIRE(found.ok());
      CHECK_FALSE(found->has_value());
    }
    auto history = snap->History("ch1", "cc", "a");
    REQUIRE(history.ok());
    CHECK(history->size() == 1);
    CHECK(ledger->GetBlock("ch1", 1).status().IsNotFound());
  };

  SUBCASE("a number that is not the height") {
    expect_refused(MakeBlock("ch1", 2, h0, txs), txs);
    expect_refused(MakeBlock("ch1", 0, ZeroHash(), txs), txs);
  }
  SUBCASE("a prev_hash that is not the last block's hash") {
    Hash wrong = h0;
    wrong[0] ^= 1;
    expect_refused(MakeBlock("ch1", 1, wrong, txs), txs);
    expect_refused(MakeBlock("ch1", 1, ZeroHash(), txs), txs);
  }
  SUBCASE("a data_hash that does not match the envelopes") {
    Block b = MakeBlock("ch1", 1, h0, txs);
    b.header.data_hash[31] ^= 0x80;
    expect_refused(b, txs);
    Block b2 = MakeBlock("ch1", 1, h0, txs);
    b2.envelopes[1].push_back('!');
    expect_refused(b2, txs);
  }
  SUBCASE("fewer validation codes than envelopes") {
    Block b = MakeBlock("ch1", 1, h0, txs);
    b.metadata.validation_codes.pop_back();
    expect_refused(b, txs);
  }
  SUBCASE("more validation codes than envelopes") {
    Block b = MakeBlock("ch1", 1, h0, txs);
    b.metadata.validation_codes.push_back(ValidationCode::kValid);
    expect_refused(b, txs);
  }
  SUBCASE("a txs count that is not the envelope count") {
    Block b = MakeBlock("ch1", 1, h0, txs);
    std::vector<CommittedTx> fewer{txs[0]};
    expect_refused(b, fewer);
  }
  SUBCASE("a tx code that disagrees with the block's code") {
    Block b = MakeBlock("ch1", 1, h0, txs);
    std::vector<CommittedTx> disagreeing = txs;
    disagreeing[1].code = ValidationCode::kValid;
    expect_refused(b, disagreeing);
  }
  SUBCASE("an empty tx id") {
    std::vector<CommittedTx> unnamed = txs;
    unnamed[1].tx_id = "";
    expect_refused(MakeBlock("ch1", 1, h0, unnamed), unnamed);
  }

  // After any refusal, the right block still commits.
  Status ok = ledger->Commit(MakeBlock("ch1", 1, h0, txs), txs);
  CHECK_MESSAGE(ok.ok(), ok.ToString());
  CHECK(ledger->GetSavepoint("ch1").height == 2);
  CHECK(Get(*ledger, "ch1", "cc", "a") == VV("1", 1, 0));
}

TEST_CASE("LastCommitStats describes the last committed batch, and grows with its writes") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{"a", "1"}})}).ok());
  Ledger::CommitStats small = ledger->LastCommitStats();
  CHECK(small.batch_entries >= 4);  // at least the block's location, the block file's end, the savepoint, the write
  CHECK(small.batch_bytes > 0);
  CHECK(small.file_bytes == ledger->GetBlock("ch1", 0)->Serialize().size());
  std::vector<W> many;
  for (int i = 0; i < 20; ++i) many.push_back({"key" + std::to_string(i), std::string(100, 'v')});
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t1", "ch1", "cc", many)}).ok());
  Ledger::CommitStats big = ledger->LastCommitStats();
  CHECK(big.batch_entries >= small.batch_entries + 19);
  CHECK(big.batch_bytes > small.batch_bytes + 19 * 100);
  // A refused commit is not a commit.
  std::vector<CommittedTx> txs{Tx("t2", "ch1", "cc", {{"a", "2"}})};
  CHECK(ledger->Commit(MakeBlock("ch1", 7, Hash{}, txs), txs).IsInvalidArgument());
  CHECK(ledger->LastCommitStats().batch_entries == big.batch_entries);
}

TEST_CASE("Commit refuses block 0 of a new channel with a non-zero prev_hash") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::vector<CommittedTx> txs{Tx("t0", "ch1", "cc", {{"a", "0"}})};
  Hash wrong{};
  wrong[5] = 1;
  CHECK(ledger->Commit(MakeBlock("ch1", 0, wrong, txs), txs).IsInvalidArgument());
  CHECK(ledger->GetSavepoint("ch1").height == 0);
  CHECK_FALSE(Get(*ledger, "ch1", "cc", "a").has_value());
}

TEST_CASE("a snapshot taken before a commit does not see the commit") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{"a", "old"}, {"b", "old"}})}).ok());
  auto before = ledger->GetSnapshot();
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t1", "ch1", "cc", {{"a", "new"}, {"b", std::nullopt}, {"c", "new"}})})
              .ok());
  auto after = ledger->GetSnapshot();

  auto a_before = before->Get("ch1", "cc", "a");
  REQUIRE(a_before.ok());
  CHECK(*a_before == VV("old", 0, 0));
  auto b_before = before->Get("ch1", "cc", "b");
  REQUIRE(b_before.ok());
  CHECK(*b_before == VV("old", 0, 0));
  auto c_before = before->Get("ch1", "cc", "c");
  REQUIRE(c_before.ok());
  CHECK_FALSE(c_before->has_value());
  auto range_before = before->Range("ch1", "cc", "", "");
  REQUIRE(range_before.ok());
  CHECK(Keys(*range_before) == std::vector<std::string>{"a", "b"});
  auto history_before = before->History("ch1", "cc", "a");
  REQUIRE(history_before.ok());
  CHECK(history_before->size() == 1);
  auto tx_before = before->FindTx("ch1", "t1");
  REQUIRE(tx_before.ok());
  CHECK_FALSE(tx_before->has_value());
  CHECK(before->GetSavepoint("ch1").height == 1);

  auto a_after = after->Get("ch1", "cc", "a");
  REQUIRE(a_after.ok());
  CHECK(*a_after == VV("new", 1, 0));
  auto range_after = after->Range("ch1", "cc", "", "");
  REQUIRE(range_after.ok());
  CHECK(Keys(*range_after) == std::vector<std::string>{"a", "c"});
  CHECK(after->GetSavepoint("ch1").height == 2);
}

TEST_CASE("snapshots taken while blocks commit from another thread each see one whole block boundary") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  constexpr std::uint64_t kBlocks = 60;
  std::atomic<bool> done{false};
  std::atomic<int> inconsistent{0};
  std::atomic<int> reads{0};
  auto reader = [&] {
    while (!done.load()) {
      auto snap = ledger->GetSnapshot();
      const std::uint64_t height = snap->GetSavepoint("ch1").height;
      auto counter = snap->Get("ch1", "cc", "height");
      auto range = snap->Range("ch1", "cc", "k", "l");
      if (!counter.ok() || !range.ok()) {
        ++inconsistent;
        continue;
      }
      const bool counter_ok = height == 0 ? !counter->has_value()
                                          : counter->has_value() && (*counter)->value == ToBytes(std::to_string(height));
      if (!counter_ok || range->entries.size() != height) ++inconsistent;
      ++reads;
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  for (std::uint64_t n = 0; n < kBlocks; ++n) {
    char key[16];
    std::snprintf(key, sizeof key, "k%04llu", static_cast<unsigned long long>(n));
    Status s = CommitNext(*ledger, "ch1", {Tx("c" + std::to_string(n), "ch1", "cc",
                                              {{"height", std::to_string(n + 1)}, {key, "x"}})});
    CHECK_MESSAGE(s.ok(), s.ToString());
  }
  done = true;
  r1.join();
  r2.join();
  CHECK(inconsistent.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(ledger->GetSavepoint("ch1").height == kBlocks);
}

TEST_CASE("composite keys split back into their type and attributes") {
  auto key = CreateCompositeKey("owner", {"alice", "car1"});
  REQUIRE(key.ok());
  CHECK(*key == std::string("\0owner\0alice\0car1\0", 18));
  auto split = SplitCompositeKey(*key);
  REQUIRE(split.ok());
  CHECK(split->first == "owner");
  CHECK(split->second == std::vector<std::string>{"alice", "car1"});

  auto no_attrs = CreateCompositeKey("marble", {});
  REQUIRE(no_attrs.ok());
  auto split_no_attrs = SplitCompositeKey(*no_attrs);
  REQUIRE(split_no_attrs.ok());
  CHECK(split_no_attrs->first == "marble");
  CHECK(split_no_attrs->second.empty());

  auto utf8 = CreateCompositeKey("t", {"é", "", "x y"});
  REQUIRE(utf8.ok());
  auto split_utf8 = SplitCompositeKey(*utf8);
  REQUIRE(split_utf8.ok());
  CHECK(split_utf8->second == std::vector<std::string>{"é", "", "x y"});
}

TEST_CASE("composite keys refuse U+0000 inside a part, and Split refuses other keys") {
  CHECK(CreateCompositeKey(std::string("ow\0ner", 6), {"a"}).status().IsInvalidArgument());
  CHECK(CreateCompositeKey("owner", {std::string("a\0b", 3)}).status().IsInvalidArgument());
  CHECK(SplitCompositeKey("plain-key").status().IsInvalidArgument());
  CHECK(SplitCompositeKey("").status().IsInvalidArgument());
  CHECK(SplitCompositeKey(std::string("\0owner", 6)).status().IsInvalidArgument());
}

TEST_CASE("CompositeKeyRange selects exactly the keys with that type and attribute prefix") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  auto ck = [](const std::string& type, const std::vector<std::string>& attrs) {
    auto k = CreateCompositeKey(type, attrs);
    REQUIRE(k.ok());
    return *k;
  };
  const std::string a1 = ck("owner", {"alice", "car1"});
  const std::string a2 = ck("owner", {"alice", "car2"});
  const std::string a3 = ck("owner", {"alice", "\xf4\x8f\xbf\xbf" "max"});
  const std::string alicia = ck("owner", {"alicia", "car3"});
  const std::string bob = ck("owner", {"bob", "car4"});
  const std::string ownerx = ck("ownerx", {"alice", "car5"});
  const std::string car = ck("car", {"alice"});
  REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{a1, "1"}, {a2, "2"}, {a3, "3"}, {alicia, "4"},
                                                              {bob, "5"}, {ownerx, "6"}, {car, "7"},
                                                              {"owner", "plain"}, {"zzz", "plain"}})})
              .ok());
  auto snap = ledger->GetSnapshot();
  auto select = [&](const std::string& type, const std::vector<std::string>& attrs) {
    auto [start, end] = CompositeKeyRange(type, attrs);
    auto page = snap->Range("ch1", "cc", start, end);
    REQUIRE_MESSAGE(page.ok(), page.status().ToString());
    std::vector<std::string> keys = Keys(*page);
    std::sort(keys.begin(), keys.end());
    return keys;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(select("owner", {"alice"}) == sorted({a1, a2, a3}));
  CHECK(select("owner", {"alice", "car2"}) == sorted({a2}));
  CHECK(select("owner", {}) == sorted({a1, a2, a3, alicia, bob}));
  CHECK(select("car", {}) == sorted({car}));
  CHECK(select("owner", {"carol"}).empty());
}

RwSet SampleRwSet() {
  RwSet rw;
  NamespaceRwSet ns1;
  ns1.channel = "chainA";
  ns1.contract = "asset";
  ns1.reads.push_back(KeyRead{"a", Version{3, 7}});
  ns1.reads.push_back(KeyRead{"missing", std::nullopt});
  ns1.reads.push_back(KeyRead{std::string("\0owner\0alice\0", 13), Version{0, 0}});
  RangeRead full{"k1", "k9", true, {KeyRead{"k2", Version{1, 0}}, KeyRead{"k5", Version{2, 4}}}};
  RangeRead paged{"p", "", false, {KeyRead{"p1", Version{1, 1}}}};
  ns1.range_reads = {full, paged};
  ns1.writes.push_back(KeyWrite{"a", false, Bytes{0x00, 0xff, 0x10, 'x'}});
  ns1.writes.push_back(KeyWrite{"gone", true, {}});
  ns1.writes.push_back(KeyWrite{"empty", false, {}});
  NamespaceRwSet ns2;
  ns2.channel = "chainB";
  ns2.contract = "alliance";
  ns2.writes.push_back(KeyWrite{"route", false, ToBytes("{\"from\":\"A\"}")});
  rw.namespaces = {ns1, ns2};
  return rw;
}

TEST_CASE("an RwSet survives ToJson and FromJson, also through text") {
  RwSet rw = SampleRwSet();
  Json j = rw.ToJson();
  REQUIRE(j.is_object());
  REQUIRE(j.contains("namespaces"));
  REQUIRE(j["namespaces"].is_array());
  REQUIRE(j["namespaces"].size() == 2);
  CHECK(j["namespaces"][0]["namespace"] == "chainA/asset");
  CHECK(j["namespaces"][1]["namespace"] == "chainB/alliance");

  auto back = RwSet::FromJson(j);
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CHECK(*back == rw);

  auto text = CanonicalJson(j);
  REQUIRE(text.ok());
  auto parsed = ParseJson(*text);
  REQUIRE(parsed.ok());
  auto back2 = RwSet::FromJson(*parsed);
  REQUIRE_MESSAGE(back2.ok(), back2.status().ToString());
  CHECK(*back2 == rw);

  auto empty = RwSet::FromJson(RwSet{}.ToJson());
  REQUIRE(empty.ok());
  CHECK(empty->namespaces.empty());
}

TEST_CASE("RwSet::FromJson rejects malformed input with InvalidArgument") {
  const Json good = SampleRwSet().ToJson();
  auto rejects = [](const Json& j) {
    auto r = RwSet::FromJson(j);
    CHECK_FALSE(r.ok());
    CHECK_MESSAGE(r.status().IsInvalidArgument(), r.status().ToString());
    CHECK_FALSE(r.status().message().empty());
    return r.ok() ? std::string() : r.status().message();
  };

  rejects(Json::array());
  rejects(Json("namespaces"));
  CHECK(Contains(rejects(Json::object()), "namespaces"));
  CHECK(Contains(rejects(Json{{"namespaces", "x"}}), "namespaces"));
  rejects(Json{{"namespaces", Json::array({1})}});

  Json j = good;
  j["namespaces"][0]["namespace"] = "no-slash";
  CHECK(Contains(rejects(j), "namespace"));

  j = good;
  j["namespaces"][0].erase("namespace");
  CHECK(Contains(rejects(j), "namespace"));

  j = good;
  j["namespaces"][0]["reads"][0]["version"] = "3:7";
  CHECK(Contains(rejects(j), "version"));

  j = good;
  j["namespaces"][0]["reads"][0]["version"] = Json{{"block", -1}, {"tx", 0}};
  rejects(j);

  j = good;
  j["namespaces"][0]["reads"][0]["version"] = Json{{"tx", 0}};
  CHECK(Contains(rejects(j), "block"));

  j = good;
  j["namespaces"][0]["reads"][0].erase("key");
  CHECK(Contains(rejects(j), "key"));

  j = good;
  j["namespaces"][0]["reads"] = Json::object();
  CHECK(Contains(rejects(j), "reads"));

  j = good;
  j["namespaces"][0]["writes"][0]["value"] = "not base64!";
  CHECK(Contains(rejects(j), "value"));

  j = good;
  j["namespaces"][0]["writes"][0]["value"] = 5;
  CHECK(Contains(rejects(j), "value"));

  j = good;
  j["namespaces"][0]["range_reads"][0]["keys_read"] = "k2";
  CHECK(Contains(rejects(j), "keys_read"));

  j = good;
  j["namespaces"][0]["range_reads"][0]["start"] = 1;
  CHECK(Contains(rejects(j), "start"));
}

Block SampleBlock() {
  Block b;
  b.header.channel = "chainA";
  b.header.number = 42;
  for (std::size_t i = 0; i < b.header.prev_hash.size(); ++i) b.header.prev_hash[i] = static_cast<std::uint8_t>(i);
  b.envelopes = {ToBytes("{\"signed_proposal\":\"...\"}"), Bytes{0x00, 0x01, 0xfe, 0xff}, Bytes{}};
  b.header.data_hash = b.ComputeDataHash();
  b.metadata.validation_codes = {ValidationCode::kValid, ValidationCode::kMvccReadConflict,
                                 ValidationCode::kRouteNotAllowed};
  b.metadata.timestamp_ms = 1712345678901;
  b.metadata.relay_signature = Bytes{0x30, 0x45, 0x02, 0x21, 0x00, 0xaa};
  return b;
}

TEST_CASE("a Block survives Serialize and Parse, and Parse rejects garbage") {
  Block b = SampleBlock();
  Bytes bytes = b.Serialize();
  auto back = Block::Parse(bytes);
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CHECK(back->header.channel == b.header.channel);
  CHECK(back->header.number == b.header.number);
  CHECK(back->header.prev_hash == b.header.prev_hash);
  CHECK(back->header.data_hash == b.header.data_hash);
  CHECK(back->header.ComputeHash() == b.header.ComputeHash());
  CHECK(back->envelopes == b.envelopes);
  CHECK(back->metadata.validation_codes == b.metadata.validation_codes);
  CHECK(back->metadata.timestamp_ms == b.metadata.timestamp_ms);
  CHECK(back->metadata.relay_signature == b.metadata.relay_signature);
  CHECK(back->Serialize() == bytes);
  CHECK(back->SignedMetadataBytes() == b.SignedMetadataBytes());

  Json j = b.ToJson();
  CHECK(j["header"]["number"] == 42);
  CHECK(j["header"]["channel"] == "chainA");

  CHECK(Block::Parse(ToBytes("")).status().IsInvalidArgument());
  CHECK(Block::Parse(ToBytes("not json")).status().IsInvalidArgument());
  CHECK(Block::Parse(ToBytes("{}")).status().IsInvalidArgument());
  CHECK(Block::Parse(ToBytes("[1,2]")).status().IsInvalidArgument());
  Bytes truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
  CHECK(Block::Parse(truncated).status().IsInvalidArgument());
}

TEST_CASE("block hashes depend on every header field and data hashes on every envelope") {
  Block b = SampleBlock();
  const Hash h = b.header.ComputeHash();
  const Hash d = b.ComputeDataHash();
  CHECK(h != Hash{});
  Block c = b;
  c.header.number = 43;
  CHECK(c.header.ComputeHash() != h);
  c = b;
  c.header.channel = "chainB";
  CHECK(c.header.ComputeHash() != h);
  c = b;
  c.header.prev_hash[0] ^= 1;
  CHECK(c.header.ComputeHash() != h);
  c = b;
  c.header.data_hash[0] ^= 1;
  CHECK(c.header.ComputeHash() != h);
  c = b;
  c.envelopes[1][0] ^= 1;
  CHECK(c.ComputeDataHash() != d);
  c = b;
  std::swap(c.envelopes[0], c.envelopes[1]);
  CHECK(c.ComputeDataHash() != d);
  c = b;
  c.metadata.validation_codes[0] = ValidationCode::kBadPayload;
  CHECK(c.SignedMetadataBytes() != b.SignedMetadataBytes());
  CHECK(c.header.ComputeHash() == h);
}

TEST_CASE("a block's place in a replicated log is signed, survives Serialize and JSON, and is absent when 0") {
  Block b = SampleBlock();
  const Bytes unplaced = b.SignedMetadataBytes();
  CHECK(ToString(unplaced).find("log_position") == std::string::npos);
  CHECK(!b.ToJson()["metadata"].contains("resume_revision"));
  Block placed = b;
  placed.metadata.log_position = (7ull << 20) | 3;
  placed.metadata.resume_revision = 6;
  CHECK(placed.SignedMetadataBytes() != unplaced);
  Block other = placed;
  other.metadata.resume_revision = 5;
  CHECK(other.SignedMetadataBytes() != placed.SignedMetadataBytes());

  auto parsed = Block::Parse(placed.Serialize());
  REQUIRE(parsed.ok());
  CHECK(parsed->metadata.log_position == placed.metadata.log_position);
  CHECK(parsed->metadata.resume_revision == 6);
  auto from_json = Block::FromJson(placed.ToJson());
  REQUIRE(from_json.ok());
  CHECK(from_json->SignedMetadataBytes() == placed.SignedMetadataBytes());

  Json negative = placed.ToJson();
  negative["metadata"]["resume_revision"] = -1;
  CHECK(Block::FromJson(negative).status().IsInvalidArgument());
  Json text = placed.ToJson();
  text["metadata"]["log_position"] = "7";
  CHECK(Block::FromJson(text).status().IsInvalidArgument());
}

namespace {

// The ledger's block file, its size, and a byte of it changed in place.
std::string BlockFilePath(const std::string& dir) { return dir + "/blocks.dat"; }
std::uintmax_t BlockFileSize(const std::string& dir) { return std::filesystem::file_size(BlockFilePath(dir)); }
std::string ReadFileOrDie(const std::string& path) {
  auto text = ReadFile(path);
  REQUIRE(text.ok());
  return *text;
}
void WriteFileOrDie(const std::string& path, const std::string& bytes) {
  REQUIRE(WriteFileAtomic(path, bytes, 0600).ok());
}
void RewriteBlockFile(const std::string& dir, const std::function<void(std::string&)>& change) {
  std::string bytes = ReadFileOrDie(BlockFilePath(dir));
  change(bytes);
  WriteFileOrDie(BlockFilePath(dir), bytes);
}

}  // namespace

TEST_CASE("a block written to the block file but never indexed (a crash between the two) is cut off on open") {
  TempDir tmp;
  const std::string dir = tmp.Join("data");
  std::uintmax_t indexed = 0;
  {
    auto ledger = OpenOrDie(dir);
    REQUIRE(CommitNext(*ledger, "chA", {Tx("a0", "chA", "cc", {{"k", "1"}})}).ok());
    indexed = BlockFileSize(dir);
  }
  RewriteBlockFile(dir, [](std::string& bytes) { bytes += std::string(5000, 'x'); });
  auto ledger = OpenOrDie(dir);
  CHECK(BlockFileSize(dir) == indexed);
  REQUIRE(CommitNext(*ledger, "chA", {Tx("a1", "chA", "cc", {{"k", "2"}})}).ok());
  CHECK(ledger->VerifyChain("chA").ok());
  auto second = ledger->GetBlock("chA", 1);
  REQUIRE(second.ok());
  CHECK(second->header.number == 1);
}

TEST_CASE("a block file shorter than its index refuses to open, and a changed byte of a stored block is Corruption") {
  TempDir tmp;
  const std::string dir = tmp.Join("data");
  {
    auto ledger = OpenOrDie(dir);
    REQUIRE(CommitNext(*ledger, "chA", {Tx("a0", "chA", "cc", {{"k", "1"}})}).ok());
    REQUIRE(CommitNext(*ledger, "chA", {Tx("a1", "chA", "cc", {{"k", "2"}})}).ok());
    REQUIRE(CommitNext(*ledger, "chA", {Tx("a2", "chA", "cc", {{"k", "3"}})}).ok());
  }
  const std::string original = ReadFileOrDie(BlockFilePath(dir));
  // Block 0's timestamp (metadata, which no data hash covers) changes by one digit.
  RewriteBlockFile(dir, [](std::string& bytes) {
    std::size_t at = bytes.find("\"timestamp_ms\":1700000000000");
    REQUIRE(at != std::string::npos);
    bytes[at + std::string("\"timestamp_ms\":").size()] = '2';
  });
  {
    auto ledger = OpenOrDie(dir);  // the tip and the block before it (2 and 1) are intact
    auto damaged = ledger->GetBlock("chA", 0);
    REQUIRE_FALSE(damaged.ok());
    CHECK(damaged.status().IsCorruption());
    CHECK(Contains(damaged.status().message(), "block 0"));
    CHECK(ledger->VerifyChain("chA").IsCorruption());
  }
  WriteFileOrDie(BlockFilePath(dir), original.substr(0, original.size() - 10));
  auto refused = Ledger::Open(dir);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().IsCorruption());
  CHECK(Contains(refused.status().message(), "blocks.dat"));
}

TEST_CASE("a block location past the block file's end reads as Corruption, allocating nothing for it") {
  TempDir tmp;
  const std::string dir = tmp.Join("data");
  {
    auto ledger = OpenOrDie(dir);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(CommitNext(*ledger, "chA", {Tx("a" + std::to_string(i), "chA", "cc", {{"k", "1"}})}).ok());
    }
  }
  {
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(leveldb::Options(), dir, &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    const std::string huge = internal::EncodeBlockLocation({0, std::uint64_t{1} << 62, {}});
    REQUIRE(db->Put(leveldb::WriteOptions(), internal::BlockKey("chA", 0), huge).ok());
  }
  auto ledger = OpenOrDie(dir);
  auto damaged = ledger->GetBlock("chA", 0);
  REQUIRE_FALSE(damaged.ok());
  CHECK(damaged.status().IsCorruption());
  CHECK(ledger->GetBlock("chA", 2).ok());
}

TEST_CASE("reopening the ledger keeps blocks, state, history, the tx index and savepoints") {
  TempDir tmp;
  const std::string dir = tmp.Join("data");
  Hash last_a{};
  {
    auto ledger = OpenOrDie(dir);
    REQUIRE(CommitNext(*ledger, "chA", {Tx("a0", "chA", "cc", {{"k", "1"}, {"gone", "x"}})}).ok());
    REQUIRE(CommitNext(*ledger, "chA", {Tx("a1", "chA", "cc", {{"k", "2"}, {"gone", std::nullopt}}),
                                        Tx("a2", "chA", "cc", {{"k", "evil"}}, ValidationCode::kMvccReadConflict)})
                .ok());
    REQUIRE(CommitNext(*ledger, "chB", {Tx("b0", "chB", "cc", {{"k", "B"}})}).ok());
    last_a = ledger->GetSavepoint("chA").last_hash;
  }
  auto ledger = OpenOrDie(dir);
  std::vector<std::string> channels = ledger->Channels();
  std::sort(channels.begin(), channels.end());
  CHECK(channels == std::vector<std::string>{"chA", "chB"});
  CHECK(ledger->GetSavepoint("chA").height == 2);
  CHECK(ledger->GetSavepoint("chA").last_hash == last_a);
  CHECK(ledger->GetSavepoint("chB").height == 1);
  CHECK(ledger->VerifyChain("chA").ok());
  CHECK(ledger->VerifyChain("chB").ok());
  CHECK(Get(*ledger, "chA", "cc", "k") == VV("2", 1, 0));
  CHECK_FALSE(Get(*ledger, "chA", "cc", "gone").has_value());
  CHECK(Get(*ledger, "chB", "cc", "k") == VV("B", 0, 0));
  auto snap = ledger->GetSnapshot();
  auto history = snap->History("chA", "cc", "k");
  REQUIRE(history.ok());
  CHECK(history->size() == 2);
  auto found = snap->FindTx("chA", "a2");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK(**found == Located(*ledger, "chA", 1, 1, ValidationCode::kMvccReadConflict));
  auto block = ledger->GetBlock("chA", 1);
  REQUIRE(block.ok());
  CHECK(block->header.ComputeHash() == last_a);

  // And it continues from where it was.
  REQUIRE(CommitNext(*ledger, "chA", {Tx("a3", "chA", "cc", {{"k", "3"}})}).ok());
  CHECK(Get(*ledger, "chA", "cc", "k") == VV("3", 2, 0));
}

TEST_CASE("a ledger with blocks of an earlier format refuses to open, saying what to do; an empty one takes the format") {
  TempDir tmp;
  const std::string dir = tmp.Join("data");
  {
    auto ledger = OpenOrDie(dir);
    REQUIRE(CommitNext(*ledger, "chA", {Tx("a0", "chA", "cc", {{"k", "1"}})}).ok());
  }
  CHECK(Ledger::Open(dir).ok());
  {
    // A ledger from before format records: blocks, and no format.
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(leveldb::Options(), dir, &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    REQUIRE(db->Delete(leveldb::WriteOptions(), leveldb::Slice("f\0format", 8)).ok());
  }
  auto refused = Ledger::Open(dir);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(refused.status().message(), "format 1"));
  CHECK(Contains(refused.status().message(), "create the alliance's ledgers anew"));

  const std::string empty = tmp.Join("empty");
  { OpenOrDie(empty); }
  {
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(leveldb::Options(), empty, &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    std::string format;
    REQUIRE(db->Get(leveldb::ReadOptions(), leveldb::Slice("f\0format", 8), &format).ok());
    CHECK(format == "3");
  }
}

TEST_CASE("a tx index entry written before entries held the envelope's hash is still read, with no hash") {
  TempDir tmp;
  const std::string dir = tmp.Join("data");
  {
    auto ledger = OpenOrDie(dir);
    REQUIRE(CommitNext(*ledger, "chA", {Tx("a0", "chA", "cc", {{"k", "1"}})}).ok());
    auto found = ledger->GetSnapshot()->FindTx("chA", "a0");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK(**found == Located(*ledger, "chA", 0, 0, ValidationCode::kValid));
  }
  {
    // The entry as earlier ledgers wrote it: block, index and code only (17 bytes).
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(leveldb::Options(), dir, &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
    int shortened = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->value().size() != 49 || !it->key().ToString().ends_with("a0")) continue;
      REQUIRE(db->Put(leveldb::WriteOptions(), it->key(), leveldb::Slice(it->value().data(), 17)).ok());
      ++shortened;
    }
    REQUIRE(shortened == 1);
  }
  auto ledger = OpenOrDie(dir);
  auto found = ledger->GetSnapshot()->FindTx("chA", "a0");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK(**found == TxLocation{0, 0, ValidationCode::kValid, Hash{}});
}

TEST_CASE("many channels in one ledger are independent") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  constexpr int kChannels = 12;
  for (int c = 0; c < kChannels; ++c) {
    const std::string ch = "chain" + std::to_string(c);
    for (int n = 0; n <= c % 4; ++n) {
      // The same tx id and key on every channel.
      Status s = CommitNext(*ledger, ch, {Tx("tx-" + std::to_string(n), ch, "cc", {{"k", ch + "/" + std::to_string(n)}})});
      REQUIRE_MESSAGE(s.ok(), s.ToString());
    }
  }
  // Block 0 of a channel that has blocks is refused there, and nowhere else is touched.
  std::vector<CommittedTx> again{Tx("tx-9", "chain3", "cc", {{"k", "x"}})};
  CHECK(ledger->Commit(MakeBlock("chain3", 0, Hash{}, again), again).IsInvalidArgument());

  std::vector<std::string> channels = ledger->Channels();
  CHECK(channels.size() == static_cast<std::size_t>(kChannels));
  auto snap = ledger->GetSnapshot();
  for (int c = 1; c < kChannels; ++c) {
    const std::string ch = "chain" + std::to_string(c);
    CHECK(std::find(channels.begin(), channels.end(), ch) != channels.end());
    const std::uint64_t height = static_cast<std::uint64_t>(c % 4) + 1;
    CHECK(ledger->GetSavepoint(ch).height == height);
    auto got = snap->Get(ch, "cc", "k");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->value == ToBytes(ch + "/" + std::to_string(height - 1)));
    CHECK((*got)->version == Version{height - 1, 0});
    auto range = snap->Range(ch, "cc", "", "");
    REQUIRE(range.ok());
    CHECK(range->entries.size() == 1);
    auto history = snap->History(ch, "cc", "k");
    REQUIRE(history.ok());
    CHECK(history->size() == height);
    auto found = snap->FindTx(ch, "tx-0");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK((*found)->block == 0);
    CHECK(ledger->VerifyChain(ch).ok());
  }
  // Channels whose names are prefixes of each other stay apart.
  REQUIRE(CommitNext(*ledger, "chain", {Tx("p0", "chain", "cc", {{"k", "prefix"}})}).ok());
  CHECK(ledger->GetSavepoint("chain").height == 1);
  CHECK(ledger->GetSavepoint("chain1").height == 2);
  auto prefix_range = ledger->GetSnapshot()->Range("chain", "cc", "", "");
  REQUIRE(prefix_range.ok());
  CHECK(Keys(*prefix_range) == std::vector<std::string>{"k"});
}

TEST_CASE("Commit refuses a block whose valid transaction writes another channel's state") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::vector<CommittedTx> txs{Tx("t0", "ch1", "cc", {{"a", "0"}}), Tx("t1", "ch2", "cc", {{"a", "intruder"}})};
  Status s = ledger->Commit(MakeBlock("ch1", 0, ZeroHash(), txs), txs);
  CHECK_MESSAGE(s.IsInvalidArgument(), s.ToString());
  CHECK(Contains(s.message(), "ch2"));
  CHECK(ledger->GetSavepoint("ch1").height == 0);
  CHECK(ledger->GetSavepoint("ch2").height == 0);
  CHECK_FALSE(Get(*ledger, "ch1", "cc", "a").has_value());
  CHECK_FALSE(Get(*ledger, "ch2", "cc", "a").has_value());
}

TEST_CASE("Commit accepts a block whose invalid transaction writes another channel, without applying it") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::vector<CommittedTx> txs{Tx("t0", "ch1", "cc", {{"a", "0"}}),
                               Tx("t1", "ch2", "cc", {{"a", "intruder"}}, ValidationCode::kIllegalWriteset)};
  Status s = ledger->Commit(MakeBlock("ch1", 0, ZeroHash(), txs), txs);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(ledger->GetSavepoint("ch1").height == 1);
  CHECK(Get(*ledger, "ch1", "cc", "a") == VV("0", 0, 0));
  CHECK_FALSE(Get(*ledger, "ch2", "cc", "a").has_value());
  CHECK(ledger->GetSavepoint("ch2").height == 0);
}

TEST_CASE("Commit accepts a valid transaction that only reads another channel") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  CommittedTx tx = Tx("t0", "ch1", "cc", {{"a", "0"}});
  NamespaceRwSet other;
  other.channel = "ch2";
  other.contract = "cc";
  other.reads.push_back(KeyRead{"b", std::nullopt});
  tx.rwset.namespaces.push_back(other);
  std::vector<CommittedTx> txs{tx};
  Status s = ledger->Commit(MakeBlock("ch1", 0, ZeroHash(), txs), txs);
  CHECK_MESSAGE(s.ok(), s.ToString());
  CHECK(ledger->GetSavepoint("ch1").height == 1);
}

TEST_CASE("Commit refuses a tx id longer than 256 bytes and accepts one of 256") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::vector<CommittedTx> too_long{Tx(std::string(257, 'x'), "ch1", "cc", {{"a", "0"}})};
  Status s = ledger->Commit(MakeBlock("ch1", 0, ZeroHash(), too_long), too_long);
  CHECK_MESSAGE(s.IsInvalidArgument(), s.ToString());
  CHECK(ledger->GetSavepoint("ch1").height == 0);
  CHECK_FALSE(Get(*ledger, "ch1", "cc", "a").has_value());

  std::vector<CommittedTx> longest{Tx(std::string(256, 'x'), "ch1", "cc", {{"a", "0"}})};
  Status ok = ledger->Commit(MakeBlock("ch1", 0, ZeroHash(), longest), longest);
  CHECK_MESSAGE(ok.ok(), ok.ToString());
  CHECK(ledger->GetSavepoint("ch1").height == 1);
}

TEST_CASE("Commit refuses channel and contract names that are not UTF-8, without throwing") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  const std::string bad = "\xff";
  SUBCASE("a channel") {
    std::vector<CommittedTx> txs{Tx("t0", bad, "cc", {{"a", "0"}})};
    Status s;
    CHECK_NOTHROW(s = ledger->Commit(MakeBlock(bad, 0, ZeroHash(), txs), txs));
    CHECK_MESSAGE(s.IsInvalidArgument(), s.ToString());
    CHECK_NOTHROW((void)s.ToString());
    CHECK(ledger->Channels().empty());
  }
  SUBCASE("a contract") {
    std::vector<CommittedTx> txs{Tx("t0", "ch1", "c" + bad, {{"a", "0"}})};
    Status s;
    CHECK_NOTHROW(s = ledger->Commit(MakeBlock("ch1", 0, ZeroHash(), txs), txs));
    CHECK_MESSAGE(s.IsInvalidArgument(), s.ToString());
    CHECK(ledger->GetSavepoint("ch1").height == 0);
  }
}

TEST_CASE("Open of an existing ledger in an empty directory is NotFound and creates nothing") {
  TempDir tmp;
  auto opened = Ledger::Open(tmp.path(), Ledger::OpenMode::kExisting);
  CHECK_MESSAGE(opened.status().IsNotFound(), opened.status().ToString());
  std::string created;
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
    created += entry.path().filename().string() + " ";
  }
  CHECK_MESSAGE(created.empty(), "created: " << created);

  // A missing directory is NotFound too, and is not created.
  auto missing = Ledger::Open(tmp.Join("missing"), Ledger::OpenMode::kExisting);
  CHECK_MESSAGE(missing.status().IsNotFound(), missing.status().ToString());
  CHECK_FALSE(std::filesystem::exists(tmp.Join("missing")));
}

TEST_CASE("Open of an existing ledger opens a ledger made before") {
  TempDir tmp;
  {
    auto ledger = OpenOrDie(tmp.path());
    REQUIRE(CommitNext(*ledger, "ch1", {Tx("t0", "ch1", "cc", {{"a", "0"}})}).ok());
  }
  auto opened = Ledger::Open(tmp.path(), Ledger::OpenMode::kExisting);
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  CHECK((*opened)->GetSavepoint("ch1").height == 1);
}

TEST_CASE("composite keys refuse a type or attribute that is not UTF-8") {
  CHECK(CreateCompositeKey("owner", {"\xff"}).status().IsInvalidArgument());
  CHECK(CreateCompositeKey("owner", {"alice", "\xc3"}).status().IsInvalidArgument());   // truncated
  CHECK(CreateCompositeKey("owner", {"\xc0\x80"}).status().IsInvalidArgument());       // overlong U+0000
  CHECK(CreateCompositeKey("owner", {"\xed\xa0\x80"}).status().IsInvalidArgument());  // surrogate
  CHECK(CreateCompositeKey("\xfe", {"a"}).status().IsInvalidArgument());
  CHECK(CreateCompositeKey("owner", {"\xc3\xa9", "\xf0\x9f\x98\x80"}).ok());
}

TEST_CASE("Block::FromJson refuses validation codes outside 0-255 instead of wrapping them") {
  const std::string good = SampleBlock().ToJson().dump();
  REQUIRE(Block::FromJson(Json::parse(good)).ok());
  // As an int, 2^32 wraps to VALID and 2^32 + 23 to ILLEGAL_WRITESET.
  for (std::string code : {"4294967296", "4294967319", "18446744073709551615", "256", "-1", "-4294967296"}) {
    CAPTURE(code);
    Json j = Json::parse(good);
    REQUIRE_FALSE(j["metadata"]["validation_codes"].empty());
    j["metadata"]["validation_codes"][0] = Json::parse(code);
    CHECK(Block::FromJson(j).status().IsInvalidArgument());
  }
}

TEST_CASE("Block::FromJson accepts the JSON that ToJson produced, without a round trip through text") {
  Block b = SampleBlock();
  auto back = Block::FromJson(b.ToJson());
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CHECK(back->metadata.validation_codes == b.metadata.validation_codes);
  CHECK(back->header.ComputeHash() == b.header.ComputeHash());
}

}  // namespace
}  // namespace entente::ledger

namespace entente::ledger {
namespace {

TEST_CASE("Meta entries commit with a block, survive a reopen, and scan by prefix in key order") {
  TempDir dir;
  {
    auto ledger = OpenOrDie(dir.Join("db"));
    std::vector<CommittedTx> txs{Tx("tx1", "chainA", "cc", {{"k", "v"}})};
    Block block = MakeBlock("chainA", 0, Hash{}, txs);
    REQUIRE(ledger->Commit(block, txs, {{"relay/ordered/chainA", ToBytes("7")}}).ok());
    REQUIRE(ledger->PutMeta({{"relay/rejected/2", ToBytes("b")}, {"relay/rejected/1", ToBytes("a")}}).ok());
    CHECK_FALSE(ledger->PutMeta({{"", ToBytes("x")}}).ok());
  }
  auto ledger = OpenOrDie(dir.Join("db"));
  auto ordered = ledger->GetMeta("relay/ordered/chainA");
  REQUIRE(ordered.ok());
  REQUIRE(ordered->has_value());
  CHECK(ToString(**ordered) == "7");
  auto missing = ledger->GetMeta("relay/ordered/chainB");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  auto rejected = ledger->ScanMeta("relay/rejected/");
  REQUIRE(rejected.ok());
  REQUIRE(rejected->size() == 2);
  CHECK((*rejected)[0].first == "relay/rejected/1");
  CHECK(ToString((*rejected)[1].second) == "b");
}

TEST_CASE("A refused commit writes none of its meta entries") {
  TempDir dir;
  auto ledger = OpenOrDie(dir.Join("db"));
  std::vector<CommittedTx> txs{Tx("tx1", "chainA", "cc", {{"k", "v"}})};
  Block wrong_number = MakeBlock("chainA", 5, Hash{}, txs);
  CHECK_FALSE(ledger->Commit(wrong_number, txs, {{"relay/ordered/chainA", ToBytes("1")}}).ok());
  auto meta = ledger->GetMeta("relay/ordered/chainA");
  REQUIRE(meta.ok());
  CHECK_FALSE(meta->has_value());
}

}  // namespace
}  // namespace entente::ledger
