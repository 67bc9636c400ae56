// RestAdapter against a REST service Entente did not write: etcd's v3 JSON gateway, driven by the
// shipped mapping adapters/rest/mappings/etcd.yaml, over TLS 1.3 with a client certificate.
#include "adapters/rest/rest_adapter.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "tests/integration/etcd_fixture.h"
#include "tests/support/must.h"
#include "tests/support/support.h"

using namespace entente;
using namespace entente::adapters;
using entente::testing::EtcdServer;
using entente::testing::Must;

namespace {

// The etcd of most tests, started on first use and stopped at exit; each test uses its own keys.
EtcdServer& Etcd() {
  static EtcdServer etcd;
  return etcd;
}

std::string EtcdMapping() {
  const char* source = std::getenv("ENTENTE_SOURCE_DIR");
  REQUIRE(source != nullptr);
  return std::string(source) + "/adapters/rest/mappings/etcd.yaml";
}

RestAdapterOptions OptionsFor(const EtcdServer& etcd) {
  RestAdapterOptions options;
  options.chain = "chainE";
  options.endpoint = etcd.endpoint();
  options.cert_file = etcd.client_cert_file();
  options.key_file = etcd.client_key_file();
  options.ca_files = {etcd.ca_file()};
  options.mapping_file = EtcdMapping();
  options.timeout = std::chrono::milliseconds(5000);
  options.retries = 2;
  options.backoff = std::chrono::milliseconds(50);
  return options;
}

std::unique_ptr<RestAdapter> AdapterFor(EtcdServer& etcd) { return Must(RestAdapter::Create(OptionsFor(etcd))); }

// A checked write of `value` to asset/<key>, expecting `expected` (nullopt: the key is absent).
CrossChainWrite Put(const std::string& tx_id, const std::string& key, const std::string& value,
                    std::optional<ledger::Version> expected) {
  CrossChainWrite w{tx_id, "chainE", "asset", key, ToBytes(value)};
  w.check_version = true;
  w.expected_version = expected;
  return w;
}

endorser::RemoteValue MustRead(RestAdapter& adapter, const std::string& key) {
  auto read = Must(adapter.Read("asset", key));
  REQUIRE_MESSAGE(read.has_value(), key);
  return *read;
}

}  // namespace

TEST_CASE("A delivered write is read back at etcd's mod_revision, and the height grows") {
  auto adapter = AdapterFor(Etcd());
  std::uint64_t before = Must(adapter->Height());
  Receipt receipt = Must(adapter->Deliver(Put("tx-a1", "car", "red", std::nullopt)));
  CHECK(receipt.applied);
  CHECK(receipt.tx_id == "tx-a1");
  endorser::RemoteValue v1 = MustRead(*adapter, "car");
  CHECK(ToString(v1.value) == "red");
  CHECK(v1.version == ledger::Version{Etcd().ModRevision("asset/car"), 0});
  std::uint64_t after = Must(adapter->Height());
  CHECK(after > before);
  CHECK(after >= v1.version.block);
  CHECK(Must(adapter->StillCurrent("asset", "car", v1.version)));

  CHECK(Must(adapter->Deliver(Put("tx-a2", "car", "blue", v1.version))).applied);
  endorser::RemoteValue v2 = MustRead(*adapter, "car");
  CHECK(ToString(v2.value) == "blue");
  CHECK(v2.version.block > v1.version.block);
  CHECK(v2.version.block == Etcd().ModRevision("asset/car"));
  CHECK_FALSE(Must(adapter->StillCurrent("asset", "car", v1.version)));
  CHECK(Must(adapter->Height()) > after);
}

TEST_CASE("The same write delivered again has no second effect") {
  auto adapter = AdapterFor(Etcd());
  CrossChainWrite write = Put("tx-b1", "boat", "white", std::nullopt);
  REQUIRE(Must(adapter->Deliver(write)).applied);
  std::uint64_t revision = Etcd().ModRevision("asset/boat");
  std::uint64_t height = Must(adapter->Height());
  Receipt again = Must(adapter->Deliver(write));
  CHECK_FALSE(again.applied);
  CHECK(again.detail.find("earlier delivery") != std::string::npos);
  CHECK(Etcd().ModRevision("asset/boat") == revision);
  CHECK(Must(adapter->Height()) == height);

  // Blind writes are idempotent too, even when another write came in between.
  CrossChainWrite blind{"tx-b2", "chainE", "asset", "boat", ToBytes("grey")};
  REQUIRE(Must(adapter->Deliver(blind)).applied);
  REQUIRE(Must(adapter->Deliver(Put("tx-b3", "boat", "black", MustRead(*adapter, "boat").version))).applied);
  revision = Etcd().ModRevision("asset/boat");
  CHECK_FALSE(Must(adapter->Deliver(blind)).applied);
  CHECK(ToString(MustRead(*adapter, "boat").value) == "black");
  CHECK(Etcd().ModRevision("asset/boat") == revision);
}

