// HTTP/1.1 message syntax checks shared by the server and the client (RFC 9110). Pure functions.
#pragma once

#include <algorithm>
#include <string_view>

namespace entente::http::internal {

// True if `c` may appear in a token: a method or a header name (RFC 9110 tchar).
inline bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// True for a non-empty token: a valid method or header name.
inline bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

// True for a header value that cannot split the message: no CR, LF or NUL.
inline bool IsHeaderValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

}  // namespace entente::http::internal
