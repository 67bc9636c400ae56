#include "runtime/common/file.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/support/support.h"

using namespace entente;
using entente::testing::TempDir;

namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Sets a umask for the life of the object.
struct Umask {
  explicit Umask(mode_t mask) : old(::umask(mask)) {}
  ~Umask() { ::umask(old); }
  mode_t old;
};

}  // namespace

TEST_CASE("ReadFile returns the whole contents, including NUL and non-UTF-8 bytes") {
  TempDir dir;
  const std::string path = dir.Join("data.bin");
  const std::string contents("line 1\nline 2\0\xff\xfe tail", 21);
  testing::WriteText(path, contents);
  auto r = ReadFile(path);
  REQUIRE(r.ok());
  CHECK(*r == contents);
}

TEST_CASE("ReadFile returns an empty string for an empty file") {
  TempDir dir;
  testing::WriteText(dir.Join("empty"), "");
  auto r = ReadFile(dir.Join("empty"));
  REQUIRE(r.ok());
  CHECK(r->empty());
}

TEST_CASE("ReadFile gives NotFound naming the path of a missing file") {
  TempDir dir;
  const std::string path = dir.Join("absent.txt");
  auto r = ReadFile(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(r.status().message().find(path) != std::string::npos);
}

TEST_CASE("ReadFile gives IOError naming the path of a directory") {
  TempDir dir;
  auto r = ReadFile(dir.path());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kIOError);
  CHECK(r.status().message().find(dir.path()) != std::string::npos);
}

TEST_CASE("ReadFile gives IOError, not NotFound, when a component of the path is a file") {
  TempDir dir;
  testing::WriteText(dir.Join("plain"), "x");
  const std::string path = dir.Join("plain/child");
  auto r = ReadFile(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kIOError);
  CHECK(r.status().message().find(path) != std::string::npos);
}

TEST_CASE("ReadFile gives IOError for a file without read permission") {
  TempDir dir;
  const std::string path = dir.Join("secret");
  testing::WriteText(path, "x");
  REQUIRE(::chmod(path.c_str(), 0) == 0);
  auto r = ReadFile(path);
  if (::geteuid() == 0) {
    // root reads anything: the file is readable after all.
    CHECK(r.value_or("") == "x");
  } else {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kIOError);
    CHECK(r.status().message().find(path) != std::string::npos);
  }
}

TEST_CASE("WriteFileAtomic creates a file that ReadFile reads back") {
  TempDir dir;
  const std::string path = dir.Join("out.txt");
  const std::string data("hello\0world", 11);
  REQUIRE(WriteFileAtomic(path, data).ok());
  CHECK(testing::ReadText(path) == data);
  CHECK(ReadFile(path).value_or("") == data);
}

TEST_CASE("WriteFileAtomic replaces existing contents entirely") {
  TempDir dir;
  const std::string path = dir.Join("out.txt");
  testing::WriteText(path, "a much longer original text than the replacement");
  REQUIRE(WriteFileAtomic(path, "short").ok());
  CHECK(testing::ReadText(path) == "short");
}

TEST_CASE("WriteFileAtomic leaves no temporary file beside the target") {
  TempDir dir;
  REQUIRE(WriteFileAtomic(dir.Join("a.txt"), "1").ok());
  REQUIRE(WriteFileAtomic(dir.Join("a.txt"), "2").ok());
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CAPTURE(entry.path().string());
    ++count;
  }
  CHECK(count == 1);
}

TEST_CASE("WriteFileAtomic gives the file the requested mode whatever the umask") {
  TempDir dir;
  Umask mask(077);
  REQUIRE(WriteFileAtomic(dir.Join("public"), "p").ok());
  CHECK(ModeOf(dir.Join("public")) == 0644);
  REQUIRE(WriteFileAtomic(dir.Join("key.pem"), "k", 0600).ok());
  CHECK(ModeOf(dir.Join("key.pem")) == 0600);
}

TEST_CASE("WriteFileAtomic sets the mode when it replaces a file that had another mode") {
  TempDir dir;
  const std::string path = dir.Join("key.pem");
  testing::WriteText(path, "old");
  REQUIRE(::chmod(path.c_str(), 0666) == 0);
  REQUIRE(WriteFileAtomic(path, "new", 0600).ok());
  CHECK(ModeOf(path) == 0600);
  CHECK(testing::ReadText(path) == "new");
}

TEST_CASE("WriteFileAtomic gives IOError naming the path when the directory does not exist") {
  TempDir dir;
  const std::string path = dir.Join("no/such/dir/file.txt");
  Status s = WriteFileAtomic(path, "x");
  CHECK(s.code() == StatusCode::kIOError);
  CHECK(s.message().find(path) != std::string::npos);
}

TEST_CASE("MakeDirectories creates a directory and its parents") {
  TempDir dir;
  const std::string path = dir.Join("a/b/c");
  REQUIRE(MakeDirectories(path).ok());
  CHECK(std::filesystem::is_directory(path));
  CHECK(std::filesystem::is_directory(dir.Join("a/b")));
}

TEST_CASE("MakeDirectories gives every directory it creates the requested mode") {
  TempDir dir;
  Umask mask(022);
  REQUIRE(MakeDirectories(dir.Join("x/y/z"), 0700).ok());
  CHECK(ModeOf(dir.Join("x/y/z")) == 0700);
  CHECK(ModeOf(dir.Join("x/y")) == 0700);
  CHECK(ModeOf(dir.Join("x")) == 0700);
}

TEST_CASE("MakeDirectories leaves the mode of existing directories alone and succeeds") {
  TempDir dir;
  const std::string existing = dir.Join("existing");
  REQUIRE(std::filesystem::create_directory(existing));
  REQUIRE(::chmod(existing.c_str(), 0751) == 0);
  REQUIRE(MakeDirectories(existing + "/new", 0700).ok());
  CHECK(ModeOf(existing) == 0751);
  CHECK(ModeOf(existing + "/new") == 0700);
  // Calling again on a path that exists entirely is fine.
  CHECK(MakeDirectories(existing + "/new", 0755).ok());
  CHECK(ModeOf(existing + "/new") == 0700);
}

TEST_CASE("MakeDirectories fails with IOError when a file is in the way") {
  TempDir dir;
  testing::WriteText(dir.Join("file"), "x");
  Status s = MakeDirectories(dir.Join("file/sub"));
  CHECK(s.code() == StatusCode::kIOError);
  CHECK(s.message().find(dir.Join("file")) != std::string::npos);
}

TEST_CASE("ResolvePath keeps an absolute path and reads a relative one from the referring file's folder") {
  CHECK(entente::ResolvePath("/etc/entente/relay.yaml", "/var/lib/relay") == "/var/lib/relay");
  CHECK(entente::ResolvePath("/etc/entente/relay.yaml", "certs/relay.pem") == "/etc/entente/certs/relay.pem");
  CHECK(entente::ResolvePath("relay.yaml", "genesis.json") == "genesis.json");
  CHECK(entente::ResolvePath("demo/alliance.yaml", "../ca.pem") == "demo/../ca.pem");
}
