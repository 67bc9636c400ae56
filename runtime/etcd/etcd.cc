#include "runtime/etcd/etcd.h"

#include <atomic>

#include "runtime/common/address.h"
#include "runtime/common/json.h"
#include "runtime/http/http.h"

namespace entente::etcd {
namespace {

// The gateway writes int64 fields as strings and leaves out every zero: 0 when absent.
std::int64_t Int(const Json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    if (!text.empty() && text.size() <= 19 && text.find_first_not_of("-0123456789") == std::string::npos) {
      return std::stoll(text);
    }
  }
  return 0;
}

std::string B64(std::string_view text) { return Base64Encode(AsBytes(text)); }

std::int64_t HeaderRevision(const Json& answer) {
  auto header = answer.find("header");
  return header != answer.end() && header->is_object() ? Int(*header, "revision") : 0;
}

Result<KeyValue> ParseKeyValue(const Json& j) {
  KeyValue kv;
  ENTENTE_ASSIGN_OR_RETURN(Bytes key, Base64Decode(j.value("key", "")));
  kv.key = ToString(key);
  ENTENTE_ASSIGN_OR_RETURN(kv.value, Base64Decode(j.value("value", "")));
  kv.create_revision = Int(j, "create_revision");
  kv.mod_revision = Int(j, "mod_revision");
  kv.version = Int(j, "version");
  kv.lease = Int(j, "lease");
  return kv;
}

// etcd's error answer {"error", "code" (a gRPC code), "message"} as a Status.
Status EtcdError(int http_status, const std::string& body) {
  auto j = ParseJson(body);
  std::string message = j.ok() && j->is_object() ? j->value("message", j->value("error", "")) : "";
  int code = j.ok() && j->is_object() ? static_cast<int>(Int(*j, "code")) : 0;
  if (message.empty()) message = "HTTP " + std::to_string(http_status) + ": " + body.substr(0, 200);
  message = "etcd: " + message;
  switch (code) {
    case 5: return Status::NotFound(message);
    case 8: return Status::ResourceExhausted(message);
    case 4:
    case 14: return Status::Unavailable(message);
    default: return Status::FailedPrecondition(message);
  }
}

}  // namespace

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

struct Client::Impl {
  std::vector<std::string> names;  // the endpoints as given, for messages
  std::vector<std::unique_ptr<http::Client>> members;
  std::atomic<std::size_t> current{0};  // the member that answered last

