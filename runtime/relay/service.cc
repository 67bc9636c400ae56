// The relay's REST API (DESIGN.md §9) over HTTPS with mutual TLS, and relay.yaml.
#include "adapters/config/adapter_config.h"
#include "runtime/alliance/alliance.h"
#include "runtime/api/openapi.h"
#include "runtime/common/config.h"
#include "runtime/common/file.h"
#include "runtime/common/json.h"
#include "runtime/common/log.h"
#include "runtime/common/signals.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/http/http.h"
#include "runtime/relay/relay.h"

namespace entente::relay {
namespace {

using crypto::Role;

// Parses a non-negative integer query parameter; nullopt when absent.
Result<std::optional<std::uint64_t>> NumberParam(const http::Request& request, std::string_view name) {
  auto text = request.Query(name);
  if (!text) return std::optional<std::uint64_t>();
  if (text->empty() || text->size() > 18 || text->find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("query parameter " + std::string(name) + " must be a non-negative integer, got '" +
                                   *text + "'");
  }
  return std::optional<std::uint64_t>(std::stoull(*text));
}

Json StatusJson(std::string_view tx_id, const TxStatus& status) {
  Json j{{"tx_id", tx_id}, {"state", TxStateName(status.state)}};
  if (status.state == TxStatus::State::kCommitted || status.state == TxStatus::State::kRejected) {
    j["code"] = static_cast<int>(status.code);
    j["code_name"] = ValidationCodeName(status.code);
    j["valid"] = status.code == ValidationCode::kValid;
    j["message"] = status.message;
    j["channel"] = status.channel;
  }
  if (status.state == TxStatus::State::kCommitted) {
    j["block"] = status.block;
    j["index"] = status.index;
  }
  return j;
}

http::Response PostEnvelope(Relay& relay, const http::Request& request) {
  auto parsed = ParseJson(request.body);
  if (!parsed.ok()) return http::Problem(400, "Bad Request", "the body is not JSON: " + parsed.status().message());
  auto envelope = SignedBytes::FromJson(*parsed);
  if (!envelope.ok()) {
    return http::Problem(400, "Bad Request",
                         "the body is not an envelope {payload, signature}: " + envelope.status().message());
  }
  auto accepted = relay.Submit(AsBytes(request.body));
  if (!accepted.ok()) return http::Problem(503, "Service Unavailable", accepted.status().message());
  Json body{{"tx_id", accepted->tx_id},
            {"envelope_hash", accepted->envelope_hash},
            {"sequence", accepted->sequence},
            {"resubmitted", accepted->resubmitted},
            {"status", "/v1/transactions/" + accepted->tx_id}};
  return http::JsonResponse(202, body);
}

http::Response GetTransaction(const Relay& relay, const http::Request& request) {
  const std::string& tx_id = request.path_params.at("id");
  TxStatus status = relay.StatusOf(tx_id);
  if (status.state == TxStatus::State::kUnknown) {
    return http::Problem(404, "Not Found", "the relay has never accepted a transaction " + tx_id);
  }
  Json answer = StatusJson(tx_id, status);
  auto delivery = relay.Delivery(tx_id);
  if (!delivery.ok()) return http::Problem(500, "Internal Server Error", delivery.status().message());
  if (*delivery) answer["delivery"] = std::move(**delivery);
  return http::JsonResponse(200, answer);
}

http::Response GetEnvelope(const Relay& relay, const http::Request& request) {
  const std::string& hash = request.path_params.at("hash");
  TxStatus status = relay.StatusOfEnvelope(hash);
  if (status.state == TxStatus::State::kUnknown) {
    return http::Problem(404, "Not Found", "the relay has never accepted an envelope " + hash);
  }
  Json body = StatusJson("", status);
  body.erase("tx_id");
  body["envelope_hash"] = hash;
  return http::JsonResponse(200, body);
}

http::Response GetStateValue(const Relay& relay, const http::Request& request) {
  const std::string& key = request.path_params.at("key");
  auto value = relay.GetState(request.path_params.at("ch"), request.path_params.at("ns"), key);
  if (!value.ok()) return http::Problem(400, "Bad Request", value.status().message());
  if (!*value) return http::Problem(404, "Not Found", "no key " + key);
  return http::JsonResponse(200, Json{{"key", key},
                                      {"value", Base64Encode((*value)->value)},
                                      {"version", {{"block", (*value)->version.block}, {"tx", (*value)->version.tx}}}});
}

// {"channel", "height" (blocks committed), "last_hash" (hex SHA-256 of the last block's header; zeros
// before the first block)}; 404 for a channel the alliance does not know.
http::Response GetChannel(const Relay& relay, const http::Request& request) {
  const std::string& channel = request.path_params.at("ch");
  auto savepoint = relay.Height(channel);
  if (!savepoint.ok()) {
    int status = savepoint.status().code() == StatusCode::kNotFound ? 404 : 500;
    return http::Problem(status, status == 404 ? "Not Found" : "Internal Server Error", savepoint.status().message());
  }
  return http::JsonResponse(
      200, Json{{"channel", channel}, {"height", savepoint->height}, {"last_hash", HexEncode(savepoint->last_hash)}});
}

http::Response GetBlocks(const Relay& relay, const http::Request& request) {
  auto from = NumberParam(request, "from");
  auto max = NumberParam(request, "max");
  auto wait = NumberParam(request, "wait_ms");
  for (const auto* r : {&from, &max, &wait}) {
    if (!r->ok()) return http::Problem(400, "Bad Request", r->status().message());
  }
  std::uint64_t wait_ms = std::min<std::uint64_t>(wait->value_or(0), 30000);
  auto blocks = relay.Blocks(request.path_params.at("ch"), from->value_or(0), max->value_or(100),
                             std::chrono::milliseconds(wait_ms));
  if (!blocks.ok()) {
    int status = blocks.status().code() == StatusCode::kNotFound ? 404 : 500;
    return http::Problem(status, status == 404 ? "Not Found" : "Internal Server Error", blocks.status().message());
  }
  Json list = Json::array();
  for (const ledger::Block& b : *blocks) list.push_back(b.ToJson());
  return http::JsonResponse(200, Json{{"blocks", list}});
}

}  // namespace

Result<RelayConfig> LoadRelayConfig(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  ENTENTE_RETURN_IF_ERROR(root.CheckKeys(
      {"data", "genesis", "listen", "tls", "crls", "proposal_window_s", "workers", "body_limit", "blocks", "adapters",
       "delivery_backoff_ms"}));
  RelayConfig c;
  ENTENTE_ASSIGN_OR_RETURN(std::string data, root.GetString("data"));
  c.relay.data_dir = ResolvePath(path, data);
  ENTENTE_ASSIGN_OR_RETURN(std::string genesis, root.GetString("genesis"));
  c.genesis_file = ResolvePath(path, genesis);
  ENTENTE_ASSIGN_OR_RETURN(c.relay.genesis, alliance::LoadGenesisFile(c.genesis_file));
  if (root.Has("listen")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode listen, root.Child("listen"));
    ENTENTE_RETURN_IF_ERROR(listen.CheckKeys({"address", "port"}));
    ENTENTE_ASSIGN_OR_RETURN(c.address, listen.GetString("address", c.address));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t port, listen.GetInt("port", c.port));
    if (port < 0 || port > 65535) return listen.Error("port must be 0-65535");
    c.port = static_cast<std::uint16_t>(port);
  }
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode tls, root.Child("tls"));
  ENTENTE_RETURN_IF_ERROR(tls.CheckKeys({"cert", "key"}));
  ENTENTE_ASSIGN_OR_RETURN(std::string cert, tls.GetString("cert"));
  ENTENTE_ASSIGN_OR_RETURN(std::string key, tls.GetString("key"));
  c.tls_cert_file = ResolvePath(path, cert);
  c.tls_key_file = ResolvePath(path, key);
  auto signing_key = crypto::PrivateKey::LoadFile(c.tls_key_file);
  if (!signing_key.ok()) return tls.Error("cannot load key " + c.tls_key_file + ": " + signing_key.status().message());
  c.relay.signing_key = *signing_key;
  if (root.Has("crls")) {
    ENTENTE_ASSIGN_OR_RETURN(auto files, root.GetStringList("crls"));
    for (const std::string& f : files) {
      ENTENTE_ASSIGN_OR_RETURN(std::string pem, ReadFile(ResolvePath(path, f)));
      c.relay.crl_pems.push_back(std::move(pem));
    }
  }
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t window, root.GetInt("proposal_window_s", 300));
  if (window <= 0) return root.Error("proposal_window_s must be positive");
  c.relay.proposal_window = std::chrono::seconds(window);
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t workers, root.GetInt("workers", 0));
  c.relay.verify_workers = static_cast<int>(std::clamp<std::int64_t>(workers, 0, 256));
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t body_limit, root.GetInt("body_limit", 1 << 20));
  if (body_limit < 1024) return root.Error("body_limit must be at least 1024");
  c.body_limit = static_cast<std::size_t>(body_limit);
  if (root.Has("blocks")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode blocks, root.Child("blocks"));
    ENTENTE_RETURN_IF_ERROR(blocks.CheckKeys({"max_tx", "max_bytes", "max_wait_ms"}));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t max_tx, blocks.GetInt("max_tx", 500));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t max_bytes, blocks.GetInt("max_bytes", 4 << 20));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t max_wait, blocks.GetInt("max_wait_ms", 50));
    if (max_tx < 1 || max_bytes < 1 || max_wait < 1) return blocks.Error("block limits must be positive");
    c.relay.cutting = {static_cast<std::size_t>(max_tx), static_cast<std::size_t>(max_bytes),
                       std::chrono::milliseconds(max_wait)};
  }
  if (root.Has("adapters")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode list, root.Child("adapters"));
    ENTENTE_ASSIGN_OR_RETURN(c.relay.adapters, adapters::LoadAdapters(list, path));
  }
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t backoff, root.GetInt("delivery_backoff_ms", 200));
  if (backoff < 1) return root.Error("delivery_backoff_ms must be positive");
  c.relay.delivery_backoff = std::chrono::milliseconds(backoff);
  return c;
}

