// Cross-chain writes to member chains that are not Entente (DESIGN.md §8): chainA's data_exchange
// exports a record to an Ethereum chain (ganache with the EntenteBridge) and to an etcd-backed
// service (etcd's JSON gateway through the REST adapter), and the relay delivers both after commit.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "adapters/ethereum/ethereum_adapter.h"
#include "adapters/rest/rest_adapter.h"
#include "certs/ca.h"
#include "runtime/common/signed_bytes.h"
#include "tests/integration/alliance_fixture.h"
#include "tests/integration/etcd_fixture.h"
#include "tests/integration/ganache_fixture.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

// An Ethereum chain "ledgerE" and an etcd service "erp" that chainA's data_exchange may write.
struct ExternalAlliance {
  GanacheChain eth;
  EtcdServer etcd;
  TempDir dir;
  std::unique_ptr<RunningAlliance> alliance;

  ExternalAlliance() {
    auto ledger_ca = Must(certs::CertificateAuthority::Init(dir.Join("ca-ledgerE"), "ledgerE", false));
    AllianceExtras extras;
    extras.members.push_back({"ledgerE", {ledger_ca.root().Pem()}, {}});
    extras.members.push_back({"erp", {ReadText(etcd.ca_file())}, {}});
    for (const std::string& to : {std::string("ledgerE"), std::string("erp")}) {
      extras.routes.push_back({"a-exports-to-" + to, "chainA", "data_exchange", to, "data_exchange",
                               chaincode::Access::kWrite});
    }
    const char* source = std::getenv("ENTENTE_SOURCE_DIR");
    REQUIRE(source != nullptr);
    extras.adapters_yaml = "adapters:\n  - {chain: ledgerE, type: ethereum, endpoint: \"" + eth.endpoint() +
                           "\", bridge: \"" + eth.bridge() + "\", from: \"" + kGanacheAccount0 + "\"}\n" +
                           "  - {chain: erp, type: rest, endpoint: \"" + etcd.endpoint() + "\", mapping: " + source +
                           "/adapters/rest/mappings/etcd.yaml, cert: " + etcd.client_cert_file() +
                           ", key: " + etcd.client_key_file() + ", ca: [" + etcd.ca_file() + "]}\n";
    alliance = std::make_unique<RunningAlliance>(std::move(extras));
  }

  // The record under `record_id` as each chain holds it now (nullopt where it is absent).
  std::optional<std::string> OnEthereum(const std::string& record_id) const {
    adapters::EthereumAdapterOptions o = eth.Options();
    o.chain = "ledgerE";
    auto read = Must(Must(adapters::EthereumAdapter::Create(o))->Read("data_exchange", "record~" + record_id));
    return read ? std::optional<std::string>(ToString(read->value)) : std::nullopt;
  }
  std::optional<std::string> OnEtcd(const std::string& record_id) const {
    adapters::RestAdapterOptions o{"erp", etcd.endpoint(), etcd.client_cert_file(), etcd.client_key_file(),
                                   {etcd.ca_file()}, std::string(std::getenv("ENTENTE_SOURCE_DIR")) +
                                                         "/adapters/rest/mappings/etcd.yaml"};
    auto read = Must(Must(adapters::RestAdapter::Create(o))->Read("data_exchange", "record~" + record_id));
    return read ? std::optional<std::string>(ToString(read->value)) : std::nullopt;
  }

