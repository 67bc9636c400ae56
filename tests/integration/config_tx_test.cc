// Config transactions of the alliance contract (DESIGN.md §2), proposed and endorsed by the alliance's
// admins themselves with `entente alliance propose|define-contract|update-crl` under the policy
// Admins(0.5).
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "certs/ca.h"
#include "runtime/common/file.h"
#include "runtime/crypto/crypto.h"
#include "runtime/endorser/endorser.h"
#include "tests/integration/alliance_fixture.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

// `entente alliance <command>` against node a1, endorsed by `admins` ("admin-a", "admin-b"), waiting
// `timeout_s` for commits.
CommandResult AllianceCommand(const RunningAlliance& a, const std::string& command,
                              const std::vector<std::string>& admins, std::vector<std::string> args,
                              int timeout_s = 10) {
  std::vector<std::string> line{"alliance", command, "--node", "127.0.0.1:" + std::to_string(a.port("a1")),
                                "--cacert", a.dir() + "/ca-chainA/ca.pem", "--cacert", a.dir() + "/ca-chainB/ca.pem",
                                "--timeout", std::to_string(timeout_s)};
  for (const std::string& admin : admins) {
    line.push_back("--admin");
    line.push_back(a.IdentityDir(admin));
  }
  line.insert(line.end(), args.begin(), args.end());
  return RunEntente(line);
}

TEST_CASE("A config transaction endorsed by exactly half of the admins' weight is rejected; by both admins it commits") {
  RunningAlliance& a = SharedAlliance();
  std::string route = Json{{"id", "a-reads-b-assets"}, {"from_chain", "chainA"}, {"contract", "asset_transfer"},
                           {"to_chain", "chainB"}, {"namespace", "asset_transfer"}, {"access", "read"}}
                          .dump();
  CommandResult half = AllianceCommand(a, "propose", {"admin-a"}, {"--function", "AddRoute", "--arg", route});
  INFO(half.output);
  CHECK(half.exit_code == 2);
  CHECK(half.output.find("ENDORSEMENT_POLICY_FAILURE") != std::string::npos);
  CHECK(half.output.find("50%") != std::string::npos);

  CommandResult both = AllianceCommand(a, "propose", {"admin-a", "admin-b"}, {"--function", "AddRoute", "--arg", route});
  INFO(both.output);
  CHECK(both.exit_code == 0);
  CHECK(both.output.find("\"code_name\":\"VALID\"") != std::string::npos);
  auto listed = a.Client("relay", "admin-a")->Get("/v1/alliance");
  REQUIRE(listed.ok());
  CHECK(listed->body.find("a-reads-b-assets") != std::string::npos);

  CommandResult refused = AllianceCommand(a, "propose", {"admin-a", "admin-b"}, {"--function", "AddRoute", "--arg", route});
  CHECK(refused.exit_code == 1);
  CHECK(refused.output.find("already") != std::string::npos);
}

TEST_CASE("define-contract runs an installed package on a chain once its definition commits") {
  RunningAlliance& a = SharedAlliance();
  Json create{{"contract", "asset_transfer"}, {"function", "CreateAsset"}, {"args", {"on-b", "blue", "2", "bob", "7"}}};
  auto [before_status, before] = a.Submit("b1", "bob", create);
  CHECK(before_status == 404);
  CHECK(before["reason"] == "INVALID_CHAINCODE");

  std::string package = a.dir() + "/asset_transfer.tar.gz";
  std::string bytes = Must(ReadFile(package));
  for (const std::string& node : a.NodesOf("chainB")) {
    auto installed = a.Client(node, "admin-b")->Send("POST", "/v1/contracts", bytes, {{"Content-Type", "application/gzip"}});
    REQUIRE(installed.ok());
    CHECK_MESSAGE(installed->status == 201, installed->body);
  }
  auto [installed_status, installed_only] = a.Submit("b1", "bob", create);
  CHECK(installed_status == 404);
  CHECK(installed_only["detail"].get<std::string>().find("not defined on channel 'chainB'") != std::string::npos);

  CommandResult defined = AllianceCommand(a, "define-contract", {"admin-a", "admin-b"},
                                          {"--package", package, "--channel", "chainB"});
  INFO(defined.output);
  CHECK(defined.exit_code == 0);
  auto [after_status, after] = a.Submit("b2", "bob", create);
  REQUIRE_MESSAGE(after_status == 200, after.dump());
  CHECK(after["code_name"] == "VALID");
}

