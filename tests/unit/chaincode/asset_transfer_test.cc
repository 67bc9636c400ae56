#include "chaincode/asset_transfer/asset_transfer.h"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using entente::chaincode::Asset;
using entente::chaincode::AssetModification;
using entente::chaincode::AssetTransfer;
using entente::shim::Chaincode;
using entente::shim::Json;
using entente::shim::MockStub;
using entente::shim::Response;
using entente::shim::ToBytes;
using entente::shim::ToText;

std::shared_ptr<Chaincode> AssetChaincode() {
  auto chaincode = std::make_shared<Chaincode>();
  chaincode->Add(std::make_unique<AssetTransfer>());
  return chaincode;
}

Json Payload(const Response& response) { return Json::parse(ToText(response.payload)); }

std::string Committed(const MockStub& stub, const std::string& key) {
  auto value = stub.CommittedState(key);
  return value ? ToText(*value) : "<absent>";
}

struct Ledger {
  MockStub stub{"chainA", "asset_transfer", AssetChaincode()};
  Ledger() { REQUIRE(stub.Invoke("InitLedger").ok()); }
};

}  // namespace

TEST_CASE("InitLedger creates Fabric's six sample assets as compact JSON with Fabric's field names") {
  Ledger ledger;
  CHECK(Committed(ledger.stub, "asset1") ==
        R"({"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5})");
  Response all = ledger.stub.Invoke("GetAllAssets");
  REQUIRE(all.ok());
  auto assets = Payload(all).get<std::vector<Asset>>();
  REQUIRE(assets.size() == 6);
  CHECK(assets[0] == Asset{"asset1", "blue", 5, "Tomoko", 300});
  CHECK(assets[2] == Asset{"asset3", "green", 10, "Jin Soo", 500});
  CHECK(assets[5] == Asset{"asset6", "white", 15, "Michel", 800});
}

TEST_CASE("CreateAsset stores a new asset that ReadAsset returns") {
  MockStub stub("chainA", "asset_transfer", AssetChaincode());
  Response created = stub.Invoke("CreateAsset", {"asset7", "orange", "20", "Ana", "1200"});
  REQUIRE(created.ok());
  CHECK(created.payload.empty());
  Response read = stub.Invoke("ReadAsset", {"asset7"});
  REQUIRE(read.ok());
  CHECK(Payload(read).get<Asset>() == Asset{"asset7", "orange", 20, "Ana", 1200});
}

TEST_CASE("CreateAsset fails for an asset that already exists and writes nothing") {
  Ledger ledger;
  std::string before = Committed(ledger.stub, "asset1");
  Response r = ledger.stub.Invoke("CreateAsset", {"asset1", "pink", "1", "Eve", "1"});
  CHECK(r.status == 400);
  CHECK(r.message == "the asset asset1 already exists");
  CHECK(Committed(ledger.stub, "asset1") == before);
}

TEST_CASE("CreateAsset and UpdateAsset reject an empty ID, an empty owner and negative numbers") {
  Ledger ledger;
  struct Case {
    std::vector<std::string> params;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"", "blue", "1", "Ann", "1"}, "the asset ID must not be empty"},
      {{"asset9", "blue", "1", "", "1"}, "the owner of asset asset9 must not be empty"},
      {{"asset9", "blue", "-1", "Ann", "1"}, "the size of asset asset9 must not be negative"},
      {{"asset9", "blue", "1", "Ann", "-5"}, "the appraised value of asset asset9 must not be negative"},
  };
  for (const std::string function : {"CreateAsset", "UpdateAsset"}) {
    for (const Case& c : cases) {
      CAPTURE(function);
      CAPTURE(c.message);
      Response r = ledger.stub.Invoke(function, c.params);
      CHECK(r.status == 400);
      CHECK(r.message == c.message);
      CHECK_FALSE(ledger.stub.CommittedState("asset9").has_value());
    }
  }
}

TEST_CASE("A non-integer appraised value or size is a 400 error naming the parameter") {
  MockStub stub("chainA", "asset_transfer", AssetChaincode());
  for (const std::string bad : {"abc", "\"300\"", "", "[1]", "true"}) {
    CAPTURE(bad);
    Response r = stub.Invoke("CreateAsset", {"asset1", "blue", "5", "Tomoko", bad});
    CHECK(r.status == 400);
    CHECK(r.message.find("parameter 4") == 0);
  }
  Response size = stub.Invoke("CreateAsset", {"asset1", "blue", "five", "Tomoko", "300"});
  CHECK(size.status == 400);
  CHECK(size.message.find("parameter 2") == 0);
  CHECK_FALSE(stub.CommittedState("asset1").has_value());
}

