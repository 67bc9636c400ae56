// The `entente` command line: each Add*Commands function registers one group of subcommands on the
// root CLI11 app. A subcommand's callback stores its process exit code in `exit_code`: 0 on
// success, 1 when the operation failed (the reason is printed on stderr).
#pragma once

#include <CLI/CLI.hpp>

namespace entente::cli {

// `entente ca init|issue|issue-tcerts|revoke|crl|verify`.
void AddCaCommands(CLI::App& app, int& exit_code);
// `entente ledger verify|dump`.
void AddLedgerCommands(CLI::App& app, int& exit_code);
// `entente contract package|inspect|check`.
void AddContractCommands(CLI::App& app, int& exit_code);
// `entente alliance genesis|plan`.
void AddAllianceCommands(CLI::App& app, int& exit_code);
// `entente alliance propose|define-contract`, under the `alliance` command.
void AddAlliancePropose(CLI::App* alliance, int& exit_code);
// `entente relay --config FILE` and `entente node --config FILE`.
void AddServiceCommands(CLI::App& app, int& exit_code);
// `entente tx submit|query|status`.
void AddTxCommands(CLI::App& app, int& exit_code);
// `entente bench ledger|relay`.
void AddBenchCommands(CLI::App& app, int& exit_code);
// `entente api openapi --service node|relay`.
void AddApiCommands(CLI::App& app, int& exit_code);
// `entente bench e2e`, under the `bench` command.
void AddBenchE2e(CLI::App* bench, int& exit_code);

}  // namespace entente::cli
