#include "chaincode/alliance/alliance.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "runtime/crypto/crypto.h"

namespace entente::chaincode {

using shim::Check;
using shim::Json;

namespace {

constexpr char kMemberType[] = "member";
constexpr char kNodeType[] = "node";
constexpr char kRouteType[] = "route";
constexpr char kContractType[] = "contract";
constexpr char kRelayType[] = "relay";
constexpr char kSettingType[] = "setting";  // {"relay_quorum_percent"}: an integer

// Keeps sums of weights far from overflow.
constexpr std::int64_t kMaxWeight = 1'000'000'000;

// ---- Shape checks for from_json; `what` names the value in messages ("node n1") ----

void CheckFields(const Json& j, const std::string& what, std::initializer_list<std::string_view> fields) {
  Check(j.is_object(), what + " must be a JSON object");
  for (const auto& item : j.items()) {
    Check(std::find(fields.begin(), fields.end(), item.key()) != fields.end(),
          what + " has an unknown field '" + item.key() + "'");
  }
}

const Json& Field(const Json& j, const std::string& what, const char* field) {
  auto it = j.find(field);
  Check(it != j.end(), what + " lacks the field '" + field + "'");
  return *it;
}

std::string StringField(const Json& j, const std::string& what, const char* field) {
  const Json& value = Field(j, what, field);
  Check(value.is_string() && !value.get_ref<const std::string&>().empty(),
        what + ": '" + field + "' must be a non-empty string");
  return value.get<std::string>();
}

std::int64_t WeightField(const Json& j, const std::string& what, const char* field) {
  const Json& value = Field(j, what, field);
  bool ok = false;
  if (value.is_number_unsigned()) {
    ok = value.get<std::uint64_t>() > 0 && value.get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxWeight);
  } else if (value.is_number_integer()) {
    ok = value.get<std::int64_t>() > 0 && value.get<std::int64_t>() <= kMaxWeight;
  }
  Check(ok, what + ": '" + field + "' must be a positive integer of at most " + std::to_string(kMaxWeight));
  return value.get<std::int64_t>();
}

void CheckPem(const std::string& text, const std::string& what) {
  Check(text.find("-----BEGIN CERTIFICATE-----") != std::string::npos &&
            text.find("-----END CERTIFICATE-----") != std::string::npos,
        what + " must be a PEM certificate");
}

std::string PemField(const Json& j, const std::string& what, const char* field) {
  std::string pem = StringField(j, what, field);
  CheckPem(pem, what + ": '" + field + "'");
  return pem;
}

const Json& ArrayField(const Json& j, const std::string& what, const char* field) {
  const Json& value = Field(j, what, field);
  Check(value.is_array(), what + ": '" + field + "' must be an array");
  return value;
}

// ---- State ----

template <typename T>
T ParseStored(const shim::Bytes& value) {
  Json j = Json::parse(shim::ToText(value), nullptr, /*allow_exceptions=*/false);
  Check(!j.is_discarded(), "the alliance state holds a value that is not JSON");
  return j.get<T>();
}

template <typename T>
std::optional<T> ReadOne(shim::Stub& stub, const char* type, const std::vector<std::string>& attributes) {
  auto value = stub.GetState(stub.CreateCompositeKey(type, attributes));
  if (!value) return std::nullopt;
  return ParseStored<T>(*value);
}

template <typename T>
std::vector<T> ReadAll(shim::Stub& stub, const char* type) {
  std::vector<T> all;
  for (const shim::KeyValue& entry : stub.GetStateByPartialCompositeKey(type, {})) {
    all.push_back(ParseStored<T>(entry.value));
  }
  return all;
}

template <typename T>
void Write(shim::Stub& stub, const char* type, const std::vector<std::string>& attributes, const T& value) {
  stub.PutState(stub.CreateCompositeKey(type, attributes), shim::ToBytes(Json(value).dump()));
}

void Delete(shim::Stub& stub, const char* type, const std::vector<std::string>& attributes) {
  stub.DelState(stub.CreateCompositeKey(type, attributes));
}

void EmitChange(shim::Stub& stub, const std::string& function, const std::string& id) {
  stub.SetEvent(Alliance::kChangeEvent, shim::ToBytes(Json{{"function", function}, {"id", id}}.dump()));
}

bool IsMember(shim::Stub& stub, const std::string& chain) {
  return stub.GetState(stub.CreateCompositeKey(kMemberType, {chain})).has_value();
}

std::int64_t AdminWeight(const std::vector<Member>& members) {
  std::int64_t total = 0;
  for (const Member& m : members) {
    for (const Admin& a : m.admins) total += a.weight;
  }
  return total;
}

// The CA certificates of `member`, parsed.
std::vector<crypto::Certificate> CasOf(const Member& member) {
  std::vector<crypto::Certificate> cas;
  for (const std::string& pem : member.ca_certs) {
    auto ca = crypto::Certificate::FromPem(pem);
    Check(ca.ok(), "member " + member.name + " has a CA certificate that does not parse: " + ca.status().message());
    cas.push_back(std::move(*ca));
  }
  return cas;
}

// What `crl_pem` says, once a CA of `member` verified it; fails naming the member otherwise.
crypto::CrlFacts ReadMemberCrl(const Member& member, const std::vector<crypto::Certificate>& cas,
                               const std::string& crl_pem) {
  auto facts = crypto::ReadCrl(crl_pem, cas);
  Check(facts.ok(), "a CRL of member " + member.name + " is not one of its CAs': " + facts.status().message());
  return std::move(*facts);
}

// Checks what a member's own fields cannot: that its admins are distinct and that each of its CRLs is
// signed by one of its CAs, one per CA.
void CheckMember(const Member& member) {
  std::set<std::string> ids;
  for (const Admin& admin : member.admins) {
    Check(ids.insert(admin.id).second, "member " + member.name + " lists admin " + admin.id + " twice");
  }
  if (member.crls.empty()) return;
  std::vector<crypto::Certificate> cas = CasOf(member);
  std::set<crypto::Digest> issuers;
  for (const std::string& crl : member.crls) {
    Check(issuers.insert(ReadMemberCrl(member, cas, crl).issuer.Fingerprint()).second,
          "member " + member.name + " lists two CRLs of one CA");
  }
}

void CheckRouteChains(const Route& route, const std::set<std::string>& chains) {
  Check(chains.count(route.from_chain) > 0,
        "route " + route.id + " starts at chain " + route.from_chain + ", which is not a member");
  Check(chains.count(route.to_chain) > 0,
        "route " + route.id + " leads to chain " + route.to_chain + ", which is not a member");
  Check(route.from_chain != route.to_chain, "route " + route.id + " must join two different chains");
}

void CheckContractChannel(const ContractDefinition& definition, const std::set<std::string>& chains) {
  Check(definition.channel == kAllianceChannel || chains.count(definition.channel) > 0,
        "contract " + definition.name + " is defined on channel " + definition.channel +
            ", which is neither a member chain nor '" + kAllianceChannel + "'");
}

std::set<std::string> MemberNames(shim::Stub& stub) {
  std::set<std::string> names;
  for (const Member& m : ReadAll<Member>(stub, kMemberType)) names.insert(m.name);
  return names;
}

Access ParseAccess(const std::string& text, const std::string& what) {
  Check(text == "read" || text == "write", what + " must be \"read\" or \"write\", not \"" + text + "\"");
  return text == "read" ? Access::kRead : Access::kWrite;
}

}  // namespace

