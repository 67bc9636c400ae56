#include "runtime/common/json.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace entente;
using namespace std::string_literals;

TEST_CASE("ParseJson parses objects, arrays and scalars") {
  auto r = ParseJson(R"({"a": [1, "two", true, null], "b": {"c": -3}})");
  REQUIRE(r.ok());
  CHECK(r->is_object());
  CHECK((*r)["a"].size() == 4);
  CHECK((*r)["a"][1] == "two");
  CHECK((*r)["b"]["c"] == -3);

  auto scalar = ParseJson("42");
  REQUIRE(scalar.ok());
  CHECK(*scalar == 42);
}

TEST_CASE("ParseJson rejects malformed JSON with InvalidArgument and the parser's reason") {
  for (std::string_view text : {"", "{", R"({"a":1,})", "[1 2]", "nul", R"({"a":1} x)", "{'a':1}"}) {
    CAPTURE(text);
    auto r = ParseJson(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_FALSE(r.status().message().empty());
  }
}

TEST_CASE("ParseJson names the byte offset of the error in a multi-line text") {
  // The '?' is on line 3, column 8, but at byte 19 counting from 0 (20 counting from 1), so a message
  // giving only line and column does not name the byte offset.
  const std::string text = "{\n  \"a\": 1,\n  \"b\": ?\n}";
  REQUIRE(text.find('?') == 19);
  auto r = ParseJson(text);
  REQUIRE_FALSE(r.ok());
  const std::string message = r.status().message();
  CAPTURE(message);
  CHECK((message.find("19") != std::string::npos || message.find("20") != std::string::npos));
}

TEST_CASE("CanonicalJson is compact with object keys in byte order at every depth") {
  auto r = ParseJson(R"({ "b": 1, "a": { "z": [ 3, 2, 1 ], "B": "x" }, "A": null })");
  REQUIRE(r.ok());
  auto canonical = CanonicalJson(*r);
  REQUIRE(canonical.ok());
  CHECK(*canonical == R"({"A":null,"a":{"B":"x","z":[3,2,1]},"b":1})");
}

TEST_CASE("CanonicalJson orders keys by bytes, so non-ASCII keys sort after ASCII ones") {
  Json value = {{"\xc3\xa9", 1}, {"z", 2}, {"Z", 3}};
  auto canonical = CanonicalJson(value);
  REQUIRE(canonical.ok());
  CHECK(*canonical == "{\"Z\":3,\"z\":2,\"\xc3\xa9\":1}");
}

TEST_CASE("CanonicalJson gives the same bytes for the same value however it was written") {
  auto first = ParseJson(R"({"x": {"q": true, "p": false}, "y": "s"})");
  auto second = ParseJson("{\n  \"y\" : \"s\",\n  \"x\" : {\"p\":false,\"q\":true}\n}");
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  auto a = CanonicalJson(*first);
  auto b = CanonicalJson(*second);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);
}

TEST_CASE("CanonicalJson keeps UTF-8 as is and escapes control characters") {
  Json value = {{"s", "caf\xc3\xa9 \xe2\x82\xac \"q\"\n\x01"}};
  auto canonical = CanonicalJson(value);
  REQUIRE(canonical.ok());
  CHECK(*canonical == "{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \\\"q\\\"\\n\\u0001\"}");
}

TEST_CASE("CanonicalJson writes the extreme 64-bit integers exactly") {
  Json value = Json::array({std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
                            std::numeric_limits<std::uint64_t>::max(), 0});
  auto canonical = CanonicalJson(value);
  REQUIRE(canonical.ok());
  CHECK(*canonical == "[-9223372036854775808,9223372036854775807,18446744073709551615,0]");
}

