// ParseHostPort, HttpsClient and EncodePathSegment: the endpoint syntax, client and URL encoding the
// adapters share.
#include "adapters/internal/endpoint.h"

#include <utility>

#include "runtime/http/http.h"

namespace entente::adapters {

bool StripScheme(std::string_view& text, std::string_view scheme) {
  std::size_t end = text.find("://");
  if (end == std::string_view::npos) return true;
  if (text.substr(0, end) != scheme) return false;
  text.remove_prefix(end + 3);
  return true;
}

Result<HostPort> ParseHostPort(std::string_view authority, std::string_view without_port) {
  HostPort out;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close + 1 >= authority.size() || authority[close + 1] != ':') {
      return Status::InvalidArgument("expected [address]:port");
    }
    out.host = std::string(authority.substr(1, close - 1));
    port = authority.substr(close + 2);
  } else {
    std::size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) return Status::InvalidArgument(std::string(without_port));
    out.host = std::string(authority.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return Status::InvalidArgument("an IPv6 address must be in brackets: [address]:port");
    }
    port = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.host.find('/') != std::string::npos) {
    return Status::InvalidArgument("expected a host before the port");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::InvalidArgument("the port must be a number 1-65535");
  }
  unsigned long number = std::stoul(std::string(port));
  if (number < 1 || number > 65535) return Status::InvalidArgument("the port must be a number 1-65535");
  out.port = static_cast<std::uint16_t>(number);
  return out;
}

std::string HostPortText(const std::string& host, std::uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::unique_ptr<http::Client> HttpsClient(std::string host, std::uint16_t port, const http::TlsFiles& tls,
                                          std::chrono::milliseconds timeout) {
  http::ClientOptions client;
  client.host = std::move(host);
  client.port = port;
  client.tls = tls;
  client.timeout = timeout;
  return std::make_unique<http::Client>(std::move(client));
}

std::string EncodePathSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    }
  }
  return out;
}

}  // namespace entente::adapters
