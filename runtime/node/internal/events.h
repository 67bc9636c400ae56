// GET /v1/events: a node's block and contract events as server-sent events (text/event-stream).
#pragma once

#include "runtime/http/http.h"
#include "runtime/node/node.h"

namespace entente::node::internal {

// Answers the events of `channel` (query `channel`, default the node's chain) from block `from` (query,
// or the Last-Event-ID header + 1). Without `wait_ms` the answer is a stream that stays open: the events
// of each block are sent as the node commits it, with a comment line after 15 s without a block, until
// the client leaves or the node stops. With `wait_ms` (at most 60000) it is one answer: the events up to
// the height (at most 100 blocks), after waiting up to `wait_ms` for a block when there is none yet, for
// clients that cannot read a stream. Every event's id is its block number, so an EventSource that
// reconnects (after `retry`) resumes where it stopped. Events:
//   event: block     data: {"channel","number","hash","transactions","valid"}
//   event: contract  data: {"channel","block","index","tx_id","contract","name","payload" (base64)}
//                    for each event a VALID transaction's contract emitted.
// Waits without holding a thread (Node::WhenBlocks); 503 with Retry-After past max_waits.
void GetEvents(const Node& node, const http::Request& request, std::shared_ptr<http::Responder> responder);

}  // namespace entente::node::internal
