// RestAdapter: requests built from the mapping's templates, sent with retries, and answers read by
// the mapping's pointers.
#include "adapters/rest/rest_adapter.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "adapters/internal/endpoint.h"
#include "adapters/internal/options.h"
#include "adapters/internal/retry.h"
#include "adapters/rest/internal/mapping.h"
#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/http/http.h"

namespace entente::adapters {
namespace {

using rest::Pointer;
using rest::TemplateArguments;

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string base_path;
};

// Parses "https://host:port[/base]", "host:port[/base]" or "[v6]:port[/base]".
Result<Endpoint> ParseEndpoint(std::string_view endpoint) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("option endpoint '" + std::string(endpoint) + "': " + why);
  };
  std::string_view rest = endpoint;
  if (!StripScheme(rest, "https")) return bad("only https is supported (TLS 1.3)");
  Endpoint out;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    out.base_path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
    while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
    if (out.base_path.find_first_of("?# ") != std::string::npos) return bad("the base path holds '?', '#' or ' '");
  }
  auto authority = ParseHostPort(rest, "expected https://host:port");
  if (!authority.ok()) return bad(authority.status().message());
  out.host = std::move(authority->host);
  out.port = authority->port;
  return out;
}

// The message of an error answer: the string at the mapping's `error` pointer, else the body's start.
std::string MessageOf(const std::string& body, const std::optional<Pointer>& error) {
  if (error) {
    auto parsed = ParseJson(body);
    if (parsed.ok()) {
      auto text = rest::StringAt(*parsed, *error);
      if (text.ok() && text->has_value()) return **text;
    }
  }
  return body.size() > 200 ? body.substr(0, 200) + "..." : body;
}

bool IsContentType(std::string_view name) {
  constexpr std::string_view kName = "content-type";
  return std::equal(name.begin(), name.end(), kName.begin(), kName.end(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

Status CheckKey(std::string_view what, std::string_view contract, std::string_view key) {
  if (contract.empty()) return Status::InvalidArgument(std::string(what) + ": the contract is empty");
  if (contract.find('/') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + ": the contract '" + std::string(contract) + "' contains '/'");
  }
  if (key.empty()) return Status::InvalidArgument(std::string(what) + ": the key is empty");
  return Status::Ok();
}

}  // namespace

struct RestAdapter::Answer {
  int status = 0;
  std::string body;
  std::string where;  // "<chain> at <endpoint>: <METHOD> <target>: ", for messages

  // The body as JSON; Internal when it is not.
  Result<Json> Parsed() const {
    auto parsed = ParseJson(body);
    if (!parsed.ok()) return Status::Internal(where + "the answer is not JSON: " + parsed.status().message());
    return std::move(parsed).value();
  }
  Status Malformed(const Status& status) const {
    return Status::Internal(where + "malformed answer: " + status.message());
  }
};

Result<std::unique_ptr<RestAdapter>> RestAdapter::Create(RestAdapterOptions options) {
  if (options.chain.empty()) return Status::InvalidArgument("option chain is empty");
  ENTENTE_ASSIGN_OR_RETURN(Endpoint where, ParseEndpoint(options.endpoint));
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::InvalidArgument("options cert_file and key_file go together: the client certificate and its key");
  }
  if (!options.cert_file.empty()) {
    ENTENTE_RETURN_IF_ERROR(CheckReadable("cert_file", options.cert_file));
    ENTENTE_RETURN_IF_ERROR(CheckReadable("key_file", options.key_file));
  }
  if (options.ca_files.empty()) return Status::InvalidArgument("option ca_files is empty: no service could be trusted");
  for (const std::string& ca : options.ca_files) ENTENTE_RETURN_IF_ERROR(CheckReadable("ca_files", ca));
  if (options.timeout.count() <= 0) return Status::InvalidArgument("option timeout must be positive");
  ENTENTE_RETURN_IF_ERROR(CheckRetryOptions(options.retries, options.backoff, options.max_backoff));
  if (options.mapping_file.empty()) return Status::InvalidArgument("option mapping_file is empty");
  auto mapping = rest::LoadMapping(options.mapping_file);
  if (!mapping.ok()) {
    return Status::InvalidArgument("option mapping_file: " + mapping.status().message());
  }
  auto loaded = std::make_unique<const rest::RestMapping>(std::move(mapping).value());
  return std::unique_ptr<RestAdapter>(
      new RestAdapter(std::move(options), where.host, where.port, where.base_path, std::move(loaded)));
}

