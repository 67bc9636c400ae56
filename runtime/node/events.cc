#include <algorithm>
#include <string>

#include "runtime/node/internal/events.h"

#include "runtime/api/api.h"
#include "runtime/validation/validation.h"

namespace entente::node::internal {
namespace {

constexpr std::uint64_t kMaxBlocksPerAnswer = 100;
// A stream with no new block for this long sends a comment line, so that proxies keep it open and a
// client that left is noticed.
constexpr std::chrono::milliseconds kHeartbeat{15000};

Result<std::uint64_t> Number(const std::string& text, std::string_view what) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(std::string(what) + " must be a non-negative integer, got '" + text + "'");
  }
  return std::stoull(text);
}

void AppendEvent(std::string& out, std::uint64_t id, std::string_view name, const Json& data) {
  out += "id: " + std::to_string(id) + "\nevent: " + std::string(name) + "\ndata: " + DumpJson(data) + "\n\n";
}

// The events of block `block` of `channel`.
void AppendBlockEvents(std::string& out, const std::string& channel, const ledger::Block& block) {
  std::size_t valid = 0;
  for (ValidationCode code : block.metadata.validation_codes) valid += code == ValidationCode::kValid ? 1 : 0;
  AppendEvent(out, block.header.number, "block",
              Json{{"channel", channel},
                   {"number", block.header.number},
                   {"hash", HexEncode(block.header.ComputeHash())},
                   {"transactions", block.envelopes.size()},
                   {"valid", valid}});
  for (std::size_t i = 0; i < block.envelopes.size() && i < block.metadata.validation_codes.size(); ++i) {
    if (block.metadata.validation_codes[i] != ValidationCode::kValid) continue;
    validation::ParsedEnvelope parsed = validation::ParseEnvelope(block.envelopes[i]);
    if (!parsed.envelope || !parsed.proposal) continue;
    auto result = endorser::SimulationResult::Parse(parsed.envelope->result);
    if (!result.ok()) continue;
    for (const auto& [name, payload] : result->events) {
      AppendEvent(out, block.header.number, "contract",
                  Json{{"channel", channel},
                       {"block", block.header.number},
                       {"index", i},
                       {"tx_id", parsed.proposal->tx_id},
                       {"contract", parsed.proposal->contract},
                       {"name", name},
                       {"payload", Base64Encode(payload)}});
    }
  }
}

// The events of `channel` from block `from` up to the height now, at most kMaxBlocksPerAnswer blocks.
http::Response EventsAnswer(const Node& node, const std::string& channel, std::uint64_t from) {
  std::uint64_t height = node.Height(channel).height;
  std::string body = "retry: 1000\n\n";
  for (std::uint64_t n = from; n < height && n < from + kMaxBlocksPerAnswer; ++n) {
    auto block = node.GetBlock(channel, n);
    if (!block.ok()) return http::Problem(500, "Internal Server Error", block.status().message());
    AppendBlockEvents(body, channel, *block);
  }
  http::Response response;
  response.content_type = "text/event-stream";
  response.body = std::move(body);
  response.headers.push_back({"Cache-Control", "no-cache"});
  return response;
}

// One open event stream: the events of every block from `next_` as the node commits them, until the
// client leaves or the node stops. Lives as long as a wait or a piece of work holds it.
class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(const Node& node, std::string channel, std::uint64_t next, std::string member,
              std::shared_ptr<http::ResponseStream> out)
      : node_(node), channel_(std::move(channel)), next_(next), member_(std::move(member)), out_(std::move(out)) {}

  // Sends the events of every block from next_ up to the height, then waits for the next block (or
  // kHeartbeat), holding no thread.
  void Step() {
    const std::uint64_t height = node_.Height(channel_).height;
    for (; next_ < height; ++next_) {
      auto block = node_.GetBlock(channel_, next_);
      if (!block.ok()) {
        out_->Send("event: error\ndata: " + DumpJson(Json{{"detail", block.status().message()}}) + "\n\n");
        return out_->End();
      }
      std::string piece;
      AppendBlockEvents(piece, channel_, *block);
      if (!out_->Send(std::move(piece))) return;
    }
    auto self = shared_from_this();
    Status waiting = node_.WhenBlocks(channel_, next_, kHeartbeat, member_,
                                      [self] { self->out_->Resume([self] { self->Woken(); }); });
    // The node stops, or max_waits streams and commits wait already: the client reconnects after `retry`.
    if (!waiting.ok()) out_->End();
  }

 private:
  void Woken() {
    if (node_.Height(channel_).height <= next_ && !out_->Send(": keep-alive\n\n")) return;
    Step();
  }

  const Node& node_;
  const std::string channel_;
  std::uint64_t next_;
  const std::string member_;
  const std::shared_ptr<http::ResponseStream> out_;
};

}  // namespace

void GetEvents(const Node& node, const http::Request& request, std::shared_ptr<http::Responder> responder) {
  std::string channel = request.Query("channel").value_or(node.chain());
  std::uint64_t from = 0;
  if (auto text = request.Query("from")) {
    auto n = Number(*text, "from");
    if (!n.ok()) return responder->Reply(http::Problem(400, "Bad Request", n.status().message()));
    from = *n;
  } else if (auto last = request.Header("last-event-id")) {
    auto n = Number(*last, "Last-Event-ID");
    if (!n.ok()) return responder->Reply(http::Problem(400, "Bad Request", n.status().message()));
    from = *n + 1;
  }
  std::optional<std::uint64_t> wait_ms;
  if (auto text = request.Query("wait_ms")) {
    auto n = Number(*text, "wait_ms");
    if (!n.ok()) return responder->Reply(http::Problem(400, "Bad Request", n.status().message()));
    wait_ms = std::min<std::uint64_t>(*n, 60000);
  }
  if (!node.KnowsChannel(channel)) {
    return responder->Reply(http::Problem(404, "Not Found", "the alliance has no channel " + channel));
  }
  if (!node.MayRead(request.peer->subject(), channel)) {
    return responder->Reply(http::Problem(403, "Forbidden",
                                          request.peer->SubjectText() + " may not read the events of " + channel));
  }
  if (!wait_ms) {
    // A stream that stays open: each block's events are sent (and flushed) as the node commits it.
    http::Response head;
    head.content_type = "text/event-stream";
    head.headers.push_back({"Cache-Control", "no-cache"});
    auto out = responder->Stream(std::move(head));
    if (!out || !out->Send("retry: 1000\n\n")) return;
    std::make_shared<EventStream>(node, channel, from, request.peer->subject().chain, std::move(out))->Step();
    return;
  }
  auto answer = [&node, channel, from] { return EventsAnswer(node, channel, from); };
  Status waiting = node.WhenBlocks(channel, from, std::chrono::milliseconds(*wait_ms), request.peer->subject().chain,
                                   [responder, answer] { responder->ReplyWith(answer); });
  if (waiting.ok()) return;
  responder->Reply(api::Unavailable(waiting.message()));
}

}  // namespace entente::node::internal
