#include "adapters/rest/internal/mapping.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "tests/support/must.h"
#include "tests/support/support.h"

using namespace entente;
using namespace entente::adapters::rest;
using entente::testing::Must;

namespace {

// A service that keeps text values at /items/<contract>/<key> with an ETag-like version.
constexpr char kItems[] = R"(read:
  method: GET
  path: /items/{{contract_url}}/{{key_url}}
  headers: {Accept: application/json, X-Chain: "{{chain}}"}
  absent_status: 404
  value: /value
  version: /version
deliver:
  method: PUT
  path: /items/{{contract_url}}/{{key_url}}?if_version={{expected_version}}&tx={{tx_id_url}}
  body: '{"value": "{{value_json}}"}'
  conflict_status: [409, 412]
  already_applied: /applied
  error: /detail
height:
  method: GET
  path: /status
  height: /height
)";

// Returns the status of parsing kItems with `from` replaced by `to` (which must occur).
Status Altered(const std::string& from, const std::string& to) {
  std::string text = kItems;
  std::size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  text.replace(at, from.size(), to);
  return ParseMapping(text, "items.yaml").status();
}

void CheckRefused(const Status& status, const std::string& expected) {
  CHECK(status.IsInvalidArgument());
  CHECK_MESSAGE(status.message().find(expected) != std::string::npos, status.message());
}

}  // namespace

TEST_CASE("A mapping of a plain REST service parses with its statuses, pointers and templates") {
  RestMapping m = Must(ParseMapping(kItems, "items.yaml"));
  CHECK(m.source == "items.yaml");
  CHECK(m.read.request.method == "GET");
  CHECK(m.read.absent_status == std::vector<int>{404});
  CHECK_FALSE(m.read.exists.has_value());
  CHECK(m.read.value_encoding == ValueEncoding::kText);
  CHECK(m.read.version.text() == "/version");
  REQUIRE(m.read.request.headers.size() == 2);
  CHECK(m.read.request.headers[1].first == "X-Chain");
  TemplateArguments a{"chainR", "asset", "a b", "t1", ToBytes("v"), 3};
  CHECK(Must(m.read.request.path.Expand(a)) == "/items/asset/a%20b");
  CHECK(Must(m.read.request.headers[1].second.Expand(a)) == "chainR");
  REQUIRE(m.write(WriteKind::kPut).has_value());
  const WriteMapping& put = *m.write(WriteKind::kPut);
  CHECK(Must(put.request.path.Expand(a)) == "/items/asset/a%20b?if_version=3&tx=t1");
  CHECK(Must(put.request.body.Expand(a)) == R"({"value": "v"})");
  CHECK(put.conflict_status == std::vector<int>{409, 412});
  CHECK(put.request.error->text() == "/detail");
  CHECK_FALSE(put.succeeded.has_value());
  CHECK_FALSE(m.write(WriteKind::kBlindPut).has_value());
  CHECK_FALSE(m.write(WriteKind::kDelete).has_value());
  CHECK(m.height.height.text() == "/height");
  CHECK(m.height.request.body.empty());
}

TEST_CASE("The etcd mapping shipped with the adapter maps every operation") {
  const char* source = std::getenv("ENTENTE_SOURCE_DIR");
  REQUIRE(source != nullptr);
  RestMapping m = Must(LoadMapping(std::string(source) + "/adapters/rest/mappings/etcd.yaml"));
  CHECK(m.read.value_encoding == ValueEncoding::kBase64);
  CHECK(m.read.exists->text() == "/kvs/0");
  for (WriteKind kind : {WriteKind::kPut, WriteKind::kBlindPut, WriteKind::kDelete, WriteKind::kBlindDelete}) {
    REQUIRE_MESSAGE(m.write(kind).has_value(), EntryName(kind));
    CHECK(m.write(kind)->request.path.placeholders().empty());
    CHECK(m.write(kind)->already_applied->text() == "/responses/0/response_range/count");
  }
  TemplateArguments a{"chainE", "asset", "k", "t1", ToBytes("v"), 7};
  Json body = Json::parse(Must(m.write(WriteKind::kPut)->request.body.Expand(a)));
  CHECK(body["compare"][1]["mod_revision"] == "7");
  CHECK(body["success"][0]["request_put"]["value"] == Base64Encode(AsBytes("v")));
  CHECK(body["success"][1]["request_put"]["key"] == Base64Encode(AsBytes("entente/applied/t1/asset/k")));
  CHECK(m.height.height.text() == "/header/revision");
}

