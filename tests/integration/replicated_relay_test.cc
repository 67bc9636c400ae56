// Replicated relays (DESIGN.md §11) as real processes: three relays order through a three-member etcd
// cluster and build the same blocks byte for byte (their signatures aside), also after one of them was
// killed under load and came back.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <set>
#include <thread>

#include "runtime/common/json.h"
#include "tests/integration/etcd_fixture.h"
#include "tests/integration/relay_fixture.h"

namespace entente::testing {
namespace {

// relay.yaml keys that make a relay `id` of the alliance ordering through `etcd` under `prefix`; calls
// to a member time out after 500 ms (loopback), so that a relay finds a new leader soon after an election.
// `more` goes inside the etcd block (", key: value" pairs).
std::string OrderingKeys(const EtcdCluster& etcd, const std::string& id, const std::string& prefix,
                         const std::string& more = "") {
  std::string endpoints;
  for (const std::string& e : etcd.endpoints()) endpoints += (endpoints.empty() ? "" : ", ") + e;
  return "id: " + id + "\nordering: {etcd: {endpoints: [" + endpoints + "], ca: " + etcd.ca_file() +
         ", cert: " + etcd.client_cert_file() + ", key: " + etcd.client_key_file() + ", prefix: " + prefix +
         ", timeout_ms: 500" + more + "}}\n";
}

// Three relays of one alliance, ordering through one etcd cluster.
struct Replicas {
  // `third` goes before the third relay's command line (e.g. an environment for a fault).
  Replicas(RelayAlliance& a, EtcdCluster& etcd, const std::string& prefix, std::vector<std::string> third = {})
      : alliance(a), etcd(etcd), prefix(prefix), third_launcher(std::move(third)) {
    for (int i = 0; i < 3; ++i) Start(i);
  }
  void Start(int i) {
    relays[i] = alliance.StartReplica(i, Dir(i), OrderingKeys(etcd, "r" + std::to_string(i + 1), prefix),
                                      i == 2 ? third_launcher : std::vector<std::string>{});
    clients[i] = alliance.ClientFor(alliance.client_a, relays[i].port);
    readers[i] = alliance.ClientFor(alliance.node_a1, relays[i].port);  // blocks are for nodes
  }
  std::string Dir(int i) const { return data.Join("relay" + std::to_string(i + 1)); }

