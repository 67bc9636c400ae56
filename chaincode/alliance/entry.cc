#include "chaincode/alliance/alliance.h"

ENTENTE_CHAINCODE(entente::chaincode::Alliance)