TEST_CASE("A write at a stale expected version is a consistency failure and changes nothing") {
  auto adapter = AdapterFor(Etcd());
  REQUIRE(Must(adapter->Deliver(Put("tx-c1", "plane", "v1", std::nullopt))).applied);
  ledger::Version v1 = MustRead(*adapter, "plane").version;
  REQUIRE(Must(adapter->Deliver(Put("tx-c2", "plane", "v2", v1))).applied);
  std::uint64_t revision = Etcd().ModRevision("asset/plane");
  std::uint64_t height = Must(adapter->Height());

  for (const auto& stale : {std::optional<ledger::Version>(v1), std::optional<ledger::Version>(),
                            std::optional<ledger::Version>(ledger::Version{revision, 1})}) {
    auto refused = adapter->Deliver(Put("tx-c3", "plane", "v3", stale));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
    CHECK_MESSAGE(refused.status().message().rfind(kConsistencyFailure, 0) == 0, refused.status().message());
  }
  endorser::RemoteValue now = MustRead(*adapter, "plane");
  CHECK(ToString(now.value) == "v2");
  CHECK(now.version.block == revision);
  CHECK(Etcd().ModRevision("asset/plane") == revision);
  CHECK(Etcd().ModRevision("entente/applied/tx-c3/asset/plane") == 0);
  CHECK(Must(adapter->Height()) == height);
}

TEST_CASE("A missing key reads as absent, and an absent key is still current at the zero version") {
  auto adapter = AdapterFor(Etcd());
  CHECK_FALSE(Must(adapter->Read("asset", "never-written")).has_value());
  CHECK(Must(adapter->StillCurrent("asset", "never-written", ledger::Version{0, 0})));
  CHECK_FALSE(Must(adapter->StillCurrent("asset", "never-written", ledger::Version{3, 0})));
  REQUIRE(Must(adapter->Deliver(Put("tx-d1", "bike", "", std::nullopt))).applied);
  endorser::RemoteValue empty = MustRead(*adapter, "bike");  // etcd leaves an empty value out
  CHECK(empty.value.empty());
  CHECK_FALSE(Must(adapter->StillCurrent("asset", "bike", ledger::Version{0, 0})));
}

TEST_CASE("Deletes are delivered idempotently, checked or blind") {
  auto adapter = AdapterFor(Etcd());
  REQUIRE(Must(adapter->Deliver(Put("tx-e1", "tram", "x", std::nullopt))).applied);
  ledger::Version v = MustRead(*adapter, "tram").version;
  CrossChainWrite stale_delete{"tx-e2", "chainE", "asset", "tram", {}, true, true, ledger::Version{v.block - 1, 0}};
  CHECK(adapter->Deliver(stale_delete).status().message().rfind(kConsistencyFailure, 0) == 0);
  CrossChainWrite remove{"tx-e3", "chainE", "asset", "tram", {}, true, true, v};
  CHECK(Must(adapter->Deliver(remove)).applied);
  CHECK_FALSE(Must(adapter->Read("asset", "tram")).has_value());
  CHECK_FALSE(Must(adapter->Deliver(remove)).applied);
  CrossChainWrite blind_remove{"tx-e4", "chainE", "asset", "tram", {}, true};
  CHECK(Must(adapter->Deliver(blind_remove)).applied);
  CHECK_FALSE(Must(adapter->Deliver(blind_remove)).applied);
}

TEST_CASE("Keys and values with any bytes round-trip, and a write for another chain is refused") {
  auto adapter = AdapterFor(Etcd());
  const std::string key = "a key/with \"quotes\", ü and %2F";
  const std::string value("\x00\xff binary \n", 11);
  REQUIRE(Must(adapter->Deliver(Put("tx-f1", key, value, std::nullopt))).applied);
  CHECK(ToString(MustRead(*adapter, key).value) == value);
  CHECK(Etcd().ModRevision("asset/" + key) == MustRead(*adapter, key).version.block);

  CrossChainWrite elsewhere = Put("tx-f2", "k", "v", std::nullopt);
  elsewhere.channel = "chainB";
  CHECK(adapter->Deliver(elsewhere).status().IsInvalidArgument());
  CHECK(adapter->Read("asset", "").status().IsInvalidArgument());
  CHECK(adapter->Read("as/set", "k").status().IsInvalidArgument());
}