  RelayAlliance& alliance;
  EtcdCluster& etcd;
  std::string prefix;
  std::vector<std::string> third_launcher;
  TempDir data;
  RunningRelay relays[3];
  std::unique_ptr<http::Client> clients[3];
  std::unique_ptr<http::Client> readers[3];
};

// The status of `tx_id` at `client` once it is committed; FAILs after about 20 s.
Json WaitCommitted(http::Client& client, const std::string& tx_id) {
  Json last;
  for (int i = 0; i < 1000; ++i) {
    http::Response r = Send(client, "GET", "/v1/transactions/" + tx_id);
    if (r.status == 200) {
      last = Body(r);
      if (last["state"] == "committed") return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("not committed: " << tx_id << " " << last.dump());
  return last;
}

// Every block of `channel` at `client`, as served.
std::vector<Json> Blocks(http::Client& client, const std::string& channel) {
  std::vector<Json> out;
  for (;;) {
    http::Response r = Send(client, "GET", "/v1/channels/" + channel + "/blocks?from=" + std::to_string(out.size()));
    REQUIRE_MESSAGE(r.status == 200, r.body);
    Json page = Body(r);
    if (page["blocks"].empty()) return out;
    for (Json block : page["blocks"]) out.push_back(std::move(block));
  }
}

// Every block of `channel` at `client`, each without the relays' signatures (its relay's and the
// certificate, which holds the signatures that relay gathered first).
std::vector<Json> BlocksWithoutSignatures(http::Client& client, const std::string& channel) {
  std::vector<Json> out = Blocks(client, channel);
  for (Json& block : out) {
    block["metadata"].erase("relay_signature");
    block["metadata"].erase("certificate");
  }
  return out;
}

// The height each relay serves of `channel` (its certified blocks), once the three agree; FAILs after 30 s.
void WaitSameHeight(Replicas& replicas, const std::string& channel) {
  std::string heights;
  for (int i = 0; i < 300; ++i) {
    std::set<std::uint64_t> seen;
    heights.clear();
    for (int r = 0; r < 3; ++r) {
      http::Response answer = Send(*replicas.readers[r], "GET", "/v1/channels/" + channel);
      std::uint64_t height = answer.status == 200 ? Body(answer).value("height", std::uint64_t{0}) : 0;
      seen.insert(height);
      heights += " r" + std::to_string(r + 1) + "=" + std::to_string(height);
    }
    if (seen.size() == 1) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string logs;
  for (int r = 0; r < 3; ++r) {
    std::string log = replicas.relays[r].process->Log();
    logs += "\n--- r" + std::to_string(r + 1) + " (last 4000 bytes)\n" + log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
  }
  FAIL("the relays do not certify the same height of " << channel << ":" << heights << logs);
}

// Checks that the three relays serve the same blocks of `channel`, certified.
void CheckSameBlocks(Replicas& replicas, const std::string& channel) {
  WaitSameHeight(replicas, channel);
  std::vector<Json> first = BlocksWithoutSignatures(*replicas.readers[0], channel);
  CHECK(first.size() > 1);
  for (int i = 1; i < 3; ++i) {
    std::vector<Json> other = BlocksWithoutSignatures(*replicas.readers[i], channel);
    REQUIRE(other.size() == first.size());
    for (std::size_t n = 0; n < first.size(); ++n) {
      CAPTURE(n);
      CHECK(other[n] == first[n]);
    }
  }
}

TEST_CASE("Three relays ordering through etcd commit every envelope once and build the same blocks") {
  RelayAlliance& a = Fixture();
  EtcdCluster etcd(3);
  Replicas replicas(a, etcd, "/same-blocks");
  const std::vector<const Member*> majority{&a.node_a1, &a.node_a2};

  // Three submitters at once, one per relay, so that the relays' batches interleave in the log.
  std::vector<BuiltEnvelope> envelopes[3];
  std::vector<std::thread> submitters;
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; i < 15; ++i) {
      std::string key = "same-" + std::to_string(r) + "-" + std::to_string(i);
      envelopes[r].push_back(a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {key}),
                                                  .endorsers = majority}));
    }
  }
  for (int r = 0; r < 3; ++r) {
    submitters.emplace_back([&, r] {
      auto client = a.ClientFor(a.client_a, replicas.relays[r].port);
      for (const BuiltEnvelope& e : envelopes[r]) Submit(*client, e);
    });
  }
  for (auto& t : submitters) t.join();
  // A double write of one key: the relays agree on which one wins.
  BuiltEnvelope first = a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {"contested"}),
                                             .endorsers = majority});
  Submit(*replicas.clients[0], first);
  Submit(*replicas.clients[1], first);  // the same bytes at another relay: ordered twice, valid once

  for (int r = 0; r < 3; ++r) {
    for (const BuiltEnvelope& e : envelopes[r]) {
      for (int at = 0; at < 3; ++at) CHECK(WaitCommitted(*replicas.clients[at], e.tx_id)["code_name"] == "VALID");
    }
  }
  for (int at = 0; at < 3; ++at) CHECK(WaitCommitted(*replicas.clients[at], first.tx_id)["code_name"] == "VALID");
  CheckSameBlocks(replicas, "chainA");
}

TEST_CASE("A relay killed under load comes back, catches up from the log and builds the others' blocks") {
  RelayAlliance& a = Fixture();
  EtcdCluster etcd(3);
  Replicas replicas(a, etcd, "/restart");
  const std::vector<const Member*> majority{&a.node_a1, &a.node_a2};

  std::vector<BuiltEnvelope> sent;
  std::atomic<bool> killed{false};
  std::thread load([&] {
    auto to_first = a.ClientFor(a.client_a, replicas.relays[0].port);
    auto to_third = a.ClientFor(a.client_a, replicas.relays[2].port);
    for (int i = 0; i < 60; ++i) {
      BuiltEnvelope e = a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {"load-" + std::to_string(i)}),
                                             .endorsers = majority});
      Submit(i % 2 == 0 ? *to_first : *to_third, e);
      sent.push_back(e);
      if (i == 20) {
        replicas.relays[1].process->Signal(SIGKILL);
        killed = true;
      }
    }
  });
  load.join();
  REQUIRE(killed);
  replicas.Start(1);
  // It reads the log again from where its blocks stand, not from the start.
  const std::string log = replicas.relays[1].process->Log();
  const auto resumed_at = log.find("from revision ");
  REQUIRE_MESSAGE(resumed_at != std::string::npos, log);
  CHECK(std::stoll(log.substr(resumed_at + 14)) > 1);
  for (const BuiltEnvelope& e : sent) {
    for (int at = 0; at < 3; ++at) CHECK(WaitCommitted(*replicas.clients[at], e.tx_id)["code_name"] == "VALID");
  }
  CheckSameBlocks(replicas, "chainA");
}

