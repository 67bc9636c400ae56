#include "runtime/common/tx_status.h"

namespace entente {

std::string_view TxStateName(TxStatus::State state) {
  switch (state) {
    case TxStatus::State::kPending:
      return "pending";
    case TxStatus::State::kCommitted:
      return "committed";
    case TxStatus::State::kRejected:
      return "rejected";
    case TxStatus::State::kUnknown:
      break;
  }
  return "unknown";
}

Json TxStatusJson(std::string_view tx_id, const TxStatus& status) {
  Json j{{"tx_id", tx_id}, {"state", TxStateName(status.state)}};
  const bool decided = status.state == TxStatus::State::kCommitted || status.state == TxStatus::State::kRejected;
  if (decided) {
    j["channel"] = status.channel;
    j["code"] = static_cast<int>(status.code);
    j["code_name"] = ValidationCodeName(status.code);
    j["valid"] = status.code == ValidationCode::kValid;
    j["message"] = status.message;
  } else if (!status.channel.empty()) {
    j["channel"] = status.channel;
  }
  if (!decided && !status.message.empty()) j["message"] = status.message;
  if (status.state == TxStatus::State::kCommitted) {
    j["block"] = status.block;
    j["index"] = status.index;
  }
  return j;
}

Result<TxStatus> TxStatusFromJson(const Json& json) {
  if (!json.is_object()) return Status::InvalidArgument("a transaction status must be a JSON object");
  TxStatus status;
  const std::string state = json.value("state", "");
  if (state == "pending") {
    status.state = TxStatus::State::kPending;
  } else if (state == "committed") {
    status.state = TxStatus::State::kCommitted;
  } else if (state == "rejected") {
    status.state = TxStatus::State::kRejected;
  } else if (state != "unknown") {
    return Status::InvalidArgument("a transaction status needs a state of unknown, pending, committed or rejected");
  }
  if (json.contains("channel")) {
    if (!json["channel"].is_string()) return Status::InvalidArgument("'channel' must be a string");
    status.channel = json["channel"].get<std::string>();
  }
  if (json.contains("message")) {
    if (!json["message"].is_string()) return Status::InvalidArgument("'message' must be a string");
    status.message = json["message"].get<std::string>();
  }
  if (status.state == TxStatus::State::kCommitted || status.state == TxStatus::State::kRejected) {
    if (!json.contains("code") || !json["code"].is_number_integer()) {
      return Status::InvalidArgument("a decided transaction status needs an integer 'code'");
    }
    auto code = ValidationCodeFromNumber(json["code"].get<int>());
    if (!code) return Status::InvalidArgument("unknown validation code " + json["code"].dump());
    status.code = *code;
  }
  if (status.state == TxStatus::State::kCommitted) {
    for (const char* field : {"block", "index"}) {
      if (!json.contains(field) || !json[field].is_number_unsigned()) {
        return Status::InvalidArgument(std::string("a committed transaction status needs a non-negative '") + field + "'");
      }
    }
    status.block = json["block"].get<std::uint64_t>();
    status.index = json["index"].get<std::uint64_t>();
  }
  return status;
}

}  // namespace entente
