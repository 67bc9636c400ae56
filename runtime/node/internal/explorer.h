// What an explorer or a console reads of a node (docs/api.md, "Explorer"): blocks and transactions of a
// channel newest first, paged by cursor; one transaction in detail with its creator, endorsers and
// read/write set; a state range, paged by bookmark. Read-only; each answers 403 for a channel (or
// namespace) the caller may not read, as the access matrix of docs/security.md says.
#pragma once

#include "runtime/http/http.h"
#include "runtime/node/node.h"

namespace entente::node::internal {

// GET /v1/channels/{ch}/blocks?before=N&limit=M: summaries of the blocks below N (default: the height),
// newest first, at most M (default 20, at most 100); "next" is the cursor of the next page, absent at
// block 0.
http::Response ListBlocks(const Node& node, const http::Request& request);
// GET /v1/channels/{ch}/transactions?before=B:I&limit=M: summaries of the transactions before block B's
// transaction I (default: the newest), newest first, at most M (default 20, at most 100), with "next".
http::Response ListTransactions(const Node& node, const http::Request& request);
// GET /v1/channels/{ch}/transactions/{id}: the transaction in detail.
http::Response GetTransactionDetail(const Node& node, const http::Request& request);
// GET /v1/channels/{ch}/state/{ns}?start=&end=&limit=&bookmark=: keys in [start, end) in key order, at
// most `limit` (default 100, at most 1000), with the bookmark of the next page ("" at the end).
http::Response ListState(const Node& node, const http::Request& request);

}  // namespace entente::node::internal
