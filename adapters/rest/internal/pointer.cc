// Pointer: RFC 6901 parsing and lookup without exceptions, and lenient readings of what is found.
#include "adapters/rest/internal/pointer.h"

#include <utility>

namespace entente::adapters::rest {
namespace {

// Parses an array index: "0", or digits without a leading zero.
std::optional<std::size_t> IndexOf(const std::string& token) {
  if (token.empty() || token.size() > 18 || token.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  if (token.size() > 1 && token[0] == '0') return std::nullopt;
  return static_cast<std::size_t>(std::stoull(token));
}

std::string Describe(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return text.size() > 60 ? text.substr(0, 60) + "..." : text;
}

}  // namespace

Result<Pointer> Pointer::Parse(std::string_view text) {
  Pointer out;
  out.text_ = std::string(text);
  if (text.empty()) return out;
  if (text.front() != '/') {
    return Status::InvalidArgument("'" + out.text_ + "' is not a JSON pointer: it must be empty or start with '/'");
  }
  std::string token;
  for (std::size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      out.tokens_.push_back(std::move(token));
      token.clear();
    } else if (text[i] == '~') {
      char next = i + 1 < text.size() ? text[i + 1] : '\0';
      if (next != '0' && next != '1') {
        return Status::InvalidArgument("'" + out.text_ + "' is not a JSON pointer: '~' must be followed by 0 or 1");
      }
      token += next == '0' ? '~' : '/';
      ++i;
    } else {
      token += text[i];
    }
  }
  return out;
}

const Json* Pointer::Find(const Json& document) const {
  const Json* at = &document;
  for (const std::string& token : tokens_) {
    if (at->is_object()) {
      auto member = at->find(token);
      if (member == at->end()) return nullptr;
      at = &*member;
    } else if (at->is_array()) {
      std::optional<std::size_t> index = IndexOf(token);
      if (!index || *index >= at->size()) return nullptr;
      at = &(*at)[*index];
    } else {
      return nullptr;
    }
  }
  return at;
}

bool Holds(const Json& document, const Pointer& pointer) {
  const Json* value = pointer.Find(document);
  if (value == nullptr || value->is_null()) return false;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_number()) return *value != 0;
  if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    return !text.empty() && text != "0" && text != "false";
  }
  return !value->empty();  // array or object
}

Result<std::uint64_t> NumberAt(const Json& document, const Pointer& pointer) {
  const Json* value = pointer.Find(document);
  auto bad = [&](const std::string& why) { return Status::InvalidArgument("at '" + pointer.text() + "': " + why); };
  if (value == nullptr) return bad("nothing there, expected a number");
  if (value->is_number_unsigned()) return value->get<std::uint64_t>();
  if (value->is_number_integer()) {
    if (value->get<std::int64_t>() < 0) return bad("expected a non-negative number, got " + Describe(*value));
    return static_cast<std::uint64_t>(value->get<std::int64_t>());
  }
  if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    if (!text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos) {
      try {
        return static_cast<std::uint64_t>(std::stoull(text));
      } catch (const std::exception&) {
      }
    }
  }
  return bad("expected a non-negative integer (a number or a string of digits), got " + Describe(*value));
}

Result<std::optional<std::string>> StringAt(const Json& document, const Pointer& pointer) {
  const Json* value = pointer.Find(document);
  if (value == nullptr || value->is_null()) return std::optional<std::string>();
  if (!value->is_string()) {
    return Status::InvalidArgument("at '" + pointer.text() + "': expected a string, got " + Describe(*value));
  }
  return std::optional<std::string>(value->get<std::string>());
}

}  // namespace entente::adapters::rest
