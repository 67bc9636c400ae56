#include "runtime/common/config.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/support.h"

using namespace entente;

namespace {

constexpr std::string_view kNodeYaml =
    "name: node-a1\n"        // line 1
    "listen:\n"              // line 2
    "  host: 127.0.0.1\n"    // line 3
    "  port: http\n"         // line 4
    "weight: 2.5\n"          // line 5
    "tls: true\n"            // line 6
    "peers:\n"               // line 7
    "  - a2\n"               // line 8
    "  - b1\n"               // line 9
    "limits:\n"              // line 10
    "  max_body: 1048576\n"  // line 11
    "  debug: false\n";      // line 12

ConfigNode Load() {
  auto r = ConfigNode::Parse(kNodeYaml, "node.yaml");
  REQUIRE(r.ok());
  return *r;
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ConfigNode reads required strings, integers, doubles and booleans") {
  ConfigNode config = Load();
  CHECK(config.IsMap());
  CHECK(config.GetString("name").value_or("") == "node-a1");
  CHECK(config.GetDouble("weight").value_or(0) == doctest::Approx(2.5));
  CHECK(config.GetBool("tls").value_or(false) == true);
  auto limits = config.Child("limits");
  REQUIRE(limits.ok());
  CHECK(limits->GetInt("max_body").value_or(0) == 1048576);
  CHECK(limits->GetBool("debug").value_or(true) == false);
}

TEST_CASE("ConfigNode names the file, the line and the key path of a mistyped value") {
  ConfigNode config = Load();
  auto listen = config.Child("listen");
  REQUIRE(listen.ok());
  auto port = listen->GetInt("port");
  REQUIRE_FALSE(port.ok());
  CHECK(port.status().code() == StatusCode::kInvalidArgument);
  const std::string message = port.status().message();
  CAPTURE(message);
  CHECK(message.rfind("node.yaml:4: ", 0) == 0);
  CHECK(Contains(message, "key 'listen.port'"));
  CHECK(Contains(message, "'http'"));
}

TEST_CASE("Child paths are dotted and Location names the file and line of the node") {
  ConfigNode config = Load();
  CHECK(config.path().empty());
  auto host = config.Child("listen").value().Child("host");
  REQUIRE(host.ok());
  CHECK(host->path() == "listen.host");
  CHECK(host->Location() == "node.yaml:3");
  CHECK(host->AsString().value_or("") == "127.0.0.1");
}

TEST_CASE("Child names a missing key") {
  ConfigNode config = Load();
  auto missing = config.Child("relay");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kInvalidArgument);
  CHECK(Contains(missing.status().message(), "missing key"));
  CHECK(Contains(missing.status().message(), "relay"));
  CHECK(Contains(missing.status().message(), "node.yaml"));
  CHECK_FALSE(config.GetString("relay").ok());
}

TEST_CASE("Has answers for present and absent keys") {
  ConfigNode config = Load();
  CHECK(config.Has("listen"));
  CHECK(config.Has("peers"));
  CHECK_FALSE(config.Has("relay"));
  auto name = config.Child("name");
  REQUIRE(name.ok());
  CHECK_FALSE(name->Has("anything"));
}