TEST_CASE("CanonicalJson rejects a floating-point number anywhere in the value") {
  CHECK(CanonicalJson(Json(1.5)).status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(CanonicalJson(Json(2.0)).ok());  // integral, but still a float
  CHECK_FALSE(CanonicalJson(Json{{"a", {{"b", Json::array({1, 2, 0.25})}}}}).ok());
  auto parsed = ParseJson(R"({"amount": 1e3})");
  REQUIRE(parsed.ok());
  CHECK_FALSE(CanonicalJson(*parsed).ok());
}

TEST_CASE("CanonicalJson rejects invalid UTF-8 in a string or a key") {
  auto in_value = CanonicalJson(Json{{"s", "ab\xff"}});
  REQUIRE_FALSE(in_value.ok());
  CHECK(in_value.status().code() == StatusCode::kInvalidArgument);

  auto in_key = CanonicalJson(Json{{"\xc3", 1}});
  REQUIRE_FALSE(in_key.ok());
  CHECK(in_key.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("JsonString returns the field's string") {
  Json object = {{"tx_id", "abc"}, {"n", 3}};
  auto r = JsonString(object, "tx_id");
  REQUIRE(r.ok());
  CHECK(*r == "abc");
}

TEST_CASE("JsonString names a missing field") {
  auto r = JsonString(Json{{"a", "x"}}, "tx_id");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().find("tx_id") != std::string::npos);
}

TEST_CASE("JsonString names a field that is not a string and says what was expected") {
  auto r = JsonString(Json{{"tx_id", 7}}, "tx_id");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().find("field 'tx_id': expected a string") != std::string::npos);
}

TEST_CASE("The typed field accessors reject a value that is not an object") {
  CHECK_FALSE(JsonString(Json::array({"tx_id"}), "tx_id").ok());
  CHECK_FALSE(JsonInt(Json(5), "n").ok());
  CHECK_FALSE(JsonBase64(Json("Zg=="), "b").ok());
}

TEST_CASE("JsonInt returns integers and rejects strings, floats and missing fields") {
  Json object = {{"n", -12}, {"big", std::numeric_limits<std::int64_t>::max()}, {"s", "12"}, {"f", 1.5}};
  auto n = JsonInt(object, "n");
  REQUIRE(n.ok());
  CHECK(*n == -12);
  auto big = JsonInt(object, "big");
  REQUIRE(big.ok());
  CHECK(*big == std::numeric_limits<std::int64_t>::max());

  auto s = JsonInt(object, "s");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("'s'") != std::string::npos);
  CHECK_FALSE(JsonInt(object, "f").ok());
  auto missing = JsonInt(object, "absent");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("absent") != std::string::npos);
}

TEST_CASE("JsonBase64 decodes a base64 field and names the field when it is not valid base64") {
  Json object = {{"payload", "Zm9vYmFy"}, {"bad", "Zm9v!mFy"}, {"num", 1}};
  auto ok = JsonBase64(object, "payload");
  REQUIRE(ok.ok());
  CHECK(ToString(*ok) == "foobar");

  auto bad = JsonBase64(object, "bad");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad.status().message().find("bad") != std::string::npos);

  CHECK_FALSE(JsonBase64(object, "num").ok());
  CHECK_FALSE(JsonBase64(object, "absent").ok());
}

namespace {

// `depth` arrays nested in each other, the innermost holding 1.
std::string NestedArrays(int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

}  // namespace

TEST_CASE("ParseJson refuses JSON nested 100 deep, naming the depth limit, and accepts 60 deep") {
  auto deep = ParseJson(NestedArrays(100));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().code() == StatusCode::kInvalidArgument);
  CAPTURE(deep.status().message());
  CHECK(deep.status().message().find("deep") != std::string::npos);
  CHECK(deep.status().message().find(std::to_string(kMaxJsonDepth)) != std::string::npos);

  auto objects = ParseJson([] {
    std::string text;
    for (int i = 0; i < 100; ++i) text += "{\"a\":";
    return text + "1" + std::string(100, '}');
  }());
  CHECK(objects.status().code() == StatusCode::kInvalidArgument);

  auto fine = ParseJson(NestedArrays(60));
  REQUIRE_MESSAGE(fine.ok(), fine.status().ToString());
  CHECK(fine->is_array());
}

TEST_CASE("ParseJson refuses JSON nested 200000 deep without exhausting the stack") {
  auto deep = ParseJson(NestedArrays(200000));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().code() == StatusCode::kInvalidArgument);
  CHECK(deep.status().message().find("deep") != std::string::npos);
  // Unbalanced input this deep is refused too.
  CHECK_FALSE(ParseJson(std::string(200000, '[')).ok());
}

