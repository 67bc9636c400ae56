// `entente relay --config relay.yaml`: runs the alliance's relay until SIGINT or SIGTERM.
#include <iostream>

#include "runtime/cli/commands.h"
#include "runtime/relay/relay.h"

namespace entente::cli {

void AddRelayCommands(CLI::App& app, int& exit_code) {
  auto config_path = std::make_shared<std::string>();
  CLI::App* relay = app.add_subcommand("relay", "Run the alliance relay (validating ordering service)");
  relay->add_option("--config", *config_path, "relay.yaml")->required()->check(CLI::ExistingFile);
  relay->callback([config_path, &exit_code] {
    auto config = relay::LoadRelayConfig(*config_path);
    if (!config.ok()) {
      std::cerr << "entente relay: " << config.status().message() << "\n";
      exit_code = 1;
      return;
    }
    Status s = relay::ServeRelay(*config, [](std::uint16_t port) {
      std::cout << "relay ready on port " << port << std::endl;
    });
    if (!s.ok()) {
      std::cerr << "entente relay: " << s.message() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace entente::cli