// Submits `e` to `client` until it is acknowledged (202), answering each refusal with a retry after
// 100 ms; returns false after `patience`, saying what the last answer was.
bool SubmitUntilAcknowledged(http::Client& client, const BuiltEnvelope& e, std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  std::string last = "none";
  int attempts = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = client.Post("/v1/envelopes", e.bytes);
    ++attempts;
    if (r.ok() && r->status == 202) return true;
    last = r.ok() ? std::to_string(r->status) + " " + r->body : r.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  MESSAGE("not acknowledged after " << attempts << " attempts; the last answer: " << last);
  return false;
}

TEST_CASE("An etcd member killed under load stalls submissions under 5 s; two of three frozen get 503 within 2 s; nothing acknowledged is lost") {
  RelayAlliance& a = Fixture();
  EtcdCluster etcd(3);
  Replicas replicas(a, etcd, "/etcd-faults");
  const std::vector<const Member*> majority{&a.node_a1, &a.node_a2};
  auto make = [&](const std::string& key) {
    return a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {key}), .endorsers = majority});
  };

  std::vector<BuiltEnvelope> acknowledged;
  std::chrono::milliseconds longest_stall{0};
  auto last_ack = std::chrono::steady_clock::now();
  const int leader = etcd.Leader();
  for (int i = 0; i < 60; ++i) {
    if (i == 15) etcd.Signal(leader, SIGKILL);  // the leader: an election on top of a lost member
    BuiltEnvelope e = make("member-killed-" + std::to_string(i));
    REQUIRE(SubmitUntilAcknowledged(*replicas.clients[i % 3], e, std::chrono::seconds(10)));
    auto now = std::chrono::steady_clock::now();
    longest_stall = std::max(longest_stall, std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ack));
    last_ack = now;
    acknowledged.push_back(e);
  }
  CHECK(longest_stall < std::chrono::seconds(5));
  MESSAGE("longest stall of submissions with the etcd leader killed: " << longest_stall.count() << " ms");

  etcd.Start(leader);
  const int frozen[2] = {(leader + 1) % 3, (leader + 2) % 3};
  etcd.Signal(frozen[0], SIGSTOP);
  etcd.Signal(frozen[1], SIGSTOP);
  BuiltEnvelope refused = make("frozen");
  for (int r = 0; r < 3; ++r) {
    auto start = std::chrono::steady_clock::now();
    auto answer = replicas.clients[r]->Post("/v1/envelopes", refused.bytes);
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(answer.ok());
    CHECK(answer->status == 503);
    CHECK(answer->body.find("etcd") != std::string::npos);
    CHECK(took < std::chrono::milliseconds(2000));
  }
  etcd.Signal(frozen[0], SIGCONT);
  etcd.Signal(frozen[1], SIGCONT);
  REQUIRE(SubmitUntilAcknowledged(*replicas.clients[0], refused, std::chrono::seconds(20)));
  acknowledged.push_back(refused);
  BuiltEnvelope after = make("after-thaw");
  REQUIRE(SubmitUntilAcknowledged(*replicas.clients[1], after, std::chrono::seconds(20)));
  acknowledged.push_back(after);

  for (const BuiltEnvelope& e : acknowledged) {
    for (int at = 0; at < 3; ++at) CHECK(WaitCommitted(*replicas.clients[at], e.tx_id)["code_name"] == "VALID");
  }
  CheckSameBlocks(replicas, "chainA");
}

