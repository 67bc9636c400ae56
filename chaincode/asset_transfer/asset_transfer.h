// AssetTransfer: Hyperledger Fabric's basic asset-transfer sample (asset-transfer-basic) as an Entente
// contract. Each asset is stored under its ID as compact JSON with Fabric's field names
// {"AppraisedValue","Color","ID","Owner","Size"}; the contract keeps no state outside the Stub, so one
// instance serves concurrent transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/shim/shim.h"

namespace entente::chaincode {

struct Asset {
  std::string id;
  std::string color;
  std::int64_t size = 0;
  std::string owner;
  std::int64_t appraised_value = 0;

  bool operator==(const Asset&) const = default;
};
void to_json(shim::Json& j, const Asset& asset);
void from_json(const shim::Json& j, Asset& asset);

// One write of an asset's key, oldest first; `value` is absent for a delete.
struct AssetModification {
  std::string tx_id;
  bool is_delete = false;
  std::optional<Asset> value;
};
void to_json(shim::Json& j, const AssetModification& modification);
void from_json(const shim::Json& j, AssetModification& modification);

class AssetTransfer : public shim::Contract {
 public:
  AssetTransfer();

  // Creates the six sample assets asset1..asset6, replacing any with those IDs (as Fabric's sample does).
  void InitLedger(shim::Context& ctx);
  // Fails if an asset with `id` exists, or for an empty id or owner or a negative size or value.
  void CreateAsset(shim::Context& ctx, std::string id, std::string color, std::int64_t size, std::string owner,
                   std::int64_t appraised_value);
  // Returns the asset; fails if it does not exist.
  Asset ReadAsset(shim::Context& ctx, std::string id);
  // Replaces every field of an existing asset; fails if it does not exist.
  void UpdateAsset(shim::Context& ctx, std::string id, std::string color, std::int64_t size, std::string owner,
                   std::int64_t appraised_value);
  // Fails if the asset does not exist.
  void DeleteAsset(shim::Context& ctx, std::string id);
  bool AssetExists(shim::Context& ctx, std::string id);
  // Sets the owner, emits the event "TransferAsset" {"ID","NewOwner","OldOwner"}, and returns the old
  // owner. Fails if the asset does not exist or `new_owner` is empty.
  std::string TransferAsset(shim::Context& ctx, std::string id, std::string new_owner);
  // Every asset, in key order.
  std::vector<Asset> GetAllAssets(shim::Context& ctx);
  // The assets with keys in [start, end); an empty end means "to the end".
  std::vector<Asset> GetAssetsByRange(shim::Context& ctx, std::string start, std::string end);
  // Every committed write of the asset's key, oldest first (empty for a key never written).
  std::vector<AssetModification> GetAssetHistory(shim::Context& ctx, std::string id);
};

}  // namespace entente::chaincode
