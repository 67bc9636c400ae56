// Ethereum JSON-RPC 2.0 over plain HTTP POST: one node endpoint, calls retried with exponential
// backoff while the node cannot be reached, and the hex "quantity" and "data" encodings of the
// Ethereum API. Thread-safe: calls are serialized on one keep-alive connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/common/status.h"
#include "runtime/http/http.h"

namespace entente::adapters::ethereum {

// Where a node serves JSON-RPC.
struct RpcEndpoint {
  std::string host;  // without IPv6 brackets
  std::uint16_t port = 0;
  std::string path = "/";
  std::string url;  // "http://host:port/path" or "https://...", for messages
  bool tls = false;  // https://
};

// Parses "http://host:port[/path]", "http://[v6]:port" or "host:port". Returns InvalidArgument naming
// the endpoint for another scheme (https is not supported), a missing host or a bad port.
Result<RpcEndpoint> ParseRpcEndpoint(std::string_view endpoint);

// Returns the Ethereum quantity encoding of `value`: "0x" and hex digits without leading zeros ("0x0").
std::string QuantityHex(std::uint64_t value);
// Returns the value of a quantity such as "0x1a". Returns InvalidArgument for a non-string, a missing
// "0x", no digits, a non-hex digit or more than 64 bits.
Result<std::uint64_t> ParseQuantity(const Json& quantity);
// Returns "0x" and the lowercase hex of `data`.
std::string DataHex(ByteView data);
// Returns the bytes of "0x..." data. Returns InvalidArgument for a non-string, a missing "0x" or bad hex.
Result<Bytes> ParseData(const Json& data);

// What a mined transaction's receipt says.
struct TxReceipt {
  std::string hash;  // "0x..." as sent
  std::uint64_t block = 0;
  bool success = false;                         // status 0x1 (0x0: reverted or out of gas)
  std::optional<std::string> contract_address;  // for a contract creation
  std::vector<std::string> events;              // each log's first topic (its event's hash), "0x..." lowercase
};

// Returns the receipt that eth_getTransactionReceipt answered for transaction `hash`. Returns
// InvalidArgument for a missing or malformed status or blockNumber.
Result<TxReceipt> ParseReceipt(const std::string& hash, const Json& receipt);

// A JSON-RPC error object. For a call that reverted, revert_data holds the revert bytes (the error's
// selector and ABI-encoded arguments) when the node sent them.
struct RpcError {
  std::int64_t code = 0;
  std::string message;
  std::optional<Bytes> revert_data;
};

// What the node answered: the result, or its error.
struct RpcAnswer {
  Json result;  // null when error is set
  std::optional<RpcError> error;
};

struct RpcOptions {
  RpcEndpoint endpoint;
  std::string label;                         // prefixes every error message, e.g. "eth1 at http://..."
  std::chrono::milliseconds timeout{10000};  // per attempt, connecting included
  int retries = 3;                           // further attempts while the node cannot be reached
  std::chrono::milliseconds backoff{100};    // doubles after each retry, up to max_backoff
  std::chrono::milliseconds max_backoff{2000};
  http::TlsFiles tls;  // for an https:// endpoint: CA files for the node's certificate, an optional client cert
};

class JsonRpcClient {
 public:
  explicit JsonRpcClient(RpcOptions options);
  ~JsonRpcClient();
  JsonRpcClient(const JsonRpcClient&) = delete;
  JsonRpcClient& operator=(const JsonRpcClient&) = delete;

  // Calls `method` with `params` (a JSON array). With `retry`, an attempt that did not reach the node
  // is retried up to options.retries times; without it (for a request that must not be repeated
  // blindly) there is one attempt. Returns the answer, RPC errors included. Returns Unavailable
  // naming the endpoint and the attempts when no attempt reached the node, or it answered HTTP 5xx;
  // PermissionDenied for HTTP 401/403; Internal for another HTTP status or an answer that is not a
  // JSON-RPC response.
  Result<RpcAnswer> Call(std::string_view method, const Json& params, bool retry = true);

  const RpcOptions& options() const { return options_; }

 private:
  const RpcOptions options_;
  std::unique_ptr<http::Client> client_;
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace entente::adapters::ethereum
