// Addresses of nodes and relays as the command line, alliance.yaml and node.yaml give them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace entente {

struct Address {
  std::string host;
  std::uint16_t port = 0;
};

// Parses "host:port" or "https://host:port". Returns nullopt for anything else: no host, no port, or a
// port that is not a number from 1 to 65535.
std::optional<Address> ParseAddress(std::string_view text);

}  // namespace entente
