#include "runtime/common/composite_key.h"
#include "runtime/shim/shim.h"

namespace entente::shim {
namespace {

struct Committed {
  Bytes value;
  std::uint64_t version = 0;
};

bool IsComposite(std::string_view key) { return !key.empty() && key.front() == '\0'; }

using internal::ValidationParameterKey;

}  // namespace

struct MockStub::State {
  // contract -> key -> committed value
  std::map<std::string, std::map<std::string, Committed, std::less<>>> committed;
  // contract -> key -> pending write of the running transaction (nullopt: delete)
  std::map<std::string, Namespace> pending;
  std::map<std::string, std::map<std::string, std::vector<KeyModification>, std::less<>>> history;
  std::map<std::tuple<std::string, std::string, std::string>, Bytes> remote;
};

MockStub::MockStub(std::string channel, std::string contract, std::shared_ptr<Chaincode> chaincode)
    : channel_(std::move(channel)), contract_(std::move(contract)), current_contract_(contract_),
      state_(std::make_unique<State>()) {
  chaincodes_[contract_] = std::move(chaincode);
}

MockStub::~MockStub() = default;

void MockStub::AddPeer(const std::string& contract, std::shared_ptr<Chaincode> chaincode) {
  chaincodes_[contract] = std::move(chaincode);
}

void MockStub::SetRemoteState(const std::string& channel, const std::string& contract, const std::string& key,
                              Bytes value) {
  state_->remote[{channel, contract, key}] = std::move(value);
}

void MockStub::SeedState(const std::string& key, Bytes value) {
  state_->committed[contract_][key] = Committed{std::move(value), tx_counter_};
}

std::optional<Bytes> MockStub::CommittedState(const std::string& key) const {
  auto ns = state_->committed.find(contract_);
  if (ns == state_->committed.end()) return std::nullopt;
  auto it = ns->second.find(key);
  if (it == ns->second.end()) return std::nullopt;
  return it->second.value;
}

Response MockStub::Invoke(const std::string& function, const std::vector<std::string>& params) {
  ++tx_counter_;
  tx_id_ = "mock-tx-" + std::to_string(tx_counter_);
  function_ = function;
  params_ = params;
  current_contract_ = contract_;
  state_->pending.clear();
  pending_event_.reset();
  Response response = chaincodes_.at(contract_)->Invoke(*this);
  last_event_.reset();
  if (response.ok()) {
    for (auto& [contract, writes] : state_->pending) {
      for (auto& [key, value] : writes) {
        KeyModification mod{tx_id_, tx_counter_, 0, !value.has_value(), value.value_or(Bytes{})};
        state_->history[contract][key].push_back(mod);
        if (value) {
          state_->committed[contract][key] = Committed{*value, tx_counter_};
        } else {
          state_->committed[contract].erase(key);
        }
      }
    }
    last_event_ = pending_event_;
  }
  state_->pending.clear();
  return response;
}

std::optional<Bytes> MockStub::Read(std::string_view key) {
  if (read_your_writes_) {
    auto& pending = state_->pending[current_contract_];
    auto it = pending.find(key);
    if (it != pending.end()) return it->second;
  }
  auto& committed = state_->committed[current_contract_];
  auto it = committed.find(key);
  if (it == committed.end()) return std::nullopt;
  return it->second.value;
}

std::optional<Bytes> MockStub::GetState(std::string_view key) {
  Check(!key.empty(), "key must not be empty");
  return Read(key);
}

std::vector<std::optional<Bytes>> MockStub::GetMultipleStates(const std::vector<std::string>& keys) {
  std::vector<std::optional<Bytes>> out;
  for (const auto& key : keys) out.push_back(GetState(key));
  return out;
}

void MockStub::PutState(std::string_view key, const Bytes& value) {
  Check(!key.empty(), "key must not be empty");
  state_->pending[current_contract_][std::string(key)] = value;
}

void MockStub::DelState(std::string_view key) {
  Check(!key.empty(), "key must not be empty");
  state_->pending[current_contract_][std::string(key)] = std::nullopt;
}

StatePage MockStub::Scan(std::string_view start, std::string_view end, std::uint32_t page_size,
                         std::string_view bookmark, bool composite) {
  std::map<std::string, Bytes, std::less<>> view;
  for (const auto& [key, c] : state_->committed[current_contract_]) view[key] = c.value;
  if (read_your_writes_) {
    for (const auto& [key, value] : state_->pending[current_contract_]) {
      if (value) {
        view[key] = *value;
      } else {
        view.erase(key);
      }
    }
  }
  StatePage page;
  std::string_view from = bookmark.empty() ? start : bookmark;
  for (auto it = view.lower_bound(from); it != view.end(); ++it) {
    if (!end.empty() && it->first >= end) break;
    if (IsComposite(it->first) != composite) continue;
    if (page_size > 0 && page.entries.size() == page_size) {
      page.bookmark = it->first;
      break;
    }
    page.entries.push_back({it->first, it->second});
  }
  return page;
}

std::vector<KeyValue> MockStub::GetStateByRange(std::string_view start, std::string_view end) {
  return Scan(start, end, 0, {}, false).entries;
}

StatePage MockStub::GetStateByRangeWithPagination(std::string_view start, std::string_view end,
                                                  std::uint32_t page_size, std::string_view bookmark) {
  return Scan(start, end, page_size, bookmark, false);
}

std::vector<KeyValue> MockStub::GetStateByPartialCompositeKey(std::string_view object_type,
                                                              const std::vector<std::string>& attributes) {
  auto [start, end] = CompositeKeyRange(object_type, attributes);
  return Scan(start, end, 0, {}, true).entries;
}

StatePage MockStub::GetStateByPartialCompositeKeyWithPagination(std::string_view object_type,
                                                                const std::vector<std::string>& attributes,
                                                                std::uint32_t page_size, std::string_view bookmark) {
  auto [start, end] = CompositeKeyRange(object_type, attributes);
  return Scan(start, end, page_size, bookmark, true);
}

std::vector<KeyModification> MockStub::GetHistoryForKey(std::string_view key) {
  auto& history = state_->history[current_contract_];
  auto it = history.find(key);
  return it == history.end() ? std::vector<KeyModification>{} : it->second;
}

void MockStub::SetStateValidationParameter(std::string_view key, const Bytes& policy) {
  PutState(ValidationParameterKey(key), policy);
}

std::optional<Bytes> MockStub::GetStateValidationParameter(std::string_view key) {
  return Read(ValidationParameterKey(key));
}

void MockStub::SetEvent(std::string_view name, const Bytes& payload) {
  Check(!name.empty(), "event name must not be empty");
  pending_event_ = std::make_pair(std::string(name), payload);
}

Response MockStub::InvokeChaincode(std::string_view contract, const std::vector<std::string>& args) {
  auto it = chaincodes_.find(std::string(contract));
  if (it == chaincodes_.end()) return Error("contract '" + std::string(contract) + "' is not deployed", 404);
  if (args.empty()) return Error("InvokeChaincode needs a function name", 400);
  std::string saved_contract = current_contract_, saved_function = function_;
  std::vector<std::string> saved_params = params_;
  current_contract_ = std::string(contract);
  function_ = args.front();
  params_.assign(args.begin() + 1, args.end());
  // A failed callee writes nothing and emits nothing, in any contract (also those it called).
  auto pending_before = state_->pending;
  auto event_before = pending_event_;
  Response response = it->second->Invoke(*this);
  if (!response.ok()) {
    state_->pending = std::move(pending_before);
    pending_event_ = std::move(event_before);
  }
  current_contract_ = saved_contract;
  function_ = saved_function;
  params_ = saved_params;
  return response;
}

void MockStub::PutRemoteState(std::string_view channel, std::string_view contract, std::string_view key,
                              const Bytes& value) {
  state_->remote[{std::string(channel), std::string(contract), std::string(key)}] = value;
}

std::optional<Bytes> MockStub::GetRemoteState(std::string_view channel, std::string_view contract,
                                              std::string_view key) {
  auto it = state_->remote.find({std::string(channel), std::string(contract), std::string(key)});
  if (it == state_->remote.end()) return std::nullopt;
  return it->second;
}

}  // namespace entente::shim
