// The REST API's shapes that nodes and relays share (docs/api.md): the OpenAPI document each serves at
// GET /v1/openapi.json, and the answers both give in the same words. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "runtime/http/http.h"

namespace entente::api {

enum class Service { kNode, kRelay };

// Returns the JSON text of `service`'s OpenAPI 3.1 document (made from runtime/api/openapi.json once).
const std::string& OpenApiDocument(Service service);

// A Router::Recorder that appends one JSON line per answer to the file at `path` (created if needed):
// {"service", "method", "pattern", "status", "content_type", "body"}, for tests that check the answers
// against `service`'s document (tests/api). IOError when the file cannot be opened.
Result<http::Router::Recorder> ResponseLog(const std::string& path, Service service);

// The 503 for a request that cannot be served now (a bound reached, something it needs unreachable),
// with Retry-After: 1 and `detail`.
http::Response Unavailable(std::string detail);

// The 404 for a transaction id `where` ("this node", "the relay") does not know, or of a chain the
// asker may not read: a problem with "state": "unknown" and the "tx_id".
http::Response UnknownTransaction(std::string_view tx_id, std::string_view where);

// The 413 for an envelope of `size` bytes, or a request whose envelope would have that many, past
// validation::kMaxEnvelopeBytes: a problem with "reason": "PAYLOAD_TOO_LARGE", the "limit" and the "size".
http::Response EnvelopeTooLarge(std::size_t size);

}  // namespace entente::api
