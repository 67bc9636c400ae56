// The node's REST API (DESIGN.md §9) over HTTPS with mutual TLS, and node.yaml.
#include <filesystem>

#include "adapters/config/adapter_config.h"
#include "runtime/alliance/alliance.h"
#include "runtime/api/api.h"
#include "runtime/common/address.h"
#include "runtime/common/config.h"
#include "runtime/common/file.h"
#include "runtime/common/log.h"
#include "runtime/common/signals.h"
#include "runtime/node/internal/events.h"
#include "runtime/node/internal/explorer.h"
#include "runtime/node/node.h"
#include "runtime/validation/validation.h"

namespace entente::node {
namespace {

using crypto::Role;

http::Response BadRequest(std::string detail) { return http::Problem(400, "Bad Request", std::move(detail)); }

// The problem for a request the node could not complete: 503 with Retry-After when what it needed (the
// relay, an endorser) could not be reached, 500 otherwise.
http::Response StatusProblem(const Status& status) {
  if (status.code() != StatusCode::kUnavailable) return http::Problem(500, "Internal Server Error", status.message());
  return api::Unavailable(status.message());
}

// The body of a request as a JSON object, or the 400 that says why not.
std::variant<Json, http::Response> JsonBody(const http::Request& request) {
  auto parsed = ParseJson(request.body);
  if (!parsed.ok()) return BadRequest("the body is not JSON: " + parsed.status().message());
  if (!parsed->is_object()) return BadRequest("the body must be a JSON object");
  return std::move(parsed).value();
}

Result<std::map<std::string, Bytes>> TransientFrom(const Json& body) {
  std::map<std::string, Bytes> transient;
  if (!body.contains("transient")) return transient;
  const Json& t = body["transient"];
  if (!t.is_object()) return Status::InvalidArgument("'transient' must be an object of base64 strings");
  for (const auto& [k, v] : t.items()) {
    if (!v.is_string()) return Status::InvalidArgument("transient '" + k + "' must be a base64 string");
    auto bytes = Base64Decode(v.get<std::string>());
    if (!bytes.ok()) return bytes.status().WithContext("transient '" + k + "'");
    transient.emplace(k, std::move(*bytes));
  }
  return transient;
}

// POST /v1/transactions bodies (`submission`) and /v1/queries bodies, which take no wait, retry or timeout.
Result<TxRequest> RequestFrom(const Json& body, bool submission) {
  ENTENTE_RETURN_IF_ERROR(submission ? CheckMembers(body, {"channel", "contract", "function", "args", "endorsers",
                                                            "transient", "wait", "retry", "timeout_ms"})
                                     : CheckMembers(body, {"channel", "contract", "function", "args", "endorsers",
                                                            "transient"}));
  TxRequest r;
  auto string_field = [&](const char* name, std::string& out, bool required) -> Status {
    if (!body.contains(name)) {
      return required ? Status::InvalidArgument(std::string("missing field '") + name + "'") : Status::Ok();
    }
    if (!body[name].is_string()) return Status::InvalidArgument(std::string("'") + name + "' must be a string");
    out = body[name].get<std::string>();
    return Status::Ok();
  };
  auto string_list = [&](const char* name, std::vector<std::string>& out) -> Status {
    if (!body.contains(name)) return Status::Ok();
    if (!body[name].is_array()) return Status::InvalidArgument(std::string("'") + name + "' must be an array of strings");
    for (const Json& a : body[name]) {
      if (!a.is_string()) return Status::InvalidArgument(std::string("'") + name + "' must be an array of strings");
      out.push_back(a.get<std::string>());
    }
    return Status::Ok();
  };
  ENTENTE_RETURN_IF_ERROR(string_field("channel", r.channel, false));
  ENTENTE_RETURN_IF_ERROR(string_field("contract", r.contract, true));
  ENTENTE_RETURN_IF_ERROR(string_field("function", r.function, true));
  ENTENTE_RETURN_IF_ERROR(string_list("args", r.args));
  ENTENTE_RETURN_IF_ERROR(string_list("endorsers", r.endorsers));
  ENTENTE_ASSIGN_OR_RETURN(r.transient, TransientFrom(body));
  if (body.contains("wait")) {
    if (!body["wait"].is_boolean()) return Status::InvalidArgument("'wait' must be true or false");
    r.wait = body["wait"].get<bool>();
  }
  if (body.contains("retry")) {
    if (!body["retry"].is_number_unsigned() || body["retry"].get<std::uint64_t>() > 10) {
      return Status::InvalidArgument("'retry' must be an integer from 0 to 10");
    }
    r.retry = static_cast<int>(body["retry"].get<std::uint64_t>());
  }
  if (body.contains("timeout_ms")) {
    if (!body["timeout_ms"].is_number_unsigned() || body["timeout_ms"].get<std::uint64_t>() > 600000) {
      return Status::InvalidArgument("'timeout_ms' must be an integer from 0 to 600000");
    }
    r.timeout = std::chrono::milliseconds(body["timeout_ms"].get<std::uint64_t>());
  }
  if (r.contract.empty() || r.function.empty()) return Status::InvalidArgument("'contract' and 'function' must not be empty");
  return r;
}

Json ResponseJson(const shim::Response& r) {
  return Json{{"status", r.status}, {"message", r.message}, {"payload", Base64Encode(r.payload)}};
}

// The problem that answers a request that did not become a transaction, with its typed facts as
// members (docs/api.md): reason, code, the contract's response, the relay's answer, the limit.
http::Response RejectionResponse(const Rejection& r) {
  Json members{{"reason", r.reason}};
  if (r.code) members["code"] = *r.code;
  if (r.response) members["response"] = ResponseJson(*r.response);
  if (r.upstream_status) members["upstream"] = Json{{"service", "relay"}, {"status", *r.upstream_status}, {"answer", r.upstream}};
  if (r.limit) members["limit"] = *r.limit;
  return http::Problem(r.http_status, r.reason, r.message, members);
}

// A submission's answer: its status (TxStatusJson), the contract's response and the attempts it took.
Json OutcomeJson(const TxOutcome& o) {
  Json j = TxStatusJson(o.tx_id, o.status);
  j["attempts"] = o.attempts;
  if (o.response.status != 0) j["response"] = ResponseJson(o.response);
  return j;
}

// A proposal the client signed itself: endorse it and hand back the envelope payload to sign.
http::Response EndorseSignedProposal(Node& node, const http::Request& request, const Json& body) {
  if (Status known = CheckMembers(body, {"signed_proposal", "transient", "endorsers"}); !known.ok()) {
    return BadRequest(known.message());
  }
  auto proposal = SignedBytes::FromJson(body["signed_proposal"]);
  if (!proposal.ok()) return BadRequest("signed_proposal: " + proposal.status().message());
  auto transient = TransientFrom(body);
  if (!transient.ok()) return BadRequest(transient.status().message());
  std::vector<std::string> endorsers;
  if (body.contains("endorsers")) {
    if (!body["endorsers"].is_array()) return BadRequest("'endorsers' must be an array of node ids");
    for (const Json& e : body["endorsers"]) {
      if (!e.is_string()) return BadRequest("'endorsers' must be an array of node ids");
      endorsers.push_back(e.get<std::string>());
    }
  }
  auto result = node.EndorseSigned(*proposal, *transient, endorsers, request.peer->subject());
  if (!result.ok()) return StatusProblem(result.status());
  if (auto* rejection = std::get_if<Rejection>(&*result)) return RejectionResponse(*rejection);
  const Endorsed& e = std::get<Endorsed>(*result);
  return http::JsonResponse(200, Json{{"state", "endorsed"},
                                      {"tx_id", e.tx_id},
                                      {"channel", e.channel},
                                      {"envelope_payload", Base64Encode(e.envelope_payload)},
                                      {"response", ResponseJson(e.response)},
                                      {"submit", "POST /v1/envelopes with {payload, signature} signed by the creator"}});
}

// POST /v1/simulations: {signed_proposal, transient?} simulated on this node only; answers the result
// bytes for endorsers the client gathers itself (the admins of a config transaction).
http::Response PostSimulation(Node& node, const http::Request& request) {
  auto body = JsonBody(request);
  if (auto* error = std::get_if<http::Response>(&body)) return *error;
  const Json& j = std::get<Json>(body);
  if (Status known = CheckMembers(j, {"signed_proposal", "transient"}); !known.ok()) return BadRequest(known.message());
  if (!j.contains("signed_proposal")) return BadRequest("expected {signed_proposal, transient}");
  auto proposal = SignedBytes::FromJson(j["signed_proposal"]);
  if (!proposal.ok()) return BadRequest("signed_proposal: " + proposal.status().message());
  auto transient = TransientFrom(j);
  if (!transient.ok()) return BadRequest(transient.status().message());
  auto result = node.Simulate(*proposal, *transient, request.peer->subject());
  if (!result.ok()) return StatusProblem(result.status());
  if (auto* rejection = std::get_if<Rejection>(&*result)) return RejectionResponse(*rejection);
  const Simulated& s = std::get<Simulated>(*result);
  return http::JsonResponse(200, Json{{"tx_id", s.tx_id},
                                      {"channel", s.channel},
                                      {"result", Base64Encode(s.result)},
                                      {"response", ResponseJson(s.response)}});
}

// The answer to a submission: 200 with the outcome once committed here, 202 when submitted and not
// (yet) committed, or the rejection's problem.
http::Response SubmissionResponse(const Result<std::variant<TxOutcome, Rejection>>& result) {
  if (!result.ok()) return StatusProblem(result.status());
  if (auto* rejection = std::get_if<Rejection>(&*result)) return RejectionResponse(*rejection);
  const TxOutcome& outcome = std::get<TxOutcome>(*result);
  return http::JsonResponse(outcome.status.state == TxStatus::State::kPending ? 202 : 200, OutcomeJson(outcome));
}

// A submission's continuation and answer through `answer`, so that its commit wait holds no thread.
Node::Resume ResumeOn(std::shared_ptr<http::Responder> answer) {
  return [answer](std::function<void()> work) { answer->Resume(std::move(work)); };
}
Node::SubmitDone AnswerOn(std::shared_ptr<http::Responder> answer) {
  return [answer](Result<std::variant<TxOutcome, Rejection>> result) { answer->Reply(SubmissionResponse(result)); };
}

// POST /v1/envelopes: an envelope the client sealed, submitted through this node.
void PostEnvelope(Node& node, const http::Request& request, std::shared_ptr<http::Responder> answer) {
  if (request.body.size() > validation::kMaxEnvelopeBytes) return answer->Reply(api::EnvelopeTooLarge(request.body.size()));
  auto body = JsonBody(request);
  if (auto* error = std::get_if<http::Response>(&body)) return answer->Reply(*error);
  if (Status known = CheckMembers(std::get<Json>(body), {"payload", "signature"}); !known.ok()) {
    return answer->Reply(BadRequest("the body is not an envelope {payload, signature}: " + known.message()));
  }
  if (auto sealed = SignedBytes::FromJson(std::get<Json>(body)); !sealed.ok()) {
    return answer->Reply(BadRequest("the body is not an envelope {payload, signature}: " + sealed.status().message()));
  }
  bool wait = request.Query("wait").value_or("true") != "false";
  auto timeout_text = request.Query("timeout_ms").value_or("30000");
  if (timeout_text.empty() || timeout_text.size() > 6 || timeout_text.find_first_not_of("0123456789") != std::string::npos) {
    return answer->Reply(BadRequest("timeout_ms must be an integer from 0 to 999999"));
  }
  node.SubmitSigned(AsBytes(request.body), wait, std::chrono::milliseconds(std::stoll(timeout_text)),
                    request.peer->subject().chain, ResumeOn(answer), AnswerOn(answer));
}

// The Idempotency-Key header of `request`: "" when absent; InvalidArgument unless it is 1-255
// printable ASCII characters.
Result<std::string> IdempotencyKey(const http::Request& request) {
  auto key = request.Header("idempotency-key");
  if (!key) return std::string();
  if (key->empty() || key->size() > 255) return Status::InvalidArgument("Idempotency-Key must have 1 to 255 characters");
  for (char c : *key) {
    if (c < 0x20 || c > 0x7e) return Status::InvalidArgument("Idempotency-Key must be printable ASCII");
  }
  return *key;
}

// POST /v1/transactions: a transaction this node runs for the caller (or endorses, for a proposal the
// caller signed), answered once committed here.
void PostTransaction(Node& node, const http::Request& request, std::shared_ptr<http::Responder> answer) {
  auto body = JsonBody(request);
  if (auto* error = std::get_if<http::Response>(&body)) return answer->Reply(*error);
  if (std::get<Json>(body).contains("signed_proposal")) {
    return answer->Reply(EndorseSignedProposal(node, request, std::get<Json>(body)));
  }
  auto tx = RequestFrom(std::get<Json>(body), true);
  if (!tx.ok()) return answer->Reply(BadRequest(tx.status().message()));
  auto key = IdempotencyKey(request);
  if (!key.ok()) return answer->Reply(BadRequest(key.status().message()));
  tx->idempotency_key = std::move(*key);
  // The router admits only requests with a certificate.
  node.Submit(*request.peer, *tx, ResumeOn(answer), AnswerOn(answer));
}

http::Response PostQuery(Node& node, const http::Request& request) {
  auto body = JsonBody(request);
  if (auto* error = std::get_if<http::Response>(&body)) return *error;
  auto tx = RequestFrom(std::get<Json>(body), false);
  if (!tx.ok()) return BadRequest(tx.status().message());
  auto result = node.Query(*request.peer, *tx);
  if (!result.ok()) return StatusProblem(result.status());
  if (auto* rejection = std::get_if<Rejection>(&*result)) return RejectionResponse(*rejection);
  return http::JsonResponse(200, Json{{"response", ResponseJson(std::get<shim::Response>(*result))}});
}

http::Response PostProposal(const Node& node, const http::Request& request) {
  auto body = JsonBody(request);
  if (auto* error = std::get_if<http::Response>(&body)) return *error;
  const Json& j = std::get<Json>(body);
  if (Status known = CheckMembers(j, {"signed_proposal", "transient", "suggestion"}); !known.ok()) {
    return BadRequest(known.message());
  }
  if (!j.contains("signed_proposal") || !j.contains("suggestion") || !j["suggestion"].is_string()) {
    return BadRequest("expected {signed_proposal, transient, suggestion}");
  }
  auto proposal = SignedBytes::FromJson(j["signed_proposal"]);
  if (!proposal.ok()) return BadRequest("signed_proposal: " + proposal.status().message());
  auto transient = TransientFrom(j);
  if (!transient.ok()) return BadRequest(transient.status().message());
  auto suggestion = Base64Decode(j["suggestion"].get<std::string>());
  if (!suggestion.ok()) return BadRequest("suggestion: " + suggestion.status().message());
  endorser::EndorseOutcome outcome = node.Endorse(*proposal, *transient, *suggestion);
  if (outcome.ok()) return http::JsonResponse(200, Json{{"endorsement", outcome.endorsement->ToJson()}});
  int status = outcome.refusal == endorser::Refusal::kInternal ? 500
               : outcome.refusal == endorser::Refusal::kEndorsementMismatch ? 409
               : outcome.refusal == endorser::Refusal::kUnknownContract    ? 404
                                                                           : 400;
  http::Response response = http::Problem(status, std::string(endorser::RefusalName(outcome.refusal)), outcome.message);
  auto problem = ParseJson(response.body);
  if (problem.ok()) {
    (*problem)["refusal"] = endorser::RefusalName(outcome.refusal);
    (*problem)["differing_keys"] = outcome.differing_keys;
    response.body = DumpJson(*problem);
  }
  return response;
}

// The 403 for a channel `request`'s certificate may not read (docs/security.md).
http::Response NotReadable(const http::Request& request, const std::string& what) {
  return http::Problem(403, "Forbidden",
                       request.peer->SubjectText() + " may not read " + what + " (only its own chain's, the alliance's, "
                                                     "and state along a route from its chain)");
}

// Requests that run transactions are for the clients of this node's own chain, and for admins (of any
// chain: config transactions of the alliance channel go through any node; the Admins policy decides).
std::optional<http::Response> ForeignCaller(const Node& node, const http::Request& request) {
  const crypto::Subject& caller = request.peer->subject();
  if (caller.chain == node.chain() || caller.role == crypto::Role::kAdmin) return std::nullopt;
  return http::Problem(403, "Forbidden",
                       "this node of " + node.chain() + " serves " + node.chain() + "'s clients, not " +
                           request.peer->SubjectText());
}

// GET /v1/transactions/{id}: the node's TxStatus of it, as the relay's, with the delivery record of
// its writes to chains reached through adapters. Unknown, and another chain's transaction (so that its
// ids do not leak), is 404 with state "unknown".
http::Response GetTransaction(const Node& node, const http::Request& request) {
  const std::string& tx_id = request.path_params.at("id");
  std::optional<Json> delivery;
  auto status = node.StatusOf(tx_id, &delivery);
  // Not committed here and the relay cannot be asked, or its answer cannot be read.
  if (!status.ok()) return api::Unavailable(status.status().message());
  const bool readable = status->channel.empty() || node.MayRead(request.peer->subject(), status->channel);
  if (status->state == TxStatus::State::kUnknown || !readable) return api::UnknownTransaction(tx_id, "this node");
  Json answer = TxStatusJson(tx_id, *status);
  if (delivery) answer["delivery"] = std::move(*delivery);
  return http::JsonResponse(200, answer);
}

Result<std::uint64_t> BlockNumber(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("block number must be a non-negative integer, got '" + text + "'");
  }
  return std::stoull(text);
}

http::Response GetBlock(const Node& node, const http::Request& request) {
  const std::string& channel = request.path_params.at("ch");
  if (!node.MayRead(request.peer->subject(), channel)) return NotReadable(request, "the blocks of " + channel);
  auto number = BlockNumber(request.path_params.at("n"));
  if (!number.ok()) return BadRequest(number.status().message());
  if (*number >= node.Height(channel).height) {
    return http::Problem(404, "Not Found", "channel " + channel + " has no block " + std::to_string(*number) + " here");
  }
  auto block = node.GetBlock(channel, *number);
  if (!block.ok()) return http::Problem(500, "Internal Server Error", block.status().message());
  return http::JsonResponse(200, block->ToJson());
}

http::Response GetChannel(const Node& node, const http::Request& request) {
  const std::string& channel = request.path_params.at("ch");
  if (!node.KnowsChannel(channel)) return http::Problem(404, "Not Found", "the alliance has no channel " + channel);
  ledger::Savepoint savepoint = node.Height(channel);
  Json j{{"channel", channel}, {"height", savepoint.height}, {"last_hash", HexEncode(savepoint.last_hash)}};
  auto halted = node.Halted();
  if (auto it = halted.find(channel); it != halted.end()) j["halted"] = it->second;
  return http::JsonResponse(200, j);
}

http::Response GetStateValue(const Node& node, const http::Request& request) {
  const std::string& key = request.path_params.at("key");
  const std::string& channel = request.path_params.at("ch");
  const std::string& ns = request.path_params.at("ns");
  if (!node.MayRead(request.peer->subject(), channel, ns)) return NotReadable(request, channel + "/" + ns);
  auto value = node.GetState(request.path_params.at("ch"), request.path_params.at("ns"), key);
  if (!value.ok()) return BadRequest(value.status().message());
  if (!*value) return http::Problem(404, "Not Found", "no key " + key);
  return http::JsonResponse(200, Json{{"key", key},
                                      {"value", Base64Encode((*value)->value)},
                                      {"version", {{"block", (*value)->version.block}, {"tx", (*value)->version.tx}}}});
}

Json ContractJson(const ContractInfo& c) {
  Json j{{"name", c.name}, {"version", c.version}, {"sha256", c.sha256}, {"policy", c.policy}, {"active", c.active}};
  if (c.active) j["channel"] = c.channel;
  if (!c.active) j["why_inactive"] = c.why_inactive;
  return j;
}

}  // namespace

