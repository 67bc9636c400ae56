// The relay's REST API (DESIGN.md §9) over HTTPS with mutual TLS, and relay.yaml.
#include "adapters/config/adapter_config.h"
#include "runtime/alliance/alliance.h"
#include "runtime/api/api.h"
#include "runtime/common/config.h"
#include "runtime/common/file.h"
#include "runtime/common/json.h"
#include "runtime/common/log.h"
#include "runtime/common/signals.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/http/http.h"
#include "runtime/relay/relay.h"
#include "runtime/validation/validation.h"

namespace entente::relay {
namespace {

using crypto::Role;

// A page of GET /v1/channels/{ch}/blocks holds at most this many blocks, and stops after the block
// that passes kMaxPageBytes of envelopes; clients go on from the next number.
constexpr std::uint64_t kMaxBlocksPerPage = 100;
constexpr std::size_t kMaxPageBytes = 8 << 20;

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

http::Response PostEnvelope(Relay& relay, const http::Request& request) {
  auto parsed = ParseJson(request.body);
  if (!parsed.ok()) return http::Problem(400, "Bad Request", "the body is not JSON: " + parsed.status().message());
  Status known = CheckMembers(*parsed, {"payload", "signature"});
  auto envelope = known.ok() ? SignedBytes::FromJson(*parsed) : Result<SignedBytes>(known);
  if (!envelope.ok()) {
    return http::Problem(400, "Bad Request",
                         "the body is not an envelope {payload, signature}: " + envelope.status().message());
  }
  if (!request.peer) return http::Problem(401, "Unauthorized", "a client certificate is required");
  if (request.body.size() > validation::kMaxEnvelopeBytes) return api::EnvelopeTooLarge(request.body.size());
  Submitter submitter{*request.peer, request.peer_chain};
  auto accepted = relay.Submit(AsBytes(request.body), &submitter);
  if (!accepted.ok()) {
    const Status& refused = accepted.status();
    switch (refused.code()) {
      case StatusCode::kInvalidArgument:
        return http::Problem(400, "Bad Request", "the envelope was not accepted: " + refused.message());
      case StatusCode::kPermissionDenied:
        return http::Problem(403, "Forbidden", refused.message());
      default:
        return api::Unavailable(refused.message());
    }
  }
  Json body{{"tx_id", accepted->tx_id},
            {"envelope_hash", accepted->envelope_hash},
            {"sequence", accepted->sequence},
            {"resubmitted", accepted->resubmitted},
            {"status", "/v1/transactions/" + accepted->tx_id}};
  return http::JsonResponse(202, body);
}

// True if `request`'s certificate may see `status`: a transaction of its own chain (or of one that is
// no chain of the alliance, whose verdict protects nothing). Others are answered as unknown.
bool MaySee(const Relay& relay, const http::Request& request, const TxStatus& status) {
  if (status.channel.empty() || !relay.KnowsChannel(status.channel)) return true;
  return relay.MayRead(request.peer->subject(), status.channel);
}

http::Response GetTransaction(const Relay& relay, const http::Request& request) {
  const std::string& tx_id = request.path_params.at("id");
  TxStatus status = relay.StatusOf(tx_id);
  if (status.state == TxStatus::State::kUnknown || !MaySee(relay, request, status)) {
    return api::UnknownTransaction(tx_id, "the relay");
  }
  Json answer = TxStatusJson(tx_id, status);
  auto delivery = relay.Delivery(tx_id);
  if (!delivery.ok()) return http::Problem(500, "Internal Server Error", delivery.status().message());
  if (*delivery) answer["delivery"] = std::move(**delivery);
  return http::JsonResponse(200, answer);
}

http::Response GetEnvelope(const Relay& relay, const http::Request& request) {
  const std::string& hash = request.path_params.at("hash");
  TxStatus status = relay.StatusOfEnvelope(hash);
  if (status.state == TxStatus::State::kUnknown || !MaySee(relay, request, status)) {
    return http::Problem(404, "Not Found", "the relay has never accepted an envelope " + hash);
  }
  Json body = TxStatusJson("", status);
  body.erase("tx_id");
  body["envelope_hash"] = hash;
  return http::JsonResponse(200, body);
}

http::Response GetStateValue(const Relay& relay, const http::Request& request) {
  const std::string& key = request.path_params.at("key");
  const std::string& channel = request.path_params.at("ch");
  const std::string& ns = request.path_params.at("ns");
  if (!relay.MayRead(request.peer->subject(), channel, ns)) {
    return http::Problem(403, "Forbidden", request.peer->SubjectText() + " may not read " + channel + "/" + ns +
                                               " (only its own chain's, the alliance's, and along a route)");
  }
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

// A page of blocks of `channel` from `from` as committed now (see kMaxBlocksPerPage).
http::Response BlocksPage(const Relay& relay, const std::string& channel, std::uint64_t from, std::uint64_t max) {
  auto blocks = relay.Blocks(channel, from, max);
  if (!blocks.ok()) {
    int status = blocks.status().code() == StatusCode::kNotFound ? 404 : 500;
    return http::Problem(status, status == 404 ? "Not Found" : "Internal Server Error", blocks.status().message());
  }
  // A page ends at `max` blocks or, after its first block, at kMaxPageBytes of envelopes.
  Json list = Json::array();
  std::size_t bytes = 0;
  for (const ledger::Block& b : *blocks) {
    for (const Bytes& envelope : b.envelopes) bytes += envelope.size();
    if (!list.empty() && bytes > kMaxPageBytes) break;
    list.push_back(b.ToJson());
  }
  return http::JsonResponse(200, Json{{"blocks", list}});
}

// GET /v1/channels/{ch}/blocks?from=N&max=M&wait_ms=W: a long-poll that holds no thread while it waits.
void GetBlocks(const Relay& relay, const http::Request& request, std::shared_ptr<http::Responder> responder) {
  auto from = NumberParam(request, "from");
  auto max = NumberParam(request, "max");
  auto wait = NumberParam(request, "wait_ms");
  for (const auto* r : {&from, &max, &wait}) {
    if (!r->ok()) return responder->Reply(http::Problem(400, "Bad Request", r->status().message()));
  }
  if (max->value_or(kMaxBlocksPerPage) > kMaxBlocksPerPage) {
    return responder->Reply(http::Problem(
        400, "Bad Request", "query parameter max must be at most " + std::to_string(kMaxBlocksPerPage)));
  }
  std::string channel = request.path_params.at("ch");
  // Nodes (and the relay) replicate every channel; an admin reads its own chain's blocks.
  const crypto::Subject& reader = request.peer->subject();
  if (reader.role == Role::kAdmin && !relay.MayRead(reader, channel)) {
    return responder->Reply(http::Problem(403, "Forbidden", request.peer->SubjectText() +
                                                                " may not read the blocks of " + channel));
  }
  std::uint64_t first = from->value_or(0);
  std::uint64_t most = max->value_or(kMaxBlocksPerPage);
  auto page = [&relay, channel, first, most] { return BlocksPage(relay, channel, first, most); };
  std::uint64_t wait_ms = std::min<std::uint64_t>(wait->value_or(0), 30000);
  if (wait_ms == 0) return responder->Reply(page());
  Status waiting = relay.WhenBlocks(channel, first, std::chrono::milliseconds(wait_ms), reader.chain,
                                    [responder, page] { responder->ReplyWith(page); });
  if (waiting.ok()) return;
  if (waiting.code() == StatusCode::kNotFound) return responder->Reply(http::Problem(404, "Not Found", waiting.message()));
  responder->Reply(api::Unavailable(waiting.message()));
}

// GET /v1/deliveries?state=&before=&limit=: the deliveries to chains reached through adapters of the
// transactions of channels the caller may read, newest first, with their receipts. Only nodes, relays
// and admins (a client sees its own transactions' deliveries in their status).
http::Response GetDeliveries(const Relay& relay, const http::Request& request) {
  const std::string state = request.Query("state").value_or("");
  if (!state.empty() && state != "pending" && state != "delivered" && state != "failed") {
    return http::Problem(400, "Bad Request", "state must be pending, delivered or failed, got '" + state + "'");
  }
  auto before = NumberParam(request, "before");
  auto limit = NumberParam(request, "limit");
  for (const auto* r : {&before, &limit}) {
    if (!r->ok()) return http::Problem(400, "Bad Request", r->status().message());
  }
  const std::uint64_t most = limit->value_or(20);
  if (most == 0 || most > 100) return http::Problem(400, "Bad Request", "query parameter limit must be from 1 to 100");
  auto page = relay.Deliveries(request.peer->subject(), state, before->value_or(0), most);
  if (!page.ok()) return http::Problem(500, "Internal Server Error", page.status().message());
  return http::JsonResponse(200, *page);
}

}  // namespace

Result<RelayConfig> LoadRelayConfig(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  ENTENTE_RETURN_IF_ERROR(root.CheckKeys(
      {"data", "genesis", "listen", "tls", "crls", "proposal_window_s", "workers", "body_limit", "blocks", "adapters",
       "delivery_backoff_ms", "submitter_quota", "max_waits", "max_waits_per_member", "max_connections",
       "max_requests", "log_segment_bytes", "id", "ordering", "record_responses"}));
  RelayConfig c;
  c.path = path;
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
  if (root.Has("record_responses")) {
    ENTENTE_ASSIGN_OR_RETURN(std::string record, root.GetString("record_responses"));
    c.record_responses = ResolvePath(path, record);
  }
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t body_limit, root.GetInt("body_limit", 1 << 20));
  if (body_limit < 1024) return root.Error("body_limit must be at least 1024");
  c.body_limit = static_cast<std::size_t>(body_limit);
  if (root.Has("blocks")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode blocks, root.Child("blocks"));
    ENTENTE_RETURN_IF_ERROR(blocks.CheckKeys({"max_tx", "max_bytes", "max_wait_ms", "cut_when_idle"}));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t max_tx, blocks.GetInt("max_tx", 500));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t max_bytes, blocks.GetInt("max_bytes", 4 << 20));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t max_wait, blocks.GetInt("max_wait_ms", 50));
    if (max_tx < 1 || max_bytes < 1 || max_wait < 1) return blocks.Error("block limits must be positive");
    ENTENTE_ASSIGN_OR_RETURN(bool cut_when_idle, blocks.GetBool("cut_when_idle", true));
    c.relay.cutting = {static_cast<std::size_t>(max_tx), static_cast<std::size_t>(max_bytes),
                       std::chrono::milliseconds(max_wait), cut_when_idle};
  }
  if (root.Has("adapters")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode list, root.Child("adapters"));
    ENTENTE_ASSIGN_OR_RETURN(c.relay.adapters, adapters::LoadAdapters(list, path));
  }
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t backoff, root.GetInt("delivery_backoff_ms", 200));
  if (backoff < 1) return root.Error("delivery_backoff_ms must be positive");
  c.relay.delivery_backoff = std::chrono::milliseconds(backoff);
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t quota, root.GetInt("submitter_quota", 1000));
  if (quota < 1) return root.Error("submitter_quota must be positive");
  c.relay.submitter_quota = static_cast<std::size_t>(quota);
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t segment, root.GetInt("log_segment_bytes", 64 << 20));
  if (segment < 1) return root.Error("log_segment_bytes must be positive");
  c.relay.log_segment_bytes = static_cast<std::uint64_t>(segment);
  if (root.Has("ordering")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode ordering, root.Child("ordering"));
    ENTENTE_RETURN_IF_ERROR(ordering.CheckKeys({"etcd"}));
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode etcd, ordering.Child("etcd"));
    ENTENTE_RETURN_IF_ERROR(
        etcd.CheckKeys({"endpoints", "ca", "cert", "key", "prefix", "timeout_ms", "compaction_interval_ms", "retention"}));
    EtcdOrderingOptions o;
    ENTENTE_ASSIGN_OR_RETURN(o.relay_id, root.GetString("id"));
    if (o.relay_id.empty() || o.relay_id.find_first_of("/ ") != std::string::npos) {
      return root.Error("id must be a name without '/' or spaces");
    }
    ENTENTE_ASSIGN_OR_RETURN(o.endpoints, etcd.GetStringList("endpoints"));
    if (o.endpoints.empty()) return etcd.Error("endpoints must name at least one etcd member");
    ENTENTE_ASSIGN_OR_RETURN(std::string ca, etcd.GetString("ca"));
    ENTENTE_ASSIGN_OR_RETURN(std::string etcd_cert, etcd.GetString("cert"));
    ENTENTE_ASSIGN_OR_RETURN(std::string etcd_key, etcd.GetString("key"));
    o.ca_file = ResolvePath(path, ca);
    o.cert_file = ResolvePath(path, etcd_cert);
    o.key_file = ResolvePath(path, etcd_key);
    ENTENTE_ASSIGN_OR_RETURN(o.prefix, etcd.GetString("prefix", o.prefix));
    if (o.prefix.empty() || o.prefix[0] != '/') return etcd.Error("prefix must start with '/'");
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t timeout, etcd.GetInt("timeout_ms", 1500));
    if (timeout < 1) return etcd.Error("timeout_ms must be positive");
    o.timeout = std::chrono::milliseconds(timeout);
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t interval, etcd.GetInt("compaction_interval_ms", 10000));
    ENTENTE_ASSIGN_OR_RETURN(o.retention, etcd.GetInt("retention", 100000));
    if (interval < 100 || o.retention < 0) {
      return etcd.Error("compaction_interval_ms must be at least 100 and retention not negative");
    }
    o.compaction_interval = std::chrono::milliseconds(interval);
    o.peer_cert_file = c.tls_cert_file;
    o.peer_key_file = c.tls_key_file;
    c.relay.etcd = std::move(o);
  } else if (root.Has("id")) {
    return root.Error("id names a relay of replicated ordering: it needs ordering: {etcd: ...}");
  }
  ServiceBounds bounds;
  ENTENTE_RETURN_IF_ERROR(root.GetServiceBounds(bounds));
  c.relay.max_waits = bounds.max_waits;
  c.relay.max_waits_per_member = bounds.max_waits_per_member;
  c.max_connections = bounds.max_connections;
  c.max_requests = bounds.max_requests;
  return c;
}

