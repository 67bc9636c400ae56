// CertificateAuthority is one member chain's CA, kept in a directory (DESIGN.md §4):
//   ca.pem, ca-key.pem                     the self-signed root: the certificate the alliance trusts
//   intermediate.pem, intermediate-key.pem the issuing CA when made with an intermediate
//   revoked.json                           serials this CA has revoked, with times
//   crl.pem                                the issuing CA's current CRL, rewritten on every revocation
// It issues ECerts (O=<chain>, OU=<role>, CN=<id>), batches of TCerts bound to an ECert, and CRLs.
// Thread-compatible: one process at a time should change a CA directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"

namespace entente::certs {

inline constexpr int kDefaultRootDays = 3650;
inline constexpr int kDefaultEcertDays = 365;
inline constexpr int kDefaultTcertHours = 24;
inline constexpr int kDefaultCrlDays = 30;

// A certificate just issued, its private key, and the intermediates between it and the root.
struct IssuedCertificate {
  crypto::Certificate certificate;
  crypto::PrivateKey key;
  std::vector<crypto::Certificate> intermediates;

  // The certificate followed by its intermediates, as PEM (what `cert.pem` holds).
  std::string ChainPem() const;
  // Writes ChainPem() to `cert_path` (0644) and the key to `key_path` (0600).
  Status Save(const std::string& cert_path, const std::string& key_path) const;
};

class CertificateAuthority {
 public:
  // Creates a CA for `chain` in `dir` (created if missing). AlreadyExists if `dir` holds a CA.
  static Result<CertificateAuthority> Init(const std::string& dir, const std::string& chain,
                                           bool with_intermediate);
  // Opens the CA in `dir`. NotFound when there is none; InvalidArgument naming a damaged file;
  // Corruption when revoked.json is missing.
  static Result<CertificateAuthority> Open(const std::string& dir);

  const std::string& chain() const { return chain_; }
  const std::string& dir() const { return dir_; }
  // The root certificate (DIR/ca.pem), which members trust.
  const crypto::Certificate& root() const { return root_; }
  // The certificate that signs what this CA issues: the intermediate if there is one, else the root.
  const crypto::Certificate& issuer() const { return intermediate_ ? *intermediate_ : root_; }

  // Issues an ECert for `id` in `role` (node, client, admin, relay or etcd) valid from now for `days`.
  // `hosts` become subjectAltName entries (IP addresses or DNS names), for TLS servers.
  Result<IssuedCertificate> IssueEcert(crypto::Role role, const std::string& id, int days,
                                       const std::vector<std::string>& hosts = {}) const;
  // Issues `count` TCerts (OU=tx, same CN and O as the ECert) bound to `ecert`, valid for `hours`
  // but never past the ECert. FailedPrecondition if `ecert` was not issued by this CA or is revoked.
  Result<std::vector<IssuedCertificate>> IssueTcerts(const crypto::Certificate& ecert, int count,
                                                     int hours) const;

  // Records `certificate` as revoked and rewrites DIR/crl.pem. InvalidArgument if this CA did not
  // issue it. Revoking twice is fine.
  Status Revoke(const crypto::Certificate& certificate);
  // Returns a CRL listing every revoked serial, valid for kDefaultCrlDays.
  Result<std::string> CrlPem() const;
  // True if this CA has revoked the certificate with serial `serial_hex`.
  bool IsRevoked(const std::string& serial_hex) const;

 private:
  CertificateAuthority(std::string dir, std::string chain, crypto::Certificate root, crypto::PrivateKey root_key)
      : dir_(std::move(dir)), chain_(std::move(chain)), root_(std::move(root)), root_key_(std::move(root_key)) {}
  const crypto::PrivateKey& issuer_key() const { return intermediate_key_ ? *intermediate_key_ : root_key_; }
  // Returns OK if `certificate` names this CA's issuer and its signature verifies with the issuer's key.
  Status CheckIssuedHere(const crypto::Certificate& certificate) const;
  // Writes revoked.json and crl.pem.
  Status SaveRevocations() const;

  std::string dir_;
  std::string chain_;
  crypto::Certificate root_;
  crypto::PrivateKey root_key_;
  std::optional<crypto::Certificate> intermediate_;
  std::optional<crypto::PrivateKey> intermediate_key_;
  std::vector<crypto::Revocation> revoked_;
};

}  // namespace entente::certs
