// The parts of an adapter's endpoint ("scheme://host:port"), the HTTPS client of one, and the encoding
// of a URL path segment, shared by the chain adapters. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/common/status.h"

namespace entente::http {
class Client;
struct TlsFiles;
}  // namespace entente::http

namespace entente::adapters {

// Where a service listens.
struct HostPort {
  std::string host;  // without IPv6 brackets
  std::uint16_t port = 0;
};

// Removes "<scheme>://" from the front of `text` when it is there. Returns false, leaving `text` as it
// was, when `text` starts with another scheme.
bool StripScheme(std::string_view& text, std::string_view scheme);

// Parses "host:port" or "[v6]:port" (no scheme, no path). Returns InvalidArgument whose message is
// only the reason, for the caller to prefix with the endpoint: `without_port` when there is no ':',
// "expected [address]:port" for a bad bracketed form, "an IPv6 address must be in brackets: ..." for
// a bare IPv6 address, "expected a host before the port" for an empty host or one holding '/', and
// "the port must be a number 1-65535" otherwise.
Result<HostPort> ParseHostPort(std::string_view authority, std::string_view without_port);

// Returns "host:port", with the host in brackets when it is an IPv6 address.
std::string HostPortText(const std::string& host, std::uint16_t port);

// Returns an HTTPS client of host:port (`host` without brackets) that presents tls's client certificate
// (none when its files are empty), trusts tls.ca_files and gives up a call after `timeout`.
std::unique_ptr<http::Client> HttpsClient(std::string host, std::uint16_t port, const http::TlsFiles& tls,
                                          std::chrono::milliseconds timeout);

// Returns `text` percent-encoded for a URL path segment: every byte but RFC 3986's unreserved
// characters (letters, digits, '-', '.', '_', '~') becomes %XX with uppercase hex.
std::string EncodePathSegment(std::string_view text);

}  // namespace entente::adapters
