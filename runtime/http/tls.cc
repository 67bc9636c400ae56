// TLS setup for the HTTP server and client on OpenSSL's objects; see internal/tls.h.
#include "runtime/http/internal/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include "runtime/common/bytes.h"

namespace entente::http::internal {
namespace {

// Returns the OpenSSL error queue as one line and clears it.
std::string OpenSslErrors() {
  std::string text;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

Status Refused(const std::string& what) { return Status::InvalidArgument(what + ": " + OpenSslErrors()); }

Status CheckReadable(const std::string& path, const std::string& what) {
  if (::access(path.c_str(), R_OK) != 0) return Status::InvalidArgument("cannot read the " + what + " " + path);
  return Status::Ok();
}

std::optional<crypto::Certificate> ToCertificate(X509* x509) {
  int length = i2d_X509(x509, nullptr);
  if (length <= 0) return std::nullopt;
  Bytes der(static_cast<size_t>(length));
  unsigned char* out = der.data();
  if (i2d_X509(x509, &out) != length) return std::nullopt;
  auto certificate = crypto::Certificate::FromDer(der);
  if (!certificate.ok()) return std::nullopt;
  return std::move(certificate).value();
}

}  // namespace

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Status ConfigureTls(SSL_CTX* ctx, const TlsFiles& files, TlsSide side, bool require_peer_certificate) {
  ERR_clear_error();
  const bool server = side == TlsSide::kServer;
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) return Refused("cannot restrict TLS to 1.3");
  if (server) {
    // No session tickets or cache: every connection presents and verifies its certificates afresh.
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  const bool has_cert = !files.cert_file.empty();
  const bool has_key = !files.key_file.empty();
  if (server && (!has_cert || !has_key)) {
    return Status::InvalidArgument("a TLS server needs a certificate file and a key file");
  }
  if (has_cert != has_key) {
    return Status::InvalidArgument(has_cert ? "the certificate " + files.cert_file + " has no key file"
                                            : "the key " + files.key_file + " has no certificate file");
  }
  if (has_cert) {
    ENTENTE_RETURN_IF_ERROR(CheckReadable(files.cert_file, "certificate file"));
    ENTENTE_RETURN_IF_ERROR(CheckReadable(files.key_file, "key file"));
    // The key first: a certificate that does not match it then leaves no key, which the check reports.
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Refused("cannot load the private key " + files.key_file);
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
      return Refused("cannot load the certificate chain " + files.cert_file);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("the key " + files.key_file + " does not belong to the certificate " +
                                     files.cert_file);
    }
  }
  for (const std::string& ca : files.ca_files) {
    ENTENTE_RETURN_IF_ERROR(CheckReadable(ca, "CA certificate file"));
    if (SSL_CTX_load_verify_file(ctx, ca.c_str()) != 1) return Refused("cannot load CA certificates from " + ca);
  }
  SSL_CTX_set_verify_depth(ctx, 8);
  if (!server) {
    if (files.ca_files.empty()) {
      return Status::InvalidArgument("a TLS client needs the CA files it trusts for the server's certificate");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else if (files.ca_files.empty()) {
    if (require_peer_certificate) {
      return Status::InvalidArgument("requiring client certificates needs the CA files that issue them");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (require_peer_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       nullptr);
  }
  return Status::Ok();
}

namespace {

// OpenSSL's certificate verification callback for SetPeerVerifier: converts the presented chain and
// asks the verifier. Returns 1 to accept, 0 to fail the handshake.
int VerifyWithPeerVerifier(X509_STORE_CTX* store, void* arg) {
  const auto* verifier = static_cast<const PeerVerifier*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  std::optional<crypto::Certificate> converted = leaf ? ToCertificate(leaf) : std::nullopt;
  if (!converted) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  std::vector<crypto::Certificate> intermediates;
  if (STACK_OF(X509)* untrusted = X509_STORE_CTX_get0_untrusted(store)) {
    for (int i = 0; i < sk_X509_num(untrusted); ++i) {
      X509* cert = sk_X509_value(untrusted, i);
      if (X509_cmp(cert, leaf) == 0) continue;
      if (auto c = ToCertificate(cert)) intermediates.push_back(std::move(*c));
    }
  }
  Status verdict = Status::Internal("no verifier");
  try {
    verdict = (*verifier)(*converted, intermediates);
  } catch (...) {
    verdict = Status::Internal("the certificate verifier failed");
  }
  if (!verdict.ok()) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

}  // namespace

void SetPeerVerifier(SSL_CTX* ctx, const PeerVerifier* verifier) {
  SSL_CTX_set_cert_verify_callback(ctx, &VerifyWithPeerVerifier, const_cast<PeerVerifier*>(verifier));
}

Status ExpectServerName(SSL* ssl, const std::string& host) {
  ERR_clear_error();
  if (IsIpAddress(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
      return Refused("cannot expect the server address " + host);
    }
    return Status::Ok();
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return Refused("cannot send the server name " + host);
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host.c_str()) != 1) return Refused("cannot expect the server name " + host);
  return Status::Ok();
}

PeerCertificates GetPeerCertificates(SSL* ssl) {
  PeerCertificates peer;
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) return peer;
  peer.leaf = ToCertificate(leaf);
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      X509* cert = sk_X509_value(chain, i);
      if (X509_cmp(cert, leaf) == 0) continue;
      if (auto converted = ToCertificate(cert)) peer.chain.push_back(std::move(*converted));
    }
  }
  return peer;
}

std::string VerifyFailure(SSL* ssl) {
  long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return "";
  return X509_verify_cert_error_string(result);
}

}  // namespace entente::http::internal