TEST_CASE("ReadAsset fails for an asset that does not exist") {
  Ledger ledger;
  Response r = ledger.stub.Invoke("ReadAsset", {"asset99"});
  CHECK(r.status == 400);
  CHECK(r.message == "the asset asset99 does not exist");
  CHECK(ledger.stub.Invoke("ReadAsset", {""}).message == "the asset ID must not be empty");
}

TEST_CASE("UpdateAsset replaces every field of an existing asset and fails for a missing one") {
  Ledger ledger;
  REQUIRE(ledger.stub.Invoke("UpdateAsset", {"asset1", "purple", "7", "Tomoko", "350"}).ok());
  CHECK(Payload(ledger.stub.Invoke("ReadAsset", {"asset1"})).get<Asset>() ==
        Asset{"asset1", "purple", 7, "Tomoko", 350});

  Response missing = ledger.stub.Invoke("UpdateAsset", {"asset99", "purple", "7", "Tomoko", "350"});
  CHECK(missing.status == 400);
  CHECK(missing.message == "the asset asset99 does not exist");
  CHECK_FALSE(ledger.stub.CommittedState("asset99").has_value());
}

TEST_CASE("DeleteAsset removes an asset and fails for a missing one") {
  Ledger ledger;
  REQUIRE(ledger.stub.Invoke("DeleteAsset", {"asset2"}).ok());
  CHECK_FALSE(ledger.stub.CommittedState("asset2").has_value());
  CHECK(Payload(ledger.stub.Invoke("GetAllAssets")).size() == 5);

  Response again = ledger.stub.Invoke("DeleteAsset", {"asset2"});
  CHECK(again.status == 400);
  CHECK(again.message == "the asset asset2 does not exist");
}

TEST_CASE("AssetExists answers true for an existing asset and false otherwise") {
  Ledger ledger;
  Response yes = ledger.stub.Invoke("AssetExists", {"asset3"});
  REQUIRE(yes.ok());
  CHECK(ToText(yes.payload) == "true");
  CHECK(ToText(ledger.stub.Invoke("AssetExists", {"asset42"}).payload) == "false");
  CHECK(ledger.stub.Invoke("AssetExists", {""}).status == 400);
}

TEST_CASE("TransferAsset returns the old owner, sets the new one and emits a TransferAsset event") {
  Ledger ledger;
  Response r = ledger.stub.Invoke("TransferAsset", {"asset1", "Christopher"});
  REQUIRE(r.ok());
  CHECK(ToText(r.payload) == "Tomoko");
  CHECK(Payload(ledger.stub.Invoke("ReadAsset", {"asset1"})).get<Asset>().owner == "Christopher");

  // The event belongs to the transfer; the read above set none.
  CHECK_FALSE(ledger.stub.LastEvent().has_value());
  REQUIRE(ledger.stub.Invoke("TransferAsset", {"asset1", "Dana"}).ok());
  REQUIRE(ledger.stub.LastEvent().has_value());
  CHECK(ledger.stub.LastEvent()->first == "TransferAsset");
  CHECK(Json::parse(ToText(ledger.stub.LastEvent()->second)) ==
        Json{{"ID", "asset1"}, {"OldOwner", "Christopher"}, {"NewOwner", "Dana"}});
}

TEST_CASE("TransferAsset of a missing asset or to an empty owner fails, writes nothing and emits no event") {
  Ledger ledger;
  Response missing = ledger.stub.Invoke("TransferAsset", {"asset99", "Dana"});
  CHECK(missing.status == 400);
  CHECK(missing.message == "the asset asset99 does not exist");
  CHECK_FALSE(ledger.stub.LastEvent().has_value());

  std::string before = Committed(ledger.stub, "asset1");
  Response empty = ledger.stub.Invoke("TransferAsset", {"asset1", ""});
  CHECK(empty.status == 400);
  CHECK(empty.message == "the new owner of asset asset1 must not be empty");
  CHECK(Committed(ledger.stub, "asset1") == before);
  CHECK_FALSE(ledger.stub.LastEvent().has_value());
}

TEST_CASE("GetAssetsByRange returns the assets with keys in [start, end)") {
  Ledger ledger;
  auto ids = [&](const std::string& start, const std::string& end) {
    std::vector<std::string> out;
    for (const Asset& a : Payload(ledger.stub.Invoke("GetAssetsByRange", {start, end})).get<std::vector<Asset>>()) {
      out.push_back(a.id);
    }
    return out;
  };
  CHECK(ids("asset2", "asset5") == std::vector<std::string>{"asset2", "asset3", "asset4"});
  CHECK(ids("asset5", "") == std::vector<std::string>{"asset5", "asset6"});
  CHECK(ids("", "").size() == 6);
  CHECK(ids("b", "").empty());

  Response backwards = ledger.stub.Invoke("GetAssetsByRange", {"asset5", "asset2"});
  CHECK(backwards.status == 400);
  CHECK(backwards.message == "the range start asset5 is after its end asset2");
}

