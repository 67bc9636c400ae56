// `entente ledger verify|dump`: an operator's checks on a ledger directory (DESIGN.md §5).
#include <iostream>

#include "runtime/cli/commands.h"
#include "runtime/ledger/ledger.h"

namespace entente::cli {
namespace {

struct LedgerOptions {
  std::string data;
  std::string channel;
  std::uint64_t block = 0;
};

int Verify(const LedgerOptions& o) {
  auto ledger = ledger::Ledger::Open(o.data, ledger::Ledger::OpenMode::kExisting);
  if (!ledger.ok()) {
    std::cerr << "entente ledger verify: " << ledger.status().message() << "\n";
    return 1;
  }
  int rc = 0;
  std::vector<std::string> channels = (*ledger)->Channels();
  if (channels.empty()) std::cout << "no channels in " << o.data << "\n";
  for (const std::string& channel : channels) {
    Status s = (*ledger)->VerifyChain(channel);
    ledger::Savepoint sp = (*ledger)->GetSavepoint(channel);
    if (!s.ok()) {
      std::cerr << "channel " << channel << ": DAMAGED: " << s.message() << "\n";
      rc = 1;
      continue;
    }
    std::cout << "channel " << channel << ": height " << sp.height << ", last block hash " << HexEncode(sp.last_hash)
              << "\n";
  }
  return rc;
}

int Dump(const LedgerOptions& o) {
  auto ledger = ledger::Ledger::Open(o.data, ledger::Ledger::OpenMode::kExisting);
  if (!ledger.ok()) {
    std::cerr << "entente ledger dump: " << ledger.status().message() << "\n";
    return 1;
  }
  auto block = (*ledger)->GetBlock(o.channel, o.block);
  if (!block.ok()) {
    std::cerr << "entente ledger dump: " << block.status().message() << "\n";
    return 1;
  }
  std::cout << block->ToJson().dump(2) << "\n";
  return 0;
}

}  // namespace

void AddLedgerCommands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<LedgerOptions>();
  CLI::App* ledger = app.add_subcommand("ledger", "Inspect a ledger directory");
  ledger->require_subcommand(1);

  CLI::App* verify = ledger->add_subcommand("verify", "Walk every channel's hash chain; non-zero exit on damage");
  verify->add_option("--data", options->data, "Ledger directory")->required()->check(CLI::ExistingDirectory);
  verify->callback([options, &exit_code] { exit_code = Verify(*options); });

  CLI::App* dump = ledger->add_subcommand("dump", "Print a block as JSON");
  dump->add_option("--data", options->data, "Ledger directory")->required()->check(CLI::ExistingDirectory);
  dump->add_option("--channel", options->channel, "Channel")->required();
  dump->add_option("--block", options->block, "Block number")->required();
  dump->callback([options, &exit_code] { exit_code = Dump(*options); });
}

}  // namespace entente::cli
