// The endorser's public contract (runtime/endorser/endorser.h, DESIGN.md §3, §6, §7): simulation of
// every Stub method into exact read-write sets, Fabric's read semantics, contract failures, the
// Endorser's checks and its byte-for-byte comparison with a suggestion result, the JSON forms of the
// signed structures, and DifferingKeys. The contracts under test are defined here.
#include "runtime/endorser/endorser.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "certs/ca.h"
#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/common/status.h"
#include "runtime/common/validation_code.h"
#include "runtime/crypto/crypto.h"
#include "runtime/ledger/ledger.h"
#include "runtime/shim/shim.h"
#include "tests/support/support.h"

namespace entente::endorser {
namespace {

using entente::testing::TempDir;
using ledger::KeyRead;
using ledger::KeyWrite;
using ledger::NamespaceRwSet;
using ledger::RangeRead;
using ledger::RwSet;
using ledger::Version;

constexpr char kChannel[] = "chainA";
constexpr char kNil[] = "<nil>";

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <typename T>
T Take(Result<T> result) {
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return std::move(result).value();
}

std::string Composite(const std::string& type, const std::vector<std::string>& attributes) {
  return Take(ledger::CreateCompositeKey(type, attributes));
}

// ---- Test contracts ----

// A contract that exercises every Stub method, one transaction function each.
class Kv : public shim::Contract {
 public:
  Kv() : Contract("Kv") {
    Transaction("Put", &Kv::Put);
    Transaction("Get", &Kv::Get);
    Transaction("Del", &Kv::Del);
    Transaction("Multi", &Kv::Multi);
    Transaction("Batch", &Kv::Batch);
    Transaction("Range", &Kv::Range);
    Transaction("RangePage", &Kv::RangePage);
    Transaction("Composite", &Kv::CompositeQuery);
    Transaction("CompositePage", &Kv::CompositePage);
    Transaction("History", &Kv::History);
    Transaction("SetPolicy", &Kv::SetPolicy);
    Transaction("GetPolicy", &Kv::GetPolicy);
    Transaction("Event", &Kv::Event);
    Transaction("TwoEvents", &Kv::TwoEvents);
    Transaction("Call", &Kv::Call);
    Transaction("CallThenFail", &Kv::CallThenFail);
    Transaction("Remote", &Kv::Remote);
    Transaction("Transient", &Kv::Transient);
    Transaction("Creator", &Kv::Creator);
    Transaction("Timestamp", &Kv::Timestamp);
    Transaction("Info", &Kv::Info);
    Transaction("GetPutGet", &Kv::GetPutGet);
    Transaction("PutGet", &Kv::PutGet);
    Transaction("DelGet", &Kv::DelGet);
    Transaction("PutThenFail", &Kv::PutThenFail);
    Transaction("PutNonUtf8Key", &Kv::PutNonUtf8Key);
    Transaction("RangeNonUtf8", &Kv::RangeNonUtf8);
  }

  void Put(shim::Context& ctx, std::string key, std::string value) { ctx.stub().PutState(key, shim::ToBytes(value)); }
  std::string Get(shim::Context& ctx, std::string key) { return Text(ctx.stub().GetState(key)); }
  void Del(shim::Context& ctx, std::string key) { ctx.stub().DelState(key); }
  Json Multi(shim::Context& ctx, std::vector<std::string> keys) {
    Json out = Json::array();
    for (const auto& v : ctx.stub().GetMultipleStates(keys)) out.push_back(Text(v));
    return out;
  }
  // ops: [["put", key, value] | ["del", key]].
  void Batch(shim::Context& ctx, std::vector<std::vector<std::string>> ops) {
    for (const auto& op : ops) {
      if (op.at(0) == "put") {
        ctx.stub().PutState(op.at(1), shim::ToBytes(op.at(2)));
      } else {
        ctx.stub().DelState(op.at(1));
      }
    }
  }
  Json Range(shim::Context& ctx, std::string start, std::string end) {
    return Entries(ctx.stub().GetStateByRange(start, end));
  }
  Json RangePage(shim::Context& ctx, std::string start, std::string end, std::uint32_t size, std::string bookmark) {
    shim::StatePage page = ctx.stub().GetStateByRangeWithPagination(start, end, size, bookmark);
    return Json{{"entries", Entries(page.entries)}, {"bookmark", page.bookmark}};
  }
  Json CompositeQuery(shim::Context& ctx, std::string type, std::vector<std::string> attributes) {
    return Entries(ctx.stub().GetStateByPartialCompositeKey(type, attributes));
  }
  Json CompositePage(shim::Context& ctx, std::string type, std::vector<std::string> attributes, std::uint32_t size,
                     std::string bookmark) {
    shim::StatePage page = ctx.stub().GetStateByPartialCompositeKeyWithPagination(type, attributes, size, bookmark);
    return Json{{"entries", Entries(page.entries)}, {"bookmark", page.bookmark}};
  }
  Json History(shim::Context& ctx, std::string key) {
    Json out = Json::array();
    for (const auto& m : ctx.stub().GetHistoryForKey(key)) {
      out.push_back(Json{{"tx_id", m.tx_id},
                         {"block", m.block},
                         {"tx", m.tx},
                         {"delete", m.is_delete},
                         {"value", shim::ToText(m.value)}});
    }
    return out;
  }
  void SetPolicy(shim::Context& ctx, std::string key, std::string policy) {
    ctx.stub().SetStateValidationParameter(key, shim::ToBytes(policy));
  }
  std::string GetPolicy(shim::Context& ctx, std::string key) {
    return Text(ctx.stub().GetStateValidationParameter(key));
  }
  void Event(shim::Context& ctx, std::string name, std::string payload) {
    ctx.stub().SetEvent(name, shim::ToBytes(payload));
  }
  void TwoEvents(shim::Context& ctx) {
    ctx.stub().SetEvent("First", shim::ToBytes("1"));
    ctx.stub().SetEvent("Second", shim::ToBytes("2"));
  }
  Json Call(shim::Context& ctx, std::string contract, std::vector<std::string> args) {
    shim::Response r = ctx.stub().InvokeChaincode(contract, args);
    return Json{{"status", r.status}, {"message", r.message}, {"payload", shim::ToText(r.payload)}};
  }
  void CallThenFail(shim::Context& ctx, std::string contract, std::vector<std::string> args) {
    ctx.stub().InvokeChaincode(contract, args);
    shim::Check(false, "the caller gives up after its call");
  }
  std::string Remote(shim::Context& ctx, std::string channel, std::string contract, std::string key) {
    return Text(ctx.stub().GetRemoteState(channel, contract, key));
  }
  std::string Transient(shim::Context& ctx, std::string key) {
    const auto& map = ctx.stub().Transient();
    auto it = map.find(key);
    return it == map.end() ? std::string(kNil) : shim::ToText(it->second);
  }
  Json Creator(shim::Context& ctx) {
    const shim::Identity& id = ctx.creator();
    return Json{{"chain", id.chain}, {"role", id.role}, {"id", id.id}, {"pem", id.certificate_pem}};
  }
  std::int64_t Timestamp(shim::Context& ctx) { return ctx.stub().TxTimestampMs(); }
  Json Info(shim::Context& ctx) {
    shim::Stub& s = ctx.stub();
    return Json{
        {"tx_id", s.TxId()},        {"channel", s.ChannelId()}, {"contract", s.ContractName()},
        {"function", s.Function()}, {"params", s.Parameters()}, {"signed_proposal", shim::ToText(s.SignedProposal())}};
  }
  Json GetPutGet(shim::Context& ctx, std::string key, std::string value) {
    std::string before = Text(ctx.stub().GetState(key));
    ctx.stub().PutState(key, shim::ToBytes(value));
    std::string after = Text(ctx.stub().GetState(key));
    return Json::array({before, after});
  }
  std::string PutGet(shim::Context& ctx, std::string key, std::string value) {
    ctx.stub().PutState(key, shim::ToBytes(value));
    return Text(ctx.stub().GetState(key));
  }
  std::string DelGet(shim::Context& ctx, std::string key) {
    ctx.stub().DelState(key);
    return Text(ctx.stub().GetState(key));
  }
  void PutThenFail(shim::Context& ctx, std::string key) {
    ctx.stub().GetState("a");
    ctx.stub().PutState(key, shim::ToBytes("doomed"));
    ctx.stub().SetEvent("Doomed", shim::ToBytes("x"));
    shim::Check(false, "PutThenFail always fails");
  }
  void PutNonUtf8Key(shim::Context& ctx) { ctx.stub().PutState("bad\xff", shim::ToBytes("v")); }
  Json RangeNonUtf8(shim::Context& ctx) { return Entries(ctx.stub().GetStateByRange("a", "b\xff")); }

