#include "runtime/shim/package/package.h"

#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>

#include <filesystem>
#include <regex>

#include "runtime/common/file.h"
#include "runtime/crypto/crypto.h"

namespace entente::package {
namespace {

constexpr char kMetadataFile[] = "metadata.json";
// Bounds on what a package may expand to, checked from each entry's header before its data is read,
// so that a small archive that expands to gigabytes costs nothing (contract libraries are a few MiB).
constexpr std::size_t kMaxEntries = 8;
constexpr std::size_t kMaxExpandedBytes = 32u << 20;

bool IsSafeName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9_.-]+");
  return !name.empty() && name != "." && name != ".." && std::regex_match(name, kName);
}

struct ArchiveReader {
  archive* a = archive_read_new();
  ~ArchiveReader() { archive_read_free(a); }
};

// Reads every regular file of a .tar.gz into memory (packages are small: at most kMaxEntries files
// and kMaxExpandedBytes in all). InvalidArgument for anything that is not a gzip'd tar, holds a path
// with a directory or "..", or passes the bounds. Messages name the entry, not `path`: callers add
// where the package came from.
Result<std::map<std::string, std::string>> ReadArchive(const std::string& path) {
  ArchiveReader reader;
  archive_read_support_filter_gzip(reader.a);
  archive_read_support_format_tar(reader.a);
  if (archive_read_open_filename(reader.a, path.c_str(), 65536) != ARCHIVE_OK) {
    return Status::InvalidArgument(std::string("not a .tar.gz package: ") + archive_error_string(reader.a));
  }
  std::map<std::string, std::string> files;
  std::size_t entries = 0;
  std::size_t expanded = 0;
  archive_entry* entry = nullptr;
  while (true) {
    int rc = archive_read_next_header(reader.a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      return Status::InvalidArgument(std::string("not a .tar.gz package: ") + archive_error_string(reader.a));
    }
    if (++entries > kMaxEntries) {
      return Status::InvalidArgument("a package holds at most " + std::to_string(kMaxEntries) + " entries");
    }
    std::string name = archive_entry_pathname(entry);
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    if (!IsSafeName(name)) return Status::InvalidArgument("unexpected path in package: " + name);
    la_int64_t size = archive_entry_size(entry);
    if (size < 0 || static_cast<std::uint64_t>(size) > kMaxExpandedBytes - expanded) {
      return Status::InvalidArgument("package entry " + name + " (" + std::to_string(size) +
                                     " bytes) would expand the package past " +
                                     std::to_string(kMaxExpandedBytes >> 20) + " MiB");
    }
    expanded += static_cast<std::size_t>(size);
    std::string data(static_cast<size_t>(size), '\0');
    la_ssize_t n = archive_read_data(reader.a, data.data(), data.size());
    if (n < 0 || static_cast<size_t>(n) != data.size()) {
      return Status::InvalidArgument("truncated package entry " + name);
    }
    files[name] = std::move(data);
  }
  if (files.empty()) return Status::InvalidArgument("not a .tar.gz package: no files");
  return files;
}

Status WriteArchive(const std::string& path, const std::vector<std::pair<std::string, std::string>>& files) {
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  std::string tmp = path + ".tmp";
  Status status;
  if (archive_write_open_filename(a, tmp.c_str()) != ARCHIVE_OK) {
    status = Status::IOError("cannot write " + path + ": " + archive_error_string(a));
  }
  for (const auto& [name, data] : files) {
    if (!status.ok()) break;
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_size(entry, static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    if (archive_write_header(a, entry) != ARCHIVE_OK ||
        archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
      status = Status::IOError("cannot write " + path + ": " + archive_error_string(a));
    }
    archive_entry_free(entry);
  }
  if (archive_write_close(a) != ARCHIVE_OK && status.ok()) {
    status = Status::IOError("cannot write " + path + ": " + archive_error_string(a));
  }
  archive_write_free(a);
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) status = Status::IOError("cannot rename " + tmp);
  if (!status.ok()) std::remove(tmp.c_str());
  return status;
}

}  // namespace

Json PackageMetadata::ToJson() const {
  return Json{{"name", name}, {"version", version}, {"abi", abi},
              {"sha256", sha256}, {"policy", policy}, {"library", library}};
}

Result<PackageMetadata> PackageMetadata::FromJson(const Json& json) {
  PackageMetadata m;
  ENTENTE_ASSIGN_OR_RETURN(m.name, JsonString(json, "name"));
  ENTENTE_ASSIGN_OR_RETURN(m.version, JsonString(json, "version"));
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t abi, JsonInt(json, "abi"));
  if (abi <= 0) return Status::InvalidArgument("field 'abi' must be positive");
  m.abi = static_cast<std::uint32_t>(abi);
  ENTENTE_ASSIGN_OR_RETURN(m.sha256, JsonString(json, "sha256"));
  ENTENTE_ASSIGN_OR_RETURN(m.policy, JsonString(json, "policy"));
  ENTENTE_ASSIGN_OR_RETURN(m.library, JsonString(json, "library"));
  if (!IsSafeName(m.name)) return Status::InvalidArgument("field 'name' must match [A-Za-z0-9_.-]+");
  if (!IsSafeName(m.version)) return Status::InvalidArgument("field 'version' must match [A-Za-z0-9_.-]+");
  if (!IsSafeName(m.library)) return Status::InvalidArgument("field 'library' must be a plain file name");
  auto hash = HexDecode(m.sha256);
  if (!hash.ok() || hash->size() != 32) return Status::InvalidArgument("field 'sha256' must be 64 hex digits");
  return m;
}