TEST_CASE("GetAllAssets on an empty ledger returns an empty list") {
  MockStub stub("chainA", "asset_transfer", AssetChaincode());
  Response r = stub.Invoke("GetAllAssets");
  REQUIRE(r.ok());
  CHECK(ToText(r.payload) == "[]");
}

TEST_CASE("GetAssetHistory lists every committed write oldest first, with null for a delete") {
  MockStub stub("chainA", "asset_transfer", AssetChaincode());
  REQUIRE(stub.Invoke("CreateAsset", {"asset1", "blue", "5", "Tomoko", "300"}).ok());  // mock-tx-1
  REQUIRE_FALSE(stub.Invoke("CreateAsset", {"asset1", "red", "5", "Tomoko", "300"}).ok());
  REQUIRE(stub.Invoke("TransferAsset", {"asset1", "Dana"}).ok());  // mock-tx-3
  REQUIRE(stub.Invoke("DeleteAsset", {"asset1"}).ok());            // mock-tx-4

  Response r = stub.Invoke("GetAssetHistory", {"asset1"});
  REQUIRE(r.ok());
  Json history = Payload(r);
  REQUIRE(history.size() == 3);
  CHECK(history[0] ==
        Json{{"txId", "mock-tx-1"}, {"isDelete", false}, {"value", Json(Asset{"asset1", "blue", 5, "Tomoko", 300})}});
  CHECK(history[1]["txId"] == "mock-tx-3");
  CHECK(history[1]["value"]["Owner"] == "Dana");
  CHECK(history[2] == Json{{"txId", "mock-tx-4"}, {"isDelete", true}, {"value", nullptr}});

  auto typed = history.get<std::vector<AssetModification>>();
  CHECK_FALSE(typed[2].value.has_value());
  CHECK(ToText(stub.Invoke("GetAssetHistory", {"never"}).payload) == "[]");
  CHECK(stub.Invoke("GetAssetHistory", {""}).status == 400);
}

TEST_CASE("The metadata query lists every function with its submit or evaluate tag") {
  MockStub stub("chainA", "asset_transfer", AssetChaincode());
  Response r = stub.Invoke("org.hyperledger.fabric:GetMetadata");
  REQUIRE(r.ok());
  Json metadata = Payload(r);
  CHECK(metadata["default"] == "AssetTransfer");
  const Json& contract = metadata["contracts"]["AssetTransfer"];
  CHECK(contract["name"] == "AssetTransfer");
  std::map<std::string, std::string> tags;
  for (const Json& t : contract["transactions"]) tags[t["name"]] = t["tag"][0];
  CHECK(tags == std::map<std::string, std::string>{{"AssetExists", "evaluate"},
                                                   {"CreateAsset", "submit"},
                                                   {"DeleteAsset", "submit"},
                                                   {"GetAllAssets", "evaluate"},
                                                   {"GetAssetHistory", "evaluate"},
                                                   {"GetAssetsByRange", "evaluate"},
                                                   {"InitLedger", "submit"},
                                                   {"ReadAsset", "evaluate"},
                                                   {"TransferAsset", "submit"},
                                                   {"UpdateAsset", "submit"}});
  for (const Json& t : contract["transactions"]) {
    if (t["name"] != "CreateAsset") continue;
    REQUIRE(t["parameters"].size() == 5);
    CHECK(t["parameters"][0]["schema"]["type"] == "string");
    CHECK(t["parameters"][2]["schema"]["type"] == "integer");
    CHECK(t["parameters"][4]["schema"]["type"] == "integer");
    CHECK_FALSE(t.contains("returns"));
  }
}

TEST_CASE("A call qualified with the contract name runs the function of that contract") {
  Ledger ledger;
  Response r = ledger.stub.Invoke("AssetTransfer:ReadAsset", {"asset1"});
  REQUIRE(r.ok());
  CHECK(Payload(r).get<Asset>().owner == "Tomoko");
  REQUIRE(ledger.stub.Invoke("AssetTransfer:TransferAsset", {"asset1", "Dana"}).ok());
  CHECK(Payload(ledger.stub.Invoke("ReadAsset", {"asset1"})).get<Asset>().owner == "Dana");

  Response other = ledger.stub.Invoke("Marbles:ReadAsset", {"asset1"});
  CHECK(other.status == 400);
  CHECK(other.message == "no contract named 'Marbles'");
}

TEST_CASE("An unknown function or a wrong parameter count is a 400 error") {
  Ledger ledger;
  Response unknown = ledger.stub.Invoke("StealAsset", {"asset1"});
  CHECK(unknown.status == 400);
  CHECK(unknown.message == "contract AssetTransfer has no function 'StealAsset'");
  Response count = ledger.stub.Invoke("ReadAsset", {});
  CHECK(count.status == 400);
  CHECK(count.message == "AssetTransfer:ReadAsset takes 1 parameters, got 0");
}