TEST_CASE("A missing entry or field is refused, naming it") {
  CheckRefused(ParseMapping("height: {method: GET, path: /s, height: /h}\n", "m.yaml").status(),
               "m.yaml:1: missing key 'read'");
  CheckRefused(Altered("  version: /version\n", ""), "items.yaml:2: key 'read': missing key 'version'");
  CheckRefused(Altered("  method: PUT\n", ""), "key 'deliver': missing key 'method'");
  CheckRefused(Altered("  absent_status: 404\n", ""), "key 'read': needs 'exists'");
}

TEST_CASE("An unknown field is refused with its line and the fields expected") {
  CheckRefused(Altered("  value: /value\n", "  valeu: /value\n"),
               "items.yaml:6: unknown key 'valeu' in 'read' (expected one of: method, path,");
  CheckRefused(Altered("height:", "hieght:"), "items.yaml:15: unknown key 'hieght'");
}

TEST_CASE("A bad JSON pointer is refused, naming the field and its line") {
  CheckRefused(Altered("version: /version", "version: version"),
               "items.yaml:7: key 'read.version': 'version' is not a JSON pointer");
  CheckRefused(Altered("error: /detail", "error: /a~9"), "items.yaml:14: key 'deliver.error':");
}

TEST_CASE("A template error is refused, naming the field") {
  CheckRefused(Altered("{{value_json}}", "{{valu_json}}"), "key 'deliver.body': unknown placeholder '{{valu_json}}'");
  CheckRefused(Altered("X-Chain: \"{{chain}}\"", "X-Chain: \"{{tx_id}}\""),
               "key 'read.headers.X-Chain': placeholder '{{tx_id}}' has no value in a read");
  CheckRefused(Altered("path: /status", "path: /status/{{key_url}}"),
               "key 'height.path': placeholder '{{key_url}}' has no value in a height request");
  CheckRefused(Altered("/items/{{contract_url}}/{{key_url}}\n  headers", "/items/{{contract}}/{{key_url}}\n  headers"),
               "items.yaml:3: key 'read.path': placeholder '{{contract}}' in a path must be percent-encoded: write "
               "'{{contract_url}}'");
  CheckRefused(Altered("path: /status", "path: status"), "key 'height.path': expected an absolute path");
}

TEST_CASE("A bad method, status or value encoding is refused, naming the field") {
  CheckRefused(Altered("method: GET\n  path: /status", "method: get\n  path: /status"),
               "key 'height.method': expected an HTTP method in capitals");
  CheckRefused(Altered("[409, 412]", "[409, 42]"), "key 'deliver.conflict_status[1]': an HTTP status must be 100-599");
  CheckRefused(Altered("absent_status: 404", "absent_status: missing"),
               "key 'read.absent_status': expected an integer, got 'missing'");
  CheckRefused(Altered("  value: /value\n", "  value: /value\n  value_encoding: hex\n"),
               "key 'read.value_encoding': expected base64 or text, got 'hex'");
}

TEST_CASE("A checked write without a way to tell a refused or repeated write is refused") {
  CheckRefused(Altered("  already_applied: /applied\n", ""), "key 'deliver': a checked write needs 'already_applied'");
  CheckRefused(Altered("  conflict_status: [409, 412]\n", ""),
               "key 'deliver': a checked write needs 'succeeded' or 'conflict_status'");
  // A blind write may rely on 2xx alone.
  std::string blind = kItems;
  blind.replace(blind.find("deliver:"), 8, "deliver_blind:");
  blind.replace(blind.find("  conflict_status: [409, 412]\n"), 30, "");
  blind.replace(blind.find("  already_applied: /applied\n"), 28, "");
  RestMapping m = Must(ParseMapping(blind, "blind.yaml"));
  CHECK(m.write(WriteKind::kBlindPut).has_value());
  CHECK_FALSE(m.write(WriteKind::kPut).has_value());
}

TEST_CASE("A mapping without any write entry is refused") {
  std::string text = kItems;
  text.erase(text.find("deliver:"), text.find("height:") - text.find("deliver:"));
  CheckRefused(ParseMapping(text, "r.yaml").status(), "no write is mapped");
}

TEST_CASE("A missing file is NotFound and broken YAML names its line") {
  CHECK(LoadMapping("/nonexistent/mapping.yaml").status().IsNotFound());
  CheckRefused(ParseMapping("read:\n  method: [GET\n", "broken.yaml").status(), "broken.yaml:");
  CheckRefused(ParseMapping("- read\n", "list.yaml").status(), "list.yaml:1: expected a map of operations");
}
