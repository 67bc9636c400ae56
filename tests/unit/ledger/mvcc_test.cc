// ValidateMvcc (runtime/ledger/ledger.h): a block's transactions checked in their serial order against
// the committed versions plus the writes of the earlier valid transactions of the same block.
#include "runtime/ledger/ledger.h"

#include <doctest/doctest.h>

#include <memory>
#include <ostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/validation_code.h"
#include "tests/support/support.h"

namespace entente::ledger {
namespace {

using entente::testing::TempDir;
using VC = ValidationCode;

// The codes of a block, printed by name when a check fails.
struct Codes : std::vector<VC> {
  using std::vector<VC>::vector;
  friend std::ostream& operator<<(std::ostream& os, const Codes& codes) {
    os << "[";
    for (std::size_t i = 0; i < codes.size(); ++i) os << (i > 0 ? ", " : "") << ValidationCodeName(codes[i]);
    return os << "]";
  }
};

constexpr const char* kChannel = "ch";
constexpr const char* kContract = "cc";

KeyRead Read(const std::string& key, std::uint64_t block, std::uint64_t tx) { return KeyRead{key, Version{block, tx}}; }
KeyRead ReadMissing(const std::string& key) { return KeyRead{key, std::nullopt}; }
KeyWrite Put(const std::string& key, const std::string& value) { return KeyWrite{key, false, ToBytes(value)}; }
KeyWrite Del(const std::string& key) { return KeyWrite{key, true, {}}; }

RwSet Rw(std::vector<KeyRead> reads, std::vector<RangeRead> range_reads, std::vector<KeyWrite> writes,
         const std::string& contract = kContract) {
  NamespaceRwSet ns;
  ns.channel = kChannel;
  ns.contract = contract;
  ns.reads = std::move(reads);
  ns.range_reads = std::move(range_reads);
  ns.writes = std::move(writes);
  RwSet rw;
  rw.namespaces.push_back(std::move(ns));
  return rw;
}

RangeRead Range(const std::string& start, const std::string& end, std::vector<KeyRead> keys_read,
                bool exhausted = true) {
  return RangeRead{start, end, exhausted, std::move(keys_read)};
}

// A transaction to validate: its id, rwset and the code earlier checks gave it.
struct Pending {
  std::string tx_id;
  RwSet rwset;
  VC code = VC::kValid;
};

// A ledger on channel "ch" with committed blocks, and the validator run against its snapshot.
class Chain {
 public:
  Chain() {
    auto opened = Ledger::Open(tmp_.Join("ledger"));
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    ledger_ = std::move(opened).value();
  }

  // Commits one block with one tx per entry (all with their given codes).
  void Commit(const std::vector<Pending>& txs) {
    Savepoint sp = ledger_->GetSavepoint(kChannel);
    Block block;
    block.header.channel = kChannel;
    block.header.number = sp.height;
    if (sp.height > 0) block.header.prev_hash = sp.last_hash;
    std::vector<CommittedTx> committed;
    for (const Pending& p : txs) {
      block.envelopes.push_back(ToBytes("envelope:" + p.tx_id));
      block.metadata.validation_codes.push_back(p.code);
      committed.push_back(CommittedTx{p.tx_id, p.code, p.rwset});
    }
    block.header.data_hash = block.ComputeDataHash();
    Status s = ledger_->Commit(block, committed);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }

  // Validates `txs` as the next block; `reasons`, when given, receives why, per tx.
  Codes Validate(const std::vector<Pending>& txs, std::vector<std::string>* reasons = nullptr) const {
    std::vector<PendingTx> pending;
    for (const Pending& p : txs) pending.push_back(PendingTx{p.tx_id, &p.rwset, p.code});
    auto snap = ledger_->GetSnapshot();
    auto codes = ValidateMvcc(*snap, kChannel, ledger_->GetSavepoint(kChannel).height, pending, reasons);
    REQUIRE_MESSAGE(codes.ok(), codes.status().ToString());
    REQUIRE(codes->size() == txs.size());
    return Codes(codes->begin(), codes->end());
  }

