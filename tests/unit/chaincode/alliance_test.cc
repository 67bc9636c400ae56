#include "chaincode/alliance/alliance.h"

#include <doctest/doctest.h>

#include <chrono>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/crypto/crypto.h"

namespace {

using entente::chaincode::Alliance;
using entente::chaincode::AllianceConfig;
using entente::chaincode::ContractDefinition;
using entente::shim::Chaincode;
using entente::shim::Identity;
using entente::shim::Json;
using entente::shim::MockStub;
using entente::shim::Response;
using entente::shim::ToText;

const std::string kPem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
const std::string kSha = std::string(64, 'a');
const Identity kAdmin{"chainA", "admin", "adminA", ""};
const Identity kClient{"chainA", "client", "client1", ""};

std::shared_ptr<Chaincode> AllianceChaincode() {
  auto chaincode = std::make_shared<Chaincode>();
  chaincode->Add(std::make_unique<Alliance>());
  return chaincode;
}

Json Payload(const Response& response) { return Json::parse(ToText(response.payload)); }

Json MemberJson(const std::string& name, const std::string& admin = "", std::int64_t weight = 1) {
  Json admins = Json::array();
  if (!admin.empty()) admins.push_back({{"id", admin}, {"weight", weight}});
  return {{"name", name}, {"ca_certs", {kPem}}, {"admins", admins}};
}

Json NodeJson(const std::string& id, const std::string& chain, std::int64_t weight = 1) {
  return {{"id", id}, {"chain", chain}, {"weight", weight}, {"endpoint", "https://" + id + ":7443"}, {"ecert", kPem}};
}

Json RelayJson(const std::string& id, const std::string& chain, std::int64_t weight = 1) {
  return {{"id", id}, {"chain", chain}, {"weight", weight}, {"endpoint", "https://" + id + ":7443"}, {"cert", kPem}};
}

Json RouteJson(const std::string& id, const std::string& from, const std::string& to, const std::string& access,
               const std::string& contract = "data_exchange", const std::string& ns = "data_exchange") {
  return {{"id", id},       {"from_chain", from}, {"contract", contract},
          {"to_chain", to}, {"namespace", ns},    {"access", access}};
}

Json ContractJson(const std::string& channel, const std::string& name, const std::string& version,
                  const std::string& sha = kSha) {
  return {{"channel", channel}, {"name", name}, {"version", version}, {"sha256", sha}, {"policy", "Weighted(0.5)"}};
}

// Two chains with an admin each, three nodes, a read route from B to A, and CC1 on both chains. Listed in
// key order, so that GetAlliance returns it unchanged.
Json GenesisSpec() {
  return {
      {"members", {MemberJson("chainA", "adminA", 2), MemberJson("chainB", "adminB", 1)}},
      {"nodes", {NodeJson("nodeA1", "chainA", 2), NodeJson("nodeA2", "chainA"), NodeJson("nodeB1", "chainB")}},
      {"routes", {RouteJson("b-reads-a", "chainB", "chainA", "read")}},
      {"contracts", {ContractJson("chainA", "data_exchange", "1.0"), ContractJson("chainB", "data_exchange", "1.0")}}};
}

std::map<std::string, std::string> CommittedSnapshot(MockStub& stub) {
  std::map<std::string, std::string> out;
  Json alliance = Payload(stub.Invoke("GetAlliance"));
  for (const auto& item : alliance.items()) out[item.key()] = item.value().dump();
  return out;
}

// An alliance after genesis, driven by an admin of chain A.
struct Genesis {
  MockStub stub{"alliance", "alliance", AllianceChaincode()};
  Genesis() {
    Response r = stub.Invoke("Init", {GenesisSpec().dump()});
    REQUIRE_MESSAGE(r.ok(), r.message);
    stub.set_creator(kAdmin);
  }
  bool Route(const std::string& from, const std::string& to, const std::string& access,
             const std::string& contract = "data_exchange", const std::string& ns = "data_exchange") {
    Response r = stub.Invoke("CheckRoute", {from, contract, to, ns, access});
    REQUIRE_MESSAGE(r.ok(), r.message);
    return Payload(r).get<bool>();
  }
};

// ---- CRLs: real CAs, since the contract verifies each CRL with its chain's CA key ----

using entente::crypto::Certificate;
using entente::crypto::PrivateKey;
using TimePoint = entente::crypto::TimePoint;
using std::chrono::hours;

struct RealCa {
  Certificate cert;
  PrivateKey key;
};

RealCa MakeCa(const std::string& chain) {
  PrivateKey key = *PrivateKey::Generate();
  auto now = entente::crypto::Clock::now();
  entente::crypto::CertificateRequest request{chain, "ca", "ca-" + chain, now - hours(1), now + hours(24 * 365), true,
                                              {}, {}, std::nullopt};
  auto cert = entente::crypto::IssueCertificate(request, key.Public(), nullptr, key);
  REQUIRE(cert.ok());
  return {*cert, std::move(key)};
}

const RealCa& CaA() {
  static const RealCa ca = MakeCa("chainA");
  return ca;
}
const RealCa& CaB() {
  static const RealCa ca = MakeCa("chainB");
  return ca;
}

// A CRL of `ca` issued `age` ago, due again `valid` after that.
std::string CrlOf(const RealCa& ca, hours age, hours valid = hours(24)) {
  TimePoint issued = entente::crypto::Clock::now() - age;
  auto pem = entente::crypto::MakeCrlPem(ca.cert, ca.key, {}, issued, issued + valid);
  REQUIRE(pem.ok());
  return *pem;
}

Json RealMemberJson(const std::string& name, const RealCa& ca, const std::string& admin) {
  return {{"name", name}, {"ca_certs", {ca.cert.Pem()}}, {"admins", {{{"id", admin}, {"weight", 1}}}}};
}

// An alliance of chainA and chainB with real CAs, driven by an admin of chain A at the current time.
struct CrlGenesis {
  MockStub stub{"alliance", "alliance", AllianceChaincode()};
  CrlGenesis() {
    Json spec{{"members", {RealMemberJson("chainA", CaA(), "adminA"), RealMemberJson("chainB", CaB(), "adminB")}}};
    Response r = stub.Invoke("Init", {spec.dump()});
    REQUIRE_MESSAGE(r.ok(), r.message);
    stub.set_creator(kAdmin);
    stub.set_timestamp_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                              entente::crypto::Clock::now().time_since_epoch())
                              .count());
  }
  Response Publish(const std::string& chain, const std::string& crl) { return stub.Invoke("PublishCrl", {chain, crl}); }
  Json MemberA() { return Payload(stub.Invoke("GetAlliance"))["members"][0]; }
};

}  // namespace

