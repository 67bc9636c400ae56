// TxStatus: what a node or a relay knows about a transaction, the one answer both give to
// GET /v1/transactions/{id} (docs/api.md). A value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/common/json.h"
#include "runtime/common/status.h"
#include "runtime/common/validation_code.h"

namespace entente {

struct TxStatus {
  enum class State {
    kUnknown,    // never accepted here (or of a chain the asker may not read)
    kPending,    // accepted by the relay, not yet in a block (at a node: not yet committed on it)
    kCommitted,  // in block `block` at `index` with `code` (VALID or why not)
    kRejected,   // refused by the relay's checks before any block (`code` says why); nothing was written
  };
  State state = State::kUnknown;
  std::string channel;
  std::uint64_t block = 0;
  std::uint64_t index = 0;
  ValidationCode code = ValidationCode::kValid;
  std::string message;  // why it is invalid, in words; "" when valid or still pending
};

// "unknown", "pending", "committed", "rejected".
std::string_view TxStateName(TxStatus::State state);

// The JSON of `status`: {tx_id, state} and, once decided, {channel, code, code_name, valid, message}
// and, when committed, {block, index}. A pending one may carry a message (why it is still pending).
Json TxStatusJson(std::string_view tx_id, const TxStatus& status);
// The status in `json` (TxStatusJson's shape); InvalidArgument naming the field that is missing or wrong.
Result<TxStatus> TxStatusFromJson(const Json& json);

}  // namespace entente
