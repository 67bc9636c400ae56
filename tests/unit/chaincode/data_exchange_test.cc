#include "chaincode/data_exchange/data_exchange.h"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using entente::chaincode::DataExchange;
using entente::chaincode::Exchange;
using entente::chaincode::Record;
using entente::shim::Chaincode;
using entente::shim::Identity;
using entente::shim::Json;
using entente::shim::MockStub;
using entente::shim::Response;
using entente::shim::ToBytes;
using entente::shim::ToText;

std::shared_ptr<Chaincode> ExchangeChaincode() {
  auto chaincode = std::make_shared<Chaincode>();
  chaincode->Add(std::make_unique<DataExchange>());
  return chaincode;
}

Json Payload(const Response& response) { return Json::parse(ToText(response.payload)); }

const Identity kOwnerA{"chainA", "node", "nodeA1", ""};
const Identity kNodeB{"chainB", "node", "nodeB1", ""};

// Chain A's ledger: nodeA1 has published record r1.
struct SourceChain {
  MockStub stub{"chainA", "data_exchange", ExchangeChaincode()};
  SourceChain() {
    stub.set_creator(kOwnerA);
    stub.set_timestamp_ms(1'700'000'000'000);
    REQUIRE(stub.Invoke("PublishRecord", {"r1", "temperature=21.5", "sensor 7, hourly"}).ok());
  }
  entente::shim::Bytes RecordBytes(const std::string& id) const { return *stub.CommittedState("record~" + id); }
};

// Chain B's ledger, with chain A's record r1 reachable as a route would make it.
struct RequestingChain {
  SourceChain source;
  MockStub stub{"chainB", "data_exchange", ExchangeChaincode()};
  RequestingChain() {
    stub.set_creator(kNodeB);
    stub.set_timestamp_ms(1'700'000'360'000);
    stub.SetRemoteState("chainA", "data_exchange", "record~r1", source.RecordBytes("r1"));
  }
};

}  // namespace

TEST_CASE("PublishRecord stores the record under record~<id> with its owner and the transaction's timestamp") {
  SourceChain chain;
  Record expected{"r1", "chainA", "nodeA1", "temperature=21.5", "sensor 7, hourly", 1'700'000'000'000};
  CHECK(ToText(chain.RecordBytes("r1")) == Json(expected).dump());
  CHECK(Json::parse(ToText(chain.RecordBytes("r1"))) == Json{{"id", "r1"},
                                                             {"ownerChain", "chainA"},
                                                             {"ownerId", "nodeA1"},
                                                             {"data", "temperature=21.5"},
                                                             {"description", "sensor 7, hourly"},
                                                             {"publishedAt", 1'700'000'000'000}});
  REQUIRE(chain.stub.LastEvent().has_value());
  CHECK(chain.stub.LastEvent()->first == "RecordPublished");
  CHECK(chain.stub.LastEvent()->second == chain.RecordBytes("r1"));
}

TEST_CASE("PublishRecord returns the record it stored") {
  MockStub stub("chainA", "data_exchange", ExchangeChaincode());
  stub.set_creator({"chainA", "client", "alice", ""});
  stub.set_timestamp_ms(5);
  Response r = stub.Invoke("PublishRecord", {"r2", "payload", ""});
  REQUIRE(r.ok());
  CHECK(Payload(r).get<Record>() == Record{"r2", "chainA", "alice", "payload", "", 5});
}

TEST_CASE("Only a node, client or admin may publish a record") {
  MockStub stub("chainA", "data_exchange", ExchangeChaincode());
  for (const std::string role : {"node", "client", "admin"}) {
    stub.set_creator({"chainA", role, "id-" + role, ""});
    CHECK(stub.Invoke("PublishRecord", {"by-" + role, "d", ""}).ok());
  }
  stub.set_creator({"chainA", "relay", "relay1", ""});
  Response r = stub.Invoke("PublishRecord", {"r9", "d", ""});
  CHECK(r.status == 400);
  CHECK(r.message == "only a node, client or admin may publish a record (the creator's role is 'relay')");
  CHECK_FALSE(stub.CommittedState("record~r9").has_value());
}

TEST_CASE("The owner may republish a record, and no other identity may") {
  SourceChain chain;
  chain.stub.set_timestamp_ms(1'700'000'100'000);
  REQUIRE(chain.stub.Invoke("PublishRecord", {"r1", "temperature=22.0", "corrected"}).ok());
  Record updated = Payload(chain.stub.Invoke("GetRecord", {"r1"})).get<Record>();
  CHECK(updated.data == "temperature=22.0");
  CHECK(updated.published_at == 1'700'000'100'000);

  for (const Identity& other : {Identity{"chainA", "node", "nodeA2", ""}, Identity{"chainC", "node", "nodeA1", ""}}) {
    CAPTURE(other.chain);
    CAPTURE(other.id);
    chain.stub.set_creator(other);
    Response r = chain.stub.Invoke("PublishRecord", {"r1", "forged", ""});
    CHECK(r.status == 400);
    CHECK(r.message == "record r1 belongs to nodeA1 of chainA; only its owner may republish it");
    CHECK(Json::parse(ToText(chain.RecordBytes("r1")))["data"] == "temperature=22.0");
    CHECK_FALSE(chain.stub.LastEvent().has_value());
  }
}

