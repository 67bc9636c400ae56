// The chaincode shim: the only header an Entente contract includes (DESIGN.md §6).
//
// It mirrors Hyperledger Fabric's ChaincodeStubInterface in C++ idiom: a Stub gives a transaction
// its arguments, context and world state; a Contract registers typed transaction functions; a
// Chaincode groups contracts behind one C entry point that the node loads from a package. A contract
// aborts a transaction with Check(cond, msg) or any exception: the shim turns it into an error
// response and nothing the transaction wrote is kept. MockStub runs contracts in unit tests.
//
// Thread-safety: a Stub belongs to one transaction on one thread. A Chaincode may serve many
// transactions concurrently; contracts must keep no mutable state outside the Stub.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace entente::shim {

using Bytes = std::vector<std::uint8_t>;
using Json = nlohmann::json;

// The ABI of the C entry point below; a node refuses a library built for another.
inline constexpr std::uint32_t kAbiVersion = 1;

Bytes ToBytes(std::string_view text);
std::string ToText(const Bytes& bytes);

// ---- What a transaction sees ----

// The parsed identity of the transaction's creator (from its certificate).
struct Identity {
  std::string chain;  // O
  std::string role;   // OU of the ECert the TCert is bound to: node, client, admin or relay
  std::string id;     // CN
  std::string certificate_pem;
};

// A contract's answer: status < 400 is success (Fabric's convention: 200 OK, 500 error).
struct Response {
  std::int32_t status = 200;
  std::string message;
  Bytes payload;
  bool ok() const { return status < 400; }
};
Response Success(Bytes payload = {});
Response Error(std::string message, std::int32_t status = 500);

struct KeyValue {
  std::string key;
  Bytes value;
};

// One page of a range query; `bookmark` continues it and is empty after the last page.
struct StatePage {
  std::vector<KeyValue> entries;
  std::string bookmark;
};

// One write of a key, oldest first in GetHistoryForKey.
struct KeyModification {
  std::string tx_id;
  std::uint64_t block = 0;
  std::uint64_t tx = 0;
  bool is_delete = false;
  Bytes value;
};

// Raised by Check and by a Stub that cannot complete a call; the shim turns it into an error
// response. Contracts may throw it (or anything else) to abort a transaction.
class ContractError : public std::runtime_error {
 public:
  explicit ContractError(const std::string& message, std::int32_t status = 500)
      : std::runtime_error(message), status_(status) {}
  std::int32_t status() const { return status_; }

 private:
  std::int32_t status_;
};

// Aborts the transaction with `message` unless `condition` holds.
inline void Check(bool condition, const std::string& message) {
  if (!condition) throw ContractError(message, 400);
}

// The transaction's view of the ledger and its context. Reads see committed state as of the start of
// the simulation (Fabric's semantics) unless the node enables read-your-own-writes; every read is
// recorded with its version and every write in the read-write set. Methods throw ContractError when
// the ledger cannot answer.
class Stub {
 public:
  virtual ~Stub() = default;

  // -- Invocation and context --
  virtual const std::string& Function() const = 0;
  virtual const std::vector<std::string>& Parameters() const = 0;
  virtual const std::string& TxId() const = 0;
  virtual const std::string& ChannelId() const = 0;
  virtual const std::string& ContractName() const = 0;
  virtual const Identity& Creator() const = 0;
  // Data passed to the contract but never written to the ledger (e.g. private inputs).
  virtual const std::map<std::string, Bytes>& Transient() const = 0;
  // The proposal's timestamp (milliseconds since the epoch): the same on every endorser, unlike a clock.
  virtual std::int64_t TxTimestampMs() const = 0;
  // The exact bytes of the signed proposal.
  virtual const Bytes& SignedProposal() const = 0;

