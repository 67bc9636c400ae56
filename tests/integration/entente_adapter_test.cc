// The Entente adapter against a real relay over HTTPS with mutual TLS (DESIGN.md §8): reads with
// versions, StillCurrent, Height, Deliver of committed transactions; the route check of
// RoutedRemoteState against the alliance the relay serves; an unreachable chain; malformed answers.
#include "adapters/entente/entente_adapter.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "runtime/alliance/alliance.h"
#include "runtime/common/json.h"
#include "tests/integration/relay_fixture.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

using adapters::EntenteAdapter;
using adapters::EntenteAdapterOptions;


// Options for an adapter of `chain` at `port` on loopback, authenticating as `who`.
EntenteAdapterOptions OptionsFor(const Member& who, std::uint16_t port, std::string chain = "chainA") {
  EntenteAdapterOptions o;
  o.chain = std::move(chain);
  o.endpoint = "127.0.0.1:" + std::to_string(port);
  o.cert_file = who.dir + "-cert.pem";
  o.key_file = who.dir + "-key.pem";
  o.ca_files = {Fixture().dir() + "/alliance-cas.pem"};
  o.timeout = std::chrono::milliseconds(10000);
  return o;
}

std::unique_ptr<EntenteAdapter> AdapterFor(const Member& who, std::uint16_t port, std::string chain = "chainA") {
  return Must(EntenteAdapter::Create(OptionsFor(who, port, std::move(chain))));
}

