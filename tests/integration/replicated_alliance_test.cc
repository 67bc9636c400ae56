// An alliance with three replicated relays (r1, r2, r3) ordering through a three-member etcd cluster,
// with its nodes as real processes: nodes commit only blocks that relays of more than half the weight
// signed, and pull from another relay when theirs fails or lies.
#include <doctest/doctest.h>

#include <csignal>
#include <tuple>
#include <mutex>
#include <atomic>
#include <thread>

#include "runtime/common/json.h"
#include "certs/ca.h"
#include "tests/integration/alliance_fixture.h"
#include "tests/integration/etcd_fixture.h"
#include "tests/integration/ganache_fixture.h"
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
  // The honest relays name the liar, once its signature of the block reaches them: nodes commit on the
  // honest relays' quorum, so that may come after the commit.
  Json reported;
  bool named = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!named && std::chrono::steady_clock::now() < deadline) {
    reported = Must(ParseJson(a.Client("r1", "alice")->Get("/v1/alliance/disagreements")->body));
    for (const Json& d : reported["disagreements"]) named |= d["relay"] == "r3";
    if (!named) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK_MESSAGE(named, reported.dump());
}

// Every block of `channel` that relay `relay` serves, as node a1 reads them, without the relays' signatures.
std::vector<Json> CertifiedBlocks(const RunningAlliance& a, const std::string& relay, const std::string& channel) {
  std::vector<Json> out;
  auto client = a.Client(relay, "a1");
  for (;;) {
    auto r = client->Get("/v1/channels/" + channel + "/blocks?from=" + std::to_string(out.size()));
    REQUIRE(r.ok());
    REQUIRE_MESSAGE(r->status == 200, r->body);
    Json page = Must(ParseJson(r->body));
    if (page["blocks"].empty()) return out;
    for (Json block : page["blocks"]) {
      block["metadata"].erase("relay_signature");
      block["metadata"].erase("certificate");
      out.push_back(std::move(block));
    }
  }
}

// Checks that relay `relay` serves, within 10 s, every block of both chains that relay `reference`
// serves, byte for byte but for the signatures.
void CheckServesSameBlocks(const RunningAlliance& a, const std::string& relay, const std::string& reference) {
  for (const std::string channel : {"chainA", "chainB"}) {
    CAPTURE(channel);
    std::vector<Json> theirs = CertifiedBlocks(a, reference, channel);
    std::vector<Json> mine;
    for (int i = 0; i < 100 && mine.size() < theirs.size(); ++i) {
      mine = CertifiedBlocks(a, relay, channel);
      if (mine.size() < theirs.size()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(mine.size() >= theirs.size());
    for (std::size_t n = 0; n < theirs.size(); ++n) CHECK(mine[n] == theirs[n]);
  }
}

TEST_CASE("A relay killed under load through the nodes: every acknowledged transaction is VALID on every node, and the restarted relay builds the others' blocks") {
  EtcdCluster etcd(3);
  AllianceExtras extras;
  extras.ordering = OrderingOn(etcd);  // the nodes name r1, r2, r3 in turn
  RunningAlliance a(std::move(extras));
  struct Sent {
    std::string chain;
    std::string tx_id;
  };
  std::mutex mu;
  std::vector<Sent> acknowledged;
  std::atomic<int> submitted{0};
  std::vector<std::thread> load;
  for (const auto& [node, who, chain] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"a1", "alice", "chainA"}, {"a2", "alice", "chainA"}, {"b1", "bob", "chainB"}, {"b2", "bob", "chainB"}}) {
    load.emplace_back([&, node, who, chain] {
      for (int i = 0; i < 12; ++i) {
        if (++submitted == 16) a.process("r2").Signal(SIGKILL);
        auto [status, body] = a.Submit(node, who, Json{{"contract", "data_exchange"},
                                                       {"function", "PublishRecord"},
                                                       {"args", {node + "-" + std::to_string(i), "1", "under load"}}});
        if (status == 200 && body.value("code_name", "") == "VALID") {
          std::lock_guard lock(mu);
          acknowledged.push_back({chain, body["tx_id"]});
        }
      }
    });
  }
  for (auto& t : load) t.join();
  MESSAGE(acknowledged.size() << " of 48 transactions acknowledged VALID with r2 killed after the 16th");
  CHECK(acknowledged.size() >= 40);
  a.Restart("r2", SIGKILL);

  for (const std::string chain : {"chainA", "chainB"}) {
    std::uint64_t height = 0;
    for (const Json& answer : a.WaitForHeight(chain, 0)) height = std::max(height, answer.value("height", std::uint64_t{0}));
    CheckAllReach(a, chain, height);
  }
  for (const Sent& sent : acknowledged) {
    for (const std::string& node : a.NodesOf(sent.chain)) {
      if (node == "b3") continue;  // revoked: served no blocks
      auto tx = a.Client(node, sent.chain == "chainA" ? "alice" : "bob")->Get("/v1/transactions/" + sent.tx_id);
      REQUIRE(tx.ok());
      CAPTURE(node);
      CHECK(Must(ParseJson(tx->body))["code_name"] == "VALID");
    }
  }
  // The restarted relay read the log again from where its blocks stood and certifies the same blocks.
  CheckServesSameBlocks(a, "r2", "r1");
}