TEST_CASE("A CRL published by config transaction revokes at every node and at the relay, on connections already open") {
  RunningAlliance& a = SharedAlliance();
  a.Enroll("carol", "chainA", crypto::Role::kClient, "carol");
  const std::vector<std::string> services{"a1", "b1", "relay"};
  std::map<std::string, std::unique_ptr<http::Client>> open;
  for (const std::string& service : services) {
    open[service] = a.Client(service, "carol");
    auto r = open[service]->Get("/v1/alliance");
    REQUIRE(r.ok());
    CHECK(r->status == 200);
  }
  // Revoked at chainA's CA, whose CRL file no service reloads: the alliance has not heard of it.
  a.Revoke("carol", "chainA");
  CHECK(open["b1"]->Get("/v1/alliance")->status == 200);

  // b3 (revoked) never commits it: a short timeout for the wait after the commit.
  CommandResult published =
      AllianceCommand(a, "update-crl", {"admin-a", "admin-b"}, {"--crl", a.dir() + "/ca-chainA/crl.pem"}, 3);
  INFO(published.output);
  REQUIRE(published.exit_code == 0);
  CHECK(published.output.find("\"code_name\":\"VALID\"") != std::string::npos);
  for (const std::string& service : services) {
    CAPTURE(service);
    auto r = open[service]->Get("/v1/alliance");
    REQUIRE(r.ok());
    CHECK(r->status == 403);
    CHECK(r->body.find("revoked") != std::string::npos);
    auto fresh = a.Client(service, "carol")->Get("/v1/alliance");
    CHECK((!fresh.ok() || fresh->status == 403));
  }
  // The published CRL is in the alliance's configuration, for members that join later.
  auto listed = a.Client("b2", "admin-b")->Get("/v1/alliance");
  REQUIRE(listed.ok());
  CHECK(Must(ParseJson(listed->body))["members"][0]["crls"].size() == 1);

  // The same CRL again is not newer; chainB's admins cannot publish chainA's CRLs.
  CommandResult again =
      AllianceCommand(a, "update-crl", {"admin-a", "admin-b"}, {"--crl", a.dir() + "/ca-chainA/crl.pem"}, 3);
  CHECK(again.exit_code == 1);
  CHECK(again.output.find("is not newer than the one published") != std::string::npos);
  CommandResult foreign = AllianceCommand(a, "update-crl", {"admin-b", "admin-a"},
                                          {"--crl", a.dir() + "/ca-chainA/crl.pem", "--chain", "chainA"}, 3);
  CHECK(foreign.exit_code == 1);
  CHECK(foreign.output.find("only an admin of chain chainA publishes its CRLs") != std::string::npos);
}

TEST_CASE("A node that catches up after a CRL was published commits the revoked client's earlier transactions as the relay did") {
  RunningAlliance& a = SharedAlliance();
  a.Enroll("dan", "chainA", crypto::Role::kClient, "dan");
  // a2 hears nothing of what follows until it restarts.
  a.process("a2").Signal(SIGSTOP, /*wait=*/false);
  auto proposal = Must(endorser::MakeSignedProposal(a.SignerOf("dan", 0), "chainA", "data_exchange", "PublishRecord",
                                                    {"by-dan", "payload", "signed by dan"}));
  auto [status, endorsed] =
      a.Submit("a1", "dan", Json{{"signed_proposal", proposal.ToJson()}, {"endorsers", {"a1", "a3"}}});
  REQUIRE_MESSAGE(status == 200, endorsed.dump());
  Bytes payload = Must(Base64Decode(endorsed["envelope_payload"].get<std::string>()));
  auto envelope = Must(endorser::Envelope::FromJson(Must(ParseJson(ToString(payload)))));
  auto sealed = Must(endorser::SealEnvelope(a.SignerOf("dan", 0), envelope));
  auto submitted = a.Client("a1", "dan")->Post("/v1/envelopes", ToString(sealed));
  REQUIRE(submitted.ok());
  REQUIRE_MESSAGE(submitted->status == 200, submitted->body);
  Json committed = Must(ParseJson(submitted->body));
  REQUIRE_MESSAGE(committed["code_name"] == "VALID", committed.dump());
  const std::string tx_id = committed["tx_id"];

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a CRL newer than the one published
  a.Revoke("dan", "chainA");
  CommandResult published =
      AllianceCommand(a, "update-crl", {"admin-a", "admin-b"}, {"--crl", a.dir() + "/ca-chainA/crl.pem"}, 3);
  INFO(published.output);
  REQUIRE(published.exit_code == 0);
  std::uint64_t height = Must(ParseJson(a.Client("a1", "alice")->Get("/v1/channels/chainA")->body))["height"];

  // Its alliance channel reaches the CRL while it catches up chainA: dan's transaction was decided
  // before, with the membership its block names.
  a.Restart("a2", SIGKILL);
  for (const Json& answer : a.WaitForHeight("chainA", height)) {
    CAPTURE(answer.dump());
    CHECK(answer.value("height", std::uint64_t{0}) >= height);
  }
  auto at_a2 = a.Client("a2", "alice")->Get("/v1/transactions/" + tx_id);
  REQUIRE(at_a2.ok());
  CHECK_MESSAGE(at_a2->body.find("\"code_name\":\"VALID\"") != std::string::npos, at_a2->body);
  const std::string log = a.process("a2").Log();
  const auto halting = log.find("HALTING");
  CHECK_MESSAGE(halting == std::string::npos, log.substr(halting == std::string::npos ? 0 : halting, 600));
}

