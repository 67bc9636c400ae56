// Entente's cryptography: SHA-256, ECDSA P-256 keys and signatures (DER, SHA-256, low-S), X.509
// certificates of the alliance (ECerts, TCerts bound to their ECert, CAs) and CRLs, and the
// TrustStore that decides whether a certificate is valid at a given time. OpenSSL underneath; no
// OpenSSL type appears here. Keys, certificates and CRLs are immutable values, safe to share across
// threads; TrustStore is thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

struct evp_pkey_st;
struct x509_st;

namespace entente::crypto {

namespace internal {
struct NativeAccess;  // runtime/crypto/internal/openssl.h: the OpenSSL objects behind these values
}  // namespace internal

using Digest = std::array<std::uint8_t, 32>;
using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// ---- Hashing and randomness ----

Digest Sha256(ByteView data);
// SHA-256 of the concatenation of `parts`.
Digest Sha256(std::initializer_list<ByteView> parts);
std::string Sha256Hex(ByteView data);
// Returns `n` bytes from the operating system's CSPRNG.
Bytes RandomBytes(size_t n);

// ---- Keys and signatures ----

class PublicKey {
 public:
  // Returns InvalidArgument unless the input is a P-256 SubjectPublicKeyInfo.
  static Result<PublicKey> FromPem(std::string_view pem);
  static Result<PublicKey> FromDer(ByteView der);

  Bytes Der() const;
  std::string Pem() const;

  // Returns true iff `signature` is a DER ECDSA signature over SHA-256(`message`) by this key with
  // a low S value (as Fabric requires, so that no signature has a second valid encoding).
  bool Verify(ByteView message, ByteView signature) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) { return a.Der() == b.Der(); }

 private:
  friend struct internal::NativeAccess;
  explicit PublicKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

class PrivateKey {
 public:
  // Returns a fresh P-256 key.
  static Result<PrivateKey> Generate();
  // Returns InvalidArgument unless the PEM holds an unencrypted P-256 private key.
  static Result<PrivateKey> FromPem(std::string_view pem);
  static Result<PrivateKey> LoadFile(const std::string& path);

  // PKCS#8 PEM. Never log it.
  std::string Pem() const;
  // Writes the PEM with mode 0600, atomically.
  Status SaveFile(const std::string& path) const;

  // The public half, derived once when the key was made or loaded.
  PublicKey Public() const;
  // Returns a DER ECDSA signature over SHA-256(`message`), normalized to low S.
  Result<Bytes> Sign(ByteView message) const;

 private:
  friend struct internal::NativeAccess;
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> key);
  std::shared_ptr<evp_pkey_st> key_;
  std::shared_ptr<evp_pkey_st> public_;  // the public half alone, no private material
};

// ---- Certificates ----

// The role of a certificate's holder, from its OU (DESIGN.md §4).
// The OU of an alliance certificate. kEtcd is an etcd member's server certificate (replicated relays
// order through etcd): it serves etcd and dials it (its gateway), and authenticates to no Entente API.
enum class Role { kNode, kClient, kAdmin, kRelay, kTx, kCa, kEtcd, kUnknown };
std::string_view RoleName(Role role);
// Returns InvalidArgument for a name other than node, client, admin, relay, tx, ca or etcd.
Result<Role> ParseRole(std::string_view name);

// Subject fields of an alliance certificate: O=<chain>, OU=<role>, CN=<id>.
struct Subject {
  std::string chain;
  Role role = Role::kUnknown;
  std::string role_name;
  std::string id;
};

// The OID of the TCert binding extension: a non-critical extension whose value is an OCTET STRING
// holding the SHA-256 of the bound ECert's DER. A UUID-based OID (ITU-T X.667), needing no registry.
inline constexpr std::string_view kTcertBindingOid = "2.25.136334832699180013603228289739072851704";

class Certificate {
 public:
  // Parses the first certificate of a PEM text. InvalidArgument for garbage or a damaged certificate.
  static Result<Certificate> FromPem(std::string_view pem);
  // Parses every certificate of a PEM text (a leaf followed by its intermediates); at least one.
  static Result<std::vector<Certificate>> ChainFromPem(std::string_view pem);
  static Result<Certificate> FromDer(ByteView der);
  static Result<Certificate> LoadFile(const std::string& path);

