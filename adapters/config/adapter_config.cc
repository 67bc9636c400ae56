#include "adapters/config/adapter_config.h"

#include <map>

#include "adapters/ethereum/ethereum_adapter.h"
#include "adapters/rest/rest_adapter.h"
#include "runtime/common/file.h"

namespace entente::adapters {
namespace {

Result<std::shared_ptr<ChainAdapter>> EthereumFrom(const ConfigNode& n, const std::string& path,
                                                             std::string chain) {
  ENTENTE_RETURN_IF_ERROR(
      n.CheckKeys({"chain", "type", "endpoint", "bridge", "from", "key_file", "gas", "cert", "key", "ca"}));
  EthereumAdapterOptions o;
  o.chain = std::move(chain);
  ENTENTE_ASSIGN_OR_RETURN(o.endpoint, n.GetString("endpoint"));
  ENTENTE_ASSIGN_OR_RETURN(o.bridge_address, n.GetString("bridge"));
  ENTENTE_ASSIGN_OR_RETURN(o.from, n.GetString("from", ""));
  ENTENTE_ASSIGN_OR_RETURN(std::string key_file, n.GetString("key_file", ""));
  if (!key_file.empty()) o.private_key_file = ResolvePath(path, key_file);
  ENTENTE_ASSIGN_OR_RETURN(std::string cert, n.GetString("cert", ""));
  ENTENTE_ASSIGN_OR_RETURN(std::string key, n.GetString("key", ""));
  if (!cert.empty()) o.cert_file = ResolvePath(path, cert);
  if (!key.empty()) o.key_file = ResolvePath(path, key);
  if (n.Has("ca")) {
    ENTENTE_ASSIGN_OR_RETURN(auto cas, n.GetStringList("ca"));
    for (const std::string& ca : cas) o.ca_files.push_back(ResolvePath(path, ca));
  }
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t gas, n.GetInt("gas", static_cast<std::int64_t>(o.gas)));
  if (gas <= 0) return n.Error("gas must be positive");
  o.gas = static_cast<std::uint64_t>(gas);
  auto adapter = EthereumAdapter::Create(std::move(o));
  if (!adapter.ok()) return n.Error(adapter.status().message());
  return std::shared_ptr<ChainAdapter>(std::move(adapter).value());
}

Result<std::shared_ptr<ChainAdapter>> RestFrom(const ConfigNode& n, const std::string& path,
                                                         std::string chain) {
  ENTENTE_RETURN_IF_ERROR(n.CheckKeys({"chain", "type", "endpoint", "mapping", "cert", "key", "ca"}));
  RestAdapterOptions o;
  o.chain = std::move(chain);
  ENTENTE_ASSIGN_OR_RETURN(o.endpoint, n.GetString("endpoint"));
  ENTENTE_ASSIGN_OR_RETURN(std::string mapping, n.GetString("mapping"));
  o.mapping_file = ResolvePath(path, mapping);
  ENTENTE_ASSIGN_OR_RETURN(std::string cert, n.GetString("cert", ""));
  ENTENTE_ASSIGN_OR_RETURN(std::string key, n.GetString("key", ""));
  if (!cert.empty()) o.cert_file = ResolvePath(path, cert);
  if (!key.empty()) o.key_file = ResolvePath(path, key);
  ENTENTE_ASSIGN_OR_RETURN(auto cas, n.GetStringList("ca"));
  for (const std::string& ca : cas) o.ca_files.push_back(ResolvePath(path, ca));
  auto adapter = RestAdapter::Create(std::move(o));
  if (!adapter.ok()) return n.Error(adapter.status().message());
  return std::shared_ptr<ChainAdapter>(std::move(adapter).value());
}

}  // namespace

Result<std::vector<std::shared_ptr<ChainAdapter>>> LoadAdapters(const ConfigNode& list,
                                                                          const std::string& path) {
  std::vector<std::shared_ptr<ChainAdapter>> out;
  std::map<std::string, bool> seen;
  ENTENTE_ASSIGN_OR_RETURN(auto entries, list.Elements());
  for (const ConfigNode& n : entries) {
    ENTENTE_ASSIGN_OR_RETURN(std::string chain, n.GetString("chain"));
    ENTENTE_ASSIGN_OR_RETURN(std::string type, n.GetString("type"));
    if (seen[chain]) return n.Error("a second adapter for chain " + chain);
    seen[chain] = true;
    Result<std::shared_ptr<ChainAdapter>> adapter =
        type == "ethereum" ? EthereumFrom(n, path, chain)
        : type == "rest"   ? RestFrom(n, path, chain)
                           : Result<std::shared_ptr<ChainAdapter>>(
                               n.Error("type must be \"ethereum\" or \"rest\", not \"" + type + "\""));
    if (!adapter.ok()) return adapter.status();
    out.push_back(std::move(adapter).value());
  }
  return out;
}

}  // namespace entente::adapters