 private:
  static std::string Text(const std::optional<shim::Bytes>& value) {
    return value ? shim::ToText(*value) : std::string(kNil);
  }
  static Json Entries(const std::vector<shim::KeyValue>& entries) {
    Json out = Json::array();
    for (const auto& kv : entries) out.push_back(Json::array({kv.key, shim::ToText(kv.value)}));
    return out;
  }
};

// Not deterministic: writes the wall clock.
class ClockContract : public shim::Contract {
 public:
  ClockContract() : Contract("Clock") { Transaction("Stamp", &ClockContract::Stamp); }
  void Stamp(shim::Context& ctx) {
    auto now = std::chrono::system_clock::now().time_since_epoch().count();
    ctx.stub().PutState("now", shim::ToBytes(std::to_string(now)));
  }
};

// Not deterministic: writes random numbers.
class RandomContract : public shim::Contract {
 public:
  RandomContract() : Contract("Random") { Transaction("Roll", &RandomContract::Roll); }
  void Roll(shim::Context& ctx) {
    std::random_device device;
    std::string value = std::to_string(device()) + "-" + std::to_string(device());
    ctx.stub().PutState("roll", shim::ToBytes(value));
  }
};

class Thrower : public shim::Contract {
 public:
  Thrower() : Contract("Thrower") {
    Transaction("ThrowStd", &Thrower::ThrowStd);
    Transaction("ThrowInt", &Thrower::ThrowInt);
  }
  void ThrowStd(shim::Context& ctx) {
    ctx.stub().PutState("partial", shim::ToBytes("write"));
    throw std::runtime_error("disk on fire");
  }
  void ThrowInt(shim::Context& ctx) {
    ctx.stub().PutState("partial", shim::ToBytes("write"));
    throw 42;
  }
};

// Where the Pausing contract and its test meet: the contract says it entered and waits for `go`;
// `destroyed` is set by its destructor.
struct PauseGate {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;  // GUARDED_BY(mu)
  bool go = false;       // GUARDED_BY(mu)
  std::atomic<bool> destroyed{false};
};
PauseGate& Gate() {
  static PauseGate gate;
  return gate;
}

// A deterministic hook for a contract freed while it runs: Hold pauses until the test lets it go, then
// reads a member of its own object and writes what it found.
class Pausing : public shim::Contract {
 public:
  Pausing() : Contract("Pausing") { Transaction("Hold", &Pausing::Hold); }
  ~Pausing() override { Gate().destroyed = true; }
  void Hold(shim::Context& ctx) {
    PauseGate& gate = Gate();
    {
      std::unique_lock lock(gate.mu);
      gate.entered = true;
      gate.cv.notify_all();
      gate.cv.wait(lock, [&] { return gate.go; });
    }
    ctx.stub().PutState("held", shim::ToBytes(name_ + (gate.destroyed ? " destroyed" : " alive")));
  }

 private:
  std::string name_ = "pausing";  // read after the pause: freed memory if the contract was destroyed
};

template <typename C>
std::shared_ptr<shim::Chaincode> MakeChaincode() {
  auto chaincode = std::make_shared<shim::Chaincode>();
  chaincode->Add(std::make_unique<C>());
  return chaincode;
}

class TestRegistry : public ChaincodeRegistry {
 public:
  std::map<std::string, std::shared_ptr<shim::Chaincode>> chaincodes;

  std::shared_ptr<shim::Chaincode> Find(std::string_view channel, std::string_view contract) const override {
    if (channel != kChannel) return nullptr;
    auto it = chaincodes.find(std::string(contract));
    return it == chaincodes.end() ? nullptr : it->second;
  }
};

// Remote state keyed by "<channel>/<contract>/<key>"; reads of a denied channel are PermissionDenied.
class TestRemote : public RemoteState {
 public:
  std::map<std::string, RemoteValue> values;
  std::set<std::string> denied_channels;
  std::set<std::string> unavailable_channels;
  std::vector<std::string> calls;  // "<from_channel>/<from_contract> -> <channel>/<contract>/<key>"

  Result<std::optional<RemoteValue>> Read(std::string_view from_channel, std::string_view from_contract,
                                          std::string_view channel, std::string_view contract,
                                          std::string_view key) override {
    std::string name = std::string(channel) + "/" + std::string(contract) + "/" + std::string(key);
    calls.push_back(std::string(from_channel) + "/" + std::string(from_contract) + " -> " + name);
    if (denied_channels.count(std::string(channel))) return Status::PermissionDenied("no route to " + name);
    if (unavailable_channels.count(std::string(channel))) return Status::Unavailable("cannot reach " + name);
    auto it = values.find(name);
    if (it == values.end()) return std::optional<RemoteValue>();
    return std::optional<RemoteValue>(it->second);
  }
};

Signer MakeSigner(const certs::IssuedCertificate& tcert) {
  return Signer{tcert.certificate, tcert.intermediates, tcert.key};
}

// One write of a seeding transaction: a value, or a delete when `value` is nullopt.
struct W {
  std::string key;
  std::optional<std::string> value;
};

// A ledger, a CA for chainA, a client and a node with TCerts, a trust store and the test contracts.
struct Fixture {
  TempDir dir;
  std::unique_ptr<ledger::Ledger> ledger;
  std::optional<certs::CertificateAuthority> ca;
  std::optional<certs::IssuedCertificate> client_ecert;
  std::optional<certs::IssuedCertificate> node_ecert;
  std::shared_ptr<const Signer> client;
  std::shared_ptr<const Signer> node;
  crypto::TrustStore trust;
  TestRegistry registry;
  TestRemote remote;
  std::unique_ptr<Endorser> endorser;
  std::uint64_t seeds = 0;

  Fixture() {
    ledger = Take(ledger::Ledger::Open(dir.Join("ledger")));
    ca.emplace(Take(certs::CertificateAuthority::Init(dir.Join("ca"), kChannel, false)));
    client_ecert.emplace(Take(ca->IssueEcert(crypto::Role::kClient, "client1", 30)));
    node_ecert.emplace(Take(ca->IssueEcert(crypto::Role::kNode, "node1", 30)));
    auto client_tcerts = Take(ca->IssueTcerts(client_ecert->certificate, 1, 24));
    auto node_tcerts = Take(ca->IssueTcerts(node_ecert->certificate, 1, 24));
    client = std::make_shared<const Signer>(MakeSigner(client_tcerts.at(0)));
    node = std::make_shared<const Signer>(MakeSigner(node_tcerts.at(0)));
    REQUIRE(trust.AddCa(ca->root()).ok());
    trust.AddEcert(client_ecert->certificate);
    trust.AddEcert(node_ecert->certificate);
    registry.chaincodes["kv"] = MakeChaincode<Kv>();
    registry.chaincodes["other"] = MakeChaincode<Kv>();
    registry.chaincodes["relay"] = MakeChaincode<Kv>();
    registry.chaincodes["clock"] = MakeChaincode<ClockContract>();
    registry.chaincodes["random"] = MakeChaincode<RandomContract>();
    registry.chaincodes["thrower"] = MakeChaincode<Thrower>();
    endorser = std::make_unique<Endorser>(*ledger, registry, trust, node, &remote);
  }

  // Commits one valid transaction writing `writes` into `contract` as the next block; returns the
  // version those keys now have.
  Version Seed(const std::string& contract, const std::vector<W>& writes) {
    ledger::Savepoint sp = ledger->GetSavepoint(kChannel);
    ledger::Block block;
    block.header.channel = kChannel;
    block.header.number = sp.height;
    block.header.prev_hash = sp.last_hash;
    block.envelopes.push_back(ToBytes("seed envelope " + std::to_string(seeds)));
    block.metadata.validation_codes.push_back(ValidationCode::kValid);
    block.metadata.timestamp_ms = 1700000000000;
    block.header.data_hash = block.ComputeDataHash();
    NamespaceRwSet ns;
    ns.channel = kChannel;
    ns.contract = contract;
    for (const W& w : writes) ns.writes.push_back({w.key, !w.value.has_value(), ToBytes(w.value.value_or(""))});
    RwSet rwset;
    rwset.namespaces.push_back(std::move(ns));
    std::vector<ledger::CommittedTx> txs{{"seed-" + std::to_string(seeds++), ValidationCode::kValid, rwset}};
    Status status = ledger->Commit(block, txs);
    REQUIRE_MESSAGE(status.ok(), status.ToString());
    return Version{sp.height, 0};
  }

  SignedBytes Propose(const std::string& contract, const std::string& function, std::vector<std::string> args = {},
                      const std::map<std::string, Bytes>& transient = {}, const Signer* who = nullptr) {
    return Take(MakeSignedProposal(who ? *who : *client, kChannel, contract, function, std::move(args), transient));
  }

  // Simulates through the Endorser (verifying the proposal first), as the initiating node does.
  SimulationResult Run(const std::string& contract, const std::string& function, std::vector<std::string> args = {},
                       const std::map<std::string, Bytes>& transient = {}) {
    SignedBytes sp = Propose(contract, function, std::move(args), transient);
    return RunSigned(sp, transient);
  }

  SimulationResult RunSigned(const SignedBytes& sp, const std::map<std::string, Bytes>& transient = {}) {
    Refusal refusal = Refusal::kInternal;
    SimulationResult result = Take(endorser->SimulateProposal(sp, transient, &refusal));
    CHECK(refusal == Refusal::kNone);
    return result;
  }

  // Simulates with endorser::Simulate directly, with `options`.
  SimulationResult RunDirect(SimulationOptions options, const std::string& contract, const std::string& function,
                             std::vector<std::string> args = {}) {
    SignedBytes sp = Propose(contract, function, std::move(args));
    Proposal p = ParseProposal(sp);
    shim::Identity creator{kChannel, "client", "client1", p.creator};
    auto snapshot = ledger->GetSnapshot();
    return Take(Simulate(p, sp, {}, creator, *snapshot, registry, &remote, options));
  }

  static Proposal ParseProposal(const SignedBytes& sp) {
    return Take(Proposal::FromJson(Take(ParseJson(ToString(sp.payload)))));
  }
};

std::string PayloadText(const SimulationResult& r) { return ToString(r.response.payload); }
Json PayloadJson(const SimulationResult& r) { return Take(ParseJson(PayloadText(r))); }

// The namespace `contract` on `channel` of `result`, or nullptr.
const NamespaceRwSet* Ns(const SimulationResult& result, const std::string& contract,
                         const std::string& channel = kChannel) {
  for (const auto& ns : result.rwset.namespaces) {
    if (ns.channel == channel && ns.contract == contract) return &ns;
  }
  return nullptr;
}

KeyWrite Write(const std::string& key, const std::string& value) { return KeyWrite{key, false, ToBytes(value)}; }
KeyWrite Delete(const std::string& key) { return KeyWrite{key, true, {}}; }

// ---- Stub methods through simulation ----

TEST_CASE("Get of a committed key records the version of the transaction that last wrote it") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}});
  Version v = f.Seed("kv", {{"b", "2"}});
  CHECK(v == Version{1, 0});
  SimulationResult r = f.Run("kv", "Get", {"b"});
  CHECK(r.response.status == 200);
  CHECK(PayloadText(r) == "2");
  REQUIRE(r.rwset.namespaces.size() == 1);
  const NamespaceRwSet& ns = r.rwset.namespaces[0];
  CHECK(ns.channel == "chainA");
  CHECK(ns.contract == "kv");
  CHECK(ns.reads == std::vector<KeyRead>{{"b", Version{1, 0}}});
  CHECK(ns.range_reads.empty());
  CHECK(ns.writes.empty());
}

