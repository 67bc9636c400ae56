#include "runtime/shim/shim.h"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace entente::shim;

// A contract whose "Run" executes whatever body the test gives it, plus typed functions for the
// contract API. Tests keep state here only to drive the stub; real contracts must not.
class Probe : public Contract {
 public:
  using Body = std::function<std::string(Stub&)>;

  explicit Probe(std::string name = "Probe") : Contract(std::move(name)) {
    Transaction("Run", &Probe::Run);
    Transaction("Put", &Probe::Put);
    Transaction("Get", &Probe::Get, kEvaluate);
    Transaction("Del", &Probe::Del);
    Transaction("PutThenFail", &Probe::PutThenFail);
    Transaction("Add", &Probe::Add, kEvaluate);
    Transaction("Negate", &Probe::Negate, kEvaluate);
    Transaction("Echo", &Probe::Echo, kEvaluate);
    Transaction("Half", &Probe::Half, kEvaluate);
    Transaction("Raw", &Probe::Raw, kEvaluate);
    Transaction("ThrowStd", &Probe::ThrowStd);
    Transaction("ThrowOther", &Probe::ThrowOther);
    Transaction("ThrowStatus", &Probe::ThrowStatus);
  }

  std::string Run(Context& ctx) { return body ? body(ctx.stub()) : std::string(); }
  void Put(Context& ctx, std::string key, std::string value) { ctx.stub().PutState(key, ToBytes(value)); }
  std::string Get(Context& ctx, std::string key) {
    auto value = ctx.stub().GetState(key);
    Check(value.has_value(), "no key " + key);
    return ToText(*value);
  }
  void Del(Context& ctx, std::string key) { ctx.stub().DelState(key); }
  void PutThenFail(Context& ctx, std::string key) {
    ctx.stub().PutState(key, ToBytes("doomed"));
    ctx.stub().SetEvent("Doomed", ToBytes("x"));
    Check(false, "PutThenFail always fails");
  }
  std::int64_t Add(Context&, std::int64_t a, std::int64_t b) { return a + b; }
  bool Negate(Context&, bool b) { return !b; }
  Json Echo(Context&, Json j) { return Json{{"echo", j}}; }
  double Half(Context&, double x) { return x / 2; }
  Bytes Raw(Context&) { return Bytes{0x00, 0xff, 0x10}; }
  void ThrowStd(Context& ctx) {
    ctx.stub().PutState("partial", ToBytes("write"));
    throw std::runtime_error("disk on fire");
  }
  void ThrowOther(Context& ctx) {
    ctx.stub().PutState("partial", ToBytes("write"));
    throw 42;
  }
  void ThrowStatus(Context&) { throw ContractError("not here", 404); }

  Body body;
};

struct Harness {
  std::shared_ptr<Chaincode> chaincode = std::make_shared<Chaincode>();
  Probe* probe = nullptr;
  std::unique_ptr<MockStub> stub;

  Harness() {
    auto p = std::make_unique<Probe>();
    probe = p.get();
    chaincode->Add(std::move(p));
    stub = std::make_unique<MockStub>("chainA", "probe", chaincode);
  }
  // Runs `body` as one transaction.
  Response Run(Probe::Body body) {
    probe->body = std::move(body);
    return stub->Invoke("Run");
  }
  std::string Committed(const std::string& key) const {
    auto value = stub->CommittedState(key);
    return value ? ToText(*value) : "<absent>";
  }
};

std::vector<std::string> Keys(const std::vector<KeyValue>& entries) {
  std::vector<std::string> keys;
  for (const auto& e : entries) keys.push_back(e.key);
  return keys;
}

}  // namespace

// Defined by ENTENTE_CHAINCODE at the end of this file.
extern "C" const entente::shim::ChaincodeEntry* entente_chaincode_entry();

// ---- The contract API ----

TEST_CASE("Typed parameters are parsed from JSON and results are encoded as JSON, strings and bytes as they are") {
  Harness h;
  Response add = h.stub->Invoke("Add", {"40", "2"});
  REQUIRE(add.ok());
  CHECK(add.status == 200);
  CHECK(ToText(add.payload) == "42");
  CHECK(ToText(h.stub->Invoke("Negate", {"true"}).payload) == "false");
  CHECK(ToText(h.stub->Invoke("Echo", {R"({"b":[1,2],"a":null})"}).payload) == R"({"echo":{"a":null,"b":[1,2]}})");
  CHECK(ToText(h.stub->Invoke("Half", {"3"}).payload) == "1.5");
  CHECK(h.stub->Invoke("Raw").payload == Bytes{0x00, 0xff, 0x10});
  REQUIRE(h.stub->Invoke("Put", {"k", "not \"json\" at all"}).ok());
  CHECK(ToText(h.stub->Invoke("Get", {"k"}).payload) == "not \"json\" at all");
  CHECK(h.stub->Invoke("Put", {"k2", "v"}).payload.empty());
}

