// The node's REST API as an enterprise integrator meets it (runtime/node/service.cc, docs/api.md): one
// status of a transaction at nodes and relay, one error shape, answers that keep the reason.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/integration/alliance_fixture.h"
#include "runtime/validation/validation.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

// The fields of a transaction's status (TxStatusJson) in `answer`.
Json StatusFields(const Json& answer) {
  Json fields = Json::object();
  for (const char* name : {"tx_id", "state", "channel", "code", "code_name", "valid", "message", "block", "index"}) {
    if (answer.contains(name)) fields[name] = answer[name];
  }
  return fields;
}

// `tx_id`'s status at `where` (a node or "relay"), asked as alice, once it is no longer pending.
std::pair<int, Json> SettledStatus(RunningAlliance& a, const std::string& where, const std::string& tx_id) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (;;) {
    auto [status, body] = a.Call(where, "alice", "GET", "/v1/transactions/" + tx_id);
    if (status != 200 || body.value("state", "") != "pending" || std::chrono::steady_clock::now() > deadline) {
      return {status, body};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TEST_CASE("Nodes and the relay give one status of an invalid transaction, with its reason and nothing of the submission") {
  RunningAlliance& a = SharedAlliance();
  auto proposal = Must(endorser::MakeSignedProposal(a.SignerOf("alice", 1), "chainA", "asset_transfer", "CreateAsset",
                                                    {"one-truth-1", "blue", "1", "alice", "5"}));
  endorser::Envelope envelope = a.EndorseSigned("a1", "alice", proposal);
  envelope.endorsements[0].signature[10] ^= 0x01;
  auto [submitted, answer] = a.SealAndSubmit("a1", "alice", a.SignerOf("alice", 1), envelope);
  REQUIRE_MESSAGE(submitted == 200, answer.dump());
  REQUIRE(answer["code_name"] == "BAD_RESPONSE_PAYLOAD");
  const std::string tx_id = answer["tx_id"].get<std::string>();
  a.WaitForHeight("chainA", answer["block"].get<std::uint64_t>() + 1);

  auto [relay_status, at_relay] = SettledStatus(a, "relay", tx_id);
  REQUIRE_MESSAGE(relay_status == 200, at_relay.dump());
  CHECK(at_relay["state"] == "committed");
  CHECK(at_relay["message"].get<std::string>().find("does not verify") != std::string::npos);
  for (const char* node : {"a1", "a2", "a3"}) {
    const std::string what = node;
    CAPTURE(what);
    auto [status, at_node] = SettledStatus(a, node, tx_id);
    REQUIRE_MESSAGE(status == 200, at_node.dump());
    CHECK(StatusFields(at_node) == StatusFields(at_relay));
    // A status is not a submission's answer: no attempts, no contract response.
    CHECK_FALSE(at_node.contains("attempts"));
    CHECK_FALSE(at_node.contains("response"));
  }
  // The submission's own answer said the same.
  CHECK(StatusFields(answer) == StatusFields(at_relay));
}

TEST_CASE("A client-signed envelope whose creator signature is bad is answered at once with BAD_CREATOR_SIGNATURE, as the relay records it") {
  RunningAlliance& a = SharedAlliance();
  auto proposal = Must(endorser::MakeSignedProposal(a.SignerOf("alice", 1), "chainA", "asset_transfer", "CreateAsset",
                                                    {"bad-creator-1", "red", "1", "alice", "5"}));
  endorser::Envelope envelope = a.EndorseSigned("a1", "alice", proposal);
  auto started = std::chrono::steady_clock::now();
  // Sealed with alice's other TCert: the creator (TCert 1) did not sign it.
  auto [status, answer] = a.SealAndSubmit("a1", "alice", a.SignerOf("alice", 0), envelope);
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_MESSAGE(status == 200, answer.dump());
  CHECK(answer["state"] == "committed");
  CHECK(answer["code_name"] == "BAD_CREATOR_SIGNATURE");
  CHECK(answer["valid"] == false);
  CHECK_FALSE(answer["message"].get<std::string>().empty());
  // Not the commit wait's 30 s timeout.
  CHECK(took < std::chrono::seconds(10));

  const std::string tx_id = answer["tx_id"].get<std::string>();
  auto [relay_status, at_relay] = SettledStatus(a, "relay", tx_id);
  REQUIRE_MESSAGE(relay_status == 200, at_relay.dump());
  auto [node_status, at_node] = SettledStatus(a, "a1", tx_id);
  REQUIRE_MESSAGE(node_status == 200, at_node.dump());
  CHECK(StatusFields(at_node) == StatusFields(at_relay));
  CHECK(at_node["code_name"] == "BAD_CREATOR_SIGNATURE");
}

TEST_CASE("A transaction submitted without waiting is pending or committed at its node, never unknown") {
  RunningAlliance& a = SharedAlliance();
  auto [status, answer] = a.Submit("a1", "alice", Json{{"contract", "asset_transfer"},
                                                        {"function", "CreateAsset"},
                                                        {"args", {"no-wait-1", "red", "1", "alice", "5"}},
                                                        {"wait", false}});
  REQUIRE_MESSAGE(status == 202, answer.dump());
  CHECK(answer["state"] == "pending");
  const std::string tx_id = answer["tx_id"].get<std::string>();
  auto [first_status, first] = a.Call("a1", "alice", "GET", "/v1/transactions/" + tx_id);
  REQUIRE_MESSAGE(first_status == 200, first.dump());
  CHECK((first["state"] == "pending" || first["state"] == "committed"));
  auto [settled_status, settled] = SettledStatus(a, "a1", tx_id);
  REQUIRE_MESSAGE(settled_status == 200, settled.dump());
  CHECK(settled["state"] == "committed");
  CHECK(settled["code_name"] == "VALID");
}

TEST_CASE("A transaction nobody accepted is 404 with state unknown at a node and at the relay") {
  RunningAlliance& a = SharedAlliance();
  const std::string tx_id(64, 'e');
  for (const char* where : {"a1", "relay"}) {
    const std::string what = where;
    CAPTURE(what);
    auto [status, body] = a.Call(where, "alice", "GET", "/v1/transactions/" + tx_id);
    CHECK(status == 404);
    CHECK(body["state"] == "unknown");
    CHECK(body["tx_id"] == tx_id);
    CHECK(body["type"] == "urn:entente:problem:not-found");
  }
}

TEST_CASE("A channel of the alliance has events and a height before its first block; only an unknown channel is 404") {
  RunningAlliance& a = SharedAlliance();
  auto [known_status, known] = a.Call("b1", "bob", "GET", "/v1/channels/chainB");
  CHECK_MESSAGE(known_status == 200, known.dump());
  // Events from a block that does not exist yet: the stream waits (here 10 ms) and answers, not 404.
  auto events = a.Client("b1", "bob")->Get("/v1/events?channel=chainB&from=1000000&wait_ms=10");
  REQUIRE(events.ok());
  CHECK(events->status == 200);
  CHECK(events->content_type.starts_with("text/event-stream"));
  for (const char* target : {"/v1/channels/no-such-chain", "/v1/events?channel=no-such-chain&wait_ms=10"}) {
    const std::string what = target;
    CAPTURE(what);
    auto [status, body] = a.Call("b1", "admin-b", "GET", target);
    CHECK(status == 404);
    CHECK(body["detail"].get<std::string>().find("no channel no-such-chain") != std::string::npos);
  }
}

TEST_CASE("A contract error is 422 CONTRACT_ERROR with the contract's response on /v1/queries as on /v1/transactions") {
  RunningAlliance& a = SharedAlliance();
  Json read_missing{{"contract", "asset_transfer"}, {"function", "ReadAsset"}, {"args", {"no-such-asset"}}};
  for (const char* target : {"/v1/queries", "/v1/transactions"}) {
    const std::string what = target;
    CAPTURE(what);
    auto [status, body] = a.Call("a1", "alice", "POST", target, read_missing.dump());
    CHECK(status == 422);
    CHECK(body["reason"] == "CONTRACT_ERROR");
    REQUIRE(body["response"].is_object());
    CHECK(body["response"]["status"].get<int>() >= 400);
    CHECK_FALSE(body["response"]["message"].get<std::string>().empty());
  }
}

TEST_CASE("A record too large for an envelope is refused with 413 and the alliance's limit before endorsement; one that fits commits") {
  RunningAlliance& a = SharedAlliance();
  auto publish = [&](const std::string& id, std::size_t bytes) {
    return a.Submit("a1", "alice", Json{{"contract", "data_exchange"},
                                        {"function", "PublishRecord"},
                                        {"args", {id, std::string(bytes, 'r'), "a large record"}}});
  };
  auto [status, refused] = publish("too-large-1", 150 << 10);
  CHECK_MESSAGE(status == 413, refused.dump());
  CHECK(refused["reason"] == "PAYLOAD_TOO_LARGE");
  CHECK(refused["limit"] == validation::kMaxEnvelopeBytes);
  CHECK_FALSE(refused.contains("tx_id"));
  auto [fits_status, fits] = publish("fits-1", 20 << 10);
  REQUIRE_MESSAGE(fits_status == 200, fits.dump());
  CHECK(fits["code_name"] == "VALID");
}

TEST_CASE("An envelope past the alliance's limit is 413 with the limit at a node and at the relay, not a broken connection") {
  RunningAlliance& a = SharedAlliance();
  const std::string envelope =
      Json{{"payload", std::string(validation::kMaxEnvelopeBytes, 'A')}, {"signature", "AAAA"}}.dump();
  for (const char* where : {"a1", "relay"}) {
    const std::string what = where;
    CAPTURE(what);
    auto [status, body] = a.Call(where, "alice", "POST", "/v1/envelopes", envelope);
    CHECK(status == 413);
    CHECK(body["limit"] == validation::kMaxEnvelopeBytes);
    CHECK(body["size"] == envelope.size());
  }
}

TEST_CASE("A request with a field the endpoint does not take is refused with 400 naming it, not ignored") {
  RunningAlliance& a = SharedAlliance();
  Json misspelt{{"contract", "asset_transfer"}, {"function", "CreateAsset"}, {"args", {"wiat-1", "red", "1", "alice", "5"}},
                {"wiat", false}};
  auto [status, body] = a.Call("a1", "alice", "POST", "/v1/transactions", misspelt.dump());
  CHECK(status == 400);
  CHECK(body["detail"].get<std::string>().find("unknown field 'wiat'") != std::string::npos);
  // A query waits for nothing: retry belongs to submissions only.
  Json query{{"contract", "asset_transfer"}, {"function", "ReadAsset"}, {"args", {"x"}}, {"retry", 2}};
  auto [query_status, query_body] = a.Call("a1", "alice", "POST", "/v1/queries", query.dump());
  CHECK(query_status == 400);
  CHECK(query_body["detail"].get<std::string>().find("unknown field 'retry'") != std::string::npos);
  auto [envelope_status, envelope_body] =
      a.Call("relay", "alice", "POST", "/v1/envelopes", Json{{"payload", "AAAA"}, {"signature", "AAAA"}, {"x", 1}}.dump());
  CHECK(envelope_status == 400);
  CHECK(envelope_body["detail"].get<std::string>().find("unknown field 'x'") != std::string::npos);
}

TEST_CASE("A node refuses to endorse a proposal already outside the validators' window: PROPOSAL_EXPIRED, nothing submitted") {
  RunningAlliance& a = SharedAlliance();
  endorser::Proposal stale;
  stale.channel = "chainA";
  stale.contract = "asset_transfer";
  stale.function = "CreateAsset";
  stale.args = {"stale-1", "red", "1", "alice", "5"};
  stale.nonce = Bytes(24, 7);
  const auto ten_minutes_ago = std::chrono::system_clock::now() - std::chrono::minutes(10);
  stale.timestamp_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(ten_minutes_ago.time_since_epoch()).count();
  SignedBytes signed_stale = Must(endorser::SignProposal(a.SignerOf("alice", 1), stale));
  auto [status, body] = a.Submit("a1", "alice", Json{{"signed_proposal", signed_stale.ToJson()}});
  CHECK_MESSAGE(status == 400, body.dump());
  CHECK(body["code_name"] == "PROPOSAL_EXPIRED");
  CHECK(body["detail"].get<std::string>().find("window") != std::string::npos);
}

TEST_CASE("A custodial submit repeated with the same Idempotency-Key commits once and answers the first's status") {
  RunningAlliance& a = SharedAlliance();
  Json create{{"contract", "asset_transfer"}, {"function", "CreateAsset"}, {"args", {"keyed-1", "red", "1", "alice", "5"}}};
  const std::vector<std::pair<std::string, std::string>> key{{"Idempotency-Key", "order-4711"}};
  auto [first_status, first] = a.Call("a1", "alice", "POST", "/v1/transactions", create.dump(), key);
  REQUIRE_MESSAGE(first_status == 200, first.dump());
  REQUIRE(first["code_name"] == "VALID");
  auto [height_status, before] = a.Call("relay", "alice", "GET", "/v1/channels/chainA");
  REQUIRE(height_status == 200);

  // The answer was lost, say: the caller sends the same request again, to this node or another.
  for (const char* node : {"a1", "a2"}) {
    const std::string what = node;
    CAPTURE(what);
    auto [again_status, again] = a.Call(node, "alice", "POST", "/v1/transactions", create.dump(), key);
    REQUIRE_MESSAGE(again_status == 200, again.dump());
    CHECK(again["tx_id"] == first["tx_id"]);
    CHECK(again["code_name"] == "VALID");
    CHECK(again["block"] == first["block"]);
    CHECK(again["response"] == first["response"]);
  }
  auto [after_status, after] = a.Call("relay", "alice", "GET", "/v1/channels/chainA");
  REQUIRE(after_status == 200);
  CHECK(after["height"] == before["height"]);  // nothing was submitted again

  // The same key for another request is refused; another key runs it.
  Json other = create;
  other["args"][0] = "keyed-2";
  auto [reused_status, reused] = a.Call("a1", "alice", "POST", "/v1/transactions", other.dump(), key);
  CHECK(reused_status == 422);
  CHECK(reused["reason"] == "IDEMPOTENCY_KEY_REUSED");
  auto [fresh_status, fresh] =
      a.Call("a1", "alice", "POST", "/v1/transactions", other.dump(), {{"Idempotency-Key", "order-4712"}});
  REQUIRE_MESSAGE(fresh_status == 200, fresh.dump());
  CHECK(fresh["code_name"] == "VALID");
  CHECK(fresh["tx_id"] != first["tx_id"]);
  auto [bad_status, bad] =
      a.Call("a1", "alice", "POST", "/v1/transactions", other.dump(), {{"Idempotency-Key", std::string(256, 'k')}});
  CHECK(bad_status == 400);

  // The same key sent twice at once, to two nodes: both answer the one transaction, VALID, or pending
  // while the other's submission is in flight; never DUPLICATE_TXID.
  Json raced = create;
  raced["args"][0] = "keyed-3";
  const std::vector<std::pair<std::string, std::string>> race_key{{"Idempotency-Key", "order-4713"}};
  std::pair<int, Json> answers[2];
  std::thread second([&] { answers[1] = a.Call("a2", "alice", "POST", "/v1/transactions", raced.dump(), race_key); });
  answers[0] = a.Call("a1", "alice", "POST", "/v1/transactions", raced.dump(), race_key);
  second.join();
  for (const auto& [status_at, answer] : answers) {
    CHECK_MESSAGE((status_at == 200 || status_at == 202), answer.dump());
    if (status_at == 200) CHECK(answer["code_name"] == "VALID");
    if (status_at == 202) CHECK(answer["state"] == "pending");
  }
  CHECK(answers[0].second["tx_id"] == answers[1].second["tx_id"]);
  auto [raced_status, raced_tx] = SettledStatus(a, "a1", answers[0].second["tx_id"].get<std::string>());
  REQUIRE(raced_status == 200);
  CHECK(raced_tx["code_name"] == "VALID");
}

TEST_CASE("An event stream stays open and sends a new block's events as the node commits it, without a reconnect") {
  RunningAlliance& a = SharedAlliance();
  auto [height_status, channel] = a.Call("a3", "alice", "GET", "/v1/channels/chainA");
  REQUIRE(height_status == 200);
  const std::uint64_t from = channel["height"].get<std::uint64_t>();

  std::mutex mu;
  std::condition_variable changed;
  std::string received;
  bool ended = false;
  std::atomic<bool> enough{false};
  auto client = a.Client("a3", "alice");
  std::thread reader([&] {
    auto status = client->Stream(
        "GET", "/v1/events?channel=chainA&from=" + std::to_string(from), "",
        [&](std::string_view piece) {
          std::lock_guard lock(mu);
          received.append(piece);
          changed.notify_all();
          return !enough.load();
        },
        std::chrono::steady_clock::now() + std::chrono::seconds(30));
    std::lock_guard lock(mu);
    ended = true;
    if (!status.ok()) received += "\n[stream failed: " + status.status().ToString() + "]";
    changed.notify_all();
  });
  {
    std::unique_lock lock(mu);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return received.find("retry: 1000") != std::string::npos; }));
    CHECK_FALSE(ended);  // open, with no block to send yet
  }
  auto [status, created] = a.Submit("a1", "alice", Json{{"contract", "asset_transfer"},
                                                         {"function", "CreateAsset"},
                                                         {"args", {"streamed-1", "red", "1", "alice", "5"}}});
  REQUIRE_MESSAGE(status == 200, created.dump());
  const std::uint64_t block = created["block"].get<std::uint64_t>();
  const std::string its_event = "\"number\":" + std::to_string(block) + ",";
  {
    std::unique_lock lock(mu);
    CHECK(changed.wait_for(lock, std::chrono::seconds(15), [&] { return received.find(its_event) != std::string::npos; }));
    CAPTURE(received);
    CHECK(received.find("id: " + std::to_string(block) + "\nevent: block") != std::string::npos);
    CHECK_FALSE(ended);  // still open after the block's events
  }
  enough = true;
  // The next piece ends the reader: another block's events.
  a.Submit("a1", "alice", Json{{"contract", "asset_transfer"},
                               {"function", "CreateAsset"},
                               {"args", {"streamed-2", "red", "1", "alice", "5"}}});
  reader.join();
  // Resumed from that block, the bounded form answers its events and ends.
  auto resumed = a.Client("a3", "alice")->Get("/v1/events?channel=chainA&from=" + std::to_string(block) + "&wait_ms=0");
  REQUIRE(resumed.ok());
  CHECK(resumed->status == 200);
  CHECK(resumed->body.find("id: " + std::to_string(block)) != std::string::npos);
}

