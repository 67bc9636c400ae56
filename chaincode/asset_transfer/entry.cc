#include "chaincode/asset_transfer/asset_transfer.h"

ENTENTE_CHAINCODE(entente::chaincode::AssetTransfer)