TEST_CASE("PublishCrl puts a CRL of the chain's CA into its member, and a newer one replaces it") {
  CrlGenesis alliance;
  std::string first = CrlOf(CaA(), hours(2));
  Response published = alliance.Publish("chainA", first);
  REQUIRE_MESSAGE(published.ok(), published.message);
  CHECK(alliance.MemberA()["crls"] == Json::array({first}));
  std::string newer = CrlOf(CaA(), hours(1));
  REQUIRE(alliance.Publish("chainA", newer).ok());
  CHECK(alliance.MemberA()["crls"] == Json::array({newer}));
  CHECK(alliance.MemberA().get<entente::chaincode::Member>().crls == std::vector<std::string>{newer});
}

TEST_CASE("PublishCrl refuses another chain's admin, another CA's CRL, one not newer, and one past its nextUpdate") {
  CrlGenesis alliance;
  REQUIRE(alliance.Publish("chainA", CrlOf(CaA(), hours(2))).ok());
  auto refused = [&](const std::string& chain, const std::string& crl, const std::string& why) {
    Response r = alliance.Publish(chain, crl);
    CHECK(r.status == 400);
    CHECK_MESSAGE(r.message.find(why) != std::string::npos, r.message);
  };
  refused("chainB", CrlOf(CaB(), hours(1)), "only an admin of chain chainB publishes its CRLs");
  refused("chainA", CrlOf(CaB(), hours(1)), "not one of its CAs'");
  refused("chainA", CrlOf(CaA(), hours(3)), "is not newer than the one published");
  refused("chainA", CrlOf(CaA(), hours(1), hours(0)), "past its nextUpdate");
  refused("chainA", "-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n", "not one of its CAs'");
  refused("chainX", CrlOf(CaA(), hours(1)), "only an admin of chain chainX");
  alliance.stub.set_creator(kClient);
  refused("chainA", CrlOf(CaA(), hours(1)), "only an admin may change the alliance");
}

TEST_CASE("UpdateMember keeps a member's CRLs of the CAs it still lists, and changes no CRL itself") {
  CrlGenesis alliance;
  std::string crl = CrlOf(CaA(), hours(1));
  REQUIRE(alliance.Publish("chainA", crl).ok());
  Json admins_changed = RealMemberJson("chainA", CaA(), "adminA2");
  REQUIRE(alliance.stub.Invoke("UpdateMember", {admins_changed.dump()}).ok());
  CHECK(alliance.MemberA()["crls"] == Json::array({crl}));

  Json smuggled = RealMemberJson("chainA", CaA(), "adminA2");
  smuggled["crls"] = Json::array({CrlOf(CaA(), hours(0))});
  Response r = alliance.stub.Invoke("UpdateMember", {smuggled.dump()});
  CHECK(r.status == 400);
  CHECK(r.message == "member chainA's CRLs change through PublishCrl only");

  Json rotated = RealMemberJson("chainA", CaB(), "adminA2");
  rotated["name"] = "chainA";
  REQUIRE(alliance.stub.Invoke("UpdateMember", {rotated.dump()}).ok());
  CHECK_FALSE(alliance.MemberA().contains("crls"));
}

