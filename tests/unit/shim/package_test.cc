#include "runtime/shim/package/package.h"

#include <doctest/doctest.h>

#include "tests/support/support.h"

namespace entente::package {
namespace {

using testing::TempDir;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

PackageMetadata Meta(std::string name = "asset_transfer", std::string version = "1.0") {
  PackageMetadata m;
  m.name = std::move(name);
  m.version = std::move(version);
  m.policy = "Weighted(0.5)";
  return m;
}

TEST_CASE("a packaged contract installs, loads and answers its metadata query") {
  TempDir tmp;
  auto meta = CreatePackage(ASSET_TRANSFER_SO, Meta(), tmp.Join("at.tar.gz"));
  REQUIRE(meta.ok());
  CHECK(meta->abi == shim::kAbiVersion);
  CHECK(meta->sha256.size() == 64);
  CHECK(meta->library == "asset_transfer.so");

  auto read = ReadPackageMetadata(tmp.Join("at.tar.gz"));
  REQUIRE(read.ok());
  CHECK(read->ToJson() == meta->ToJson());

  auto installed = InstallPackage(tmp.Join("at.tar.gz"), tmp.Join("installed"));
  REQUIRE(installed.ok());
  CHECK(installed->library_path == tmp.Join("installed/asset_transfer-1.0/asset_transfer.so"));
  auto loaded = LoadedChaincode::Load(*installed);
  REQUIRE(loaded.ok());
  Json metadata = (*loaded)->chaincode().Metadata();
  CHECK(metadata["contracts"].contains("AssetTransfer"));
}

TEST_CASE("a package whose library does not match its sha256 is refused and nothing is installed") {
  TempDir tmp;
  auto meta = CreatePackage(ASSET_TRANSFER_SO, Meta(), tmp.Join("good.tar.gz"));
  REQUIRE(meta.ok());
  // Re-package another library under the first one's metadata: same name, foreign bytes.
  auto other = CreatePackage(NO_ENTRY_SO, Meta(), tmp.Join("other.tar.gz"));
  REQUIRE(other.ok());
  std::string forged = tmp.Join("forged.tar.gz");
  std::string work = tmp.Join("work");
  REQUIRE(testing::RunCommand({"mkdir", "-p", work}).exit_code == 0);
  REQUIRE(testing::RunCommand({"tar", "-xzf", tmp.Join("other.tar.gz"), "-C", work}).exit_code == 0);
  testing::WriteText(work + "/metadata.json", meta->ToJson().dump());
  REQUIRE(testing::RunCommand({"tar", "-czf", forged, "-C", work, "metadata.json", "asset_transfer.so"}).exit_code == 0);

  auto installed = InstallPackage(forged, tmp.Join("installed"));
  REQUIRE_FALSE(installed.ok());
  CHECK(Contains(installed.status().message(), "does not match metadata sha256"));
  CHECK(testing::RunCommand({"test", "-e", tmp.Join("installed/asset_transfer-1.0")}).exit_code != 0);
}

TEST_CASE("a library swapped after installation is refused when loaded") {
  TempDir tmp;
  REQUIRE(CreatePackage(ASSET_TRANSFER_SO, Meta(), tmp.Join("at.tar.gz")).ok());
  auto installed = InstallPackage(tmp.Join("at.tar.gz"), tmp.Join("installed"));
  REQUIRE(installed.ok());
  testing::WriteText(installed->library_path, testing::ReadText(NO_ENTRY_SO));
  auto loaded = LoadedChaincode::Load(*installed);
  REQUIRE_FALSE(loaded.ok());
  CHECK(Contains(loaded.status().message(), "does not match the package"));
}

TEST_CASE("a library without the entry symbol is refused with the symbol's name") {
  TempDir tmp;
  REQUIRE(CreatePackage(NO_ENTRY_SO, Meta("plain"), tmp.Join("plain.tar.gz")).ok());
  auto installed = InstallPackage(tmp.Join("plain.tar.gz"), tmp.Join("installed"));
  REQUIRE(installed.ok());
  auto loaded = LoadedChaincode::Load(*installed);
  REQUIRE_FALSE(loaded.ok());
  CHECK(Contains(loaded.status().message(), "entente_chaincode_entry"));
}

TEST_CASE("a library built for another contract ABI is refused naming both versions") {
  TempDir tmp;
  REQUIRE(CreatePackage(WRONG_ABI_SO, Meta("future"), tmp.Join("future.tar.gz")).ok());
  auto installed = InstallPackage(tmp.Join("future.tar.gz"), tmp.Join("installed"));
  REQUIRE(installed.ok());
  auto loaded = LoadedChaincode::Load(*installed);
  REQUIRE_FALSE(loaded.ok());
  CHECK(Contains(loaded.status().message(), "contract ABI 999"));
  CHECK(Contains(loaded.status().message(), "runs ABI 1"));
}

TEST_CASE("metadata.json with another ABI number is refused at install") {
  TempDir tmp;
  auto meta = CreatePackage(ASSET_TRANSFER_SO, Meta(), tmp.Join("at.tar.gz"));
  REQUIRE(meta.ok());
  std::string work = tmp.Join("work");
  REQUIRE(testing::RunCommand({"mkdir", "-p", work}).exit_code == 0);
  REQUIRE(testing::RunCommand({"tar", "-xzf", tmp.Join("at.tar.gz"), "-C", work}).exit_code == 0);
  Json json = meta->ToJson();
  json["abi"] = 7;
  testing::WriteText(work + "/metadata.json", json.dump());
  std::string repacked = tmp.Join("abi7.tar.gz");
  REQUIRE(testing::RunCommand({"tar", "-czf", repacked, "-C", work, "metadata.json", "asset_transfer.so"}).exit_code == 0);
  auto installed = InstallPackage(repacked, tmp.Join("installed"));
  REQUIRE_FALSE(installed.ok());
  CHECK(Contains(installed.status().message(), "contract ABI 7"));
}

TEST_CASE("a file that is not a tar.gz is refused as such") {
  TempDir tmp;
  testing::WriteText(tmp.Join("junk.tar.gz"), "this is not an archive at all");
  auto read = ReadPackageMetadata(tmp.Join("junk.tar.gz"));
  REQUIRE_FALSE(read.ok());
  CHECK(Contains(read.status().message(), "not a .tar.gz package"));
  auto installed = InstallPackage(tmp.Join("junk.tar.gz"), tmp.Join("installed"));
  REQUIRE_FALSE(installed.ok());
  CHECK(Contains(installed.status().message(), "not a .tar.gz package"));
}

TEST_CASE("a package without metadata.json, or with a path outside its folder, is refused") {
  TempDir tmp;
  std::string work = tmp.Join("work");
  REQUIRE(testing::RunCommand({"mkdir", "-p", work + "/sub"}).exit_code == 0);
  testing::WriteText(work + "/lib.so", "x");
  REQUIRE(testing::RunCommand({"tar", "-czf", tmp.Join("nometa.tar.gz"), "-C", work, "lib.so"}).exit_code == 0);
  auto nometa = InstallPackage(tmp.Join("nometa.tar.gz"), tmp.Join("installed"));
  REQUIRE_FALSE(nometa.ok());
  CHECK(Contains(nometa.status().message(), "no metadata.json"));

  testing::WriteText(work + "/sub/evil.so", "x");
  REQUIRE(testing::RunCommand({"tar", "-czf", tmp.Join("path.tar.gz"), "-C", work, "sub/evil.so"}).exit_code == 0);
  auto path = InstallPackage(tmp.Join("path.tar.gz"), tmp.Join("installed"));
  REQUIRE_FALSE(path.ok());
  CHECK(Contains(path.status().message(), "unexpected path"));
}

TEST_CASE("contract names and versions are limited to letters, digits, dot, dash and underscore") {
  TempDir tmp;
  auto bad = CreatePackage(ASSET_TRANSFER_SO, Meta("../evil"), tmp.Join("x.tar.gz"));
  REQUIRE_FALSE(bad.ok());
  CHECK(Contains(bad.status().message(), "contract name"));
  auto bad_version = CreatePackage(ASSET_TRANSFER_SO, Meta("ok", "1 0"), tmp.Join("x.tar.gz"));
  REQUIRE_FALSE(bad_version.ok());
}

}  // namespace
}  // namespace entente::package