TEST_CASE("A CRL file past its nextUpdate stays in force and is reported in the log and at /metrics") {
  RunningAlliance& a = SharedAlliance();
  // chainB's CA's CRL listing b3 as before, issued now and due again in a second.
  std::string ca_dir = a.dir() + "/ca-chainB";
  auto ca = Must(crypto::Certificate::LoadFile(ca_dir + "/ca.pem"));
  auto key = Must(crypto::PrivateKey::FromPem(Must(ReadFile(ca_dir + "/ca-key.pem"))));
  auto b3 = Must(crypto::Certificate::LoadFile(a.IdentityDir("b3") + "/cert.pem"));
  auto now = crypto::Clock::now();
  WriteText(ca_dir + "/crl.pem", Must(crypto::MakeCrlPem(ca, key, {{b3.SerialHex(), now}}, now, now + std::chrono::seconds(1))));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  a.process("relay").Signal(SIGHUP, /*wait=*/false);
  auto relay = a.Client("relay", "admin-b");
  std::string stale;
  for (int i = 0; i < 200 && stale != "1"; ++i) {
    auto metrics = relay->Get("/metrics");
    REQUIRE(metrics.ok());
    auto at = metrics->body.find("\nentente_relay_crls_stale ");
    stale = at == std::string::npos ? "" : metrics->body.substr(at + 26, 1);
    if (stale != "1") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(stale == "1");
  CHECK(a.process("relay").Log().find("is past its nextUpdate; its revocations stay in force") != std::string::npos);
  // b3's revocation holds: the relay serves it no blocks.
  auto refused = a.Client("relay", "b3")->Get("/v1/channels/chainB");
  CHECK((!refused.ok() || refused->status == 403));
}

TEST_CASE("A member chain added by config transaction connects to the relay and every node at once, with no restart") {
  RunningAlliance& a = SharedAlliance();
  TempDir dir;
  auto ca = Must(certs::CertificateAuthority::Init(dir.Join("ca-chainC"), "chainC", false));
  auto carl = Must(ca.IssueEcert(crypto::Role::kClient, "carl", 1));
  MustOk(carl.Save(dir.Join("carl-cert.pem"), dir.Join("carl-key.pem")));
  // carl's GET /v1/alliance at `service`: the handshake refused, or the answer.
  auto ask = [&](const std::string& service) {
    http::ClientOptions options;
    options.port = a.port(service);
    options.tls = {dir.Join("carl-cert.pem"), dir.Join("carl-key.pem"),
                   {a.dir() + "/ca-chainA/ca.pem", a.dir() + "/ca-chainB/ca.pem"}};
    options.timeout = std::chrono::seconds(10);
    return http::Client(options).Get("/v1/alliance");
  };
  const std::vector<std::string> services{"relay", "a2", "b2"};
  for (const std::string& service : services) {
    auto before = ask(service);
    CHECK_MESSAGE((!before.ok() || before->status == 403), service);
  }

  Json member{{"name", "chainC"}, {"ca_certs", {ca.root().Pem()}}, {"admins", Json::array()}};
  CommandResult added =
      AllianceCommand(a, "propose", {"admin-a", "admin-b"}, {"--function", "AddMember", "--arg", member.dump()});
  INFO(added.output);
  REQUIRE(added.exit_code == 0);
  for (const std::string& service : services) {
    CAPTURE(service);
    int status = 0;
    for (int i = 0; i < 100 && status != 200; ++i) {
      auto after = ask(service);
      status = after.ok() ? after->status : 0;
      if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(status == 200);
  }
}

}  // namespace
}  // namespace entente::testing
