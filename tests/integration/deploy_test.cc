// README command 1 end to end: deploy/quickstart.sh brings the demo alliance up and runs the
// cross-chain exchange; deploy/alliance.sh reports it and takes it down, leaving no process behind.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "runtime/common/json.h"
#include "runtime/http/http.h"
#include "tests/support/support.h"

namespace entente::testing {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("ENTENTE_SOURCE_DIR");
  REQUIRE(dir != nullptr);
  return dir;
}

// The build directory of the entente binary under test (BUILD/runtime/cli/entente).
std::string BuildDir() {
  return std::filesystem::path(EntenteBinary()).parent_path().parent_path().parent_path().string();
}

// Processes whose command line names `text`.
std::string ProcessesNaming(const std::string& text) {
  return RunCommand({"pgrep", "-af", text}).output;
}

TEST_CASE("quickstart.sh establishes the alliance, runs a cross-chain exchange, and alliance.sh takes it down") {
  TempDir dir;
  std::string state = dir.Join("demo");
  std::string spec = state + "/alliance.yaml";
  CommandResult quickstart = RunCommand({"env", "ENTENTE_STATE=" + state, "ENTENTE_BUILD_DIR=" + BuildDir(), "bash",
                                         SourceDir() + "/deploy/quickstart.sh"});
  INFO(quickstart.output);
  CHECK(quickstart.exit_code == 0);
  CHECK(quickstart.output.find("\"code_name\":\"VALID\"") != std::string::npos);
  CHECK(quickstart.output.find("\"sourceChannel\":\"chainA\"") != std::string::npos);
  CHECK(quickstart.output.find("42 pallets of coffee") != std::string::npos);
  CHECK(quickstart.output.find("Try next:") != std::string::npos);

  // Paper Fig. 1: the alliance stands on its spec: a CA per chain, an ECert and TCerts per node, the
  // contracts deployed and running on every node of their chains.
  std::string crypto = state + "/crypto";
  for (const std::string& chain : {std::string("chainA"), std::string("chainB")}) {
    for (int n = 1; n <= 2; ++n) {
      std::string node = crypto + "/" + chain + "/nodes/node" + std::to_string(n);
      CommandResult verified = RunEntente({"ca", "verify", "--trust", crypto + "/" + chain + "/ca/ca.pem", node + "/cert.pem"});
      CHECK_MESSAGE(verified.exit_code == 0, verified.output);
      CHECK(verified.output.find("OU=node") != std::string::npos);
      for (int t = 0; t < 10; ++t) CHECK(std::filesystem::exists(node + "/tcerts/tcert-" + std::to_string(t) + ".pem"));
      CommandResult tcert = RunEntente({"ca", "verify", "--trust", crypto + "/" + chain + "/ca/ca.pem", "--ecert",
                                        node + "/cert.pem", node + "/tcerts/tcert-0.pem"});
      CHECK_MESSAGE(tcert.exit_code == 0, tcert.output);
      http::ClientOptions options;
      options.port = static_cast<std::uint16_t>((chain == "chainA" ? 7050 : 7060) + n);
      options.tls = {node + "/cert.pem", node + "/key.pem", {crypto + "/alliance-cas.pem"}};
      http::Client client(options);
      auto contracts = client.Get("/v1/contracts");
      REQUIRE(contracts.ok());
      auto listed = ParseJson(contracts->body);
      REQUIRE(listed.ok());
      std::set<std::string> active;
      for (const Json& c : (*listed)["contracts"]) {
        if (c["active"] == true) active.insert(c["name"].get<std::string>());
      }
      CHECK(active.count("data_exchange") == 1);
      if (chain == "chainA") CHECK(active.count("asset_transfer") == 1);
    }
  }

  CommandResult status = RunCommand({"bash", SourceDir() + "/deploy/alliance.sh", "status", spec});
  INFO(status.output);
  CHECK(status.exit_code == 0);
  CHECK(status.output.find("chainB-node2 running") != std::string::npos);
  CHECK(ProcessesNaming(state).find("entente") != std::string::npos);

  CommandResult down = RunCommand({"bash", SourceDir() + "/deploy/alliance.sh", "down", spec});
  INFO(down.output);
  CHECK(down.exit_code == 0);
  CHECK(ProcessesNaming(state).find("entente") == std::string::npos);
  CommandResult after = RunCommand({"bash", SourceDir() + "/deploy/alliance.sh", "status", spec});
  CHECK(after.exit_code == 3);
  CHECK(after.output.find("relay stopped") != std::string::npos);
}

}  // namespace
}  // namespace entente::testing
