// The generic adapter of an enterprise REST service (DESIGN.md §8): a YAML mapping file says how each
// ChainAdapter operation becomes one HTTPS request (TLS 1.3, optionally with a client certificate) and
// where its JSON answer holds the results; connection failures are retried with exponential backoff.
// Thread-safe; requests go over one keep-alive connection, one at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "runtime/common/status.h"

namespace entente::http {
class Client;
}  // namespace entente::http

namespace entente::adapters {

namespace rest {
struct RestMapping;
struct RequestMapping;
struct TemplateArguments;
}  // namespace rest

struct RestAdapterOptions {
  std::string chain;  // the chain's name in the alliance
  // "https://host:port", optionally with a base path prepended to every mapped path
  // ("https://10.0.0.5:8443/api"); "host:port" and "[v6]:port" are accepted too.
  std::string endpoint;
  std::string cert_file;                     // client certificate (PEM, with intermediates); empty: none
  std::string key_file;                      // its private key
  std::vector<std::string> ca_files;         // CA certificates trusted for the service's certificate
  std::string mapping_file;                  // the YAML mapping, e.g. adapters/rest/mappings/etcd.yaml
  std::chrono::milliseconds timeout{10000};  // per attempt, connecting included
  int retries = 3;                           // further attempts after a connection failure or a 503
  std::chrono::milliseconds backoff{100};    // wait before the first retry; doubles after each retry
  std::chrono::milliseconds max_backoff{2000};
};

// A chain kept by a REST service. The mapping file has one entry per operation:
//   read                    Read, and StillCurrent (a read compared with the version)
//   height                  Height
//   deliver, deliver_blind  Deliver of a value with / without the version check (write.check_version)
//   delete, delete_blind    Deliver of a deletion with / without the version check
// `read` and `height` are required, and at least one write entry; a write with no entry is refused
// with InvalidArgument ("deletes are not supported by this mapping ..."). Every entry has
//   method   GET, POST, PUT, ...
//   path     a template, appended to the endpoint's base path; text placeholders need their _url form
//   headers  optional map of names to templates (a body without Content-Type is sent as application/json)
//   body     optional template
//   error    optional JSON pointer (RFC 6901) to the message of an answer that is not 2xx
// and the pointers into a 2xx JSON answer, by entry:
//   read     exists            a condition: the key exists when it holds; and/or
//            absent_status     HTTP statuses (one or a list) that mean the key does not exist, e.g. 404
//            value             the value; nothing or null there is the empty value
//            value_encoding    base64 or text (default)
//            version           the key's version number n, which is ledger::Version{n, 0}
//   writes   succeeded         a condition: the write was applied (absent: every 2xx answer means applied)
//            conflict_status   HTTP statuses that mean the write was not applied (the body is examined)
//            already_applied   a condition, examined when the write was not applied: it had been applied
//                              before (the idempotency marker exists); required for checked writes
//   height   height            a number
// A condition holds unless its pointer finds nothing, null, false, 0, "", "0", "false", [] or {}; a
// number may be a JSON number or a string of digits (etcd writes int64 as strings).
// Template placeholders, each also as {{name_url}} (percent-encoded) and {{name_json}} (escaped for a
// JSON string): {{chain}}; {{contract}}, {{key}}, {{contract_key}} ("<contract>/<key>", the stored
// key), {{key_base64}}, {{contract_key_base64}} (read and writes); {{tx_id}}, {{marker_key}}
// ("entente/applied/<tx_id>/<contract>/<key>", the idempotency marker a write should store atomically
// with its value), {{marker_key_base64}}, {{value}}, {{value_base64}}, {{expected_version}} (the n of
// the expected version; 0 when the key must be absent) (writes only). A placeholder an entry cannot
// fill is refused when the mapping is loaded.
// Versions: an absent key has version 0 in this scheme, so StillCurrent(key, Version{0, 0}) is true
// exactly when the key is absent. Deliver, for a checked write not applied and not applied before,
// returns FailedPrecondition starting with kConsistencyFailure; for a blind one, FailedPrecondition
// with the service's reason. Other errors: Unavailable (naming the endpoint and the attempts) when no
// attempt reached the service or it answered 5xx; PermissionDenied for 401/403; InvalidArgument for
// a request that cannot be built (empty contract or key, '/' in the contract, an unmapped write) or
// that the service refused with 400; Internal naming the endpoint, the request and what was wrong for
// an answer that is not JSON or lacks a number, holds bad base64, or an unexpected status.
class RestAdapter : public ChainAdapter {
 public:
  // Returns InvalidArgument naming the option for an empty chain, an endpoint that is not
  // https://host:port[/path], a certificate without its key (or the reverse), an unreadable file, no CA
  // file, a non-positive timeout, negative retries or backoff; and for a mapping file that is missing
  // or malformed, with the message "file:line: key 'entry.field': ...".
  static Result<std::unique_ptr<RestAdapter>> Create(RestAdapterOptions options);
  ~RestAdapter() override;
  RestAdapter(const RestAdapter&) = delete;
  RestAdapter& operator=(const RestAdapter&) = delete;

  const std::string& chain() const override { return options_.chain; }
  // "host:port" as connected to.
  const std::string& endpoint() const { return endpoint_; }

  Result<std::optional<endorser::RemoteValue>> Read(std::string_view contract, std::string_view key) override;
  Result<bool> StillCurrent(std::string_view contract, std::string_view key, const ledger::Version& version) override;
  Result<Receipt> Deliver(const CrossChainWrite& write) override;
  Result<std::uint64_t> Height() override;

 private:
  struct Answer;
  RestAdapter(RestAdapterOptions options, std::string host, std::uint16_t port, std::string base_path,
              std::unique_ptr<const rest::RestMapping> mapping);
  // Sends the request of `mapping` filled with `arguments`, retrying while the service cannot be
  // reached or answers 503. Returns the 2xx answer, or one with a status in `accepted`.
  Result<Answer> Send(const rest::RequestMapping& mapping, const rest::TemplateArguments& arguments,
                      const std::vector<int>& accepted);

  const RestAdapterOptions options_;
  const std::string endpoint_;
  const std::string base_path_;  // "" or "/api" (no trailing '/')
  const std::unique_ptr<const rest::RestMapping> mapping_;
  std::unique_ptr<http::Client> client_;
};

}  // namespace entente::adapters
