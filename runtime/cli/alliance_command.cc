// `entente alliance genesis`: the genesis block of an alliance from its spec (DESIGN.md §2), as
// Fabric's configtxgen makes one.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "runtime/alliance/alliance.h"
#include "runtime/common/address.h"
#include "runtime/cli/commands.h"
#include "runtime/common/config.h"
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

// "https://host:port" or "host:port" -> "host port"; "" when it is neither.
std::string HostPort(const std::string& endpoint) {
  std::optional<Address> address = ParseAddress(endpoint);
  return address ? address->host + " " + std::to_string(address->port) : "";
}

// Prints what a deploy tool needs from a spec, one item per line, before any certificate exists:
//   chain NAME CA_FILE / admin CHAIN ID / node ID CHAIN HOST PORT ECERT_FILE, then either
//   relay HOST PORT (one relay), or for replicated relays replica ID CHAIN HOST PORT CERT_FILE per relay,
//   ordering PREFIX, and etcd NAME CLIENT_PORT PEER_PORT DATA_DIR per etcd member the spec runs here.
Status PrintPlan(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode chains, root.Child("chains"));
  ENTENTE_ASSIGN_OR_RETURN(auto chain_list, chains.Elements());
  for (const ConfigNode& c : chain_list) {
    ENTENTE_ASSIGN_OR_RETURN(std::string name, c.GetString("name"));
    ENTENTE_ASSIGN_OR_RETURN(auto cas, c.GetStringList("ca"));
    if (cas.empty()) return c.Error("a chain needs a CA certificate file");
    std::cout << "chain " << name << " " << ResolvePath(path, cas.front()) << "\n";
    if (c.Has("admins")) {
      ENTENTE_ASSIGN_OR_RETURN(ConfigNode admins, c.Child("admins"));
      ENTENTE_ASSIGN_OR_RETURN(auto admin_list, admins.Elements());
      for (const ConfigNode& a : admin_list) {
        ENTENTE_ASSIGN_OR_RETURN(std::string id, a.GetString("id"));
        std::cout << "admin " << name << " " << id << "\n";
      }
    }
  }
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode nodes, root.Child("nodes"));
  ENTENTE_ASSIGN_OR_RETURN(auto node_list, nodes.Elements());
  for (const ConfigNode& n : node_list) {
    ENTENTE_ASSIGN_OR_RETURN(std::string id, n.GetString("id"));
    ENTENTE_ASSIGN_OR_RETURN(std::string chain, n.GetString("chain"));
    ENTENTE_ASSIGN_OR_RETURN(std::string endpoint, n.GetString("endpoint"));
    ENTENTE_ASSIGN_OR_RETURN(std::string ecert, n.GetString("ecert"));
    std::string host_port = HostPort(endpoint);
    if (host_port.empty()) return n.Error("endpoint must be https://host:port, got '" + endpoint + "'");
    std::cout << "node " << id << " " << chain << " " << host_port << " " << ResolvePath(path, ecert) << "\n";
  }
  if (!root.Has("relays")) {
    ENTENTE_ASSIGN_OR_RETURN(std::string relay, root.GetString("relay", "https://127.0.0.1:7050"));
    std::string host_port = HostPort(relay);
    if (host_port.empty()) return root.Error("relay must be https://host:port, got '" + relay + "'");
    std::cout << "relay " << host_port << "\n";
    return Status::Ok();
  }
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode relays, root.Child("relays"));
  ENTENTE_ASSIGN_OR_RETURN(auto relay_list, relays.Elements());
  for (const ConfigNode& r : relay_list) {
    ENTENTE_ASSIGN_OR_RETURN(std::string id, r.GetString("id"));
    ENTENTE_ASSIGN_OR_RETURN(std::string chain, r.GetString("chain"));
    ENTENTE_ASSIGN_OR_RETURN(std::string endpoint, r.GetString("endpoint"));
    ENTENTE_ASSIGN_OR_RETURN(std::string cert, r.GetString("cert"));
    std::string host_port = HostPort(endpoint);
    if (host_port.empty()) return r.Error("endpoint must be https://host:port, got '" + endpoint + "'");
    std::cout << "replica " << id << " " << chain << " " << host_port << " " << ResolvePath(path, cert) << "\n";
  }
  if (!root.Has("ordering")) return root.Error("relays: needs ordering: {etcd: {prefix, members}}");
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode ordering, root.Child("ordering"));
  ENTENTE_RETURN_IF_ERROR(ordering.CheckKeys({"etcd"}));
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode etcd, ordering.Child("etcd"));
  ENTENTE_RETURN_IF_ERROR(etcd.CheckKeys({"prefix", "members"}));
  ENTENTE_ASSIGN_OR_RETURN(std::string prefix, etcd.GetString("prefix", "/entente"));
  if (prefix.empty() || prefix[0] != '/' || prefix.find(' ') != std::string::npos) {
    return etcd.Error("prefix must start with '/' and hold no spaces");
  }
  std::cout << "ordering " << prefix << "\n";
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode members, etcd.Child("members"));
  ENTENTE_ASSIGN_OR_RETURN(auto member_list, members.Elements());
  if (member_list.empty()) return members.Error("an etcd cluster needs at least one member");
  for (const ConfigNode& m : member_list) {
    ENTENTE_RETURN_IF_ERROR(m.CheckKeys({"name", "client_port", "peer_port", "data"}));
    ENTENTE_ASSIGN_OR_RETURN(std::string name, m.GetString("name"));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t client_port, m.GetInt("client_port"));
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t peer_port, m.GetInt("peer_port"));
    ENTENTE_ASSIGN_OR_RETURN(std::string data, m.GetString("data", "data/etcd/" + name));
    if (client_port < 1 || client_port > 65535 || peer_port < 1 || peer_port > 65535) {
      return m.Error("client_port and peer_port must be 1-65535");
    }
    if (name.empty() || name.find_first_of(" /") != std::string::npos) return m.Error("name must hold no spaces or '/'");
    std::cout << "etcd " << name << " " << client_port << " " << peer_port << " " << ResolvePath(path, data) << "\n";
  }
  return Status::Ok();
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
  CLI::App* plan = alliance->add_subcommand("plan", "Print a spec's chains, admins, nodes and relay, one per line");
  plan->add_option("--spec", options->spec, "alliance.yaml")->required()->check(CLI::ExistingFile);
  plan->callback([options, &exit_code] {
    Status s = PrintPlan(options->spec);
    if (!s.ok()) {
      std::cerr << "entente alliance plan: " << s.message() << "\n";
      exit_code = 1;
    }
  });
  AddAlliancePropose(alliance, exit_code);
}

}  // namespace entente::cli