TEST_CASE("A parameter that does not parse as its type is a 400 error naming the parameter") {
  Harness h;
  Response not_json = h.stub->Invoke("Add", {"1", "two"});
  CHECK(not_json.status == 400);
  CHECK(not_json.message == "parameter 1 is not valid JSON");
  Response wrong_type = h.stub->Invoke("Add", {"\"1\"", "2"});
  CHECK(wrong_type.status == 400);
  CHECK(wrong_type.message.find("parameter 0: ") == 0);
  CHECK(h.stub->Invoke("Negate", {"1"}).status == 400);
  CHECK(h.stub->Invoke("Add", {"", "2"}).status == 400);
}

TEST_CASE("A fractional number for an integer parameter is a 400 error") {
  Harness h;
  Response r = h.stub->Invoke("Add", {"12.5", "0"});
  CHECK(r.status == 400);
  CHECK(r.message.find("parameter 0") == 0);
}

TEST_CASE("A wrong number of parameters is a 400 error") {
  Harness h;
  Response r = h.stub->Invoke("Add", {"1"});
  CHECK(r.status == 400);
  CHECK(r.message == "Probe:Add takes 2 parameters, got 1");
  CHECK(h.stub->Invoke("Raw", {"extra"}).status == 400);
}

TEST_CASE("An unknown function or contract is a 400 error") {
  Harness h;
  Response r = h.stub->Invoke("Nope");
  CHECK(r.status == 400);
  CHECK(r.message == "contract Probe has no function 'Nope'");
  Response contract = h.stub->Invoke("Other:Add", {"1", "2"});
  CHECK(contract.status == 400);
  CHECK(contract.message == "no contract named 'Other'");
  CHECK(h.stub->Invoke("Probe:Add", {"1", "2"}).ok());
}

TEST_CASE("Check aborts a transaction with status 400 and its message, and ContractError keeps its status") {
  Harness h;
  Response r = h.stub->Invoke("PutThenFail", {"k"});
  CHECK(r.status == 400);
  CHECK_FALSE(r.ok());
  CHECK(r.message == "PutThenFail always fails");
  CHECK(r.payload.empty());
  CHECK(h.Committed("k") == "<absent>");
  CHECK_FALSE(h.stub->LastEvent().has_value());

  Response status = h.stub->Invoke("ThrowStatus");
  CHECK(status.status == 404);
  CHECK(status.message == "not here");
}

TEST_CASE("A contract that throws std::runtime_error gets a 500 response and the MockStub stays usable") {
  Harness h;
  Response r = h.stub->Invoke("ThrowStd");
  CHECK(r.status == 500);
  CHECK(r.message == "contract Probe failed: disk on fire");
  CHECK(h.Committed("partial") == "<absent>");
  REQUIRE(h.stub->Invoke("Put", {"after", "ok"}).ok());
  CHECK(h.Committed("after") == "ok");
}

TEST_CASE(
    "A contract that throws something other than a std::exception gets a 500 response and the MockStub stays usable") {
  Harness h;
  Response r = h.stub->Invoke("ThrowOther");
  CHECK(r.status == 500);
  CHECK(r.message == "contract Probe failed with an unknown exception");
  CHECK(h.Committed("partial") == "<absent>");
  REQUIRE(h.stub->Invoke("Put", {"after", "ok"}).ok());
  CHECK(h.Committed("after") == "ok");
}

namespace {

// Records its hooks in the state it writes, to show their order; fails in BeforeTransaction on request.
class Hooked : public Contract {
 public:
  Hooked() : Contract("Hooked") { Transaction("Work", &Hooked::Work); }
  std::string Work(Context& ctx, std::string arg) {
    Check(arg != "veto-in-function", "vetoed in the function");
    ctx.stub().PutState("work", ToBytes(arg));
    return "result:" + arg;
  }

 protected:
  void BeforeTransaction(Context& ctx) override {
    Check(ctx.stub().Parameters().front() != "veto", "vetoed before the function");
    ctx.stub().PutState("before", ToBytes(ctx.stub().Function()));
  }
  void AfterTransaction(Context& ctx, const Bytes& result) override { ctx.stub().PutState("after", result); }
  Response UnknownTransaction(Context&, const std::string& function) override {
    return Success(ToBytes("fallback for " + function));
  }
};

}  // namespace