TEST_CASE("etcd refuses an adapter that presents no client certificate") {
  RestAdapterOptions options = OptionsFor(Etcd());
  options.cert_file.clear();
  options.key_file.clear();
  options.retries = 0;
  auto adapter = Must(RestAdapter::Create(options));
  auto read = adapter->Read("asset", "car");
  REQUIRE_FALSE(read.ok());
  // The TLS 1.3 client learns of the refusal only from the alert after the handshake: no HTTP status.
  CHECK(read.status().code() == StatusCode::kUnavailable);
  CHECK_MESSAGE(read.status().message().find("certificate") != std::string::npos, read.status().message());
}

TEST_CASE("An acknowledged delivery survives etcd being killed, and a stopped etcd is Unavailable") {
  EtcdServer etcd;
  auto adapter = AdapterFor(etcd);
  CrossChainWrite write = Put("tx-g1", "ship", "blue", std::nullopt);
  REQUIRE(Must(adapter->Deliver(write)).applied);
  ledger::Version version = MustRead(*adapter, "ship").version;

  etcd.Kill();
  etcd.Start();
  endorser::RemoteValue after = MustRead(*adapter, "ship");  // over a new connection
  CHECK(ToString(after.value) == "blue");
  CHECK(after.version == version);
  CHECK_FALSE(Must(adapter->Deliver(write)).applied);
  CHECK(etcd.ModRevision("asset/ship") == version.block);

  etcd.Stop();
  const std::string where = "127.0.0.1:" + std::to_string(etcd.client_port());
  auto read = adapter->Read("asset", "ship");
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().code() == StatusCode::kUnavailable);
  CHECK_MESSAGE(read.status().message().find(where) != std::string::npos, read.status().message());
  CHECK(read.status().message().find("unreachable after 3 attempts") != std::string::npos);
  CHECK(adapter->Deliver(Put("tx-g2", "ship", "red", version)).status().code() == StatusCode::kUnavailable);
  CHECK(adapter->Height().status().code() == StatusCode::kUnavailable);
}

TEST_CASE("Create refuses a malformed mapping file or bad options, naming the field") {
  EtcdServer& etcd = Etcd();
  std::string text = testing::ReadText(EtcdMapping());
  std::string broken = text;
  broken.replace(broken.find("version: /kvs/0/mod_revision"), 28, "version: kvs/0/mod_revision");
  RestAdapterOptions options = OptionsFor(etcd);
  options.mapping_file = etcd.dir().Join("broken.yaml");
  testing::WriteText(options.mapping_file, broken);
  auto refused = RestAdapter::Create(options);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().IsInvalidArgument());
  CHECK_MESSAGE(refused.status().message().find("broken.yaml:20: key 'read.version': 'kvs/0/mod_revision' is not a "
                                                "JSON pointer") != std::string::npos,
                refused.status().message());

  std::string no_deletes = text.substr(0, text.find("# A deletion checked")) + text.substr(text.find("# The store"));
  options.mapping_file = etcd.dir().Join("no-deletes.yaml");
  testing::WriteText(options.mapping_file, no_deletes);
  auto adapter = Must(RestAdapter::Create(options));
  CrossChainWrite remove{"tx-h1", "chainE", "asset", "k", {}, true, true, std::nullopt};
  auto unsupported = adapter->Deliver(remove);
  CHECK(unsupported.status().IsInvalidArgument());
  CHECK(unsupported.status().message().find("deletes are not supported by this mapping") != std::string::npos);

  options.mapping_file = etcd.dir().Join("missing.yaml");
  CHECK(RestAdapter::Create(options).status().message().find("option mapping_file") != std::string::npos);
  options = OptionsFor(etcd);
  options.endpoint = "http://127.0.0.1:1";
  CHECK(RestAdapter::Create(options).status().message().find("option endpoint") != std::string::npos);
  options = OptionsFor(etcd);
  options.key_file.clear();
  CHECK(RestAdapter::Create(options).status().IsInvalidArgument());
}