RestAdapter::RestAdapter(RestAdapterOptions options, std::string host, std::uint16_t port, std::string base_path,
                         std::unique_ptr<const rest::RestMapping> mapping)
    : options_(std::move(options)),
      endpoint_(HostPortText(host, port)),
      base_path_(std::move(base_path)),
      mapping_(std::move(mapping)) {
  client_ =
      HttpsClient(std::move(host), port, {options_.cert_file, options_.key_file, options_.ca_files}, options_.timeout);
}

RestAdapter::~RestAdapter() = default;

Result<RestAdapter::Answer> RestAdapter::Send(const rest::RequestMapping& mapping, const TemplateArguments& arguments,
                                              const std::vector<int>& accepted) {
  const std::string who = options_.chain + " at " + endpoint_ + ": ";
  auto expanded_path = mapping.path.Expand(arguments);
  if (!expanded_path.ok()) return expanded_path.status().WithContext(who + "cannot build the path");
  const std::string target = base_path_ + *expanded_path;
  const std::string where = who + mapping.method + " " + target + ": ";
  auto body = mapping.body.Expand(arguments);
  if (!body.ok()) return body.status().WithContext(where + "cannot build the body");
  std::vector<std::pair<std::string, std::string>> headers;
  bool has_content_type = false;
  for (const auto& [name, value] : mapping.headers) {
    auto text = value.Expand(arguments);
    if (!text.ok()) return text.status().WithContext(where + "cannot build the header " + name);
    has_content_type = has_content_type || IsContentType(name);
    headers.emplace_back(name, std::move(text).value());
  }
  if (!body->empty() && !has_content_type) headers.emplace_back("Content-Type", "application/json");

  const RetryPolicy policy{options_.retries + 1, options_.backoff, options_.max_backoff};
  return WithRetries<Answer>(policy, where, [&](std::string& last) -> std::optional<Result<Answer>> {
    auto response = client_->Send(mapping.method, target, *body, headers);
    if (!response.ok()) {
      if (response.status().code() != StatusCode::kUnavailable) {
        return response.status().WithContext(where + "cannot send");
      }
      last = response.status().message();
      return std::nullopt;
    }
    const http::Response& r = *response;
    if ((r.status >= 200 && r.status < 300) || std::count(accepted.begin(), accepted.end(), r.status) > 0) {
      return Answer{r.status, r.body, where};
    }
    std::string detail = "HTTP " + std::to_string(r.status) + ": " + MessageOf(r.body, mapping.error);
    if (r.status == 503) {
      last = "the service cannot serve now, " + detail;
      return std::nullopt;
    }
    if (r.status == 401 || r.status == 403) return Status::PermissionDenied(where + "refused, " + detail);
    if (r.status >= 500) return Status::Unavailable(where + "the service failed, " + detail);
    if (r.status == 400) return Status::InvalidArgument(where + "the request was refused, " + detail);
    return Status::Internal(where + "unexpected answer, " + detail);
  });
}

Result<std::optional<endorser::RemoteValue>> RestAdapter::Read(std::string_view contract, std::string_view key) {
  ENTENTE_RETURN_IF_ERROR(CheckKey("read of " + options_.chain, contract, key));
  const rest::ReadMapping& read = mapping_->read;
  TemplateArguments arguments{options_.chain, std::string(contract), std::string(key)};
  ENTENTE_ASSIGN_OR_RETURN(Answer answer, Send(read.request, arguments, read.absent_status));
  const auto& absent = read.absent_status;
  if (std::count(absent.begin(), absent.end(), answer.status) > 0) return std::optional<endorser::RemoteValue>();
  ENTENTE_ASSIGN_OR_RETURN(Json body, answer.Parsed());
  if (read.exists && !rest::Holds(body, *read.exists)) return std::optional<endorser::RemoteValue>();
  auto text = rest::StringAt(body, read.value);
  if (!text.ok()) return answer.Malformed(text.status());
  Bytes value;
  if (text->has_value() && read.value_encoding == rest::ValueEncoding::kBase64) {
    auto decoded = Base64Decode(**text);
    if (!decoded.ok()) return answer.Malformed(decoded.status().WithContext("at '" + read.value.text() + "'"));
    value = std::move(decoded).value();
  } else if (text->has_value()) {
    value = ToBytes(**text);
  }
  auto version = rest::NumberAt(body, read.version);
  if (!version.ok()) return answer.Malformed(version.status());
  return std::optional<endorser::RemoteValue>(endorser::RemoteValue{std::move(value), ledger::Version{*version, 0}});
}