Result<PackageMetadata> CreatePackage(const std::string& library_path, PackageMetadata metadata,
                                      const std::string& out_path) {
  if (!IsSafeName(metadata.name)) return Status::InvalidArgument("contract name must match [A-Za-z0-9_.-]+");
  if (!IsSafeName(metadata.version)) return Status::InvalidArgument("contract version must match [A-Za-z0-9_.-]+");
  ENTENTE_ASSIGN_OR_RETURN(std::string library, ReadFile(library_path));
  metadata.abi = shim::kAbiVersion;
  metadata.sha256 = crypto::Sha256Hex(AsBytes(library));
  metadata.library = metadata.name + ".so";
  ENTENTE_RETURN_IF_ERROR(WriteArchive(out_path, {{kMetadataFile, metadata.ToJson().dump(2) + "\n"},
                                                  {metadata.library, std::move(library)}}));
  return metadata;
}

Result<PackageMetadata> ReadPackageMetadata(const std::string& package_path) {
  ENTENTE_ASSIGN_OR_RETURN(auto files, ReadArchive(package_path));
  auto it = files.find(kMetadataFile);
  if (it == files.end()) return Status::InvalidArgument("no metadata.json in package");
  auto json = ParseJson(it->second);
  if (!json.ok()) return json.status().WithContext("metadata.json");
  auto metadata = PackageMetadata::FromJson(*json);
  if (!metadata.ok()) return metadata.status().WithContext("metadata.json");
  return metadata;
}

Result<InstalledPackage> InstallPackage(const std::string& package_path, const std::string& install_dir) {
  ENTENTE_ASSIGN_OR_RETURN(auto files, ReadArchive(package_path));
  auto meta_file = files.find(kMetadataFile);
  if (meta_file == files.end()) return Status::InvalidArgument("no metadata.json in package");
  auto json = ParseJson(meta_file->second);
  if (!json.ok()) return json.status().WithContext("metadata.json");
  auto metadata = PackageMetadata::FromJson(*json);
  if (!metadata.ok()) return metadata.status().WithContext("metadata.json");
  auto library = files.find(metadata->library);
  if (library == files.end()) {
    return Status::InvalidArgument("library " + metadata->library + " is missing");
  }
  std::string actual = crypto::Sha256Hex(AsBytes(library->second));
  if (actual != metadata->sha256) {
    return Status::InvalidArgument("library hash " + actual + " does not match metadata sha256 " + metadata->sha256);
  }
  if (metadata->abi != shim::kAbiVersion) {
    return Status::InvalidArgument("built for contract ABI " + std::to_string(metadata->abi) + ", this node runs ABI " +
                                   std::to_string(shim::kAbiVersion));
  }
  std::string dir = install_dir + "/" + metadata->name + "-" + metadata->version;
  ENTENTE_RETURN_IF_ERROR(MakeDirectories(dir, 0755));
  ENTENTE_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + kMetadataFile, meta_file->second, 0644));
  ENTENTE_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + metadata->library, library->second, 0755));
  return InstalledPackage{*metadata, dir + "/" + metadata->library};
}

Result<std::shared_ptr<LoadedChaincode>> LoadedChaincode::Load(const InstalledPackage& installed) {
  ENTENTE_ASSIGN_OR_RETURN(std::string library, ReadFile(installed.library_path));
  std::string actual = crypto::Sha256Hex(AsBytes(library));
  if (actual != installed.metadata.sha256) {
    return Status::InvalidArgument(installed.library_path + ": hash " + actual + " does not match the package's " +
                                   installed.metadata.sha256);
  }
  std::shared_ptr<LoadedChaincode> loaded(new LoadedChaincode());
  loaded->metadata_ = installed.metadata;
  loaded->handle_ = ::dlopen(installed.library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (loaded->handle_ == nullptr) {
    return Status::InvalidArgument(installed.library_path + ": cannot load: " + ::dlerror());
  }
  using EntryFn = const shim::ChaincodeEntry* (*)();
  auto fn = reinterpret_cast<EntryFn>(::dlsym(loaded->handle_, kEntenteChaincodeSymbol));
  if (fn == nullptr) {
    return Status::InvalidArgument(installed.library_path + ": no entry symbol " + kEntenteChaincodeSymbol +
                                   " (built without ENTENTE_CHAINCODE?)");
  }
  loaded->entry_ = fn();
  if (loaded->entry_ == nullptr || loaded->entry_->abi_version != shim::kAbiVersion) {
    return Status::InvalidArgument(installed.library_path + ": contract ABI " +
                                   std::to_string(loaded->entry_ ? loaded->entry_->abi_version : 0) +
                                   ", this node runs ABI " + std::to_string(shim::kAbiVersion));
  }
  loaded->chaincode_ = loaded->entry_->create();
  if (loaded->chaincode_ == nullptr) return Status::InvalidArgument(installed.library_path + ": create() failed");
  return loaded;
}

LoadedChaincode::~LoadedChaincode() {
  if (chaincode_ != nullptr && entry_ != nullptr) entry_->destroy(chaincode_);
  if (handle_ != nullptr) ::dlclose(handle_);
}

}  // namespace entente::package
