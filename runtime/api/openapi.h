// The OpenAPI 3 document of the REST API of nodes and the relay (runtime/api/openapi.json), which both
// serve at GET /v1/openapi.json.
#pragma once

#include <string_view>

namespace entente::api {

// Returns the document's JSON text.
std::string_view OpenApiDocument();

}  // namespace entente::api