TEST_CASE("Get of a missing key records a read with a null version") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}});
  SimulationResult r = f.Run("kv", "Get", {"missing"});
  CHECK(PayloadText(r) == kNil);
  REQUIRE(r.rwset.namespaces.size() == 1);
  CHECK(r.rwset.namespaces[0].reads == std::vector<KeyRead>{{"missing", std::nullopt}});
}

TEST_CASE("Get reads only the contract's own namespace") {
  Fixture f;
  f.Seed("other", {{"a", "theirs"}});
  SimulationResult r = f.Run("kv", "Get", {"a"});
  CHECK(PayloadText(r) == kNil);
  REQUIRE(Ns(r, "kv") != nullptr);
  CHECK(Ns(r, "kv")->reads == std::vector<KeyRead>{{"a", std::nullopt}});
  CHECK(Ns(r, "other") == nullptr);
}

TEST_CASE("GetMultipleStates records one read per key in key order") {
  Fixture f;
  Version v0 = f.Seed("kv", {{"a", "1"}, {"c", "3"}});
  SimulationResult r = f.Run("kv", "Multi", {R"(["c","b","a"])"});
  CHECK(PayloadJson(r) == Json::array({"3", kNil, "1"}));
  REQUIRE(Ns(r, "kv") != nullptr);
  CHECK(Ns(r, "kv")->reads == std::vector<KeyRead>{{"a", v0}, {"b", std::nullopt}, {"c", v0}});
}

TEST_CASE("Put and Del are recorded as writes in key order, the last write of a key winning") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}});
  SimulationResult r =
      f.Run("kv", "Batch", {R"([["put","z","26"],["del","a"],["put","m","13"],["put","z","last"],["del","q"]])"});
  CHECK(r.response.status == 200);
  REQUIRE(r.rwset.namespaces.size() == 1);
  const NamespaceRwSet& ns = r.rwset.namespaces[0];
  CHECK(ns.reads.empty());
  CHECK(ns.writes == std::vector<KeyWrite>{Delete("a"), Write("m", "13"), Delete("q"), Write("z", "last")});
}

TEST_CASE("Writes of a simulation are not applied to the ledger") {
  Fixture f;
  f.Run("kv", "Put", {"a", "1"});
  auto snapshot = f.ledger->GetSnapshot();
  CHECK_FALSE(Take(snapshot->Get(kChannel, "kv", "a")).has_value());
}

TEST_CASE("A key that is empty or not UTF-8 is refused with an error response") {
  Fixture f;
  SimulationResult empty = f.Run("kv", "Put", {"", "v"});
  CHECK(empty.response.status == 400);
  CHECK(empty.rwset.namespaces.empty());
  // "\xff" cannot even be signed into a proposal, so the contract builds the bad key itself.
  SimulationResult bad = f.Run("kv", "PutNonUtf8Key");
  CHECK(bad.response.status == 400);
  CHECK(bad.rwset.namespaces.empty());
}

TEST_CASE("A range read records its start, end, exhaustion and every key read with its version") {
  Fixture f;
  Version v0 = f.Seed("kv", {{"a", "1"}, {"b", "2"}});
  Version v1 = f.Seed("kv", {{"c", "3"}, {"d", "4"}});
  SimulationResult r = f.Run("kv", "Range", {"b", "d"});
  CHECK(PayloadJson(r) == Json::array({Json::array({"b", "2"}), Json::array({"c", "3"})}));
  REQUIRE(Ns(r, "kv") != nullptr);
  const NamespaceRwSet& ns = *Ns(r, "kv");
  CHECK(ns.reads.empty());
  REQUIRE(ns.range_reads.size() == 1);
  const RangeRead& range = ns.range_reads[0];
  CHECK(range.start == "b");
  CHECK(range.end == "d");
  CHECK(range.exhausted);
  CHECK(range.keys_read == std::vector<KeyRead>{{"b", v0}, {"c", v1}});
}

TEST_CASE("A plain range read skips composite keys and the reserved validation-parameter keys") {
  Fixture f;
  std::string red1 = Composite("color", {"red", "1"});
  Version v0 = f.Seed("kv", {{"a", "1"},
                             {"b", "2"},
                             {red1, "composite"},
                             {shim::internal::ValidationParameterKey("a"), "OutOf(1,'chainA.node')"}});
  SimulationResult r = f.Run("kv", "Range", {"", ""});
  CHECK(PayloadJson(r) == Json::array({Json::array({"a", "1"}), Json::array({"b", "2"})}));
  REQUIRE(Ns(r, "kv") != nullptr);
  REQUIRE(Ns(r, "kv")->range_reads.size() == 1);
  const RangeRead& range = Ns(r, "kv")->range_reads[0];
  // An empty start begins after the composite keys, and the range read records where it began.
  CHECK(range.start == "\x01");
  CHECK(range.end == "");
  CHECK(range.exhausted);
  CHECK(range.keys_read == std::vector<KeyRead>{{"a", v0}, {"b", v0}});
}

TEST_CASE("A paginated range read stops early with a bookmark and is recorded as not exhausted") {
  Fixture f;
  Version v0 = f.Seed("kv", {{"a", "1"}, {"b", "2"}, {"c", "3"}});
  SimulationResult first = f.Run("kv", "RangePage", {"a", "", "2", ""});
  Json page = PayloadJson(first);
  CHECK(page["entries"] == Json::array({Json::array({"a", "1"}), Json::array({"b", "2"})}));
  CHECK(page["bookmark"] == "c");
  REQUIRE(Ns(first, "kv") != nullptr);
  REQUIRE(Ns(first, "kv")->range_reads.size() == 1);
  const RangeRead& r1 = Ns(first, "kv")->range_reads[0];
  CHECK(r1.start == "a");
  CHECK(r1.end == "");
  CHECK_FALSE(r1.exhausted);
  CHECK(r1.keys_read == std::vector<KeyRead>{{"a", v0}, {"b", v0}});

  SimulationResult second = f.Run("kv", "RangePage", {"a", "", "2", "c"});
  page = PayloadJson(second);
  CHECK(page["entries"] == Json::array({Json::array({"c", "3"})}));
  CHECK(page["bookmark"] == "");
  REQUIRE(Ns(second, "kv") != nullptr);
  REQUIRE(Ns(second, "kv")->range_reads.size() == 1);
  const RangeRead& r2 = Ns(second, "kv")->range_reads[0];
  CHECK(r2.start == "c");  // the page began at the bookmark
  CHECK(r2.exhausted);
  CHECK(r2.keys_read == std::vector<KeyRead>{{"c", v0}});
}

TEST_CASE("A paginated range read whose page holds exactly the remaining keys is exhausted") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}, {"b", "2"}});
  SimulationResult r = f.Run("kv", "RangePage", {"a", "", "2", ""});
  CHECK(PayloadJson(r)["bookmark"] == "");
  REQUIRE(Ns(r, "kv") != nullptr);
  CHECK(Ns(r, "kv")->range_reads.at(0).exhausted);
}

TEST_CASE("A paginated range read with a page size of zero is an error response") {
  Fixture f;
  SimulationResult r = f.Run("kv", "RangePage", {"a", "", "0", ""});
  CHECK(r.response.status == 400);
  CHECK(r.rwset.namespaces.empty());
}

TEST_CASE("A partial composite key query returns the keys with that prefix and records the range") {
  Fixture f;
  std::string red1 = Composite("color", {"red", "1"});
  std::string red2 = Composite("color", {"red", "2"});
  std::string blue1 = Composite("color", {"blue", "1"});
  std::string size1 = Composite("size", {"x"});
  Version v0 = f.Seed("kv", {{red1, "r1"}, {blue1, "b1"}, {size1, "s1"}, {"plain", "p"}});
  Version v1 = f.Seed("kv", {{red2, "r2"}});

  SimulationResult red = f.Run("kv", "Composite", {"color", R"(["red"])"});
  CHECK(PayloadJson(red) == Json::array({Json::array({red1, "r1"}), Json::array({red2, "r2"})}));
  REQUIRE(Ns(red, "kv") != nullptr);
  REQUIRE(Ns(red, "kv")->range_reads.size() == 1);
  const RangeRead& range = Ns(red, "kv")->range_reads[0];
  std::string prefix = Composite("color", {"red"});
  CHECK(range.start == prefix);
  CHECK(range.end == prefix.substr(0, prefix.size() - 1) + "\x01");
  CHECK(range.exhausted);
  CHECK(range.keys_read == std::vector<KeyRead>{{red1, v0}, {red2, v1}});

  SimulationResult all = f.Run("kv", "Composite", {"color", "[]"});
  CHECK(PayloadJson(all) ==
        Json::array({Json::array({blue1, "b1"}), Json::array({red1, "r1"}), Json::array({red2, "r2"})}));

  SimulationResult none = f.Run("kv", "Composite", {"shape", "[]"});
  CHECK(PayloadJson(none) == Json::array());
}

TEST_CASE("A paginated partial composite key query stops at the page size with a bookmark") {
  Fixture f;
  std::string red1 = Composite("color", {"red", "1"});
  std::string red2 = Composite("color", {"red", "2"});
  Version v0 = f.Seed("kv", {{red1, "r1"}, {red2, "r2"}});
  SimulationResult r = f.Run("kv", "CompositePage", {"color", "[]", "1", ""});
  Json page = PayloadJson(r);
  CHECK(page["entries"] == Json::array({Json::array({red1, "r1"})}));
  CHECK(page["bookmark"] == red2);
  REQUIRE(Ns(r, "kv") != nullptr);
  const RangeRead& range = Ns(r, "kv")->range_reads.at(0);
  CHECK_FALSE(range.exhausted);
  CHECK(range.keys_read == std::vector<KeyRead>{{red1, v0}});

  SimulationResult next = f.Run("kv", "CompositePage", {"color", "[]", "1", red2});
  CHECK(PayloadJson(next)["entries"] == Json::array({Json::array({red2, "r2"})}));
  CHECK(PayloadJson(next)["bookmark"] == "");
}

