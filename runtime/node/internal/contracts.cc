#include "runtime/node/internal/contracts.h"

#include <filesystem>

#include "runtime/alliance/alliance.h"
#include "runtime/common/file.h"

namespace entente::node::internal {

Status Contracts::LoadInstalled() {
  std::error_code ec;
  if (!std::filesystem::exists(install_dir_, ec)) return MakeDirectories(install_dir_, 0700);
  for (const auto& entry : std::filesystem::directory_iterator(install_dir_, ec)) {
    if (!entry.is_directory()) continue;
    auto metadata_text = ReadFile((entry.path() / "metadata.json").string());
    if (!metadata_text.ok()) continue;
    auto json = ParseJson(*metadata_text);
    if (!json.ok()) continue;
    auto metadata = package::PackageMetadata::FromJson(*json);
    if (!metadata.ok()) continue;
    package::InstalledPackage installed{*metadata, (entry.path() / metadata->library).string()};
    auto loaded = package::LoadedChaincode::Load(installed);
    if (!loaded.ok()) return loaded.status().WithContext("installed contract " + entry.path().string());
    std::unique_lock lock(mu_);
    loaded_.push_back(std::move(loaded).value());
  }
  return Status::Ok();
}

Result<ContractInfo> Contracts::Install(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(package::InstalledPackage installed, package::InstallPackage(path, install_dir_));
  ENTENTE_ASSIGN_OR_RETURN(std::shared_ptr<package::LoadedChaincode> loaded, package::LoadedChaincode::Load(installed));
  std::unique_lock lock(mu_);
  std::erase_if(loaded_, [&](const auto& l) {
    return l->metadata().name == installed.metadata.name && l->metadata().version == installed.metadata.version;
  });
  loaded_.push_back(loaded);
  return Describe(*loaded);
}

void Contracts::SetAlliance(std::shared_ptr<const validation::AllianceView> view) {
  std::unique_lock lock(mu_);
  view_ = std::move(view);
}

ContractInfo Contracts::Describe(const package::LoadedChaincode& loaded) const {
  const package::PackageMetadata& m = loaded.metadata();
  ContractInfo info{m.name, m.version, m.sha256, m.policy, "", false, ""};
  if (!view_) {
    info.why_inactive = "the alliance is not loaded yet";
    return info;
  }
  std::string mismatch;
  for (const validation::ContractDef& def : view_->contracts) {
    if (def.name != m.name) continue;
    if (def.version == m.version && def.sha256 == m.sha256 && def.policy == m.policy) {
      info.channel = def.channel;
      info.active = true;
      return info;
    }
    mismatch = "the alliance defines " + def.name + " on " + def.channel + " as version " + def.version +
               ", sha256 " + def.sha256 + ", policy " + def.policy;
  }
  info.why_inactive = mismatch.empty() ? "the alliance does not define " + m.name : mismatch;
  return info;
}

std::vector<ContractInfo> Contracts::List() const {
  std::shared_lock lock(mu_);
  std::vector<ContractInfo> out;
  for (const auto& l : loaded_) out.push_back(Describe(*l));
  return out;
}

shim::Chaincode* Contracts::Find(std::string_view channel, std::string_view contract) const {
  if (shim::Chaincode* builtin = alliance::BuiltinContracts().Find(channel, contract)) return builtin;
  std::shared_lock lock(mu_);
  if (!view_) return nullptr;
  const validation::ContractDef* def = view_->FindContract(channel, contract);
  if (def == nullptr) return nullptr;
  for (const auto& l : loaded_) {
    const package::PackageMetadata& m = l->metadata();
    if (m.name == def->name && m.version == def->version && m.sha256 == def->sha256 && m.policy == def->policy) {
      return &l->chaincode();
    }
  }
  return nullptr;
}

std::string Contracts::WhyNot(std::string_view channel, std::string_view contract) const {
  if (Find(channel, contract) != nullptr) return "";
  std::shared_lock lock(mu_);
  const validation::ContractDef* def = view_ ? view_->FindContract(channel, contract) : nullptr;
  if (def == nullptr) {
    return "contract '" + std::string(contract) + "' is not defined on channel '" + std::string(channel) + "'";
  }
  return "contract " + def->name + " version " + def->version + " (sha256 " + def->sha256 + ", policy " +
         def->policy + ") is not installed on this node";
}

}  // namespace entente::node::internal