TEST_CASE("PublishRecord and GetRecord reject an empty record ID") {
  SourceChain chain;
  CHECK(chain.stub.Invoke("PublishRecord", {"", "d", ""}).message == "the record ID must not be empty");
  CHECK(chain.stub.Invoke("GetRecord", {""}).message == "the record ID must not be empty");
}

TEST_CASE("GetRecord returns a published record and fails for one never published") {
  SourceChain chain;
  Response r = chain.stub.Invoke("GetRecord", {"r1"});
  REQUIRE(r.ok());
  CHECK(Payload(r).get<Record>().owner_id == "nodeA1");
  Response missing = chain.stub.Invoke("GetRecord", {"r404"});
  CHECK(missing.status == 400);
  CHECK(missing.message == "record r404 has not been published on this chain");
}

TEST_CASE("A node of chain B obtains chain A's record through RequestRecord, as CC1 does in the paper") {
  RequestingChain chain;
  Response r = chain.stub.Invoke("RequestRecord", {"chainA", "r1", "billing audit"});
  REQUIRE(r.ok());
  Exchange exchange = Payload(r).get<Exchange>();
  Exchange expected{"mock-tx-1", "chainB",        "nodeB1",           "chainA",
                    "r1",        "billing audit", "temperature=21.5", 1'700'000'360'000};
  CHECK(exchange == expected);

  std::string key = chain.stub.CreateCompositeKey("exchange", {"mock-tx-1"});
  auto stored = chain.stub.CommittedState(key);
  REQUIRE(stored.has_value());
  CHECK(ToText(*stored) == Json(expected).dump());
  CHECK(Json::parse(ToText(*stored)).contains("exchangeId"));

  REQUIRE(chain.stub.LastEvent().has_value());
  CHECK(chain.stub.LastEvent()->first == "RecordExchanged");
  CHECK(chain.stub.LastEvent()->second == *stored);
}

TEST_CASE("RequestRecord fails clearly when the source chain holds no such record, and writes nothing") {
  RequestingChain chain;
  Response r = chain.stub.Invoke("RequestRecord", {"chainA", "r404", "audit"});
  CHECK(r.status == 400);
  CHECK(r.message == "record r404 on chain chainA does not exist");
  Response other_chain = chain.stub.Invoke("RequestRecord", {"chainC", "r1", "audit"});
  CHECK(other_chain.message == "record r1 on chain chainC does not exist");
  CHECK(ToText(chain.stub.Invoke("ListExchanges").payload) == "[]");
  CHECK_FALSE(chain.stub.LastEvent().has_value());
}

TEST_CASE("RequestRecord fails when the source chain's value is not a record") {
  RequestingChain chain;
  chain.stub.SetRemoteState("chainA", "data_exchange", "record~junk", ToBytes("not json"));
  chain.stub.SetRemoteState("chainA", "data_exchange", "record~partial", ToBytes(R"({"id":"partial"})"));
  Response junk = chain.stub.Invoke("RequestRecord", {"chainA", "junk", "audit"});
  CHECK(junk.status == 500);
  CHECK(junk.message == "record junk on chain chainA is not a JSON object");
  Response partial = chain.stub.Invoke("RequestRecord", {"chainA", "partial", "audit"});
  CHECK(partial.status == 500);
  CHECK(partial.message.find("record partial on chain chainA is malformed") == 0);
  CHECK(ToText(chain.stub.Invoke("ListExchanges").payload) == "[]");
}

TEST_CASE("RequestRecord rejects a request to this chain, an empty source, record ID or purpose, and a relay") {
  RequestingChain chain;
  struct Case {
    std::vector<std::string> params;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"chainB", "r1", "audit"}, "record r1 is on this chain (chainB); read it with GetRecord"},
      {{"", "r1", "audit"}, "the source channel must not be empty"},
      {{"chainA", "", "audit"}, "the record ID must not be empty"},
      {{"chainA", "r1", ""}, "a request for record r1 must state its purpose"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    Response r = chain.stub.Invoke("RequestRecord", c.params);
    CHECK(r.status == 400);
    CHECK(r.message == c.message);
  }
  chain.stub.set_creator({"chainB", "relay", "relay", ""});
  CHECK(chain.stub.Invoke("RequestRecord", {"chainA", "r1", "audit"}).message ==
        "only a node, client or admin may request a record (the creator's role is 'relay')");
  chain.stub.set_creator(kNodeB);
  CHECK(ToText(chain.stub.Invoke("ListExchanges").payload) == "[]");
}

