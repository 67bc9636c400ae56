// Config transactions of the alliance contract (DESIGN.md §2), proposed and endorsed by the alliance's
// admins themselves with `entente alliance propose|define-contract` under the policy Admins(0.5).
#include <doctest/doctest.h>

#include "runtime/common/file.h"
#include "tests/integration/alliance_fixture.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

// `entente alliance <command>` against node a1, endorsed by `admins` ("admin-a", "admin-b").
CommandResult AllianceCommand(const RunningAlliance& a, const std::string& command,
                              const std::vector<std::string>& admins, std::vector<std::string> args) {
  std::vector<std::string> line{"alliance", command, "--node", "127.0.0.1:" + std::to_string(a.port("a1")),
                                "--cacert", a.dir() + "/ca-chainA/ca.pem", "--cacert", a.dir() + "/ca-chainB/ca.pem",
                                "--timeout", "10"};
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

}  // namespace
}  // namespace entente::testing
