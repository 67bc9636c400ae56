#include "runtime/common/tx_status.h"

#include <doctest/doctest.h>

namespace entente {
namespace {

TEST_CASE("A committed status survives TxStatusJson and TxStatusFromJson with its code, reason and place") {
  TxStatus committed{TxStatus::State::kCommitted, "chainA", 7, 2, ValidationCode::kMvccReadConflict, "key 'k' moved"};
  Json j = TxStatusJson("abc", committed);
  CHECK(j["tx_id"] == "abc");
  CHECK(j["state"] == "committed");
  CHECK(j["code"] == 11);
  CHECK(j["code_name"] == "MVCC_READ_CONFLICT");
  CHECK(j["valid"] == false);
  CHECK(j["block"] == 7);
  CHECK(j["index"] == 2);
  auto back = TxStatusFromJson(j);
  REQUIRE(back.ok());
  CHECK(back->state == TxStatus::State::kCommitted);
  CHECK(back->channel == "chainA");
  CHECK(back->block == 7);
  CHECK(back->index == 2);
  CHECK(back->code == ValidationCode::kMvccReadConflict);
  CHECK(back->message == "key 'k' moved");
}

TEST_CASE("A pending status names no code, block or validity; a rejected one has a code but no place") {
  Json pending = TxStatusJson("p", TxStatus{TxStatus::State::kPending, "", 0, 0, ValidationCode::kValid, ""});
  CHECK(pending == Json{{"tx_id", "p"}, {"state", "pending"}});
  Json rejected =
      TxStatusJson("r", TxStatus{TxStatus::State::kRejected, "chainB", 0, 0, ValidationCode::kTargetChainNotFound, "x"});
  CHECK(rejected["code_name"] == "TARGET_CHAIN_NOT_FOUND");
  CHECK_FALSE(rejected.contains("block"));
  CHECK(TxStatusFromJson(rejected)->state == TxStatus::State::kRejected);
}

TEST_CASE("TxStatusFromJson refuses a status without a known state, a decided one without a known code, a committed one without its place") {
  CHECK_FALSE(TxStatusFromJson(Json::array()).ok());
  CHECK_FALSE(TxStatusFromJson(Json{{"state", "done"}}).ok());
  CHECK_FALSE(TxStatusFromJson(Json{{"state", "rejected"}}).ok());
  CHECK_FALSE(TxStatusFromJson(Json{{"state", "rejected"}, {"code", 77}}).ok());
  CHECK_FALSE(TxStatusFromJson(Json{{"state", "committed"}, {"code", 0}, {"block", 1}}).ok());
  CHECK_FALSE(TxStatusFromJson(Json{{"state", "committed"}, {"code", 0}, {"block", -1}, {"index", 0}}).ok());
  CHECK(TxStatusFromJson(Json{{"state", "unknown"}})->state == TxStatus::State::kUnknown);
}

}  // namespace
}  // namespace entente
