// EntenteAdapter: REST calls with retries, and strict parsing of the answers.
#include "adapters/entente/entente_adapter.h"

#include <optional>
#include <utility>

#include "adapters/internal/endpoint.h"
#include "adapters/internal/options.h"
#include "adapters/internal/retry.h"
#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/http/http.h"

namespace entente::adapters {
namespace {

// Parses "host:port", "[v6]:port" or "https://host:port[/]".
Result<HostPort> ParseEndpoint(std::string_view endpoint) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("endpoint '" + std::string(endpoint) + "': " + why);
  };
  std::string_view rest = endpoint;
  if (!StripScheme(rest, "https")) return bad("only https is served by Entente chains");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto where = ParseHostPort(rest, "expected host:port");
  if (!where.ok()) return bad(where.status().message());
  return where;
}

// The problem's detail, or the start of the body when it is not problem+json.
std::string DetailOf(const std::string& body) {
  auto parsed = ParseJson(body);
  if (parsed.ok() && parsed->is_object() && parsed->contains("detail") && (*parsed)["detail"].is_string()) {
    return (*parsed)["detail"].get<std::string>();
  }
  return body.size() > 200 ? body.substr(0, 200) + "..." : body;
}

// A non-negative integer field.
Result<std::uint64_t> Count(const Json& object, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t n, JsonInt(object, field));
  if (n < 0) return Status::InvalidArgument("field '" + std::string(field) + "': negative");
  return static_cast<std::uint64_t>(n);
}

}  // namespace

struct EntenteAdapter::Answer {
  int status = 0;
  std::string body;
};

Result<std::unique_ptr<EntenteAdapter>> EntenteAdapter::Create(EntenteAdapterOptions options) {
  if (options.chain.empty()) return Status::InvalidArgument("option chain is empty");
  if (options.chain.find('/') != std::string::npos) {
    return Status::InvalidArgument("option chain '" + options.chain + "' contains '/'");
  }
  ENTENTE_ASSIGN_OR_RETURN(HostPort where, ParseEndpoint(options.endpoint));
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::InvalidArgument("options cert_file and key_file go together: the ECert and its key");
  }
  ENTENTE_RETURN_IF_ERROR(CheckReadable("cert_file", options.cert_file));
  ENTENTE_RETURN_IF_ERROR(CheckReadable("key_file", options.key_file));
  if (options.ca_files.empty()) return Status::InvalidArgument("option ca_files is empty: no server could be trusted");
  for (const std::string& ca : options.ca_files) ENTENTE_RETURN_IF_ERROR(CheckReadable("ca_files", ca));
  if (options.timeout.count() <= 0) return Status::InvalidArgument("option timeout must be positive");
  ENTENTE_RETURN_IF_ERROR(CheckRetryOptions(options.retries, options.backoff, options.max_backoff));
  return std::unique_ptr<EntenteAdapter>(new EntenteAdapter(std::move(options), where.host, where.port));
}

EntenteAdapter::EntenteAdapter(EntenteAdapterOptions options, std::string host, std::uint16_t port)
    : options_(std::move(options)), endpoint_(HostPortText(host, port)) {
  client_ =
      HttpsClient(std::move(host), port, {options_.cert_file, options_.key_file, options_.ca_files}, options_.timeout);
}

EntenteAdapter::~EntenteAdapter() = default;

std::string EntenteAdapter::Where(const std::string& target) const {
  return options_.chain + " at " + endpoint_ + ": GET " + target + ": ";
}

Result<EntenteAdapter::Answer> EntenteAdapter::Get(const std::string& target) {
  const RetryPolicy policy{options_.retries + 1, options_.backoff, options_.max_backoff};
  return WithRetries<Answer>(policy, Where(target), [&](std::string& last) -> std::optional<Result<Answer>> {
    auto response = client_->Get(target);
    if (response.ok()) {
      const http::Response& r = *response;
      if (r.status == 200 || r.status == 404) return Answer{r.status, r.body};
      std::string detail = "HTTP " + std::to_string(r.status) + ": " + DetailOf(r.body);
      if (r.status == 401 || r.status == 403) return Status::PermissionDenied(Where(target) + "refused, " + detail);
      if (r.status >= 500) return Status::Unavailable(Where(target) + "the server failed, " + detail);
      if (r.status == 400) return Status::InvalidArgument(Where(target) + "the request was refused, " + detail);
      return Status::Internal(Where(target) + "unexpected answer, " + detail);
    }
    if (response.status().code() != StatusCode::kUnavailable) {
      return response.status().WithContext(Where(target) + "cannot send");
    }
    last = response.status().message();
    return std::nullopt;
  });
}

namespace {

// Parses a 200 answer's body as a JSON object.
Result<Json> ObjectOf(const std::string& body, const std::string& where) {
  auto parsed = ParseJson(body);
  if (!parsed.ok()) return Status::Internal(where + "the answer is not JSON: " + parsed.status().message());
  if (!parsed->is_object()) return Status::Internal(where + "the answer is not a JSON object");
  return std::move(parsed).value();
}

}  // namespace

