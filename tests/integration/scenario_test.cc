// The paper's scenarios end to end, on a running alliance of real processes (tests/integration/
// alliance_fixture.h): endorsement weights (Fig. 2), the cross-chain data exchange (§3.1), and a node
// that is killed and catches up.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <set>
#include <thread>

#include "certs/ca.h"
#include "runtime/common/signed_bytes.h"
#include "tests/integration/alliance_fixture.h"

namespace entente::testing {
namespace {

// Every answer names the same height and last block hash.
void CheckSameLedger(const std::vector<Json>& answers) {
  REQUIRE(!answers.empty());
  for (const Json& a : answers) {
    CAPTURE(a);
    CHECK(a.value("height", std::uint64_t{0}) == answers.front().value("height", std::uint64_t{0}));
    CHECK(a.value("last_hash", std::string()) == answers.front().value("last_hash", std::string()));
    CHECK_FALSE(a.contains("halted"));
  }
}

Json CreateAsset(const std::string& id, const std::vector<std::string>& endorsers) {
  return Json{{"contract", "asset_transfer"},
              {"function", "CreateAsset"},
              {"args", {id, "red", "5", "alice", "100"}},
              {"endorsers", endorsers}};
}

TEST_CASE("Paper Fig. 2: with weights 2, 1, 1 the weight-2 node alone is rejected; adding either other node passes") {
  RunningAlliance& a = SharedAlliance();
  auto [status, alone] = a.Submit("a1", "alice", CreateAsset("fig2-alone", {"a1"}));
  REQUIRE_MESSAGE(status == 200, alone.dump());
  CHECK(alone["code_name"] == "ENDORSEMENT_POLICY_FAILURE");
  CHECK(alone["valid"] == false);
  CHECK(alone["message"].get<std::string>().find("50%") != std::string::npos);

  auto [status2, with_a2] = a.Submit("a1", "alice", CreateAsset("fig2-a2", {"a1", "a2"}));
  REQUIRE_MESSAGE(status2 == 200, with_a2.dump());
  CHECK(with_a2["code_name"] == "VALID");
  auto [status3, with_a3] = a.Submit("a2", "alice", CreateAsset("fig2-a3", {"a1", "a3"}));
  REQUIRE_MESSAGE(status3 == 200, with_a3.dump());
  CHECK(with_a3["code_name"] == "VALID");

  // Every node of chainA committed the same blocks.
  std::uint64_t height = std::max(with_a2["block"].get<std::uint64_t>(), with_a3["block"].get<std::uint64_t>()) + 1;
  CheckSameLedger(a.WaitForHeight("chainA", height));
}

TEST_CASE("Paper §3.1: a data exchange from chainA to chainB commits on every node of both chains") {
  RunningAlliance& a = SharedAlliance();
  auto [published_status, published] =
      a.Submit("a2", "alice", Json{{"contract", "data_exchange"},
                                   {"function", "PublishRecord"},
                                   {"args", {"shipment-7", "42 pallets", "a shipment notice"}}});
  REQUIRE_MESSAGE(published_status == 200, published.dump());
  REQUIRE(published["code_name"] == "VALID");

  auto [requested_status, requested] =
      a.Submit("b1", "bob", Json{{"contract", "data_exchange"},
                                 {"function", "RequestRecord"},
                                 {"args", {"chainA", "shipment-7", "customs"}}});
  REQUIRE_MESSAGE(requested_status == 200, requested.dump());
  CHECK(requested["code_name"] == "VALID");
  CHECK(requested["channel"] == "chainB");
  // The contract's answer carries the data it read from chainA.
  auto payload = Base64Decode(requested["response"]["payload"].get<std::string>());
  REQUIRE(payload.ok());
  CHECK(ToString(*payload).find("42 pallets") != std::string::npos);

  CheckSameLedger(a.WaitForHeight("chainA", published["block"].get<std::uint64_t>() + 1));
  CheckSameLedger(a.WaitForHeight("chainB", requested["block"].get<std::uint64_t>() + 1));

  // Every node tells it as server-sent events, resumable from a block number.
  std::string block = std::to_string(published["block"].get<std::uint64_t>());
  auto events = a.Client("a3", "alice")->Get("/v1/events?channel=chainA&from=" + block + "&wait_ms=0");
  REQUIRE(events.ok());
  CHECK(events->status == 200);
  CHECK(events->content_type.find("text/event-stream") == 0);
  CHECK(events->body.find("id: " + block + "\nevent: block\n") != std::string::npos);
  CHECK(events->body.find("\"name\":\"RecordPublished\"") != std::string::npos);
  CHECK(events->body.find(published["tx_id"].get<std::string>()) != std::string::npos);
  auto resumed = a.Client("a3", "alice")->Send("GET", "/v1/events?channel=chainA&wait_ms=0", "",
                                               {{"Last-Event-ID", block}});
  REQUIRE(resumed.ok());
  CHECK(resumed->body.find(published["tx_id"].get<std::string>()) == std::string::npos);
}

TEST_CASE("entente tx submits, queries and reports transactions for scripts, with exit codes") {
  RunningAlliance& a = SharedAlliance();
  std::vector<std::string> connection{"--node", "127.0.0.1:" + std::to_string(a.port("a2")),
                                      "--cert", a.IdentityDir("alice") + "/cert.pem",
                                      "--key", a.IdentityDir("alice") + "/key.pem",
                                      "--cacert", a.dir() + "/ca-chainA/ca.pem"};
  auto tx = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "tx");
    args.insert(args.begin() + 2, connection.begin(), connection.end());
    return RunEntente(args);
  };
  CommandResult submitted = tx({"submit", "--contract", "asset_transfer", "--function", "CreateAsset", "--arg",
                                "cli-1", "--arg", "teal", "--arg", "3", "--arg", "alice", "--arg", "9"});
  INFO(submitted.output);
  CHECK(submitted.exit_code == 0);
  auto answer = ParseJson(submitted.output);
  REQUIRE(answer.ok());
  CHECK((*answer)["code_name"] == "VALID");

