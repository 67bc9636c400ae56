// Contract packages (DESIGN.md §6): a .tar.gz holding metadata.json (name, version, ABI, SHA-256 of
// the library, endorsement policy, library file name) and the contract's shared library; and the
// loader that opens an installed package's library with dlopen after checking its hash, ABI and
// entry symbol. Functions are thread-compatible; a LoadedChaincode may serve many threads (see
// shim::Chaincode).
#pragma once

#include <memory>
#include <string>

#include "runtime/common/json.h"
#include "runtime/common/status.h"
#include "runtime/shim/shim.h"

namespace entente::package {

struct PackageMetadata {
  std::string name;
  std::string version;
  std::uint32_t abi = shim::kAbiVersion;
  std::string sha256;  // of the library, lowercase hex
  std::string policy;  // endorsement policy, e.g. "Weighted(0.5)" or "OutOf(2,'chainA.node','chainB.node')"
  std::string library;  // file name of the library inside the package

  Json ToJson() const;
  // InvalidArgument naming the missing or malformed field.
  static Result<PackageMetadata> FromJson(const Json& json);
};

// Writes a package of the library at `library_path` to `out_path`; fills in sha256, abi and library.
// InvalidArgument for an empty name or version, or a name that is not [A-Za-z0-9_.-]+.
Result<PackageMetadata> CreatePackage(const std::string& library_path, PackageMetadata metadata,
                                      const std::string& out_path);

// Reads a package's metadata.json without extracting the library. InvalidArgument for a file that is
// not a gzip'd tar, holds more than 8 entries or more than 32 MiB expanded (refused from the entries'
// headers, before their data is read), or lacks a valid metadata.json. Messages name what inside the
// package is wrong, not `package_path`.
Result<PackageMetadata> ReadPackageMetadata(const std::string& package_path);

// An installed package: its metadata and where its library was extracted.
struct InstalledPackage {
  PackageMetadata metadata;
  std::string library_path;
};

// Extracts the package into `install_dir`/<name>-<version>/ and checks that the library's SHA-256 is
// the one in metadata.json. InvalidArgument (nothing left installed) on any mismatch or a package
// past the bounds of ReadPackageMetadata; messages do not name `package_path`.
Result<InstalledPackage> InstallPackage(const std::string& package_path, const std::string& install_dir);

// A contract library opened with dlopen. Closing happens when the last reference goes.
class LoadedChaincode {
 public:
  // Opens the library of `installed`: re-checks its SHA-256, finds the entry symbol, and checks the
  // ABI version. InvalidArgument naming what failed (hash, ABI, missing symbol, dlopen's message).
  static Result<std::shared_ptr<LoadedChaincode>> Load(const InstalledPackage& installed);
  ~LoadedChaincode();
  LoadedChaincode(const LoadedChaincode&) = delete;
  LoadedChaincode& operator=(const LoadedChaincode&) = delete;

  const PackageMetadata& metadata() const { return metadata_; }
  shim::Chaincode& chaincode() const { return *chaincode_; }

 private:
  LoadedChaincode() = default;
  PackageMetadata metadata_;
  void* handle_ = nullptr;
  const shim::ChaincodeEntry* entry_ = nullptr;
  shim::Chaincode* chaincode_ = nullptr;
};

}  // namespace entente::package