TEST_CASE("ExportRecord writes the record to each target chain, and only its owner may export it") {
  SourceChain chain;
  Response exported = chain.stub.Invoke("ExportRecord", {"r1", "ledgerE,erp"});
  REQUIRE_MESSAGE(exported.ok(), exported.message);
  CHECK(Payload(exported)["id"] == "r1");
  for (const std::string& target : {std::string("ledgerE"), std::string("erp")}) {
    auto written = chain.stub.GetRemoteState(target, "data_exchange", "record~r1");
    REQUIRE(written.has_value());
    CHECK(*written == chain.RecordBytes("r1"));
  }
  chain.stub.set_creator(kNodeB);
  Response foreign = chain.stub.Invoke("ExportRecord", {"r1", "ledgerE"});
  CHECK_FALSE(foreign.ok());
  CHECK(foreign.message.find("only its owner may export it") != std::string::npos);
  chain.stub.set_creator(kOwnerA);
  CHECK(chain.stub.Invoke("ExportRecord", {"r1", ""}).message.find("at least one chain") != std::string::npos);
  CHECK(chain.stub.Invoke("ExportRecord", {"r1", "chainA"}).message.find("on this chain already") != std::string::npos);
  CHECK_FALSE(chain.stub.Invoke("ExportRecord", {"r9", "ledgerE"}).ok());
}

TEST_CASE("GetExchange returns a recorded exchange and fails for an unknown id") {
  RequestingChain chain;
  REQUIRE(chain.stub.Invoke("RequestRecord", {"chainA", "r1", "audit"}).ok());  // mock-tx-1
  Response r = chain.stub.Invoke("GetExchange", {"mock-tx-1"});
  REQUIRE(r.ok());
  CHECK(Payload(r).get<Exchange>().purpose == "audit");
  Response missing = chain.stub.Invoke("GetExchange", {"mock-tx-9"});
  CHECK(missing.status == 400);
  CHECK(missing.message == "there is no exchange mock-tx-9");
  CHECK(chain.stub.Invoke("GetExchange", {""}).message == "the exchange ID must not be empty");
}

TEST_CASE("ListExchanges lists every exchange in id order and no records") {
  RequestingChain chain;
  REQUIRE(chain.stub.Invoke("PublishRecord", {"b1", "chain B's own data", ""}).ok());  // mock-tx-1
  REQUIRE(chain.stub.Invoke("RequestRecord", {"chainA", "r1", "first"}).ok());         // mock-tx-2
  chain.stub.set_creator({"chainB", "client", "carol", ""});
  REQUIRE(chain.stub.Invoke("RequestRecord", {"chainA", "r1", "second"}).ok());  // mock-tx-3
  Response r = chain.stub.Invoke("ListExchanges");
  REQUIRE(r.ok());
  auto exchanges = Payload(r).get<std::vector<Exchange>>();
  REQUIRE(exchanges.size() == 2);
  CHECK(exchanges[0].exchange_id == "mock-tx-2");
  CHECK(exchanges[0].purpose == "first");
  CHECK(exchanges[1].exchange_id == "mock-tx-3");
  CHECK(exchanges[1].requester_id == "carol");
}

TEST_CASE("The metadata query tags DataExchange's functions as submit or evaluate") {
  MockStub stub("chainA", "data_exchange", ExchangeChaincode());
  Json metadata = Payload(stub.Invoke("org.hyperledger.fabric:GetMetadata"));
  std::map<std::string, std::string> tags;
  for (const Json& t : metadata["contracts"]["DataExchange"]["transactions"]) tags[t["name"]] = t["tag"][0];
  CHECK(tags == std::map<std::string, std::string>{{"ExportRecord", "submit"},
                                                   {"GetExchange", "evaluate"},
                                                   {"GetRecord", "evaluate"},
                                                   {"ListExchanges", "evaluate"},
                                                   {"PublishRecord", "submit"},
                                                   {"RequestRecord", "submit"}});
}

TEST_CASE("DataExchange's functions can be called qualified with the contract name") {
  RequestingChain chain;
  REQUIRE(chain.stub.Invoke("DataExchange:RequestRecord", {"chainA", "r1", "audit"}).ok());
  CHECK(Payload(chain.stub.Invoke("DataExchange:GetExchange", {"mock-tx-1"})).get<Exchange>().record_id == "r1");
  CHECK(chain.source.stub.Invoke("DataExchange:GetRecord", {"r1"}).ok());
  CHECK(chain.stub.Invoke("DataExchange:Nothing").status == 400);
}