// ---- JSON ----

void to_json(Json& j, const Admin& admin) { j = Json{{"id", admin.id}, {"weight", admin.weight}}; }

void from_json(const Json& j, Admin& admin) {
  CheckFields(j, "an admin", {"id", "weight"});
  admin.id = StringField(j, "an admin", "id");
  admin.weight = WeightField(j, "admin " + admin.id, "weight");
}

void to_json(Json& j, const Member& member) {
  j = Json{{"name", member.name}, {"ca_certs", member.ca_certs}, {"admins", member.admins}};
  if (!member.crls.empty()) j["crls"] = member.crls;
}

void from_json(const Json& j, Member& member) {
  CheckFields(j, "a member", {"name", "ca_certs", "admins", "crls"});
  member.name = StringField(j, "a member", "name");
  std::string what = "member " + member.name;
  const Json& certs = ArrayField(j, what, "ca_certs");
  Check(!certs.empty(), what + " needs at least one CA certificate");
  member.ca_certs.clear();
  for (const Json& cert : certs) {
    Check(cert.is_string(), what + ": each of 'ca_certs' must be a string");
    CheckPem(cert.get<std::string>(), what + ": each of 'ca_certs'");
    member.ca_certs.push_back(cert.get<std::string>());
  }
  member.admins.clear();
  if (j.contains("admins")) {
    for (const Json& admin : ArrayField(j, what, "admins")) {
      try {
        member.admins.push_back(admin.get<Admin>());
      } catch (const shim::ContractError& e) {
        throw shim::ContractError(what + ": " + e.what(), e.status());
      }
    }
  }
  member.crls.clear();
  if (j.contains("crls")) {
    for (const Json& crl : ArrayField(j, what, "crls")) {
      Check(crl.is_string() && crl.get_ref<const std::string&>().find("-----BEGIN X509 CRL-----") != std::string::npos,
            what + ": each of 'crls' must be a PEM CRL");
      member.crls.push_back(crl.get<std::string>());
    }
  }
}

