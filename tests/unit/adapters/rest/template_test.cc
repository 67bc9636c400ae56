#include "adapters/rest/internal/template.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/support/must.h"

using namespace entente;
using namespace entente::adapters::rest;
using entente::testing::Must;

namespace {

TemplateArguments Arguments() {
  TemplateArguments a;
  a.chain = "chainE";
  a.contract = "asset";
  a.key = "car 7/\"red\"";
  a.tx_id = "tx1";
  a.value = ToBytes("hello");
  a.expected_version = 42;
  return a;
}

std::string Expand(std::string_view text, const TemplateArguments& arguments = Arguments()) {
  return Must(Must(Template::Parse(text)).Expand(arguments));
}

}  // namespace

TEST_CASE("A template without placeholders expands to itself") {
  CHECK(Expand("") == "");
  CHECK(Expand("/v3/kv/range") == "/v3/kv/range");
  CHECK(Expand("{ \"a\": {1} }") == "{ \"a\": {1} }");
  CHECK(Must(Template::Parse("")).empty());
}

TEST_CASE("Every placeholder expands to its argument") {
  CHECK(Expand("{{chain}}|{{contract}}|{{key}}|{{tx_id}}") == "chainE|asset|car 7/\"red\"|tx1");
  CHECK(Expand("{{contract_key}}") == "asset/car 7/\"red\"");
  CHECK(Expand("{{marker_key}}") == "entente/applied/tx1/asset/car 7/\"red\"");
  CHECK(Expand("{{value}} at {{expected_version}}") == "hello at 42");
  CHECK(Expand("{{key_base64}}") == Base64Encode(AsBytes("car 7/\"red\"")));
  CHECK(Expand("{{contract_key_base64}}") == Base64Encode(AsBytes("asset/car 7/\"red\"")));
  CHECK(Expand("{{marker_key_base64}}") == Base64Encode(AsBytes("entente/applied/tx1/asset/car 7/\"red\"")));
  CHECK(Expand("{{value_base64}}") == "aGVsbG8=");
}

TEST_CASE("The expected version is 0 when the arguments hold none") {
  CHECK(Expand("{{expected_version}}", TemplateArguments{}) == "0");
}

TEST_CASE("The _url suffix percent-encodes everything but unreserved characters") {
  CHECK(Expand("/items/{{key_url}}") == "/items/car%207%2F%22red%22");
  CHECK(Expand("/k/{{contract_key_base64_url}}") ==
        "/k/" + PercentEncode(Base64Encode(AsBytes("asset/car 7/\"red\""))));
  CHECK(PercentEncode("a-b_c.d~e+f=") == "a-b_c.d~e%2Bf%3D");
}

TEST_CASE("The _json suffix escapes quotes, backslashes and control characters") {
  TemplateArguments a = Arguments();
  a.value = ToBytes("say \"hi\"\\\n");
  CHECK(Expand("{\"v\": \"{{value_json}}\"}", a) == "{\"v\": \"say \\\"hi\\\"\\\\\\n\"}");
  CHECK(Expand("{{key_json}}") == "car 7/\\\"red\\\"");
}

TEST_CASE("A value that is not UTF-8 cannot be written as a JSON string but can as base64") {
  TemplateArguments a = Arguments();
  a.value = Bytes{0xff, 0xfe};
  auto json = Must(Template::Parse("{{value_json}}")).Expand(a);
  REQUIRE_FALSE(json.ok());
  CHECK(json.status().IsInvalidArgument());
  CHECK(json.status().message().find("{{value_json}}") != std::string::npos);
  CHECK(Expand("{{value_base64}}", a) == "//4=");
}

TEST_CASE("Whitespace inside the braces is allowed") {
  CHECK(Expand("{{ chain }}/{{\tkey_url }}") == "chainE/car%207%2F%22red%22");
}

TEST_CASE("The placeholders of a template are listed in order with their encoding") {
  auto placeholders = Must(Template::Parse("/a/{{key_url}}?v={{expected_version}}&j={{value_json}}")).placeholders();
  REQUIRE(placeholders.size() == 3);
  CHECK(placeholders[0].field == Field::kKey);
  CHECK(placeholders[0].encoding == Encoding::kUrl);
  CHECK(placeholders[0].name == "key_url");
  CHECK(placeholders[1].field == Field::kExpectedVersion);
  CHECK(placeholders[1].encoding == Encoding::kRaw);
  CHECK(placeholders[2].field == Field::kValue);
  CHECK(placeholders[2].encoding == Encoding::kJson);
}

TEST_CASE("An unknown placeholder is refused, naming it and listing the known ones") {
  auto parsed = Template::Parse("{\"k\": \"{{kee}}\"}");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().IsInvalidArgument());
  CHECK(parsed.status().message().find("unknown placeholder '{{kee}}' at offset 7") != std::string::npos);
  CHECK(parsed.status().message().find("marker_key_base64") != std::string::npos);
  CHECK_FALSE(Template::Parse("{{key_xml}}").ok());
  CHECK_FALSE(Template::Parse("{{_url}}").ok());
}

TEST_CASE("An unclosed or empty placeholder is refused with its offset") {
  auto unclosed = Template::Parse("abc {{key");
  REQUIRE_FALSE(unclosed.ok());
  CHECK(unclosed.status().message() == "'{{' at offset 4 has no closing '}}'");
  auto empty = Template::Parse("x{{ }}");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message().find("offset 1") != std::string::npos);
}

TEST_CASE("The stored key and the marker key are built from contract, key and tx id") {
  CHECK(ContractKey("asset", "k") == "asset/k");
  CHECK(MarkerKey("t9", "asset", "k") == "entente/applied/t9/asset/k");
}
