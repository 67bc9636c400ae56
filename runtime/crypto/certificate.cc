#include <arpa/inet.h>

#include <algorithm>

#include "runtime/common/file.h"
#include "runtime/crypto/crypto.h"
#include "runtime/crypto/internal/openssl.h"

namespace entente::crypto {
namespace {

using namespace internal;

std::string NameEntry(const X509_NAME* name, int nid) {
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string SerialHexOf(const X509* cert) {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  char* hex = bn ? BN_bn2hex(bn.get()) : nullptr;
  if (hex == nullptr) return "";
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

// The ECert fingerprint of a TCert binding extension; nullopt when absent or malformed.
std::optional<Digest> BoundEcertOf(const X509* cert) {
  int index = X509_get_ext_by_OBJ(cert, TcertBindingObject(), -1);
  if (index < 0) return std::nullopt;
  const ASN1_OCTET_STRING* outer = X509_EXTENSION_get_data(X509_get_ext(cert, index));
  const unsigned char* p = ASN1_STRING_get0_data(outer);
  Asn1OctetStringPtr inner(d2i_ASN1_OCTET_STRING(nullptr, &p, ASN1_STRING_length(outer)));
  if (!inner || ASN1_STRING_length(inner.get()) != 32) {
    ERR_clear_error();
    return std::nullopt;
  }
  Digest d;
  std::copy_n(ASN1_STRING_get0_data(inner.get()), 32, d.begin());
  return d;
}

Subject SubjectOf(const X509* cert) {
  const X509_NAME* name = X509_get_subject_name(cert);
  Subject s;
  s.chain = NameEntry(name, NID_organizationName);
  s.role_name = NameEntry(name, NID_organizationalUnitName);
  s.id = NameEntry(name, NID_commonName);
  auto role = ParseRole(s.role_name);
  s.role = role.ok() ? *role : Role::kUnknown;
  return s;
}

constexpr std::string_view kPemCertBegin = "-----BEGIN CERTIFICATE-----";

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNode: return "node";
    case Role::kClient: return "client";
    case Role::kAdmin: return "admin";
    case Role::kRelay: return "relay";
    case Role::kTx: return "tx";
    case Role::kCa: return "ca";
    case Role::kEtcd: return "etcd";
    case Role::kUnknown: break;
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kNode, Role::kClient, Role::kAdmin, Role::kRelay, Role::kTx, Role::kCa, Role::kEtcd}) {
    if (RoleName(r) == name) return r;
  }
  return Status::InvalidArgument("unknown role '" + std::string(name) +
                                 "' (expected node, client, admin, relay, tx, ca or etcd)");
}

Certificate::Certificate(std::shared_ptr<X509> cert) : cert_(std::move(cert)) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert_.get(), &buf);
  if (len > 0) {
    der_.assign(buf, buf + len);
    OPENSSL_free(buf);
  }
  fingerprint_ = Sha256(der_);
  facts_ = std::make_shared<const Facts>(Facts{SubjectOf(cert_.get()), SerialHexOf(cert_.get()),
                                               ToTimePoint(X509_get0_notBefore(cert_.get())),
                                               ToTimePoint(X509_get0_notAfter(cert_.get())),
                                               BoundEcertOf(cert_.get())});
}

Result<Certificate> Certificate::FromDer(ByteView der) {
  const unsigned char* p = der.data();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (cert == nullptr) return OpenSslInvalid("malformed certificate");
  auto shared = ShareCert(cert);
  if (p != der.data() + der.size()) return Status::InvalidArgument("malformed certificate: trailing bytes");
  return Certificate(std::move(shared));
}

Result<std::vector<Certificate>> Certificate::ChainFromPem(std::string_view pem) {
  if (pem.find(kPemCertBegin) == std::string_view::npos) {
    return Status::InvalidArgument("malformed certificate: no '" + std::string(kPemCertBegin) + "' block");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<Certificate> chain;
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    chain.push_back(Certificate(ShareCert(cert)));
  }
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (chain.empty() || (err != 0 && !clean_end)) {
    return OpenSslInvalid("malformed certificate PEM (block " + std::to_string(chain.size() + 1) + ")");
  }
  ERR_clear_error();
  return chain;
}

Result<Certificate> Certificate::FromPem(std::string_view pem) {
  ENTENTE_ASSIGN_OR_RETURN(std::vector<Certificate> chain, ChainFromPem(pem));
  return chain.front();
}

Result<Certificate> Certificate::LoadFile(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto cert = FromPem(pem);
  if (!cert.ok()) return cert.status().WithContext(path);
  return cert;
}

std::string Certificate::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert_.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string Certificate::SubjectText() const { return NameText(X509_get_subject_name(cert_.get())); }
std::string Certificate::IssuerText() const { return NameText(X509_get_issuer_name(cert_.get())); }

bool Certificate::IsCa() const { return X509_check_ca(cert_.get()) != 0; }

bool Certificate::IsSelfSigned() const { return X509_self_signed(cert_.get(), /*verify_signature=*/0) == 1; }

PublicKey Certificate::Key() const {
  return NativeAccess::MakePublicKey(ShareKey(X509_get_pubkey(cert_.get())));
}

