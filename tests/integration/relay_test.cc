// The relay as a real process over HTTPS with mutual TLS (DESIGN.md §7 step 4, §9): every validation
// code reported for an envelope that earns it, with its writes never applied; bad input answered with
// a reason while the relay keeps serving; and a SIGKILL that loses no acknowledged envelope.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include "runtime/common/json.h"
#include "runtime/common/validation_code.h"
#include "tests/integration/relay_fixture.h"

namespace entente::testing {
namespace {


bool HasState(http::Client& client, const std::string& channel, const std::string& contract, const std::string& key) {
  http::Response r = Send(client, "GET", "/v1/channels/" + channel + "/state/" + contract + "/" + key);
  return r.status == 200;
}

ledger::RwSet ReadsThenWrites(const std::vector<ledger::NamespaceRwSet>& namespaces) {
  ledger::RwSet rwset;
  rwset.namespaces = namespaces;
  return rwset;
}

TEST_CASE("The relay reports every validation code over HTTPS and applies only valid writes") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"));
  auto client = a.ClientFor(a.client_a, relay.port);
  auto writes = [](const std::string& key) { return RelayAlliance::Writes("chainA", "asset", {key}); };
  const std::vector<const Member*> majority{&a.node_a1, &a.node_a2};

  // VALID first: a key the later transactions read and duplicate.
  BuiltEnvelope valid = a.Build(a.client_a, {.rwset = writes("k-valid"), .endorsers = majority});
  Submit(*client, valid);
  Json ok = WaitSettled(*client, "/v1/transactions/" + valid.tx_id);
  CHECK(ok["code_name"] == "VALID");
  CHECK(ok["state"] == "committed");
  CHECK(HasState(*client, "chainA", "asset", "k-valid"));

