// `entente`: one executable for every Entente service and tool (DESIGN.md §2).
#include <iostream>

#include "runtime/cli/commands.h"
#include "runtime/common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"Entente: a runtime for cross-chain alliances of Fabric-style blockchains", "entente"};
  app.require_subcommand(1);
  std::string log_levels = "info";
  app.add_option("--log-level", log_levels, "Log levels, e.g. info or warn,ledger=debug")->capture_default_str();
  app.set_version_flag("--version", "entente 0.1.0");
  app.parse_complete_callback([&] {
    entente::Status s = entente::SetLogLevels(log_levels);
    if (!s.ok()) throw CLI::ValidationError("--log-level", s.message());
  });

  int exit_code = 0;
  entente::cli::AddCaCommands(app, exit_code);
  entente::cli::AddLedgerCommands(app, exit_code);
  entente::cli::AddContractCommands(app, exit_code);
  entente::cli::AddAllianceCommands(app, exit_code);
  entente::cli::AddServiceCommands(app, exit_code);
  entente::cli::AddTxCommands(app, exit_code);
  entente::cli::AddBenchCommands(app, exit_code);
  entente::cli::AddApiCommands(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
