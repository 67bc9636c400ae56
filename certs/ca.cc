#include "certs/ca.h"

#include <sys/stat.h>

#include <filesystem>

#include "runtime/common/file.h"
#include "runtime/common/json.h"

namespace entente::certs {
namespace {

using crypto::Certificate;
using crypto::Clock;
using crypto::PrivateKey;

constexpr char kRootCert[] = "ca.pem";
constexpr char kRootKey[] = "ca-key.pem";
constexpr char kIntermediateCert[] = "intermediate.pem";
constexpr char kIntermediateKey[] = "intermediate-key.pem";
constexpr char kRevoked[] = "revoked.json";
constexpr char kCrl[] = "crl.pem";

std::string Join(const std::string& dir, const char* name) { return dir + "/" + name; }

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsIpAddress(const std::string& host) {
  return !host.empty() && (host.find(':') != std::string::npos ||
                           host.find_first_not_of("0123456789.") == std::string::npos);
}

Status SaveCertificate(const std::string& path, const std::string& pem) { return WriteFileAtomic(path, pem, 0644); }

}  // namespace

std::string IssuedCertificate::ChainPem() const {
  std::string pem = certificate.Pem();
  for (const Certificate& c : intermediates) pem += c.Pem();
  return pem;
}

Status IssuedCertificate::Save(const std::string& cert_path, const std::string& key_path) const {
  ENTENTE_RETURN_IF_ERROR(key.SaveFile(key_path));
  return SaveCertificate(cert_path, ChainPem());
}

Result<CertificateAuthority> CertificateAuthority::Init(const std::string& dir, const std::string& chain,
                                                        bool with_intermediate) {
  if (chain.empty() || chain.find_first_of("/,=+\"\\<>;") != std::string::npos) {
    return Status::InvalidArgument("chain name '" + chain + "' is empty or contains one of / , = + \" \\ < > ;");
  }
  // ca.pem is written last: its presence marks a complete CA. Leftovers of an interrupted init are
  // overwritten.
  if (Exists(Join(dir, kRootCert))) return Status::AlreadyExists("a CA already exists in " + dir);
  ENTENTE_RETURN_IF_ERROR(MakeDirectories(dir, 0700));

  auto now = Clock::now();
  ENTENTE_ASSIGN_OR_RETURN(PrivateKey root_key, PrivateKey::Generate());
  crypto::CertificateRequest root_request{.chain = chain,
                                          .role = "ca",
                                          .id = chain + "-ca",
                                          .not_before = now - std::chrono::minutes(5),
                                          .not_after = now + std::chrono::hours(24 * kDefaultRootDays),
                                          .is_ca = true};
  ENTENTE_ASSIGN_OR_RETURN(Certificate root, crypto::IssueCertificate(root_request, root_key.Public(), nullptr, root_key));
  CertificateAuthority ca(dir, chain, root, root_key);
  if (with_intermediate) {
    ENTENTE_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
    crypto::CertificateRequest request = root_request;
    request.id = chain + "-intermediate-ca";
    ENTENTE_ASSIGN_OR_RETURN(Certificate intermediate, crypto::IssueCertificate(request, key.Public(), &root, root_key));
    ENTENTE_RETURN_IF_ERROR(key.SaveFile(Join(dir, kIntermediateKey)));
    ENTENTE_RETURN_IF_ERROR(SaveCertificate(Join(dir, kIntermediateCert), intermediate.Pem()));
    ca.intermediate_ = intermediate;
    ca.intermediate_key_ = key;
  }
  // The root goes last: its presence marks the directory as a complete CA.
  ENTENTE_RETURN_IF_ERROR(root_key.SaveFile(Join(dir, kRootKey)));
  ENTENTE_RETURN_IF_ERROR(ca.SaveRevocations());
  ENTENTE_RETURN_IF_ERROR(SaveCertificate(Join(dir, kRootCert), root.Pem()));
  return ca;
}

Result<CertificateAuthority> CertificateAuthority::Open(const std::string& dir) {
  if (!Exists(Join(dir, kRootCert))) return Status::NotFound("no CA in " + dir + " (missing " + kRootCert + ")");
  ENTENTE_ASSIGN_OR_RETURN(Certificate root, Certificate::LoadFile(Join(dir, kRootCert)));
  ENTENTE_ASSIGN_OR_RETURN(PrivateKey root_key, PrivateKey::LoadFile(Join(dir, kRootKey)));
  if (!(root.Key() == root_key.Public())) {
    return Status::InvalidArgument(Join(dir, kRootKey) + " does not belong to " + Join(dir, kRootCert));
  }
  CertificateAuthority ca(dir, root.subject().chain, root, root_key);
  if (Exists(Join(dir, kIntermediateCert))) {
    ENTENTE_ASSIGN_OR_RETURN(Certificate intermediate, Certificate::LoadFile(Join(dir, kIntermediateCert)));
    ENTENTE_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::LoadFile(Join(dir, kIntermediateKey)));
    if (!(intermediate.Key() == key.Public()) || !intermediate.IsIssuedBy(root)) {
      return Status::InvalidArgument(Join(dir, kIntermediateCert) + " does not match its key or the root");
    }
    ca.intermediate_ = intermediate;
    ca.intermediate_key_ = key;
  }
  std::string revoked_path = Join(dir, kRevoked);
  // Init always writes revoked.json: without it the next CRL would silently drop earlier revocations.
  if (!Exists(revoked_path)) {
    return Status::Corruption(revoked_path + " is missing: refusing to issue a CRL that could forget revocations");
  }
  {
    ENTENTE_ASSIGN_OR_RETURN(std::string text, ReadFile(revoked_path));
    auto json = ParseJson(text);
    if (!json.ok()) return json.status().WithContext(revoked_path);
    if (!json->is_array()) return Status::InvalidArgument(revoked_path + ": expected a JSON array");
    for (const Json& entry : *json) {
      auto serial = JsonString(entry, "serial");
      auto at = JsonInt(entry, "revoked_at");
      if (!serial.ok()) return serial.status().WithContext(revoked_path);
      if (!at.ok()) return at.status().WithContext(revoked_path);
      ca.revoked_.push_back({*serial, Clock::time_point(std::chrono::seconds(*at))});
    }
  }
  return ca;
}

