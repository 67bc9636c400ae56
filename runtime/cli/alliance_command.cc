// `entente alliance genesis`: the genesis block of an alliance from its spec (DESIGN.md §2), as
// Fabric's configtxgen makes one.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "runtime/alliance/alliance.h"
#include "runtime/cli/commands.h"
#include "runtime/common/file.h"
#include "runtime/crypto/crypto.h"
#include "runtime/ledger/ledger.h"

namespace entente::cli {
namespace {

struct AllianceOptions {
  std::string spec;
  std::string out;
};

int Genesis(const AllianceOptions& o) {
  auto config = alliance::LoadSpec(o.spec);
  if (!config.ok()) {
    std::cerr << "entente alliance genesis: " << config.status().message() << "\n";
    return 1;
  }
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto block = alliance::MakeGenesisBlock(*config, now);
  if (!block.ok()) {
    std::cerr << "entente alliance genesis: " << block.status().message() << "\n";
    return 1;
  }
  // Run the alliance contract's Init on a scratch ledger: a spec it refuses never becomes a genesis.
  std::string scratch = o.out + ".check";
  {
    auto ledger = ledger::Ledger::Open(scratch);
    Status s = ledger.ok() ? alliance::CommitGenesis(**ledger, *block) : ledger.status();
    if (!s.ok()) {
      std::filesystem::remove_all(scratch);
      std::cerr << "entente alliance genesis: " << s.message() << "\n";
      return 1;
    }
  }
  std::filesystem::remove_all(scratch);
  Status written = WriteFileAtomic(o.out, block->ToJson().dump(2) + "\n", 0644);
  if (!written.ok()) {
    std::cerr << "entente alliance genesis: " << written.message() << "\n";
    return 1;
  }
  std::cout << "genesis " << o.out << ": " << config->members.size() << " chains, " << config->nodes.size()
            << " nodes, " << config->routes.size() << " routes, " << config->contracts.size()
            << " contracts; block hash " << HexEncode(block->header.ComputeHash()) << "\n";
  return 0;
}

}  // namespace

void AddAllianceCommands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<AllianceOptions>();
  CLI::App* alliance = app.add_subcommand("alliance", "The alliance's configuration");
  alliance->require_subcommand(1);
  CLI::App* genesis = alliance->add_subcommand("genesis", "Make the genesis block of an alliance from its spec");
  genesis->add_option("--spec", options->spec, "alliance.yaml")->required()->check(CLI::ExistingFile);
  genesis->add_option("--out", options->out, "genesis.json to write")->required();
  genesis->callback([options, &exit_code] { exit_code = Genesis(*options); });
}

}  // namespace entente::cli
