#include "runtime/api/api.h"

namespace entente::api {

http::Response UnknownTransaction(std::string_view tx_id, std::string_view where) {
  return http::Problem(404, "Not Found", std::string(where) + " knows no transaction " + std::string(tx_id),
                       Json{{"state", "unknown"}, {"tx_id", tx_id}});
}

}  // namespace entente::api
