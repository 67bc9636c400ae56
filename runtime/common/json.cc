#include "runtime/common/json.h"

#include <simdjson.h>

#include <cstdint>
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

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  if (std::optional<Json> fast = ParseFast(text)) return std::move(*fast);
  // Deeply nested input would exhaust the stack of every recursive walk over the value.
  bool too_deep = false;
  Json::parser_callback_t limit_depth = [&too_deep](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return true;
  };
  Json value = Json::parse(text, limit_depth, /*allow_exceptions=*/false);
  if (too_deep) return Status::InvalidArgument("malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth));
  if (!value.is_discarded()) return value;
  // Parse again with exceptions to learn where and why; only on the error path.
  try {
    Json reparsed = Json::parse(text);
    (void)reparsed;
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    // nlohmann's message starts with "[json.exception.parse_error.101] "; keep the human part.
    auto pos = what.find("] ");
    return Status::InvalidArgument("malformed JSON at byte offset " + std::to_string(e.byte) + ": " +
                                   (pos == std::string::npos ? what : what.substr(pos + 2)));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed JSON: ") + e.what());
  }
  return Status::InvalidArgument("malformed JSON");
}

Result<std::string> CanonicalJson(const Json& value) {
  ENTENTE_RETURN_IF_ERROR(RejectFloats(value, ""));
  try {
    return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::strict);
  } catch (const Json::type_error& e) {
    return Status::InvalidArgument(std::string("canonical JSON: ") + e.what());
  }
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

Result<std::string> JsonString(const Json& object, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(const Json* v, Field(object, field));
  if (!v->is_string()) return Status::InvalidArgument("field '" + std::string(field) + "': expected a string");
  return v->get<std::string>();
}

Result<std::int64_t> JsonInt(const Json& object, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(const Json* v, Field(object, field));
  bool fits = v->is_number_integer() &&
              (!v->is_number_unsigned() || v->get<std::uint64_t>() <= std::uint64_t{INT64_MAX});
  if (!fits) return Status::InvalidArgument("field '" + std::string(field) + "': expected a 64-bit integer");
  return v->get<std::int64_t>();
}

Result<Bytes> JsonBase64(const Json& object, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(std::string text, JsonString(object, field));
  auto bytes = Base64Decode(text);
  if (!bytes.ok()) return bytes.status().WithContext("field '" + std::string(field) + "'");
  return bytes;
}

}  // namespace entente