// The revision etcd's log was compacted at (the relays record it at /alliance/compacted), 0 before any.
std::int64_t CompactedAt(EtcdCluster& etcd) {
  Json found = etcd.Call("/v3/kv/range", {{"key", Base64Encode(AsBytes(std::string("/alliance/compacted")))}});
  if (!found.contains("kvs")) return 0;
  return std::stoll(ToString(Must(Base64Decode(found["kvs"][0]["value"].get<std::string>()))));
}

TEST_CASE("A relay kept down while the log it needs is compacted catches up from its peers' certified blocks and certifies the next blocks with them") {
  EtcdCluster etcd(3);
  AllianceExtras extras;
  extras.ordering = OrderingOn(etcd);
  extras.ordering->node_relay = "r1";
  extras.ordering->etcd_keys = ", compaction_interval_ms: 200, retention: 10";
  RunningAlliance a(std::move(extras));
  int next = 0;
  auto publish = [&](const std::string& node, const std::string& who) {
    auto [status, body] = a.Submit(node, who, Json{{"contract", "data_exchange"},
                                                   {"function", "PublishRecord"},
                                                   {"args", {"catch-up-" + std::to_string(next++), "1", "x"}}});
    REQUIRE_MESSAGE(status == 200, body.dump());
    CHECK(body["code_name"] == "VALID");
    return body;
  };
  publish("a1", "alice");
  a.Stop("r3", SIGTERM);
  const std::int64_t stopped_at =
      std::stoll(etcd.Call("/v3/kv/range", {{"key", Base64Encode(AsBytes(std::string("/alliance/none")))}})["header"]["revision"]
                     .get<std::string>());
  // As if its 30 s lease had expired: the others stop waiting for it.
  etcd.Call("/v3/kv/deleterange", {{"key", Base64Encode(AsBytes(std::string("/alliance/applied/r3")))}});
  // Traffic on both chains until the log r3 stopped at is compacted away.
  for (int i = 0; i < 200 && CompactedAt(etcd) <= stopped_at; ++i) {
    publish(i % 2 == 0 ? "a1" : "b1", i % 2 == 0 ? "alice" : "bob");
  }
  REQUIRE(CompactedAt(etcd) > stopped_at);
  MESSAGE(next << " transactions until the log was compacted past revision " << stopped_at);

  a.StartAgain("r3");
  CHECK(a.process("r3").Log().find("catching up from its peers' certified blocks") != std::string::npos);
  publish("b1", "bob");
  // r3 serves what r1 certified, byte for byte, and its signatures count again.
  CheckServesSameBlocks(a, "r3", "r1");
  // Blocks ordered while r3 was still catching up came to it certified without it; the next ones it
  // orders itself carry its signature.
  bool signed_by_r3 = false;
  for (int tx = 0; tx < 10 && !signed_by_r3; ++tx) {
    Json last = publish("a1", "alice");
    const std::string target = "/v1/channels/chainA/blocks?from=" + std::to_string(last["block"].get<std::uint64_t>());
    for (int i = 0; i < 30 && !signed_by_r3; ++i) {
      // Signatures that come after the quorum reach the served certificate only at r3 itself.
      Json page = Must(ParseJson(a.Client("r3", "a1")->Get(target)->body));
      signed_by_r3 = !page["blocks"].empty() && page["blocks"][0]["metadata"]["certificate"].contains("r3");
      if (!signed_by_r3) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  CHECK(signed_by_r3);
  CHECK(a.process("r3").Log().find("its signature is refused") == std::string::npos);
}

TEST_CASE("The relay that delivers to Ethereum is frozen and killed with a delivery pending: another relay takes the lease and finishes it, and the bridge applies the write once") {
  GanacheChain eth;
  EtcdCluster etcd(3);
  TempDir dir;
  auto ledger_ca = Must(certs::CertificateAuthority::Init(dir.Join("ca-ledgerE"), "ledgerE", false));
  AllianceExtras extras;
  extras.ordering = OrderingOn(etcd);
  extras.ordering->node_relay = "r2";  // r1 starts first and takes the delivery lease
  extras.members.push_back({"ledgerE", {ledger_ca.root().Pem()}, {}});
  extras.routes.push_back(
      {"a-exports-to-ledgerE", "chainA", "data_exchange", "ledgerE", "data_exchange", chaincode::Access::kWrite});
  extras.adapters_yaml = "adapters:\n  - {chain: ledgerE, type: ethereum, endpoint: \"" + eth.endpoint() +
                         "\", bridge: \"" + eth.bridge() + "\", from: \"" + kGanacheAccount0 + "\"}\n";
  RunningAlliance a(std::move(extras));
  auto [published_status, published] = a.Submit("a1", "alice", Json{{"contract", "data_exchange"},
                                                                     {"function", "PublishRecord"},
                                                                     {"args", {"lease-1", "42", "to Ethereum"}}});
  REQUIRE_MESSAGE(published_status == 200, published.dump());
  const std::uint64_t writes_before = eth.Writes();

  Json lease = etcd.Call("/v3/kv/range", {{"key", Base64Encode(AsBytes(std::string("/alliance/delivery/lease")))}});
  REQUIRE_MESSAGE(lease.contains("kvs"), lease.dump());
  const std::string holder = ToString(Must(Base64Decode(lease["kvs"][0]["value"].get<std::string>())));
  REQUIRE_MESSAGE(holder == "r1", "the delivery lease is held by " << holder);
  // The holder freezes with the delivery to come; the others order and certify the export without it.
  a.process(holder).Signal(SIGSTOP, /*wait=*/false);
  auto [status, exported] = a.Submit("a1", "alice", Json{{"contract", "data_exchange"},
                                                         {"function", "ExportRecord"},
                                                         {"args", {"lease-1", "ledgerE"}}});
  REQUIRE_MESSAGE(status == 200, exported.dump());
  REQUIRE(exported["code_name"] == "VALID");
  const std::string tx_id = exported["tx_id"];
  a.process(holder).Signal(SIGKILL);

  for (const std::string relay : {"r1", "r2", "r3"}) {
    if (relay == holder) continue;
    CAPTURE(relay);
    Json answer;
    for (int i = 0; i < 600; ++i) {
      auto r = a.Client(relay, "alice")->Get("/v1/transactions/" + tx_id);
      REQUIRE(r.ok());
      answer = Must(ParseJson(r->body));
      if (answer.contains("delivery") && answer["delivery"]["state"] != "pending") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(answer.dump());
    REQUIRE(answer.contains("delivery"));
    CHECK(answer["delivery"]["state"] == "delivered");
  }
  CHECK(eth.Writes() == writes_before + 1);
}

}  // namespace
}  // namespace entente::testing