TEST_CASE("UpdateMember accepts a member as read, given another CA and written back with the old CA's CRLs") {
  CrlGenesis alliance;
  std::string crl = CrlOf(CaA(), hours(1));
  REQUIRE(alliance.Publish("chainA", crl).ok());
  Json read = alliance.MemberA();
  REQUIRE(read["crls"] == Json::array({crl}));
  Json rotated = RealMemberJson("chainA", CaB(), "adminA");
  rotated["name"] = "chainA";
  rotated["crls"] = read["crls"];  // as read: the CRLs of the CA it drops
  Response r = alliance.stub.Invoke("UpdateMember", {rotated.dump()});
  REQUIRE_MESSAGE(r.status == 200, r.message);
  CHECK_FALSE(alliance.MemberA().contains("crls"));
}

TEST_CASE("Init refuses a member whose CRL its CA did not sign") {
  MockStub stub{"alliance", "alliance", AllianceChaincode()};
  Json member = RealMemberJson("chainA", CaA(), "adminA");
  member["crls"] = Json::array({CrlOf(CaB(), hours(1))});
  Response r = stub.Invoke("Init", {Json{{"members", {member}}}.dump()});
  CHECK(r.status == 400);
  CHECK(r.message.find("a CRL of member chainA is not one of its CAs'") != std::string::npos);
}

TEST_CASE("Init loads the genesis spec, and GetAlliance returns it") {
  Genesis alliance;
  Response r = alliance.stub.Invoke("GetAlliance");
  REQUIRE(r.ok());
  CHECK(Payload(r) == GenesisSpec());
  CHECK(Payload(r).get<AllianceConfig>() == GenesisSpec().get<AllianceConfig>());
  auto member = alliance.stub.CommittedState(alliance.stub.CreateCompositeKey("member", {"chainA"}));
  REQUIRE(member.has_value());
  CHECK(ToText(*member) == MemberJson("chainA", "adminA", 2).dump());
}

TEST_CASE("Init and every config change emit AllianceChanged naming the function and what changed") {
  MockStub stub("alliance", "alliance", AllianceChaincode());
  auto event = [&stub]() {
    REQUIRE(stub.LastEvent().has_value());
    CHECK(stub.LastEvent()->first == "AllianceChanged");
    return Json::parse(ToText(stub.LastEvent()->second));
  };
  REQUIRE(stub.Invoke("Init", {GenesisSpec().dump()}).ok());
  CHECK(event() == Json{{"function", "Init"}, {"id", "genesis"}});
  stub.set_creator(kAdmin);
  REQUIRE(stub.Invoke("AddMember", {MemberJson("chainC", "adminC").dump()}).ok());
  CHECK(event() == Json{{"function", "AddMember"}, {"id", "chainC"}});
  REQUIRE(stub.Invoke("UpdateMember", {MemberJson("chainC", "adminC", 2).dump()}).ok());
  CHECK(event() == Json{{"function", "UpdateMember"}, {"id", "chainC"}});
  REQUIRE(stub.Invoke("SetNode", {NodeJson("nodeC1", "chainC").dump()}).ok());
  CHECK(event() == Json{{"function", "SetNode"}, {"id", "nodeC1"}});
  REQUIRE(stub.Invoke("RemoveNode", {"nodeC1"}).ok());
  CHECK(event() == Json{{"function", "RemoveNode"}, {"id", "nodeC1"}});
  REQUIRE(stub.Invoke("AddRoute", {RouteJson("c-reads-a", "chainC", "chainA", "read").dump()}).ok());
  CHECK(event() == Json{{"function", "AddRoute"}, {"id", "c-reads-a"}});
  REQUIRE(stub.Invoke("RemoveRoute", {"c-reads-a"}).ok());
  CHECK(event() == Json{{"function", "RemoveRoute"}, {"id", "c-reads-a"}});
  REQUIRE(stub.Invoke("DefineContract", {ContractJson("chainC", "data_exchange", "1.0").dump()}).ok());
  CHECK(event() == Json{{"function", "DefineContract"}, {"id", "chainC/data_exchange"}});
  REQUIRE_FALSE(stub.Invoke("RemoveRoute", {"c-reads-a"}).ok());
  CHECK_FALSE(stub.LastEvent().has_value());
  REQUIRE(stub.Invoke("GetAlliance").ok());
  CHECK_FALSE(stub.LastEvent().has_value());
}

TEST_CASE("Init accepts a spec of members alone and needs no admin role") {
  MockStub stub("alliance", "alliance", AllianceChaincode());
  stub.set_creator(kClient);
  Json spec{{"members", {MemberJson("chainA", "adminA")}}};
  REQUIRE(stub.Invoke("Init", {spec.dump()}).ok());
  CHECK(Payload(stub.Invoke("GetAlliance")) == Json{{"members", spec["members"]},
                                                    {"nodes", Json::array()},
                                                    {"routes", Json::array()},
                                                    {"contracts", Json::array()}});
}

TEST_CASE("Init runs only on an empty alliance") {
  Genesis alliance;
  auto before = CommittedSnapshot(alliance.stub);
  Json other{{"members", {MemberJson("chainZ", "adminZ")}}};
  Response r = alliance.stub.Invoke("Init", {other.dump()});
  CHECK(r.status == 400);
  CHECK(r.message == "the alliance is already initialized; change it with config transactions");
  CHECK(CommittedSnapshot(alliance.stub) == before);
}