TEST_CASE("Elements returns a sequence's items and refuses a map") {
  ConfigNode config = Load();
  auto peers = config.Child("peers");
  REQUIRE(peers.ok());
  CHECK(peers->IsSequence());
  CHECK_FALSE(peers->IsMap());
  auto elements = peers->Elements();
  REQUIRE(elements.ok());
  REQUIRE(elements->size() == 2);
  CHECK((*elements)[0].IsScalar());
  CHECK((*elements)[1].AsString().value_or("") == "b1");

  auto not_a_list = config.Child("listen").value().Elements();
  REQUIRE_FALSE(not_a_list.ok());
  CHECK(not_a_list.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("GetStringList returns the strings of a list and refuses a scalar") {
  ConfigNode config = Load();
  auto peers = config.GetStringList("peers");
  REQUIRE(peers.ok());
  CHECK(*peers == std::vector<std::string>{"a2", "b1"});
  CHECK_FALSE(config.GetStringList("name").ok());
  CHECK_FALSE(config.GetStringList("absent").ok());
}

TEST_CASE("Keys lists a map's keys in file order and nothing for a non-map") {
  ConfigNode config = Load();
  CHECK(config.Keys() == std::vector<std::string>{"name", "listen", "weight", "tls", "peers", "limits"});
  CHECK(config.Child("peers").value().Keys().empty());
  CHECK(config.Child("name").value().Keys().empty());
}

TEST_CASE("Scalar conversions reject values of another type") {
  ConfigNode config = Load();
  CHECK_FALSE(config.Child("listen").value().AsString().ok());
  CHECK_FALSE(config.Child("name").value().AsInt().ok());
  CHECK_FALSE(config.Child("weight").value().AsInt().ok());
  CHECK_FALSE(config.Child("name").value().AsDouble().ok());
  CHECK_FALSE(config.Child("name").value().AsBool().ok());
  CHECK_FALSE(config.Child("peers").value().AsBool().ok());
}

TEST_CASE("AsInt rejects trailing characters and values outside 64 bits") {
  auto config = ConfigNode::Parse("a: 12abc\nb: 99999999999999999999\nc: -9223372036854775808\n", "t.yaml");
  REQUIRE(config.ok());
  CHECK_FALSE(config->GetInt("a").ok());
  CHECK_FALSE(config->GetInt("b").ok());
  CHECK(config->GetInt("c").value_or(0) == INT64_MIN);
}

TEST_CASE("Optional getters give the fallback when the key is absent") {
  ConfigNode config = Load();
  CHECK(config.GetString("mode", "dev").value_or("") == "dev");
  CHECK(config.GetInt("threads", 4).value_or(0) == 4);
  CHECK(config.GetDouble("threshold", 0.5).value_or(0) == doctest::Approx(0.5));
  CHECK(config.GetBool("verbose", true).value_or(false) == true);
  // Present keys win over the fallback.
  CHECK(config.GetString("name", "x").value_or("") == "node-a1");
  CHECK(config.GetBool("tls", false).value_or(false) == true);
}

TEST_CASE("Optional getters give an error when the key is present but mistyped") {
  ConfigNode config = Load();
  auto listen = config.Child("listen").value();
  CHECK_FALSE(listen.GetInt("port", 8080).ok());
  CHECK_FALSE(config.GetDouble("name", 1.0).ok());
  CHECK_FALSE(config.GetBool("name", false).ok());
  CHECK_FALSE(config.GetString("listen", "x").ok());
}

TEST_CASE("CheckKeys accepts known keys and names the first unknown one") {
  ConfigNode config = Load();
  CHECK(config.CheckKeys({"name", "listen", "weight", "tls", "peers", "limits"}).ok());
  Status typo = config.Child("listen").value().CheckKeys({"host", "prot"});
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(typo.message(), "port"));
  CHECK(Contains(typo.message(), "node.yaml"));
}

TEST_CASE("Error locates a caller's message at the node") {
  ConfigNode config = Load();
  auto max_body = config.Child("limits").value().Child("max_body");
  REQUIRE(max_body.ok());
  Status error = max_body->Error("must be below 1000");
  CHECK(error.code() == StatusCode::kInvalidArgument);
  CHECK(error.message() == "node.yaml:11: key 'limits.max_body': must be below 1000");
}

TEST_CASE("Parse reports a YAML syntax error with the source name and line") {
  auto r = ConfigNode::Parse("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().rfind("bad.yaml:", 0) == 0);
}

TEST_CASE("LoadFile reads a file and names it in errors") {
  testing::TempDir dir;
  const std::string path = dir.Join("relay.yaml");
  testing::WriteText(path, "listen:\n  port: 8443\n  host: [x]\n");
  auto config = ConfigNode::LoadFile(path);
  REQUIRE(config.ok());
  auto listen = config->Child("listen");
  REQUIRE(listen.ok());
  CHECK(listen->GetInt("port").value_or(0) == 8443);
  auto host = listen->GetString("host");
  REQUIRE_FALSE(host.ok());
  CHECK(host.status().message().rfind(path + ":3: ", 0) == 0);
}

TEST_CASE("LoadFile gives NotFound for a missing file") {
  testing::TempDir dir;
  auto r = ConfigNode::LoadFile(dir.Join("absent.yaml"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
}

TEST_CASE("LoadFile gives InvalidArgument naming the file for a YAML syntax error") {
  testing::TempDir dir;
  const std::string path = dir.Join("broken.yaml");
  testing::WriteText(path, "a: 1\n  b: : :\n\t- c\n");
  auto r = ConfigNode::LoadFile(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(Contains(r.status().message(), path + ":"));
}

TEST_CASE("CheckKeys refuses a key that is a list, naming the file and line, and Keys skips it") {
  auto config = ConfigNode::Parse("? [a, b]\n: 1\n", "complex.yaml");
  REQUIRE(config.ok());
  Status s;
  CHECK_NOTHROW(s = config->CheckKeys({"a", "b"}));
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CAPTURE(s.message());
  CHECK(s.message().rfind("complex.yaml:1", 0) == 0);

  std::vector<std::string> keys;
  CHECK_NOTHROW(keys = config->Keys());
  CHECK(keys.empty());

  auto mixed = ConfigNode::Parse("name: x\n? {k: v}\n: 1\n", "mixed.yaml");
  REQUIRE(mixed.ok());
  Status mixed_status;
  CHECK_NOTHROW(mixed_status = mixed->CheckKeys({"name"}));
  CHECK(mixed_status.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(mixed_status.message(), "mixed.yaml:2"));
  CHECK_NOTHROW(keys = mixed->Keys());
  CHECK(keys == std::vector<std::string>{"name"});
}