TEST_CASE("Before and after hooks run around every function, and UnknownTransaction can be overridden") {
  auto chaincode = std::make_shared<Chaincode>();
  chaincode->Add(std::make_unique<Hooked>());
  MockStub stub("chainA", "hooked", chaincode);
  Response r = stub.Invoke("Work", {"x"});
  REQUIRE(r.ok());
  CHECK(ToText(r.payload) == "result:x");
  CHECK(ToText(*stub.CommittedState("before")) == "Work");
  CHECK(ToText(*stub.CommittedState("work")) == "x");
  CHECK(ToText(*stub.CommittedState("after")) == "result:x");

  Response veto = stub.Invoke("Work", {"veto"});
  CHECK(veto.status == 400);
  CHECK(veto.message == "vetoed before the function");
  CHECK(ToText(*stub.CommittedState("work")) == "x");
  CHECK(stub.Invoke("Work", {"veto-in-function"}).message == "vetoed in the function");

  Response unknown = stub.Invoke("Whatever", {"a", "b"});
  REQUIRE(unknown.ok());
  CHECK(ToText(unknown.payload) == "fallback for Whatever");
}

TEST_CASE("The metadata lists every function with its tag, parameter schemas and return schema") {
  Harness h;
  Response r = h.stub->Invoke("org.hyperledger.fabric:GetMetadata");
  REQUIRE(r.ok());
  Json metadata = Json::parse(ToText(r.payload));
  CHECK(metadata == h.chaincode->Metadata());
  CHECK(metadata["default"] == "Probe");
  const Json& probe = metadata["contracts"]["Probe"];
  CHECK(probe == h.probe->Metadata());
  std::map<std::string, Json> by_name;
  for (const Json& t : probe["transactions"]) by_name[t["name"]] = t;
  CHECK(by_name.size() == 13);
  CHECK(by_name["Add"]["tag"] == Json::array({"evaluate"}));
  CHECK(by_name["Add"]["parameters"] ==
        Json::parse(R"([{"name":"arg0","schema":{"type":"integer"}},{"name":"arg1","schema":{"type":"integer"}}])"));
  CHECK(by_name["Add"]["returns"] == Json{{"type", "integer"}});
  CHECK(by_name["Negate"]["parameters"][0]["schema"]["type"] == "boolean");
  CHECK(by_name["Half"]["returns"]["type"] == "number");
  CHECK(by_name["Echo"]["parameters"][0]["schema"]["type"] == "object");
  CHECK(by_name["Put"]["tag"] == Json::array({"submit"}));
  CHECK(by_name["Put"]["parameters"][1]["schema"]["type"] == "string");
  CHECK_FALSE(by_name["Put"].contains("returns"));
  CHECK(by_name["Run"]["parameters"] == Json::array());
}

TEST_CASE("A chaincode of two contracts runs unqualified functions on the first and qualified ones on either") {
  auto chaincode = std::make_shared<Chaincode>();
  auto first = std::make_unique<Probe>("First");
  auto second = std::make_unique<Probe>("Second");
  first->body = [](Stub& stub) { return "first:" + stub.ContractName(); };
  second->body = [](Stub&) { return std::string("second"); };
  chaincode->Add(std::move(first));
  chaincode->Add(std::move(second));
  MockStub stub("chainA", "pair", chaincode);
  CHECK(ToText(stub.Invoke("Run").payload) == "first:pair");
  CHECK(ToText(stub.Invoke("First:Run").payload) == "first:pair");
  CHECK(ToText(stub.Invoke("Second:Run").payload) == "second");
  Json metadata = chaincode->Metadata();
  CHECK(metadata["default"] == "First");
  CHECK(metadata["contracts"].size() == 2);

  Chaincode empty;
  CHECK(empty.Metadata()["default"].is_null());
  MockStub none("chainA", "none", std::make_shared<Chaincode>());
  CHECK(none.Invoke("Run").status == 500);
}

TEST_CASE("Success, Error, ToBytes and ToText build responses and bytes") {
  CHECK(Success().status == 200);
  CHECK(Success(ToBytes("x")).payload == Bytes{'x'});
  CHECK(Error("bad").status == 500);
  CHECK(Error("bad", 404).message == "bad");
  CHECK_FALSE(Error("bad", 400).ok());
  CHECK(Response{399, "", {}}.ok());
  CHECK(ToText(ToBytes(std::string("a\0b", 3))) == std::string("a\0b", 3));
}

TEST_CASE("ENTENTE_CHAINCODE's entry point makes and frees a chaincode of the given contracts") {
  const ChaincodeEntry* entry = entente_chaincode_entry();
  REQUIRE(entry != nullptr);
  CHECK(entry->abi_version == kAbiVersion);
  CHECK(std::string(kEntenteChaincodeSymbol) == "entente_chaincode_entry");
  Chaincode* chaincode = entry->create();
  Json metadata = chaincode->Metadata();
  CHECK(metadata["default"] == "Probe");
  CHECK(metadata["contracts"].contains("Hooked"));
  entry->destroy(chaincode);
}