// The range of a partial composite key query ends with the byte 0xFF, which is not UTF-8: the result
// that records it must still serialize, or no such transaction can ever be endorsed.
TEST_CASE("A result holding a partial composite key query serializes, parses back and is endorsed") {
  Fixture f;
  f.Seed("kv", {{Composite("color", {"red", "1"}), "r1"}});
  SignedBytes sp = f.Propose("kv", "Composite", {"color", R"(["red"])"});
  SimulationResult suggestion = f.RunSigned(sp);
  CHECK(suggestion.response.status == 200);
  // The endorser must answer, never throw, whatever the suggestion.
  EndorseOutcome outcome;
  CHECK_NOTHROW(outcome = f.endorser->EndorseProposal(sp, {}, ToBytes("{}")));
  Bytes bytes;
  CHECK_NOTHROW(bytes = suggestion.Serialize());
  REQUIRE_FALSE(bytes.empty());
  auto parsed = SimulationResult::Parse(bytes);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  CHECK(parsed->rwset == suggestion.rwset);
  CHECK_NOTHROW(outcome = f.endorser->EndorseProposal(sp, {}, bytes));
  CHECK_MESSAGE(outcome.ok(), outcome.message);
}

TEST_CASE("A range read with a bound that is not UTF-8 gives a result that serializes") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}});
  SimulationResult r = f.Run("kv", "RangeNonUtf8");
  CHECK_NOTHROW(r.Serialize());
}

TEST_CASE("A paginated range read with a bookmark outside its range is an error response, not a ledger failure") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}, {"b", "2"}});
  SignedBytes sp = f.Propose("kv", "RangePage", {"a", "c", "1", "z"});
  Refusal refusal = Refusal::kNone;
  auto r = f.endorser->SimulateProposal(sp, {}, &refusal);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString(), " (refusal ", RefusalName(refusal), ")");
  CHECK(refusal == Refusal::kNone);
  CHECK(r->response.status == 400);
  CHECK(r->rwset.namespaces.empty());
}

TEST_CASE("History returns every write of a key, oldest first, and is not recorded in the rwset") {
  Fixture f;
  Version v0 = f.Seed("kv", {{"h", "one"}});
  Version v1 = f.Seed("kv", {{"h", "two"}, {"other", "x"}});
  Version v2 = f.Seed("kv", {{"h", std::nullopt}});
  SimulationResult r = f.Run("kv", "History", {"h"});
  Json history = PayloadJson(r);
  REQUIRE(history.size() == 3);
  CHECK(history[0] == Json{{"tx_id", "seed-0"}, {"block", v0.block}, {"tx", 0}, {"delete", false}, {"value", "one"}});
  CHECK(history[1] == Json{{"tx_id", "seed-1"}, {"block", v1.block}, {"tx", 0}, {"delete", false}, {"value", "two"}});
  CHECK(history[2]["tx_id"] == "seed-2");
  CHECK(history[2]["block"] == v2.block);
  CHECK(history[2]["delete"] == true);
  CHECK(r.rwset.namespaces.empty());
}

TEST_CASE("SetStateValidationParameter writes the policy under the reserved key") {
  Fixture f;
  SimulationResult r = f.Run("kv", "SetPolicy", {"asset1", "OutOf(1,'chainA.node')"});
  CHECK(r.response.status == 200);
  REQUIRE(Ns(r, "kv") != nullptr);
  CHECK(Ns(r, "kv")->writes ==
        std::vector<KeyWrite>{Write(shim::internal::ValidationParameterKey("asset1"), "OutOf(1,'chainA.node')")});
  CHECK(Ns(r, "kv")->reads.empty());
}

TEST_CASE("GetStateValidationParameter reads the reserved key with its version") {
  Fixture f;
  std::string reserved = shim::internal::ValidationParameterKey("asset1");
  Version v = f.Seed("kv", {{reserved, "OutOf(2,'chainA.node')"}});
  SimulationResult r = f.Run("kv", "GetPolicy", {"asset1"});
  CHECK(PayloadText(r) == "OutOf(2,'chainA.node')");
  REQUIRE(Ns(r, "kv") != nullptr);
  CHECK(Ns(r, "kv")->reads == std::vector<KeyRead>{{reserved, v}});
}

TEST_CASE("SetEvent appears in the result's events, a later event replacing the earlier") {
  Fixture f;
  SimulationResult r = f.Run("kv", "Event", {"Transferred", "payload bytes"});
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].first == "Transferred");
  CHECK(r.events[0].second == ToBytes("payload bytes"));
  CHECK(r.rwset.namespaces.empty());

  SimulationResult two = f.Run("kv", "TwoEvents");
  REQUIRE(two.events.size() == 1);
  CHECK(two.events[0].first == "Second");
  CHECK(two.events[0].second == ToBytes("2"));

  SimulationResult unnamed = f.Run("kv", "Event", {"", "x"});
  CHECK(unnamed.response.status == 400);
  CHECK(unnamed.events.empty());
}

TEST_CASE("InvokeChaincode records the callee's reads and writes under the callee's own namespace") {
  Fixture f;
  Version vo = f.Seed("other", {{"x", "their x"}});
  f.Seed("kv", {{"x", "my x"}});
  SimulationResult get = f.Run("kv", "Call", {"other", R"(["Get","x"])"});
  CHECK(PayloadJson(get) == Json{{"status", 200}, {"message", ""}, {"payload", "their x"}});
  REQUIRE(get.rwset.namespaces.size() == 1);
  REQUIRE(Ns(get, "other") != nullptr);
  CHECK(Ns(get, "other")->reads == std::vector<KeyRead>{{"x", vo}});

  SimulationResult put = f.Run("kv", "Call", {"other", R"(["GetPutGet","x","new"])"});
  CHECK(PayloadJson(put)["status"] == 200);
  REQUIRE(Ns(put, "other") != nullptr);
  CHECK(Ns(put, "other")->reads == std::vector<KeyRead>{{"x", vo}});
  CHECK(Ns(put, "other")->writes == std::vector<KeyWrite>{Write("x", "new")});
  CHECK(Ns(put, "kv") == nullptr);
}

TEST_CASE("The callee of InvokeChaincode sees its own function, parameters and contract name") {
  Fixture f;
  SimulationResult r = f.Run("kv", "Call", {"other", R"(["Info"])"});
  Json info = Take(ParseJson(PayloadJson(r)["payload"].get<std::string>()));
  CHECK(info["contract"] == "other");
  CHECK(info["function"] == "Info");
  CHECK(info["params"] == Json::array());
  CHECK(info["channel"] == "chainA");
}

TEST_CASE("The writes of a failing callee are discarded while the caller's are kept") {
  Fixture f;
  f.Seed("other", {{"a", "1"}});
  // The caller writes, then calls a callee that writes and fails; the caller goes on successfully.
  SimulationResult r = f.Run("kv", "Call", {"other", R"(["PutThenFail","doomed"])"});
  CHECK(r.response.status == 200);
  Json answer = PayloadJson(r);
  CHECK(answer["status"] == 400);
  CHECK(Contains(answer["message"].get<std::string>(), "PutThenFail always fails"));
  const NamespaceRwSet* other = Ns(r, "other");
  if (other != nullptr) CHECK(other->writes.empty());
}

