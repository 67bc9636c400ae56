#include "runtime/api/api.h"

#include "runtime/validation/validation.h"

namespace entente::api {

http::Response UnknownTransaction(std::string_view tx_id, std::string_view where) {
  return http::Problem(404, "Not Found", std::string(where) + " knows no transaction " + std::string(tx_id),
                       Json{{"state", "unknown"}, {"tx_id", tx_id}});
}

http::Response EnvelopeTooLarge(std::size_t size) {
  return http::Problem(413, "Payload Too Large",
                       "an envelope of " + std::to_string(size) + " bytes is larger than the alliance's limit of " +
                           std::to_string(validation::kMaxEnvelopeBytes) + " bytes",
                       Json{{"reason", "PAYLOAD_TOO_LARGE"}, {"limit", validation::kMaxEnvelopeBytes}, {"size", size}});
}

}  // namespace entente::api
