// Following blocks another service cut (runtime/alliance: CheckBlockFollows): a block that is not the
// next one is told apart from a damaged one, which no retry mends.
#include <doctest/doctest.h>

#include "runtime/alliance/alliance.h"

namespace entente::alliance {
namespace {

ledger::Block NextBlock(const ledger::Savepoint& after) {
  ledger::Block block;
  block.header.channel = "chainA";
  block.header.number = after.height;
  block.header.prev_hash = after.last_hash;
  block.envelopes = {ToBytes("one"), ToBytes("two")};
  block.header.data_hash = block.ComputeDataHash();
  block.metadata.validation_codes = {ValidationCode::kValid, ValidationCode::kMvccReadConflict};
  return block;
}

TEST_CASE("the next block follows a savepoint; another number or previous hash does not, and says which block") {
  ledger::Savepoint savepoint{3, {}};
  savepoint.last_hash[0] = 7;
  CHECK(CheckBlockFollows(savepoint, NextBlock(savepoint)).ok());
  ledger::Block later = NextBlock(savepoint);
  later.header.number = 4;
  Status s = CheckBlockFollows(savepoint, later);
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK(s.message().find("block 4 of chainA") != std::string::npos);
  ledger::Block forked = NextBlock(savepoint);
  forked.header.prev_hash[0] = 8;
  CHECK(CheckBlockFollows(savepoint, forked).code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("a block whose envelopes do not match its data hash or its codes is damaged") {
  ledger::Savepoint savepoint{0, {}};
  ledger::Block swapped = NextBlock(savepoint);
  std::swap(swapped.envelopes[0], swapped.envelopes[1]);
  CHECK(CheckBlockFollows(savepoint, swapped).IsCorruption());
  ledger::Block short_codes = NextBlock(savepoint);
  short_codes.metadata.validation_codes.pop_back();
  CHECK(CheckBlockFollows(savepoint, short_codes).IsCorruption());
}

}  // namespace
}  // namespace entente::alliance
