#include <doctest/doctest.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/crypto/crypto.h"
#include "tests/support/support.h"

using namespace entente;
using namespace entente::crypto;
using std::chrono::hours;
using std::chrono::seconds;

namespace {

// A root CA, an ECert and a TCert bound to it, made once for the whole file.
struct Fixture {
  TimePoint now = Clock::now();
  PrivateKey root_key = PrivateKey::Generate().value();
  PrivateKey ecert_key = PrivateKey::Generate().value();
  PrivateKey tcert_key = PrivateKey::Generate().value();
  Certificate root;
  Certificate ecert;
  Certificate tcert;

  Fixture()
      : root(MakeRoot(root_key, "chainA", now)),
        ecert(IssueCertificate({.chain = "chainA",
                                .role = "node",
                                .id = "node-1",
                                .not_before = now - hours(1),
                                .not_after = now + hours(24 * 365)},
                               ecert_key.Public(), &root, root_key)
                  .value()),
        tcert(IssueCertificate({.chain = "chainA",
                                .role = "tx",
                                .id = "node-1",
                                .not_before = now - hours(1),
                                .not_after = now + hours(24),
                                .bound_ecert = ecert.Fingerprint()},
                               tcert_key.Public(), &root, root_key)
                  .value()) {}

  static Certificate MakeRoot(const PrivateKey& key, const std::string& chain, TimePoint now) {
    return IssueCertificate({.chain = chain,
                             .role = "ca",
                             .id = chain + " root CA",
                             .not_before = now - hours(1),
                             .not_after = now + hours(24 * 3650),
                             .is_ca = true},
                            key.Public(), nullptr, key)
        .value();
  }
};

const Fixture& F() {
  static const Fixture fixture;
  return fixture;
}

CertificateRequest NodeRequest(const std::string& id) {
  TimePoint now = Clock::now();
  return {.chain = "chainA", .role = "node", .id = id, .not_before = now - hours(1), .not_after = now + hours(24)};
}

long long Seconds(TimePoint t) { return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count(); }

// The extension with `oid` in the DER certificate, read with OpenSSL directly.
struct RawExtension {
  bool found = false;
  bool critical = false;
  Bytes value;  // the extnValue OCTET STRING's contents
};

RawExtension FindExtension(const Certificate& cert, std::string_view oid) {
  RawExtension out;
  const unsigned char* p = cert.Der().data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(cert.Der().size()));
  REQUIRE(x != nullptr);
  ASN1_OBJECT* obj = OBJ_txt2obj(std::string(oid).c_str(), /*no_name=*/1);
  REQUIRE(obj != nullptr);
  int index = X509_get_ext_by_OBJ(x, obj, -1);
  if (index >= 0) {
    X509_EXTENSION* ext = X509_get_ext(x, index);
    out.found = true;
    out.critical = X509_EXTENSION_get_critical(ext) != 0;
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    out.value.assign(ASN1_STRING_get0_data(data), ASN1_STRING_get0_data(data) + ASN1_STRING_length(data));
  }
  ASN1_OBJECT_free(obj);
  X509_free(x);
  return out;
}

}  // namespace

TEST_CASE("IssueCertificate puts chain, role and id in the subject and subject() parses them back") {
  Subject s = F().ecert.subject();
  CHECK(s.chain == "chainA");
  CHECK(s.role == Role::kNode);
  CHECK(s.role_name == "node");
  CHECK(s.id == "node-1");

  Subject t = F().tcert.subject();
  CHECK(t.role == Role::kTx);
  CHECK(t.role_name == "tx");
  CHECK(t.id == "node-1");

  Subject r = F().root.subject();
  CHECK(r.role == Role::kCa);
  CHECK(r.chain == "chainA");
  CHECK(r.id == "chainA root CA");
}

TEST_CASE("subject() gives kUnknown for an OU that is not a role, keeping its name") {
  CertificateRequest request = NodeRequest("odd-1");
  request.role = "auditor";
  auto cert = IssueCertificate(request, F().ecert_key.Public(), &F().root, F().root_key);
  REQUIRE(cert.ok());
  CHECK(cert->subject().role == Role::kUnknown);
  CHECK(cert->subject().role_name == "auditor");
}

TEST_CASE("SubjectText and IssuerText name the subject and the issuer") {
  std::string subject = F().ecert.SubjectText();
  CHECK(subject.find("CN=node-1") != std::string::npos);
  CHECK(subject.find("OU=node") != std::string::npos);
  CHECK(subject.find("O=chainA") != std::string::npos);
  CHECK(F().ecert.IssuerText() == F().root.SubjectText());
  CHECK(F().root.IssuerText() == F().root.SubjectText());
}

