// The OpenAPI source compiled in from runtime/api/openapi.json: one document whose x-entente-paths
// holds each service's paths, from which OpenApiDocument makes each service's document.
#pragma once

#include <string_view>

namespace entente::api::internal {

// Returns the source's JSON text.
std::string_view OpenApiSource();

}  // namespace entente::api::internal