void to_json(Json& j, const Node& node) {
  j = Json{{"id", node.id},
           {"chain", node.chain},
           {"weight", node.weight},
           {"endpoint", node.endpoint},
           {"ecert", node.ecert}};
}

void from_json(const Json& j, Node& node) {
  CheckFields(j, "a node", {"id", "chain", "weight", "endpoint", "ecert"});
  node.id = StringField(j, "a node", "id");
  std::string what = "node " + node.id;
  node.chain = StringField(j, what, "chain");
  node.weight = WeightField(j, what, "weight");
  node.endpoint = StringField(j, what, "endpoint");
  node.ecert = PemField(j, what, "ecert");
}

void to_json(Json& j, const AllianceRelay& relay) {
  j = Json{{"id", relay.id},
           {"chain", relay.chain},
           {"weight", relay.weight},
           {"endpoint", relay.endpoint},
           {"cert", relay.cert}};
}

void from_json(const Json& j, AllianceRelay& relay) {
  CheckFields(j, "a relay", {"id", "chain", "weight", "endpoint", "cert"});
  relay.id = StringField(j, "a relay", "id");
  std::string what = "relay " + relay.id;
  Check(relay.id.find('/') == std::string::npos, what + ": 'id' must not contain '/'");
  relay.chain = StringField(j, what, "chain");
  relay.weight = WeightField(j, what, "weight");
  relay.endpoint = StringField(j, what, "endpoint");
  relay.cert = PemField(j, what, "cert");
}

void to_json(Json& j, const Access& access) { j = access == Access::kRead ? "read" : "write"; }

void from_json(const Json& j, Access& access) {
  Check(j.is_string(), "access must be \"read\" or \"write\"");
  access = ParseAccess(j.get<std::string>(), "access");
}

void to_json(Json& j, const Route& route) {
  j = Json{{"id", route.id},
           {"from_chain", route.from_chain},
           {"contract", route.contract},
           {"to_chain", route.to_chain},
           {"namespace", route.namespace_name},
           {"access", route.access}};
}

void from_json(const Json& j, Route& route) {
  CheckFields(j, "a route", {"id", "from_chain", "contract", "to_chain", "namespace", "access"});
  route.id = StringField(j, "a route", "id");
  std::string what = "route " + route.id;
  route.from_chain = StringField(j, what, "from_chain");
  route.contract = StringField(j, what, "contract");
  route.to_chain = StringField(j, what, "to_chain");
  route.namespace_name = StringField(j, what, "namespace");
  route.access = ParseAccess(StringField(j, what, "access"), what + ": 'access'");
}