TEST_CASE("A certificate's validity is the requested window, to the second") {
  TimePoint not_before = Clock::now() - hours(3);
  TimePoint not_after = Clock::now() + hours(50);
  CertificateRequest request = NodeRequest("node-window");
  request.not_before = not_before;
  request.not_after = not_after;
  auto cert = IssueCertificate(request, F().ecert_key.Public(), &F().root, F().root_key);
  REQUIRE(cert.ok());
  CHECK(Seconds(cert->NotBefore()) == Seconds(not_before));
  CHECK(Seconds(cert->NotAfter()) == Seconds(not_after));
}

TEST_CASE("A certificate's validity can extend past 2049 (GeneralizedTime)") {
  CertificateRequest request = NodeRequest("node-long");
  request.not_after = request.not_before + hours(24 * 365 * 40);
  auto cert = IssueCertificate(request, F().ecert_key.Public(), &F().root, F().root_key);
  REQUIRE(cert.ok());
  CHECK(Seconds(cert->NotAfter()) == Seconds(request.not_after));
}

TEST_CASE("IssueCertificate with subjectAltNames gives a certificate that parses and lists them") {
  CertificateRequest request = NodeRequest("node-tls");
  request.dns_names = {"localhost", "node1.chain-a.example"};
  request.ip_addresses = {"127.0.0.1", "::1"};
  auto cert = IssueCertificate(request, F().ecert_key.Public(), &F().root, F().root_key);
  REQUIRE(cert.ok());
  auto reparsed = Certificate::FromDer(cert->Der());
  REQUIRE(reparsed.ok());
  CHECK(reparsed->subject().id == "node-tls");
  CHECK(reparsed->IsIssuedBy(F().root));

  testing::TempDir dir;
  testing::WriteText(dir.Join("cert.pem"), cert->Pem());
  auto text = testing::RunCommand({"openssl", "x509", "-noout", "-text", "-in", dir.Join("cert.pem")});
  REQUIRE(text.exit_code == 0);
  CHECK(text.output.find("DNS:localhost") != std::string::npos);
  CHECK(text.output.find("DNS:node1.chain-a.example") != std::string::npos);
  CHECK(text.output.find("IP Address:127.0.0.1") != std::string::npos);
  CHECK(text.output.find("IP Address:0:0:0:0:0:0:0:1") != std::string::npos);
}

TEST_CASE("IssueCertificate sets the CA flag only when asked") {
  CHECK(F().root.IsCa());
  CHECK_FALSE(F().ecert.IsCa());
  CHECK_FALSE(F().tcert.IsCa());
}

TEST_CASE("A root made with no issuer is self-signed and issued by itself") {
  CHECK(F().root.IsSelfSigned());
  CHECK(F().root.IsIssuedBy(F().root));
  CHECK_FALSE(F().ecert.IsSelfSigned());
  CHECK_FALSE(F().tcert.IsSelfSigned());
}

TEST_CASE("IsIssuedBy is true for the issuer and false for others, even one with the same name") {
  CHECK(F().ecert.IsIssuedBy(F().root));
  CHECK(F().tcert.IsIssuedBy(F().root));
  CHECK_FALSE(F().root.IsIssuedBy(F().ecert));
  CHECK_FALSE(F().ecert.IsIssuedBy(F().ecert));

  // Another CA with exactly the same subject name but its own key.
  PrivateKey impostor_key = PrivateKey::Generate().value();
  Certificate impostor = Fixture::MakeRoot(impostor_key, "chainA", Clock::now());
  REQUIRE(impostor.SubjectText() == F().root.SubjectText());
  CHECK_FALSE(F().ecert.IsIssuedBy(impostor));

  // A CA with another name.
  Certificate other = Fixture::MakeRoot(impostor_key, "chainB", Clock::now());
  CHECK_FALSE(F().ecert.IsIssuedBy(other));
}

TEST_CASE("A certificate carries its subject's public key") {
  CHECK(F().ecert.Key() == F().ecert_key.Public());
  CHECK(F().root.Key() == F().root_key.Public());
  CHECK_FALSE(F().tcert.Key() == F().ecert_key.Public());
  auto signature = F().tcert_key.Sign(AsBytes("endorsement"));
  REQUIRE(signature.ok());
  CHECK(F().tcert.Key().Verify(AsBytes("endorsement"), *signature));
}