TEST_CASE("The writes of a contract called by a failing callee are discarded too") {
  Fixture f;
  // kv -> relay.CallThenFail -> other.Put: relay fails after its own callee succeeded.
  SimulationResult r = f.Run("kv", "Call", {"relay", R"(["CallThenFail","other","[\"Put\",\"k\",\"v\"]"])"});
  CHECK(r.response.status == 200);
  CHECK(PayloadJson(r)["status"] == 400);
  const NamespaceRwSet* other = Ns(r, "other");
  if (other != nullptr) CHECK_MESSAGE(other->writes.empty(), "a failed callee's nested writes were kept");
}

TEST_CASE("InvokeChaincode of a contract that is not installed answers 404 to the caller") {
  Fixture f;
  SimulationResult r = f.Run("kv", "Call", {"nowhere", R"(["Get","x"])"});
  CHECK(r.response.status == 200);
  Json answer = PayloadJson(r);
  CHECK(answer["status"] == 404);
  CHECK(Contains(answer["message"].get<std::string>(), "nowhere"));
}

TEST_CASE("GetRemoteState records the remote version under the remote namespace") {
  Fixture f;
  f.remote.values["chainB/assets/k1"] = RemoteValue{ToBytes("remote value"), Version{7, 3}};
  SimulationResult r = f.Run("kv", "Remote", {"chainB", "assets", "k1"});
  CHECK(r.response.status == 200);
  CHECK(PayloadText(r) == "remote value");
  REQUIRE(r.rwset.namespaces.size() == 1);
  const NamespaceRwSet* remote = Ns(r, "assets", "chainB");
  REQUIRE(remote != nullptr);
  CHECK(remote->reads == std::vector<KeyRead>{{"k1", Version{7, 3}}});
  CHECK(remote->writes.empty());
  CHECK(f.remote.calls == std::vector<std::string>{"chainA/kv -> chainB/assets/k1"});

  SimulationResult missing = f.Run("kv", "Remote", {"chainB", "assets", "k2"});
  CHECK(PayloadText(missing) == kNil);
  REQUIRE(Ns(missing, "assets", "chainB") != nullptr);
  CHECK(Ns(missing, "assets", "chainB")->reads == std::vector<KeyRead>{{"k2", std::nullopt}});
}

TEST_CASE("A remote read without a route is a 403 error response with an empty rwset") {
  Fixture f;
  f.remote.values["chainC/assets/k1"] = RemoteValue{ToBytes("v"), Version{1, 0}};
  f.remote.denied_channels.insert("chainC");
  SimulationResult r = f.Run("kv", "Remote", {"chainC", "assets", "k1"});
  CHECK(r.response.status == 403);
  CHECK(Contains(r.response.message, "no route"));
  CHECK(r.rwset.namespaces.empty());
}

TEST_CASE("A remote read of an unreachable chain is a 503 error response") {
  Fixture f;
  f.remote.unavailable_channels.insert("chainD");
  SimulationResult r = f.Run("kv", "Remote", {"chainD", "assets", "k1"});
  CHECK(r.response.status == 503);
  CHECK(r.rwset.namespaces.empty());
}

TEST_CASE("A remote read on a node without remote state is a 403 error response") {
  Fixture f;
  Endorser local(*f.ledger, f.registry, f.trust, f.node);
  Refusal refusal = Refusal::kInternal;
  SimulationResult r =
      Take(local.SimulateProposal(f.Propose("kv", "Remote", {"chainB", "assets", "k1"}), {}, &refusal));
  CHECK(refusal == Refusal::kNone);
  CHECK(r.response.status == 403);
}

TEST_CASE("The transient map is visible to the contract and only its hash is in the proposal") {
  Fixture f;
  std::map<std::string, Bytes> transient{{"secret", ToBytes("s3cret")}, {"other", ToBytes("x")}};
  SignedBytes sp = f.Propose("kv", "Transient", {"secret"}, transient);
  Proposal p = Fixture::ParseProposal(sp);
  CHECK(p.transient_hash == TransientHash(transient));
  CHECK(p.transient_hash.size() == 64);
  CHECK_FALSE(Contains(ToString(sp.payload), "s3cret"));
  CHECK_FALSE(Contains(ToString(sp.payload), Base64Encode(ToBytes("s3cret"))));
  SimulationResult r = f.RunSigned(sp, transient);
  CHECK(PayloadText(r) == "s3cret");
  CHECK(r.rwset.namespaces.empty());
}

TEST_CASE("TxTimestampMs equals the proposal's timestamp") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Timestamp");
  Proposal p = Fixture::ParseProposal(sp);
  SimulationResult r = f.RunSigned(sp);
  CHECK(PayloadText(r) == std::to_string(p.timestamp_ms));
  CHECK(p.timestamp_ms > 1700000000000);
}

TEST_CASE("Creator names chain chainA, the role of the bound ECert and the id") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Creator");
  SimulationResult r = f.RunSigned(sp);
  Json creator = PayloadJson(r);
  CHECK(creator["chain"] == "chainA");
  CHECK(creator["role"] == "client");
  CHECK(creator["id"] == "client1");
  CHECK(creator["pem"] == f.client->ChainPem());
  CHECK(creator["pem"] == Fixture::ParseProposal(sp).creator);
}

TEST_CASE("Creator takes the role of an ECert presented beside the TCert when none is registered") {
  Fixture f;
  auto ecert = Take(f.ca->IssueEcert(crypto::Role::kAdmin, "carol", 30));
  auto tcerts = Take(f.ca->IssueTcerts(ecert.certificate, 1, 24));
  Signer carol{tcerts.at(0).certificate, {ecert.certificate}, tcerts.at(0).key};
  SignedBytes sp = f.Propose("kv", "Creator", {}, {}, &carol);
  Json creator = PayloadJson(f.RunSigned(sp));
  CHECK(creator["role"] == "admin");
  CHECK(creator["id"] == "carol");
}

TEST_CASE("The stub gives the proposal's tx id, channel, contract, function, parameters and signed bytes") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Info");
  Proposal p = Fixture::ParseProposal(sp);
  SimulationResult r = f.RunSigned(sp);
  Json info = PayloadJson(r);
  CHECK(info["tx_id"] == p.tx_id);
  CHECK(info["channel"] == "chainA");
  CHECK(info["contract"] == "kv");
  CHECK(info["function"] == "Info");
  CHECK(info["params"] == Json::array());
  auto signed_proposal = SignedBytes::Parse(info["signed_proposal"].get<std::string>());
  REQUIRE(signed_proposal.ok());
  CHECK(*signed_proposal == sp);
  CHECK(r.tx_id == p.tx_id);
  CHECK(r.proposal_hash == crypto::Sha256Hex(sp.payload));
}

// ---- Fabric semantics ----

TEST_CASE("A Get after a Put of the same key sees the committed value by default") {
  Fixture f;
  Version v = f.Seed("kv", {{"k", "old"}});
  SimulationResult r = f.RunDirect({}, "kv", "GetPutGet", {"k", "new"});
  CHECK(PayloadJson(r) == Json::array({"old", "old"}));
  REQUIRE(Ns(r, "kv") != nullptr);
  CHECK(Ns(r, "kv")->reads == std::vector<KeyRead>{{"k", v}});
  CHECK(Ns(r, "kv")->writes == std::vector<KeyWrite>{Write("k", "new")});

  SimulationResult put_get = f.Run("kv", "PutGet", {"k", "new"});
  CHECK(PayloadText(put_get) == "old");
  CHECK(Ns(put_get, "kv")->reads == std::vector<KeyRead>{{"k", v}});
}

TEST_CASE("A Get after a Put of the same key sees the written value with read_your_writes") {
  Fixture f;
  Version v = f.Seed("kv", {{"k", "old"}});
  SimulationOptions ryw{.read_your_writes = true};
  SimulationResult r = f.RunDirect(ryw, "kv", "GetPutGet", {"k", "new"});
  CHECK(PayloadJson(r) == Json::array({"old", "new"}));
  REQUIRE(Ns(r, "kv") != nullptr);
  CHECK(Ns(r, "kv")->reads == std::vector<KeyRead>{{"k", v}});
  CHECK(Ns(r, "kv")->writes == std::vector<KeyWrite>{Write("k", "new")});

  // A read answered from the transaction's own write depends on no committed version.
  SimulationResult put_get = f.RunDirect(ryw, "kv", "PutGet", {"k", "new"});
  CHECK(PayloadText(put_get) == "new");
  CHECK(Ns(put_get, "kv")->reads.empty());

  SimulationResult del_get = f.RunDirect(ryw, "kv", "DelGet", {"k"});
  CHECK(PayloadText(del_get) == kNil);
  CHECK(Ns(del_get, "kv")->writes == std::vector<KeyWrite>{Delete("k")});

  // The Endorser passes its options to the simulation.
  Endorser ryw_endorser(*f.ledger, f.registry, f.trust, f.node, &f.remote, ryw);
  Refusal refusal = Refusal::kInternal;
  SimulationResult through = Take(ryw_endorser.SimulateProposal(f.Propose("kv", "PutGet", {"k", "new"}), {}, &refusal));
  CHECK(PayloadText(through) == "new");
}

// ---- Contract failures ----

TEST_CASE("A contract's Check failure is a result with status 400 and an empty rwset") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}});
  SimulationResult r = f.Run("kv", "PutThenFail", {"doomed"});
  CHECK(r.response.status == 400);
  CHECK(Contains(r.response.message, "PutThenFail always fails"));
  CHECK(r.rwset.namespaces.empty());
  CHECK(r.events.empty());
}

TEST_CASE("An unknown function or a wrong number of parameters is a 400 result") {
  Fixture f;
  SimulationResult unknown = f.Run("kv", "NoSuchFunction");
  CHECK(unknown.response.status == 400);
  CHECK(unknown.rwset.namespaces.empty());
  SimulationResult arity = f.Run("kv", "Put", {"only-a-key"});
  CHECK(arity.response.status == 400);
  SimulationResult bad_json = f.Run("kv", "Multi", {"not json"});
  CHECK(bad_json.response.status == 400);
}

TEST_CASE("A contract that throws std::runtime_error gives status 500 and the process lives") {
  Fixture f;
  SimulationResult r = f.Run("thrower", "ThrowStd");
  CHECK(r.response.status == 500);
  CHECK(Contains(r.response.message, "disk on fire"));
  CHECK(r.rwset.namespaces.empty());
}

TEST_CASE("A contract that throws an int gives status 500 and the process lives") {
  Fixture f;
  SimulationResult r = f.Run("thrower", "ThrowInt");
  CHECK(r.response.status == 500);
  CHECK(r.rwset.namespaces.empty());
  // And the node goes on simulating.
  CHECK(f.Run("kv", "Get", {"a"}).response.status == 200);
}

TEST_CASE("An unknown contract is NotFound from Simulate and kUnknownContract from the Endorser") {
  Fixture f;
  SignedBytes sp = f.Propose("nowhere", "Get", {"a"});
  Proposal p = Fixture::ParseProposal(sp);
  shim::Identity creator{kChannel, "client", "client1", p.creator};
  auto snapshot = f.ledger->GetSnapshot();
  auto direct = Simulate(p, sp, {}, creator, *snapshot, f.registry, &f.remote);
  REQUIRE_FALSE(direct.ok());
  CHECK(direct.status().IsNotFound());

  Refusal refusal = Refusal::kNone;
  auto simulated = f.endorser->SimulateProposal(sp, {}, &refusal);
  CHECK_FALSE(simulated.ok());
  CHECK(refusal == Refusal::kUnknownContract);

  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, ToBytes("{}"));
  CHECK(outcome.refusal == Refusal::kUnknownContract);
  CHECK_FALSE(outcome.endorsement.has_value());
  CHECK(Contains(outcome.message, "nowhere"));
}

// ---- Endorsing ----