void to_json(Json& j, const ContractDefinition& definition) {
  j = Json{{"channel", definition.channel},
           {"name", definition.name},
           {"version", definition.version},
           {"sha256", definition.sha256},
           {"policy", definition.policy}};
}

void from_json(const Json& j, ContractDefinition& definition) {
  CheckFields(j, "a contract definition", {"channel", "name", "version", "sha256", "policy"});
  definition.name = StringField(j, "a contract definition", "name");
  std::string what = "contract " + definition.name;
  definition.channel = StringField(j, what, "channel");
  definition.version = StringField(j, what, "version");
  std::string sha = StringField(j, what, "sha256");
  Check(sha.size() == 64 && std::all_of(sha.begin(), sha.end(), [](unsigned char c) { return std::isxdigit(c); }),
        what + ": 'sha256' must be 64 hexadecimal digits");
  std::transform(sha.begin(), sha.end(), sha.begin(), [](unsigned char c) { return std::tolower(c); });
  definition.sha256 = std::move(sha);
  definition.policy = StringField(j, what, "policy");
}

void to_json(Json& j, const AllianceConfig& config) {
  j = Json{
      {"members", config.members}, {"nodes", config.nodes}, {"routes", config.routes}, {"contracts", config.contracts}};
  if (!config.relays.empty()) j["relays"] = config.relays;  // absent for one relay: genesis bytes stay as they were
  if (config.relay_quorum_percent != kDefaultRelayQuorumPercent) {
    j["relay_quorum_percent"] = config.relay_quorum_percent;  // likewise
  }
}

namespace {

// Fails unless `percent` is a percentage of the relays' weight a certificate may require.
void CheckRelayQuorum(std::int64_t percent) {
  Check(percent >= 50 && percent <= 99, "relay_quorum_percent must be 50 to 99, got " + std::to_string(percent));
}

}  // namespace

void from_json(const Json& j, AllianceConfig& config) {
  CheckFields(j, "the alliance spec", {"members", "nodes", "routes", "contracts", "relays", "relay_quorum_percent"});
  auto list = [&j](const char* field, auto& out) {
    out.clear();
    if (!j.contains(field)) return;
    for (const Json& item : ArrayField(j, "the alliance spec", field)) {
      out.push_back(item.get<typename std::decay_t<decltype(out)>::value_type>());
    }
  };
  list("members", config.members);
  list("nodes", config.nodes);
  list("routes", config.routes);
  list("contracts", config.contracts);
  list("relays", config.relays);
  config.relay_quorum_percent = kDefaultRelayQuorumPercent;
  if (j.contains("relay_quorum_percent")) {
    Check(j["relay_quorum_percent"].is_number_integer(), "the alliance spec: 'relay_quorum_percent' must be an integer");
    config.relay_quorum_percent = j["relay_quorum_percent"].get<std::int64_t>();
    CheckRelayQuorum(config.relay_quorum_percent);
  }
}

// ---- The contract ----

Alliance::Alliance() : Contract("Alliance") {
  Transaction("Init", &Alliance::Init);
  Transaction("AddMember", &Alliance::AddMember);
  Transaction("UpdateMember", &Alliance::UpdateMember);
  Transaction("SetNode", &Alliance::SetNode);
  Transaction("RemoveNode", &Alliance::RemoveNode);
  Transaction("SetRelay", &Alliance::SetRelay);
  Transaction("RemoveRelay", &Alliance::RemoveRelay);
  Transaction("SetRelayQuorum", &Alliance::SetRelayQuorum);
  Transaction("AddRoute", &Alliance::AddRoute);
  Transaction("RemoveRoute", &Alliance::RemoveRoute);
  Transaction("DefineContract", &Alliance::DefineContract);
  Transaction("PublishCrl", &Alliance::PublishCrl);
  Transaction("GetAlliance", &Alliance::GetAlliance, kEvaluate);
  Transaction("CheckRoute", &Alliance::CheckRoute, kEvaluate);
  Transaction("GetContractDefinition", &Alliance::GetContractDefinition, kEvaluate);
}