TEST_CASE("A relay that signs another verdict is outvoted: the others certify their block and report it; it certifies nothing") {
  RelayAlliance& a = Fixture();
  EtcdCluster etcd(3);
  Replicas replicas(a, etcd, "/liar", {"env", "ENTENTE_RELAY_FAULT=flip-verdicts"});
  const std::vector<const Member*> majority{&a.node_a1, &a.node_a2};
  BuiltEnvelope e = a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {"outvoted"}),
                                         .endorsers = majority});
  Submit(*replicas.clients[2], e);  // through the liar itself
  for (int at = 0; at < 3; ++at) {
    CAPTURE(at);
    INFO(replicas.relays[at].process->Log());
    WaitCommitted(*replicas.clients[at], e.tx_id);
  }

  // r1 and r2 certify block 0 of chainA with their two signatures, and serve it with r3's refused one.
  std::vector<Json> blocks;
  for (int i = 0; i < 250 && blocks.empty(); ++i) {
    blocks = Blocks(*replicas.readers[0], "chainA");
    if (blocks.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(blocks.size() == 1);
  const Json& metadata = blocks[0]["metadata"];
  CHECK(metadata["validation_codes"] == Json::array({0}));
  CHECK(metadata["certificate"].contains("r1"));
  CHECK(metadata["certificate"].contains("r2"));
  CHECK(BlocksWithoutSignatures(*replicas.readers[1], "chainA") == BlocksWithoutSignatures(*replicas.readers[0], "chainA"));
  // The honest relays name the liar, at /v1/alliance/disagreements and in /metrics.
  Json disagreements;
  for (int i = 0; i < 250; ++i) {
    disagreements = Body(Send(*replicas.clients[0], "GET", "/v1/alliance/disagreements"))["disagreements"];
    if (!disagreements.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(disagreements.size() == 1);
  CHECK(disagreements[0]["relay"] == "r3");
  CHECK(disagreements[0]["channel"] == "chainA");
  CHECK(Send(*replicas.clients[1], "GET", "/metrics").body.find("entente_relay_certificate_disagreements_total 1") !=
        std::string::npos);
  // The liar's block never gathers a majority: it serves nodes nothing.
  CHECK(Body(Send(*replicas.readers[2], "GET", "/v1/channels/chainA"))["height"] == 0);
  CHECK(BlocksWithoutSignatures(*replicas.readers[2], "chainA").empty());
}

// An envelope of one write of `bytes` bytes, for filling the log.
BuiltEnvelope BigEnvelope(RelayAlliance& a, const std::string& key, std::size_t bytes) {
  ledger::RwSet rwset;
  rwset.namespaces.push_back({"chainA", "asset", {}, {}, {{key, false, Bytes(bytes, 'v')}}});
  return a.Build(a.client_a, {.rwset = rwset, .endorsers = {&a.node_a1, &a.node_a2}});
}

TEST_CASE("With etcd's quota at 64 MiB, 300 MiB of envelopes pass through a relay: the log is compacted and no space alarm is raised") {
  RelayAlliance& a = Fixture();
  // Members that keep 1,000 entries in memory (the default keeps 100,000) and hold at most 64 MiB.
  EtcdCluster etcd(3, {"--quota-backend-bytes", std::to_string(64 << 20), "--snapshot-count", "1000"});
  TempDir data;
  RunningRelay relay = a.StartReplica(
      0, data.Join("r1"),
      OrderingKeys(etcd, "r1", "/quota", ", compaction_interval_ms: 300, retention: 20") + "body_limit: 1048576\n");
  constexpr std::size_t kTotal = 300u << 20;
  std::atomic<std::size_t> sent{0};
  std::atomic<int> next{0};
  std::vector<std::string> last_ids(4);
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&, t] {
      auto client = a.ClientFor(a.client_a, relay.port);
      while (sent.load() < kTotal) {
        BuiltEnvelope e = BigEnvelope(a, "big-" + std::to_string(next++), 96 << 10);
        REQUIRE(SubmitUntilAcknowledged(*client, e, std::chrono::seconds(30)));
        sent += e.bytes.size();
        last_ids[static_cast<std::size_t>(t)] = e.tx_id;
      }
    });
  }
  for (auto& t : submitters) t.join();
  MESSAGE(next.load() << " envelopes, " << (sent.load() >> 20) << " MiB through the log");
  auto client = a.ClientFor(a.client_a, relay.port);
  for (const std::string& id : last_ids) CHECK(WaitCommitted(*client, id)["code_name"] == "VALID");

  Json alarms = etcd.Call("/v3/maintenance/alarm", {{"action", "GET"}});
  CHECK_MESSAGE(!alarms.contains("alarms"), alarms.dump());
  Json status = etcd.Call("/v3/maintenance/status", Json::object());
  CHECK(std::stoll(status.value("dbSize", std::string("0"))) < (64 << 20));
  MESSAGE("etcd member 0: " << status.dump());
  CHECK(relay.process->Log().find("compacted the ordered log at revision") != std::string::npos);
}

}  // namespace
}  // namespace entente::testing