  Ledger& ledger() { return *ledger_; }

 private:
  TempDir tmp_;
  std::unique_ptr<Ledger> ledger_;
};

// Block 0: "seed" writes a, b, k1, k3, k5 (all at version (0,0)); "seed2" writes c (version (0,1)).
void Seed(Chain& chain) {
  chain.Commit({{"seed", Rw({}, {}, {Put("a", "1"), Put("b", "1"), Put("k1", "1"), Put("k3", "3"), Put("k5", "5")})},
                {"seed2", Rw({}, {}, {Put("c", "1")})}});
}

TEST_CASE("MVCC rejects a read of a key rewritten earlier in the same block") {
  // The paper's double submission: two transactions simulated on the same state, both read a@(0,0)
  // and write it; only the first can commit.
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{{"t1", Rw({Read("a", 0, 0)}, {}, {Put("a", "2")})},
                           {"t2", Rw({Read("a", 0, 0)}, {}, {Put("a", "3")})}};
  CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kMvccReadConflict});
}

TEST_CASE("MVCC accepts transactions that read the committed versions of different keys") {
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{{"t1", Rw({Read("a", 0, 0)}, {}, {Put("a", "2")})},
                           {"t2", Rw({Read("b", 0, 0), Read("c", 0, 1)}, {}, {Put("b", "3")})},
                           {"t3", Rw({}, {}, {Put("a", "blind")})}};
  CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kValid, VC::kValid});
}

TEST_CASE("MVCC rejects a read of a version that is no longer committed") {
  Chain chain;
  Seed(chain);
  chain.Commit({{"w1", Rw({}, {}, {Put("a", "2")})}});  // a is now at (1,0)
  std::vector<Pending> txs{{"stale", Rw({Read("a", 0, 0)}, {}, {Put("x", "1")})},
                           {"fresh", Rw({Read("a", 1, 0)}, {}, {Put("y", "1")})},
                           {"wrong_tx", Rw({Read("c", 0, 0)}, {}, {})}};
  CHECK(chain.Validate(txs) == Codes{VC::kMvccReadConflict, VC::kValid, VC::kMvccReadConflict});
}

TEST_CASE("An MVCC conflict says which key conflicted, the version read and the version now") {
  Chain chain;
  Seed(chain);
  chain.Commit({{"w1", Rw({}, {}, {Put("a", "2")})}});  // a is now at (1,0)
  std::vector<Pending> txs{{"stale", Rw({Read("a", 0, 0)}, {}, {Put("x", "1")})},
                           {"first", Rw({Read("b", 0, 0)}, {}, {Put("b", "2")})},
                           {"second", Rw({Read("b", 0, 0)}, {}, {Put("b", "3")})},
                           {"phantom", Rw({}, {Range("k", "l", {Read("k1", 0, 0)})}, {})},
                           {"fine", Rw({Read("c", 0, 1)}, {}, {})}};
  std::vector<std::string> conflicts;
  CHECK(chain.Validate(txs, &conflicts) ==
        Codes{VC::kMvccReadConflict, VC::kValid, VC::kMvccReadConflict, VC::kPhantomReadConflict, VC::kValid});
  REQUIRE(conflicts.size() == txs.size());
  CHECK(conflicts[0] == "it read key 'a' of ch/cc at version (block 0, tx 0), which is version (block 1, tx 0) now");
  CHECK(conflicts[1].empty());
  CHECK(conflicts[2] ==
        "it read key 'b' of ch/cc at version (block 0, tx 0), which an earlier valid transaction of this block writes");
  CHECK(conflicts[3] == "its range read of ch/cc from 'k' to 'l' would now return other keys or versions");
  CHECK(conflicts[4].empty());
}