// Submits an envelope to the relay and waits until it is settled; returns its status.
Json Commit(http::Client& client, const BuiltEnvelope& e) {
  auto posted = client.Post("/v1/envelopes", e.bytes);
  REQUIRE_MESSAGE(posted.ok(), posted.status().ToString());
  REQUIRE_MESSAGE(posted->status == 202, posted->body);
  Json last;
  for (int i = 0; i < 500; ++i) {
    auto r = client.Get("/v1/transactions/" + e.tx_id);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    if (r->status == 200) {
      last = Body(*r);
      if (last["state"] != "pending") return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("still pending: " << e.tx_id << " " << last.dump());
  return last;
}

// A valid transaction of chainA/asset writing `value` to `key`.
BuiltEnvelope WriteOf(const std::string& key, const std::string& value) {
  RelayAlliance& a = Fixture();
  ledger::NamespaceRwSet ns{"chainA", "asset", {}, {}, {{key, false, ToBytes(value)}}};
  ledger::RwSet rwset;
  rwset.namespaces.push_back(std::move(ns));
  return a.Build(a.client_a, {.rwset = rwset, .endorsers = {&a.node_a1, &a.node_a2}});
}

ledger::Version VersionOf(const Json& status) {
  return {status.at("block").get<std::uint64_t>(), status.at("index").get<std::uint64_t>()};
}

// A loopback port that nothing listens on (bound, then released).
std::uint16_t UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_CASE("The Entente adapter reads a committed value and its version from a running relay") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"));
  auto client = a.ClientFor(a.client_a, relay.port);
  // A key that needs percent-encoding in the path: a slash, a space, a question mark, UTF-8.
  const std::string odd_key = "odd/key ?#\xc3\xbc";
  Json plain = Commit(*client, WriteOf("adapter-k1", "first value"));
  REQUIRE(plain["code_name"] == "VALID");
  Json odd = Commit(*client, WriteOf(odd_key, "odd value"));
  REQUIRE(odd["code_name"] == "VALID");

  auto adapter = AdapterFor(a.node_b1, relay.port);
  CHECK(adapter->chain() == "chainA");
  CHECK(adapter->endpoint() == "127.0.0.1:" + std::to_string(relay.port));
  auto read = Must(adapter->Read("asset", "adapter-k1"));
  REQUIRE(read.has_value());
  CHECK(ToString(read->value) == "first value");
  CHECK(read->version == VersionOf(plain));
  auto read_odd = Must(adapter->Read("asset", odd_key));
  REQUIRE(read_odd.has_value());
  CHECK(ToString(read_odd->value) == "odd value");
  CHECK(read_odd->version == VersionOf(odd));

  // Absent keys, namespaces and chains are nullopt, not errors.
  CHECK_FALSE(Must(adapter->Read("asset", "never-written")).has_value());
  CHECK_FALSE(Must(adapter->Read("reader", "adapter-k1")).has_value());
  CHECK_FALSE(Must(AdapterFor(a.node_b1, relay.port, "chainB")->Read("asset", "adapter-k1")).has_value());

  // A request that cannot be sent.
  auto empty = adapter->Read("asset", "");
  CHECK(empty.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("StillCurrent turns false after the key is written again") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"));
  auto client = a.ClientFor(a.client_a, relay.port);
  auto adapter = AdapterFor(a.client_b, relay.port);

  Json first = Commit(*client, WriteOf("moving", "1"));
  REQUIRE(first["code_name"] == "VALID");
  ledger::Version v1 = Must(adapter->Read("asset", "moving"))->version;
  CHECK(v1 == VersionOf(first));
  CHECK(Must(adapter->StillCurrent("asset", "moving", v1)));

  Json second = Commit(*client, WriteOf("moving", "2"));
  REQUIRE(second["code_name"] == "VALID");
  ledger::Version v2 = VersionOf(second);
  CHECK(v2 != v1);
  CHECK_FALSE(Must(adapter->StillCurrent("asset", "moving", v1)));
  CHECK(Must(adapter->StillCurrent("asset", "moving", v2)));
  // A key that does not exist has no current version.
  CHECK_FALSE(Must(adapter->StillCurrent("asset", "never-written", ledger::Version{0, 0})));
}

TEST_CASE("Height follows the committed blocks") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"));
  auto client = a.ClientFor(a.client_a, relay.port);
  auto adapter = AdapterFor(a.node_a1, relay.port);

  CHECK(Must(adapter->Height()) == 0);
  for (int i = 0; i < 3; ++i) {
    Json status = Commit(*client, WriteOf("height-" + std::to_string(i), "x"));
    REQUIRE(status["code_name"] == "VALID");
    // Each transaction is settled before the next is sent, so each has a block of its own.
    CHECK(Must(adapter->Height()) == status["block"].get<std::uint64_t>() + 1);
    CHECK(Must(adapter->Height()) == static_cast<std::uint64_t>(i) + 1);
  }
  // The alliance channel holds the genesis block.
  CHECK(Must(AdapterFor(a.node_a1, relay.port, "alliance")->Height()) == 1);

  // The endpoint behind Height, as any member sees it.
  Json channel = Body(Must(client->Get("/v1/channels/chainA")));
  CHECK(channel["channel"] == "chainA");
  CHECK(channel["height"] == 3);
  CHECK(channel["last_hash"].get<std::string>().size() == 64);

  // A chain the alliance does not know.
  auto unknown = AdapterFor(a.node_a1, relay.port, "chainZ")->Height();
  CHECK(unknown.status().code() == StatusCode::kNotFound);
  CHECK(Contains(unknown.status().message(), "chainZ"));
}

TEST_CASE("A read along no route of the alliance is refused with PermissionDenied") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"));
  auto client = a.ClientFor(a.client_a, relay.port);
  Json written = Commit(*client, WriteOf("shared", "for chainB's reader"));
  REQUIRE(written["code_name"] == "VALID");

  // The alliance as the relay serves it: its one read route lets chainB's `reader` read chainA's `asset`
  // (the other lets chainA write chainB's `snooper`).
  auto config = Body(Must(client->Get("/v1/alliance"))).get<chaincode::AllianceConfig>();
  auto view = std::make_shared<const validation::AllianceView>(Must(alliance::BuildMembership(config, {})).view);
  REQUIRE(view->routes.size() == 2);
  adapters::AllianceSource source = [view] { return view; };
  std::shared_ptr<adapters::ChainAdapter> chain_a = AdapterFor(a.node_b1, relay.port, "chainA");
  std::shared_ptr<adapters::ChainAdapter> chain_b = AdapterFor(a.node_b1, relay.port, "chainB");
  auto remote = Must(adapters::RoutedRemoteState::Create({chain_a, chain_b}, source));

  auto allowed = Must(remote->Read("chainB", "reader", "chainA", "asset", "shared"));
  REQUIRE(allowed.has_value());
  CHECK(ToString(allowed->value) == "for chainB's reader");
  CHECK(allowed->version == VersionOf(written));

  auto snooper = remote->Read("chainB", "snooper", "chainA", "asset", "shared");
  CHECK(snooper.status().code() == StatusCode::kPermissionDenied);
  CHECK(Contains(snooper.status().message(), "snooper on chainB"));
  CHECK(Contains(snooper.status().message(), "asset on chainA"));
  // Routes have a direction, and name one namespace.
  CHECK(remote->Read("chainA", "asset", "chainB", "reader", "k").status().code() == StatusCode::kPermissionDenied);
  CHECK(remote->Read("chainB", "reader", "chainA", "badpolicy", "k").status().code() == StatusCode::kPermissionDenied);

  // A route without an adapter for its chain here: NotFound, naming the chain.
  auto no_adapters = Must(adapters::RoutedRemoteState::Create({chain_b}, source));
  auto missing = no_adapters->Read("chainB", "reader", "chainA", "asset", "shared");
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK(Contains(missing.status().message(), "chainA"));

  // No view loaded yet: nothing can be checked, nothing is read.
  auto unloaded = Must(
      adapters::RoutedRemoteState::Create({chain_a}, [] { return std::shared_ptr<const validation::AllianceView>(); }));
  CHECK(unloaded->Read("chainB", "reader", "chainA", "asset", "shared").status().code() ==
        StatusCode::kFailedPrecondition);

  // Two adapters of one chain, or a null one, are configuration errors.
  CHECK(adapters::RoutedRemoteState::Create({chain_a, chain_a}, source).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(adapters::RoutedRemoteState::Create({nullptr}, source).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("An unreachable chain is Unavailable after the retries, with a message naming the endpoint") {
  RelayAlliance& a = Fixture();
  std::uint16_t port = UnusedPort();
  EntenteAdapterOptions options = OptionsFor(a.node_a1, port);
  options.retries = 2;
  options.backoff = std::chrono::milliseconds(100);
  auto adapter = Must(EntenteAdapter::Create(options));
  const std::string endpoint = "127.0.0.1:" + std::to_string(port);

  auto start = std::chrono::steady_clock::now();
  auto read = adapter->Read("asset", "k");
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(read.status().code() == StatusCode::kUnavailable);
  CHECK(Contains(read.status().message(), endpoint));
  CHECK(Contains(read.status().message(), "after 3 attempts"));
  // Two waits between three attempts: 100 ms, then 200 ms.
  CHECK(elapsed >= std::chrono::milliseconds(300));

  options.retries = 0;
  auto once = Must(EntenteAdapter::Create(options));
  auto height = once->Height();
  CHECK(height.status().code() == StatusCode::kUnavailable);
  CHECK(Contains(height.status().message(), "after 1 attempt:"));
  CHECK(Contains(height.status().message(), endpoint));
  CHECK(once->Deliver({"ab12", "chainA", "asset", "k", ToBytes("v"), false}).status().code() ==
        StatusCode::kUnavailable);
}

TEST_CASE("Deliver reports a transaction the relay committed") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"));
  auto client = a.ClientFor(a.client_a, relay.port);
  auto adapter = AdapterFor(a.node_b1, relay.port);

  Json committed = Commit(*client, WriteOf("delivered", "v"));
  REQUIRE(committed["code_name"] == "VALID");
  const std::string tx_id = committed["tx_id"].get<std::string>();
  adapters::CrossChainWrite write{tx_id, "chainA", "asset", "delivered", ToBytes("v"), false};
  for (int i = 0; i < 2; ++i) {  // idempotent: the same answer each time
    adapters::Receipt receipt = Must(adapter->Deliver(write));
    CHECK(receipt.tx_id == tx_id);
    CHECK_FALSE(receipt.applied);
    CHECK(receipt.detail == "committed by the relay in block " + std::to_string(committed["block"].get<int>()));
  }

  // A transaction the relay committed as invalid: its writes were never applied.
  BuiltEnvelope weak =
      a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {"weak"}), .endorsers = {&a.node_a1}});
  REQUIRE(Commit(*client, weak)["code_name"] == "ENDORSEMENT_POLICY_FAILURE");
  auto invalid = adapter->Deliver({weak.tx_id, "chainA", "asset", "weak", ToBytes("value of weak"), false});
  CHECK(invalid.status().code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(invalid.status().message(), "ENDORSEMENT_POLICY_FAILURE"));

  // A transaction the relay never saw.
  auto unknown = adapter->Deliver({std::string(64, 'e'), "chainA", "asset", "k", ToBytes("v"), false});
  CHECK(unknown.status().code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(unknown.status().message(), std::string(64, 'e')));

  // Committed, but on another chain than the adapter's.
  auto chain_b = AdapterFor(a.node_b1, relay.port, "chainB");
  auto elsewhere = chain_b->Deliver({tx_id, "chainB", "reader", "delivered", ToBytes("v"), false});
  CHECK(elsewhere.status().code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(elsewhere.status().message(), "committed on chainA"));

  // A write addressed to another chain than the adapter's.
  CHECK(adapter->Deliver({tx_id, "chainB", "reader", "k", ToBytes("v"), false}).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("Malformed answers and refusals are errors naming the endpoint and what was wrong") {
  RelayAlliance& a = Fixture();
  // A server that answers in the API's paths with what no Entente chain would say.
  http::Router router;
  auto json = [](Json body) { return [body](const http::Request&) { return http::JsonResponse(200, body); }; };
  router.Add("GET", "/v1/channels/chainA/state/asset/not-json", {},
             [](const http::Request&) { return http::TextResponse(200, "<html>hello</html>"); });
  router.Add("GET", "/v1/channels/chainA/state/asset/no-version", {},
             json(Json{{"key", "no-version"}, {"value", "dg=="}}));
  router.Add("GET", "/v1/channels/chainA/state/asset/bad-base64", {},
             json(Json{{"key", "bad-base64"}, {"value", "**not base64**"}, {"version", {{"block", 1}, {"tx", 0}}}}));
  router.Add("GET", "/v1/channels/chainA/state/asset/other-key", {},
             json(Json{{"key", "k2"}, {"value", "dg=="}, {"version", {{"block", 1}, {"tx", 0}}}}));
  router.Add("GET", "/v1/channels/chainA/state/asset/nodes-only", {crypto::Role::kNode},
             json(Json{{"key", "nodes-only"}, {"value", "dg=="}, {"version", {{"block", 1}, {"tx", 0}}}}));
  router.Add("GET", "/v1/channels/chainA/state/asset/broken", {},
             [](const http::Request&) { return http::Problem(503, "Service Unavailable", "the ledger is closing"); });
  router.Add("GET", "/v1/channels/chainA", {}, json(Json{{"channel", "chainA"}, {"height", "three"}}));
  router.Add("GET", "/v1/transactions/{id}", {}, json(Json{{"state", "committed"}, {"channel", "chainA"}}));
  http::ServerOptions options;
  options.port = 0;
  options.tls = {a.relay.dir + "-cert.pem", a.relay.dir + "-key.pem", {a.dir() + "/alliance-cas.pem"}};
  auto server = Must(http::Server::Start(options, router.AsHandler()));
  auto adapter = AdapterFor(a.client_a, server->port());
  const std::string endpoint = "127.0.0.1:" + std::to_string(server->port());

  auto expect = [&](const Status& status, StatusCode code, const std::string& what) {
    CAPTURE(status.ToString());
    CHECK(status.code() == code);
    CHECK(Contains(status.message(), endpoint));
    CHECK(Contains(status.message(), what));
  };
  expect(adapter->Read("asset", "not-json").status(), StatusCode::kInternal, "not JSON");
  expect(adapter->Read("asset", "no-version").status(), StatusCode::kInternal, "'version'");
  expect(adapter->Read("asset", "bad-base64").status(), StatusCode::kInternal, "'value'");
  expect(adapter->Read("asset", "other-key").status(), StatusCode::kInternal, "another key");
  expect(adapter->Read("asset", "nodes-only").status(), StatusCode::kPermissionDenied, "403");
  expect(adapter->Read("asset", "broken").status(), StatusCode::kUnavailable, "the ledger is closing");
  expect(adapter->Height().status(), StatusCode::kInternal, "'height'");
  expect(adapter->Deliver({"ab", "chainA", "asset", "k", {}, false}).status(), StatusCode::kInternal, "'code_name'");
  // The same paths with a node's certificate: only the role changes the answer.
  CHECK(Must(AdapterFor(a.node_a1, server->port())->Read("asset", "nodes-only")).has_value());
  server->Stop();
}

TEST_CASE("EntenteAdapter::Create refuses options it cannot use, naming the option") {
  RelayAlliance& a = Fixture();
  auto refused = [&](EntenteAdapterOptions o, const std::string& what) {
    auto created = EntenteAdapter::Create(std::move(o));
    CAPTURE(created.status().ToString());
    CHECK(created.status().code() == StatusCode::kInvalidArgument);
    CHECK(Contains(created.status().message(), what));
  };
  EntenteAdapterOptions good = OptionsFor(a.node_a1, 7050);
  CHECK(EntenteAdapter::Create(good).ok());
  auto with = [&](auto change) {
    EntenteAdapterOptions o = good;
    change(o);
    return o;
  };
  refused(with([](auto& o) { o.chain = ""; }), "chain");
  refused(with([](auto& o) { o.endpoint = "127.0.0.1"; }), "host:port");
  refused(with([](auto& o) { o.endpoint = "127.0.0.1:99999"; }), "port");
  refused(with([](auto& o) { o.endpoint = "http://127.0.0.1:7050"; }), "https");
  refused(with([](auto& o) { o.endpoint = "::1:7050"; }), "brackets");
  refused(with([](auto& o) { o.cert_file = "/nonexistent/cert.pem"; }), "/nonexistent/cert.pem");
  refused(with([](auto& o) { o.key_file = ""; }), "key_file");
  refused(with([](auto& o) { o.ca_files.clear(); }), "ca_files");
  refused(with([](auto& o) { o.timeout = std::chrono::milliseconds(0); }), "timeout");
  refused(with([](auto& o) { o.retries = -1; }), "retries");
  auto v6 = Must(EntenteAdapter::Create(with([](auto& o) { o.endpoint = "https://[::1]:7050/"; })));
  CHECK(v6->endpoint() == "[::1]:7050");
}

}  // namespace
}  // namespace entente::testing