  const Bytes& Der() const { return der_; }
  std::string Pem() const;
  // SHA-256 of the DER: the certificate's identity in caches and in TCert bindings.
  const Digest& Fingerprint() const { return fingerprint_; }

  const Subject& subject() const { return facts_->subject; }
  // One-line RFC 2253 forms, for messages.
  std::string SubjectText() const;
  std::string IssuerText() const;
  // Serial number as uppercase hex.
  const std::string& SerialHex() const { return facts_->serial_hex; }
  TimePoint NotBefore() const { return facts_->not_before; }
  TimePoint NotAfter() const { return facts_->not_after; }
  bool IsCa() const;
  bool IsSelfSigned() const;
  // The ECert fingerprint carried by a TCert's binding extension; nullopt when absent or malformed.
  const std::optional<Digest>& BoundEcert() const { return facts_->bound_ecert; }
  PublicKey Key() const;
  // True if this certificate's issuer name is `issuer`'s subject and its signature verifies with
  // `issuer`'s key.
  bool IsIssuedBy(const Certificate& issuer) const;

  friend bool operator==(const Certificate& a, const Certificate& b) { return a.der_ == b.der_; }

 private:
  friend struct internal::NativeAccess;
  explicit Certificate(std::shared_ptr<x509_st> cert);

  // What validation reads on every check, decoded once when the certificate is parsed.
  struct Facts {
    Subject subject;
    std::string serial_hex;
    TimePoint not_before;
    TimePoint not_after;
    std::optional<Digest> bound_ecert;
  };

  std::shared_ptr<x509_st> cert_;
  Bytes der_;
  Digest fingerprint_{};
  std::shared_ptr<const Facts> facts_;
};

// What a CA puts into a certificate it issues.
struct CertificateRequest {
  std::string chain;  // O
  std::string role;   // OU: node, client, admin, relay, tx or ca
  std::string id;     // CN
  TimePoint not_before;
  TimePoint not_after;
  bool is_ca = false;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries
  std::optional<Digest> bound_ecert;      // set for a TCert: the ECert's fingerprint
};

// Issues a certificate for `subject_key`, signed by `issuer_key`. With `issuer` null the certificate
// is self-signed (a root CA) and `issuer_key` must match `subject_key`. The serial is 128 random bits.
// Returns InvalidArgument for an empty chain/role/id or a validity window that ends before it starts.
Result<Certificate> IssueCertificate(const CertificateRequest& request, const PublicKey& subject_key,
                                     const Certificate* issuer, const PrivateKey& issuer_key);

// A revoked certificate, by serial (uppercase hex, as Certificate::SerialHex).
struct Revocation {
  std::string serial_hex;
  TimePoint revoked_at;
};

// Returns a PEM X.509 v2 CRL of `issuer` listing `revoked`, signed by `issuer_key`.
Result<std::string> MakeCrlPem(const Certificate& issuer, const PrivateKey& issuer_key,
                               const std::vector<Revocation>& revoked, TimePoint this_update,
                               TimePoint next_update);

// What a CRL says, once the key of its issuer verified it.
struct CrlFacts {
  Certificate issuer;                     // the CA certificate whose key signed it
  TimePoint this_update;                  // lastUpdate: when it was issued
  std::optional<TimePoint> next_update;   // when a newer one is due, if it says
  std::set<std::string> revoked_serials;  // uppercase hex, as Certificate::SerialHex
};
// Parses a PEM CRL and finds its issuer among `issuers` (the CA certificate named as its issuer whose
// key verifies it; several may share a name). InvalidArgument when it does not parse or no issuer's
// key verifies it. Its dates are reported, not judged.
Result<CrlFacts> ReadCrl(std::string_view crl_pem, const std::vector<Certificate>& issuers);

// A parsed chain, leaf first, shared by everyone who parsed the same PEM text.
using CertificateChain = std::shared_ptr<const std::vector<Certificate>>;

