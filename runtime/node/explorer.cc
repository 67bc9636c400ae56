#include "runtime/node/internal/explorer.h"

#include <algorithm>
#include <charconv>

#include "runtime/crypto/crypto.h"
#include "runtime/validation/validation.h"

namespace entente::node::internal {
namespace {

constexpr std::uint64_t kDefaultPage = 20;
constexpr std::uint64_t kMaxPage = 100;
constexpr std::uint64_t kMaxStatePage = 1000;

http::Response BadRequest(std::string detail) { return http::Problem(400, "Bad Request", std::move(detail)); }

// A non-negative integer; nullopt for anything else.
std::optional<std::uint64_t> Number(std::string_view text) {
  std::uint64_t n = 0;
  if (text.empty() || text.size() > 18) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// The page size of `request` (query "limit"): `fallback` when absent, at most `most`.
Result<std::uint64_t> PageSize(const http::Request& request, std::uint64_t fallback, std::uint64_t most) {
  auto text = request.Query("limit");
  if (!text) return fallback;
  auto n = Number(*text);
  if (!n || *n == 0 || *n > most) {
    return Status::InvalidArgument("limit must be an integer from 1 to " + std::to_string(most) + ", got '" + *text + "'");
  }
  return *n;
}

// The 404 for a channel the alliance lacks, or the 403 for one the caller may not read; nullopt when readable.
std::optional<http::Response> Unreadable(const Node& node, const http::Request& request, const std::string& channel,
                                         std::optional<std::string_view> ns = std::nullopt) {
  if (!node.KnowsChannel(channel)) return http::Problem(404, "Not Found", "the alliance has no channel " + channel);
  if (node.MayRead(request.peer->subject(), channel, ns)) return std::nullopt;
  return http::Problem(403, "Forbidden", request.peer->SubjectText() + " may not read " + channel +
                                             (ns ? "/" + std::string(*ns) : std::string()));
}

// Who a certificate chain in PEM (a creator or an endorser) speaks for: the ECert presented after a
// TCert, else the leaf (a node's TCert travels alone: its subject names the node's chain and id, with
// the role "tx"). Null when it does not parse.
Json IdentityJson(const std::string& pem) {
  auto chain = crypto::SharedChainCache().Parse(pem);
  if (!chain.ok() || (*chain)->empty()) return nullptr;
  const crypto::Certificate& leaf = (*chain)->front();
  const crypto::Certificate& holder = leaf.BoundEcert() && (*chain)->size() > 1 ? (*chain)->at(1) : leaf;
  const crypto::Subject& subject = holder.subject();
  return Json{{"chain", subject.chain}, {"role", subject.role_name}, {"id", subject.id}};
}

// A transaction's summary (`detail` false) or detail, from the envelope at `index` of `block`.
Json TransactionJson(const ledger::Block& block, std::size_t index, bool detail) {
  const ValidationCode code = index < block.metadata.validation_codes.size() ? block.metadata.validation_codes[index]
                                                                             : ValidationCode::kInvalidOtherReason;
  validation::ParsedEnvelope parsed = validation::ParseEnvelope(block.envelopes[index]);
  Json j{{"channel", block.header.channel},
         {"block", block.header.number},
         {"index", index},
         {"code", static_cast<int>(code)},
         {"code_name", ValidationCodeName(code)},
         {"valid", code == ValidationCode::kValid},
         {"timestamp_ms", block.metadata.timestamp_ms}};
  if (parsed.proposal) {
    const endorser::Proposal& p = *parsed.proposal;
    j["tx_id"] = p.tx_id;
    j["contract"] = p.contract;
    j["function"] = p.function;
    j["creator"] = IdentityJson(p.creator);
    if (detail) {
      j["args"] = p.args;
      j["proposal_timestamp_ms"] = p.timestamp_ms;
    }
  }
  if (!detail) return j;
  j["envelope_hash"] = crypto::Sha256Hex(block.envelopes[index]);
  if (!parsed.envelope) return j;
  Json endorsers = Json::array();
  for (const endorser::Endorsement& e : parsed.envelope->endorsements) endorsers.push_back(IdentityJson(e.endorser));
  j["endorsers"] = std::move(endorsers);
  if (auto result = endorser::SimulationResult::Parse(parsed.envelope->result); result.ok()) {
    j["rwset"] = result->rwset.ToJson();
    j["response"] = Json{{"status", result->response.status},
                         {"message", result->response.message},
                         {"payload", Base64Encode(result->response.payload)}};
    Json events = Json::array();
    for (const auto& [name, payload] : result->events) events.push_back(Json{{"name", name}, {"payload", Base64Encode(payload)}});
    j["events"] = std::move(events);
  }
  return j;
}

}  // namespace

http::Response ListBlocks(const Node& node, const http::Request& request) {
  const std::string& channel = request.path_params.at("ch");
  if (auto refused = Unreadable(node, request, channel)) return *refused;
  auto limit = PageSize(request, kDefaultPage, kMaxPage);
  if (!limit.ok()) return BadRequest(limit.status().message());
  const std::uint64_t height = node.Height(channel).height;
  std::uint64_t before = height;
  if (auto text = request.Query("before")) {
    auto n = Number(*text);
    if (!n) return BadRequest("before must be a block number, got '" + *text + "'");
    before = std::min(*n, height);
  }
  Json blocks = Json::array();
  std::uint64_t n = before;
  for (; n > 0 && blocks.size() < *limit; --n) {
    auto block = node.GetBlock(channel, n - 1);
    if (!block.ok()) return http::Problem(500, "Internal Server Error", block.status().message());
    std::size_t valid = 0;
    for (ValidationCode code : block->metadata.validation_codes) valid += code == ValidationCode::kValid ? 1 : 0;
    blocks.push_back(Json{{"number", block->header.number},
                          {"hash", HexEncode(block->header.ComputeHash())},
                          {"prev_hash", HexEncode(block->header.prev_hash)},
                          {"transactions", block->envelopes.size()},
                          {"valid", valid},
                          {"timestamp_ms", block->metadata.timestamp_ms}});
  }
  Json page{{"channel", channel}, {"height", height}, {"blocks", std::move(blocks)}};
  if (n > 0) page["next"] = std::to_string(n);
  return http::JsonResponse(200, page);
}

http::Response ListTransactions(const Node& node, const http::Request& request) {
  const std::string& channel = request.path_params.at("ch");
  if (auto refused = Unreadable(node, request, channel)) return *refused;
  auto limit = PageSize(request, kDefaultPage, kMaxPage);
  if (!limit.ok()) return BadRequest(limit.status().message());
  const std::uint64_t height = node.Height(channel).height;
  // The cursor "B:I": the transactions before transaction I of block B.
  std::uint64_t block_number = height;
  std::optional<std::uint64_t> before_index;
  if (auto text = request.Query("before")) {
    const std::size_t colon = text->find(':');
    auto b = Number(std::string_view(*text).substr(0, colon));
    auto i = colon == std::string::npos ? std::nullopt : Number(std::string_view(*text).substr(colon + 1));
    if (!b || !i) return BadRequest("before must be a cursor BLOCK:INDEX, got '" + *text + "'");
    if (*b < height) {
      block_number = *b + 1;
      before_index = *i;
    }
  }
  Json transactions = Json::array();
  std::optional<std::pair<std::uint64_t, std::size_t>> last;  // (block, index) of the last one listed
  for (std::uint64_t n = block_number; n > 0 && transactions.size() < *limit; --n) {
    auto block = node.GetBlock(channel, n - 1);
    if (!block.ok()) return http::Problem(500, "Internal Server Error", block.status().message());
    std::size_t end = block->envelopes.size();
    if (n == block_number && before_index) end = std::min<std::size_t>(end, *before_index);
    for (std::size_t i = end; i > 0 && transactions.size() < *limit; --i) {
      transactions.push_back(TransactionJson(*block, i - 1, false));
      last = {n - 1, i - 1};
    }
  }
  std::optional<std::string> next;
  if (transactions.size() == *limit && last && (last->first > 0 || last->second > 0)) {
    next = std::to_string(last->first) + ":" + std::to_string(last->second);
  }
  Json page{{"channel", channel}, {"transactions", std::move(transactions)}};
  if (next) page["next"] = *next;
  return http::JsonResponse(200, page);
}

http::Response GetTransactionDetail(const Node& node, const http::Request& request) {
  const std::string& channel = request.path_params.at("ch");
  const std::string& tx_id = request.path_params.at("id");
  if (auto refused = Unreadable(node, request, channel)) return *refused;
  auto status = node.StatusOf(tx_id);
  if (!status.ok() || status->state != TxStatus::State::kCommitted || status->channel != channel) {
    return http::Problem(404, "Not Found", "channel " + channel + " has no committed transaction " + tx_id + " here",
                         Json{{"tx_id", tx_id}});
  }
  auto block = node.GetBlock(channel, status->block);
  if (!block.ok() || status->index >= block->envelopes.size()) {
    return http::Problem(500, "Internal Server Error", "cannot read block " + std::to_string(status->block));
  }
  Json j = TransactionJson(*block, status->index, true);
  j["message"] = status->message;
  return http::JsonResponse(200, j);
}

http::Response ListState(const Node& node, const http::Request& request) {
  const std::string& channel = request.path_params.at("ch");
  const std::string& ns = request.path_params.at("ns");
  if (auto refused = Unreadable(node, request, channel, ns)) return *refused;
  auto limit = PageSize(request, 100, kMaxStatePage);
  if (!limit.ok()) return BadRequest(limit.status().message());
  const std::string start = request.Query("start").value_or("");
  const std::string end = request.Query("end").value_or("");
  const std::string bookmark = request.Query("bookmark").value_or("");
  auto page = node.GetStateRange(channel, ns, start, end, *limit, bookmark);
  if (!page.ok()) return BadRequest(page.status().message());
  Json entries = Json::array();
  for (const auto& [key, value] : page->entries) {
    entries.push_back(Json{{"key", key},
                           {"value", Base64Encode(value.value)},
                           {"version", {{"block", value.version.block}, {"tx", value.version.tx}}}});
  }
  return http::JsonResponse(200, Json{{"channel", channel}, {"namespace", ns}, {"entries", std::move(entries)},
                                      {"bookmark", page->bookmark}});
}

}  // namespace entente::node::internal