TEST_CASE("The validator says why a tx id is a duplicate or a write set illegal, and nothing for codes it was given") {
  Chain chain;
  Seed(chain);
  RwSet elsewhere;
  elsewhere.namespaces.push_back({"other", kContract, {}, {}, {Put("x", "1")}});
  std::vector<Pending> txs{{"seed", Rw({}, {}, {})},
                           {"twice", Rw({}, {}, {})},
                           {"twice", Rw({}, {}, {})},
                           {"writer", elsewhere},
                           {"bad", Rw({}, {}, {}), VC::kBadCreatorSignature}};
  std::vector<std::string> reasons;
  CHECK(chain.Validate(txs, &reasons) ==
        Codes{VC::kDuplicateTxid, VC::kValid, VC::kDuplicateTxid, VC::kIllegalWriteset, VC::kBadCreatorSignature});
  REQUIRE(reasons.size() == txs.size());
  CHECK(reasons[0] == "tx id already committed on ch");
  CHECK(reasons[1].empty());
  CHECK(reasons[2] == "tx id claimed by an earlier transaction of the same block");
  CHECK(reasons[3] == "it writes to channel other, not ch");
  CHECK(reasons[4].empty());
}

TEST_CASE("MVCC rejects a read of a missing key that exists now, and accepts one still missing") {
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{{"t1", Rw({ReadMissing("a")}, {}, {Put("a", "new")})},
                           {"t2", Rw({ReadMissing("nobody")}, {}, {Put("nobody", "1")})}};
  CHECK(chain.Validate(txs) == Codes{VC::kMvccReadConflict, VC::kValid});
}

TEST_CASE("MVCC rejects a read of a missing key that an earlier transaction of the block created") {
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{{"t1", Rw({ReadMissing("z")}, {}, {Put("z", "1")})},
                           {"t2", Rw({ReadMissing("z")}, {}, {Put("z", "2")})}};
  CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kMvccReadConflict});
}

TEST_CASE("MVCC treats a deleted key as missing: its old version conflicts, a missing read passes") {
  Chain chain;
  Seed(chain);
  chain.Commit({{"del", Rw({}, {}, {Del("b")})}});
  std::vector<Pending> txs{{"old", Rw({Read("b", 0, 0)}, {}, {})},
                           {"missing", Rw({ReadMissing("b")}, {}, {Put("q", "1")})}};
  CHECK(chain.Validate(txs) == Codes{VC::kMvccReadConflict, VC::kValid});
}

TEST_CASE("MVCC rejects a read of a key deleted earlier in the same block") {
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{{"deleter", Rw({Read("b", 0, 0)}, {}, {Del("b")})},
                           {"reader", Rw({Read("b", 0, 0)}, {}, {Put("r", "1")})},
                           {"missing_reader", Rw({ReadMissing("b")}, {}, {})}};
  Codes codes = chain.Validate(txs);
  CHECK(codes[0] == VC::kValid);
  CHECK(codes[1] == VC::kMvccReadConflict);
  // An earlier valid tx of the block wrote (deleted) that key: a conflict whatever version was read.
  CHECK(codes[2] == VC::kMvccReadConflict);
}

TEST_CASE("MVCC rejects a range read when a key was inserted into the range since") {
  Chain chain;
  Seed(chain);
  RangeRead seen = Range("k", "l", {Read("k1", 0, 0), Read("k3", 0, 0), Read("k5", 0, 0)});
  CHECK(chain.Validate({{"before", Rw({}, {seen}, {})}}) == Codes{VC::kValid});
  chain.Commit({{"insert", Rw({}, {}, {Put("k2", "2")})}});
  CHECK(chain.Validate({{"t", Rw({}, {seen}, {Put("out", "1")})}}) == Codes{VC::kPhantomReadConflict});
  // An insertion outside the range does not matter.
  RangeRead other = Range("a", "b", {Read("a", 0, 0)});
  chain.Commit({{"insert2", Rw({}, {}, {Put("b0", "x"), Put("zz", "x")})}});
  CHECK(chain.Validate({{"t2", Rw({}, {other}, {})}}) == Codes{VC::kValid});
}