void Alliance::BeforeTransaction(shim::Context& ctx) {
  // Every function but genesis and the queries changes the configuration: default to requiring an admin,
  // so that a function added later is governed too. Runs before the parameters are parsed.
  static const std::set<std::string, std::less<>> kOpen = {"Init", "GetAlliance", "CheckRoute",
                                                           "GetContractDefinition"};
  std::string_view function = ctx.stub().Function();
  if (auto colon = function.rfind(':'); colon != std::string_view::npos) function.remove_prefix(colon + 1);
  if (kOpen.count(function) == 0) Check(ctx.creator().role == "admin", "only an admin may change the alliance");
}

void Alliance::Init(shim::Context& ctx, AllianceConfig spec) {
  shim::Stub& stub = ctx.stub();
  for (const char* type : {kMemberType, kNodeType, kRouteType, kContractType, kRelayType, kSettingType}) {
    Check(stub.GetStateByPartialCompositeKey(type, {}).empty(),
          "the alliance is already initialized; change it with config transactions");
  }
  Check(!spec.members.empty(), "the genesis spec needs at least one member");
  std::set<std::string> chains;
  for (const Member& member : spec.members) {
    Check(chains.insert(member.name).second, "member " + member.name + " is listed twice");
    CheckMember(member);
  }
  Check(AdminWeight(spec.members) > 0, "the genesis spec needs at least one admin");
  std::set<std::string> node_ids;
  for (const Node& node : spec.nodes) {
    Check(node_ids.insert(node.id).second, "node " + node.id + " is listed twice");
    Check(chains.count(node.chain) > 0,
          "node " + node.id + " belongs to chain " + node.chain + ", which is not a member");
  }
  std::set<std::string> relay_ids;
  for (const AllianceRelay& relay : spec.relays) {
    Check(relay_ids.insert(relay.id).second, "relay " + relay.id + " is listed twice");
    Check(chains.count(relay.chain) > 0,
          "relay " + relay.id + " is run by chain " + relay.chain + ", which is not a member");
  }
  std::set<std::string> route_ids;
  for (const Route& route : spec.routes) {
    Check(route_ids.insert(route.id).second, "route " + route.id + " is listed twice");
    CheckRouteChains(route, chains);
  }
  std::set<std::pair<std::string, std::string>> contracts;
  for (const ContractDefinition& definition : spec.contracts) {
    Check(contracts.insert({definition.channel, definition.name}).second,
          "contract " + definition.name + " on channel " + definition.channel + " is listed twice");
    CheckContractChannel(definition, chains);
  }

  for (const Member& m : spec.members) Write(stub, kMemberType, {m.name}, m);
  for (const Node& n : spec.nodes) Write(stub, kNodeType, {n.id}, n);
  for (const Route& r : spec.routes) Write(stub, kRouteType, {r.id}, r);
  for (const ContractDefinition& d : spec.contracts) Write(stub, kContractType, {d.channel, d.name}, d);
  for (const AllianceRelay& r : spec.relays) Write(stub, kRelayType, {r.id}, r);
  if (spec.relay_quorum_percent != kDefaultRelayQuorumPercent) {
    CheckRelayQuorum(spec.relay_quorum_percent);
    Check(!spec.relays.empty(), "relay_quorum_percent is for alliances with replicated relays (relays:)");
    Write(stub, kSettingType, {"relay_quorum_percent"}, spec.relay_quorum_percent);
  }
  EmitChange(stub, "Init", "genesis");
}

void Alliance::AddMember(shim::Context& ctx, Member member) {
  shim::Stub& stub = ctx.stub();
  CheckMember(member);
  Check(!IsMember(stub, member.name), "chain " + member.name + " is already a member");
  Write(stub, kMemberType, {member.name}, member);
  EmitChange(stub, "AddMember", member.name);
}