TEST_CASE("A TCert carries the non-critical binding extension holding its ECert's fingerprint") {
  auto bound = F().tcert.BoundEcert();
  REQUIRE(bound.has_value());
  CHECK(*bound == F().ecert.Fingerprint());

  RawExtension ext = FindExtension(F().tcert, kTcertBindingOid);
  REQUIRE(ext.found);
  CHECK_FALSE(ext.critical);
  // extnValue is the DER of an OCTET STRING of the 32-byte digest.
  Bytes expected{0x04, 0x20};
  expected.insert(expected.end(), F().ecert.Fingerprint().begin(), F().ecert.Fingerprint().end());
  CHECK(ext.value == expected);
}

TEST_CASE("An ECert and a CA certificate carry no binding extension") {
  CHECK_FALSE(F().ecert.BoundEcert().has_value());
  CHECK_FALSE(F().root.BoundEcert().has_value());
  CHECK_FALSE(FindExtension(F().ecert, kTcertBindingOid).found);
}

TEST_CASE("Fingerprint is the SHA-256 of the DER") {
  CHECK(F().ecert.Fingerprint() == Sha256(F().ecert.Der()));
  CHECK(F().root.Fingerprint() == Sha256(F().root.Der()));
  CHECK(F().ecert.Fingerprint() != F().tcert.Fingerprint());
}

