// The simulator: a shim::Stub over a ledger snapshot that records what a contract reads and writes.
#include <map>

#include "runtime/endorser/endorser.h"

namespace entente::endorser {
namespace {

using shim::ContractError;
using NamespaceId = std::pair<std::string, std::string>;  // (channel, contract)

// What one transaction did in one namespace; maps keep keys in order so equal runs give equal bytes.
struct NamespaceActivity {
  std::map<std::string, std::optional<ledger::Version>> reads;  // first version seen
  std::vector<ledger::RangeRead> range_reads;
  std::map<std::string, std::optional<Bytes>> writes;  // nullopt: delete
};

// Plain range queries start after composite keys (which begin with U+0000), as Fabric's do.
constexpr std::string_view kFirstSimpleKey = "\x01";

class SimulationStub final : public shim::Stub {
 public:
  SimulationStub(const Proposal& proposal, const SignedBytes& signed_proposal,
                 const std::map<std::string, Bytes>& transient, const shim::Identity& creator,
                 const ledger::Snapshot& snapshot, const ChaincodeRegistry& registry, RemoteState* remote,
                 SimulationOptions options)
      : proposal_(proposal), signed_proposal_(ToBytes(DumpJson(signed_proposal.ToJson()))), transient_(transient),
        creator_(creator), snapshot_(snapshot), registry_(registry), remote_(remote), options_(options) {
    frames_.push_back({proposal.contract, proposal.function, proposal.args});
  }

  const Status& ledger_error() const { return ledger_error_; }
  std::map<NamespaceId, NamespaceActivity>& activity() { return activity_; }
  std::vector<std::pair<std::string, Bytes>>& events() { return events_; }

  const std::string& Function() const override { return frames_.back().function; }
  const std::vector<std::string>& Parameters() const override { return frames_.back().params; }
  const std::string& TxId() const override { return proposal_.tx_id; }
  const std::string& ChannelId() const override { return proposal_.channel; }
  const std::string& ContractName() const override { return frames_.back().contract; }
  const shim::Identity& Creator() const override { return creator_; }
  const std::map<std::string, Bytes>& Transient() const override { return transient_; }
  std::int64_t TxTimestampMs() const override { return proposal_.timestamp_ms; }
  const Bytes& SignedProposal() const override { return signed_proposal_; }

  std::optional<Bytes> GetState(std::string_view key) override {
    CheckKey(key);
    NamespaceActivity& ns = Current();
    if (options_.read_your_writes) {
      auto own = ns.writes.find(std::string(key));
      if (own != ns.writes.end()) return own->second;
    }
    auto value = Unwrap(snapshot_.Get(proposal_.channel, ContractName(), key));
    ns.reads.try_emplace(std::string(key), value ? std::optional<ledger::Version>(value->version) : std::nullopt);
    if (!value) return std::nullopt;
    return std::move(value->value);
  }

  std::vector<std::optional<Bytes>> GetMultipleStates(const std::vector<std::string>& keys) override {
    std::vector<std::optional<Bytes>> out;
    out.reserve(keys.size());
    for (const auto& key : keys) out.push_back(GetState(key));
    return out;
  }

  void PutState(std::string_view key, const Bytes& value) override {
    CheckKey(key);
    Current().writes[std::string(key)] = value;
  }

  void DelState(std::string_view key) override {
    CheckKey(key);
    Current().writes[std::string(key)] = std::nullopt;
  }

  std::vector<shim::KeyValue> GetStateByRange(std::string_view start, std::string_view end) override {
    CheckSimpleBounds(start, end);
    return RangeQuery(start.empty() ? kFirstSimpleKey : start, end, 0, {}).entries;
  }

  shim::StatePage GetStateByRangeWithPagination(std::string_view start, std::string_view end,
                                                std::uint32_t page_size, std::string_view bookmark) override {
    shim::Check(page_size > 0, "page size must be positive");
    CheckSimpleBounds(start, end);
    return RangeQuery(start.empty() ? kFirstSimpleKey : start, end, page_size, bookmark);
  }

  std::vector<shim::KeyValue> GetStateByPartialCompositeKey(std::string_view object_type,
                                                            const std::vector<std::string>& attributes) override {
    auto [start, end] = CompositeRange(object_type, attributes);
    return RangeQuery(start, end, 0, {}).entries;
  }

  shim::StatePage GetStateByPartialCompositeKeyWithPagination(std::string_view object_type,
                                                              const std::vector<std::string>& attributes,
                                                              std::uint32_t page_size,
                                                              std::string_view bookmark) override {
    shim::Check(page_size > 0, "page size must be positive");
    auto [start, end] = CompositeRange(object_type, attributes);
    return RangeQuery(start, end, page_size, bookmark);
  }

