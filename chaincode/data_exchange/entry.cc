#include "chaincode/data_exchange/data_exchange.h"

ENTENTE_CHAINCODE(entente::chaincode::DataExchange)