TEST_CASE("MVCC rejects a range read when a key of the range was deleted since") {
  Chain chain;
  Seed(chain);
  RangeRead seen = Range("k", "", {Read("k1", 0, 0), Read("k3", 0, 0), Read("k5", 0, 0)});
  chain.Commit({{"del", Rw({}, {}, {Del("k3")})}});
  CHECK(chain.Validate({{"t", Rw({}, {seen}, {})}}) == Codes{VC::kPhantomReadConflict});
}

TEST_CASE("MVCC rejects a range read when a key of the range was rewritten since") {
  Chain chain;
  Seed(chain);
  RangeRead seen = Range("k1", "k9", {Read("k1", 0, 0), Read("k3", 0, 0), Read("k5", 0, 0)});
  chain.Commit({{"rewrite", Rw({}, {}, {Put("k5", "5")})}});  // same value, new version
  CHECK(chain.Validate({{"t", Rw({}, {seen}, {})}}) == Codes{VC::kPhantomReadConflict});
}

TEST_CASE("MVCC re-checks a paged range read only up to its last key read") {
  Chain chain;
  Seed(chain);
  // The reader stopped after k3; k5 was not read and later changes past k3 do not matter.
  RangeRead page = Range("k", "l", {Read("k1", 0, 0), Read("k3", 0, 0)}, /*exhausted=*/false);
  chain.Commit({{"after", Rw({}, {}, {Put("k4", "4"), Put("k5", "new"), Put("k9", "9")})}});
  CHECK(chain.Validate({{"paged", Rw({}, {page}, {})}}) == Codes{VC::kValid});
  // The same range read, exhausted, sees the phantoms.
  RangeRead full = Range("k", "l", {Read("k1", 0, 0), Read("k3", 0, 0)}, /*exhausted=*/true);
  CHECK(chain.Validate({{"full", Rw({}, {full}, {})}}) == Codes{VC::kPhantomReadConflict});
  // A change before the last key read still counts.
  chain.Commit({{"inside", Rw({}, {}, {Put("k2", "2")})}});
  CHECK(chain.Validate({{"paged2", Rw({}, {page}, {})}}) == Codes{VC::kPhantomReadConflict});
}

TEST_CASE("MVCC rejects a range read over a key an earlier valid transaction of the block wrote") {
  Chain chain;
  Seed(chain);
  RangeRead seen = Range("k", "l", {Read("k1", 0, 0), Read("k3", 0, 0), Read("k5", 0, 0)});
  SUBCASE("an insertion") {
    std::vector<Pending> txs{{"w", Rw({}, {}, {Put("k4", "4")})}, {"r", Rw({}, {seen}, {})}};
    CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kPhantomReadConflict});
  }
  SUBCASE("an update") {
    std::vector<Pending> txs{{"w", Rw({}, {}, {Put("k3", "33")})}, {"r", Rw({}, {seen}, {})}};
    CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kPhantomReadConflict});
  }
  SUBCASE("a delete") {
    std::vector<Pending> txs{{"w", Rw({}, {}, {Del("k1")})}, {"r", Rw({}, {seen}, {})}};
    CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kPhantomReadConflict});
  }
  SUBCASE("a write outside the range does not conflict") {
    std::vector<Pending> txs{{"w", Rw({}, {}, {Put("l", "x"), Put("a", "x")})}, {"r", Rw({}, {seen}, {})}};
    CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kValid});
  }
  SUBCASE("a write to the same key in another contract does not conflict") {
    std::vector<Pending> txs{{"w", Rw({}, {}, {Put("k4", "x")}, "other")}, {"r", Rw({}, {seen}, {})}};
    CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kValid});
  }
}

TEST_CASE("MVCC ignores the writes of earlier invalid transactions of the block") {
  Chain chain;
  Seed(chain);
  RangeRead seen = Range("k", "l", {Read("k1", 0, 0), Read("k3", 0, 0), Read("k5", 0, 0)});
  std::vector<Pending> txs{
      // Invalid from an earlier check: its writes must not count.
      {"policy", Rw({}, {}, {Put("a", "x"), Put("k2", "x")}), VC::kEndorsementPolicyFailure},
      // Invalid by MVCC itself (stale read of c): its writes must not count either.
      {"stale", Rw({Read("c", 9, 9)}, {}, {Put("b", "x"), Del("k3")})},
      {"reader", Rw({Read("a", 0, 0), Read("b", 0, 0)}, {seen}, {Put("a", "y")})}};
  CHECK(chain.Validate(txs) == Codes{VC::kEndorsementPolicyFailure, VC::kMvccReadConflict, VC::kValid});
}