  // -- World state of this contract on this channel --
  virtual std::optional<Bytes> GetState(std::string_view key) = 0;
  virtual std::vector<std::optional<Bytes>> GetMultipleStates(const std::vector<std::string>& keys) = 0;
  virtual void PutState(std::string_view key, const Bytes& value) = 0;
  virtual void DelState(std::string_view key) = 0;
  // Keys in [start, end) in key order; an empty end means "to the end". Composite keys are skipped.
  virtual std::vector<KeyValue> GetStateByRange(std::string_view start, std::string_view end) = 0;
  virtual StatePage GetStateByRangeWithPagination(std::string_view start, std::string_view end,
                                                  std::uint32_t page_size, std::string_view bookmark) = 0;
  virtual std::vector<KeyValue> GetStateByPartialCompositeKey(std::string_view object_type,
                                                              const std::vector<std::string>& attributes) = 0;
  virtual StatePage GetStateByPartialCompositeKeyWithPagination(std::string_view object_type,
                                                                const std::vector<std::string>& attributes,
                                                                std::uint32_t page_size,
                                                                std::string_view bookmark) = 0;
  virtual std::vector<KeyModification> GetHistoryForKey(std::string_view key) = 0;

  // Composite keys, in Fabric's layout. Throw ContractError for a part containing U+0000.
  std::string CreateCompositeKey(std::string_view object_type, const std::vector<std::string>& attributes) const;
  std::pair<std::string, std::vector<std::string>> SplitCompositeKey(std::string_view key) const;

  // -- State-based endorsement: a policy (e.g. "OutOf(1,'chainA.node')") that writes of `key` need --
  virtual void SetStateValidationParameter(std::string_view key, const Bytes& policy) = 0;
  virtual std::optional<Bytes> GetStateValidationParameter(std::string_view key) = 0;

  // -- Events: at most one per transaction; a later call replaces the earlier --
  virtual void SetEvent(std::string_view name, const Bytes& payload) = 0;

  // -- Other contracts --
  // Invokes `contract` on this channel inside this transaction: its reads and writes join this
  // transaction's read-write set.
  virtual Response InvokeChaincode(std::string_view contract, const std::vector<std::string>& args) = 0;
  // Reads `key` of `contract` on another member chain, along a route the alliance allows; the remote
  // version is recorded so that the relay checks it at commit. Throws ContractError without a route.
  virtual std::optional<Bytes> GetRemoteState(std::string_view channel, std::string_view contract,
                                              std::string_view key) = 0;
  // Writes `key` of `contract` on another member chain that is reached through an adapter (a chain
  // without Entente nodes: an Ethereum chain, an enterprise REST service), along a write route. The
  // relay delivers the write once the transaction commits, checked against the version this
  // transaction read there (if it read the key). Throws ContractError without a write route.
  virtual void PutRemoteState(std::string_view channel, std::string_view contract, std::string_view key,
                              const Bytes& value) = 0;
};

// ---- The contract API ----

// What a transaction function receives: the stub, and helpers over it.
class Context {
 public:
  explicit Context(Stub& stub) : stub_(stub) {}
  Stub& stub() const { return stub_; }
  const Identity& creator() const { return stub_.Creator(); }

 private:
  Stub& stub_;
};