Result<bool> RestAdapter::StillCurrent(std::string_view contract, std::string_view key,
                                       const ledger::Version& version) {
  ENTENTE_ASSIGN_OR_RETURN(std::optional<endorser::RemoteValue> current, Read(contract, key));
  if (!current.has_value()) return version == ledger::Version{0, 0};
  return current->version == version;
}

Result<std::uint64_t> RestAdapter::Height() {
  const rest::HeightMapping& height = mapping_->height;
  TemplateArguments arguments;
  arguments.chain = options_.chain;
  ENTENTE_ASSIGN_OR_RETURN(Answer answer, Send(height.request, arguments, {}));
  ENTENTE_ASSIGN_OR_RETURN(Json body, answer.Parsed());
  auto number = rest::NumberAt(body, height.height);
  if (!number.ok()) return answer.Malformed(number.status());
  return *number;
}

Result<Receipt> RestAdapter::Deliver(const CrossChainWrite& write) {
  const std::string what = "delivery of " + write.tx_id + " to " + options_.chain;
  if (write.channel != options_.chain) {
    return Status::InvalidArgument(what + ": the write is for chain " + write.channel);
  }
  if (write.tx_id.empty()) return Status::InvalidArgument("delivery to " + options_.chain + ": the tx id is empty");
  ENTENTE_RETURN_IF_ERROR(CheckKey(what, write.contract, write.key));
  rest::WriteKind kind = write.is_delete
                             ? (write.check_version ? rest::WriteKind::kDelete : rest::WriteKind::kBlindDelete)
                             : (write.check_version ? rest::WriteKind::kPut : rest::WriteKind::kBlindPut);
  const std::optional<rest::WriteMapping>& entry = mapping_->write(kind);
  if (!entry) {
    std::string writes = std::string(write.check_version ? "" : "blind ") + (write.is_delete ? "deletes" : "writes");
    return Status::InvalidArgument(what + ": " + writes + " are not supported by this mapping (" + mapping_->source +
                                   " has no '" + std::string(rest::EntryName(kind)) + "' entry)");
  }
  const std::string stored = write.contract + "/" + write.key;
  const ledger::Version expected = write.expected_version.value_or(ledger::Version{0, 0});
  if (write.check_version && expected.tx != 0) {
    return Status::FailedPrecondition(std::string(kConsistencyFailure) + ": " + what + ": version {" +
                                      std::to_string(expected.block) + ", " + std::to_string(expected.tx) + "} of " +
                                      stored + " cannot be current here (versions are {n, 0}); nothing was applied");
  }
  TemplateArguments arguments{options_.chain, write.contract, write.key, write.tx_id, write.value, expected.block};
  ENTENTE_ASSIGN_OR_RETURN(Answer answer, Send(entry->request, arguments, entry->conflict_status));
  const auto& conflict = entry->conflict_status;
  bool applied = std::count(conflict.begin(), conflict.end(), answer.status) == 0;
  std::optional<Json> body;
  if (applied && entry->succeeded) {
    ENTENTE_ASSIGN_OR_RETURN(body, answer.Parsed());
    applied = rest::Holds(*body, *entry->succeeded);
  }
  if (applied) {
    // The service's own answer is the receipt (etcd's holds the revision of the write).
    Json evidence{{"status", answer.status}};
    if (auto parsed = answer.Parsed(); parsed.ok() && answer.body.size() <= 4096) evidence["answer"] = std::move(*parsed);
    return Receipt{write.tx_id, true, "applied to " + stored + " on " + options_.chain, std::move(evidence)};
  }
  if (entry->already_applied) {
    if (!body) {
      ENTENTE_ASSIGN_OR_RETURN(body, answer.Parsed());
    }
    if (rest::Holds(*body, *entry->already_applied)) {
      return Receipt{write.tx_id, false, "applied to " + stored + " on " + options_.chain + " by an earlier delivery"};
    }
  }
  if (rest::IsChecked(kind)) {
    std::string read = write.expected_version ? "at version " + std::to_string(expected.block) : "as absent";
    return Status::FailedPrecondition(std::string(kConsistencyFailure) + ": " + answer.where + "transaction " +
                                      write.tx_id + " read " + stored + " " + read +
                                      ", which is no longer current; nothing was applied");
  }
  return Status::FailedPrecondition(
      answer.where + "the service did not apply the write: " + MessageOf(answer.body, entry->request.error));
}

}  // namespace entente::adapters