// Memoizes parsed certificate chains by their PEM text. With OpenSSL 3, parsing a certificate costs
// about as much as verifying a signature, and the same creators and endorsers present the same PEM in
// proposal after proposal. Parsed certificates are immutable values, so a cached chain is exactly what
// parsing again would give; validity and revocation are checked on every use, never cached here.
// Thread-safe: lookups share a lock, insertions take it exclusively.
class ChainCache {
 public:
  // Holds at most `capacity` chains; when full it starts over (as the TrustStore's cache does).
  explicit ChainCache(std::size_t capacity) : capacity_(capacity) {}
  // Returns the chain Certificate::ChainFromPem parses from `pem`, from the cache when it was parsed
  // before. A PEM that does not parse is not cached; its error is returned.
  Result<CertificateChain> Parse(std::string_view pem);
  std::size_t size() const;

 private:
  const std::size_t capacity_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, CertificateChain> chains_;  // GUARDED_BY(mu_)
};
// The process's cache of the chains that proposals and envelopes present (4096 chains, a few MB at
// most), which endorsement and validation share.
ChainCache& SharedChainCache();

// ---- Trust decisions ----

enum class CertificateVerdict {
  kValid,
  kMalformed,      // not a certificate, or missing what an alliance certificate must carry
  kUntrusted,      // does not chain to a trusted CA, or a signature in the chain does not verify
  kExpired,        // the certificate or one above it is past its notAfter
  kNotYetValid,    // the certificate or one above it is before its notBefore
  kRevoked,        // listed on its issuer's CRL
  kUnknownEcert,   // a TCert bound to an ECert the store does not know
  kEcertRevoked,   // a TCert bound to a revoked ECert
};
std::string_view CertificateVerdictName(CertificateVerdict verdict);

struct CertificateCheck {
  CertificateVerdict verdict = CertificateVerdict::kMalformed;
  std::string reason;              // in words, naming the certificate
  std::vector<Certificate> chain;  // leaf first, trusted CA last; set when the chain was built
  bool ok() const { return verdict == CertificateVerdict::kValid; }
};

// The alliance's trust anchors (every chain's CA certificates), the CRLs of those CAs, and the ECerts
// that TCerts may be bound to. Decides whether a certificate is valid at a time. A certificate's chain
// signatures are verified once and cached by fingerprint; validity windows and revocation are checked
// on every call. Thread-safe: checks run concurrently, additions take an exclusive lock.
class TrustStore {
 public:
  TrustStore();
  ~TrustStore();
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  // Trusts a CA certificate. InvalidArgument if it is not a CA certificate.
  Status AddCa(const Certificate& ca);
  // Installs a PEM CRL, replacing the CRL of the same issuer (the CA certificate whose key signed it)
  // unless the installed one is newer (lastUpdate): the newer of the two stays. Its issuer must be a
  // trusted CA, or one of `intermediates` issued by a trusted CA. InvalidArgument if it does not parse
  // or no such CA's key verifies it. A CRL past its nextUpdate is installed all the same (revocations
  // never lapse with age) and listed by StaleCrls.
  Status AddCrl(std::string_view crl_pem, const std::vector<Certificate>& intermediates = {});
  // The issuers (subject text) of the installed CRLs whose nextUpdate is before `at`: each is due for
  // a newer CRL, which its chain should publish.
  std::vector<std::string> StaleCrls(TimePoint at) const;
  // Registers an ECert that TCerts may be bound to.
  void AddEcert(const Certificate& ecert);
  // Returns the registered ECert with this fingerprint (a TCert's BoundEcert), if any.
  std::optional<Certificate> FindEcert(const Digest& fingerprint) const;

  // Checks `leaf` at time `at`, building its chain from the trusted CAs and `intermediates`. Every
  // certificate of the chain must name (O=) the same chain as the trusted CA it ends at, and the leaf
  // must hold a P-256 key. A TCert (a certificate with the binding extension) is valid only if its
  // bound ECert is registered or among `intermediates` (a creator presents TCert, ECert, ...), and is
  // itself valid at `at`.
  CertificateCheck Check(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                         TimePoint at) const;
  // Convenience: checks the first certificate of `chain`, the rest being intermediates.
  CertificateCheck Check(const std::vector<Certificate>& chain, TimePoint at) const;

  // How many chain verifications were answered from the cache (for tests and metrics).
  std::uint64_t cache_hits() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace entente::crypto