Status ServeRelay(const RelayConfig& config, const std::function<void(std::uint16_t)>& on_ready) {
  auto logger = Logger("relay");
  BlockStopSignals();

  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<Relay> relay, Relay::Open(config.relay));
  std::string ca_file = config.relay.data_dir + "/alliance-cas.pem";
  std::string cas;
  for (const std::string& pem : relay->CaPems()) cas += pem;
  ENTENTE_RETURN_IF_ERROR(WriteFileAtomic(ca_file, cas, 0644));

  http::Router router;
  Relay* r = relay.get();
  router.Add("POST", "/v1/envelopes", {Role::kNode, Role::kClient, Role::kAdmin},
             [r](const http::Request& q) { return PostEnvelope(*r, q); });
  router.Add("GET", "/v1/transactions/{id}", {}, [r](const http::Request& q) { return GetTransaction(*r, q); });
  router.Add("GET", "/v1/envelopes/{hash}", {}, [r](const http::Request& q) { return GetEnvelope(*r, q); });
  router.Add("GET", "/v1/channels/{ch}/state/{ns}/{key}", {Role::kNode, Role::kRelay, Role::kAdmin, Role::kClient},
             [r](const http::Request& q) { return GetStateValue(*r, q); });
  router.Add("GET", "/v1/channels/{ch}", {Role::kNode, Role::kRelay, Role::kAdmin, Role::kClient},
             [r](const http::Request& q) { return GetChannel(*r, q); });
  router.Add("GET", "/v1/channels/{ch}/blocks", {Role::kNode, Role::kRelay, Role::kAdmin},
             [r](const http::Request& q) { return GetBlocks(*r, q); });
  router.Add("GET", "/v1/alliance", {}, [r](const http::Request&) {
    return http::JsonResponse(200, Json(r->Alliance()));
  });
  router.Add("GET", "/v1/openapi.json", {}, [](const http::Request&) {
    return http::TextResponse(200, std::string(api::OpenApiDocument()), "application/json");
  });
  router.AddPublic("GET", "/healthz", [](const http::Request&) { return http::JsonResponse(200, Json{{"status", "ok"}}); });
  router.Add("GET", "/metrics", {}, [r](const http::Request&) {
    return http::TextResponse(200, r->Metrics(), "text/plain; version=0.0.4");
  });

  http::ServerOptions options;
  options.address = config.address;
  options.port = config.port;
  options.tls = {config.tls_cert_file, config.tls_key_file, {ca_file}};
  options.body_limit = config.body_limit;
  options.io_threads = config.io_threads;
  options.handler_threads = 16;
  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> server, http::Server::Start(options, router.AsHandler()));
  logger->info("relay listening on {}:{}", config.address, server->port());
  if (on_ready) on_ready(server->port());

  int signal = WaitForStopSignal([&] { logger->info("SIGHUP: the relay has nothing to reload"); });
  logger->info("relay stopping on signal {}", signal);
  relay->Stop();  // wakes long-polls
  server->Stop();
  return Status::Ok();
}

}  // namespace entente::relay