bool Certificate::IsIssuedBy(const Certificate& issuer) const {
  if (X509_NAME_cmp(X509_get_issuer_name(cert_.get()), X509_get_subject_name(issuer.cert_.get())) != 0) {
    return false;
  }
  int rc = X509_verify(cert_.get(), X509_get0_pubkey(issuer.cert_.get()));
  if (rc != 1) ERR_clear_error();
  return rc == 1;
}

// ---- Issuing ----

namespace {

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslInvalid("cannot add extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  }
  return Status::Ok();
}

Status AddBinding(X509* cert, const Digest& ecert) {
  Asn1OctetStringPtr inner(ASN1_OCTET_STRING_new());
  ASN1_OCTET_STRING_set(inner.get(), ecert.data(), static_cast<int>(ecert.size()));
  unsigned char* der = nullptr;
  int len = i2d_ASN1_OCTET_STRING(inner.get(), &der);
  Asn1OctetStringPtr outer(ASN1_OCTET_STRING_new());
  ASN1_OCTET_STRING_set(outer.get(), der, len);
  OPENSSL_free(der);
  X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, TcertBindingObject(), /*crit=*/0, outer.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslInternal("cannot add TCert binding");
  return Status::Ok();
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<Certificate> IssueCertificate(const CertificateRequest& request, const PublicKey& subject_key,
                                     const Certificate* issuer, const PrivateKey& issuer_key) {
  if (request.chain.empty() || request.role.empty() || request.id.empty()) {
    return Status::InvalidArgument("certificate subject needs a chain (O), a role (OU) and an id (CN)");
  }
  if (request.not_after <= request.not_before) {
    return Status::InvalidArgument("certificate validity ends before it starts");
  }
  if (issuer == nullptr && !(subject_key == issuer_key.Public())) {
    return Status::InvalidArgument("a self-signed certificate must be signed by its own key");
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);

  Bytes serial_bytes = RandomBytes(16);
  serial_bytes[0] &= 0x7f;  // positive
  serial_bytes[0] |= 0x40;  // and always 16 bytes long
  BignumPtr serial_bn(BN_bin2bn(serial_bytes.data(), static_cast<int>(serial_bytes.size()), nullptr));
  BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get()));

  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add_entry = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) == 1;
  };
  if (!add_entry("O", request.chain) || !add_entry("OU", request.role) || !add_entry("CN", request.id)) {
    return OpenSslInvalid("invalid subject");
  }
  X509* issuer_x509 = issuer ? NativeAccess::Cert(*issuer) : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_x509));

  auto not_before = ToAsn1Time(request.not_before);
  auto not_after = ToAsn1Time(request.not_after);
  X509_set1_notBefore(cert.get(), not_before.get());
  X509_set1_notAfter(cert.get(), not_after.get());
  X509_set_pubkey(cert.get(), NativeAccess::Key(subject_key));

  if (request.is_ca) {
    ENTENTE_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_x509, NID_basic_constraints, "critical,CA:TRUE"));
    ENTENTE_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_x509, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    ENTENTE_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_x509, NID_basic_constraints, "critical,CA:FALSE"));
    ENTENTE_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_x509, NID_key_usage, "critical,digitalSignature,keyAgreement"));
    ENTENTE_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_x509, NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  ENTENTE_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_x509, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    ENTENTE_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_x509, NID_authority_key_identifier, "keyid:always"));
  }
  std::string sans;
  for (const auto& dns : request.dns_names) sans += (sans.empty() ? "" : ",") + ("DNS:" + dns);
  for (const auto& ip : request.ip_addresses) {
    if (!IsIpAddress(ip)) return Status::InvalidArgument("not an IP address: '" + ip + "'");
    sans += (sans.empty() ? "" : ",") + ("IP:" + ip);
  }
  if (!sans.empty()) ENTENTE_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_x509, NID_subject_alt_name, sans));
  if (request.bound_ecert) ENTENTE_RETURN_IF_ERROR(AddBinding(cert.get(), *request.bound_ecert));

  if (X509_sign(cert.get(), NativeAccess::Key(issuer_key), EVP_sha256()) <= 0) {
    return OpenSslInternal("cannot sign certificate");
  }
  return NativeAccess::MakeCertificate(ShareCert(cert.release()));
}

Result<std::string> MakeCrlPem(const Certificate& issuer, const PrivateKey& issuer_key,
                               const std::vector<Revocation>& revoked, TimePoint this_update,
                               TimePoint next_update) {
  X509CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);  // v2
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(NativeAccess::Cert(issuer)));
  auto last = ToAsn1Time(this_update);
  auto next = ToAsn1Time(next_update);
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (const Revocation& r : revoked) {
    BIGNUM* bn = nullptr;
    if (BN_hex2bn(&bn, r.serial_hex.c_str()) == 0) {
      return Status::InvalidArgument("revoked serial is not hex: '" + r.serial_hex + "'");
    }
    BignumPtr serial_bn(bn);
    X509RevokedPtr entry(X509_REVOKED_new());
    Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(serial_bn.get(), nullptr));
    auto when = ToAsn1Time(r.revoked_at);
    X509_REVOKED_set_serialNumber(entry.get(), serial.get());
    X509_REVOKED_set_revocationDate(entry.get(), when.get());
    if (X509_CRL_add0_revoked(crl.get(), entry.get()) != 1) return OpenSslInternal("cannot add CRL entry");
    entry.release();
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), NativeAccess::Key(issuer_key), EVP_sha256()) <= 0) {
    return OpenSslInternal("cannot sign CRL");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace entente::crypto