  CommandResult status = tx({"status", (*answer)["tx_id"].get<std::string>()});
  CHECK(status.exit_code == 0);
  CHECK(status.output.find("\"committed\"") != std::string::npos);
  CommandResult query = tx({"query", "--contract", "asset_transfer", "--function", "ReadAsset", "--arg", "cli-1"});
  CHECK(query.exit_code == 0);
  CHECK(query.output.find("\"payload\"") != std::string::npos);
  CommandResult invalid = tx({"submit", "--contract", "asset_transfer", "--function", "CreateAsset", "--arg", "cli-2",
                              "--arg", "teal", "--arg", "3", "--arg", "alice", "--arg", "9", "--endorser", "a1"});
  CHECK(invalid.exit_code == 2);
  CHECK(invalid.output.find("ENDORSEMENT_POLICY_FAILURE") != std::string::npos);
  CommandResult unknown = tx({"status", "no-such-transaction"});
  CHECK(unknown.exit_code == 1);
}

TEST_CASE("A request the endorsers cannot satisfy is refused before anything reaches the relay") {
  RunningAlliance& a = SharedAlliance();
  auto [status, body] = a.Submit("a1", "alice", Json{{"contract", "no_such_contract"}, {"function", "Nothing"}});
  CHECK(status == 404);
  CHECK(body["reason"] == "INVALID_CHAINCODE");
  auto [bad_status, bad] = a.Submit("a1", "alice", Json{{"contract", "asset_transfer"}, {"function", "ReadAsset"},
                                                        {"args", {"no-such-asset"}}});
  CHECK(bad_status == 422);
  CHECK(bad["reason"] == "CONTRACT_ERROR");
}

TEST_CASE("Paper §3.2: a tampered endorsement is rejected and the initiator gets the code and the reason") {
  RunningAlliance& a = SharedAlliance();
  auto proposal = endorser::MakeSignedProposal(a.SignerOf("alice", 1), "chainA", "asset_transfer", "CreateAsset",
                                               {"tampered-1", "blue", "1", "alice", "5"});
  REQUIRE(proposal.ok());
  endorser::Envelope envelope = a.EndorseSigned("a1", "alice", *proposal);
  REQUIRE(!envelope.endorsements.empty());
  envelope.endorsements[0].signature[10] ^= 0x01;
  auto [status, body] = a.SealAndSubmit("a1", "alice", a.SignerOf("alice", 1), envelope);
  REQUIRE_MESSAGE(status == 200, body.dump());
  CHECK(body["valid"] == false);
  CHECK(body["code_name"] == "BAD_RESPONSE_PAYLOAD");
  CHECK(body["message"].get<std::string>().find("does not verify") != std::string::npos);
}