// ---- MockStub: context ----

TEST_CASE("The MockStub gives a transaction its function, parameters, ids, creator, transient data and timestamp") {
  Harness h;
  std::string seen;
  h.stub->set_creator({"chainB", "admin", "ada", "PEM"});
  h.stub->set_transient({{"secret", ToBytes("s3")}});
  h.stub->set_timestamp_ms(1234);
  h.probe->body = [&](Stub& stub) {
    Json j{{"function", stub.Function()},
           {"params", stub.Parameters()},
           {"tx", stub.TxId()},
           {"channel", stub.ChannelId()},
           {"contract", stub.ContractName()},
           {"chain", stub.Creator().chain},
           {"role", stub.Creator().role},
           {"id", stub.Creator().id},
           {"pem", stub.Creator().certificate_pem},
           {"secret", ToText(stub.Transient().at("secret"))},
           {"ts", stub.TxTimestampMs()},
           {"proposal", stub.SignedProposal().size()}};
    seen = j.dump();
    return std::string();
  };
  REQUIRE(h.stub->Invoke("Probe:Run").ok());
  CHECK(Json::parse(seen) == Json{{"function", "Probe:Run"},
                                  {"params", Json::array()},
                                  {"tx", "mock-tx-1"},
                                  {"channel", "chainA"},
                                  {"contract", "probe"},
                                  {"chain", "chainB"},
                                  {"role", "admin"},
                                  {"id", "ada"},
                                  {"pem", "PEM"},
                                  {"secret", "s3"},
                                  {"ts", 1234},
                                  {"proposal", 0}});
  h.stub->Invoke("Add", {"1", "2"});
  h.stub->Invoke("Run");
  CHECK(Json::parse(seen)["tx"] == "mock-tx-3");
}

TEST_CASE("The default creator of a MockStub is client1, a client of chainA") {
  Harness h;
  CHECK(h.stub->Creator().chain == "chainA");
  CHECK(h.stub->Creator().role == "client");
  CHECK(h.stub->Creator().id == "client1");
}

// ---- MockStub: state ----

TEST_CASE("PutState and DelState take effect when the transaction succeeds, and GetState sees committed state") {
  Harness h;
  REQUIRE(h.stub->Invoke("Put", {"a", "1"}).ok());
  CHECK(h.Committed("a") == "1");
  CHECK(ToText(h.stub->Invoke("Get", {"a"}).payload) == "1");
  REQUIRE(h.stub->Invoke("Del", {"a"}).ok());
  CHECK(h.Committed("a") == "<absent>");
  CHECK(h.stub->Invoke("Get", {"a"}).message == "no key a");
  REQUIRE(h.stub->Invoke("Del", {"never-there"}).ok());
}

TEST_CASE("A failed transaction writes nothing, however many keys it touched") {
  Harness h;
  REQUIRE(h.stub->Invoke("Put", {"keep", "old"}).ok());
  Response r = h.Run([](Stub& stub) {
    stub.PutState("keep", ToBytes("new"));
    stub.PutState("fresh", ToBytes("v"));
    stub.DelState("keep");
    Check(false, "abort");
    return std::string();
  });
  CHECK(r.status == 400);
  CHECK(h.Committed("keep") == "old");
  CHECK(h.Committed("fresh") == "<absent>");
}

TEST_CASE("Empty keys are rejected by GetState, PutState and DelState") {
  Harness h;
  for (auto op : std::vector<std::function<void(Stub&)>>{[](Stub& s) { s.GetState(""); },
                                                         [](Stub& s) { s.PutState("", ToBytes("v")); },
                                                         [](Stub& s) { s.DelState(""); }}) {
    Response r = h.Run([&](Stub& stub) {
      op(stub);
      return std::string();
    });
    CHECK(r.status == 400);
    CHECK(r.message == "key must not be empty");
  }
}

TEST_CASE("SeedState writes committed state directly") {
  Harness h;
  h.stub->SeedState("seeded", ToBytes("yes"));
  CHECK(h.Committed("seeded") == "yes");
  CHECK(ToText(h.stub->Invoke("Get", {"seeded"}).payload) == "yes");
}