  std::vector<shim::KeyModification> GetHistoryForKey(std::string_view key) override {
    CheckKey(key);
    std::vector<shim::KeyModification> out;
    for (auto& e : Unwrap(snapshot_.History(proposal_.channel, ContractName(), key))) {
      out.push_back({e.tx_id, e.version.block, e.version.tx, e.is_delete, std::move(e.value)});
    }
    return out;
  }

  void SetStateValidationParameter(std::string_view key, const Bytes& policy) override {
    CheckKey(key);
    Current().writes[shim::internal::ValidationParameterKey(key)] = policy;
  }

  std::optional<Bytes> GetStateValidationParameter(std::string_view key) override {
    CheckKey(key);
    return GetState(shim::internal::ValidationParameterKey(key));
  }

  void SetEvent(std::string_view name, const Bytes& payload) override {
    shim::Check(!name.empty() && IsValidUtf8(name), "event name must be non-empty UTF-8");
    events_.assign(1, {std::string(name), payload});
  }

  shim::Response InvokeChaincode(std::string_view contract, const std::vector<std::string>& args) override {
    shim::Check(!args.empty(), "InvokeChaincode needs a function name");
    std::shared_ptr<shim::Chaincode> chaincode = registry_.Find(proposal_.channel, contract);
    if (chaincode == nullptr) {
      return shim::Error("contract '" + std::string(contract) + "' is not deployed on " + proposal_.channel, 404);
    }
    shim::Check(frames_.size() < 8, "InvokeChaincode nested too deeply");
    frames_.push_back({std::string(contract), args.front(), {args.begin() + 1, args.end()}});
    // A failed callee writes nothing and emits nothing, in any namespace (also of contracts it called);
    // its reads stay recorded, since the caller saw its answer.
    std::map<NamespaceId, std::map<std::string, std::optional<Bytes>>> writes_before;
    for (const auto& [id, ns] : activity_) writes_before[id] = ns.writes;
    auto events_before = events_;
    shim::Response response = chaincode->Invoke(*this);
    if (!response.ok()) {
      for (auto& [id, ns] : activity_) {
        auto saved = writes_before.find(id);
        ns.writes = saved == writes_before.end() ? decltype(ns.writes){} : std::move(saved->second);
      }
      events_ = std::move(events_before);
    }
    frames_.pop_back();
    return response;
  }

  void PutRemoteState(std::string_view channel, std::string_view contract, std::string_view key,
                      const Bytes& value) override {
    CheckKey(key);
    CheckRemoteNames(channel, contract);
    shim::Check(channel != proposal_.channel, "PutRemoteState writes another chain; use PutState on this one");
    if (remote_ == nullptr) throw ContractError("this node writes no other chain", 403);
    Status allowed = remote_->CheckWrite(proposal_.channel, ContractName(), channel, contract);
    if (!allowed.ok()) {
      throw ContractError("remote write of " + std::string(channel) + "/" + std::string(contract) + "/" +
                              std::string(key) + ": " + allowed.message(),
                          allowed.code() == StatusCode::kPermissionDenied ? 403 : 503);
    }
    activity_[{std::string(channel), std::string(contract)}].writes[std::string(key)] = value;
  }

  std::optional<Bytes> GetRemoteState(std::string_view channel, std::string_view contract,
                                      std::string_view key) override {
    CheckKey(key);
    CheckRemoteNames(channel, contract);
    if (remote_ == nullptr) throw ContractError("this node reads no other chain", 403);
    auto value = remote_->Read(proposal_.channel, ContractName(), channel, contract, key);
    if (!value.ok()) {
      std::int32_t status = value.status().code() == StatusCode::kPermissionDenied ? 403 : 503;
      throw ContractError("remote read of " + std::string(channel) + "/" + std::string(contract) + "/" +
                              std::string(key) + ": " + value.status().message(),
                          status);
    }
    NamespaceActivity& ns = activity_[{std::string(channel), std::string(contract)}];
    ns.reads.try_emplace(std::string(key),
                         *value ? std::optional<ledger::Version>((*value)->version) : std::nullopt);
    if (!*value) return std::nullopt;
    return std::move((*value)->value);
  }

 private:
  struct Frame {
    std::string contract;
    std::string function;
    std::vector<std::string> params;
  };

  NamespaceActivity& Current() { return activity_[{proposal_.channel, frames_.back().contract}]; }

  static void CheckRemoteNames(std::string_view channel, std::string_view contract) {
    shim::Check(!channel.empty() && IsValidUtf8(channel) && channel.find('/') == std::string_view::npos,
                "remote channel name must be non-empty UTF-8 without '/'");
    shim::Check(!contract.empty() && IsValidUtf8(contract) && contract.find('/') == std::string_view::npos,
                "remote contract name must be non-empty UTF-8 without '/'");
  }

  static void CheckKey(std::string_view key) {
    shim::Check(!key.empty(), "key must not be empty");
    shim::Check(IsValidUtf8(key), "key must be valid UTF-8");
  }

