#include "runtime/common/json.h"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>

namespace entente {
namespace {

Status RejectFloats(const Json& value, const std::string& path) {
  switch (value.type()) {
    case Json::value_t::number_float:
      return Status::InvalidArgument("canonical JSON: floating-point number at " + (path.empty() ? "/" : path));
    case Json::value_t::object:
      for (const auto& [key, item] : value.items()) {
        ENTENTE_RETURN_IF_ERROR(RejectFloats(item, path + "/" + key));
      }
      return Status::Ok();
    case Json::value_t::array: {
      size_t i = 0;
      for (const auto& item : value) ENTENTE_RETURN_IF_ERROR(RejectFloats(item, path + "/" + std::to_string(i++)));
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

Result<const Json*> Field(const Json& object, std::string_view field) {
  if (!object.is_object()) return Status::InvalidArgument("expected a JSON object");
  auto it = object.find(field);
  if (it == object.end()) return Status::InvalidArgument("missing field '" + std::string(field) + "'");
  return &*it;
}

// The string `field` of `object`, without a copy.
Result<const std::string*> StringField(const Json& object, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(const Json* v, Field(object, field));
  if (!v->is_string()) return Status::InvalidArgument("field '" + std::string(field) + "': expected a string");
  return &v->get_ref<const std::string&>();
}

// Builds `out` from a simdjson DOM element at nesting `depth`; false where the fast path stops (near
// kMaxJsonDepth), leaving the verdict to nlohmann's parser.
bool FromDom(simdjson::dom::element element, int depth, Json& out) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::ARRAY: {
      if (depth >= kMaxJsonDepth - 1) return false;
      out = Json::array();
      simdjson::dom::array items;
      if (element.get_array().get(items) != simdjson::SUCCESS) return false;
      for (simdjson::dom::element item : items) {
        if (!FromDom(item, depth + 1, out.emplace_back())) return false;
      }
      return true;
    }
    case element_type::OBJECT: {
      if (depth >= kMaxJsonDepth - 1) return false;
      out = Json::object();
      simdjson::dom::object fields;
      if (element.get_object().get(fields) != simdjson::SUCCESS) return false;
      for (simdjson::dom::key_value_pair field : fields) {
        Json& slot = out[std::string(field.key)];  // a repeated key keeps its last value, as nlohmann does
        if (!FromDom(field.value, depth + 1, slot)) return false;
      }
      return true;
    }
    case element_type::INT64: {
      // nlohmann keeps non-negative integers unsigned.
      std::int64_t value = element.get_int64().value_unsafe();
      if (value >= 0) {
        out = static_cast<std::uint64_t>(value);
      } else {
        out = value;
      }
      return true;
    }
    case element_type::UINT64:
      out = element.get_uint64().value_unsafe();
      return true;
    case element_type::DOUBLE:
      out = element.get_double().value_unsafe();
      return true;
    case element_type::STRING:
      out = std::string(element.get_string().value_unsafe());
      return true;
    case element_type::BOOL:
      out = element.get_bool().value_unsafe();
      return true;
    case element_type::NULL_VALUE:
      out = nullptr;
      return true;
  }
  return false;
}

// Parses `text` with simdjson (an order of magnitude faster than nlohmann's lexer on the long
// base64 strings of envelopes); nullopt for anything it does not accept, which the slow path decides.
std::optional<Json> ParseFast(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  Json out;
  if (!FromDom(root, 0, out)) return std::nullopt;
  return out;
}

// How many times `c` occurs in `text`, counting no further than `limit` + 1.
std::size_t CountUpTo(std::string_view text, char c, std::size_t limit) {
  std::size_t n = 0;
  for (const char* p = text.data(); n <= limit;) {
    p = static_cast<const char*>(std::memchr(p, c, static_cast<std::size_t>(text.data() + text.size() - p)));
    if (p == nullptr) break;
    ++n;
    ++p;
  }
  return n;
}

// True if `text` nests arrays and objects deeper than `limit`, counting brackets outside strings.
// Malformed text may pass; the parsers judge it.
bool NestedDeeperThan(std::string_view text, int limit) {
  // Text with no more opening brackets than the limit cannot nest deeper: this settles envelopes and
  // blocks, whose bulk is long strings, at memchr's speed.
  const auto most = static_cast<std::size_t>(limit);
  const std::size_t arrays = CountUpTo(text, '[', most);
  if (arrays <= most && arrays + CountUpTo(text, '{', most - arrays) <= most) return false;
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// A SAX handler that builds nothing and keeps the first syntax error, worded with its byte offset.
struct SyntaxCheck : nlohmann::json_sax<Json> {
  std::string error;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    std::string what = e.what();
    // nlohmann's message starts with "[json.exception.parse_error.101] "; keep the human part.
    auto pos = what.find("] ");
    error = "malformed JSON at byte offset " + std::to_string(position) + ": " +
            (pos == std::string::npos ? what : what.substr(pos + 2));
    return false;
  }
};

// True if any of the 8 bytes of `word` is a control character, a quote, a backslash or above 0x7F: the
// bytes a JSON string cannot hold as they are (or, above 0x7F, only after a UTF-8 check).
bool NeedsCare(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  return ((word - kOnes * 0x20) | word | has_zero(word ^ (kOnes * '"')) | has_zero(word ^ (kOnes * '\\'))) & kHigh;
}

// True if `text` is printable ASCII without quotes and backslashes, which JSON holds unescaped.
bool IsPlain(std::string_view text) {
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    if (NeedsCare(word)) return false;
  }
  for (; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
}

void WriteString(const std::string& text, Json::error_handler_t handler, std::string& out) {
  if (IsPlain(text)) {
    out.push_back('"');
    out.append(text);
    out.push_back('"');
    return;
  }
  out += Json(text).dump(-1, ' ', /*ensure_ascii=*/false, handler);  // escapes and UTF-8 checks
}

// Appends the compact serialization of `value`, byte for byte what nlohmann's dump(-1, ' ', false,
// handler) gives (signatures are over it), without its per-byte work on the long base64 strings of
// envelopes and blocks. Throws Json::type_error for invalid UTF-8 under the strict handler, as dump does.
void WriteCompact(const Json& value, Json::error_handler_t handler, std::string& out) {
  switch (value.type()) {
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : value.get_ref<const Json::object_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        WriteString(key, handler, out);
        out.push_back(':');
        WriteCompact(item, handler, out);
      }
      out.push_back('}');
      return;
    }
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const Json& item : value.get_ref<const Json::array_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        WriteCompact(item, handler, out);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::string:
      return WriteString(value.get_ref<const std::string&>(), handler, out);
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      char digits[24];
      auto [end, ec] = value.is_number_unsigned() ? std::to_chars(digits, digits + sizeof digits, value.get<std::uint64_t>())
                                                  : std::to_chars(digits, digits + sizeof digits, value.get<std::int64_t>());
      out.append(digits, end);
      return;
    }
    default:  // floating-point numbers, binary values, discarded values
      out += value.dump(-1, ' ', /*ensure_ascii=*/false, handler);
      return;
  }
}

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  // Refused before any parser allocates: a deep tree would exhaust the stack of every recursive walk
  // over the value, and megabytes of "[" would cost the parsers hundreds of megabytes.
  if (NestedDeeperThan(text, kMaxJsonDepth)) {
    return Status::InvalidArgument("malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth));
  }
  if (std::optional<Json> fast = ParseFast(text)) return std::move(*fast);
  // simdjson refused it: learn where and why without building anything, then let nlohmann build
  // what it accepts (e.g. integers past 64 bits, which become floating-point numbers).
  SyntaxCheck check;
  if (!Json::sax_parse(text, &check, Json::input_format_t::json, /*strict=*/true) || !check.error.empty()) {
    return Status::InvalidArgument(check.error.empty() ? "malformed JSON" : check.error);
  }
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::InvalidArgument("malformed JSON");
  return value;
}