  // The relay's answer for `tx_id` once its delivery is no longer pending (or after 60 s).
  Json SettledDelivery(const std::string& tx_id) const {
    auto relay = alliance->Client("relay", "alice");
    Json answer;
    for (int i = 0; i < 600; ++i) {
      auto r = relay->Get("/v1/transactions/" + tx_id);
      REQUIRE(r.ok());
      answer = Must(ParseJson(r->body));
      if (answer.contains("delivery") && answer["delivery"]["state"] != "pending") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return answer;
  }
};

Json Publish(RunningAlliance& a, const std::string& id) {
  auto [status, body] = a.Submit("a1", "alice", Json{{"contract", "data_exchange"},
                                                     {"function", "PublishRecord"},
                                                     {"args", {id, "42 pallets of coffee", "a shipment notice"}}});
  REQUIRE_MESSAGE(status == 200, body.dump());
  REQUIRE(body["code_name"] == "VALID");
  return body;
}

// Alice's proposal to export `id`, endorsed through a1 but not submitted.
endorser::Envelope EndorsedExport(RunningAlliance& a, const std::string& id) {
  auto proposal = Must(endorser::MakeSignedProposal(a.SignerOf("alice", 1), "chainA", "data_exchange", "ExportRecord",
                                                    {id, "ledgerE,erp"}));
  auto [status, endorsed] = a.Submit("a1", "alice", Json{{"signed_proposal", proposal.ToJson()}});
  REQUIRE_MESSAGE(status == 200, endorsed.dump());
  Bytes payload = Must(Base64Decode(endorsed["envelope_payload"].get<std::string>()));
  return Must(endorser::Envelope::FromJson(Must(ParseJson(ToString(payload)))));
}

Json Submit(RunningAlliance& a, const endorser::Envelope& envelope) {
  auto sealed = Must(endorser::SealEnvelope(a.SignerOf("alice", 1), envelope));
  auto response = a.Client("a1", "alice")->Post("/v1/envelopes", ToString(sealed));
  REQUIRE(response.ok());
  REQUIRE_MESSAGE(response->status == 200, response->body);
  return Must(ParseJson(response->body));
}

TEST_CASE("One transaction on chainA delivers a record to Ethereum and to an etcd service; the initiator sees both") {
  ExternalAlliance x;
  RunningAlliance& a = *x.alliance;
  Publish(a, "export-1");
  auto [status, exported] = a.Submit("a1", "alice", Json{{"contract", "data_exchange"},
                                                         {"function", "ExportRecord"},
                                                         {"args", {"export-1", "ledgerE,erp"}}});
  REQUIRE_MESSAGE(status == 200, exported.dump());
  CHECK(exported["code_name"] == "VALID");

  Json settled = x.SettledDelivery(exported["tx_id"].get<std::string>());
  INFO(settled.dump());
  REQUIRE(settled.contains("delivery"));
  CHECK(settled["delivery"]["state"] == "delivered");
  REQUIRE(settled["delivery"]["writes"].size() == 2);
  for (const Json& w : settled["delivery"]["writes"]) {
    CHECK(w["state"] == "delivered");
    CHECK(w["applied"] == true);
    CHECK(w["key"] == "record~export-1");
    // Each chain's receipt: Ethereum's transaction and block, etcd's answer with the write's revision.
    if (w["chain"] == "ledgerE") {
      CHECK(w["receipt"]["transaction"].get<std::string>().starts_with("0x"));
      CHECK(w["receipt"]["block"].get<std::uint64_t>() > 0);
    } else {
      CHECK(w["receipt"]["status"] == 200);
      CHECK(w["receipt"]["answer"]["header"]["revision"].is_string());
    }
  }
  // The relay lists the delivery, newest first, for an admin or a node.
  auto [listed_status, listed] = a.Call("relay", "admin-a", "GET", "/v1/deliveries?state=delivered&limit=5");
  REQUIRE_MESSAGE(listed_status == 200, listed.dump());
  REQUIRE_FALSE(listed["deliveries"].empty());
  CHECK(listed["deliveries"][0]["tx_id"] == exported["tx_id"]);
  auto [client_status, client_answer] = a.Call("relay", "alice", "GET", "/v1/deliveries");
  CHECK(client_status == 403);
  // Another chain's admin sees none of chainA's.
  auto [other_status, other] = a.Call("relay", "admin-b", "GET", "/v1/deliveries");
  REQUIRE(other_status == 200);
  for (const Json& d : other["deliveries"]) CHECK(d["channel"] != "chainA");
  // The initiator's node answers the same delivery state.
  auto at_node = a.Client("a1", "alice")->Get("/v1/transactions/" + exported["tx_id"].get<std::string>());
  REQUIRE(at_node.ok());
  Json node_answer = Must(ParseJson(at_node->body));
  CHECK(node_answer["code_name"] == "VALID");
  CHECK(node_answer["delivery"] == settled["delivery"]);
  auto on_eth = x.OnEthereum("export-1");
  auto on_etcd = x.OnEtcd("export-1");
  REQUIRE(on_eth.has_value());
  REQUIRE(on_etcd.has_value());
  CHECK(on_eth->find("42 pallets of coffee") != std::string::npos);
  CHECK(*on_eth == *on_etcd);
  // chainA's own ledger holds no state of the other chains: their writes were delivered, not committed.
  auto local = a.Client("a2", "alice")->Get("/v1/channels/ledgerE/state/data_exchange/record~export-1");
  REQUIRE(local.ok());
  CHECK(local->status == 404);
}

TEST_CASE("A delivery whose read version went stale on the target chain is marked failed as a consistency failure") {
  ExternalAlliance x;
  RunningAlliance& a = *x.alliance;
  Publish(a, "export-2");
  // Both exports read the record's absence on ledgerE and erp; the first one's delivery changes it.
  endorser::Envelope first = EndorsedExport(a, "export-2");
  endorser::Envelope second = EndorsedExport(a, "export-2");
  Json first_answer = Submit(a, first);
  CHECK(first_answer["code_name"] == "VALID");
  CHECK(x.SettledDelivery(first_answer["tx_id"].get<std::string>())["delivery"]["state"] == "delivered");

  Json second_answer = Submit(a, second);
  CHECK(second_answer["code_name"] == "VALID");  // chainA's own state did not change
  Json settled = x.SettledDelivery(second_answer["tx_id"].get<std::string>());
  INFO(settled.dump());
  CHECK(settled["delivery"]["state"] == "failed");
  for (const Json& w : settled["delivery"]["writes"]) {
    CHECK(w["state"] == "failed");
    CHECK(w["detail"].get<std::string>().find("consistency failure") != std::string::npos);
  }
}

}  // namespace
}  // namespace entente::testing