void Alliance::UpdateMember(shim::Context& ctx, Member member) {
  shim::Stub& stub = ctx.stub();
  std::vector<Member> members = ReadAll<Member>(stub, kMemberType);
  auto it = std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.name == member.name; });
  Check(it != members.end(), "chain " + member.name + " is not a member");
  Check(member.crls.empty() || member.crls == it->crls,
        "member " + member.name + "'s CRLs change through PublishCrl only");
  // Its CRLs of the CAs it still lists stay; those of CAs it drops go (before the check, so that a
  // member read, given a new CA and written back is accepted).
  member.crls.clear();
  if (!it->crls.empty()) {
    std::vector<crypto::Certificate> cas = CasOf(member);
    for (const std::string& crl : it->crls) {
      if (crypto::ReadCrl(crl, cas).ok()) member.crls.push_back(crl);
    }
  }
  CheckMember(member);
  *it = member;
  Check(AdminWeight(members) > 0, "the alliance would be left without an admin");
  Write(stub, kMemberType, {member.name}, member);
  EmitChange(stub, "UpdateMember", member.name);
}

void Alliance::PublishCrl(shim::Context& ctx, std::string chain, std::string crl_pem) {
  shim::Stub& stub = ctx.stub();
  Check(ctx.creator().chain == chain,
        "only an admin of chain " + chain + " publishes its CRLs, not one of " + ctx.creator().chain);
  auto member = ReadOne<Member>(stub, kMemberType, {chain});
  Check(member.has_value(), "chain " + chain + " is not a member");
  std::vector<crypto::Certificate> cas = CasOf(*member);
  crypto::CrlFacts published = ReadMemberCrl(*member, cas, crl_pem);
  auto at = crypto::TimePoint(std::chrono::milliseconds(stub.TxTimestampMs()));
  Check(!published.next_update || *published.next_update > at,
        "the CRL of " + published.issuer.SubjectText() + " is past its nextUpdate already");
  bool replaced = false;
  for (std::string& current : member->crls) {
    crypto::CrlFacts facts = ReadMemberCrl(*member, cas, current);
    if (facts.issuer.Fingerprint() != published.issuer.Fingerprint()) continue;
    Check(published.this_update > facts.this_update,
          "the CRL of " + published.issuer.SubjectText() + " is not newer than the one published (lastUpdate)");
    current = crl_pem;
    replaced = true;
  }
  if (!replaced) member->crls.push_back(crl_pem);
  Write(stub, kMemberType, {chain}, *member);
  EmitChange(stub, "PublishCrl", chain);
}

void Alliance::SetNode(shim::Context& ctx, Node node) {
  shim::Stub& stub = ctx.stub();
  Check(IsMember(stub, node.chain), "node " + node.id + " belongs to chain " + node.chain + ", which is not a member");
  Write(stub, kNodeType, {node.id}, node);
  EmitChange(stub, "SetNode", node.id);
}

void Alliance::RemoveNode(shim::Context& ctx, std::string id) {
  shim::Stub& stub = ctx.stub();
  Check(!id.empty(), "the node id must not be empty");
  Check(ReadOne<Node>(stub, kNodeType, {id}).has_value(), "there is no node " + id);
  Delete(stub, kNodeType, {id});
  EmitChange(stub, "RemoveNode", id);
}

void Alliance::SetRelay(shim::Context& ctx, AllianceRelay relay) {
  shim::Stub& stub = ctx.stub();
  Check(!ReadAll<AllianceRelay>(stub, kRelayType).empty(),
        "this alliance has one relay; replicated relays are listed at genesis (alliance.yaml relays:)");
  Check(IsMember(stub, relay.chain), "relay " + relay.id + " is run by chain " + relay.chain + ", which is not a member");
  Write(stub, kRelayType, {relay.id}, relay);
  EmitChange(stub, "SetRelay", relay.id);
}

