// README command 1 end to end: deploy/quickstart.sh brings the demo alliance up and runs the
// cross-chain exchange; deploy/alliance.sh reports it and takes it down, leaving no process behind.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <set>

#include "runtime/common/file.h"
#include "runtime/common/json.h"
#include "runtime/http/http.h"
#include "tests/support/must.h"
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

// True if nothing listens on 127.0.0.1:`port` and it can be bound now.
bool CanBind(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

// A base port for quickstart.sh whose ports (base, +1, +2, +11, +12) are all free now: below Linux's
// ephemeral range, so that no outgoing connection takes one of them, and away from the demo's 7050.
std::uint16_t FreeBasePort() {
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto base = static_cast<std::uint16_t>(20000 + (::getpid() * 37 + attempt * 101) % 10000);
    bool all = true;
    for (int offset : {0, 1, 2, 11, 12}) all = all && CanBind(static_cast<std::uint16_t>(base + offset));
    if (all) return base;
  }
  FAIL("no free block of ports for the demo alliance");
  return 0;
}

// Processes whose command line names `text`.
std::string ProcessesNaming(const std::string& text) {
  return RunCommand({"pgrep", "-af", text}).output;
}

TEST_CASE("quickstart.sh establishes the alliance, runs a cross-chain exchange, and alliance.sh takes it down") {
  TempDir dir;
  std::string state = dir.Join("demo");
  std::string spec = state + "/alliance.yaml";
  // Its own ports: the suite passes while the demo (on 7050) runs.
  const std::uint16_t base = FreeBasePort();
  CommandResult quickstart =
      RunCommand({"env", "ENTENTE_STATE=" + state, "ENTENTE_BUILD_DIR=" + BuildDir(),
                  "ENTENTE_BASE_PORT=" + std::to_string(base), "bash", SourceDir() + "/deploy/quickstart.sh"});
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
      options.port = static_cast<std::uint16_t>(base + (chain == "chainA" ? 0 : 10) + n);
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
  // The same as JSON, with every channel's height as each process answers it.
  CommandResult listed = RunCommand({"bash", SourceDir() + "/deploy/alliance.sh", "status", spec, "--json"});
  INFO(listed.output);
  REQUIRE(listed.exit_code == 0);
  Json processes = Must(ParseJson(listed.output));
  REQUIRE(processes.is_array());
  CHECK(processes.size() == 5);
  for (const Json& p : processes) {
    CAPTURE(p.dump());
    CHECK(p["up"] == true);
    CHECK(p["pid"].is_number_integer());
    CHECK(p["port"].is_number_integer());
    CHECK(p["kind"] == (p["name"] == "relay" ? "relay" : "node"));
    CHECK(p["heights"]["alliance"].get<int>() >= 1);
    CHECK(p["heights"]["chainA"].get<int>() >= 1);
  }

  CommandResult down = RunCommand({"bash", SourceDir() + "/deploy/alliance.sh", "down", spec});
  INFO(down.output);
  CHECK(down.exit_code == 0);
  CHECK(ProcessesNaming(state).find("entente") == std::string::npos);
  CommandResult after = RunCommand({"bash", SourceDir() + "/deploy/alliance.sh", "status", spec});
  CHECK(after.exit_code == 3);
  CHECK(after.output.find("relay stopped") != std::string::npos);
  CommandResult stopped = RunCommand({"bash", SourceDir() + "/deploy/alliance.sh", "status", spec, "--json"});
  INFO(stopped.output);
  Json none_up = Must(ParseJson(stopped.output));
  REQUIRE(none_up.is_array());
  for (const Json& p : none_up) CHECK(p["up"] == false);
}

// A base for the HA example's ports (its 17xxx ports become base + xxx) whose every port is free now.
std::uint16_t FreeHaBase() {
  const int offsets[] = {51, 52, 53, 151, 152, 161, 162, 379, 380, 381, 382, 383, 384};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto base = static_cast<std::uint16_t>(20000 + (::getpid() * 53 + attempt * 211) % 9000);
    bool all = true;
    for (int offset : offsets) all = all && CanBind(static_cast<std::uint16_t>(base + offset));
    if (all) return base;
  }
  FAIL("no free block of ports for the HA example");
  return 0;
}