TEST_CASE("MVCC rejects a tx id that appears earlier in the same block") {
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{{"same", Rw({}, {}, {Put("x", "1")})},
                           {"other", Rw({}, {}, {Put("y", "1")})},
                           {"same", Rw({}, {}, {Put("z", "1")})}};
  CHECK(chain.Validate(txs) == Codes{VC::kValid, VC::kValid, VC::kDuplicateTxid});
}

TEST_CASE("MVCC rejects a repeated tx id even when its first occurrence in the block was invalid") {
  // A replayed transaction must not commit under an id the block already holds, whatever code the
  // first copy got: the id appears earlier in the block.
  Chain chain;
  Seed(chain);
  SUBCASE("the first copy was rejected by an earlier check") {
    std::vector<Pending> txs{{"replayed", Rw({}, {}, {Put("x", "1")}), VC::kEndorsementPolicyFailure},
                             {"replayed", Rw({}, {}, {Put("x", "2")})}};
    CHECK(chain.Validate(txs) == Codes{VC::kEndorsementPolicyFailure, VC::kDuplicateTxid});
  }
  SUBCASE("the first copy failed MVCC") {
    std::vector<Pending> txs{{"replayed", Rw({Read("a", 7, 7)}, {}, {Put("x", "1")})},
                             {"replayed", Rw({Read("a", 0, 0)}, {}, {Put("x", "2")})}};
    CHECK(chain.Validate(txs) == Codes{VC::kMvccReadConflict, VC::kDuplicateTxid});
  }
}

TEST_CASE("MVCC rejects a tx id already committed on the channel") {
  Chain chain;
  Seed(chain);
  chain.Commit({{"was-invalid", Rw({}, {}, {Put("x", "1")}), VC::kEndorsementPolicyFailure}});
  std::vector<Pending> txs{{"seed2", Rw({}, {}, {Put("x", "1")})},
                           {"new", Rw({}, {}, {Put("x", "2")})},
                           {"was-invalid", Rw({}, {}, {Put("y", "1")})}};
  CHECK(chain.Validate(txs) == Codes{VC::kDuplicateTxid, VC::kValid, VC::kDuplicateTxid});
}

TEST_CASE("MVCC calls a rejected transaction with an authenticated but already used tx id a duplicate") {
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{{"seed", Rw({}, {}, {}), VC::kCertificateRevoked}};
  CHECK(chain.Validate(txs) == Codes{VC::kDuplicateTxid});
}

TEST_CASE("MVCC lets no transaction with an unverified creator signature take a tx id") {
  // Garbage that copies a real transaction's id (bad signature, bad tx id, unparsable) claims nothing:
  // neither later in the same block nor, once committed, in later blocks.
  Chain chain;
  Seed(chain);
  std::vector<Pending> same_block{{"victim", Rw({}, {}, {Put("x", "forged")}), VC::kBadCreatorSignature},
                                  {"victim", Rw({}, {}, {Put("x", "real")})}};
  CHECK(chain.Validate(same_block) == Codes{VC::kBadCreatorSignature, VC::kValid});
  chain.Commit({{"victim2", Rw({}, {}, {Put("y", "forged")}), VC::kBadProposalTxid}});
  std::vector<Pending> later{{"victim2", Rw({}, {}, {Put("y", "real")})}};
  CHECK(chain.Validate(later) == Codes{VC::kValid});
}