  struct Case {
    ValidationCode expected;
    BuiltEnvelope envelope;
    std::string key;      // the key its writes would have written
    std::string channel = "chainA";
    std::string contract = "asset";
    bool by_envelope = false;  // its tx id's status belongs to another envelope
  };
  std::vector<Case> cases;
  auto add = [&](ValidationCode code, const Member& creator, EnvelopeSpec spec, const std::string& key) {
    if (spec.rwset.namespaces.empty()) spec.rwset = writes(key);
    cases.push_back({code, a.Build(creator, spec), key, spec.channel, spec.contract});
  };
  add(ValidationCode::kBadPayload, a.client_a, {.endorsers = majority, .garbage_result = true}, "k-2");
  add(ValidationCode::kBadCreatorSignature, a.client_a, {.endorsers = majority, .seal_with = &a.client_b}, "k-4");
  add(ValidationCode::kBadProposalTxid, a.client_a, {.endorsers = majority, .alter_tx_id = true}, "k-8");
  add(ValidationCode::kEndorsementPolicyFailure, a.client_a, {.endorsers = {&a.node_a1}}, "k-10");
  add(ValidationCode::kTargetChainNotFound, a.client_a,
      {.channel = "chainZ", .rwset = RelayAlliance::Writes("chainZ", "asset", {"k-14"}), .endorsers = majority},
      "k-14");
  add(ValidationCode::kBadResponsePayload, a.client_a, {.endorsers = majority, .tamper_endorsement = true}, "k-21");
  {
    ledger::RwSet cross = RelayAlliance::Writes("chainB", "reader", {"k-23"});
    add(ValidationCode::kIllegalWriteset, a.client_a, {.rwset = cross, .endorsers = majority}, "k-23");
  }
  add(ValidationCode::kInvalidChaincode, a.client_a,
      {.contract = "nosuch", .rwset = RelayAlliance::Writes("chainA", "nosuch", {"k-25"}), .endorsers = majority},
      "k-25");
  add(ValidationCode::kCertificateUntrusted, a.foreign_client, {.endorsers = majority}, "k-101");
  add(ValidationCode::kCertificateExpired, a.expired_client, {.endorsers = majority}, "k-102");
  add(ValidationCode::kCertificateRevoked, a.revoked_client, {.endorsers = majority}, "k-103");
  {
    ledger::NamespaceRwSet read_a{"chainA", "asset", {{"k-valid", ledger::Version{0, 0}}}, {}, {}};
    ledger::NamespaceRwSet write_b{"chainB", "snooper", {}, {}, {{"k-104", false, ToBytes("x")}}};
    add(ValidationCode::kRouteNotAllowed, a.client_b,
        {.channel = "chainB", .contract = "snooper", .rwset = ReadsThenWrites({read_a, write_b}), .endorsers = {&a.node_b1}},
        "k-104");
    cases.back().channel = "chainB";
    cases.back().contract = "snooper";
  }
  add(ValidationCode::kProposalExpired, a.client_a,
      {.endorsers = majority, .timestamp_ms = 1700000000000}, "k-105");
  add(ValidationCode::kInvalidOtherReason, a.client_a,
      {.contract = "badpolicy", .rwset = RelayAlliance::Writes("chainA", "badpolicy", {"k-255"}), .endorsers = majority},
      "k-255");
  cases.back().contract = "badpolicy";
  // The same transaction again, with fresh endorsement signatures: other bytes, the same tx id.
  {
    EnvelopeSpec spec{.rwset = writes("k-valid"), .endorsers = majority};
    BuiltEnvelope again = a.Build(a.client_a, spec);
    // Rebuild around the committed proposal: only the envelope differs.
    cases.push_back({ValidationCode::kDuplicateTxid, valid, "k-valid", "chainA", "asset", true});
    (void)again;
  }
  // MVCC (the paper's double submission): two transactions read the version of k-valid that block 0
  // wrote; the first rewrites it, so the second finds its dependency outdated.
  {
    ledger::NamespaceRwSet rw{"chainA", "asset", {{"k-valid", ledger::Version{0, 0}}}, {}, {{"k-valid", false, ToBytes("2")}}};
    ledger::NamespaceRwSet rw2{"chainA", "asset", {{"k-valid", ledger::Version{0, 0}}}, {}, {{"k-11", false, ToBytes("2")}}};
    BuiltEnvelope first = a.Build(a.client_a, {.rwset = ReadsThenWrites({rw}), .endorsers = majority});
    BuiltEnvelope second = a.Build(a.client_a, {.rwset = ReadsThenWrites({rw2}), .endorsers = majority});
    Submit(*client, first);
    Submit(*client, second);
    CHECK(WaitSettled(*client, "/v1/transactions/" + first.tx_id)["code_name"] == "VALID");
    Json conflict = WaitSettled(*client, "/v1/transactions/" + second.tx_id);
    CHECK(conflict["code_name"] == "MVCC_READ_CONFLICT");
    CHECK_FALSE(conflict["message"].get<std::string>().empty());
    CHECK_FALSE(HasState(*client, "chainA", "asset", "k-11"));
  }
  // Phantom: a range read that saw no key in [p0, p9) before another transaction wrote p1.
  {
    BuiltEnvelope writer = a.Build(a.client_a, {.rwset = writes("p1"), .endorsers = majority});
    Submit(*client, writer);
    CHECK(WaitSettled(*client, "/v1/transactions/" + writer.tx_id)["code_name"] == "VALID");
    ledger::NamespaceRwSet ranged{"chainA", "asset", {}, {{"p0", "p9", true, {}}}, {{"k-12", false, ToBytes("x")}}};
    BuiltEnvelope reader = a.Build(a.client_a, {.rwset = ReadsThenWrites({ranged}), .endorsers = majority});
    Submit(*client, reader);
    CHECK(WaitSettled(*client, "/v1/transactions/" + reader.tx_id)["code_name"] == "PHANTOM_READ_CONFLICT");
    CHECK_FALSE(HasState(*client, "chainA", "asset", "k-12"));
  }