Result<NodeConfig> LoadNodeConfig(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  ENTENTE_RETURN_IF_ERROR(root.CheckKeys({"id", "chain", "data", "genesis", "listen", "tls", "tcerts", "relay", "crls",
                                          "clients", "packages", "body_limit", "proposal_window_s", "pull_wait_ms",
                                          "adapters", "max_waits", "max_waits_per_member", "max_connections",
                                          "max_requests", "record_responses"}));
  NodeConfig c;
  c.path = path;
  NodeOptions& o = c.node;
  ENTENTE_ASSIGN_OR_RETURN(o.id, root.GetString("id"));
  ENTENTE_ASSIGN_OR_RETURN(o.chain, root.GetString("chain"));
  ENTENTE_ASSIGN_OR_RETURN(std::string data, root.GetString("data"));
  o.data_dir = ResolvePath(path, data);
  ENTENTE_ASSIGN_OR_RETURN(std::string genesis, root.GetString("genesis"));
  ENTENTE_ASSIGN_OR_RETURN(o.genesis, alliance::LoadGenesisFile(ResolvePath(path, genesis)));
  if (root.Has("listen")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode listen, root.Child("listen"));
    ENTENTE_RETURN_IF_ERROR(listen.CheckKeys({"address", "port"}));
    ENTENTE_ASSIGN_OR_RETURN(c.address, listen.GetString("address", c.address));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t port, listen.GetInt("port", c.port));
    if (port < 0 || port > 65535) return listen.Error("port must be 0-65535");
    c.port = static_cast<std::uint16_t>(port);
  }
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode tls, root.Child("tls"));
  ENTENTE_RETURN_IF_ERROR(tls.CheckKeys({"cert", "key", "cas"}));
  ENTENTE_ASSIGN_OR_RETURN(std::string cert, tls.GetString("cert"));
  ENTENTE_ASSIGN_OR_RETURN(std::string key, tls.GetString("key"));
  o.tls.cert_file = ResolvePath(path, cert);
  o.tls.key_file = ResolvePath(path, key);
  if (tls.Has("cas")) {
    ENTENTE_ASSIGN_OR_RETURN(auto cas, tls.GetStringList("cas"));
    for (const std::string& f : cas) o.tls.ca_files.push_back(ResolvePath(path, f));
  }
  // Signers from a directory of tcert-<i>.pem / tcert-<i>-key.pem, presenting `ecert` after each TCert.
  auto load_tcerts = [&](const ConfigNode& at, const std::string& dir,
                         const std::optional<crypto::Certificate>& ecert) -> Result<std::vector<endorser::Signer>> {
    std::vector<endorser::Signer> signers;
    for (int i = 0;; ++i) {
      std::string base = dir + "/tcert-" + std::to_string(i);
      if (!std::filesystem::exists(base + ".pem")) break;
      auto chain = ReadFile(base + ".pem");
      if (!chain.ok()) return at.Error("cannot read " + base + ".pem: " + chain.status().message());
      auto certs = crypto::Certificate::ChainFromPem(*chain);
      if (!certs.ok()) return at.Error("cannot load " + base + ".pem: " + certs.status().message());
      auto k = crypto::PrivateKey::LoadFile(base + "-key.pem");
      if (!k.ok()) return at.Error("cannot load " + base + "-key.pem: " + k.status().message());
      endorser::Signer signer{certs->front(), {}, *k};
      if (ecert) signer.intermediates.push_back(*ecert);
      signer.intermediates.insert(signer.intermediates.end(), certs->begin() + 1, certs->end());
      signers.push_back(std::move(signer));
    }
    if (signers.empty()) return at.Error("no tcert-0.pem in " + dir);
    return signers;
  };
  ENTENTE_ASSIGN_OR_RETURN(std::string tcerts, root.GetString("tcerts"));
  // A node's ECert is registered in the alliance: its TCerts travel alone.
  ENTENTE_ASSIGN_OR_RETURN(o.tcerts, load_tcerts(root, ResolvePath(path, tcerts), std::nullopt));
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode relay, root.Child("relay"));
  ENTENTE_RETURN_IF_ERROR(relay.CheckKeys({"endpoint", "cert"}));
  ENTENTE_ASSIGN_OR_RETURN(std::string endpoint, relay.GetString("endpoint"));
  std::optional<Address> relay_address = ParseAddress(endpoint);
  if (!relay_address) return relay.Error("endpoint must be host:port with a port from 1 to 65535, got '" + endpoint + "'");
  o.relay.host = relay_address->host;
  o.relay.port = relay_address->port;
  ENTENTE_ASSIGN_OR_RETURN(std::string relay_cert, relay.GetString("cert"));
  auto relay_certificate = crypto::Certificate::LoadFile(ResolvePath(path, relay_cert));
  if (!relay_certificate.ok()) return relay.Error("cannot load the relay's certificate: " + relay_certificate.status().message());
  o.relay_key = relay_certificate->Key();
  if (root.Has("crls")) {
    ENTENTE_ASSIGN_OR_RETURN(auto files, root.GetStringList("crls"));
    for (const std::string& f : files) {
      ENTENTE_ASSIGN_OR_RETURN(std::string pem, ReadFile(ResolvePath(path, f)));
      o.crl_pems.push_back(std::move(pem));
    }
  }
  if (root.Has("clients")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode clients, root.Child("clients"));
    ENTENTE_ASSIGN_OR_RETURN(auto entries, clients.Elements());
    for (const ConfigNode& entry : entries) {
      ENTENTE_RETURN_IF_ERROR(entry.CheckKeys({"id", "ecert", "tcerts"}));
      ENTENTE_ASSIGN_OR_RETURN(std::string id, entry.GetString("id"));
      ENTENTE_ASSIGN_OR_RETURN(std::string ecert_file, entry.GetString("ecert"));
      auto ecert = crypto::Certificate::LoadFile(ResolvePath(path, ecert_file));
      if (!ecert.ok()) return entry.Error("cannot load " + ecert_file + ": " + ecert.status().message());
      ENTENTE_ASSIGN_OR_RETURN(std::string dir, entry.GetString("tcerts"));
      ENTENTE_ASSIGN_OR_RETURN(o.wallet[id], load_tcerts(entry, ResolvePath(path, dir), *ecert));
    }
  }
  if (root.Has("adapters")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode list, root.Child("adapters"));
    ENTENTE_ASSIGN_OR_RETURN(c.node.adapters, adapters::LoadAdapters(list, path));
  }
  if (root.Has("packages")) {
    ENTENTE_ASSIGN_OR_RETURN(auto packages, root.GetStringList("packages"));
    for (const std::string& p : packages) c.packages.push_back(ResolvePath(path, p));
  }
  if (root.Has("record_responses")) {
    ENTENTE_ASSIGN_OR_RETURN(std::string record, root.GetString("record_responses"));
    c.record_responses = ResolvePath(path, record);
  }
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t body_limit, root.GetInt("body_limit", 16 << 20));
  if (body_limit < 1024) return root.Error("body_limit must be at least 1024");
  c.body_limit = static_cast<std::size_t>(body_limit);
  ServiceBounds bounds;
  ENTENTE_RETURN_IF_ERROR(root.GetServiceBounds(bounds));
  o.max_waits = bounds.max_waits;
  o.max_waits_per_member = bounds.max_waits_per_member;
  c.max_connections = bounds.max_connections;
  c.max_requests = bounds.max_requests;
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t window, root.GetInt("proposal_window_s", 300));
  if (window <= 0) return root.Error("proposal_window_s must be positive");
  o.proposal_window = std::chrono::seconds(window);
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t pull_wait, root.GetInt("pull_wait_ms", 2000));
  if (pull_wait < 10 || pull_wait > 30000) return root.Error("pull_wait_ms must be 10-30000");
  o.pull_wait = std::chrono::milliseconds(pull_wait);
  return c;
}

