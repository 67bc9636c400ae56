// JsonRpcClient: JSON-RPC requests over http::Client in plain-HTTP mode, with retries, and strict
// parsing of the hex encodings.
#include "adapters/ethereum/internal/json_rpc.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "adapters/internal/endpoint.h"
#include "adapters/internal/retry.h"
#include "runtime/http/http.h"

namespace entente::adapters::ethereum {
namespace {

bool IsHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The revert bytes in an error's "data": ganache sends a hex string; other nodes an object holding it
// under "result" or "data".
std::optional<Bytes> RevertData(const Json& error) {
  if (!error.contains("data")) return std::nullopt;
  const Json* data = &error["data"];
  if (data->is_object()) {
    if (data->contains("result")) {
      data = &(*data)["result"];
    } else if (data->contains("data")) {
      data = &(*data)["data"];
    }
  }
  auto bytes = ParseData(*data);
  if (!bytes.ok()) return std::nullopt;
  return std::move(bytes).value();
}

}  // namespace

Result<RpcEndpoint> ParseRpcEndpoint(std::string_view endpoint) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("endpoint '" + std::string(endpoint) + "': " + why);
  };
  std::string_view rest = endpoint;
  RpcEndpoint out;
  if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else if (!StripScheme(rest, "http")) {
    return bad("expected http://host:port or https://host:port");
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    out.path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  auto authority = ParseHostPort(rest, "expected host:port");
  if (!authority.ok()) return bad(authority.status().message());
  out.host = std::move(authority->host);
  out.port = authority->port;
  out.url = std::string(out.tls ? "https://" : "http://") + HostPortText(out.host, out.port) +
            (out.path == "/" ? "" : out.path);
  return out;
}

std::string QuantityHex(std::uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string digits;
  do {
    digits.insert(digits.begin(), kHex[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return "0x" + digits;
}

Result<std::uint64_t> ParseQuantity(const Json& quantity) {
  if (!quantity.is_string()) return Status::InvalidArgument("expected a hex quantity string, got " + quantity.dump());
  const std::string& text = quantity.get_ref<const std::string&>();
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return Status::InvalidArgument("'" + text + "' is not a hex quantity (0x...)");
  }
  std::string_view digits = std::string_view(text).substr(2);
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  if (digits.size() > 16 || !std::all_of(digits.begin(), digits.end(), IsHexDigit)) {
    return Status::InvalidArgument("'" + text + "' is not a 64-bit hex quantity");
  }
  return static_cast<std::uint64_t>(std::stoull(std::string(digits), nullptr, 16));
}

std::string DataHex(ByteView data) { return "0x" + HexEncode(data); }

Result<Bytes> ParseData(const Json& data) {
  if (!data.is_string()) return Status::InvalidArgument("expected hex data, got " + data.dump());
  const std::string& text = data.get_ref<const std::string&>();
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return Status::InvalidArgument("'" + text.substr(0, 40) + "' is not hex data (0x...)");
  }
  return HexDecode(std::string_view(text).substr(2));
}

Result<TxReceipt> ParseReceipt(const std::string& hash, const Json& receipt) {
  if (!receipt.is_object()) return Status::InvalidArgument("the receipt is not an object: " + receipt.dump());
  TxReceipt out;
  out.hash = hash;
  for (const char* field : {"status", "blockNumber"}) {
    if (!receipt.contains(field)) {
      return Status::InvalidArgument(std::string("the receipt has no field '") + field + "'");
    }
  }
  auto status = ParseQuantity(receipt["status"]);
  if (!status.ok()) return status.status().WithContext("field 'status'");
  auto block = ParseQuantity(receipt["blockNumber"]);
  if (!block.ok()) return block.status().WithContext("field 'blockNumber'");
  out.success = *status == 1;
  out.block = *block;
  if (receipt.contains("contractAddress") && receipt["contractAddress"].is_string()) {
    out.contract_address = receipt["contractAddress"].get<std::string>();
  }
  if (receipt.contains("logs") && receipt["logs"].is_array()) {
    for (const Json& log : receipt["logs"]) {
      if (!log.is_object() || !log.contains("topics") || !log["topics"].is_array() || log["topics"].empty()) continue;
      auto topic = ParseData(log["topics"][0]);
      if (topic.ok()) out.events.push_back(DataHex(*topic));
    }
  }
  return out;
}

JsonRpcClient::JsonRpcClient(RpcOptions options) : options_(std::move(options)) {
  http::ClientOptions client;
  client.host = options_.endpoint.host;
  client.port = options_.endpoint.port;
  client.plain_http = !options_.endpoint.tls;
  if (options_.endpoint.tls) client.tls = options_.tls;
  client.timeout = options_.timeout;
  client_ = std::make_unique<http::Client>(std::move(client));
}

JsonRpcClient::~JsonRpcClient() = default;

Result<RpcAnswer> JsonRpcClient::Call(std::string_view method, const Json& params, bool retry) {
  const std::string where = options_.label + ": " + std::string(method) + ": ";
  const std::uint64_t id = next_id_++;
  const std::string request =
      Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", std::string(method)}, {"params", params}}.dump();
  const RetryPolicy policy{retry ? options_.retries + 1 : 1, options_.backoff, options_.max_backoff};
  return WithRetries<RpcAnswer>(policy, where, [&](std::string& last) -> std::optional<Result<RpcAnswer>> {
    auto response = client_->Post(options_.endpoint.path, request);
    if (!response.ok()) {
      if (response.status().code() != StatusCode::kUnavailable) return response.status().WithContext(where);
      last = response.status().message();
      return std::nullopt;
    }
    const http::Response& r = *response;
    std::string start = r.body.size() > 200 ? r.body.substr(0, 200) + "..." : r.body;
    if (r.status == 401 || r.status == 403) {
      return Status::PermissionDenied(where + "refused, HTTP " + std::to_string(r.status) + ": " + start);
    }
    if (r.status > 500) {
      return Status::Unavailable(where + "the node failed, HTTP " + std::to_string(r.status) + ": " + start);
    }
    // Some nodes answer a JSON-RPC error with HTTP 500 (or 400): read the body either way.
    auto parsed = ParseJson(r.body);
    if (!parsed.ok() || !parsed->is_object() || (!parsed->contains("result") && !parsed->contains("error"))) {
      if (r.status >= 500) return Status::Unavailable(where + "the node failed, HTTP 500: " + start);
      return Status::Internal(where + "not a JSON-RPC response (HTTP " + std::to_string(r.status) + "): " + start);
    }
    RpcAnswer answer;
    if (parsed->contains("error") && !(*parsed)["error"].is_null()) {
      const Json& error = (*parsed)["error"];
      if (!error.is_object()) return Status::Internal(where + "malformed error: " + error.dump());
      RpcError e;
      if (error.contains("code") && error["code"].is_number_integer()) e.code = error["code"].get<std::int64_t>();
      if (error.contains("message") && error["message"].is_string()) e.message = error["message"].get<std::string>();
      e.revert_data = RevertData(error);
      answer.error = std::move(e);
      return answer;
    }
    answer.result = std::move((*parsed)["result"]);
    return answer;
  });
}

}  // namespace entente::adapters::ethereum