  for (Case& c : cases) {
    if (c.expected == ValidationCode::kDuplicateTxid) {
      // Same proposal, new endorsements: rebuild the envelope from the committed one's proposal.
      auto outer = SignedBytes::Parse(c.envelope.bytes);
      REQUIRE(outer.ok());
      auto env = endorser::Envelope::FromJson(*ParseJson(ToString(outer->payload)));
      REQUIRE(env.ok());
      env->endorsements.clear();
      for (const Member* m : majority) env->endorsements.push_back(*endorser::Endorse(*m->signer, env->result));
      Bytes sealed = *endorser::SealEnvelope(*a.client_a.signer, *env);
      c.envelope = {c.envelope.tx_id, c.envelope.nonce, crypto::Sha256Hex(sealed), ToString(sealed)};
      c.by_envelope = true;
    }
    Submit(*client, c.envelope);
  }
  auto client_b = a.ClientFor(a.client_b, relay.port);  // a chain's transactions are its own members' to read
  for (const Case& c : cases) {
    CAPTURE(ValidationCodeName(c.expected));
    http::Client& asker = c.channel == "chainB" ? *client_b : *client;
    std::string target = c.by_envelope || c.expected == ValidationCode::kBadCreatorSignature ||
                                 c.expected == ValidationCode::kBadProposalTxid
                             ? "/v1/envelopes/" + c.envelope.hash
                             : "/v1/transactions/" + c.envelope.tx_id;
    Json status = WaitSettled(asker, target);
    CHECK(status["code_name"] == std::string(ValidationCodeName(c.expected)));
    CHECK(status["code"] == static_cast<int>(c.expected));
    CHECK_FALSE(status["message"].get<std::string>().empty());
    if (c.expected != ValidationCode::kDuplicateTxid) CHECK_FALSE(HasState(asker, c.channel, c.contract, c.key));
  }
  // The committed valid transaction is still the one its tx id names.
  CHECK(WaitSettled(*client, "/v1/transactions/" + valid.tx_id)["code_name"] == "VALID");

  // Blocks carry the relay's signature over their metadata; nodes pull them.
  auto node = a.ClientFor(a.node_a1, relay.port);
  Json blocks = Body(Send(*node, "GET", "/v1/channels/chainA/blocks?from=0"));
  REQUIRE_FALSE(blocks["blocks"].empty());
  auto first = ledger::Block::FromJson(blocks["blocks"][0]);
  REQUIRE(first.ok());
  CHECK(a.relay_key().Verify(first->SignedMetadataBytes(), first->metadata.relay_signature));
}

TEST_CASE("The relay answers bad input with a reason and keeps serving") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"));
  auto client = a.ClientFor(a.client_a, relay.port);
  auto problem = [&](std::string_view method, std::string_view target, std::string_view body, int status) {
    http::Response r = Send(*client, method, target, body);
    CHECK(r.status == status);
    CHECK(r.content_type == "application/problem+json");
    Json j = Body(r);
    CHECK_FALSE(j["detail"].get<std::string>().empty());
    CHECK(Send(*client, "GET", "/healthz").status == 200);
  };
  problem("POST", "/v1/envelopes", "this is not json", 400);
  problem("POST", "/v1/envelopes", "{\"payload\": \"YWJj\", \"signa", 400);
  problem("POST", "/v1/envelopes", "{\"payload\": 12, \"signature\": []}", 400);
  problem("POST", "/v1/envelopes", std::string(70000, 'x'), 413);
  problem("GET", "/v1/nothing/here", "", 404);
  problem("GET", "/v1/transactions/0000", "", 404);
  problem("GET", "/v1/channels/chainA/blocks?from=0", "", 403);  // a client may not pull blocks
  auto node = a.ClientFor(a.node_a1, relay.port);
  http::Response bad_number = Send(*node, "GET", "/v1/channels/chainA/blocks?from=abc");
  CHECK(bad_number.status == 400);
  CHECK(bad_number.body.find("from") != std::string::npos);
  CHECK(Send(*node, "GET", "/v1/channels/chainZ/blocks?from=0").status == 404);
  http::Response too_many = Send(*node, "GET", "/v1/channels/chainA/blocks?from=0&max=101");
  CHECK(too_many.status == 400);
  CHECK(too_many.body.find("at most 100") != std::string::npos);