namespace internal {

template <typename T>
struct IsVector : std::false_type {};
template <typename T, typename A>
struct IsVector<std::vector<T, A>> : std::true_type {};

// The JSON schema type of a C++ parameter or result, for the metadata.
template <typename T>
Json SchemaOf() {
  using U = std::decay_t<T>;
  if constexpr (std::is_same_v<U, std::string>) return Json{{"type", "string"}};
  else if constexpr (std::is_same_v<U, bool>) return Json{{"type", "boolean"}};
  else if constexpr (std::is_integral_v<U>) return Json{{"type", "integer"}};
  else if constexpr (std::is_floating_point_v<U>) return Json{{"type", "number"}};
  else if constexpr (IsVector<U>::value) return Json{{"type", "array"}, {"items", SchemaOf<typename U::value_type>()}};
  else return Json{{"type", "object"}};
}

// The reserved key under which the state-based endorsement policy of `key` is kept: it starts with
// U+0000 like a composite key, so plain range queries never return it.
std::string ValidationParameterKey(std::string_view key);

// Parses a string argument into T: strings are taken as they are, anything else as JSON.
template <typename T>
std::decay_t<T> ParseArg(const std::string& arg, size_t index) {
  using U = std::decay_t<T>;
  if constexpr (std::is_same_v<U, std::string>) {
    return arg;
  } else {
    Json j = Json::parse(arg, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw ContractError("parameter " + std::to_string(index) + " is not valid JSON", 400);
    if constexpr (std::is_integral_v<U> && !std::is_same_v<U, bool>) {
      // Integers must be integers that fit: no 12.5 truncated to 12, no -1 wrapped to 2^64-1.
      bool fits = false;
      if (j.is_number_unsigned()) {
        fits = j.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<U>::max());
      } else if (j.is_number_integer()) {
        auto v = j.get<std::int64_t>();
        fits = std::is_signed_v<U> ? v >= static_cast<std::int64_t>(std::numeric_limits<U>::min()) &&
                                         v <= static_cast<std::int64_t>(std::numeric_limits<U>::max())
                                   : v >= 0;
      }
      if (!fits) {
        throw ContractError("parameter " + std::to_string(index) + ": expected an integer in range, got " + arg, 400);
      }
    }
    try {
      return j.get<U>();
    } catch (const std::exception& e) {
      throw ContractError("parameter " + std::to_string(index) + ": " + e.what(), 400);
    }
  }
}

// Turns a transaction function's result into payload bytes: strings as they are, the rest as JSON.
template <typename R>
Bytes EncodeResult(const R& result) {
  if constexpr (std::is_same_v<R, std::string>) {
    return ToBytes(result);
  } else if constexpr (std::is_same_v<R, Bytes>) {
    return result;
  } else {
    return ToBytes(Json(result).dump());
  }
}

}  // namespace internal

// A named group of transaction functions. Subclass it and register each function in the
// constructor:
//
//   class AssetTransfer : public shim::Contract {
//    public:
//     AssetTransfer() : Contract("AssetTransfer") {
//       Transaction("CreateAsset", &AssetTransfer::CreateAsset);
//       Transaction("ReadAsset", &AssetTransfer::ReadAsset, shim::kEvaluate);
//     }
//     void CreateAsset(shim::Context& ctx, std::string id, int64_t value);
//     Asset ReadAsset(shim::Context& ctx, std::string id);
//   };
//
// Parameters arrive as strings: std::string parameters are taken as they are, others are parsed as
// JSON into their type (anything nlohmann::json can convert to). Results are returned as payload:
// strings as they are, others as JSON.
class Contract {
 public:
  enum Kind { kSubmit, kEvaluate };

  explicit Contract(std::string name) : name_(std::move(name)) {}
  virtual ~Contract() = default;
  Contract(const Contract&) = delete;
  Contract& operator=(const Contract&) = delete;

  const std::string& name() const { return name_; }

  // Runs transaction `function` with `ctx`: the before hook, the function, the after hook. Unknown
  // functions go to UnknownTransaction. Never throws: errors become error responses.
  Response Invoke(Context& ctx, const std::string& function, const std::vector<std::string>& params);

  // {"name", "transactions":[{"name","tag":["submit"|"evaluate"],"parameters":[{"name","schema"}],"returns"}]}
  Json Metadata() const;

 protected:
  // Hooks. The defaults do nothing; UnknownTransaction's default fails with "unknown function".
  virtual void BeforeTransaction(Context& ctx);
  virtual void AfterTransaction(Context& ctx, const Bytes& result);
  virtual Response UnknownTransaction(Context& ctx, const std::string& function);

  // Registers a transaction function (a member of the subclass taking Context& then any parameters).
  // `parameter_names`, when given, name the parameters in the metadata (otherwise arg0, arg1, ...).
  template <typename Self, typename R, typename... Args>
  void Transaction(std::string name, R (Self::*fn)(Context&, Args...), Kind kind = kSubmit,
                   std::vector<std::string> parameter_names = {}) {
    Self* self = static_cast<Self*>(this);
    Entry entry;
    entry.kind = kind;
    entry.arity = sizeof...(Args);
    if (parameter_names.size() == sizeof...(Args)) entry.parameter_names = std::move(parameter_names);
    (entry.parameters.push_back(internal::SchemaOf<Args>()), ...);
    if constexpr (!std::is_void_v<R>) entry.returns = internal::SchemaOf<R>();
    entry.call = [self, fn](Context& ctx, const std::vector<std::string>& params) -> Bytes {
      return CallWith<R, Args...>(self, fn, ctx, params, std::index_sequence_for<Args...>{});
    };
    functions_[std::move(name)] = std::move(entry);
  }