TEST_CASE("An endorser signs a result equal to the suggestion result") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}});
  SignedBytes sp = f.Propose("kv", "GetPutGet", {"a", "2"});
  Bytes suggestion = f.RunSigned(sp).Serialize();
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion);
  REQUIRE_MESSAGE(outcome.ok(), outcome.message);
  CHECK(outcome.refusal == Refusal::kNone);
  CHECK(outcome.differing_keys.empty());
  REQUIRE(outcome.endorsement.has_value());
  const Endorsement& e = *outcome.endorsement;
  CHECK(e.endorser == f.node->ChainPem());
  CHECK(f.node->certificate.Key().Verify(EndorsementMessage(suggestion, e.endorser), e.signature));
  // The signature covers the result bytes: other bytes do not verify.
  Bytes other = suggestion;
  other.back() ^= 1;
  CHECK_FALSE(f.node->certificate.Key().Verify(EndorsementMessage(other, e.endorser), e.signature));
  CHECK_FALSE(f.client->certificate.Key().Verify(EndorsementMessage(suggestion, e.endorser), e.signature));
}

TEST_CASE("A second endorser over its own ledger with the same state signs the same result") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}});
  SignedBytes sp = f.Propose("kv", "Range", {"", ""});
  Bytes suggestion = f.RunSigned(sp).Serialize();
  for (int i = 0; i < 3; ++i) {
    EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion);
    CHECK_MESSAGE(outcome.ok(), outcome.message);
  }
}

TEST_CASE("A contract that reads the clock is caught as an endorsement mismatch naming the key") {
  Fixture f;
  SignedBytes sp = f.Propose("clock", "Stamp");
  Bytes suggestion = f.RunSigned(sp).Serialize();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion);
  CHECK(outcome.refusal == Refusal::kEndorsementMismatch);
  CHECK_FALSE(outcome.endorsement.has_value());
  CHECK(outcome.differing_keys == std::vector<std::string>{"chainA/clock/now"});
  CHECK(Contains(outcome.message, "chainA/clock/now"));
  CHECK(RefusalName(outcome.refusal) == "ENDORSEMENT_MISMATCH");
}

TEST_CASE("A contract that uses std::random_device is caught as an endorsement mismatch naming the key") {
  Fixture f;
  SignedBytes sp = f.Propose("random", "Roll");
  Bytes suggestion = f.RunSigned(sp).Serialize();
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion);
  CHECK(outcome.refusal == Refusal::kEndorsementMismatch);
  CHECK(outcome.differing_keys == std::vector<std::string>{"chainA/random/roll"});
  CHECK(Contains(outcome.message, "chainA/random/roll"));
}

TEST_CASE("A suggestion result simulated on older state is a mismatch naming the read key") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}, {"b", "2"}});
  SignedBytes sp = f.Propose("kv", "Multi", {R"(["a","b"])"});
  Bytes suggestion = f.RunSigned(sp).Serialize();
  f.Seed("kv", {{"a", "changed"}});
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion);
  CHECK(outcome.refusal == Refusal::kEndorsementMismatch);
  CHECK(outcome.differing_keys == std::vector<std::string>{"chainA/kv/a"});
  CHECK(Contains(outcome.message, "chainA/kv/a"));
  CHECK_FALSE(Contains(outcome.message, "chainA/kv/b"));
}

TEST_CASE("A page that gained a following key on the endorser is a mismatch naming the range read") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}, {"b", "2"}});
  // The suggestion's page holds every key; on the endorser a later key exists, so its page stops early.
  SignedBytes sp = f.Propose("kv", "RangePage", {"a", "", "2", ""});
  Bytes suggestion = f.RunSigned(sp).Serialize();
  f.Seed("kv", {{"c", "3"}});
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion);
  CHECK(outcome.refusal == Refusal::kEndorsementMismatch);
  REQUIRE(outcome.differing_keys.size() == 1);
  CHECK(Contains(outcome.differing_keys[0], "chainA/kv/"));
}

TEST_CASE("A suggestion result that differs only in its response is a mismatch naming no key") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Get", {"a"});
  SimulationResult suggestion = f.RunSigned(sp);
  suggestion.response.payload = ToBytes("something else");
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion.Serialize());
  CHECK(outcome.refusal == Refusal::kEndorsementMismatch);
  CHECK(outcome.differing_keys.empty());
  CHECK(Contains(outcome.message, "response or events"));
}

TEST_CASE("A suggestion result that does not parse is a mismatch") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Get", {"a"});
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, ToBytes("not json"));
  CHECK(outcome.refusal == Refusal::kEndorsementMismatch);
  CHECK(Contains(outcome.message, "does not parse"));
}

TEST_CASE("An endorser does not sign a result whose response is an error") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "PutThenFail", {"k"});
  Bytes suggestion = f.RunSigned(sp).Serialize();
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion);
  CHECK_FALSE(outcome.ok());
  CHECK(outcome.refusal == Refusal::kContractError);
  CHECK_FALSE(outcome.endorsement.has_value());
  CHECK(Contains(outcome.message, "PutThenFail always fails"));
}

TEST_CASE("A proposal with a tampered signature is refused as kBadSignature") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Get", {"a"});
  Bytes suggestion = f.RunSigned(sp).Serialize();
  SignedBytes tampered = sp;
  tampered.signature[tampered.signature.size() / 2] ^= 0x01;
  EndorseOutcome outcome = f.endorser->EndorseProposal(tampered, {}, suggestion);
  CHECK(outcome.refusal == Refusal::kBadSignature);
  CHECK_FALSE(outcome.endorsement.has_value());
  CHECK(RefusalName(outcome.refusal) == "BAD_CREATOR_SIGNATURE");

  // A proposal signed by someone else's key than its creator's is refused the same way.
  SignedBytes foreign = sp;
  foreign.signature = Take(f.node->key.Sign(sp.payload));
  CHECK(f.endorser->EndorseProposal(foreign, {}, suggestion).refusal == Refusal::kBadSignature);
}

TEST_CASE("A proposal whose tx id was altered and re-signed is refused as kBadProposal") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Get", {"a"});
  Json json = Take(ParseJson(ToString(sp.payload)));
  std::string tx_id = json["tx_id"].get<std::string>();
  json["tx_id"] = std::string(tx_id.rbegin(), tx_id.rend());
  SignedBytes altered;
  altered.payload = ToBytes(Take(CanonicalJson(json)));
  altered.signature = Take(f.client->key.Sign(altered.payload));
  Refusal refusal = Refusal::kNone;
  auto verified = f.endorser->VerifyProposal(altered, &refusal);
  CHECK_FALSE(verified.ok());
  CHECK(refusal == Refusal::kBadProposal);
  EndorseOutcome outcome = f.endorser->EndorseProposal(altered, {}, ToBytes("{}"));
  CHECK(outcome.refusal == Refusal::kBadProposal);
  CHECK(Contains(outcome.message, "tx_id"));
}

TEST_CASE("A proposal that does not parse or misses a field is refused as kBadProposal") {
  Fixture f;
  SignedBytes garbage;
  garbage.payload = ToBytes("not json");
  garbage.signature = Take(f.client->key.Sign(garbage.payload));
  Refusal refusal = Refusal::kNone;
  CHECK_FALSE(f.endorser->VerifyProposal(garbage, &refusal).ok());
  CHECK(refusal == Refusal::kBadProposal);

  SignedBytes sp = f.Propose("kv", "Get", {"a"});
  Json json = Take(ParseJson(ToString(sp.payload)));
  json.erase("channel");
  SignedBytes missing;
  missing.payload = ToBytes(Take(CanonicalJson(json)));
  missing.signature = Take(f.client->key.Sign(missing.payload));
  refusal = Refusal::kNone;
  CHECK_FALSE(f.endorser->VerifyProposal(missing, &refusal).ok());
  CHECK(refusal == Refusal::kBadProposal);

  json = Take(ParseJson(ToString(sp.payload)));
  json["creator"] = "not a certificate";
  SignedBytes no_cert;
  no_cert.payload = ToBytes(Take(CanonicalJson(json)));
  no_cert.signature = Take(f.client->key.Sign(no_cert.payload));
  refusal = Refusal::kNone;
  CHECK_FALSE(f.endorser->VerifyProposal(no_cert, &refusal).ok());
  CHECK(refusal == Refusal::kBadProposal);
}

TEST_CASE("A verified proposal is returned with every field") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Put", {"a", "1"});
  Refusal refusal = Refusal::kInternal;
  Proposal p = Take(f.endorser->VerifyProposal(sp, &refusal));
  CHECK(refusal == Refusal::kNone);
  CHECK(p.channel == "chainA");
  CHECK(p.contract == "kv");
  CHECK(p.function == "Put");
  CHECK(p.args == std::vector<std::string>{"a", "1"});
  CHECK(p.creator == f.client->ChainPem());
  CHECK(p.nonce.size() == 24);
  CHECK(p.tx_id == ComputeTxId(p.nonce, f.client->certificate.Der(), "chainA"));
}

TEST_CASE("A creator TCert whose ECert is not registered is refused as kBadCertificate") {
  Fixture f;
  auto stranger_ecert = Take(f.ca->IssueEcert(crypto::Role::kClient, "stranger", 30));
  auto stranger_tcerts = Take(f.ca->IssueTcerts(stranger_ecert.certificate, 1, 24));
  Signer stranger = MakeSigner(stranger_tcerts.at(0));
  SignedBytes sp = f.Propose("kv", "Get", {"a"}, {}, &stranger);
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, ToBytes("{}"));
  CHECK(outcome.refusal == Refusal::kBadCertificate);
  CHECK_FALSE(outcome.endorsement.has_value());
  CHECK(RefusalName(outcome.refusal) == "BAD_CERTIFICATE");
}