TEST_CASE("GetMultipleStates returns each key's value in order, empty for a missing key") {
  Harness h;
  h.stub->SeedState("a", ToBytes("1"));
  h.stub->SeedState("c", ToBytes("3"));
  std::vector<std::optional<Bytes>> values;
  REQUIRE(h.Run([&](Stub& stub) {
             values = stub.GetMultipleStates({"c", "b", "a"});
             return std::string();
           }).ok());
  REQUIRE(values.size() == 3);
  CHECK(ToText(*values[0]) == "3");
  CHECK_FALSE(values[1].has_value());
  CHECK(ToText(*values[2]) == "1");
}

TEST_CASE("GetStateByRange returns the keys in [start, end) in order and skips composite keys") {
  Harness h;
  for (const char* key : {"a", "b", "c", "d"}) h.stub->SeedState(key, ToBytes(key));
  REQUIRE(h.Run([](Stub& stub) {
             stub.PutState(stub.CreateCompositeKey("color", {"blue"}), ToBytes("x"));
             return std::string();
           }).ok());
  std::vector<KeyValue> all, middle, tail;
  REQUIRE(h.Run([&](Stub& stub) {
             all = stub.GetStateByRange("", "");
             middle = stub.GetStateByRange("b", "d");
             tail = stub.GetStateByRange("c", "");
             return std::string();
           }).ok());
  CHECK(Keys(all) == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(Keys(middle) == std::vector<std::string>{"b", "c"});
  CHECK(Keys(tail) == std::vector<std::string>{"c", "d"});
  CHECK(ToText(middle[0].value) == "b");
}

TEST_CASE("Range pagination returns pages of the given size and a bookmark that continues, empty after the last") {
  Harness h;
  for (const char* key : {"k1", "k2", "k3", "k4", "k5"}) h.stub->SeedState(key, ToBytes(key));
  h.stub->SeedState(std::string("\0t\0x\0", 5), ToBytes("composite"));
  std::vector<std::vector<std::string>> pages;
  std::vector<std::string> bookmarks;
  REQUIRE(h.Run([&](Stub& stub) {
             std::string bookmark;
             do {
               StatePage page = stub.GetStateByRangeWithPagination("", "", 2, bookmark);
               pages.push_back(Keys(page.entries));
               bookmark = page.bookmark;
               bookmarks.push_back(bookmark);
             } while (!bookmark.empty());
             return std::string();
           }).ok());
  CHECK(pages == std::vector<std::vector<std::string>>{{"k1", "k2"}, {"k3", "k4"}, {"k5"}});
  CHECK(bookmarks == std::vector<std::string>{"k3", "k5", ""});

  StatePage exact, bounded, unlimited;
  REQUIRE(h.Run([&](Stub& stub) {
             exact = stub.GetStateByRangeWithPagination("k4", "", 2, "");
             bounded = stub.GetStateByRangeWithPagination("k1", "k3", 5, "");
             unlimited = stub.GetStateByRangeWithPagination("", "", 0, "");
             return std::string();
           }).ok());
  CHECK(Keys(exact.entries) == std::vector<std::string>{"k4", "k5"});
  CHECK(exact.bookmark.empty());
  CHECK(Keys(bounded.entries) == std::vector<std::string>{"k1", "k2"});
  CHECK(bounded.bookmark.empty());
  CHECK(unlimited.entries.size() == 5);
}

TEST_CASE("Composite keys have Fabric's layout, split back into their parts, and reject U+0000") {
  Harness h;
  std::string key;
  std::pair<std::string, std::vector<std::string>> parts;
  REQUIRE(h.Run([&](Stub& stub) {
             key = stub.CreateCompositeKey("owner~asset", {"alice", "asset1"});
             parts = stub.SplitCompositeKey(key);
             return std::string();
           }).ok());
  CHECK(key == std::string("\0owner~asset\0alice\0asset1\0", 26));
  CHECK(parts.first == "owner~asset");
  CHECK(parts.second == std::vector<std::string>{"alice", "asset1"});

  Response bad = h.Run([](Stub& stub) { return stub.CreateCompositeKey("t", {std::string("a\0b", 3)}); });
  CHECK(bad.status == 400);
  CHECK(bad.message.find("composite key attribute contains U+0000") == 0);
  CHECK(h.Run([](Stub& stub) { return stub.CreateCompositeKey(std::string("t\0", 2), {}); }).status == 400);
  Response split = h.Run([](Stub& stub) { return stub.SplitCompositeKey("plain").first; });
  CHECK(split.status == 400);
  CHECK(split.message == "not a composite key");
}

TEST_CASE("Partial composite key queries select keys by type and leading attributes, with pagination") {
  Harness h;
  REQUIRE(h.Run([](Stub& stub) {
             for (auto [color, id] : std::vector<std::pair<std::string, std::string>>{
                      {"blue", "a1"}, {"blue", "a2"}, {"blue", "a3"}, {"red", "a4"}, {"bluegreen", "a5"}}) {
               stub.PutState(stub.CreateCompositeKey("color", {color, id}), ToBytes(id));
             }
             stub.PutState(stub.CreateCompositeKey("size", {"big", "a1"}), ToBytes("a1"));
             stub.PutState("color", ToBytes("plain"));
             return std::string();
           }).ok());
  auto ids = [](const std::vector<KeyValue>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(ToText(e.value));
    return out;
  };
  std::vector<KeyValue> all_colors, blue, red_a4, none;
  std::vector<StatePage> pages;
  REQUIRE(h.Run([&](Stub& stub) {
             all_colors = stub.GetStateByPartialCompositeKey("color", {});
             blue = stub.GetStateByPartialCompositeKey("color", {"blue"});
             red_a4 = stub.GetStateByPartialCompositeKey("color", {"red", "a4"});
             none = stub.GetStateByPartialCompositeKey("weight", {});
             std::string bookmark;
             do {
               pages.push_back(stub.GetStateByPartialCompositeKeyWithPagination("color", {"blue"}, 2, bookmark));
               bookmark = pages.back().bookmark;
             } while (!bookmark.empty());
             return std::string();
           }).ok());
  CHECK(ids(all_colors) == std::vector<std::string>{"a1", "a2", "a3", "a5", "a4"});
  CHECK(ids(blue) == std::vector<std::string>{"a1", "a2", "a3"});  // not "bluegreen"
  CHECK(ids(red_a4) == std::vector<std::string>{"a4"});
  CHECK(none.empty());
  REQUIRE(pages.size() == 2);
  CHECK(ids(pages[0].entries) == std::vector<std::string>{"a1", "a2"});
  CHECK(ids(pages[1].entries) == std::vector<std::string>{"a3"});
  CHECK(pages[1].bookmark.empty());
}

TEST_CASE("GetHistoryForKey lists every committed write of a key, oldest first, and no failed one") {
  Harness h;
  REQUIRE(h.stub->Invoke("Put", {"k", "v1"}).ok());          // block 1
  REQUIRE_FALSE(h.stub->Invoke("PutThenFail", {"k"}).ok());  // block 2 fails
  REQUIRE(h.stub->Invoke("Put", {"k", "v3"}).ok());          // block 3
  REQUIRE(h.stub->Invoke("Del", {"k"}).ok());                // block 4
  std::vector<KeyModification> history, never;
  REQUIRE(h.Run([&](Stub& stub) {
             history = stub.GetHistoryForKey("k");
             never = stub.GetHistoryForKey("other");
             return std::string();
           }).ok());
  REQUIRE(history.size() == 3);
  CHECK(history[0].tx_id == "mock-tx-1");
  CHECK(history[0].block == 1);
  CHECK(history[0].tx == 0);
  CHECK_FALSE(history[0].is_delete);
  CHECK(ToText(history[0].value) == "v1");
  CHECK(history[1].tx_id == "mock-tx-3");
  CHECK(ToText(history[1].value) == "v3");
  CHECK(history[2].tx_id == "mock-tx-4");
  CHECK(history[2].block == 4);
  CHECK(history[2].is_delete);
  CHECK(history[2].value.empty());
  CHECK(never.empty());
}

TEST_CASE("State validation parameters are kept per key and read back after commit") {
  Harness h;
  REQUIRE(h.Run([](Stub& stub) {
             stub.SetStateValidationParameter("asset1", ToBytes("OutOf(1,'chainA.node')"));
             return std::string();
           }).ok());
  std::optional<Bytes> policy, other;
  REQUIRE(h.Run([&](Stub& stub) {
             policy = stub.GetStateValidationParameter("asset1");
             other = stub.GetStateValidationParameter("asset2");
             return std::string();
           }).ok());
  REQUIRE(policy.has_value());
  CHECK(ToText(*policy) == "OutOf(1,'chainA.node')");
  CHECK_FALSE(other.has_value());
  CHECK(h.Committed("asset1") == "<absent>");  // the parameter is not the key's value
}

TEST_CASE("Range and partial composite key queries do not return state validation parameters") {
  Harness h;
  h.stub->SeedState("asset1", ToBytes("v"));
  REQUIRE(h.Run([](Stub& stub) {
             stub.SetStateValidationParameter("asset1", ToBytes("policy"));
             return std::string();
           }).ok());
  std::vector<KeyValue> all;
  REQUIRE(h.Run([&](Stub& stub) {
             all = stub.GetStateByRange("", "");
             return std::string();
           }).ok());
  CHECK(Keys(all) == std::vector<std::string>{"asset1"});
  std::vector<KeyValue> composite;
  REQUIRE(h.Run([&](Stub& stub) {
             composite = stub.GetStateByPartialCompositeKey("", {});
             return std::string();
           }).ok());
  CHECK(composite.empty());
}

// ---- MockStub: events ----

TEST_CASE("SetEvent keeps one event per transaction, the last one set, and only if the transaction succeeds") {
  Harness h;
  REQUIRE(h.Run([](Stub& stub) {
             stub.SetEvent("First", ToBytes("1"));
             stub.SetEvent("Second", ToBytes("2"));
             return std::string();
           }).ok());
  REQUIRE(h.stub->LastEvent().has_value());
  CHECK(h.stub->LastEvent()->first == "Second");
  CHECK(ToText(h.stub->LastEvent()->second) == "2");

  REQUIRE_FALSE(h.stub->Invoke("PutThenFail", {"k"}).ok());
  CHECK_FALSE(h.stub->LastEvent().has_value());
  REQUIRE(h.stub->Invoke("Add", {"1", "1"}).ok());
  CHECK_FALSE(h.stub->LastEvent().has_value());

  Response unnamed = h.Run([](Stub& stub) {
    stub.SetEvent("", ToBytes("x"));
    return std::string();
  });
  CHECK(unnamed.status == 400);
  CHECK(unnamed.message == "event name must not be empty");
}

// ---- MockStub: other contracts ----

namespace {

// The chaincode a Probe calls through InvokeChaincode, deployed as "callee".
struct Callee {
  std::shared_ptr<Chaincode> chaincode = std::make_shared<Chaincode>();
  Callee() { chaincode->Add(std::make_unique<Probe>("Callee")); }
};

}  // namespace

TEST_CASE("InvokeChaincode runs another contract inside the transaction, in that contract's own state") {
  Harness h;
  Callee callee;
  h.stub->AddPeer("callee", callee.chaincode);
  Response inner, read_back;
  std::string caller_after;
  REQUIRE(h.Run([&](Stub& stub) {
             stub.PutState("mine", ToBytes("caller"));
             inner = stub.InvokeChaincode("callee", {"Put", "shared", "from-callee"});
             caller_after = stub.ContractName() + "/" + stub.Function();
             return std::string();
           }).ok());
  CHECK(inner.ok());
  CHECK(caller_after == "probe/Run");
  CHECK(h.Committed("mine") == "caller");
  CHECK(h.Committed("shared") == "<absent>");  // written in the callee's namespace
  REQUIRE(h.Run([&](Stub& stub) {
             read_back = stub.InvokeChaincode("callee", {"Get", "shared"});
             return std::string();
           }).ok());
  CHECK(ToText(read_back.payload) == "from-callee");
  REQUIRE(h.Run([&](Stub& stub) {
             read_back = stub.InvokeChaincode("callee", {"Callee:Add", "2", "3"});
             return std::string();
           }).ok());
  CHECK(ToText(read_back.payload) == "5");
}

TEST_CASE("A failing callee's writes are discarded while the caller's transaction goes on") {
  Harness h;
  Callee callee;
  h.stub->AddPeer("callee", callee.chaincode);
  Response inner, check;
  REQUIRE(h.Run([&](Stub& stub) {
             REQUIRE(stub.InvokeChaincode("callee", {"Put", "kept", "1"}).ok());
             inner = stub.InvokeChaincode("callee", {"PutThenFail", "lost"});
             stub.PutState("caller", ToBytes("done"));
             return std::string();
           }).ok());
  CHECK(inner.status == 400);
  CHECK(inner.message == "PutThenFail always fails");
  CHECK(h.Committed("caller") == "done");
  REQUIRE(h.Run([&](Stub& stub) {
             inner = stub.InvokeChaincode("callee", {"Get", "lost"});
             check = stub.InvokeChaincode("callee", {"Get", "kept"});
             return std::string();
           }).ok());
  CHECK(inner.message == "no key lost");
  CHECK(ToText(check.payload) == "1");
}

TEST_CASE("A failing caller discards its callee's writes too") {
  Harness h;
  Callee callee;
  h.stub->AddPeer("callee", callee.chaincode);
  Response r = h.Run([&](Stub& stub) {
    stub.InvokeChaincode("callee", {"Put", "k", "v"});
    Check(false, "caller gives up");
    return std::string();
  });
  CHECK(r.status == 400);
  Response read;
  REQUIRE(h.Run([&](Stub& stub) {
             read = stub.InvokeChaincode("callee", {"Get", "k"});
             return std::string();
           }).ok());
  CHECK(read.message == "no key k");
}

TEST_CASE("InvokeChaincode of an undeployed contract is a 404 answer, and without a function a 400 one") {
  Harness h;
  Callee callee;
  h.stub->AddPeer("callee", callee.chaincode);
  Response missing, no_function;
  REQUIRE(h.Run([&](Stub& stub) {
             missing = stub.InvokeChaincode("ghost", {"Run"});
             no_function = stub.InvokeChaincode("callee", {});
             return std::string();
           }).ok());
  CHECK(missing.status == 404);
  CHECK(missing.message == "contract 'ghost' is not deployed");
  CHECK(no_function.status == 400);
}

TEST_CASE("A failing callee's event is dropped and the caller's event is kept") {
  Harness h;
  Callee callee;
  h.stub->AddPeer("callee", callee.chaincode);
  REQUIRE(h.Run([&](Stub& stub) {
             stub.SetEvent("Caller", ToBytes("c"));
             stub.InvokeChaincode("callee", {"PutThenFail", "k"});
             return std::string();
           }).ok());
  REQUIRE(h.stub->LastEvent().has_value());
  CHECK(h.stub->LastEvent()->first == "Caller");
}

TEST_CASE("A failing callee discards the writes of the contracts it called") {
  Harness h;
  auto middle = std::make_shared<Chaincode>();
  auto probe = std::make_unique<Probe>("Middle");
  probe->body = [](Stub& stub) {
    REQUIRE(stub.InvokeChaincode("callee", {"Put", "deep", "1"}).ok());
    Check(false, "middle fails after its callee succeeded");
    return std::string();
  };
  middle->Add(std::move(probe));
  Callee callee;
  h.stub->AddPeer("middle", middle);
  h.stub->AddPeer("callee", callee.chaincode);
  Response inner, read;
  REQUIRE(h.Run([&](Stub& stub) {
             inner = stub.InvokeChaincode("middle", {"Run"});
             return std::string();
           }).ok());
  CHECK(inner.status == 400);
  REQUIRE(h.Run([&](Stub& stub) {
             read = stub.InvokeChaincode("callee", {"Get", "deep"});
             return std::string();
           }).ok());
  CHECK(read.message == "no key deep");
}

TEST_CASE("GetRemoteState returns the value registered for (channel, contract, key), and nothing otherwise") {
  Harness h;
  h.stub->SetRemoteState("chainB", "data_exchange", "record~r1", ToBytes("remote"));
  std::optional<Bytes> hit, other_channel, other_contract, other_key;
  REQUIRE(h.Run([&](Stub& stub) {
             hit = stub.GetRemoteState("chainB", "data_exchange", "record~r1");
             other_channel = stub.GetRemoteState("chainC", "data_exchange", "record~r1");
             other_contract = stub.GetRemoteState("chainB", "asset_transfer", "record~r1");
             other_key = stub.GetRemoteState("chainB", "data_exchange", "record~r2");
             return std::string();
           }).ok());
  REQUIRE(hit.has_value());
  CHECK(ToText(*hit) == "remote");
  CHECK_FALSE(other_channel.has_value());
  CHECK_FALSE(other_contract.has_value());
  CHECK_FALSE(other_key.has_value());
  CHECK(h.Committed("record~r1") == "<absent>");
}

// ---- MockStub: read-your-writes ----

TEST_CASE("Without read-your-writes a transaction reads committed state; with it, its own writes and deletes") {
  Harness h;
  h.stub->SeedState("a", ToBytes("committed"));
  h.stub->SeedState("gone", ToBytes("committed"));
  auto body = [](std::string& out) {
    return [&out](Stub& stub) {
      stub.PutState("a", ToBytes("pending"));
      stub.PutState("b", ToBytes("new"));
      stub.DelState("gone");
      Json j;
      auto a = stub.GetState("a");
      j["a"] = a ? ToText(*a) : "none";
      j["b_exists"] = stub.GetState("b").has_value();
      j["gone_exists"] = stub.GetState("gone").has_value();
      j["range"] = Keys(stub.GetStateByRange("", ""));
      out = j.dump();
      Check(false, "keep the state as it was");
      return std::string();
    };
  };
  std::string off, on;
  CHECK(h.Run(body(off)).status == 400);
  CHECK(Json::parse(off) ==
        Json{{"a", "committed"}, {"b_exists", false}, {"gone_exists", true}, {"range", {"a", "gone"}}});
  h.stub->set_read_your_writes(true);
  CHECK(h.Run(body(on)).status == 400);
  CHECK(Json::parse(on) == Json{{"a", "pending"}, {"b_exists", true}, {"gone_exists", false}, {"range", {"a", "b"}}});
}

// The ENTENTE_CHAINCODE entry point of this test binary, exercised above.
ENTENTE_CHAINCODE(Probe, Hooked)
