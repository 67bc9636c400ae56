#include "runtime/common/address.h"

namespace entente {

std::optional<Address> ParseAddress(std::string_view text) {
  if (text.starts_with("https://")) text.remove_prefix(8);
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view digits = text.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  unsigned port = 0;
  for (char c : digits) port = port * 10 + static_cast<unsigned>(c - '0');
  if (port == 0 || port > 65535) return std::nullopt;
  return Address{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

}  // namespace entente