Status ServeRelay(const RelayConfig& config, const std::function<void(std::uint16_t)>& on_ready) {
  auto logger = Logger("relay");
  BlockStopSignals();

  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<Relay> relay, Relay::Open(config.relay));
  const std::string ca_file = relay->CaFile();

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
  router.AddDeferred("GET", "/v1/channels/{ch}/blocks", {Role::kNode, Role::kRelay, Role::kAdmin},
                     [r](const http::Request& q, std::shared_ptr<http::Responder> answer) {
                       GetBlocks(*r, q, std::move(answer));
                     });
  router.Add("GET", "/v1/alliance", {}, [r](const http::Request&) {
    return http::JsonResponse(200, Json(r->Alliance()));
  });
  router.Add("GET", "/v1/deliveries", {Role::kNode, Role::kRelay, Role::kAdmin},
             [r](const http::Request& q) { return GetDeliveries(*r, q); });
  router.Add("GET", "/v1/alliance/disagreements", {}, [r](const http::Request&) {
    return http::JsonResponse(200, Json{{"disagreements", r->Disagreements()}});
  });
  router.Add("GET", "/v1/openapi.json", {}, [](const http::Request&) {
    return http::TextResponse(200, api::OpenApiDocument(api::Service::kRelay), "application/json");
  });
  // Public: a load balancer or an operator's probe may carry no certificate. 503 once the pipeline
  // has stopped, with the reason.
  router.AddPublic("GET", "/healthz", [r](const http::Request&) {
    Status health = r->Health();
    if (health.ok()) return http::JsonResponse(200, Json{{"status", "ok"}});
    return http::JsonResponse(503, Json{{"status", "failed"}, {"reason", health.message()}});
  });
  router.Add("GET", "/metrics", {}, [r](const http::Request&) {
    return http::TextResponse(200, r->Metrics(), "text/plain; version=0.0.4");
  });

  if (!config.record_responses.empty()) {
    ENTENTE_ASSIGN_OR_RETURN(http::Router::Recorder recorder, api::ResponseLog(config.record_responses, api::Service::kRelay));
    router.Record(std::move(recorder));
  }

  http::ServerOptions options;
  options.address = config.address;
  options.port = config.port;
  options.tls = {config.tls_cert_file, config.tls_key_file, {ca_file}};
  // The handshake asks for a certificate and verifies one that is sent; the router refuses every
  // route but /healthz without one.
  options.require_client_certificate = false;
  options.verify_peer = [r](const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& intermediates) {
    return r->VerifyPeer(leaf, intermediates);
  };
  options.body_limit = config.body_limit;
  options.io_threads = config.io_threads;
  options.handler_threads = 16;
  options.max_connections = config.max_connections;
  options.max_requests = config.max_requests;
  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> server,
                           http::Server::Start(options, router.AsDeferredHandler()));
  logger->info("relay listening on {}:{}", config.address, server->port());
  if (on_ready) on_ready(server->port());

  // SIGHUP reloads the CRL files named in relay.yaml.
  int signal = WaitForStopSignal([&] {
    auto reloaded = LoadRelayConfig(config.path);
    Status s = reloaded.ok() ? relay->ReloadCrls(reloaded->relay.crl_pems) : reloaded.status();
    if (s.ok()) {
      logger->info("SIGHUP: reloaded {} CRLs", reloaded->relay.crl_pems.size());
    } else {
      logger->error("SIGHUP: cannot reload the CRLs, keeping the current ones: {}", s.ToString());
    }
  });
  logger->info("relay stopping on signal {}", signal);
  relay->Stop();  // wakes long-polls
  server->Stop();
  return Status::Ok();
}

}  // namespace entente::relay