  // No certificate: /healthz only (401 elsewhere). One from a CA outside the alliance: refused at the
  // TLS handshake.
  http::ClientOptions anonymous;
  anonymous.port = relay.port;
  anonymous.tls.ca_files = {a.dir() + "/alliance-cas.pem"};
  http::Client nobody(anonymous);
  auto health = nobody.Get("/healthz");
  REQUIRE(health.ok());
  CHECK(health->status == 200);
  for (const char* target : {"/v1/alliance", "/metrics", "/v1/transactions/0000", "/v1/openapi.json"}) {
    CAPTURE(target);
    auto refused = nobody.Get(target);
    REQUIRE(refused.ok());
    CHECK(refused->status == 401);
  }
  auto anonymous_post = nobody.Post("/v1/envelopes", "{}");
  REQUIRE(anonymous_post.ok());
  CHECK(anonymous_post->status == 401);
  auto foreign = a.ClientFor(a.foreign_client, relay.port);
  CHECK_FALSE(foreign->Get("/v1/alliance").ok());
  CHECK(Send(*client, "GET", "/v1/alliance").status == 200);
  http::Response metrics = Send(*client, "GET", "/metrics");
  CHECK(metrics.body.find("entente_relay_envelopes_accepted_total") != std::string::npos);
}

TEST_CASE("The relay cuts a block as soon as it holds max_tx transactions") {
  RelayAlliance& a = Fixture();
  TempDir data;
  // Blocks wait up to a minute for more transactions and are not cut when the relay is idle, so only
  // the count can cut this one.
  RunningRelay relay =
      Fixture().StartRelay(data.Join("relay"), "{max_tx: 3, max_wait_ms: 60000, cut_when_idle: false}");
  auto client = a.ClientFor(a.client_a, relay.port);
  std::vector<BuiltEnvelope> envelopes;
  for (int i = 0; i < 3; ++i) {
    envelopes.push_back(a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {"cut-" + std::to_string(i)}),
                                             .endorsers = {&a.node_a1, &a.node_a2}}));
    Submit(*client, envelopes.back());
  }
  std::set<std::uint64_t> blocks;
  for (const BuiltEnvelope& e : envelopes) {
    Json status = WaitSettled(*client, "/v1/transactions/" + e.tx_id);
    CHECK(status["code_name"] == "VALID");
    blocks.insert(status.value("block", std::uint64_t{0}));
  }
  CHECK(blocks.size() == 1);
  CHECK(relay.process->running());
}

TEST_CASE("A lone transaction is committed at once, not after max_wait_ms, when nothing more is coming") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"), "{max_tx: 100, max_wait_ms: 60000}");
  auto client = a.ClientFor(a.client_a, relay.port);
  BuiltEnvelope lone = a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {"lone"}),
                                            .endorsers = {&a.node_a1, &a.node_a2}});
  auto submitted = std::chrono::steady_clock::now();
  Submit(*client, lone);
  CHECK(WaitSettled(*client, "/v1/transactions/" + lone.tx_id)["code_name"] == "VALID");
  CHECK(std::chrono::steady_clock::now() - submitted < std::chrono::seconds(10));
}

