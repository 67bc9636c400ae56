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

  // Streams the answer to `body` at `path` from the current member (then the others while members
  // cannot be reached) into `on_data`, until `until`.
  Status StreamCall(const std::string& path, const Json& body, const std::function<bool(std::string_view)>& on_data,
                    std::chrono::steady_clock::time_point until) {
    const std::string text = body.dump();
    std::string tried;
    const std::size_t first = current.load();
    for (std::size_t attempt = 0; attempt < members.size(); ++attempt) {
      const std::size_t i = (first + attempt) % members.size();
      std::string error_body;
      bool ok_status = true;
      auto status = members[i]->Stream("POST", path, text,
                                       [&](std::string_view data) {
                                         if (!ok_status) {
                                           error_body.append(data);
                                           return error_body.size() < 4096;
                                         }
                                         return on_data(data);
                                       },
                                       until);
      Status failed = !status.ok() ? status.status() : Status::Ok();
      if (status.ok() && *status != 200) failed = EtcdError(*status, error_body);
      if (failed.ok()) {
        current = i;
        return Status::Ok();
      }
      if (failed.code() != StatusCode::kUnavailable) return failed;
      tried += (tried.empty() ? "" : "; ") + names[i] + ": " + failed.message();
    }
    return Status::Unavailable("no etcd member answered " + path + " (" + tried + ")");
  }

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

Result<std::optional<std::int64_t>> Client::PutIfAbsent(std::string_view key, ByteView value, std::int64_t lease) {
  Json put{{"key", B64(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  Json body{{"compare", {{{"key", B64(key)}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}}},
            {"success", {{{"request_put", put}}}},
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
  if (request.max_mod_revision > 0) body["max_mod_revision"] = std::to_string(request.max_mod_revision);
  if (request.keys_only) body["keys_only"] = true;
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

Status Client::DeleteKeys(const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  if (keys.size() > 128) return Status::InvalidArgument("etcd: at most 128 keys per transaction");
  Json ops = Json::array();
  for (const std::string& key : keys) ops.push_back({{"request_delete_range", {{"key", B64(key)}}}});
  return impl_->Call("/v3/kv/txn", Json{{"success", ops}}).status();
}

Status Client::Defragment() {
  std::string failed;
  for (std::size_t i = 0; i < impl_->members.size(); ++i) {
    auto answer = impl_->members[i]->Post("/v3/maintenance/defragment", "{}");
    if (!answer.ok() || answer->status != 200) {
      failed += (failed.empty() ? "" : "; ") + impl_->names[i] + ": " +
                (answer.ok() ? EtcdError(answer->status, answer->body).message() : answer.status().message());
    }
  }
  if (!failed.empty()) return Status::Unavailable("etcd: defragmenting " + failed);
  return Status::Ok();
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

Result<std::int64_t> Client::Watch(const RangeRequest& range, std::int64_t start_revision,
                                   const std::function<bool(const std::vector<WatchEvent>&)>& on_events,
                                   std::chrono::milliseconds duration) {
  Json create{{"key", B64(range.key)}, {"start_revision", std::to_string(start_revision)}};
  if (range.range_end) create["range_end"] = B64(*range.range_end);
  std::int64_t next = start_revision;
  std::string pending;  // the gateway sends one JSON message per line
  Status failure;
  auto on_data = [&](std::string_view data) {
    pending.append(data);
    for (std::size_t end; (end = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      auto message = ParseJson(line);
      if (!message.ok() || !message->is_object()) {
        failure = Status::Internal("etcd's watch sent something else than JSON");
        return false;
      }
      if (message->contains("error")) {
        const Json& error = (*message)["error"];
        failure = EtcdError(200, error.is_object() ? error.dump() : line);
        return false;
      }
      const Json& result = message->contains("result") ? (*message)["result"] : *message;
      if (Int(result, "compact_revision") > 0) {
        failure = Status::FailedPrecondition("etcd: revision " + std::to_string(next) + " has been compacted (compact_revision " +
                                     std::to_string(Int(result, "compact_revision")) + ")");
        return false;
      }
      std::vector<WatchEvent> events;
      // When a member fails mid-stream, the call goes on at the next member from `start_revision`:
      // what was handed on already is dropped, so that each event is seen once.
      const std::int64_t delivered = next;
      if (auto list = result.find("events"); list != result.end() && list->is_array()) {
        for (const Json& e : *list) {
          WatchEvent event;
          event.type = e.value("type", "PUT") == "DELETE" ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
          auto kv = ParseKeyValue(e.contains("kv") ? e["kv"] : Json::object());
          if (!kv.ok()) {
            failure = kv.status().WithContext("etcd's watch event");
            return false;
          }
          event.kv = std::move(kv).value();
          if (event.kv.mod_revision < delivered) continue;
          next = std::max(next, event.kv.mod_revision + 1);
          events.push_back(std::move(event));
        }
      }
      if (!events.empty() && !on_events(events)) return false;
    }
    return true;
  };
  Status streamed = impl_->StreamCall("/v3/watch", Json{{"create_request", create}}, on_data,
                                      std::chrono::steady_clock::now() + duration);
  if (!failure.ok()) return failure;
  if (!streamed.ok()) return streamed;
  return next;
}

}  // namespace entente::etcd