Result<IssuedCertificate> CertificateAuthority::IssueEcert(crypto::Role role, const std::string& id, int days,
                                                           const std::vector<std::string>& hosts) const {
  if (role != crypto::Role::kNode && role != crypto::Role::kClient && role != crypto::Role::kAdmin &&
      role != crypto::Role::kRelay && role != crypto::Role::kEtcd) {
    return Status::InvalidArgument("an ECert's role is node, client, admin, relay or etcd, not " +
                                   std::string(crypto::RoleName(role)));
  }
  if (id.empty()) return Status::InvalidArgument("an ECert needs an id");
  if (days <= 0) return Status::InvalidArgument("validity must be at least one day");
  auto now = Clock::now();
  crypto::CertificateRequest request{.chain = chain_,
                                     .role = std::string(crypto::RoleName(role)),
                                     .id = id,
                                     .not_before = now - std::chrono::minutes(5),
                                     .not_after = std::min(now + std::chrono::hours(24 * days), issuer().NotAfter())};
  for (const std::string& host : hosts) {
    (IsIpAddress(host) ? request.ip_addresses : request.dns_names).push_back(host);
  }
  ENTENTE_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  ENTENTE_ASSIGN_OR_RETURN(Certificate cert, crypto::IssueCertificate(request, key.Public(), &issuer(), issuer_key()));
  IssuedCertificate issued{cert, key, {}};
  if (intermediate_) issued.intermediates.push_back(*intermediate_);
  return issued;
}

Status CertificateAuthority::CheckIssuedHere(const Certificate& certificate) const {
  if (!certificate.IsIssuedBy(issuer())) {
    return Status::InvalidArgument("certificate " + certificate.SubjectText() + " was not issued by the CA in " + dir_);
  }
  return Status::Ok();
}

Result<std::vector<IssuedCertificate>> CertificateAuthority::IssueTcerts(const Certificate& ecert, int count,
                                                                         int hours) const {
  if (count <= 0 || count > 10000) return Status::InvalidArgument("TCert count must be between 1 and 10000");
  if (hours <= 0) return Status::InvalidArgument("TCert validity must be at least one hour");
  Status here = CheckIssuedHere(ecert);
  if (!here.ok()) return Status::FailedPrecondition(here.message());
  crypto::Subject subject = ecert.subject();
  if (subject.role == crypto::Role::kTx || subject.role == crypto::Role::kCa || subject.role == crypto::Role::kUnknown) {
    return Status::FailedPrecondition("certificate " + ecert.SubjectText() + " is not an ECert");
  }
  if (IsRevoked(ecert.SerialHex())) {
    return Status::FailedPrecondition("ECert " + ecert.SubjectText() + " is revoked");
  }
  auto now = Clock::now();
  if (now > ecert.NotAfter()) return Status::FailedPrecondition("ECert " + ecert.SubjectText() + " has expired");
  crypto::CertificateRequest request{.chain = subject.chain,
                                     .role = "tx",
                                     .id = subject.id,
                                     .not_before = now - std::chrono::minutes(5),
                                     .not_after = std::min(now + std::chrono::hours(hours), ecert.NotAfter()),
                                     .bound_ecert = ecert.Fingerprint()};
  std::vector<IssuedCertificate> out;
  out.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    ENTENTE_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
    ENTENTE_ASSIGN_OR_RETURN(Certificate cert, crypto::IssueCertificate(request, key.Public(), &issuer(), issuer_key()));
    IssuedCertificate issued{cert, key, {}};
    if (intermediate_) issued.intermediates.push_back(*intermediate_);
    out.push_back(std::move(issued));
  }
  return out;
}

bool CertificateAuthority::IsRevoked(const std::string& serial_hex) const {
  for (const auto& r : revoked_) {
    if (r.serial_hex == serial_hex) return true;
  }
  return false;
}

Status CertificateAuthority::Revoke(const Certificate& certificate) {
  ENTENTE_RETURN_IF_ERROR(CheckIssuedHere(certificate));
  if (!IsRevoked(certificate.SerialHex())) revoked_.push_back({certificate.SerialHex(), Clock::now()});
  return SaveRevocations();
}

Result<std::string> CertificateAuthority::CrlPem() const {
  auto now = Clock::now();
  return crypto::MakeCrlPem(issuer(), issuer_key(), revoked_, now - std::chrono::minutes(5),
                            now + std::chrono::hours(24 * kDefaultCrlDays));
}

Status CertificateAuthority::SaveRevocations() const {
  Json list = Json::array();
  for (const auto& r : revoked_) {
    list.push_back({{"serial", r.serial_hex},
                    {"revoked_at", std::chrono::duration_cast<std::chrono::seconds>(r.revoked_at.time_since_epoch()).count()}});
  }
  ENTENTE_RETURN_IF_ERROR(WriteFileAtomic(Join(dir_, kRevoked), list.dump(2) + "\n", 0644));
  ENTENTE_ASSIGN_OR_RETURN(std::string crl, CrlPem());
  return WriteFileAtomic(Join(dir_, kCrl), crl, 0644);
}

}  // namespace entente::certs