TEST_CASE("Under load a block fills while its reader is busy, and is cut as soon as the reader asks for it") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = Fixture().StartRelay(data.Join("relay"), "{max_tx: 100, max_wait_ms: 60000}");
  auto client = a.ClientFor(a.client_a, relay.port);
  auto node = a.ClientFor(a.node_a1, relay.port);
  std::vector<BuiltEnvelope> envelopes;
  for (int i = 0; i < 3; ++i) {
    envelopes.push_back(a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {"busy-" + std::to_string(i)}),
                                             .endorsers = {&a.node_a1, &a.node_a2}}));
  }
  // The node is caught up: its long-poll for chainA's first block ends empty. Then, while it would be
  // busy with what it read, three transactions come one after another.
  Json none = Body(Send(*node, "GET", "/v1/channels/chainA/blocks?from=0&wait_ms=100"));
  REQUIRE(none["blocks"].empty());
  for (const BuiltEnvelope& e : envelopes) Submit(*client, e);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const BuiltEnvelope& e : envelopes) {
    CHECK(Body(Send(*client, "GET", "/v1/transactions/" + e.tx_id))["state"] == "pending");
  }
  // The node asks for the next block: it comes at once, with all three.
  auto asked = std::chrono::steady_clock::now();
  Json page = Body(Send(*node, "GET", "/v1/channels/chainA/blocks?from=0&wait_ms=20000"));
  CHECK(std::chrono::steady_clock::now() - asked < std::chrono::seconds(10));
  REQUIRE(page["blocks"].size() == 1);
  CHECK(page["blocks"][0]["data"].size() == 3);
  for (const BuiltEnvelope& e : envelopes) {
    CHECK(WaitSettled(*client, "/v1/transactions/" + e.tx_id)["code_name"] == "VALID");
  }
}

TEST_CASE("A relay killed while clients submit loses no acknowledged envelope and commits each once") {
  RelayAlliance& a = Fixture();
  TempDir data;
  std::string dir = data.Join("relay");
  const std::vector<const Member*> majority{&a.node_a1, &a.node_a2};
  std::vector<BuiltEnvelope> envelopes;
  for (int i = 0; i < 300; ++i) {
    envelopes.push_back(a.Build(a.client_a, {.rwset = RelayAlliance::Writes("chainA", "asset", {"kill-" + std::to_string(i)}),
                                             .endorsers = majority}));
  }
  std::set<std::string> acknowledged;
  {
    RunningRelay relay = Fixture().StartRelay(dir);
    std::mutex mu;
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t) {
      senders.emplace_back([&] {
        auto client = a.ClientFor(a.client_a, relay.port);
        for (std::size_t i = next++; i < envelopes.size(); i = next++) {
          auto r = client->Post("/v1/envelopes", envelopes[i].bytes);
          if (!r.ok()) return;  // the relay is gone
          if (r->status == 202) {
            std::lock_guard lock(mu);
            acknowledged.insert(envelopes[i].tx_id);
          }
        }
      });
    }
    while (true) {
      {
        std::lock_guard lock(mu);
        if (acknowledged.size() >= 100) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    relay.process->Signal(SIGKILL);
    for (auto& s : senders) s.join();
  }
  REQUIRE(acknowledged.size() >= 100);
  RunningRelay relay = Fixture().StartRelay(dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE_MESSAGE(relay.process->running(), relay.process->Log());
  auto client = a.ClientFor(a.node_a1, relay.port);
  for (const std::string& tx_id : acknowledged) {
    Json status = WaitSettled(*client, "/v1/transactions/" + tx_id);
    CHECK(status["code_name"] == "VALID");
  }
  // Each acknowledged transaction is in exactly one block position.
  std::map<std::string, int> seen;
  for (std::uint64_t from = 0;;) {
    Json blocks = Body(Send(*client, "GET", "/v1/channels/chainA/blocks?from=" + std::to_string(from)));
    if (blocks["blocks"].empty()) break;
    for (const Json& b : blocks["blocks"]) {
      auto block = ledger::Block::FromJson(b);
      REQUIRE(block.ok());
      from = block->header.number + 1;
      for (const Bytes& e : block->envelopes) {
        for (const auto& built : envelopes) {
          if (built.hash == crypto::Sha256Hex(e)) ++seen[built.tx_id];
        }
      }
    }
  }
  for (const std::string& tx_id : acknowledged) CHECK(seen[tx_id] == 1);
}

}  // namespace
}  // namespace entente::testing
