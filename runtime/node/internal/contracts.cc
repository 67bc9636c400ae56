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
    auto json = metadata_text.ok() ? ParseJson(*metadata_text) : Result<Json>(metadata_text.status());
    auto metadata = json.ok() ? package::PackageMetadata::FromJson(*json) : Result<package::PackageMetadata>(json.status());
    if (!metadata.ok()) {
      logger_->error("skipping the installed contract {}: {}", entry.path().filename().string(),
                     metadata.status().message());
      continue;
    }
    std::unique_lock lock(mu_);
    installed_.push_back({{*metadata, (entry.path() / metadata->library).string()}, nullptr, ""});
    LoadIfDefined(installed_.back());
  }
  return Status::Ok();
}

Result<ContractInfo> Contracts::Install(const std::string& path) {
  std::lock_guard installing(install_mu_);  // check, extract and record as one step
  ENTENTE_ASSIGN_OR_RETURN(package::PackageMetadata incoming, package::ReadPackageMetadata(path));
  {
    std::shared_lock lock(mu_);
    for (const Installed& entry : installed_) {
      const package::PackageMetadata& m = entry.package.metadata;
      if (m.name != incoming.name || m.version != incoming.version) continue;
      if (m.sha256 == incoming.sha256 && m.policy == incoming.policy) return Describe(entry);
      return Status::AlreadyExists(m.name + " version " + m.version + " is installed with sha256 " + m.sha256 +
                                   " and policy " + m.policy + "; a new package needs a new version");
    }
  }
  ENTENTE_ASSIGN_OR_RETURN(package::InstalledPackage installed, package::InstallPackage(path, install_dir_));
  std::unique_lock lock(mu_);
  installed_.push_back({std::move(installed), nullptr, ""});
  LoadIfDefined(installed_.back());
  return Describe(installed_.back());
}

void Contracts::SetAlliance(std::shared_ptr<const validation::AllianceView> view) {
  std::unique_lock lock(mu_);
  view_ = std::move(view);
  for (Installed& entry : installed_) LoadIfDefined(entry);
}

bool Contracts::Defined(const package::PackageMetadata& m) const {
  if (!view_) return false;
  for (const validation::ContractDef& def : view_->contracts) {
    if (def.name == m.name && def.version == m.version && def.sha256 == m.sha256 && def.policy == m.policy) return true;
  }
  return false;
}

void Contracts::LoadIfDefined(Installed& entry) {
  if (entry.loaded || !entry.load_error.empty() || !Defined(entry.package.metadata)) return;
  auto loaded = package::LoadedChaincode::Load(entry.package);
  const package::PackageMetadata& m = entry.package.metadata;
  if (!loaded.ok()) {
    // Clients see that it failed; the log, which names the library's path, says why.
    entry.load_error = "its library cannot be loaded (the node's log says why)";
    logger_->error("contract {} {} is defined but cannot be loaded: {}; it does not run here", m.name, m.version,
                   loaded.status().message());
    return;
  }
  entry.loaded = std::move(loaded).value();
  logger_->info("contract {} {} loaded", m.name, m.version);
}

ContractInfo Contracts::Describe(const Installed& entry) const {
  const package::PackageMetadata& m = entry.package.metadata;
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
      info.active = entry.loaded != nullptr;
      info.why_inactive = entry.load_error;
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
  for (const Installed& entry : installed_) out.push_back(Describe(entry));
  return out;
}

std::shared_ptr<shim::Chaincode> Contracts::Find(std::string_view channel, std::string_view contract) const {
  if (auto builtin = alliance::BuiltinContracts().Find(channel, contract)) return builtin;
  std::shared_lock lock(mu_);
  if (!view_) return nullptr;
  const validation::ContractDef* def = view_->FindContract(channel, contract);
  if (def == nullptr) return nullptr;
  for (const Installed& entry : installed_) {
    const package::PackageMetadata& m = entry.package.metadata;
    if (entry.loaded && m.name == def->name && m.version == def->version && m.sha256 == def->sha256 &&
        m.policy == def->policy) {
      // Shares ownership of the library: it stays loaded while the simulation holds the chaincode.
      return std::shared_ptr<shim::Chaincode>(entry.loaded, &entry.loaded->chaincode());
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
  for (const Installed& entry : installed_) {
    const package::PackageMetadata& m = entry.package.metadata;
    if (m.name == def->name && m.version == def->version && m.sha256 == def->sha256 && !entry.load_error.empty()) {
      return "contract " + def->name + " version " + def->version + " is installed on this node but " + entry.load_error;
    }
  }
  return "contract " + def->name + " version " + def->version + " (sha256 " + def->sha256 + ", policy " +
         def->policy + ") is not installed on this node";
}

}  // namespace entente::node::internal