TEST_CASE("The HA example, copied elsewhere: alliance.sh runs its etcd members, three relays and four nodes, deploys a contract, and takes it all down") {
  TempDir dir;
  const std::string spec = dir.Join("ha/ha-alliance.yaml");
  std::filesystem::create_directories(dir.Join("ha"));
  // The example on this run's own ports: every "17xxx" becomes base + xxx.
  const std::uint16_t base = FreeHaBase();
  std::string text = Must(ReadFile(SourceDir() + "/deploy/examples/ha-alliance.yaml"));
  std::string moved;
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "17") == 0 && i + 5 <= text.size() && std::isdigit(static_cast<unsigned char>(text[i + 4])) &&
        (i == 0 || !std::isdigit(static_cast<unsigned char>(text[i - 1]))) &&
        (i + 5 == text.size() || !std::isdigit(static_cast<unsigned char>(text[i + 5])))) {
      moved += std::to_string(base + std::stoi(text.substr(i + 2, 3)));
      i += 5;
    } else {
      moved += text[i++];
    }
  }
  WriteText(spec, moved);
  const std::string script = SourceDir() + "/deploy/alliance.sh";
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> line{"env", "ENTENTE_BIN=" + EntenteBinary(), "bash", script};
    line.insert(line.end(), args.begin(), args.end());
    return RunCommand(line);
  };
  CommandResult up = run({"up", spec});
  INFO(up.output);
  REQUIRE(up.exit_code == 0);

  // A contract deployed through the alliance channel, then a transaction that every chainA node commits.
  const std::string package = dir.Join("asset_transfer.tar.gz");
  REQUIRE(RunEntente({"contract", "package", "--so", BuildDir() + "/chaincode/libasset_transfer.so", "--name",
                      "asset_transfer", "--version", "1.0", "--policy", "Weighted(0.5)", "--out", package})
              .exit_code == 0);
  CommandResult deployed = run({"deploy-contract", spec, package, "chainA"});
  INFO(deployed.output);
  REQUIRE(deployed.exit_code == 0);
  CHECK(deployed.output.find("\"code_name\":\"VALID\"") != std::string::npos);
  const std::string crypto = dir.Join("ha/crypto");
  http::ClientOptions options;
  options.port = static_cast<std::uint16_t>(base + 151);
  options.tls = {crypto + "/chainA/clients/client1/cert.pem", crypto + "/chainA/clients/client1/key.pem",
                 {crypto + "/alliance-cas.pem"}};
  http::Client client(options);
  auto created = client.Post("/v1/transactions", Json{{"contract", "asset_transfer"}, {"function", "CreateAsset"},
                                                      {"args", {"ha-1", "blue", "5", "ha", "10"}}}.dump());
  REQUIRE(created.ok());
  INFO(created->body);
  CHECK(created->status == 200);
  CHECK(created->body.find("\"code_name\":\"VALID\"") != std::string::npos);

  CommandResult listed = run({"status", spec, "--json"});
  INFO(listed.output);
  REQUIRE(listed.exit_code == 0);
  Json processes = Must(ParseJson(listed.output));
  REQUIRE(processes.is_array());
  std::map<std::string, int> kinds;
  for (const Json& p : processes) {
    CAPTURE(p.dump());
    ++kinds[p["kind"].get<std::string>()];
    CHECK(p["up"] == true);
    CHECK(p["pid"].is_number_integer());
    CHECK(p["port"].is_number_integer());
    if (p["kind"] != "etcd") CHECK(p["heights"]["alliance"].get<int>() >= 2);
    if (p["kind"] == "relay") CHECK(p["heights"]["chainA"].get<int>() >= 1);
  }
  CHECK(kinds == std::map<std::string, int>{{"etcd", 3}, {"relay", 3}, {"node", 4}});

  CommandResult down = run({"down", spec});
  INFO(down.output);
  CHECK(down.exit_code == 0);
  const std::string left = ProcessesNaming(dir.Join("ha"));
  CHECK_MESSAGE(left.find("--data-dir") == std::string::npos, left);  // no etcd member
  CHECK_MESSAGE(left.find("--config") == std::string::npos, left);    // no relay, no node
  Json stopped = Must(ParseJson(run({"status", spec, "--json"}).output));
  for (const Json& p : stopped) CHECK(p["up"] == false);
}

}  // namespace
}  // namespace entente::testing
