// `entente api openapi --service node|relay`: prints a service's OpenAPI document, as the service
// serves it at GET /v1/openapi.json, for linters and client generators.
#include <iostream>

#include "runtime/api/api.h"
#include "runtime/cli/commands.h"

namespace entente::cli {

void AddApiCommands(CLI::App& app, int& exit_code) {
  CLI::App* api = app.add_subcommand("api", "The REST API's documents");
  api->require_subcommand(1);
  auto service = std::make_shared<std::string>("node");
  CLI::App* openapi = api->add_subcommand("openapi", "Print a service's OpenAPI 3.1 document (JSON)");
  openapi->add_option("--service", *service, "node or relay")->check(CLI::IsMember({"node", "relay"}))->capture_default_str();
  openapi->callback([service, &exit_code] {
    std::cout << api::OpenApiDocument(*service == "relay" ? api::Service::kRelay : api::Service::kNode) << "\n";
    exit_code = 0;
  });
}

}  // namespace entente::cli
