// The contracts installed on a node, and which of them may run: a contract runs on a channel only
// when its package's name, version, sha256 and policy equal the definition committed on the alliance
// channel. Find also answers the alliance contract on the alliance channel, which every node hosts
// in-process (alliance::BuiltinContracts), so that a node can simulate config transactions. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "runtime/endorser/endorser.h"
#include "runtime/node/node.h"
#include "runtime/shim/package/package.h"
#include "runtime/validation/validation.h"

namespace entente::node::internal {

class Contracts : public endorser::ChaincodeRegistry {
 public:
  explicit Contracts(std::string install_dir) : install_dir_(std::move(install_dir)) {}

  // Loads every package already extracted under the install directory (after a restart).
  Status LoadInstalled();
  // Installs the package file at `path` and loads it. A package of the same name and version
  // replaces the earlier one.
  Result<ContractInfo> Install(const std::string& path);
  // Re-reads which installed contracts the alliance defines.
  void SetAlliance(std::shared_ptr<const validation::AllianceView> view);

  std::vector<ContractInfo> List() const;
  // The chaincode of `contract` on `channel` when installed and defined with its hash, version and policy.
  shim::Chaincode* Find(std::string_view channel, std::string_view contract) const override;
  // Why `contract` does not run on `channel` ("" when it does).
  std::string WhyNot(std::string_view channel, std::string_view contract) const;

 private:
  ContractInfo Describe(const package::LoadedChaincode& loaded) const;  // REQUIRES: mu_ held

  std::string install_dir_;
  mutable std::shared_mutex mu_;
  std::vector<std::shared_ptr<package::LoadedChaincode>> loaded_;  // GUARDED_BY(mu_)
  std::shared_ptr<const validation::AllianceView> view_;            // GUARDED_BY(mu_)
};

}  // namespace entente::node::internal
