// TLS plumbing shared by the HTTP server and client, on OpenSSL's own objects (an Asio ssl::context
// or ssl::stream hands out its SSL_CTX / SSL): loading certificates and trust anchors, TLS 1.3 only,
// host name checks, and the peer's certificates as crypto::Certificate. Included only by runtime/http.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"
#include "runtime/http/http.h"

struct ssl_ctx_st;
struct ssl_st;

namespace entente::http::internal {

enum class TlsSide { kServer, kClient };

// Restricts `ctx` to TLS 1.3, loads this side's certificate chain and key from `files` (a server must
// have them; a client may have neither) and trusts `files.ca_files` for the other side. A server
// verifies client certificates when it has CA files, and requires one when `require_peer_certificate`;
// a client always verifies the server. Returns InvalidArgument naming an unreadable or mismatched file.
Status ConfigureTls(ssl_ctx_st* ctx, const TlsFiles& files, TlsSide side, bool require_peer_certificate);

// Makes the server `ctx` decide client certificates with `verifier` (which must outlive `ctx`) instead
// of its CA files: OpenSSL's chain verification is replaced by the call.
void SetPeerVerifier(ssl_ctx_st* ctx, const PeerVerifier* verifier);

// Makes the client connection `ssl` send SNI for a DNS name and accept only a server certificate for
// `host` (a DNS SAN, or an IP SAN when `host` is an IP address). InvalidArgument if OpenSSL refuses it.
Status ExpectServerName(ssl_st* ssl, const std::string& host);

// The certificate the peer presented and the other certificates it sent (without the leaf).
struct PeerCertificates {
  std::optional<crypto::Certificate> leaf;
  std::vector<crypto::Certificate> chain;
};
PeerCertificates GetPeerCertificates(ssl_st* ssl);

// Why the peer's certificate failed verification ("certificate has expired"), or "" when it did not.
std::string VerifyFailure(ssl_st* ssl);

// True if `host` is an IPv4 or IPv6 address literal.
bool IsIpAddress(const std::string& host);

}  // namespace entente::http::internal
