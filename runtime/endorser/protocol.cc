// JSON forms of the signed structures of DESIGN.md §3.
#include "runtime/endorser/endorser.h"

namespace entente::endorser {
namespace {

Result<std::vector<std::string>> StringArray(const Json& json, const char* field) {
  if (!json.contains(field) || !json[field].is_array()) {
    return Status::InvalidArgument(std::string("field '") + field + "' must be an array of strings");
  }
  std::vector<std::string> out;
  for (const Json& item : json[field]) {
    if (!item.is_string()) return Status::InvalidArgument(std::string("field '") + field + "' must hold strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

std::string ComputeTxId(ByteView nonce, ByteView creator_der, std::string_view channel) {
  return HexEncode(crypto::Sha256({nonce, creator_der, AsBytes(channel)}));
}

std::string TransientHash(const std::map<std::string, Bytes>& transient) {
  if (transient.empty()) return "";
  Json j = Json::object();
  for (const auto& [key, value] : transient) j[key] = Base64Encode(value);
  return crypto::Sha256Hex(AsBytes(j.dump()));
}

std::string Signer::ChainPem() const {
  std::string pem = certificate.Pem();
  for (const auto& c : intermediates) pem += c.Pem();
  return pem;
}

Json Proposal::ToJson() const {
  return Json{{"tx_id", tx_id},       {"channel", channel},     {"contract", contract},
              {"function", function}, {"args", args},           {"transient_hash", transient_hash},
              {"creator", creator},   {"nonce", Base64Encode(nonce)}, {"timestamp_ms", timestamp_ms}};
}

Result<Proposal> Proposal::FromJson(const Json& json) {
  if (!json.is_object()) return Status::InvalidArgument("proposal: expected an object");
  Proposal p;
  ENTENTE_ASSIGN_OR_RETURN(p.tx_id, JsonString(json, "tx_id"));
  ENTENTE_ASSIGN_OR_RETURN(p.channel, JsonString(json, "channel"));
  ENTENTE_ASSIGN_OR_RETURN(p.contract, JsonString(json, "contract"));
  ENTENTE_ASSIGN_OR_RETURN(p.function, JsonString(json, "function"));
  ENTENTE_ASSIGN_OR_RETURN(p.args, StringArray(json, "args"));
  ENTENTE_ASSIGN_OR_RETURN(p.transient_hash, JsonString(json, "transient_hash"));
  ENTENTE_ASSIGN_OR_RETURN(p.creator, JsonString(json, "creator"));
  ENTENTE_ASSIGN_OR_RETURN(p.nonce, JsonBase64(json, "nonce"));
  ENTENTE_ASSIGN_OR_RETURN(p.timestamp_ms, JsonInt(json, "timestamp_ms"));
  return p;
}

Result<SignedBytes> MakeSignedProposal(const Signer& signer, std::string channel, std::string contract,
                                       std::string function, std::vector<std::string> args,
                                       const std::map<std::string, Bytes>& transient) {
  Proposal p;
  p.channel = std::move(channel);
  p.contract = std::move(contract);
  p.function = std::move(function);
  p.args = std::move(args);
  p.transient_hash = TransientHash(transient);
  p.nonce = crypto::RandomBytes(24);
  p.timestamp_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(crypto::Clock::now().time_since_epoch()).count();
  return SignProposal(signer, std::move(p));
}

Result<SignedBytes> SignProposal(const Signer& signer, Proposal p) {
  if (p.nonce.empty()) return Status::InvalidArgument("a proposal needs a nonce");
  p.creator = signer.ChainPem();
  p.tx_id = ComputeTxId(p.nonce, signer.certificate.Der(), p.channel);
  ENTENTE_ASSIGN_OR_RETURN(std::string payload, CanonicalJson(p.ToJson()));
  SignedBytes signed_proposal;
  signed_proposal.payload = ToBytes(payload);
  ENTENTE_ASSIGN_OR_RETURN(signed_proposal.signature, signer.key.Sign(signed_proposal.payload));
  return signed_proposal;
}

Json SimulationResult::ToJson() const {
  Json evs = Json::array();
  for (const auto& [name, payload] : events) evs.push_back(Json{{"name", name}, {"payload", Base64Encode(payload)}});
  return Json{{"tx_id", tx_id},
              {"proposal_hash", proposal_hash},
              {"rwset", rwset.ToJson()},
              {"response",
               {{"status", response.status},
                {"message", response.message},
                {"payload", Base64Encode(response.payload)}}},
              {"events", evs}};
}

Result<SimulationResult> SimulationResult::FromJson(const Json& json) {
  if (!json.is_object()) return Status::InvalidArgument("result: expected an object");
  SimulationResult r;
  ENTENTE_ASSIGN_OR_RETURN(r.tx_id, JsonString(json, "tx_id"));
  ENTENTE_ASSIGN_OR_RETURN(r.proposal_hash, JsonString(json, "proposal_hash"));
  if (!json.contains("rwset")) return Status::InvalidArgument("result: missing field 'rwset'");
  ENTENTE_ASSIGN_OR_RETURN(r.rwset, ledger::RwSet::FromJson(json["rwset"]));
  if (!json.contains("response") || !json["response"].is_object()) {
    return Status::InvalidArgument("result: missing object 'response'");
  }
  const Json& resp = json["response"];
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t status, JsonInt(resp, "status"));
  r.response.status = static_cast<std::int32_t>(status);
  ENTENTE_ASSIGN_OR_RETURN(r.response.message, JsonString(resp, "message"));
  ENTENTE_ASSIGN_OR_RETURN(r.response.payload, JsonBase64(resp, "payload"));
  if (!json.contains("events") || !json["events"].is_array()) {
    return Status::InvalidArgument("result: field 'events' must be an array");
  }
  for (const Json& e : json["events"]) {
    ENTENTE_ASSIGN_OR_RETURN(std::string name, JsonString(e, "name"));
    ENTENTE_ASSIGN_OR_RETURN(Bytes payload, JsonBase64(e, "payload"));
    r.events.emplace_back(std::move(name), std::move(payload));
  }
  return r;
}

Bytes SimulationResult::Serialize() const {
  // The simulator admits only UTF-8 keys, bounds and names, and replaces a contract message that is
  // not UTF-8, so nothing is replaced here; `replace` only guarantees this never throws.
  return ToBytes(DumpJson(ToJson()));
}

Result<SimulationResult> SimulationResult::Parse(ByteView bytes) {
  ENTENTE_ASSIGN_OR_RETURN(Json json, ParseJson(ToString(bytes)));
  return FromJson(json);
}

Json Endorsement::ToJson() const { return Json{{"endorser", endorser}, {"signature", Base64Encode(signature)}}; }

Result<Endorsement> Endorsement::FromJson(const Json& json) {
  Endorsement e;
  ENTENTE_ASSIGN_OR_RETURN(e.endorser, JsonString(json, "endorser"));
  ENTENTE_ASSIGN_OR_RETURN(e.signature, JsonBase64(json, "signature"));
  return e;
}

Bytes EndorsementMessage(ByteView result_bytes, std::string_view endorser_pem) {
  Bytes message;
  message.reserve(result_bytes.size() + endorser_pem.size());
  message.assign(result_bytes.begin(), result_bytes.end());
  const auto* pem = reinterpret_cast<const std::uint8_t*>(endorser_pem.data());  // one memmove
  message.insert(message.end(), pem, pem + endorser_pem.size());
  return message;
}

Result<Endorsement> Endorse(const Signer& signer, ByteView result_bytes) {
  Endorsement e;
  e.endorser = signer.ChainPem();
  ENTENTE_ASSIGN_OR_RETURN(e.signature, signer.key.Sign(EndorsementMessage(result_bytes, e.endorser)));
  return e;
}

Json Envelope::ToJson() const {
  Json list = Json::array();
  for (const auto& e : endorsements) list.push_back(e.ToJson());
  return Json{{"signed_proposal", signed_proposal.ToJson()}, {"result", Base64Encode(result)}, {"endorsements", list}};
}

Result<Envelope> Envelope::FromJson(const Json& json) {
  if (!json.is_object() || !json.contains("signed_proposal")) {
    return Status::InvalidArgument("envelope: missing field 'signed_proposal'");
  }
  Envelope env;
  ENTENTE_ASSIGN_OR_RETURN(env.signed_proposal, SignedBytes::FromJson(json["signed_proposal"]));
  ENTENTE_ASSIGN_OR_RETURN(env.result, JsonBase64(json, "result"));
  if (!json.contains("endorsements") || !json["endorsements"].is_array()) {
    return Status::InvalidArgument("envelope: field 'endorsements' must be an array");
  }
  for (const Json& e : json["endorsements"]) {
    ENTENTE_ASSIGN_OR_RETURN(Endorsement endorsement, Endorsement::FromJson(e));
    env.endorsements.push_back(std::move(endorsement));
  }
  return env;
}

Result<Bytes> SealEnvelope(const Signer& signer, const Envelope& envelope) {
  ENTENTE_ASSIGN_OR_RETURN(std::string payload, CanonicalJson(envelope.ToJson()));
  SignedBytes sealed;
  sealed.payload = ToBytes(payload);
  ENTENTE_ASSIGN_OR_RETURN(sealed.signature, signer.key.Sign(sealed.payload));
  return ToBytes(DumpJson(sealed.ToJson()));
}

}  // namespace entente::endorser
