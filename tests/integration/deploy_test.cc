// README command 1 end to end: deploy/quickstart.sh brings the demo alliance up and runs the
// cross-chain exchange; deploy/alliance.sh reports it and takes it down, leaving no process behind.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

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

TEST_CASE("quickstart.sh runs a cross-chain exchange on a running alliance that alliance.sh takes down") {
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
