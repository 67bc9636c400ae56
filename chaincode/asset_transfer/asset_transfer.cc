#include "chaincode/asset_transfer/asset_transfer.h"

#include <utility>

namespace entente::chaincode {

using shim::Check;
using shim::Json;

void to_json(Json& j, const Asset& asset) {
  j = Json{{"ID", asset.id},
           {"Color", asset.color},
           {"Size", asset.size},
           {"Owner", asset.owner},
           {"AppraisedValue", asset.appraised_value}};
}

void from_json(const Json& j, Asset& asset) {
  j.at("ID").get_to(asset.id);
  j.at("Color").get_to(asset.color);
  j.at("Size").get_to(asset.size);
  j.at("Owner").get_to(asset.owner);
  j.at("AppraisedValue").get_to(asset.appraised_value);
}

void to_json(Json& j, const AssetModification& modification) {
  j = Json{{"txId", modification.tx_id},
           {"isDelete", modification.is_delete},
           {"value", modification.value ? Json(*modification.value) : Json(nullptr)}};
}

void from_json(const Json& j, AssetModification& modification) {
  j.at("txId").get_to(modification.tx_id);
  j.at("isDelete").get_to(modification.is_delete);
  const Json& value = j.at("value");
  modification.value = value.is_null() ? std::nullopt : std::optional<Asset>(value.get<Asset>());
}

namespace {

void CheckFields(const Asset& asset) {
  Check(!asset.id.empty(), "the asset ID must not be empty");
  Check(!asset.owner.empty(), "the owner of asset " + asset.id + " must not be empty");
  Check(asset.size >= 0, "the size of asset " + asset.id + " must not be negative");
  Check(asset.appraised_value >= 0, "the appraised value of asset " + asset.id + " must not be negative");
}

void PutAsset(shim::Stub& stub, const Asset& asset) { stub.PutState(asset.id, shim::ToBytes(Json(asset).dump())); }

Asset ParseAsset(const std::string& key, const shim::Bytes& value) {
  Json j = Json::parse(shim::ToText(value), nullptr, /*allow_exceptions=*/false);
  // Values are written by this contract: a bad one is the ledger's fault (500), not the caller's.
  if (j.is_discarded() || !j.is_object()) throw shim::ContractError("the value of key " + key + " is not an asset");
  try {
    return j.get<Asset>();
  } catch (const Json::exception& e) {
    throw shim::ContractError("the value of key " + key + " is not an asset: " + e.what());
  }
}

std::vector<Asset> ParseAssets(const std::vector<shim::KeyValue>& entries) {
  std::vector<Asset> assets;
  assets.reserve(entries.size());
  for (const auto& entry : entries) assets.push_back(ParseAsset(entry.key, entry.value));
  return assets;
}

}  // namespace

AssetTransfer::AssetTransfer() : Contract("AssetTransfer") {
  Transaction("InitLedger", &AssetTransfer::InitLedger);
  Transaction("CreateAsset", &AssetTransfer::CreateAsset);
  Transaction("ReadAsset", &AssetTransfer::ReadAsset, kEvaluate);
  Transaction("UpdateAsset", &AssetTransfer::UpdateAsset);
  Transaction("DeleteAsset", &AssetTransfer::DeleteAsset);
  Transaction("AssetExists", &AssetTransfer::AssetExists, kEvaluate);
  Transaction("TransferAsset", &AssetTransfer::TransferAsset);
  Transaction("GetAllAssets", &AssetTransfer::GetAllAssets, kEvaluate);
  Transaction("GetAssetsByRange", &AssetTransfer::GetAssetsByRange, kEvaluate);
  Transaction("GetAssetHistory", &AssetTransfer::GetAssetHistory, kEvaluate);
}

void AssetTransfer::InitLedger(shim::Context& ctx) {
  const Asset assets[] = {
      {"asset1", "blue", 5, "Tomoko", 300},    {"asset2", "red", 5, "Brad", 400},
      {"asset3", "green", 10, "Jin Soo", 500}, {"asset4", "yellow", 10, "Max", 600},
      {"asset5", "black", 15, "Adriana", 700}, {"asset6", "white", 15, "Michel", 800},
  };
  for (const Asset& asset : assets) PutAsset(ctx.stub(), asset);
}

void AssetTransfer::CreateAsset(shim::Context& ctx, std::string id, std::string color, std::int64_t size,
                                std::string owner, std::int64_t appraised_value) {
  Asset asset{std::move(id), std::move(color), size, std::move(owner), appraised_value};
  CheckFields(asset);
  Check(!AssetExists(ctx, asset.id), "the asset " + asset.id + " already exists");
  PutAsset(ctx.stub(), asset);
}

Asset AssetTransfer::ReadAsset(shim::Context& ctx, std::string id) {
  Check(!id.empty(), "the asset ID must not be empty");
  auto value = ctx.stub().GetState(id);
  Check(value.has_value(), "the asset " + id + " does not exist");
  return ParseAsset(id, *value);
}

void AssetTransfer::UpdateAsset(shim::Context& ctx, std::string id, std::string color, std::int64_t size,
                                std::string owner, std::int64_t appraised_value) {
  Asset asset{std::move(id), std::move(color), size, std::move(owner), appraised_value};
  CheckFields(asset);
  Check(AssetExists(ctx, asset.id), "the asset " + asset.id + " does not exist");
  PutAsset(ctx.stub(), asset);
}

void AssetTransfer::DeleteAsset(shim::Context& ctx, std::string id) {
  Check(AssetExists(ctx, id), "the asset " + id + " does not exist");
  ctx.stub().DelState(id);
}

bool AssetTransfer::AssetExists(shim::Context& ctx, std::string id) {
  Check(!id.empty(), "the asset ID must not be empty");
  return ctx.stub().GetState(id).has_value();
}

std::string AssetTransfer::TransferAsset(shim::Context& ctx, std::string id, std::string new_owner) {
  Check(!new_owner.empty(), "the new owner of asset " + id + " must not be empty");
  Asset asset = ReadAsset(ctx, id);
  std::string old_owner = std::exchange(asset.owner, new_owner);
  PutAsset(ctx.stub(), asset);
  Json event{{"ID", asset.id}, {"OldOwner", old_owner}, {"NewOwner", new_owner}};
  ctx.stub().SetEvent("TransferAsset", shim::ToBytes(event.dump()));
  return old_owner;
}

std::vector<Asset> AssetTransfer::GetAllAssets(shim::Context& ctx) {
  return ParseAssets(ctx.stub().GetStateByRange("", ""));
}

std::vector<Asset> AssetTransfer::GetAssetsByRange(shim::Context& ctx, std::string start, std::string end) {
  Check(end.empty() || start <= end, "the range start " + start + " is after its end " + end);
  return ParseAssets(ctx.stub().GetStateByRange(start, end));
}

std::vector<AssetModification> AssetTransfer::GetAssetHistory(shim::Context& ctx, std::string id) {
  Check(!id.empty(), "the asset ID must not be empty");
  std::vector<AssetModification> history;
  for (const shim::KeyModification& mod : ctx.stub().GetHistoryForKey(id)) {
    AssetModification entry{mod.tx_id, mod.is_delete, std::nullopt};
    if (!mod.is_delete) entry.value = ParseAsset(id, mod.value);
    history.push_back(std::move(entry));
  }
  return history;
}

}  // namespace entente::chaincode