  // Plain range queries cover simple keys only: bounds are UTF-8 and do not start in the composite
  // key space (U+0000), as in Fabric.
  static void CheckSimpleBounds(std::string_view start, std::string_view end) {
    shim::Check(IsValidUtf8(start) && IsValidUtf8(end), "range bounds must be valid UTF-8");
    shim::Check((start.empty() || start.front() != '\0') && (end.empty() || end.front() != '\0'),
                "range bounds must be simple keys; use GetStateByPartialCompositeKey for composite keys");
  }

  static std::pair<std::string, std::string> CompositeRange(std::string_view object_type,
                                                            const std::vector<std::string>& attributes) {
    for (const auto& a : attributes) {
      shim::Check(a.find('\0') == std::string::npos && IsValidUtf8(a), "attribute contains U+0000 or is not UTF-8");
    }
    shim::Check(object_type.find('\0') == std::string_view::npos && IsValidUtf8(object_type),
                "object type contains U+0000 or is not UTF-8");
    return CompositeKeyRange(object_type, attributes);
  }

  // Runs a range read on the snapshot and records it with every key it returned.
  shim::StatePage RangeQuery(std::string_view start, std::string_view end, std::uint32_t page_size,
                             std::string_view bookmark) {
    shim::Check(IsValidUtf8(bookmark), "bookmark must be valid UTF-8");
    shim::Check(bookmark.empty() || (bookmark >= start && (end.empty() || bookmark < end)),
                "bookmark lies outside the range");
    ledger::RangePage page = Unwrap(snapshot_.Range(proposal_.channel, ContractName(), start, end, page_size, bookmark));
    ledger::RangeRead read;
    read.start = std::string(bookmark.empty() ? start : bookmark);
    read.end = std::string(end);
    read.exhausted = page.bookmark.empty();
    shim::StatePage out;
    out.bookmark = page.bookmark;
    for (auto& [key, value] : page.entries) {
      read.keys_read.push_back({key, value.version});
      out.entries.push_back({key, std::move(value.value)});
    }
    Current().range_reads.push_back(std::move(read));
    return out;
  }

  // Returns the value, or records the ledger failure and aborts the contract.
  template <typename T>
  T Unwrap(Result<T> result) {
    if (result.ok()) return std::move(result).value();
    if (ledger_error_.ok()) ledger_error_ = result.status();
    throw ContractError("ledger: " + result.status().message(), 500);
  }

  const Proposal& proposal_;
  Bytes signed_proposal_;
  const std::map<std::string, Bytes>& transient_;
  shim::Identity creator_;
  const ledger::Snapshot& snapshot_;
  const ChaincodeRegistry& registry_;
  RemoteState* remote_;
  SimulationOptions options_;
  std::vector<Frame> frames_;
  std::map<NamespaceId, NamespaceActivity> activity_;
  std::vector<std::pair<std::string, Bytes>> events_;
  Status ledger_error_;
};

}  // namespace

Result<SimulationResult> Simulate(const Proposal& proposal, const SignedBytes& signed_proposal,
                                  const std::map<std::string, Bytes>& transient, const shim::Identity& creator,
                                  const ledger::Snapshot& snapshot, const ChaincodeRegistry& registry,
                                  RemoteState* remote, SimulationOptions options) {
  std::shared_ptr<shim::Chaincode> chaincode = registry.Find(proposal.channel, proposal.contract);
  if (chaincode == nullptr) {
    return Status::NotFound("contract " + proposal.contract + " is not deployed on channel " + proposal.channel);
  }
  SimulationStub stub(proposal, signed_proposal, transient, creator, snapshot, registry, remote, options);
  shim::Response response = chaincode->Invoke(stub);
  if (!stub.ledger_error().ok()) return stub.ledger_error();

  SimulationResult result;
  result.tx_id = proposal.tx_id;
  result.proposal_hash = crypto::Sha256Hex(signed_proposal.payload);
  if (!IsValidUtf8(response.message)) response.message = "(contract message is not valid UTF-8)";
  result.response = std::move(response);
  if (!result.response.ok()) return result;  // an error response writes nothing and emits nothing
  for (auto& [id, ns] : stub.activity()) {
    if (ns.reads.empty() && ns.range_reads.empty() && ns.writes.empty()) continue;
    ledger::NamespaceRwSet out{id.first, id.second, {}, std::move(ns.range_reads), {}};
    for (auto& [key, version] : ns.reads) out.reads.push_back({key, version});
    for (auto& [key, value] : ns.writes) {
      out.writes.push_back({key, !value.has_value(), value.value_or(Bytes{})});
    }
    result.rwset.namespaces.push_back(std::move(out));
  }
  result.events = std::move(stub.events());
  return result;
}

}  // namespace entente::endorser