std::string DumpJson(const Json& value) {
  std::string out;
  WriteCompact(value, Json::error_handler_t::replace, out);
  return out;
}

Result<std::string> CanonicalJson(const Json& value) {
  ENTENTE_RETURN_IF_ERROR(RejectFloats(value, ""));
  try {
    std::string out;
    WriteCompact(value, Json::error_handler_t::strict, out);
    return out;
  } catch (const Json::type_error& e) {
    return Status::InvalidArgument(std::string("canonical JSON: ") + e.what());
  }
}

Result<std::string> JsonString(const Json& object, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(const std::string* text, StringField(object, field));
  return *text;
}

Result<std::int64_t> JsonInt(const Json& object, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(const Json* v, Field(object, field));
  bool fits = v->is_number_integer() &&
              (!v->is_number_unsigned() || v->get<std::uint64_t>() <= std::uint64_t{INT64_MAX});
  if (!fits) return Status::InvalidArgument("field '" + std::string(field) + "': expected a 64-bit integer");
  return v->get<std::int64_t>();
}

Result<Bytes> JsonBase64(const Json& object, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(const std::string* text, StringField(object, field));
  auto bytes = Base64Decode(*text);
  if (!bytes.ok()) return bytes.status().WithContext("field '" + std::string(field) + "'");
  return bytes;
}

Status CheckMembers(const Json& object, std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return Status::InvalidArgument("expected a JSON object");
  for (const auto& [name, value] : object.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == name;
    if (known) continue;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return Status::InvalidArgument("unknown field '" + name + "' (expected one of: " + list + ")");
  }
  return Status::Ok();
}

}  // namespace entente