TEST_CASE("An explorer pages blocks and transactions newest first, reads a transaction in detail and pages state") {
  RunningAlliance& a = SharedAlliance();
  std::string last_tx;
  for (const char* id : {"page-1", "page-2", "page-3"}) {
    auto [status, created] = a.Submit("a1", "alice", Json{{"contract", "asset_transfer"},
                                                           {"function", "CreateAsset"},
                                                           {"args", {id, "red", "1", "alice", "5"}}});
    REQUIRE_MESSAGE(status == 200, created.dump());
    last_tx = created["tx_id"].get<std::string>();
  }
  a.WaitForHeight("chainA", 1);

  // Blocks: two pages of two, newest first, the second going on where the first stopped.
  auto [blocks_status, first_blocks] = a.Call("a3", "alice", "GET", "/v1/channels/chainA/blocks?limit=2");
  REQUIRE_MESSAGE(blocks_status == 200, first_blocks.dump());
  REQUIRE(first_blocks["blocks"].size() == 2);
  const std::uint64_t top = first_blocks["blocks"][0]["number"].get<std::uint64_t>();
  CHECK(top + 1 == first_blocks["height"].get<std::uint64_t>());
  CHECK(first_blocks["blocks"][1]["number"] == top - 1);
  auto [more_status, more_blocks] =
      a.Call("a3", "alice", "GET", "/v1/channels/chainA/blocks?limit=2&before=" + first_blocks["next"].get<std::string>());
  REQUIRE(more_status == 200);
  CHECK(more_blocks["blocks"][0]["number"] == top - 2);

  // Transactions: the newest first is the last one made; the next page does not repeat the first.
  auto [txs_status, txs] = a.Call("a3", "alice", "GET", "/v1/channels/chainA/transactions?limit=2");
  REQUIRE_MESSAGE(txs_status == 200, txs.dump());
  REQUIRE(txs["transactions"].size() == 2);
  CHECK(txs["transactions"][0]["tx_id"] == last_tx);
  CHECK(txs["transactions"][0]["creator"]["chain"] == "chainA");
  auto [next_status, next] =
      a.Call("a3", "alice", "GET", "/v1/channels/chainA/transactions?limit=2&before=" + txs["next"].get<std::string>());
  REQUIRE(next_status == 200);
  REQUIRE_FALSE(next["transactions"].empty());
  auto position = [](const Json& t) { return std::make_pair(t["block"].get<std::uint64_t>(), t["index"].get<std::uint64_t>()); };
  CHECK(position(next["transactions"][0]) < position(txs["transactions"][1]));

  // One transaction in detail: who endorsed it and what it wrote.
  auto [detail_status, detail] = a.Call("a3", "alice", "GET", "/v1/channels/chainA/transactions/" + last_tx);
  REQUIRE_MESSAGE(detail_status == 200, detail.dump());
  CHECK(detail["code_name"] == "VALID");
  CHECK(detail["function"] == "CreateAsset");
  CHECK(detail["args"][0] == "page-3");
  REQUIRE(detail["endorsers"].is_array());
  CHECK_FALSE(detail["endorsers"].empty());
  CAPTURE(detail);
  CHECK(detail["endorsers"][0]["chain"] == "chainA");
  CHECK(detail["endorsers"][0]["id"] == "a1");  // the node that ran it asks itself first
  CHECK(detail["rwset"]["namespaces"][0]["namespace"] == "chainA/asset_transfer");
  CHECK(detail["response"]["status"] == 200);

  // State in key order, a page at a time.
  const std::string range = "/v1/channels/chainA/state/asset_transfer?start=page-&end=page.&limit=2";
  auto [state_status, state] = a.Call("a3", "alice", "GET", range);
  REQUIRE_MESSAGE(state_status == 200, state.dump());
  REQUIRE(state["entries"].size() == 2);
  CHECK(state["entries"][0]["key"] == "page-1");
  CHECK(state["entries"][1]["key"] == "page-2");
  auto [rest_status, rest] = a.Call("a3", "alice", "GET", range + "&bookmark=" + state["bookmark"].get<std::string>());
  REQUIRE(rest_status == 200);
  REQUIRE(rest["entries"].size() == 1);
  CHECK(rest["entries"][0]["key"] == "page-3");
  CHECK(rest["bookmark"] == "");

  // Another chain's client reads none of it.
  auto [foreign_status, foreign] = a.Call("a3", "bob", "GET", "/v1/channels/chainA/transactions");
  CHECK(foreign_status == 403);
  auto [bad_status, bad] = a.Call("a3", "alice", "GET", "/v1/channels/chainA/transactions?limit=0");
  CHECK(bad_status == 400);
}