TEST_CASE("A creator TCert whose ECert is revoked is refused as kBadCertificate") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Get", {"a"});
  Bytes suggestion = f.RunSigned(sp).Serialize();
  REQUIRE(f.endorser->EndorseProposal(sp, {}, suggestion).ok());
  REQUIRE(f.ca->Revoke(f.client_ecert->certificate).ok());
  std::string crl = Take(f.ca->CrlPem());
  Status added = f.trust.AddCrl(crl);
  REQUIRE_MESSAGE(added.ok(), added.ToString());
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, suggestion);
  CHECK(outcome.refusal == Refusal::kBadCertificate);
  CHECK_FALSE(outcome.endorsement.has_value());
  Refusal refusal = Refusal::kNone;
  CHECK_FALSE(f.endorser->SimulateProposal(sp, {}, &refusal).ok());
  CHECK(refusal == Refusal::kBadCertificate);
}

TEST_CASE("A creator certificate from a CA outside the alliance is refused as kBadCertificate") {
  Fixture f;
  auto other_ca = Take(certs::CertificateAuthority::Init(f.dir.Join("other-ca"), "chainA", false));
  auto ecert = Take(other_ca.IssueEcert(crypto::Role::kClient, "client1", 30));
  auto tcerts = Take(other_ca.IssueTcerts(ecert.certificate, 1, 24));
  Signer outsider = MakeSigner(tcerts.at(0));
  SignedBytes sp = f.Propose("kv", "Get", {"a"}, {}, &outsider);
  CHECK(f.endorser->EndorseProposal(sp, {}, ToBytes("{}")).refusal == Refusal::kBadCertificate);
}

TEST_CASE("A transient map that does not match the proposal's transient_hash is refused as kBadProposal") {
  Fixture f;
  std::map<std::string, Bytes> transient{{"secret", ToBytes("s")}};
  SignedBytes sp = f.Propose("kv", "Transient", {"secret"}, transient);
  Bytes suggestion = f.RunSigned(sp, transient).Serialize();
  CHECK(f.endorser->EndorseProposal(sp, transient, suggestion).ok());

  EndorseOutcome missing = f.endorser->EndorseProposal(sp, {}, suggestion);
  CHECK(missing.refusal == Refusal::kBadProposal);
  CHECK(Contains(missing.message, "transient"));
  std::map<std::string, Bytes> changed{{"secret", ToBytes("t")}};
  CHECK(f.endorser->EndorseProposal(sp, changed, suggestion).refusal == Refusal::kBadProposal);

  // A proposal made without a transient map refuses one given beside it.
  SignedBytes plain = f.Propose("kv", "Transient", {"secret"});
  Refusal refusal = Refusal::kNone;
  CHECK_FALSE(f.endorser->SimulateProposal(plain, transient, &refusal).ok());
  CHECK(refusal == Refusal::kBadProposal);
}

TEST_CASE("An endorser endorses concurrently from several threads") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}, {"b", "2"}});
  std::vector<std::pair<SignedBytes, Bytes>> work;
  for (int i = 0; i < 8; ++i) {
    SignedBytes sp = f.Propose("kv", "GetPutGet", {i % 2 ? "a" : "b", std::to_string(i)});
    work.emplace_back(sp, f.RunSigned(sp).Serialize());
  }
  std::atomic<int> signed_count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (const auto& [sp, suggestion] : work) {
        if (f.endorser->EndorseProposal(sp, {}, suggestion).ok()) ++signed_count;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(signed_count == 32);
}

TEST_CASE("RefusalName names every refusal") {
  CHECK(RefusalName(Refusal::kNone) == "NONE");
  CHECK(RefusalName(Refusal::kBadProposal) == "BAD_PROPOSAL");
  CHECK(RefusalName(Refusal::kBadSignature) == "BAD_CREATOR_SIGNATURE");
  CHECK(RefusalName(Refusal::kBadCertificate) == "BAD_CERTIFICATE");
  CHECK(RefusalName(Refusal::kUnknownContract) == "UNKNOWN_CONTRACT");
  CHECK(RefusalName(Refusal::kEndorsementMismatch) == "ENDORSEMENT_MISMATCH");
  CHECK(RefusalName(Refusal::kInternal) == "INTERNAL");
}

// ---- Protocol types ----

SimulationResult SampleResult() {
  SimulationResult r;
  r.tx_id = std::string(64, 'a');
  r.proposal_hash = std::string(64, 'b');
  NamespaceRwSet ns;
  ns.channel = "chainA";
  ns.contract = "kv";
  ns.reads = {{"a", Version{1, 2}}, {"missing", std::nullopt}};
  ns.range_reads = {RangeRead{"a", "c", false, {{"a", Version{1, 2}}, {"b", Version{3, 0}}}}};
  ns.writes = {Write("a", std::string("bin\0ary", 7)), Delete("b")};
  NamespaceRwSet remote;
  remote.channel = "chainB";
  remote.contract = "assets";
  remote.reads = {{"k", Version{9, 9}}};
  r.rwset.namespaces = {ns, remote};
  r.response = shim::Response{201, "created", ToBytes("payload")};
  r.events = {{"Created", Bytes{0x00, 0xff}}};
  return r;
}

void CheckSameResult(const SimulationResult& a, const SimulationResult& b) {
  CHECK(a.tx_id == b.tx_id);
  CHECK(a.proposal_hash == b.proposal_hash);
  CHECK(a.rwset == b.rwset);
  CHECK(a.response.status == b.response.status);
  CHECK(a.response.message == b.response.message);
  CHECK(a.response.payload == b.response.payload);
  CHECK(a.events == b.events);
}

TEST_CASE("A Proposal round-trips through JSON and its canonical form is the signed payload") {
  Fixture f;
  SignedBytes sp = f.Propose("kv", "Put", {"a", "1"}, {{"t", ToBytes("x")}});
  Json json = Take(ParseJson(ToString(sp.payload)));
  Proposal p = Take(Proposal::FromJson(json));
  CHECK(p.ToJson() == json);
  CHECK(Take(CanonicalJson(p.ToJson())) == ToString(sp.payload));
  CHECK(f.client->certificate.Key().Verify(sp.payload, sp.signature));

  Proposal q;
  q.tx_id = "id";
  q.channel = "c";
  q.contract = "k";
  q.function = "f";
  q.args = {"x", "", "z"};
  q.creator = "pem";
  q.nonce = Bytes{0, 1, 2, 255};
  q.timestamp_ms = 123456789012345;
  Proposal back = Take(Proposal::FromJson(q.ToJson()));
  CHECK(back.tx_id == q.tx_id);
  CHECK(back.channel == q.channel);
  CHECK(back.contract == q.contract);
  CHECK(back.function == q.function);
  CHECK(back.args == q.args);
  CHECK(back.transient_hash == "");
  CHECK(back.creator == q.creator);
  CHECK(back.nonce == q.nonce);
  CHECK(back.timestamp_ms == q.timestamp_ms);
}

TEST_CASE("Proposal::FromJson rejects a missing or mistyped field, naming it") {
  Proposal p;
  p.tx_id = "id";
  p.channel = "c";
  p.contract = "k";
  p.function = "f";
  p.args = {"x"};
  p.creator = "pem";
  p.nonce = Bytes{1, 2, 3};
  p.timestamp_ms = 5;
  Json good = p.ToJson();
  for (const auto& [field, value] : good.items()) {
    CAPTURE(field);
    Json missing = good;
    missing.erase(field);
    auto r = Proposal::FromJson(missing);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsInvalidArgument());
    CHECK(Contains(r.status().message(), field));
  }
  Json bad_args = good;
  bad_args["args"] = Json::array({"ok", 3});
  CHECK_FALSE(Proposal::FromJson(bad_args).ok());
  Json bad_nonce = good;
  bad_nonce["nonce"] = "not base64!";
  CHECK_FALSE(Proposal::FromJson(bad_nonce).ok());
  Json bad_time = good;
  bad_time["timestamp_ms"] = "5";
  CHECK_FALSE(Proposal::FromJson(bad_time).ok());
  CHECK_FALSE(Proposal::FromJson(Json::array()).ok());
}

TEST_CASE("A SimulationResult round-trips through JSON and through its serialized bytes") {
  SimulationResult r = SampleResult();
  CheckSameResult(Take(SimulationResult::FromJson(r.ToJson())), r);
  Bytes bytes = r.Serialize();
  CheckSameResult(Take(SimulationResult::Parse(bytes)), r);
  // The bytes are canonical JSON, so a parsed result serializes to the same bytes.
  CHECK(Take(SimulationResult::Parse(bytes)).Serialize() == bytes);
  CHECK(Take(CanonicalJson(Take(ParseJson(ToString(bytes))))) == ToString(bytes));
}

TEST_CASE("SimulationResult::FromJson rejects a missing field") {
  Json good = SampleResult().ToJson();
  for (const char* field : {"tx_id", "proposal_hash", "rwset", "response", "events"}) {
    CAPTURE(field);
    Json missing = good;
    missing.erase(field);
    CHECK_FALSE(SimulationResult::FromJson(missing).ok());
  }
  for (const char* field : {"status", "message", "payload"}) {
    CAPTURE(field);
    Json missing = good;
    missing["response"].erase(field);
    CHECK_FALSE(SimulationResult::FromJson(missing).ok());
  }
  for (const char* field : {"name", "payload"}) {
    CAPTURE(field);
    Json missing = good;
    missing["events"][0].erase(field);
    CHECK_FALSE(SimulationResult::FromJson(missing).ok());
  }
  Json bad_rwset = good;
  bad_rwset["rwset"]["namespaces"][0].erase("writes");
  CHECK_FALSE(SimulationResult::FromJson(bad_rwset).ok());
  CHECK_FALSE(SimulationResult::Parse(ToBytes("{")).ok());
  CHECK_FALSE(SimulationResult::FromJson(Json("string")).ok());
}

TEST_CASE("An Endorsement round-trips through JSON and FromJson rejects missing fields") {
  Endorsement e{"-----BEGIN CERTIFICATE-----\n...", Bytes{1, 2, 3, 0}};
  Endorsement back = Take(Endorsement::FromJson(e.ToJson()));
  CHECK(back.endorser == e.endorser);
  CHECK(back.signature == e.signature);
  for (const char* field : {"endorser", "signature"}) {
    CAPTURE(field);
    Json missing = e.ToJson();
    missing.erase(field);
    auto r = Endorsement::FromJson(missing);
    REQUIRE_FALSE(r.ok());
    CHECK(Contains(r.status().message(), field));
  }
  CHECK_FALSE(Endorsement::FromJson(Json::array()).ok());
  CHECK_FALSE(Endorsement::FromJson(Json(nullptr)).ok());
}

