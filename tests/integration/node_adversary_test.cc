// Members attacking a node through its real interfaces (docs/security.md): a certificate of another
// chain named like a local client, a TCert presented as an identity, a certificate revoked while its
// connection stays open, and a client writing a chain that is not its own.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "runtime/common/signed_bytes.h"
#include "runtime/shim/package/package.h"
#include "tests/integration/alliance_fixture.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

// POSTs `package` to node `node` as `who`; returns the status and the body.
std::pair<int, std::string> Upload(RunningAlliance& a, const std::string& node, const std::string& who,
                                   const std::string& package) {
  auto r = a.Client(node, who)->Send("POST", "/v1/contracts", package, {{"Content-Type", "application/gzip"}});
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return {r->status, r->body};
}

// A package of the built library `so` named `name` version `version`; returns its bytes.
std::string PackageOf(RunningAlliance& a, const std::string& so, const std::string& name, const std::string& version) {
  std::string file = a.dir() + "/" + name + "-" + version + "-" + std::to_string(std::rand()) + ".tar.gz";
  package::PackageMetadata metadata{name, version, shim::kAbiVersion, "", "Weighted(0.5)", ""};
  Must(package::CreatePackage(so, metadata, file));
  return ReadText(file);
}

// A gzip'd tar whose one entry declares `size` bytes (its data is not there): what a package that
// expands to gigabytes looks like to the extractor before it reads any data.
std::string TarBomb(const std::string& dir, std::uint64_t size) {
  char header[512] = {};
  std::snprintf(header, 100, "%s", "bomb.so");
  std::snprintf(header + 100, 8, "%07o", 0644);
  std::snprintf(header + 108, 8, "%07o", 0);
  std::snprintf(header + 116, 8, "%07o", 0);
  std::snprintf(header + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(header + 136, 12, "%011o", 0);
  header[156] = '0';
  std::memcpy(header + 257, "ustar", 6);
  std::memcpy(header + 263, "00", 2);
  std::memset(header + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  std::snprintf(header + 148, 8, "%06o", sum);
  WriteText(dir + "/bomb.tar", std::string(header, 512) + std::string(1 << 20, '\0'));
  REQUIRE(RunCommand({"gzip", "-f", dir + "/bomb.tar"}).exit_code == 0);
  return ReadText(dir + "/bomb.tar.gz");
}

// Waits up to a minute until node `client` speaks to reports `count` requests waiting for news
// (entente_node_waiting_requests); returns whether it did.
bool AwaitWaitingRequests(http::Client& client, double count) {
  for (int i = 0; i < 2400; ++i) {
    auto metrics = client.Get("/metrics");
    if (metrics.ok()) {
      auto at = metrics->body.find("\nentente_node_waiting_requests ");
      if (at != std::string::npos && std::stod(metrics->body.substr(at + 31)) == count) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

Json Publish(const std::string& id) {
  return Json{{"contract", "data_exchange"}, {"function", "PublishRecord"}, {"args", {id, "payload", "a note"}}};
}

// "Still serving" in numbers: node a1 answers /healthz (through `alice`'s connection) within 1 s and
// commits alice's record `id` within 5 s.
void CheckStillServing(RunningAlliance& a, http::Client& alice, const std::string& id) {
  auto start = std::chrono::steady_clock::now();
  auto health = alice.Get("/healthz");
  REQUIRE(health.ok());
  CHECK(health->status == 200);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  start = std::chrono::steady_clock::now();
  auto [status, outcome] = a.Submit("a1", "alice", Publish(id));
  REQUIRE_MESSAGE(status == 200, outcome.dump());
  CHECK(outcome["code_name"] == "VALID");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("A chainB certificate named like chainA's client cannot use chainA's custodial identity") {
  RunningAlliance& a = SharedAlliance();
  a.Enroll("fake-alice", "chainB", crypto::Role::kClient, "alice");  // chainB's CA, CN=alice
  auto [status, refused] = a.Submit("a1", "fake-alice", Publish("impersonated"));
  CHECK(status == 403);  // a node serves its own chain's clients, and signs only for the exact ECert
  CHECK(refused["detail"].get<std::string>().find("O=chainB") != std::string::npos);
  auto queried = a.Client("a1", "fake-alice")->Post("/v1/queries", Publish("impersonated").dump());
  REQUIRE(queried.ok());
  CHECK(queried->status == 403);
  // The real alice still is herself.
  auto [ok_status, committed] = a.Submit("a1", "alice", Publish("by-alice"));
  REQUIRE_MESSAGE(ok_status == 200, committed.dump());
  CHECK(committed["code_name"] == "VALID");
}

TEST_CASE("A TCert cannot authenticate a connection; /healthz needs no certificate at all") {
  RunningAlliance& a = SharedAlliance();
  http::ClientOptions options;
  options.port = a.port("a1");
  options.tls.ca_files = {a.dir() + "/ca-chainA/ca.pem", a.dir() + "/ca-chainB/ca.pem"};
  {
    http::Client anonymous(options);
    auto health = anonymous.Get("/healthz");
    REQUIRE(health.ok());
    CHECK(health->status == 200);
    auto refused = anonymous.Post("/v1/transactions", Publish("anonymous").dump());
    REQUIRE(refused.ok());
    CHECK(refused->status == 401);
  }
  options.tls.cert_file = a.IdentityDir("alice") + "/tcerts/tcert-0.pem";
  options.tls.key_file = a.IdentityDir("alice") + "/tcerts/tcert-0-key.pem";
  http::Client by_tcert(options);
  auto refused = by_tcert.Get("/v1/alliance");
  CHECK_FALSE(refused.ok());  // the handshake fails
}

TEST_CASE("A certificate revoked while its connection stays open is refused on its next request once the node reloads its CRLs") {
  RunningAlliance& a = SharedAlliance();
  a.Enroll("carol", "chainA", crypto::Role::kClient, "carol");
  auto carol = a.Client("a2", "carol");
  auto before = carol->Get("/v1/alliance");
  REQUIRE(before.ok());
  CHECK(before->status == 200);

  a.Revoke("carol", "chainA");
  a.process("a2").Signal(SIGHUP, /*wait=*/false);
  int status = 200;
  for (int i = 0; i < 100 && status == 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto after = carol->Get("/v1/alliance");  // the same keep-alive connection, then new ones
    status = after.ok() ? after->status : 0;
    if (after.ok() && after->status == 403) {
      CHECK(after->body.find("no longer valid") != std::string::npos);
      CHECK(after->body.find("revoked") != std::string::npos);
    }
  }
  CHECK(status != 200);
  // A new connection with it fails at the handshake.
  auto again = a.Client("a2", "carol")->Get("/v1/alliance");
  CHECK_FALSE(again.ok());
  // The node still serves everyone else.
  auto alice = a.Client("a2", "alice")->Get("/v1/alliance");
  REQUIRE(alice.ok());
  CHECK(alice->status == 200);
}

TEST_CASE("A node runs, simulates and queries nothing on a channel the caller's chain may not use: ROUTE_NOT_ALLOWED") {
  RunningAlliance& a = SharedAlliance();
  endorser::Signer alice = a.SignerOf("alice", 1);
  auto on_chain_b = Must(endorser::MakeSignedProposal(alice, "chainB", "data_exchange", "PublishRecord",
                                                      {"written-by-chainA", "payload", "a note"}));
  auto refused = [&](const std::string& node, const std::string& who, const std::string& target, const Json& body) {
    CAPTURE(target);
    auto r = a.Client(node, who)->Post(target, body.dump());
    REQUIRE(r.ok());
    CHECK(r->status == 403);
    return r->body;
  };
  // chainB's node does not take alice's requests at all; her own node runs nothing on chainB for her.
  refused("b1", "alice", "/v1/transactions", Json{{"signed_proposal", on_chain_b.ToJson()}});
  std::string endorse = refused("a1", "alice", "/v1/transactions", Json{{"signed_proposal", on_chain_b.ToJson()}});
  CHECK(endorse.find("ROUTE_NOT_ALLOWED") != std::string::npos);
  CHECK(endorse.find("no write route from chainA to chainB") != std::string::npos);
  refused("a1", "alice", "/v1/simulations", Json{{"signed_proposal", on_chain_b.ToJson()}});
  // A query on chainB would hand chainB's data to a chainA client.
  refused("a1", "alice", "/v1/queries",
          Json{{"channel", "chainB"}, {"contract", "data_exchange"}, {"function", "GetRecord"}, {"args", {"x"}}});
  // chainB's admin may use a chainA node for the alliance channel only, not to read chainA.
  endorser::Signer admin_b{Must(crypto::Certificate::LoadFile(a.IdentityDir("admin-b") + "/cert.pem")),
                           {},
                           Must(crypto::PrivateKey::LoadFile(a.IdentityDir("admin-b") + "/key.pem"))};
  auto reading_a = Must(endorser::MakeSignedProposal(admin_b, "chainA", "asset_transfer", "ReadAsset", {"any"}));
  refused("a1", "admin-b", "/v1/simulations", Json{{"signed_proposal", reading_a.ToJson()}});
}

TEST_CASE("Contracts are installed only by the chain's own admins, load only once defined, and are never replaced") {
  RunningAlliance& a = SharedAlliance();
  const std::string data_exchange = PackageOf(a, DATA_EXCHANGE_SO, "data_exchange", "1");

  // chainB's admin on a chainA node.
  auto [foreign_status, foreign] = Upload(a, "a1", "admin-b", data_exchange);
  CHECK(foreign_status == 403);
  CHECK(foreign.find("chainA's admins only") != std::string::npos);

  // Another library under the name and version of a running contract.
  auto [replace_status, replace] = Upload(a, "a1", "admin-a", PackageOf(a, ASSET_TRANSFER_SO, "data_exchange", "1"));
  CHECK(replace_status == 409);
  CHECK(replace.find("needs a new version") != std::string::npos);
  auto [run_status, ran] = a.Submit("a1", "alice", Publish("after-replace-attempt"));
  REQUIRE_MESSAGE(run_status == 200, ran.dump());
  CHECK(ran["code_name"] == "VALID");

  // A package nobody defined is stored, not loaded: its code never runs.
  auto [probe_status, probe] = Upload(a, "a1", "admin-a", PackageOf(a, ASSET_TRANSFER_SO, "probe", "1"));
  CHECK(probe_status == 201);
  Json listed = Must(ParseJson(probe));
  CHECK(listed["active"] == false);
  std::string maps = ReadText("/proc/" + std::to_string(a.process("a1").pid()) + "/maps");
  CHECK(maps.find("probe.so") == std::string::npos);
  CHECK(maps.find("data_exchange.so") != std::string::npos);  // the defined one is loaded
  // The error bodies name no server path.
  auto [junk_status, junk] = Upload(a, "a1", "admin-a", "not a package");
  CHECK(junk_status == 400);
  CHECK(junk.find(a.dir()) == std::string::npos);
  CHECK(junk.find("/uploads/") == std::string::npos);
}

TEST_CASE("A package that expands to gigabytes is refused from its header, costing the node less than 64 MiB") {
  RunningAlliance& a = SharedAlliance();
  std::string bomb = TarBomb(a.dir(), std::uint64_t{4} << 30);
  REQUIRE(ResetPeakResident(a.process("a1").pid()));
  std::size_t before = PeakResidentBytes(a.process("a1").pid());
  REQUIRE(before > 0);
  auto [status, body] = Upload(a, "a1", "admin-a", bomb);
  CHECK(status == 400);
  CHECK(body.find("would expand the package past") != std::string::npos);
  std::size_t after = PeakResidentBytes(a.process("a1").pid());  // the peak while it was refused
  CHECK(after < before + (64u << 20));
  auto health = a.Client("a1", "alice")->Get("/healthz");
  REQUIRE(health.ok());
  CHECK(health->status == 200);
}

TEST_CASE("Eight MiB of '[' is refused before it is built, costing the node less than 64 MiB") {
  RunningAlliance& a = SharedAlliance();
  REQUIRE(ResetPeakResident(a.process("a2").pid()));
  std::size_t before = PeakResidentBytes(a.process("a2").pid());
  REQUIRE(before > 0);
  auto r = a.Client("a2", "alice")->Post("/v1/transactions", std::string(8 << 20, '['));
  REQUIRE(r.ok());
  CHECK(r->status == 400);
  CHECK(r->body.find("nested deeper than") != std::string::npos);
  std::size_t after = PeakResidentBytes(a.process("a2").pid());  // the peak while it was refused
  CHECK(after < before + (64u << 20));
}

TEST_CASE("Access matrix at a node: another chain's client reads its heights and the alliance, and along routes only") {
  RunningAlliance& a = SharedAlliance();
  auto [status, committed] = a.Submit("a1", "alice", Publish("matrix-record"));
  REQUIRE_MESSAGE(status == 200, committed.dump());
  const std::string tx = "/v1/transactions/" + committed["tx_id"].get<std::string>();
  auto alice = a.Client("a1", "alice");
  auto bob = a.Client("a1", "bob");
  auto status_of = [](http::Client& c, std::string_view method, const std::string& target, const std::string& body = "") {
    auto r = c.Send(method, target, body, {{"Content-Type", "application/json"}});
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return r->status;
  };
  CHECK(status_of(*alice, "GET", tx) == 200);
  CHECK(status_of(*bob, "GET", tx) == 404);
  CHECK(status_of(*alice, "GET", "/v1/channels/chainA/blocks/0") == 200);
  CHECK(status_of(*bob, "GET", "/v1/channels/chainA/blocks/0") == 403);
  CHECK(status_of(*bob, "GET", "/v1/events?channel=chainA&wait_ms=0") == 403);
  CHECK(status_of(*bob, "GET", "/v1/contracts") == 403);
  CHECK(status_of(*bob, "POST", "/v1/transactions", Publish("by-bob-on-a1").dump()) == 403);
  CHECK(status_of(*bob, "POST", "/v1/queries", Publish("by-bob-on-a1").dump()) == 403);
  // State: asset_transfer along no route; data_exchange along b-reads-a (404: no such key, but readable).
  CHECK(status_of(*bob, "GET", "/v1/channels/chainA/state/asset_transfer/anything") == 403);
  CHECK(status_of(*bob, "GET", "/v1/channels/chainA/state/data_exchange/anything") == 404);
  // The alliance and every channel's height are every member's.
  CHECK(status_of(*bob, "GET", "/v1/alliance") == 200);
  CHECK(status_of(*bob, "GET", "/v1/channels/chainA") == 200);
  CHECK(status_of(*bob, "GET", "/v1/channels/alliance/blocks/0") == 200);
}

TEST_CASE("A node.yaml with a port past 65535 makes entente exit with a message, not abort or wrap") {
  RunningAlliance& a = SharedAlliance();
  std::string yaml = ReadText(a.dir() + "/a1.yaml");
  auto at = yaml.find("relay: {endpoint: 127.0.0.1:");
  REQUIRE(at != std::string::npos);
  auto end = yaml.find(',', at);
  for (const std::string& port : {std::string("70000"), std::string("99999999999999999999")}) {
    std::string bad = yaml.substr(0, at) + "relay: {endpoint: 127.0.0.1:" + port + yaml.substr(end);
    WriteText(a.dir() + "/bad-port.yaml", bad);
    CommandResult run = RunEntente({"node", "--config", a.dir() + "/bad-port.yaml"});
    CAPTURE(run.output);
    CHECK(run.exit_code == 1);
    CHECK(run.output.find("port from 1 to 65535") != std::string::npos);
  }
}

TEST_CASE("Four times a node's handler threads in event streams hold no thread: /healthz answers within 1 s, a transaction commits within 5 s") {
  RunningAlliance& a = SharedAlliance();
  const int kStreams = 4 * 64;  // a node runs 64 handler threads
  auto alice = a.Client("a1", "alice");
  // chainA has a block, so that the streams wait for its next.
  REQUIRE(a.Submit("a1", "alice", Publish("before-event-streams")).first == 200);
  auto channel = alice->Get("/v1/channels/chainA");
  REQUIRE(channel.ok());
  std::uint64_t height = Must(ParseJson(channel->body))["height"];
  std::atomic<int> answered{0};
  std::vector<std::thread> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.emplace_back([&] {
      auto r = a.Client("a1", "alice")->Get("/v1/events?channel=chainA&from=" + std::to_string(height) +
                                            "&wait_ms=30000");
      if (r.ok() && r->status == 200 && r->body.find("event: block") != std::string::npos) ++answered;
    });
  }
  REQUIRE(AwaitWaitingRequests(*alice, kStreams));

  CheckStillServing(a, *alice, "under-event-streams");
  // That block is what they waited for: every stream is answered with it.
  for (std::thread& t : streams) t.join();
  CHECK(answered == kStreams);
}

TEST_CASE("Four times a node's handler threads in commit waits hold no thread: /healthz answers within 1 s, a transaction commits within 5 s") {
  // The relay cuts a block only at 257 transactions (or after ten minutes, never when idle): the first
  // 256 submissions wait for their commit until the 257th arrives.
  const int kWaits = 4 * 64;  // a node runs 64 handler threads
  AllianceExtras extras;
  extras.relay_blocks = "{max_tx: " + std::to_string(kWaits + 1) + ", max_wait_ms: 600000, cut_when_idle: false}";
  RunningAlliance a(std::move(extras));
  std::atomic<int> committed{0};
  std::vector<std::thread> submissions;
  for (int i = 0; i < kWaits; ++i) {
    submissions.emplace_back([&a, &committed, i] {
      auto [status, outcome] = a.Submit("a1", "alice", Publish("commit-wait-" + std::to_string(i)));
      if (status == 200 && outcome["code_name"] == "VALID") ++committed;
    });
  }
  auto alice = a.Client("a1", "alice");
  REQUIRE(AwaitWaitingRequests(*alice, kWaits));

  CheckStillServing(a, *alice, "past-commit-waits");
  // Its block holds every waiting transaction: each is answered committed.
  for (std::thread& t : submissions) t.join();
  CHECK(committed == kWaits);
}

}  // namespace
}  // namespace entente::testing