TEST_CASE("Init rejects a spec without members, without admins, with duplicates or with unknown chains") {
  struct Case {
    std::string name;
    Json spec;
    std::string message;
  };
  auto with = [](const char* field, Json value) {
    Json spec = GenesisSpec();
    spec[field] = std::move(value);
    return spec;
  };
  const std::vector<Case> cases = {
      {"no member", Json{{"members", Json::array()}}, "the genesis spec needs at least one member"},
      {"no admin", Json{{"members", {MemberJson("chainA")}}}, "the genesis spec needs at least one admin"},
      {"member twice", with("members", {MemberJson("chainA", "a"), MemberJson("chainA", "b")}),
       "member chainA is listed twice"},
      {"admin twice",
       with("members", {Json{{"name", "chainA"},
                             {"ca_certs", {kPem}},
                             {"admins", {{{"id", "a"}, {"weight", 1}}, {{"id", "a"}, {"weight", 2}}}}}}),
       "member chainA lists admin a twice"},
      {"node twice", with("nodes", {NodeJson("n1", "chainA"), NodeJson("n1", "chainB")}), "node n1 is listed twice"},
      {"node of unknown chain", with("nodes", {NodeJson("n1", "chainX")}),
       "node n1 belongs to chain chainX, which is not a member"},
      {"route twice",
       with("routes", {RouteJson("r", "chainA", "chainB", "read"), RouteJson("r", "chainB", "chainA", "read")}),
       "route r is listed twice"},
      {"route from unknown chain", with("routes", {RouteJson("r", "chainX", "chainA", "read")}),
       "route r starts at chain chainX, which is not a member"},
      {"route to unknown chain", with("routes", {RouteJson("r", "chainA", "chainX", "write")}),
       "route r leads to chain chainX, which is not a member"},
      {"route within one chain", with("routes", {RouteJson("r", "chainA", "chainA", "read")}),
       "route r must join two different chains"},
      {"contract twice", with("contracts", {ContractJson("chainA", "cc", "1"), ContractJson("chainA", "cc", "2")}),
       "contract cc on channel chainA is listed twice"},
      {"contract on unknown channel", with("contracts", {ContractJson("chainX", "cc", "1")}),
       "contract cc is defined on channel chainX, which is neither a member chain nor 'alliance'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    MockStub stub("alliance", "alliance", AllianceChaincode());
    Response r = stub.Invoke("Init", {c.spec.dump()});
    CHECK(r.status == 400);
    CHECK(r.message == c.message);
    CHECK(Payload(stub.Invoke("GetAlliance"))["members"].empty());
  }
}

TEST_CASE("Malformed values are 400 errors that name the value and the field, and write nothing") {
  struct Case {
    std::string name;
    Json spec;
    std::string message;  // after "parameter 0: "
  };
  auto member_with = [](const char* field, Json value) {
    Json m = MemberJson("chainA", "adminA");
    m[field] = std::move(value);
    return Json{{"members", {m}}};
  };
  auto node_with = [](const char* field, Json value) {
    Json n = NodeJson("n1", "chainA");
    n[field] = std::move(value);
    return Json{{"members", {MemberJson("chainA", "adminA")}}, {"nodes", {n}}};
  };
  auto route_with = [](const char* field, Json value) {
    Json r = RouteJson("r1", "chainA", "chainB", "read");
    r[field] = std::move(value);
    return Json{{"members", {MemberJson("chainA", "adminA"), MemberJson("chainB")}}, {"routes", {r}}};
  };
  auto contract_with = [](const char* field, Json value) {
    Json d = ContractJson("chainA", "cc", "1");
    d[field] = std::move(value);
    return Json{{"members", {MemberJson("chainA", "adminA")}}, {"contracts", {d}}};
  };
  const std::string weight_message = "' must be a positive integer of at most 1000000000";
  const std::vector<Case> cases = {
      {"spec not an object", Json::array(), "the alliance spec must be a JSON object"},
      {"unknown spec field", Json{{"members", Json::array()}, {"relay", Json::array()}},
       "the alliance spec has an unknown field 'relay'"},
      {"members not an array", Json{{"members", "chainA"}}, "the alliance spec: 'members' must be an array"},
      {"member without name", Json{{"members", {Json{{"ca_certs", {kPem}}}}}}, "a member lacks the field 'name'"},
      {"member name empty", member_with("name", ""), "a member: 'name' must be a non-empty string"},
      {"no CA certificate", member_with("ca_certs", Json::array()), "member chainA needs at least one CA certificate"},
      {"CA certificate not PEM", member_with("ca_certs", {"MIIB"}),
       "member chainA: each of 'ca_certs' must be a PEM certificate"},
      {"admin weight zero", member_with("admins", {{{"id", "a"}, {"weight", 0}}}),
       "member chainA: admin a: 'weight" + weight_message},
      {"unknown member field", member_with("weight", 3), "a member has an unknown field 'weight'"},
      {"node weight zero", node_with("weight", 0), "node n1: 'weight" + weight_message},
      {"node weight negative", node_with("weight", -2), "node n1: 'weight" + weight_message},
      {"node weight fractional", node_with("weight", 1.5), "node n1: 'weight" + weight_message},
      {"node weight a string", node_with("weight", "3"), "node n1: 'weight" + weight_message},
      {"node weight too large", node_with("weight", 2'000'000'000), "node n1: 'weight" + weight_message},
      {"node ecert not PEM", node_with("ecert", "cert"), "node n1: 'ecert' must be a PEM certificate"},
      {"node endpoint missing", node_with("endpoint", nullptr), "node n1: 'endpoint' must be a non-empty string"},
      {"route access unknown", route_with("access", "admin"),
       "route r1: 'access' must be \"read\" or \"write\", not \"admin\""},
      {"route namespace missing", route_with("namespace", ""), "route r1: 'namespace' must be a non-empty string"},
      {"sha256 too short", contract_with("sha256", "abc123"), "contract cc: 'sha256' must be 64 hexadecimal digits"},
      {"sha256 not hex", contract_with("sha256", std::string(63, 'a') + "g"),
       "contract cc: 'sha256' must be 64 hexadecimal digits"},
      {"policy missing", contract_with("policy", 7), "contract cc: 'policy' must be a non-empty string"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    MockStub stub("alliance", "alliance", AllianceChaincode());
    Response r = stub.Invoke("Init", {c.spec.dump()});
    CHECK(r.status == 400);
    CHECK(r.message == "parameter 0: " + c.message);
    CHECK(Payload(stub.Invoke("GetAlliance"))["members"].empty());
  }
  MockStub stub("alliance", "alliance", AllianceChaincode());
  Response not_json = stub.Invoke("Init", {"{members"});
  CHECK(not_json.status == 400);
  CHECK(not_json.message == "parameter 0 is not valid JSON");
}

TEST_CASE("Every config change requires an admin, checked before its parameters, and writes nothing otherwise") {
  Genesis alliance;
  auto before = CommittedSnapshot(alliance.stub);
  const std::vector<std::pair<std::string, std::vector<std::string>>> calls = {
      {"AddMember", {MemberJson("chainC", "adminC").dump()}},
      {"UpdateMember", {MemberJson("chainA", "adminA", 9).dump()}},
      {"SetNode", {NodeJson("nodeA3", "chainA").dump()}},
      {"RemoveNode", {"nodeA1"}},
      {"SetRelay", {RelayJson("r3", "chainA").dump()}},
      {"RemoveRelay", {"r1"}},
      {"SetRelayQuorum", {"67"}},
      {"AddRoute", {RouteJson("a-writes-b", "chainA", "chainB", "write").dump()}},
      {"RemoveRoute", {"b-reads-a"}},
      {"DefineContract", {ContractJson("chainA", "data_exchange", "2.0").dump()}},
      {"Alliance:AddMember", {MemberJson("chainC", "adminC").dump()}},
      {"AddMember", {"{not json"}},
  };
  for (const Identity& who :
       {kClient, Identity{"chainA", "node", "nodeA1", ""}, Identity{"chainA", "relay", "r", ""}}) {
    alliance.stub.set_creator(who);
    for (const auto& [function, params] : calls) {
      CAPTURE(who.role);
      CAPTURE(function);
      Response r = alliance.stub.Invoke(function, params);
      CHECK(r.status == 400);
      CHECK(r.message == "only an admin may change the alliance");
    }
  }
  CHECK(CommittedSnapshot(alliance.stub) == before);
  // Queries are open to every role.
  alliance.stub.set_creator(kClient);
  CHECK(alliance.stub.Invoke("GetAlliance").ok());
  CHECK(alliance.stub.Invoke("CheckRoute", {"chainB", "data_exchange", "chainA", "data_exchange", "read"}).ok());
  CHECK(alliance.stub.Invoke("GetContractDefinition", {"chainA", "data_exchange"}).ok());
}

TEST_CASE("AddMember adds a chain and fails for a chain that is already a member") {
  Genesis alliance;
  REQUIRE(alliance.stub.Invoke("AddMember", {MemberJson("chainC", "adminC", 3).dump()}).ok());
  Json members = Payload(alliance.stub.Invoke("GetAlliance"))["members"];
  REQUIRE(members.size() == 3);
  CHECK(members[2] == MemberJson("chainC", "adminC", 3));

  Response again = alliance.stub.Invoke("AddMember", {MemberJson("chainC", "other").dump()});
  CHECK(again.status == 400);
  CHECK(again.message == "chain chainC is already a member");
  CHECK(Payload(alliance.stub.Invoke("GetAlliance"))["members"][2] == MemberJson("chainC", "adminC", 3));

  Json twice{{"name", "chainD"},
             {"ca_certs", {kPem}},
             {"admins", {{{"id", "d"}, {"weight", 1}}, {{"id", "d"}, {"weight", 1}}}}};
  CHECK(alliance.stub.Invoke("AddMember", {twice.dump()}).message == "member chainD lists admin d twice");
  Json no_admins{{"name", "chainE"}, {"ca_certs", {kPem}}};
  REQUIRE(alliance.stub.Invoke("AddMember", {no_admins.dump()}).ok());
  CHECK(Payload(alliance.stub.Invoke("GetAlliance"))["members"][3]["admins"] == Json::array());
}

TEST_CASE("UpdateMember replaces a member but never leaves the alliance without an admin") {
  Genesis alliance;
  Json rotated = MemberJson("chainB", "adminB2", 4);
  rotated["ca_certs"].push_back(kPem + "second");
  REQUIRE(alliance.stub.Invoke("UpdateMember", {rotated.dump()}).ok());
  CHECK(Payload(alliance.stub.Invoke("GetAlliance"))["members"][1] == rotated);

  Response missing = alliance.stub.Invoke("UpdateMember", {MemberJson("chainX", "x").dump()});
  CHECK(missing.status == 400);
  CHECK(missing.message == "chain chainX is not a member");

  REQUIRE(alliance.stub.Invoke("UpdateMember", {MemberJson("chainB").dump()}).ok());
  Response last = alliance.stub.Invoke("UpdateMember", {MemberJson("chainA").dump()});
  CHECK(last.status == 400);
  CHECK(last.message == "the alliance would be left without an admin");
  CHECK(Payload(alliance.stub.Invoke("GetAlliance"))["members"][0] == MemberJson("chainA", "adminA", 2));
}

TEST_CASE("SetNode adds or replaces a node of a member chain") {
  Genesis alliance;
  REQUIRE(alliance.stub.Invoke("SetNode", {NodeJson("nodeB2", "chainB", 5).dump()}).ok());
  REQUIRE(alliance.stub.Invoke("SetNode", {NodeJson("nodeA1", "chainA", 7).dump()}).ok());
  Json nodes = Payload(alliance.stub.Invoke("GetAlliance"))["nodes"];
  REQUIRE(nodes.size() == 4);
  CHECK(nodes[0] == NodeJson("nodeA1", "chainA", 7));
  CHECK(nodes[3] == NodeJson("nodeB2", "chainB", 5));

  Response unknown = alliance.stub.Invoke("SetNode", {NodeJson("nodeX1", "chainX").dump()});
  CHECK(unknown.status == 400);
  CHECK(unknown.message == "node nodeX1 belongs to chain chainX, which is not a member");
  CHECK(Payload(alliance.stub.Invoke("GetAlliance"))["nodes"].size() == 4);
}

TEST_CASE("SetRelay and RemoveRelay change the replicated relays, never to none, and not for an alliance of one relay") {
  Genesis single;
  Response refused = single.stub.Invoke("SetRelay", {RelayJson("r1", "chainA").dump()});
  CHECK(refused.status == 400);
  CHECK(refused.message == "this alliance has one relay; replicated relays are listed at genesis (alliance.yaml relays:)");
  CHECK_FALSE(Payload(single.stub.Invoke("GetAlliance")).contains("relays"));

  MockStub stub{"alliance", "alliance", AllianceChaincode()};
  Json spec = GenesisSpec();
  spec["relays"] = {RelayJson("r1", "chainA"), RelayJson("r2", "chainB")};
  REQUIRE(stub.Invoke("Init", {spec.dump()}).ok());
  stub.set_creator(kAdmin);
  REQUIRE(stub.Invoke("SetRelay", {RelayJson("r3", "chainA", 2).dump()}).ok());
  REQUIRE(stub.Invoke("SetRelay", {RelayJson("r1", "chainA", 5).dump()}).ok());
  CHECK(Payload(stub.Invoke("GetAlliance"))["relays"] ==
        Json{RelayJson("r1", "chainA", 5), RelayJson("r2", "chainB"), RelayJson("r3", "chainA", 2)});
  Response unknown_chain = stub.Invoke("SetRelay", {RelayJson("r4", "chainX").dump()});
  CHECK(unknown_chain.message == "relay r4 is run by chain chainX, which is not a member");
  REQUIRE(stub.Invoke("RemoveRelay", {"r1"}).ok());
  REQUIRE(stub.Invoke("RemoveRelay", {"r3"}).ok());
  Response last = stub.Invoke("RemoveRelay", {"r2"});
  CHECK(last.message == "relay r2 is the alliance's last relay");
  CHECK(stub.Invoke("RemoveRelay", {"r9"}).message == "there is no relay r9");
  CHECK(Payload(stub.Invoke("GetAlliance"))["relays"] == Json{RelayJson("r2", "chainB")});
}

TEST_CASE("The relay quorum is set at genesis or by SetRelayQuorum, from 50 to 99 percent, only with replicated relays") {
  Genesis single;
  CHECK(single.stub.Invoke("SetRelayQuorum", {"67"}).message ==
        "relay_quorum_percent is for alliances with replicated relays; this alliance has one relay");
  CHECK_FALSE(Payload(single.stub.Invoke("GetAlliance")).contains("relay_quorum_percent"));

  MockStub stub{"alliance", "alliance", AllianceChaincode()};
  Json spec = GenesisSpec();
  spec["relays"] = {RelayJson("r1", "chainA"), RelayJson("r2", "chainB")};
  spec["relay_quorum_percent"] = 75;
  REQUIRE(stub.Invoke("Init", {spec.dump()}).ok());
  CHECK(Payload(stub.Invoke("GetAlliance"))["relay_quorum_percent"] == 75);
  stub.set_creator(kAdmin);
  REQUIRE(stub.Invoke("SetRelayQuorum", {"50"}).ok());
  CHECK_FALSE(Payload(stub.Invoke("GetAlliance")).contains("relay_quorum_percent"));  // the default
  for (const char* wrong : {"49", "100", "0"}) {
    Response refused = stub.Invoke("SetRelayQuorum", {wrong});
    CAPTURE(wrong);
    CHECK(refused.status == 400);
    CHECK(refused.message.starts_with("relay_quorum_percent must be 50 to 99"));
  }

  MockStub without_relays{"alliance", "alliance", AllianceChaincode()};
  Json quorum_alone = GenesisSpec();
  quorum_alone["relay_quorum_percent"] = 60;
  CHECK(without_relays.Invoke("Init", {quorum_alone.dump()}).message ==
        "relay_quorum_percent is for alliances with replicated relays (relays:)");
}

TEST_CASE("RemoveNode removes a node and fails for an unknown one") {
  Genesis alliance;
  REQUIRE(alliance.stub.Invoke("RemoveNode", {"nodeA2"}).ok());
  Json nodes = Payload(alliance.stub.Invoke("GetAlliance"))["nodes"];
  CHECK(nodes == Json{NodeJson("nodeA1", "chainA", 2), NodeJson("nodeB1", "chainB")});
  Response again = alliance.stub.Invoke("RemoveNode", {"nodeA2"});
  CHECK(again.status == 400);
  CHECK(again.message == "there is no node nodeA2");
  CHECK(alliance.stub.Invoke("RemoveNode", {""}).message == "the node id must not be empty");
}

TEST_CASE("AddRoute adds a route, and refuses a duplicate id or a chain that is not a member") {
  Genesis alliance;
  CHECK_FALSE(alliance.Route("chainA", "chainB", "write"));
  REQUIRE(alliance.stub.Invoke("AddRoute", {RouteJson("a-writes-b", "chainA", "chainB", "write").dump()}).ok());
  CHECK(alliance.Route("chainA", "chainB", "write"));
  CHECK(Payload(alliance.stub.Invoke("GetAlliance"))["routes"].size() == 2);

  Response twice = alliance.stub.Invoke("AddRoute", {RouteJson("a-writes-b", "chainB", "chainA", "read").dump()});
  CHECK(twice.status == 400);
  CHECK(twice.message == "route a-writes-b already exists");
  Response unknown = alliance.stub.Invoke("AddRoute", {RouteJson("x", "chainA", "chainX", "read").dump()});
  CHECK(unknown.message == "route x leads to chain chainX, which is not a member");
  CHECK(alliance.stub.Invoke("AddRoute", {RouteJson("y", "chainX", "chainA", "read").dump()}).message ==
        "route y starts at chain chainX, which is not a member");
  CHECK(alliance.stub.Invoke("AddRoute", {RouteJson("z", "chainA", "chainA", "read").dump()}).message ==
        "route z must join two different chains");
  CHECK(Payload(alliance.stub.Invoke("GetAlliance"))["routes"].size() == 2);
}

TEST_CASE("RemoveRoute removes a route, after which CheckRoute denies it") {
  Genesis alliance;
  CHECK(alliance.Route("chainB", "chainA", "read"));
  REQUIRE(alliance.stub.Invoke("RemoveRoute", {"b-reads-a"}).ok());
  CHECK_FALSE(alliance.Route("chainB", "chainA", "read"));
  Response again = alliance.stub.Invoke("RemoveRoute", {"b-reads-a"});
  CHECK(again.status == 400);
  CHECK(again.message == "there is no route b-reads-a");
  CHECK(alliance.stub.Invoke("RemoveRoute", {""}).message == "the route id must not be empty");
}

TEST_CASE("CheckRoute allows exactly what a route allows, and a write route allows reads too") {
  Genesis alliance;
  CHECK(alliance.Route("chainB", "chainA", "read"));
  CHECK_FALSE(alliance.Route("chainB", "chainA", "write"));
  CHECK_FALSE(alliance.Route("chainA", "chainB", "read"));  // routes have a direction
  CHECK_FALSE(alliance.Route("chainB", "chainA", "read", "other_contract"));
  CHECK_FALSE(alliance.Route("chainB", "chainA", "read", "data_exchange", "asset_transfer"));

  REQUIRE(alliance.stub
              .Invoke("AddRoute", {RouteJson("a-writes-b", "chainA", "chainB", "write", "bridge", "ledger").dump()})
              .ok());
  CHECK(alliance.Route("chainA", "chainB", "write", "bridge", "ledger"));
  CHECK(alliance.Route("chainA", "chainB", "read", "bridge", "ledger"));

  Response bad = alliance.stub.Invoke("CheckRoute", {"chainB", "data_exchange", "chainA", "data_exchange", "admin"});
  CHECK(bad.status == 400);
  CHECK(bad.message == "the access must be \"read\" or \"write\", not \"admin\"");
}

TEST_CASE("DefineContract defines a contract, replaces it with a new version, and refuses to redefine a version") {
  Genesis alliance;
  Json v2 = ContractJson("chainA", "data_exchange", "2.0", std::string(64, 'B'));
  REQUIRE(alliance.stub.Invoke("DefineContract", {v2.dump()}).ok());
  Response r = alliance.stub.Invoke("GetContractDefinition", {"chainA", "data_exchange"});
  REQUIRE(r.ok());
  ContractDefinition stored = Payload(r).get<ContractDefinition>();
  CHECK(stored.version == "2.0");
  CHECK(stored.sha256 == std::string(64, 'b'));  // stored in lowercase
  CHECK(Payload(alliance.stub.Invoke("GetAlliance"))["contracts"].size() == 2);

  // The same definition again is accepted; the same version with another package is not.
  CHECK(alliance.stub.Invoke("DefineContract", {v2.dump()}).ok());
  Response redefine = alliance.stub.Invoke(
      "DefineContract", {ContractJson("chainA", "data_exchange", "2.0", std::string(64, 'c')).dump()});
  CHECK(redefine.status == 400);
  CHECK(redefine.message ==
        "version 2.0 of contract data_exchange on channel chainA is already defined differently; give the new "
        "definition a new version");
  CHECK(Payload(alliance.stub.Invoke("GetContractDefinition", {"chainA", "data_exchange"}))["sha256"] ==
        std::string(64, 'b'));

  REQUIRE(alliance.stub.Invoke("DefineContract", {ContractJson("alliance", "alliance", "1.0").dump()}).ok());
  Response unknown = alliance.stub.Invoke("DefineContract", {ContractJson("chainX", "cc", "1").dump()});
  CHECK(unknown.status == 400);
  CHECK(unknown.message == "contract cc is defined on channel chainX, which is neither a member chain nor 'alliance'");
}

TEST_CASE("GetContractDefinition returns a definition and fails for an undefined contract") {
  Genesis alliance;
  Response r = alliance.stub.Invoke("GetContractDefinition", {"chainB", "data_exchange"});
  REQUIRE(r.ok());
  CHECK(Payload(r) == ContractJson("chainB", "data_exchange", "1.0"));
  Response missing = alliance.stub.Invoke("GetContractDefinition", {"chainB", "asset_transfer"});
  CHECK(missing.status == 400);
  CHECK(missing.message == "contract asset_transfer is not defined on channel chainB");
  CHECK(alliance.stub.Invoke("GetContractDefinition", {"", "x"}).message ==
        "the channel and contract name must not be empty");
}

TEST_CASE("GetAlliance's answer is a valid genesis spec for a new alliance") {
  Genesis alliance;
  REQUIRE(alliance.stub.Invoke("AddMember", {MemberJson("chainC", "adminC").dump()}).ok());
  REQUIRE(alliance.stub.Invoke("SetNode", {NodeJson("nodeC1", "chainC").dump()}).ok());
  std::string exported = ToText(alliance.stub.Invoke("GetAlliance").payload);
  MockStub copy("alliance", "alliance", AllianceChaincode());
  REQUIRE(copy.Invoke("Init", {exported}).ok());
  CHECK(ToText(copy.Invoke("GetAlliance").payload) == exported);
}

TEST_CASE("The metadata query tags the Alliance functions as submit or evaluate") {
  MockStub stub("alliance", "alliance", AllianceChaincode());
  Json metadata = Payload(stub.Invoke("org.hyperledger.fabric:GetMetadata"));
  std::map<std::string, std::string> tags;
  for (const Json& t : metadata["contracts"]["Alliance"]["transactions"]) tags[t["name"]] = t["tag"][0];
  CHECK(tags == std::map<std::string, std::string>{{"AddMember", "submit"},
                                                   {"AddRoute", "submit"},
                                                   {"CheckRoute", "evaluate"},
                                                   {"DefineContract", "submit"},
                                                   {"GetAlliance", "evaluate"},
                                                   {"GetContractDefinition", "evaluate"},
                                                   {"Init", "submit"},
                                                   {"PublishCrl", "submit"},
                                                   {"RemoveNode", "submit"},
                                                   {"RemoveRelay", "submit"},
                                                   {"RemoveRoute", "submit"},
                                                   {"SetNode", "submit"},
                                                   {"SetRelay", "submit"},
                                                   {"SetRelayQuorum", "submit"},
                                                   {"UpdateMember", "submit"}});
}

TEST_CASE("Alliance functions can be called qualified with the contract name") {
  Genesis alliance;
  REQUIRE(alliance.stub.Invoke("Alliance:SetNode", {NodeJson("nodeB2", "chainB").dump()}).ok());
  Response r = alliance.stub.Invoke("Alliance:GetAlliance");
  REQUIRE(r.ok());
  CHECK(Payload(r)["nodes"].size() == 4);
}