TEST_CASE("A node and a relay each describe their own operations in an OpenAPI 3.1 document, each with an operationId") {
  RunningAlliance& a = SharedAlliance();
  auto document_of = [&](const std::string& where) {
    auto [status, document] = a.Call(where, "bob", "GET", "/v1/openapi.json");
    REQUIRE(status == 200);
    CHECK(document["openapi"] == "3.1.0");
    CHECK(document["components"]["securitySchemes"]["mutualTLS"]["type"] == "mutualTLS");
    for (const auto& [path, item] : document["paths"].items()) {
      const Json& operations = item.contains("$ref") ? document["components"]["pathItems"][item["$ref"].get<std::string>().substr(24)] : item;
      for (const auto& [method, operation] : operations.items()) {
        const std::string operation_name = method + " " + path;
        CHECK_MESSAGE(operation.contains("operationId"), operation_name);
      }
    }
    return document;
  };
  Json node = document_of("b2");
  for (const char* path : {"/v1/transactions", "/v1/envelopes", "/v1/queries", "/v1/simulations", "/v1/proposals",
                           "/v1/transactions/{id}", "/v1/channels/{ch}", "/v1/channels/{ch}/blocks",
                           "/v1/channels/{ch}/blocks/{n}", "/v1/channels/{ch}/transactions",
                           "/v1/channels/{ch}/transactions/{id}", "/v1/channels/{ch}/state/{ns}",
                           "/v1/channels/{ch}/state/{ns}/{key}", "/v1/events", "/v1/contracts", "/v1/alliance",
                           "/v1/openapi.json", "/healthz", "/metrics"}) {
    CHECK_MESSAGE(node["paths"].contains(path), path);
  }
  CHECK_FALSE(node["paths"].contains("/v1/alliance/disagreements"));
  Json relay = document_of("relay");
  for (const char* path : {"/v1/envelopes", "/v1/envelopes/{hash}", "/v1/transactions/{id}", "/v1/channels/{ch}",
                           "/v1/channels/{ch}/blocks", "/v1/channels/{ch}/state/{ns}/{key}", "/v1/alliance",
                           "/v1/alliance/disagreements", "/v1/openapi.json", "/healthz", "/metrics"}) {
    CHECK_MESSAGE(relay["paths"].contains(path), path);
  }
  CHECK_FALSE(relay["paths"].contains("/v1/queries"));
  // Only the components a service's operations reach.
  CHECK_FALSE(relay["components"]["schemas"].contains("TransactionDetail"));
  CHECK(node["components"]["schemas"].contains("TransactionDetail"));
}

}  // namespace
}  // namespace entente::testing