 private:
  struct Entry {
    Kind kind = kSubmit;
    size_t arity = 0;
    std::vector<Json> parameters;
    std::vector<std::string> parameter_names;
    Json returns;
    std::function<Bytes(Context&, const std::vector<std::string>&)> call;
  };

  template <typename R, typename... Args, typename Self, typename Fn, size_t... I>
  static Bytes CallWith(Self* self, Fn fn, Context& ctx, const std::vector<std::string>& params,
                        std::index_sequence<I...>) {
    if constexpr (std::is_void_v<R>) {
      (self->*fn)(ctx, internal::ParseArg<Args>(params[I], I)...);
      return {};
    } else {
      return internal::EncodeResult<std::decay_t<R>>((self->*fn)(ctx, internal::ParseArg<Args>(params[I], I)...));
    }
  }

  std::string name_;
  std::map<std::string, Entry> functions_;
};

// The contracts of one shared library. The function name selects the contract:
// "<contract>:<function>", or just "<function>" for the first contract registered. The function
// "org.hyperledger.fabric:GetMetadata" returns the metadata of every contract.
class Chaincode {
 public:
  void Add(std::unique_ptr<Contract> contract);
  // Runs the transaction named by stub.Function() with stub.Parameters(). Never throws.
  Response Invoke(Stub& stub);
  Json Metadata() const;

 private:
  std::vector<std::unique_ptr<Contract>> contracts_;
};

// ---- Unit testing contracts ----

// A Stub over in-memory state for contract unit tests: no node, no ledger. Each Invoke is one
// transaction, numbered from 1 (its version is (n, 0)): it runs the chaincode, and applies the
// transaction's writes only if the response is a success, as a node would. Reads see committed state
// (the writes of earlier successful Invokes), or the transaction's own writes with
// set_read_your_writes(true). Other contracts for InvokeChaincode and remote state for
// GetRemoteState can be registered. Not thread-safe.
class MockStub final : public Stub {
 public:
  MockStub(std::string channel, std::string contract, std::shared_ptr<Chaincode> chaincode);
  ~MockStub() override;

  // Runs one transaction. `function` may be "<contract>:<function>".
  Response Invoke(const std::string& function, const std::vector<std::string>& params = {});

  void set_creator(Identity creator) { creator_ = std::move(creator); }
  void set_transient(std::map<std::string, Bytes> transient) { transient_ = std::move(transient); }
  void set_timestamp_ms(std::int64_t timestamp_ms) { timestamp_ms_ = timestamp_ms; }
  void set_read_your_writes(bool enabled) { read_your_writes_ = enabled; }
  // Makes `contract` on this channel available to InvokeChaincode.
  void AddPeer(const std::string& contract, std::shared_ptr<Chaincode> chaincode);
  // Sets a value that GetRemoteState returns for (channel, contract, key), as a route would.
  void SetRemoteState(const std::string& channel, const std::string& contract, const std::string& key, Bytes value);
  // Writes committed state directly, as if an earlier transaction had.
  void SeedState(const std::string& key, Bytes value);

  // The committed value of `key` in this contract, outside any transaction.
  std::optional<Bytes> CommittedState(const std::string& key) const;
  // The event of the last Invoke, if it set one.
  const std::optional<std::pair<std::string, Bytes>>& LastEvent() const { return last_event_; }

