// An alliance with three replicated relays (r1, r2, r3) ordering through a three-member etcd cluster,
// with its nodes as real processes: nodes commit only blocks that relays of more than half the weight
// signed, and pull from another relay when theirs fails or lies.
#include <doctest/doctest.h>

#include <csignal>

#include "runtime/common/json.h"
#include "tests/integration/alliance_fixture.h"
#include "tests/integration/etcd_fixture.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

AllianceExtras::Ordering OrderingOn(const EtcdCluster& etcd) {
  AllianceExtras::Ordering o;
  o.endpoints = etcd.endpoints();
  o.ca_file = etcd.ca_file();
  o.cert_file = etcd.client_cert_file();
  o.key_file = etcd.client_key_file();
  return o;
}

// The height every node but b3 (revoked) reports for `chain`, once all reached `height`; FAILs otherwise.
void CheckAllReach(const RunningAlliance& a, const std::string& chain, std::uint64_t height) {
  for (const Json& answer : a.WaitForHeight(chain, height)) {
    CAPTURE(answer.dump());
    CHECK(answer.value("height", std::uint64_t{0}) >= height);
  }
}

TEST_CASE("Nodes whose relay signs other verdicts commit the block the other relays certified, and no node halts") {
  EtcdCluster etcd(3);
  AllianceExtras extras;
  extras.ordering = OrderingOn(etcd);
  extras.ordering->node_relay = "r3";  // every node starts at the liar
  extras.ordering->launchers["r3"] = {"env", "ENTENTE_RELAY_FAULT=flip-verdicts"};
  RunningAlliance a(std::move(extras));

  auto [status, published] = a.Submit("a1", "alice", Json{{"contract", "data_exchange"},
                                                          {"function", "PublishRecord"},
                                                          {"args", {"outvoted", "42", "through a lying relay"}}});
  REQUIRE_MESSAGE(status == 200, published.dump());
  CHECK(published["code_name"] == "VALID");  // the liar would have said MVCC_READ_CONFLICT
  const std::uint64_t block = published["block"].get<std::uint64_t>();
  CheckAllReach(a, "chainA", block + 1);
  for (const std::string& node : a.NodesOf("chainA")) {
    auto tx = a.Client(node, "alice")->Get("/v1/transactions/" + published["tx_id"].get<std::string>());
    REQUIRE(tx.ok());
    CAPTURE(node);
    CHECK(Must(ParseJson(tx->body))["code_name"] == "VALID");
    CHECK(a.process(node).Log().find("HALTING") == std::string::npos);
  }
  // The honest relays name the liar.
  Json reported = Must(ParseJson(a.Client("r1", "alice")->Get("/v1/alliance/disagreements")->body));
  bool named = false;
  for (const Json& d : reported["disagreements"]) named |= d["relay"] == "r3";
  CHECK_MESSAGE(named, reported.dump());
}

TEST_CASE("With the relay the nodes name killed, transactions go on through the others") {
  EtcdCluster etcd(3);
  AllianceExtras extras;
  extras.ordering = OrderingOn(etcd);
  RunningAlliance a(std::move(extras));
  auto publish = [&](const std::string& key) {
    return a.Submit("b1", "bob", Json{{"contract", "data_exchange"},
                                      {"function", "PublishRecord"},
                                      {"args", {key, "1", "while a relay is down"}}});
  };
  auto [before_status, before] = publish("before");
  REQUIRE_MESSAGE(before_status == 200, before.dump());
  a.process("r1").Signal(SIGKILL);
  CheckAllReach(a, "chainB", before["block"].get<std::uint64_t>() + 1);
  a.Restart("r1", SIGKILL);
  auto [after_status, after] = publish("after");
  REQUIRE_MESSAGE(after_status == 200, after.dump());
  CHECK(after["code_name"] == "VALID");
  CheckAllReach(a, "chainB", after["block"].get<std::uint64_t>() + 1);
}

}  // namespace
}  // namespace entente::testing