TEST_CASE("EndorsementMessage is the result bytes followed by the endorser's PEM") {
  Bytes result = ToBytes("result");
  CHECK(EndorsementMessage(result, "PEM") == ToBytes("resultPEM"));
  Fixture f;
  Endorsement e = Take(Endorse(*f.node, result));
  CHECK(e.endorser == f.node->ChainPem());
  CHECK(f.node->certificate.Key().Verify(EndorsementMessage(result, e.endorser), e.signature));
}

TEST_CASE("An Envelope round-trips through JSON and FromJson rejects missing fields") {
  Fixture f;
  Envelope env;
  env.signed_proposal = f.Propose("kv", "Get", {"a"});
  env.result = SampleResult().Serialize();
  env.endorsements = {Take(Endorse(*f.node, env.result)), Endorsement{"pem2", Bytes{9}}};
  Envelope back = Take(Envelope::FromJson(env.ToJson()));
  CHECK(back.signed_proposal == env.signed_proposal);
  CHECK(back.result == env.result);
  REQUIRE(back.endorsements.size() == 2);
  CHECK(back.endorsements[0].endorser == env.endorsements[0].endorser);
  CHECK(back.endorsements[0].signature == env.endorsements[0].signature);
  CHECK(back.endorsements[1].endorser == "pem2");

  for (const char* field : {"signed_proposal", "result", "endorsements"}) {
    CAPTURE(field);
    Json missing = env.ToJson();
    missing.erase(field);
    CHECK_FALSE(Envelope::FromJson(missing).ok());
  }
  Json bad_endorsement = env.ToJson();
  bad_endorsement["endorsements"][1].erase("signature");
  CHECK_FALSE(Envelope::FromJson(bad_endorsement).ok());
  Json bad_proposal = env.ToJson();
  bad_proposal["signed_proposal"].erase("signature");
  CHECK_FALSE(Envelope::FromJson(bad_proposal).ok());
  Json no_endorsements = env.ToJson();
  no_endorsements["endorsements"] = Json::array();
  CHECK(Take(Envelope::FromJson(no_endorsements)).endorsements.empty());
}

TEST_CASE("SealEnvelope returns SignedBytes JSON whose signature verifies with the client's key") {
  Fixture f;
  f.Seed("kv", {{"a", "1"}});
  SignedBytes sp = f.Propose("kv", "Get", {"a"});
  Bytes result = f.RunSigned(sp).Serialize();
  EndorseOutcome outcome = f.endorser->EndorseProposal(sp, {}, result);
  REQUIRE(outcome.ok());
  Envelope env{sp, result, {*outcome.endorsement}};
  Bytes sealed = Take(SealEnvelope(*f.client, env));
  SignedBytes signed_envelope = Take(SignedBytes::Parse(ToString(sealed)));
  CHECK(f.client->certificate.Key().Verify(signed_envelope.payload, signed_envelope.signature));
  CHECK_FALSE(f.node->certificate.Key().Verify(signed_envelope.payload, signed_envelope.signature));
  Json payload = Take(ParseJson(ToString(signed_envelope.payload)));
  CHECK(Take(CanonicalJson(payload)) == ToString(signed_envelope.payload));
  Envelope back = Take(Envelope::FromJson(payload));
  CHECK(back.signed_proposal == sp);
  CHECK(back.result == result);
  REQUIRE(back.endorsements.size() == 1);
  CHECK(back.endorsements[0].signature == outcome.endorsement->signature);
}

TEST_CASE("ComputeTxId is the hex SHA-256 of the nonce, the creator's DER and the channel") {
  // SHA-256("abc"), split across nonce, DER and channel.
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  CHECK(ComputeTxId(AsBytes("abc"), {}, "") == abc);
  CHECK(ComputeTxId(AsBytes("a"), AsBytes("bc"), "") == abc);
  CHECK(ComputeTxId({}, AsBytes("ab"), "c") == abc);
  // One nonce and creator give another id on another channel.
  CHECK(ComputeTxId(AsBytes("n"), AsBytes("der"), "chainA") != ComputeTxId(AsBytes("n"), AsBytes("der"), "chainB"));

  Fixture f;
  SignedBytes sp = f.Propose("kv", "Get", {"a"});
  Proposal p = Fixture::ParseProposal(sp);
  Bytes concatenated = p.nonce;
  const Bytes& der = f.client->certificate.Der();
  concatenated.insert(concatenated.end(), der.begin(), der.end());
  concatenated.insert(concatenated.end(), p.channel.begin(), p.channel.end());
  CHECK(p.tx_id == crypto::Sha256Hex(concatenated));
  CHECK(p.tx_id == ComputeTxId(p.nonce, der, p.channel));
  // Every proposal has a fresh nonce, hence a fresh id.
  CHECK(Fixture::ParseProposal(f.Propose("kv", "Get", {"a"})).tx_id != p.tx_id);
}

TEST_CASE("TransientHash is empty for an empty map and the SHA-256 of its canonical JSON otherwise") {
  CHECK(TransientHash({}) == "");
  std::map<std::string, Bytes> transient{{"b", ToBytes("2")}, {"a", ToBytes("1")}};
  CHECK(TransientHash(transient) == crypto::Sha256Hex(AsBytes(R"({"a":"MQ==","b":"Mg=="})")));
  CHECK(TransientHash({{"a", ToBytes("1")}}) != TransientHash({{"a", ToBytes("2")}}));
}

// ---- DifferingKeys ----

TEST_CASE("DifferingKeys names exactly the keys whose reads or writes differ") {
  NamespaceRwSet ns;
  ns.channel = "chainA";
  ns.contract = "kv";
  ns.reads = {{"same", Version{1, 0}}, {"version", Version{1, 0}}, {"only-a", std::nullopt}};
  ns.writes = {Write("w-same", "1"), Write("w-value", "1"), Write("w-delete", "1")};
  RwSet a;
  a.namespaces = {ns};

  NamespaceRwSet ns2 = ns;
  ns2.reads = {{"same", Version{1, 0}}, {"version", Version{2, 0}}, {"only-b", Version{1, 1}}};
  ns2.writes = {Write("w-same", "1"), Write("w-value", "2"), Delete("w-delete")};
  NamespaceRwSet extra;
  extra.channel = "chainB";
  extra.contract = "assets";
  extra.reads = {{"remote", Version{4, 0}}};
  RwSet b;
  b.namespaces = {ns2, extra};

  std::vector<std::string> expected{"chainA/kv/only-a",   "chainA/kv/only-b",  "chainA/kv/version",
                                    "chainA/kv/w-delete", "chainA/kv/w-value", "chainB/assets/remote"};
  CHECK(DifferingKeys(a, b) == expected);
  CHECK(DifferingKeys(b, a) == expected);
  CHECK(DifferingKeys(a, a).empty());
  CHECK(DifferingKeys(RwSet{}, RwSet{}).empty());
}

TEST_CASE("DifferingKeys tells the same key in different namespaces apart") {
  RwSet a;
  a.namespaces = {NamespaceRwSet{"chainA", "kv", {{"k", Version{1, 0}}}, {}, {}},
                  NamespaceRwSet{"chainA", "other", {{"k", Version{1, 0}}}, {}, {}}};
  RwSet b;
  b.namespaces = {NamespaceRwSet{"chainA", "kv", {{"k", Version{1, 0}}}, {}, {}},
                  NamespaceRwSet{"chainA", "other", {{"k", Version{2, 0}}}, {}, {}}};
  CHECK(DifferingKeys(a, b) == std::vector<std::string>{"chainA/other/k"});
}

TEST_CASE("DifferingKeys names a range read whose keys differ") {
  RwSet a;
  a.namespaces = {NamespaceRwSet{"chainA", "kv", {}, {RangeRead{"a", "z", true, {{"b", Version{1, 0}}}}}, {}}};
  RwSet b;
  b.namespaces = {NamespaceRwSet{
      "chainA", "kv", {}, {RangeRead{"a", "z", true, {{"b", Version{1, 0}}, {"c", Version{2, 0}}}}}, {}}};
  std::vector<std::string> keys = DifferingKeys(a, b);
  REQUIRE(keys.size() == 1);
  CHECK(Contains(keys[0], "chainA/kv/"));
  CHECK(Contains(keys[0], "a"));
  CHECK(Contains(keys[0], "z"));
  CHECK(DifferingKeys(a, a).empty());
}


TEST_CASE("A contract dropped from the registry while a simulation runs it lives until the simulation returns (a deterministic hook)") {
  Fixture f;
  f.registry.chaincodes["pausing"] = MakeChaincode<Pausing>();
  std::optional<SimulationResult> result;
  std::thread simulation([&] { result = f.RunDirect({}, "pausing", "Hold"); });
  PauseGate& gate = Gate();
  {
    std::unique_lock lock(gate.mu);
    gate.cv.wait(lock, [&] { return gate.entered; });
  }
  // The registry lets go of the contract, as an unload or a reinstall would, while Hold runs.
  f.registry.chaincodes.erase("pausing");
  CHECK_FALSE(gate.destroyed);
  {
    std::lock_guard lock(gate.mu);
    gate.go = true;
  }
  gate.cv.notify_all();
  simulation.join();
  REQUIRE(result.has_value());
  const NamespaceRwSet* ns = Ns(*result, "pausing");
  REQUIRE(ns != nullptr);
  REQUIRE(ns->writes.size() == 1);
  CHECK(ToString(ns->writes[0].value) == "pausing alive");
  // The simulation's reference was the last.
  CHECK(gate.destroyed);
}

}  // namespace
}  // namespace entente::endorser
