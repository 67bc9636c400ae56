// The contracts installed on a node, and which of them may run: a contract runs on a channel only
// when its package's name, version, sha256 and policy equal the definition committed on the alliance
// channel. A package's library is opened (dlopen, which runs its code) only once the alliance defines
// it; a package that fails to load is reported and skipped. Installed packages are never replaced, so
// a running contract stays loaded while the node runs. Find also answers the alliance contract on the
// alliance channel, which every node hosts in-process (alliance::BuiltinContracts), so that a node can
// simulate config transactions. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "runtime/common/log.h"
#include "runtime/endorser/endorser.h"
#include "runtime/node/node.h"
#include "runtime/shim/package/package.h"
#include "runtime/validation/validation.h"

namespace entente::node::internal {

class Contracts : public endorser::ChaincodeRegistry {
 public:
  explicit Contracts(std::string install_dir) : install_dir_(std::move(install_dir)) {}

  // Finds the packages already extracted under the install directory (after a restart); they load
  // once SetAlliance defines them. A package directory that cannot be read is reported in the log and
  // skipped. IOError only when the install directory cannot be made.
  Status LoadInstalled();
  // Installs the package file at `path`, loading it when the alliance already defines it. The same
  // package again changes nothing; AlreadyExists for another package with an installed name and
  // version; InvalidArgument for a malformed package (messages do not name `path`).
  Result<ContractInfo> Install(const std::string& path);
  // Re-reads which installed contracts the alliance defines, and loads those newly defined.
  void SetAlliance(std::shared_ptr<const validation::AllianceView> view);

  std::vector<ContractInfo> List() const;
  // The chaincode of `contract` on `channel` when installed, loaded and defined with its hash, version
  // and policy; the reference keeps its library loaded while it is held.
  std::shared_ptr<shim::Chaincode> Find(std::string_view channel, std::string_view contract) const override;
  // Why `contract` does not run on `channel` ("" when it does).
  std::string WhyNot(std::string_view channel, std::string_view contract) const;

 private:
  // An installed package, and its library once loaded.
  struct Installed {
    package::InstalledPackage package;
    std::shared_ptr<package::LoadedChaincode> loaded;
    std::string load_error;  // why loading failed; it is not tried again
  };
  // True if the alliance defines the package with its name, version, sha256 and policy. REQUIRES: mu_ held.
  bool Defined(const package::PackageMetadata& m) const;
  // Loads `entry` when it is defined and not loaded yet. REQUIRES: mu_ held exclusively.
  void LoadIfDefined(Installed& entry);
  ContractInfo Describe(const Installed& entry) const;  // REQUIRES: mu_ held

  std::string install_dir_;
  std::shared_ptr<spdlog::logger> logger_ = Logger("node");
  std::mutex install_mu_;  // serializes Install
  mutable std::shared_mutex mu_;
  std::vector<Installed> installed_;                      // GUARDED_BY(mu_)
  std::shared_ptr<const validation::AllianceView> view_;  // GUARDED_BY(mu_)
};

}  // namespace entente::node::internal