TEST_CASE("Paper §3.2: the same proposal submitted twice commits once; the second is DUPLICATE_TXID") {
  RunningAlliance& a = SharedAlliance();
  auto proposal = endorser::MakeSignedProposal(a.SignerOf("alice", 1), "chainA", "asset_transfer", "CreateAsset",
                                               {"twice-1", "green", "2", "alice", "7"});
  REQUIRE(proposal.ok());
  // Endorsed twice, the same proposal makes two envelopes (other bytes, the same tx id).
  endorser::Envelope once = a.EndorseSigned("a1", "alice", *proposal);
  endorser::Envelope again = a.EndorseSigned("a1", "alice", *proposal);
  auto [first_status, first] = a.SealAndSubmit("a1", "alice", a.SignerOf("alice", 1), once);
  REQUIRE_MESSAGE(first_status == 200, first.dump());
  CHECK(first["code_name"] == "VALID");
  auto [second_status, second] = a.SealAndSubmit("a1", "alice", a.SignerOf("alice", 1), again);
  REQUIRE_MESSAGE(second_status == 200, second.dump());
  CHECK(second["tx_id"] == first["tx_id"]);
  CHECK(second["code_name"] == "DUPLICATE_TXID");
}

TEST_CASE("A read along no route of the alliance is refused with ROUTE_NOT_ALLOWED") {
  RunningAlliance& a = SharedAlliance();
  // Only chainB's data_exchange may read chainA's; chainA's may not read chainB's.
  auto [status, body] = a.Submit("a1", "alice", Json{{"contract", "data_exchange"},
                                                     {"function", "RequestRecord"},
                                                     {"args", {"chainB", "anything", "audit"}}});
  CHECK(status == 403);
  CHECK(body["reason"] == "ROUTE_NOT_ALLOWED");
  CHECK(body["code"] == 104);
  CHECK(body["detail"].get<std::string>().find("chainB") != std::string::npos);
}

TEST_CASE("An endorsement by a node whose certificate is revoked commits as CERTIFICATE_REVOKED") {
  RunningAlliance& a = SharedAlliance();
  auto [status, body] = a.Submit("b1", "bob", Json{{"contract", "data_exchange"},
                                                   {"function", "PublishRecord"},
                                                   {"args", {"revoked-endorser", "x", "y"}},
                                                   {"endorsers", {"b1", "b3"}}});
  REQUIRE_MESSAGE(status == 200, body.dump());
  CHECK(body["code_name"] == "CERTIFICATE_REVOKED");
  CHECK(body["message"].get<std::string>().find("b3") != std::string::npos);
  // The nodes re-validated that block with the same verdict: no channel halted.
  CheckSameLedger(a.WaitForHeight("chainB", body["block"].get<std::uint64_t>() + 1));
}

TEST_CASE("Paper §3.2: two transactions on the same dependency: the second is an MVCC_READ_CONFLICT; with retry it commits") {
  RunningAlliance& a = SharedAlliance();
  auto [created_status, created] = a.Submit("a1", "alice", CreateAsset("mvcc-1", {}));
  REQUIRE_MESSAGE(created_status == 200, created.dump());
  REQUIRE(created["code_name"] == "VALID");
  auto transfer = [](const std::string& to, bool wait, int retry) {
    return Json{{"contract", "asset_transfer"}, {"function", "TransferAsset"}, {"args", {"mvcc-1", to}},
                {"wait", wait}, {"retry", retry}};
  };
  // Two transfers of the asset, both endorsed on the same state before either is submitted: the
  // second reads a version the first changes.
  auto to_bob = endorser::MakeSignedProposal(a.SignerOf("alice", 1), "chainA", "asset_transfer", "TransferAsset",
                                             {"mvcc-1", "bob"});
  auto to_carol = endorser::MakeSignedProposal(a.SignerOf("alice", 1), "chainA", "asset_transfer", "TransferAsset",
                                               {"mvcc-1", "carol"});
  REQUIRE((to_bob.ok() && to_carol.ok()));
  endorser::Envelope first_envelope = a.EndorseSigned("a1", "alice", *to_bob);
  endorser::Envelope second_envelope = a.EndorseSigned("a1", "alice", *to_carol);
  auto [first_status, first] = a.SealAndSubmit("a1", "alice", a.SignerOf("alice", 1), first_envelope);
  REQUIRE_MESSAGE(first_status == 200, first.dump());
  CHECK(first["code_name"] == "VALID");
  auto [second_status, second] = a.SealAndSubmit("a1", "alice", a.SignerOf("alice", 1), second_envelope);
  REQUIRE_MESSAGE(second_status == 200, second.dump());
  CHECK(second["code_name"] == "MVCC_READ_CONFLICT");
  CHECK(second["valid"] == false);
  // The reason names the key and the versions: the one read at simulation, the one the first transfer made.
  const std::string reason = second["message"].get<std::string>();
  CAPTURE(reason);
  CHECK(reason.find("key 'mvcc-1' of chainA/asset_transfer at version (block") != std::string::npos);
  CHECK(reason.find("which is version (block " + std::to_string(first["block"].get<std::uint64_t>()) + ",") !=
        std::string::npos);
  // With retry, a transfer racing another one is endorsed again on the new state and commits (the race
  // is not deterministic: up to ten rounds, each of which must commit).
  bool retried = false;
  for (int attempt = 0; attempt < 10 && !retried; ++attempt) {
    auto [racing_status, racing] = a.Submit("a1", "alice", transfer("dave-" + std::to_string(attempt), false, 0));
    REQUIRE_MESSAGE(racing_status == 202, racing.dump());
    auto [retrying_status, retrying] = a.Submit("a2", "alice", transfer("erin-" + std::to_string(attempt), true, 3));
    REQUIRE_MESSAGE(retrying_status == 200, retrying.dump());
    CHECK(retrying["code_name"] == "VALID");
    retried = retrying["attempts"].get<int>() > 1;
  }
  CHECK(retried);
}