TEST_CASE("A certificate survives PEM, DER and file round trips") {
  std::string pem = F().ecert.Pem();
  CHECK(pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  auto from_pem = Certificate::FromPem(pem);
  REQUIRE(from_pem.ok());
  CHECK(*from_pem == F().ecert);
  CHECK(from_pem->Fingerprint() == F().ecert.Fingerprint());
  auto from_der = Certificate::FromDer(F().ecert.Der());
  REQUIRE(from_der.ok());
  CHECK(*from_der == F().ecert);

  testing::TempDir dir;
  testing::WriteText(dir.Join("cert.pem"), pem);
  auto loaded = Certificate::LoadFile(dir.Join("cert.pem"));
  REQUIRE(loaded.ok());
  CHECK(*loaded == F().ecert);
  CHECK_FALSE(Certificate::LoadFile(dir.Join("absent.pem")).ok());
}

TEST_CASE("Certificate::FromPem takes the first certificate of several") {
  auto first = Certificate::FromPem(F().ecert.Pem() + F().root.Pem());
  REQUIRE(first.ok());
  CHECK(*first == F().ecert);
}

TEST_CASE("ChainFromPem parses two certificates in order") {
  auto chain = Certificate::ChainFromPem(F().tcert.Pem() + F().root.Pem());
  REQUIRE(chain.ok());
  REQUIRE(chain->size() == 2);
  CHECK((*chain)[0] == F().tcert);
  CHECK((*chain)[1] == F().root);
}

TEST_CASE("ChainFromPem rejects text with no certificate") {
  CHECK(Certificate::ChainFromPem("").status().code() == StatusCode::kInvalidArgument);
  CHECK(Certificate::ChainFromPem("hello").status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(Certificate::ChainFromPem(F().ecert_key.Public().Pem()).ok());
}

TEST_CASE("Certificate::FromPem rejects garbage PEM") {
  CHECK(Certificate::FromPem("garbage").status().code() == StatusCode::kInvalidArgument);
  CHECK(Certificate::FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(Certificate::FromPem("-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n-----END CERTIFICATE-----\n")
            .status()
            .code() == StatusCode::kInvalidArgument);
}

TEST_CASE("Certificate::FromPem rejects a PEM whose body was cut short") {
  std::string pem = F().ecert.Pem();
  size_t body = pem.find('\n') + 1;
  std::string cut = pem.substr(0, body + 128) + "\n-----END CERTIFICATE-----\n";
  CHECK_FALSE(Certificate::FromPem(cut).ok());
}

TEST_CASE("Certificate::FromDer rejects damaged bytes") {
  Bytes der = F().ecert.Der();
  CHECK(Certificate::FromDer(Bytes{}).status().code() == StatusCode::kInvalidArgument);
  CHECK(Certificate::FromDer(ToBytes("not DER")).status().code() == StatusCode::kInvalidArgument);

  Bytes truncated(der.begin(), der.begin() + der.size() / 2);
  CHECK(Certificate::FromDer(truncated).status().code() == StatusCode::kInvalidArgument);

  Bytes wrong_tag = der;
  wrong_tag[0] = 0x31;  // SET instead of SEQUENCE
  CHECK(Certificate::FromDer(wrong_tag).status().code() == StatusCode::kInvalidArgument);

  Bytes wrong_length = der;
  REQUIRE(wrong_length[1] == 0x82);  // a two-byte length follows
  wrong_length[3] = static_cast<std::uint8_t>(wrong_length[3] + 1);
  CHECK_FALSE(Certificate::FromDer(wrong_length).ok());
}

TEST_CASE("Serials are 128 random bits written in uppercase hex") {
  std::set<std::string> serials;
  for (const Certificate* c : {&F().root, &F().ecert, &F().tcert}) {
    std::string serial = c->SerialHex();
    CAPTURE(serial);
    CHECK(serial.size() >= 16);
    CHECK(serial.size() <= 32);
    CHECK(serial.find_first_not_of("0123456789ABCDEF") == std::string::npos);
    serials.insert(serial);
  }
  CHECK(serials.size() == 3);
}

TEST_CASE("IssueCertificate rejects an empty chain, role or id") {
  for (int field = 0; field < 3; ++field) {
    CAPTURE(field);
    CertificateRequest request = NodeRequest("x");
    if (field == 0) request.chain.clear();
    if (field == 1) request.role.clear();
    if (field == 2) request.id.clear();
    auto r = IssueCertificate(request, F().ecert_key.Public(), &F().root, F().root_key);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("IssueCertificate rejects a validity window that ends before it starts") {
  CertificateRequest request = NodeRequest("backwards");
  request.not_after = request.not_before - hours(1);
  auto r = IssueCertificate(request, F().ecert_key.Public(), &F().root, F().root_key);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("A self-signed certificate must be signed by its own key") {
  CertificateRequest request = NodeRequest("self");
  request.role = "ca";
  request.is_ca = true;
  auto r = IssueCertificate(request, F().ecert_key.Public(), nullptr, F().root_key);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("MakeCrlPem writes a PEM X509 CRL that OpenSSL verifies and that lists the serials") {
  TimePoint now = Clock::now();
  auto crl = MakeCrlPem(F().root, F().root_key, {{F().ecert.SerialHex(), now - hours(1)}}, now - hours(1),
                        now + hours(24 * 30));
  REQUIRE(crl.ok());
  CHECK(crl->rfind("-----BEGIN X509 CRL-----", 0) == 0);
  CHECK(crl->find("-----END X509 CRL-----") != std::string::npos);

  testing::TempDir dir;
  testing::WriteText(dir.Join("crl.pem"), *crl);
  testing::WriteText(dir.Join("ca.pem"), F().root.Pem());
  auto verified = testing::RunCommand(
      {"openssl", "crl", "-in", dir.Join("crl.pem"), "-CAfile", dir.Join("ca.pem"), "-noout", "-text"});
  CAPTURE(verified.output);
  CHECK(verified.exit_code == 0);
  CHECK(verified.output.find("verify OK") != std::string::npos);
  CHECK(verified.output.find(F().ecert.SerialHex()) != std::string::npos);
  CHECK(verified.output.find("Version 2") != std::string::npos);
}

TEST_CASE("MakeCrlPem with no revocations gives a valid empty CRL") {
  TimePoint now = Clock::now();
  auto crl = MakeCrlPem(F().root, F().root_key, {}, now, now + hours(24));
  REQUIRE(crl.ok());
  CHECK(crl->find("-----BEGIN X509 CRL-----") != std::string::npos);
  testing::TempDir dir;
  testing::WriteText(dir.Join("crl.pem"), *crl);
  auto text = testing::RunCommand({"openssl", "crl", "-in", dir.Join("crl.pem"), "-noout", "-text"});
  CHECK(text.exit_code == 0);
  CHECK(text.output.find("No Revoked Certificates") != std::string::npos);
}

TEST_CASE("The chain cache returns the parsed chain of a PEM it has seen and does not keep garbage") {
  ChainCache cache(2);
  const std::string pem = F().tcert.Pem() + F().ecert.Pem();
  CertificateChain first = cache.Parse(pem).value();
  REQUIRE(first->size() == 2);
  CHECK((*first)[0] == F().tcert);
  CHECK((*first)[1] == F().ecert);
  CHECK(cache.Parse(pem).value().get() == first.get());
  CHECK_FALSE(cache.Parse("not a certificate").ok());
  CHECK(cache.size() == 1);
  // Full: it starts over rather than growing.
  CHECK(cache.Parse(F().ecert.Pem()).ok());
  CHECK(cache.Parse(F().root.Pem()).ok());
  CHECK(cache.size() == 1);
  CHECK(cache.Parse(pem).value()->front() == F().tcert);
}
