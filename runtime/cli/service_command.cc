// `entente relay --config relay.yaml` and `entente node --config node.yaml`: the long-running services,
// until SIGINT or SIGTERM. Each prints "<name> ready on port N" once it listens.
#include <iostream>

#include "runtime/cli/commands.h"
#include "runtime/node/node.h"
#include "runtime/relay/relay.h"

namespace entente::cli {
namespace {

// Registers `name` --config FILE, which loads the file with `load` and serves it with `serve`.
template <typename Load, typename Serve>
void AddService(CLI::App& app, int& exit_code, const std::string& name, const std::string& description, Load load,
                Serve serve) {
  auto config_path = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand(name, description);
  command->add_option("--config", *config_path, name + ".yaml")->required()->check(CLI::ExistingFile);
  command->callback([config_path, &exit_code, name, load, serve] {
    auto config = load(*config_path);
    if (!config.ok()) {
      std::cerr << "entente " << name << ": " << config.status().message() << "\n";
      exit_code = 1;
      return;
    }
    Status s = serve(*config, [name](std::uint16_t port) { std::cout << name << " ready on port " << port << std::endl; });
    if (!s.ok()) {
      std::cerr << "entente " << name << ": " << s.message() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace

void AddServiceCommands(CLI::App& app, int& exit_code) {
  AddService(app, exit_code, "relay", "Run the alliance relay (validating ordering service)", relay::LoadRelayConfig,
             relay::ServeRelay);
  AddService(app, exit_code, "node", "Run a member-chain node (endorser, committer, REST API)", node::LoadNodeConfig,
             node::ServeNode);
}

}  // namespace entente::cli
