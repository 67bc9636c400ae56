// `entente contract package|inspect`: contract packages on the command line (DESIGN.md §6).
#include <iostream>

#include "runtime/cli/commands.h"
#include "runtime/shim/package/package.h"

namespace entente::cli {
namespace {

struct ContractOptions {
  std::string library;
  std::string name;
  std::string version;
  std::string policy = "Weighted(0.5)";
  std::string out;
  std::string package;
  std::string install_dir;
};

int Package(const ContractOptions& o) {
  package::PackageMetadata metadata;
  metadata.name = o.name;
  metadata.version = o.version;
  metadata.policy = o.policy;
  auto written = package::CreatePackage(o.library, metadata, o.out);
  if (!written.ok()) {
    std::cerr << "entente contract package: " << written.status().message() << "\n";
    return 1;
  }
  std::cout << "package " << o.out << "\n" << written->ToJson().dump(2) << "\n";
  return 0;
}

int Inspect(const ContractOptions& o) {
  auto metadata = package::ReadPackageMetadata(o.package);
  if (!metadata.ok()) {
    std::cerr << "entente contract inspect: " << o.package << ": " << metadata.status().message() << "\n";
    return 1;
  }
  std::cout << metadata->ToJson().dump(2) << "\n";
  return 0;
}

// Installs into a directory and loads the library, as a node would: the full check of a package.
int Check(const ContractOptions& o) {
  auto installed = package::InstallPackage(o.package, o.install_dir);
  if (!installed.ok()) {
    std::cerr << "entente contract check: " << o.package << ": " << installed.status().message() << "\n";
    return 1;
  }
  auto loaded = package::LoadedChaincode::Load(*installed);
  if (!loaded.ok()) {
    std::cerr << "entente contract check: " << loaded.status().message() << "\n";
    return 1;
  }
  std::cout << "OK: " << installed->metadata.name << " " << installed->metadata.version << " loads from "
            << installed->library_path << "\n"
            << (*loaded)->chaincode().Metadata().dump(2) << "\n";
  return 0;
}

}  // namespace

void AddContractCommands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ContractOptions>();
  CLI::App* contract = app.add_subcommand("contract", "Contract packages");
  contract->require_subcommand(1);

  CLI::App* package = contract->add_subcommand("package", "Package a contract library as a .tar.gz");
  package->add_option("--so", options->library, "The contract's shared library")->required()->check(CLI::ExistingFile);
  package->add_option("--name", options->name, "Contract name")->required();
  package->add_option("--version", options->version, "Contract version")->required();
  package->add_option("--policy", options->policy, "Endorsement policy")->capture_default_str();
  package->add_option("--out", options->out, "Package file to write")->required();
  package->callback([options, &exit_code] { exit_code = Package(*options); });

  CLI::App* inspect = contract->add_subcommand("inspect", "Print a package's metadata.json");
  inspect->add_option("package", options->package, "Package file")->required();
  inspect->callback([options, &exit_code] { exit_code = Inspect(*options); });

  CLI::App* check = contract->add_subcommand("check", "Install a package into a directory and load it");
  check->add_option("package", options->package, "Package file")->required();
  check->add_option("--dir", options->install_dir, "Install directory")->required();
  check->callback([options, &exit_code] { exit_code = Check(*options); });
}

}  // namespace entente::cli
