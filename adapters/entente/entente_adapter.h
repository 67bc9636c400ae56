// The adapter of an Entente chain (DESIGN.md §8): reads state, versions and height through the REST
// API that both the Entente relay and Entente nodes serve (HTTPS, TLS 1.3, mutual authentication by an
// ECert), retrying connection failures with exponential backoff. Thread-safe; requests to one
// endpoint go over one keep-alive connection, one at a time.
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

struct EntenteAdapterOptions {
  std::string chain;  // the chain's channel name
  // "host:port" of a relay or node; "https://host:port" and "[v6]:port" are accepted too.
  std::string endpoint;
  std::string cert_file;                     // this side's ECert (PEM, with intermediates) for mutual TLS
  std::string key_file;                      // its private key
  std::vector<std::string> ca_files;         // CA certificates trusted for the server's certificate
  std::chrono::milliseconds timeout{10000};  // per attempt, connecting included
  int retries = 3;                           // further attempts after a connection failure
  std::chrono::milliseconds backoff{100};    // wait before the first retry; doubles after each retry
  std::chrono::milliseconds max_backoff{2000};
};

// An Entente chain reached over its REST API:
//   Read, StillCurrent  GET /v1/channels/{chain}/state/{contract}/{key}  (404: the key does not exist)
//   Height              GET /v1/channels/{chain}                         ({"channel","height","last_hash"})
//   Deliver             GET /v1/transactions/{tx_id}
// Deliver applies nothing itself: the relay orders and commits every Entente channel, so a committed
// cross-chain write to an Entente chain is already applied atomically with its transaction. Deliver
// checks that the transaction is committed VALID on this chain and returns applied = false with detail
// "committed by the relay in block N"; FailedPrecondition when it is unknown, pending, invalid, or
// committed on another chain.
// Errors: Unavailable (naming the endpoint and the attempts) when no attempt reached the server, or it
// answered 5xx; PermissionDenied for 401/403; Internal naming the endpoint, the request and what was
// wrong for an answer that is not JSON, lacks a field or holds bad base64; InvalidArgument for a
// request that cannot be sent (empty contract or key) or that the server refused with 400; NotFound
// from Height when the endpoint does not know the chain.
class EntenteAdapter : public ChainAdapter {
 public:
  // Returns InvalidArgument naming the option for an empty chain, an endpoint that is not host:port, a
  // certificate without its key (or the reverse), an unreadable file, no CA file, a non-positive
  // timeout or negative retries.
  static Result<std::unique_ptr<EntenteAdapter>> Create(EntenteAdapterOptions options);
  ~EntenteAdapter() override;
  EntenteAdapter(const EntenteAdapter&) = delete;
  EntenteAdapter& operator=(const EntenteAdapter&) = delete;

  const std::string& chain() const override { return options_.chain; }
  // "host:port" as connected to.
  const std::string& endpoint() const { return endpoint_; }

  Result<std::optional<endorser::RemoteValue>> Read(std::string_view contract, std::string_view key) override;
  Result<bool> StillCurrent(std::string_view contract, std::string_view key, const ledger::Version& version) override;
  Result<Receipt> Deliver(const CrossChainWrite& write) override;
  Result<std::uint64_t> Height() override;

 private:
  struct Answer;
  EntenteAdapter(EntenteAdapterOptions options, std::string host, std::uint16_t port);
  // GETs `target`, retrying while the server cannot be reached.
  Result<Answer> Get(const std::string& target);
  // "<chain> at <endpoint>: GET <target>: " + what, for error messages.
  std::string Where(const std::string& target) const;

  const EntenteAdapterOptions options_;
  const std::string endpoint_;
  std::unique_ptr<http::Client> client_;
};

}  // namespace entente::adapters