TEST_CASE("A node killed with SIGKILL during load catches up after a restart, with the same blocks as the others") {
  RunningAlliance& a = SharedAlliance();
  std::atomic<int> committed{0};
  std::atomic<bool> done{false};
  std::thread load([&] {
    // No REQUIRE off the test's thread: a failed call just does not count.
    for (int i = 0; i < 12; ++i) {
      auto client = a.Client(i % 2 == 0 ? "a1" : "a2", "alice");
      auto r = client->Post("/v1/transactions", CreateAsset("load-" + std::to_string(i), {"a1", "a2"}).dump());
      auto body = r.ok() ? ParseJson(r->body) : Result<Json>(r.status());
      if (body.ok() && body->is_object() && body->value("code_name", "") == "VALID") ++committed;
    }
    done = true;
  });
  while (committed < 3 && !done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  a.process("a3").Signal(SIGKILL);
  load.join();
  CHECK(committed == 12);
  a.Restart("a3", SIGKILL);
  auto heights = a.WaitForHeight("chainA", a.WaitForHeight("chainA", 0).front()["height"].get<std::uint64_t>());
  CheckSameLedger(heights);
}

TEST_CASE("A node warns when fewer than 10% of its TCerts remain valid and takes a new batch on SIGHUP") {
  RunningAlliance& a = SharedAlliance();
  // A new batch for a3: one valid TCert and ten that expired an hour ago, bound to a3's ECert.
  std::string dir = a.IdentityDir("a3");
  auto ecert = crypto::Certificate::LoadFile(dir + "/cert.pem");
  auto ca = crypto::Certificate::LoadFile(a.dir() + "/ca-chainA/ca.pem");
  auto ca_key = crypto::PrivateKey::LoadFile(a.dir() + "/ca-chainA/ca-key.pem");
  REQUIRE((ecert.ok() && ca.ok() && ca_key.ok()));
  auto now = crypto::Clock::now();
  for (int i = 0; i < 11; ++i) {
    bool valid = i == 0;
    crypto::CertificateRequest request{.chain = "chainA", .role = "tx", .id = "a3",
                                       .not_before = now - std::chrono::hours(3),
                                       .not_after = valid ? now + std::chrono::hours(3) : now - std::chrono::hours(1),
                                       .bound_ecert = ecert->Fingerprint()};
    auto key = crypto::PrivateKey::Generate();
    REQUIRE(key.ok());
    auto tcert = crypto::IssueCertificate(request, key->Public(), &*ca, *ca_key);
    REQUIRE(tcert.ok());
    std::string base = dir + "/tcerts/tcert-" + std::to_string(i);
    REQUIRE(certs::IssuedCertificate{*tcert, *key, {}}.Save(base + ".pem", base + "-key.pem").ok());
  }
  a.process("a3").Signal(SIGHUP, /*wait=*/false);
  std::string metrics;
  for (int i = 0; i < 100 && metrics.find("entente_node_tcerts 11\n") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = a.Client("a3", "a3")->Get("/metrics");
    if (r.ok()) metrics = r->body;
  }
  CHECK(metrics.find("entente_node_tcerts 11\n") != std::string::npos);
  CHECK(metrics.find("entente_node_tcerts_valid 1\n") != std::string::npos);
  CHECK(metrics.find("entente_node_tcerts_low 1\n") != std::string::npos);
  CHECK(a.process("a3").Log().find("fewer than 10%") != std::string::npos);
  // It signs with the one that is still valid.
  auto [status, body] = a.Submit("a1", "alice", CreateAsset("after-sighup", {"a1", "a3"}));
  REQUIRE_MESSAGE(status == 200, body.dump());
  CHECK(body["code_name"] == "VALID");
}

}  // namespace
}  // namespace entente::testing