  // POSTs `body` to `path` at the current member, then at each other in turn while members cannot be
  // reached or have no leader; returns the first answer.
  Result<Json> Call(const std::string& path, const Json& body) {
    const std::string text = body.dump();
    std::string tried;
    const std::size_t first = current.load();
    for (std::size_t attempt = 0; attempt < members.size(); ++attempt) {
      const std::size_t i = (first + attempt) % members.size();
      auto answer = members[i]->Post(path, text);
      Status failed = !answer.ok()               ? answer.status()
                      : answer->status != 200 ? EtcdError(answer->status, answer->body)
                                              : Status::Ok();
      if (failed.ok()) {
        current = i;
        auto parsed = ParseJson(answer->body);
        if (!parsed.ok() || !parsed->is_object()) {
          return Status::Internal("etcd at " + names[i] + " answered " + path + " with something else than JSON");
        }
        return std::move(parsed).value();
      }
      if (failed.code() != StatusCode::kUnavailable) return failed;
      tried += (tried.empty() ? "" : "; ") + names[i] + ": " + failed.message();
    }
    return Status::Unavailable("no etcd member answered " + path + " (" + tried + ")");
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.endpoints.empty()) return Status::InvalidArgument("etcd: no endpoint given");
  auto impl = std::make_unique<Impl>();
  for (const std::string& endpoint : options.endpoints) {
    std::optional<Address> address = ParseAddress(endpoint);
    if (!address) return Status::InvalidArgument("etcd: an endpoint must be host:port, got '" + endpoint + "'");
    http::ClientOptions o;
    o.host = address->host;
    o.port = address->port;
    o.tls = {options.cert_file, options.key_file, options.ca_files};
    o.timeout = options.timeout;
    impl->names.push_back(endpoint);
    impl->members.push_back(std::make_unique<http::Client>(o));
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Result<std::int64_t> Client::Put(std::string_view key, ByteView value, std::int64_t lease) {
  Json body{{"key", B64(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  ENTENTE_ASSIGN_OR_RETURN(Json answer, impl_->Call("/v3/kv/put", body));
  return HeaderRevision(answer);
}

Result<std::optional<std::int64_t>> Client::PutIfAbsent(std::string_view key, ByteView value) {
  Json body{{"compare", {{{"key", B64(key)}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}}},
            {"success", {{{"request_put", {{"key", B64(key)}, {"value", Base64Encode(value)}}}}}},
            {"failure", Json::array()}};
  ENTENTE_ASSIGN_OR_RETURN(Json answer, impl_->Call("/v3/kv/txn", body));
  if (!answer.value("succeeded", false)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(HeaderRevision(answer));
}

Result<RangeResult> Client::Range(const RangeRequest& request) {
  Json body{{"key", B64(request.key)}};
  if (request.range_end) body["range_end"] = B64(*request.range_end);
  if (request.limit > 0) body["limit"] = std::to_string(request.limit);
  if (request.revision > 0) body["revision"] = std::to_string(request.revision);
  if (request.min_mod_revision > 0) body["min_mod_revision"] = std::to_string(request.min_mod_revision);
  ENTENTE_ASSIGN_OR_RETURN(Json answer, impl_->Call("/v3/kv/range", body));
  RangeResult result;
  result.revision = HeaderRevision(answer);
  result.more = answer.value("more", false);
  result.count = Int(answer, "count");
  if (auto kvs = answer.find("kvs"); kvs != answer.end() && kvs->is_array()) {
    for (const Json& j : *kvs) {
      auto kv = ParseKeyValue(j);
      if (!kv.ok()) return kv.status().WithContext("etcd's range answer");
      result.kvs.push_back(std::move(kv).value());
    }
  }
  return result;
}

Result<std::int64_t> Client::DeleteRange(std::string_view key, std::optional<std::string_view> range_end) {
  Json body{{"key", B64(key)}};
  if (range_end) body["range_end"] = B64(*range_end);
  ENTENTE_ASSIGN_OR_RETURN(Json answer, impl_->Call("/v3/kv/deleterange", body));
  return Int(answer, "deleted");
}

Status Client::Compact(std::int64_t revision) {
  return impl_->Call("/v3/kv/compaction", Json{{"revision", std::to_string(revision)}, {"physical", true}}).status();
}

Result<std::int64_t> Client::GrantLease(std::int64_t ttl_seconds) {
  ENTENTE_ASSIGN_OR_RETURN(Json answer, impl_->Call("/v3/lease/grant", Json{{"TTL", std::to_string(ttl_seconds)}}));
  std::int64_t id = Int(answer, "ID");
  if (id == 0) return Status::Internal("etcd granted no lease: " + answer.value("error", answer.dump()));
  return id;
}

Status Client::KeepAlive(std::int64_t id) {
  ENTENTE_ASSIGN_OR_RETURN(Json answer, impl_->Call("/v3/lease/keepalive", Json{{"ID", std::to_string(id)}}));
  const Json& result = answer.contains("result") && answer["result"].is_object() ? answer["result"] : answer;
  if (Int(result, "TTL") <= 0) return Status::NotFound("etcd: lease " + std::to_string(id) + " has expired");
  return Status::Ok();
}

Status Client::RevokeLease(std::int64_t id) {
  return impl_->Call("/v3/lease/revoke", Json{{"ID", std::to_string(id)}}).status();
}

}  // namespace entente::etcd