  // Stub.
  const std::string& Function() const override { return function_; }
  const std::vector<std::string>& Parameters() const override { return params_; }
  const std::string& TxId() const override { return tx_id_; }
  const std::string& ChannelId() const override { return channel_; }
  const std::string& ContractName() const override { return current_contract_; }
  const Identity& Creator() const override { return creator_; }
  const std::map<std::string, Bytes>& Transient() const override { return transient_; }
  std::int64_t TxTimestampMs() const override { return timestamp_ms_; }
  const Bytes& SignedProposal() const override { return signed_proposal_; }
  std::optional<Bytes> GetState(std::string_view key) override;
  std::vector<std::optional<Bytes>> GetMultipleStates(const std::vector<std::string>& keys) override;
  void PutState(std::string_view key, const Bytes& value) override;
  void DelState(std::string_view key) override;
  std::vector<KeyValue> GetStateByRange(std::string_view start, std::string_view end) override;
  StatePage GetStateByRangeWithPagination(std::string_view start, std::string_view end, std::uint32_t page_size,
                                          std::string_view bookmark) override;
  std::vector<KeyValue> GetStateByPartialCompositeKey(std::string_view object_type,
                                                      const std::vector<std::string>& attributes) override;
  StatePage GetStateByPartialCompositeKeyWithPagination(std::string_view object_type,
                                                        const std::vector<std::string>& attributes,
                                                        std::uint32_t page_size, std::string_view bookmark) override;
  std::vector<KeyModification> GetHistoryForKey(std::string_view key) override;
  void SetStateValidationParameter(std::string_view key, const Bytes& policy) override;
  std::optional<Bytes> GetStateValidationParameter(std::string_view key) override;
  void SetEvent(std::string_view name, const Bytes& payload) override;
  Response InvokeChaincode(std::string_view contract, const std::vector<std::string>& args) override;
  void PutRemoteState(std::string_view channel, std::string_view contract, std::string_view key,
                      const Bytes& value) override;
  std::optional<Bytes> GetRemoteState(std::string_view channel, std::string_view contract,
                                      std::string_view key) override;

 private:
  struct State;  // committed and pending state of every contract
  using Namespace = std::map<std::string, std::optional<Bytes>, std::less<>>;

  std::optional<Bytes> Read(std::string_view key);
  StatePage Scan(std::string_view start, std::string_view end, std::uint32_t page_size, std::string_view bookmark,
                 bool composite);

  std::string channel_;
  std::string contract_;
  std::string current_contract_;
  std::map<std::string, std::shared_ptr<Chaincode>> chaincodes_;
  std::unique_ptr<State> state_;
  std::string function_;
  std::vector<std::string> params_;
  std::string tx_id_;
  Identity creator_{"chainA", "client", "client1", ""};
  std::map<std::string, Bytes> transient_;
  std::int64_t timestamp_ms_ = 0;
  bool read_your_writes_ = false;
  Bytes signed_proposal_;
  std::optional<std::pair<std::string, Bytes>> last_event_;
  std::optional<std::pair<std::string, Bytes>> pending_event_;
  std::uint64_t tx_counter_ = 0;
};

// ---- The C entry point of a contract library ----

// What `entente_chaincode_entry` returns: the ABI version and how to make and free the Chaincode.
struct ChaincodeEntry {
  std::uint32_t abi_version;
  Chaincode* (*create)();
  void (*destroy)(Chaincode*);
};

}  // namespace entente::shim

// The one symbol a contract library exports.
inline constexpr char kEntenteChaincodeSymbol[] = "entente_chaincode_entry";

// Defines the entry point of a contract library holding the given Contract subclasses, e.g.
// ENTENTE_CHAINCODE(AssetTransfer). Use once per library.
#define ENTENTE_CHAINCODE(...)                                                                   \
  extern "C" __attribute__((visibility("default"))) const ::entente::shim::ChaincodeEntry*     \
  entente_chaincode_entry() {                                                                    \
    static const ::entente::shim::ChaincodeEntry entry{                                          \
        ::entente::shim::kAbiVersion,                                                            \
        []() -> ::entente::shim::Chaincode* {                                                    \
          auto* chaincode = new ::entente::shim::Chaincode();                                    \
          ::entente::shim::internal::AddContracts<__VA_ARGS__>(*chaincode);                      \
          return chaincode;                                                                      \
        },                                                                                       \
        [](::entente::shim::Chaincode* chaincode) { delete chaincode; }};                        \
    return &entry;                                                                               \
  }

namespace entente::shim::internal {
template <typename... Contracts>
void AddContracts(Chaincode& chaincode) {
  (chaincode.Add(std::make_unique<Contracts>()), ...);
}
}  // namespace entente::shim::internal