Status ServeNode(const NodeConfig& config, const std::function<void(std::uint16_t)>& on_ready) {
  auto logger = Logger("node");
  BlockStopSignals();

  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<Node> node, Node::Open(config.node));
  // A package that cannot be installed is reported and skipped: the node still serves the others.
  for (const std::string& package : config.packages) {
    auto bytes = ReadFile(package);
    auto installed = bytes.ok() ? node->Install(AsBytes(*bytes), nullptr) : Result<ContractInfo>(bytes.status());
    if (!installed.ok()) {
      logger->error("cannot install {}: {}; skipping it", package, installed.status().message());
      continue;
    }
    logger->info("installed {} {} ({})", installed->name, installed->version,
                 installed->active ? "runs on " + installed->channel : installed->why_inactive);
  }

  http::Router router;
  Node* n = node.get();
  const std::set<Role> users{Role::kClient, Role::kAdmin};
  // Transactions, queries and simulations: for the clients and admins of this node's chain only.
  auto own_chain = [n](http::Response (*handler)(Node&, const http::Request&)) {
    return [n, handler](const http::Request& q) {
      if (auto refused = ForeignCaller(*n, q)) return *refused;
      return handler(*n, q);
    };
  };
  // Submissions wait for their commit holding no thread: they answer through their Responder.
  auto own_chain_deferred = [n](void (*handler)(Node&, const http::Request&, std::shared_ptr<http::Responder>)) {
    return [n, handler](const http::Request& q, std::shared_ptr<http::Responder> answer) {
      if (auto refused = ForeignCaller(*n, q)) return answer->Reply(*refused);
      handler(*n, q, std::move(answer));
    };
  };
  router.AddDeferred("POST", "/v1/transactions", users, own_chain_deferred(&PostTransaction));
  router.AddDeferred("POST", "/v1/envelopes", users, own_chain_deferred(&PostEnvelope));
  router.Add("POST", "/v1/queries", users, own_chain(&PostQuery));
  router.Add("POST", "/v1/simulations", users, own_chain(&PostSimulation));
  router.Add("POST", "/v1/proposals", {Role::kNode}, [n](const http::Request& q) { return PostProposal(*n, q); });
  router.Add("GET", "/v1/transactions/{id}", {}, [n](const http::Request& q) { return GetTransaction(*n, q); });
  router.Add("GET", "/v1/channels/{ch}", {}, [n](const http::Request& q) { return GetChannel(*n, q); });
  router.Add("GET", "/v1/channels/{ch}/blocks/{n}", {}, [n](const http::Request& q) { return GetBlock(*n, q); });
  // What an explorer or a console reads (internal/explorer.h).
  router.Add("GET", "/v1/channels/{ch}/blocks", {}, [n](const http::Request& q) { return internal::ListBlocks(*n, q); });
  router.Add("GET", "/v1/channels/{ch}/transactions", {},
             [n](const http::Request& q) { return internal::ListTransactions(*n, q); });
  router.Add("GET", "/v1/channels/{ch}/transactions/{id}", {},
             [n](const http::Request& q) { return internal::GetTransactionDetail(*n, q); });
  router.Add("GET", "/v1/channels/{ch}/state/{ns}", {Role::kNode, Role::kRelay, Role::kAdmin, Role::kClient},
             [n](const http::Request& q) { return internal::ListState(*n, q); });
  router.Add("GET", "/v1/channels/{ch}/state/{ns}/{key}", {Role::kNode, Role::kRelay, Role::kAdmin, Role::kClient},
             [n](const http::Request& q) { return GetStateValue(*n, q); });
  router.Add("GET", "/v1/contracts", {}, [n](const http::Request& q) {
    if (!n->MayRead(q.peer->subject(), n->chain())) return NotReadable(q, "the contracts of " + n->chain());
    Json list = Json::array();
    for (const ContractInfo& c : n->Contracts()) list.push_back(ContractJson(c));
    return http::JsonResponse(200, Json{{"contracts", list}});
  });
  router.Add("POST", "/v1/contracts", {Role::kAdmin}, [n, logger](const http::Request& q) {
    auto installed = n->Install(AsBytes(q.body), &*q.peer);
    if (installed.ok()) return http::JsonResponse(201, ContractJson(*installed));
    const Status& refused = installed.status();
    switch (refused.code()) {
      case StatusCode::kPermissionDenied:
        return http::Problem(403, "Forbidden", refused.message());
      case StatusCode::kAlreadyExists:
        return http::Problem(409, "Conflict", "cannot install the package: " + refused.message());
      case StatusCode::kInvalidArgument:
        return BadRequest("cannot install the package: " + refused.message());
      default:
        // Storage failures name server paths: they go to the log, not to the client.
        logger->error("cannot install a package from {}: {}", q.remote_address, refused.ToString());
        return http::Problem(500, "Internal Server Error", "the node could not store the package (see its log)");
    }
  });
  router.AddDeferred("GET", "/v1/events", {}, [n](const http::Request& q, std::shared_ptr<http::Responder> answer) {
    internal::GetEvents(*n, q, std::move(answer));
  });
  router.Add("GET", "/v1/alliance", {}, [n](const http::Request&) { return http::JsonResponse(200, Json(n->Alliance())); });
  router.Add("GET", "/v1/openapi.json", {}, [](const http::Request&) {
    return http::TextResponse(200, api::OpenApiDocument(api::Service::kNode), "application/json");
  });
  router.AddPublic("GET", "/healthz", [n](const http::Request&) {
    Json j{{"status", "ok"}, {"node", n->id()}, {"chain", n->chain()}};
    auto halted = n->Halted();
    if (!halted.empty()) {
      j["status"] = "halted";
      j["halted"] = halted;
      return http::JsonResponse(503, j);
    }
    return http::JsonResponse(200, j);
  });
  router.Add("GET", "/metrics", {}, [n](const http::Request&) {
    return http::TextResponse(200, n->Metrics(), "text/plain; version=0.0.4");
  });

  if (!config.record_responses.empty()) {
    ENTENTE_ASSIGN_OR_RETURN(http::Router::Recorder recorder, api::ResponseLog(config.record_responses, api::Service::kNode));
    router.Record(std::move(recorder));
  }

  http::ServerOptions options;
  options.address = config.address;
  options.port = config.port;
  options.tls = config.node.tls;
  if (options.tls.ca_files.empty()) options.tls.ca_files = {config.node.data_dir + "/alliance-cas.pem"};
  // The handshake asks for a certificate and verifies one that is sent; the router refuses every
  // route but /healthz without one.
  options.require_client_certificate = false;
  options.verify_peer = [n](const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& intermediates) {
    return n->VerifyPeer(leaf, intermediates);
  };
  options.body_limit = config.body_limit;
  // Requests wait for endorsements (a call to a peer): enough handlers for clients and peers at once.
  // Commit waits and event streams hold none.
  options.handler_threads = 64;
  options.max_connections = config.max_connections;
  options.max_requests = config.max_requests;
  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> server,
                           http::Server::Start(options, router.AsDeferredHandler()));
  logger->info("node {} of {} listening on {}:{}", node->id(), node->chain(), config.address, server->port());
  if (on_ready) on_ready(server->port());

  // SIGHUP reloads the TCerts and the CRL files named in node.yaml.
  int signal = WaitForStopSignal([&] {
    auto reloaded = LoadNodeConfig(config.path);
    Status s = reloaded.ok() ? node->ReloadTcerts(reloaded->node.tcerts) : reloaded.status();
    if (!s.ok()) logger->error("SIGHUP: cannot reload the TCerts: {}", s.ToString());
    if (!reloaded.ok()) return;
    Status crls = node->ReloadCrls(reloaded->node.crl_pems);
    if (crls.ok()) {
      logger->info("SIGHUP: reloaded {} CRLs", reloaded->node.crl_pems.size());
    } else {
      logger->error("SIGHUP: cannot reload the CRLs, keeping the current ones: {}", crls.ToString());
    }
  });
  logger->info("node stopping on signal {}", signal);
  node->Stop();  // wakes the requests that wait for commits and events
  server->Stop();
  return Status::Ok();
}

}  // namespace entente::node