void Alliance::RemoveRelay(shim::Context& ctx, std::string id) {
  shim::Stub& stub = ctx.stub();
  Check(!id.empty(), "the relay id must not be empty");
  Check(ReadOne<AllianceRelay>(stub, kRelayType, {id}).has_value(), "there is no relay " + id);
  Check(ReadAll<AllianceRelay>(stub, kRelayType).size() > 1, "relay " + id + " is the alliance's last relay");
  Delete(stub, kRelayType, {id});
  EmitChange(stub, "RemoveRelay", id);
}

void Alliance::SetRelayQuorum(shim::Context& ctx, std::int64_t percent) {
  shim::Stub& stub = ctx.stub();
  CheckRelayQuorum(percent);
  Check(!ReadAll<AllianceRelay>(stub, kRelayType).empty(),
        "relay_quorum_percent is for alliances with replicated relays; this alliance has one relay");
  Write(stub, kSettingType, {"relay_quorum_percent"}, percent);
  EmitChange(stub, "SetRelayQuorum", std::to_string(percent));
}

void Alliance::AddRoute(shim::Context& ctx, Route route) {
  shim::Stub& stub = ctx.stub();
  Check(!ReadOne<Route>(stub, kRouteType, {route.id}).has_value(), "route " + route.id + " already exists");
  CheckRouteChains(route, MemberNames(stub));
  Write(stub, kRouteType, {route.id}, route);
  EmitChange(stub, "AddRoute", route.id);
}

void Alliance::RemoveRoute(shim::Context& ctx, std::string id) {
  shim::Stub& stub = ctx.stub();
  Check(!id.empty(), "the route id must not be empty");
  Check(ReadOne<Route>(stub, kRouteType, {id}).has_value(), "there is no route " + id);
  Delete(stub, kRouteType, {id});
  EmitChange(stub, "RemoveRoute", id);
}

void Alliance::DefineContract(shim::Context& ctx, ContractDefinition definition) {
  shim::Stub& stub = ctx.stub();
  CheckContractChannel(definition, MemberNames(stub));
  auto existing = ReadOne<ContractDefinition>(stub, kContractType, {definition.channel, definition.name});
  Check(!existing || existing->version != definition.version || *existing == definition,
        "version " + definition.version + " of contract " + definition.name + " on channel " + definition.channel +
            " is already defined differently; give the new definition a new version");
  Write(stub, kContractType, {definition.channel, definition.name}, definition);
  EmitChange(stub, "DefineContract", definition.channel + "/" + definition.name);
}

AllianceConfig Alliance::GetAlliance(shim::Context& ctx) {
  shim::Stub& stub = ctx.stub();
  AllianceConfig config;
  config.members = ReadAll<Member>(stub, kMemberType);
  config.nodes = ReadAll<Node>(stub, kNodeType);
  config.routes = ReadAll<Route>(stub, kRouteType);
  config.contracts = ReadAll<ContractDefinition>(stub, kContractType);
  config.relays = ReadAll<AllianceRelay>(stub, kRelayType);
  if (auto percent = ReadOne<std::int64_t>(stub, kSettingType, {"relay_quorum_percent"})) {
    config.relay_quorum_percent = *percent;
  }
  return config;
}

bool Alliance::CheckRoute(shim::Context& ctx, std::string from_chain, std::string contract, std::string to_chain,
                          std::string namespace_name, std::string access) {
  Access wanted = ParseAccess(access, "the access");
  for (const Route& route : ReadAll<Route>(ctx.stub(), kRouteType)) {
    if (route.from_chain == from_chain && route.contract == contract && route.to_chain == to_chain &&
        route.namespace_name == namespace_name && (wanted == Access::kRead || route.access == Access::kWrite)) {
      return true;
    }
  }
  return false;
}

ContractDefinition Alliance::GetContractDefinition(shim::Context& ctx, std::string channel, std::string name) {
  Check(!channel.empty() && !name.empty(), "the channel and contract name must not be empty");
  auto definition = ReadOne<ContractDefinition>(ctx.stub(), kContractType, {channel, name});
  Check(definition.has_value(), "contract " + name + " is not defined on channel " + channel);
  return *definition;
}

}  // namespace entente::chaincode