TEST_CASE("MVCC keeps the code of a transaction that earlier checks already rejected") {
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{
      {"sig", Rw({Read("a", 5, 5)}, {}, {Put("a", "x")}), VC::kBadCreatorSignature},
      {"cert", Rw({}, {}, {}), VC::kCertificateRevoked},
      {"route", Rw({ReadMissing("a")}, {Range("k", "l", {})}, {}), VC::kRouteNotAllowed},
      {"ok", Rw({Read("a", 0, 0)}, {}, {Put("a", "y")})}};
  CHECK(chain.Validate(txs) ==
        Codes{VC::kBadCreatorSignature, VC::kCertificateRevoked, VC::kRouteNotAllowed, VC::kValid});
}

TEST_CASE("MVCC validates reads in every namespace of a transaction") {
  Chain chain;
  chain.Commit({{"seed", Rw({}, {}, {Put("a", "1")})}, {"seed-other", Rw({}, {}, {Put("a", "1")}, "other")}});
  // a is (0,0) in cc and (0,1) in other.
  RwSet two = Rw({Read("a", 0, 0)}, {}, {});
  NamespaceRwSet ns;
  ns.channel = kChannel;
  ns.contract = "other";
  ns.reads = {Read("a", 0, 0)};  // stale: the committed version in "other" is (0,1)
  two.namespaces.push_back(ns);
  RwSet good = two;
  good.namespaces[1].reads = {Read("a", 0, 1)};
  CHECK(chain.Validate({{"bad", two}, {"good", good}}) == Codes{VC::kMvccReadConflict, VC::kValid});
}

TEST_CASE("MVCC results agree with what the ledger then commits") {
  // Validate, commit with the codes, and validate the same reads again: now they are stale.
  Chain chain;
  Seed(chain);
  std::vector<Pending> txs{{"t1", Rw({Read("a", 0, 0)}, {}, {Put("a", "2")})},
                           {"t2", Rw({Read("a", 0, 0)}, {}, {Put("a", "3")})}};
  Codes codes = chain.Validate(txs);
  REQUIRE(codes == Codes{VC::kValid, VC::kMvccReadConflict});
  for (std::size_t i = 0; i < txs.size(); ++i) txs[i].code = codes[i];
  chain.Commit(txs);
  auto got = chain.ledger().GetSnapshot()->Get(kChannel, kContract, "a");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->value == ToBytes("2"));
  CHECK((*got)->version == Version{1, 0});
  CHECK(chain.Validate({{"t3", Rw({Read("a", 0, 0)}, {}, {})}, {"t4", Rw({Read("a", 1, 0)}, {}, {})}}) ==
        Codes{VC::kMvccReadConflict, VC::kValid});
}

TEST_CASE("MVCC gives ILLEGAL_WRITESET to a transaction writing another channel's state") {
  Chain chain;
  Seed(chain);
  RwSet foreign = Rw({}, {}, {Put("a", "intruder")});
  foreign.namespaces[0].channel = "other-ch";
  // Also when its own channel's writes come first and its reads are current.
  RwSet mixed = Rw({Read("a", 0, 0)}, {}, {Put("a", "2")});
  mixed.namespaces.push_back(foreign.namespaces[0]);
  std::vector<Pending> txs{
      {"foreign", foreign}, {"mixed", mixed}, {"after", Rw({Read("a", 0, 0)}, {}, {Put("a", "3")})}};
  // The illegal transactions' writes do not count: "after" still reads the committed a.
  CHECK(chain.Validate(txs) == Codes{VC::kIllegalWriteset, VC::kIllegalWriteset, VC::kValid});
}

TEST_CASE("MVCC accepts a transaction that reads another channel but writes only its own") {
  Chain chain;
  Seed(chain);
  RwSet rw = Rw({Read("a", 0, 0)}, {}, {Put("a", "2")});
  NamespaceRwSet other;
  other.channel = "other-ch";
  other.contract = kContract;
  other.reads = {ReadMissing("z")};
  other.range_reads = {Range("", "", {})};
  rw.namespaces.push_back(other);
  CHECK(chain.Validate({{"reader", rw}}) == Codes{VC::kValid});
}

}  // namespace
}  // namespace entente::ledger