TEST_CASE("JsonInt refuses integers above the int64 range instead of wrapping them") {
  for (std::string_view text : {"18446744073709551615", "9223372036854775808"}) {
    CAPTURE(text);
    auto parsed = ParseJson(std::string("{\"n\": ") + std::string(text) + "}");
    REQUIRE(parsed.ok());
    auto n = JsonInt(*parsed, "n");
    REQUIRE_FALSE(n.ok());
    CHECK(n.status().code() == StatusCode::kInvalidArgument);
    CHECK(n.status().message().find("'n'") != std::string::npos);
  }
  auto max = ParseJson(R"({"n": 9223372036854775807, "m": -9223372036854775808})");
  REQUIRE(max.ok());
  auto n = JsonInt(*max, "n");
  REQUIRE_MESSAGE(n.ok(), n.status().ToString());
  CHECK(*n == std::numeric_limits<std::int64_t>::max());
  auto m = JsonInt(*max, "m");
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  CHECK(*m == std::numeric_limits<std::int64_t>::min());
}

namespace entente {

TEST_CASE("ParseJson refuses 8 MiB of '[' by its depth before building anything") {
  auto refused = ParseJson(std::string(8 << 20, '['));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("nested deeper than") != std::string::npos);
}

TEST_CASE("Brackets inside strings do not count towards the depth limit") {
  std::string text = "{\"a\":\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
  auto parsed = ParseJson(text);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  CHECK((*parsed)["a"].get<std::string>().size() == 2001);
}

TEST_CASE("ParseJson words an error in bytes that are not UTF-8 as Printable text") {
  auto refused = ParseJson("\xff\xfe");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("byte offset") != std::string::npos);
  CHECK(IsValidUtf8(refused.status().message()));
}

TEST_CASE("ParseJson accepts what only nlohmann parses: an integer past 64 bits") {
  auto big = ParseJson("[123456789012345678901234567890]");
  REQUIRE_MESSAGE(big.ok(), big.status().ToString());
  CHECK((*big)[0].is_number_float());
}

TEST_CASE("DumpJson never throws: invalid UTF-8 in a string becomes U+FFFD") {
  Json value{{"text", std::string("bad \xff byte")}};
  CHECK(DumpJson(value) == "{\"text\":\"bad \xef\xbf\xbd byte\"}");
  CHECK(DumpJson(Json{{"b", 1}, {"a", "x"}}) == "{\"a\":\"x\",\"b\":1}");
}

}  // namespace entente

TEST_CASE("DumpJson and CanonicalJson write byte for byte what nlohmann's dump writes") {
  // Strings of every byte class: plain ASCII of every length around the 8-byte words, quotes,
  // backslashes, control characters, DEL, multi-byte UTF-8.
  std::vector<std::string> strings{"", "a", "abcdefg", "abcdefgh", "abcdefghi", "dGVzdA==/+", "say \"hi\"",
                                   "back\\slash", "tab\there", "nul\0in"s, "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac",
                                   std::string(1000, 'x') + "\n"};
  for (int shift = 0; shift < 9; ++shift) strings.push_back(std::string(shift, 'p') + "\"" + std::string(9, 'q'));
  Json value = Json::object();
  Json list = Json::array();
  for (const std::string& s : strings) {
    list.push_back(s);
    value[s] = s;
  }
  value["list"] = list;
  value["numbers"] = {0, -1, 42, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::uint64_t>::max()};
  value["flags"] = {true, false, nullptr};
  value["empty"] = {{"object", Json::object()}, {"array", Json::array()}};
  const std::string expected = value.dump(-1, ' ', false, Json::error_handler_t::strict);
  CHECK(DumpJson(value) == expected);
  auto canonical = CanonicalJson(value);
  REQUIRE(canonical.ok());
  CHECK(*canonical == expected);
  // Floating-point numbers go through nlohmann's own formatting.
  Json with_float{{"x", 0.1}, {"y", 1e300}};
  CHECK(DumpJson(with_float) == with_float.dump(-1, ' ', false, Json::error_handler_t::replace));
}

TEST_CASE("DumpJson replaces invalid UTF-8 as nlohmann's dump does, and CanonicalJson refuses it") {
  Json value{{"bad", "ok \xff\xfe then \xc3"}, {"good", "plain"}};
  CHECK(DumpJson(value) == value.dump(-1, ' ', false, Json::error_handler_t::replace));
  auto canonical = CanonicalJson(value);
  REQUIRE_FALSE(canonical.ok());
  CHECK(canonical.status().code() == StatusCode::kInvalidArgument);
}