Result<std::optional<endorser::RemoteValue>> EntenteAdapter::Read(std::string_view contract, std::string_view key) {
  if (contract.empty()) return Status::InvalidArgument("read of " + options_.chain + ": the contract is empty");
  if (key.empty()) return Status::InvalidArgument("read of " + options_.chain + ": the key is empty");
  const std::string target = "/v1/channels/" + EncodePathSegment(options_.chain) + "/state/" +
                             EncodePathSegment(contract) + "/" + EncodePathSegment(key);
  ENTENTE_ASSIGN_OR_RETURN(Answer answer, Get(target));
  if (answer.status == 404) return std::optional<endorser::RemoteValue>();
  const std::string where = Where(target);
  ENTENTE_ASSIGN_OR_RETURN(Json body, ObjectOf(answer.body, where));
  auto malformed = [&](const Status& s) { return Status::Internal(where + "malformed answer: " + s.message()); };
  auto answered_key = JsonString(body, "key");
  if (!answered_key.ok()) return malformed(answered_key.status());
  if (*answered_key != key) return Status::Internal(where + "the answer is about another key: '" + *answered_key + "'");
  auto value = JsonBase64(body, "value");
  if (!value.ok()) return malformed(value.status());
  if (!body.contains("version") || !body["version"].is_object()) {
    return Status::Internal(where + "malformed answer: field 'version': expected an object {block, tx}");
  }
  auto block = Count(body["version"], "block");
  if (!block.ok()) return malformed(block.status().WithContext("field 'version'"));
  auto tx = Count(body["version"], "tx");
  if (!tx.ok()) return malformed(tx.status().WithContext("field 'version'"));
  return std::optional<endorser::RemoteValue>(endorser::RemoteValue{std::move(*value), ledger::Version{*block, *tx}});
}

Result<bool> EntenteAdapter::StillCurrent(std::string_view contract, std::string_view key,
                                          const ledger::Version& version) {
  ENTENTE_ASSIGN_OR_RETURN(std::optional<endorser::RemoteValue> current, Read(contract, key));
  return current.has_value() && current->version == version;
}

Result<std::uint64_t> EntenteAdapter::Height() {
  const std::string target = "/v1/channels/" + EncodePathSegment(options_.chain);
  ENTENTE_ASSIGN_OR_RETURN(Answer answer, Get(target));
  const std::string where = Where(target);
  if (answer.status == 404) return Status::NotFound(where + "the chain is unknown there: " + DetailOf(answer.body));
  ENTENTE_ASSIGN_OR_RETURN(Json body, ObjectOf(answer.body, where));
  auto channel = JsonString(body, "channel");
  if (!channel.ok()) return Status::Internal(where + "malformed answer: " + channel.status().message());
  if (*channel != options_.chain) return Status::Internal(where + "the answer is about another chain: " + *channel);
  auto height = Count(body, "height");
  if (!height.ok()) return Status::Internal(where + "malformed answer: " + height.status().message());
  return *height;
}

Result<Receipt> EntenteAdapter::Deliver(const CrossChainWrite& write) {
  if (write.channel != options_.chain) {
    return Status::InvalidArgument("delivery of " + write.tx_id + " to " + options_.chain +
                                   ": the write is for chain " + write.channel);
  }
  if (write.tx_id.empty()) return Status::InvalidArgument("delivery to " + options_.chain + ": the tx id is empty");
  const std::string target = "/v1/transactions/" + EncodePathSegment(write.tx_id);
  ENTENTE_ASSIGN_OR_RETURN(Answer answer, Get(target));
  const std::string where = Where(target);
  if (answer.status == 404) {
    return Status::FailedPrecondition(where + "transaction " + write.tx_id +
                                      " is unknown there, so it is not committed on " + options_.chain);
  }
  ENTENTE_ASSIGN_OR_RETURN(Json body, ObjectOf(answer.body, where));
  auto malformed = [&](const Status& s) { return Status::Internal(where + "malformed answer: " + s.message()); };
  auto state = JsonString(body, "state");
  if (!state.ok()) return malformed(state.status());
  if (*state == "pending" || *state == "unknown") {
    return Status::FailedPrecondition(where + "transaction " + write.tx_id + " is " + *state + ", not committed yet");
  }
  if (*state != "committed" && *state != "rejected") return Status::Internal(where + "unknown state '" + *state + "'");
  auto code_name = JsonString(body, "code_name");
  if (!code_name.ok()) return malformed(code_name.status());
  std::string message =
      body.contains("message") && body["message"].is_string() ? body["message"].get<std::string>() : "";
  if (*state == "rejected" || *code_name != "VALID") {
    return Status::FailedPrecondition(where + "transaction " + write.tx_id + " was " + *state + " as " + *code_name +
                                      (message.empty() ? "" : " (" + message + ")") + ": its writes were not applied");
  }
  auto channel = JsonString(body, "channel");
  if (!channel.ok()) return malformed(channel.status());
  if (*channel != options_.chain) {
    return Status::FailedPrecondition(where + "transaction " + write.tx_id + " is committed on " + *channel +
                                      ", not on " + options_.chain);
  }
  auto block = Count(body, "block");
  if (!block.ok()) return malformed(block.status());
  return Receipt{write.tx_id, false, "committed by the relay in block " + std::to_string(*block), Json{{"block", *block}}};
}

}  // namespace entente::adapters
