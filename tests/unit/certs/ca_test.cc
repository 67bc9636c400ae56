#include "certs/ca.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "runtime/crypto/crypto.h"
#include "tests/support/support.h"

using namespace entente;
using namespace entente::certs;
using crypto::Certificate;
using crypto::CertificateVerdict;
using crypto::Clock;
using crypto::Role;
using crypto::TrustStore;
using entente::testing::RunCommand;
using entente::testing::TempDir;
using std::chrono::hours;
using std::chrono::minutes;

namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

CertificateAuthority MakeCa(const TempDir& dir, const std::string& chain, bool with_intermediate = false) {
  auto ca = CertificateAuthority::Init(dir.Join("ca"), chain, with_intermediate);
  REQUIRE(ca.ok());
  return std::move(ca).value();
}

// |a - b| <= tolerance
bool Near(crypto::TimePoint a, crypto::TimePoint b, Clock::duration tolerance) {
  return (a > b ? a - b : b - a) <= tolerance;
}

}  // namespace

TEST_CASE("Init creates a self-signed root CA for the chain that Open reads back") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  CHECK(ca.chain() == "chainA");
  CHECK(ca.dir() == dir.Join("ca"));
  CHECK(ca.root().IsCa());
  CHECK(ca.root().IsSelfSigned());
  CHECK(ca.root().subject().chain == "chainA");
  CHECK(ca.issuer() == ca.root());
  CHECK(std::filesystem::exists(dir.Join("ca/ca.pem")));
  CHECK(std::filesystem::exists(dir.Join("ca/ca-key.pem")));

  auto opened = CertificateAuthority::Open(dir.Join("ca"));
  REQUIRE(opened.ok());
  CHECK(opened->chain() == "chainA");
  CHECK(opened->root() == ca.root());
  CHECK(opened->issuer() == ca.root());
}

TEST_CASE("DIR/ca.pem holds the root certificate") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto file = Certificate::LoadFile(dir.Join("ca/ca.pem"));
  REQUIRE(file.ok());
  CHECK(*file == ca.root());
}

TEST_CASE("The CA's private key file ca-key.pem has mode 0600") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  CHECK(ModeOf(dir.Join("ca/ca-key.pem")) == 0600);
  CHECK(ca.root().Key() == crypto::PrivateKey::LoadFile(dir.Join("ca/ca-key.pem")).value().Public());
}

TEST_CASE("Init on a directory that already holds a CA gives AlreadyExists and keeps the CA") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto again = CertificateAuthority::Init(dir.Join("ca"), "chainA", false);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  auto also_with_intermediate = CertificateAuthority::Init(dir.Join("ca"), "chainB", true);
  CHECK(also_with_intermediate.status().code() == StatusCode::kAlreadyExists);
  auto opened = CertificateAuthority::Open(dir.Join("ca"));
  REQUIRE(opened.ok());
  CHECK(opened->root() == ca.root());
}

TEST_CASE("Open gives NotFound where there is no CA") {
  TempDir dir;
  auto missing = CertificateAuthority::Open(dir.Join("nothing-here"));
  CHECK(missing.status().code() == StatusCode::kNotFound);
  auto empty = CertificateAuthority::Open(dir.path());
  CHECK(empty.status().code() == StatusCode::kNotFound);
}

TEST_CASE("Open gives InvalidArgument naming a damaged ca.pem") {
  TempDir dir;
  { MakeCa(dir, "chainA"); }
  testing::WriteText(dir.Join("ca/ca.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  auto opened = CertificateAuthority::Open(dir.Join("ca"));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == StatusCode::kInvalidArgument);
  CHECK(opened.status().message().find("ca.pem") != std::string::npos);
}

TEST_CASE("IssueEcert puts the chain, role and id in O, OU and CN") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  for (Role role : {Role::kNode, Role::kClient, Role::kAdmin, Role::kRelay}) {
    CAPTURE(crypto::RoleName(role));
    auto issued = ca.IssueEcert(role, "member-1", 30);
    REQUIRE(issued.ok());
    crypto::Subject s = issued->certificate.subject();
    CHECK(s.chain == "chainA");
    CHECK(s.role == role);
    CHECK(s.role_name == crypto::RoleName(role));
    CHECK(s.id == "member-1");
    CHECK(issued->certificate.SubjectText().find("O=chainA") != std::string::npos);
    CHECK_FALSE(issued->certificate.IsCa());
    CHECK(issued->certificate.IsIssuedBy(ca.root()));
    CHECK_FALSE(issued->certificate.BoundEcert().has_value());
    CHECK(issued->certificate.Key() == issued->key.Public());
    CHECK(issued->intermediates.empty());
  }
}

TEST_CASE("IssueEcert makes the ECert valid from now for the given number of days") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto now = Clock::now();
  auto issued = ca.IssueEcert(Role::kNode, "node-1", kDefaultEcertDays);
  REQUIRE(issued.ok());
  CHECK(issued->certificate.NotBefore() <= now + minutes(1));
  CHECK(issued->certificate.NotBefore() >= now - hours(1));
  CHECK(Near(issued->certificate.NotAfter(), now + hours(24 * kDefaultEcertDays), minutes(10)));
}

TEST_CASE("IssueEcert refuses a role that is not an ECert role") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  CHECK_FALSE(ca.IssueEcert(Role::kTx, "x", 30).ok());
  CHECK_FALSE(ca.IssueEcert(Role::kCa, "x", 30).ok());
}

TEST_CASE("IssueEcert turns hosts into subjectAltName entries") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto issued = ca.IssueEcert(Role::kNode, "node-1", 30, {"127.0.0.1", "node1.example", "::1"});
  REQUIRE(issued.ok());
  testing::WriteText(dir.Join("cert.pem"), issued->certificate.Pem());
  auto text = RunCommand({"openssl", "x509", "-noout", "-text", "-in", dir.Join("cert.pem")});
  REQUIRE(text.exit_code == 0);
  CHECK(text.output.find("IP Address:127.0.0.1") != std::string::npos);
  CHECK(text.output.find("DNS:node1.example") != std::string::npos);
  CHECK(text.output.find("IP Address:0:0:0:0:0:0:0:1") != std::string::npos);
}

TEST_CASE("Each issued certificate has its own key and serial") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto a = ca.IssueEcert(Role::kNode, "node-1", 30);
  auto b = ca.IssueEcert(Role::kNode, "node-1", 30);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->certificate.SerialHex() != b->certificate.SerialHex());
  CHECK_FALSE(a->key.Public() == b->key.Public());
}

TEST_CASE("IssuedCertificate::Save writes the chain 0644 and the key 0600") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto issued = ca.IssueEcert(Role::kClient, "alice", 30);
  REQUIRE(issued.ok());
  const std::string cert_path = dir.Join("alice.pem");
  const std::string key_path = dir.Join("alice-key.pem");
  REQUIRE(issued->Save(cert_path, key_path).ok());
  CHECK(ModeOf(key_path) == 0600);
  CHECK(ModeOf(cert_path) == 0644);
  CHECK(testing::ReadText(cert_path) == issued->ChainPem());
  auto cert = Certificate::LoadFile(cert_path);
  REQUIRE(cert.ok());
  CHECK(*cert == issued->certificate);
  auto key = crypto::PrivateKey::LoadFile(key_path);
  REQUIRE(key.ok());
  CHECK(key->Public() == issued->certificate.Key());
}

TEST_CASE("IssueTcerts issues the requested number of distinct TCerts with OU=tx bound to the ECert") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto ecert = ca.IssueEcert(Role::kClient, "alice", 30);
  REQUIRE(ecert.ok());
  auto tcerts = ca.IssueTcerts(ecert->certificate, 3, kDefaultTcertHours);
  REQUIRE(tcerts.ok());
  REQUIRE(tcerts->size() == 3);
  std::set<std::string> serials;
  for (const IssuedCertificate& t : *tcerts) {
    crypto::Subject s = t.certificate.subject();
    CHECK(s.role == Role::kTx);
    CHECK(s.role_name == "tx");
    CHECK(s.id == "alice");
    CHECK(s.chain == "chainA");
    auto bound = t.certificate.BoundEcert();
    REQUIRE(bound.has_value());
    CHECK(*bound == ecert->certificate.Fingerprint());
    CHECK(t.certificate.IsIssuedBy(ca.issuer()));
    CHECK(t.certificate.Key() == t.key.Public());
    CHECK_FALSE(t.key.Public() == ecert->key.Public());
    CHECK(Near(t.certificate.NotAfter(), Clock::now() + hours(kDefaultTcertHours), minutes(10)));
    serials.insert(t.certificate.SerialHex());
  }
  CHECK(serials.size() == 3);
}

TEST_CASE("IssueTcerts never makes a TCert valid past its ECert's notAfter") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto ecert = ca.IssueEcert(Role::kNode, "node-1", 1);
  REQUIRE(ecert.ok());
  auto tcerts = ca.IssueTcerts(ecert->certificate, 2, 24 * 7);
  REQUIRE(tcerts.ok());
  REQUIRE(tcerts->size() == 2);
  for (const IssuedCertificate& t : *tcerts) {
    CHECK(t.certificate.NotAfter() <= ecert->certificate.NotAfter());
  }
}

TEST_CASE("IssueTcerts for an ECert of another CA fails with FailedPrecondition") {
  TempDir dir_a;
  TempDir dir_b;
  CertificateAuthority ca_a = MakeCa(dir_a, "chainA");
  CertificateAuthority ca_b = MakeCa(dir_b, "chainB");
  auto foreign = ca_b.IssueEcert(Role::kNode, "node-b", 30);
  REQUIRE(foreign.ok());
  auto tcerts = ca_a.IssueTcerts(foreign->certificate, 1, 24);
  REQUIRE_FALSE(tcerts.ok());
  CHECK(tcerts.status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("IssueTcerts for an ECert of another CA with the same chain name fails") {
  TempDir dir_a;
  TempDir dir_b;
  CertificateAuthority ca_a = MakeCa(dir_a, "chainA");
  CertificateAuthority impostor = MakeCa(dir_b, "chainA");
  auto foreign = impostor.IssueEcert(Role::kNode, "node-1", 30);
  REQUIRE(foreign.ok());
  CHECK(ca_a.IssueTcerts(foreign->certificate, 1, 24).status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("Revoke records the serial, rewrites crl.pem, and a TrustStore then finds the ECert revoked") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto bad = ca.IssueEcert(Role::kNode, "bad-node", 30);
  auto good = ca.IssueEcert(Role::kNode, "good-node", 30);
  REQUIRE(bad.ok());
  REQUIRE(good.ok());
  CHECK_FALSE(ca.IsRevoked(bad->certificate.SerialHex()));
  REQUIRE(ca.Revoke(bad->certificate).ok());
  CHECK(ca.IsRevoked(bad->certificate.SerialHex()));
  CHECK_FALSE(ca.IsRevoked(good->certificate.SerialHex()));

  auto crl = ca.CrlPem();
  REQUIRE(crl.ok());
  CHECK(crl->find("-----BEGIN X509 CRL-----") != std::string::npos);

  TrustStore store;
  REQUIRE(store.AddCa(ca.root()).ok());
  REQUIRE(store.Check(bad->certificate, {}, Clock::now()).ok());
  REQUIRE(store.AddCrl(*crl).ok());
  CHECK(store.Check(bad->certificate, {}, Clock::now()).verdict == CertificateVerdict::kRevoked);
  CHECK(store.Check(good->certificate, {}, Clock::now()).ok());

  // The CRL on disk says the same.
  std::string on_disk = testing::ReadText(dir.Join("ca/crl.pem"));
  CHECK(on_disk.find("-----BEGIN X509 CRL-----") != std::string::npos);
  TrustStore store2;
  REQUIRE(store2.AddCa(ca.root()).ok());
  REQUIRE(store2.AddCrl(on_disk).ok());
  CHECK(store2.Check(bad->certificate, {}, Clock::now()).verdict == CertificateVerdict::kRevoked);
}

TEST_CASE("A TCert of a revoked ECert is refused by a TrustStore, and no more TCerts are issued for it") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto ecert = ca.IssueEcert(Role::kClient, "mallory", 30);
  REQUIRE(ecert.ok());
  auto tcerts = ca.IssueTcerts(ecert->certificate, 1, 24);
  REQUIRE(tcerts.ok());
  REQUIRE(ca.Revoke(ecert->certificate).ok());

  TrustStore store;
  REQUIRE(store.AddCa(ca.root()).ok());
  store.AddEcert(ecert->certificate);
  REQUIRE(store.AddCrl(ca.CrlPem().value()).ok());
  CHECK(store.Check((*tcerts)[0].certificate, {}, Clock::now()).verdict == CertificateVerdict::kEcertRevoked);

  auto more = ca.IssueTcerts(ecert->certificate, 1, 24);
  CHECK(more.status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("Revoking twice is fine and revocations survive reopening the CA") {
  TempDir dir;
  std::string serial;
  {
    CertificateAuthority ca = MakeCa(dir, "chainA");
    auto ecert = ca.IssueEcert(Role::kNode, "node-1", 30);
    REQUIRE(ecert.ok());
    serial = ecert->certificate.SerialHex();
    REQUIRE(ca.Revoke(ecert->certificate).ok());
    CHECK(ca.Revoke(ecert->certificate).ok());
  }
  auto opened = CertificateAuthority::Open(dir.Join("ca"));
  REQUIRE(opened.ok());
  CHECK(opened->IsRevoked(serial));
  auto crl = opened->CrlPem();
  REQUIRE(crl.ok());
  testing::WriteText(dir.Join("crl.pem"), *crl);
  auto text = RunCommand({"openssl", "crl", "-noout", "-text", "-in", dir.Join("crl.pem")});
  REQUIRE(text.exit_code == 0);
  // Listed once.
  size_t first = text.output.find(serial);
  REQUIRE(first != std::string::npos);
  CHECK(text.output.find(serial, first + 1) == std::string::npos);
}

TEST_CASE("Revoke refuses a certificate this CA did not issue") {
  TempDir dir_a;
  TempDir dir_b;
  CertificateAuthority ca_a = MakeCa(dir_a, "chainA");
  CertificateAuthority ca_b = MakeCa(dir_b, "chainB");
  auto foreign = ca_b.IssueEcert(Role::kNode, "node-b", 30);
  REQUIRE(foreign.ok());
  CHECK(ca_a.Revoke(foreign->certificate).code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(ca_a.IsRevoked(foreign->certificate.SerialHex()));
}

TEST_CASE("With an intermediate, root() is DIR/ca.pem and issued chains verify against the root alone") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA", /*with_intermediate=*/true);
  auto file = Certificate::LoadFile(dir.Join("ca/ca.pem"));
  REQUIRE(file.ok());
  CHECK(ca.root() == *file);
  CHECK(ca.root().IsSelfSigned());
  CHECK_FALSE(ca.issuer() == ca.root());
  CHECK(ca.issuer().IsCa());
  CHECK(ca.issuer().IsIssuedBy(ca.root()));
  CHECK(ModeOf(dir.Join("ca/ca-key.pem")) == 0600);
  CHECK(ModeOf(dir.Join("ca/intermediate-key.pem")) == 0600);

  auto ecert = ca.IssueEcert(Role::kNode, "node-1", 30);
  REQUIRE(ecert.ok());
  CHECK(ecert->certificate.IsIssuedBy(ca.issuer()));
  CHECK_FALSE(ecert->certificate.IsIssuedBy(ca.root()));
  REQUIRE(ecert->intermediates.size() == 1);
  CHECK(ecert->intermediates[0] == ca.issuer());

  TrustStore store;
  REQUIRE(store.AddCa(ca.root()).ok());
  crypto::CertificateCheck check = store.Check(ecert->certificate, ecert->intermediates, Clock::now());
  CAPTURE(check.reason);
  CHECK(check.ok());
  CHECK(check.chain.size() == 3);

  auto chain = Certificate::ChainFromPem(ecert->ChainPem());
  REQUIRE(chain.ok());
  REQUIRE(chain->size() == 2);
  CHECK(store.Check(*chain, Clock::now()).ok());

  auto tcerts = ca.IssueTcerts(ecert->certificate, 1, 24);
  REQUIRE(tcerts.ok());
  store.AddEcert(ecert->certificate);
  CHECK(store.Check((*tcerts)[0].certificate, (*tcerts)[0].intermediates, Clock::now()).ok());

  auto opened = CertificateAuthority::Open(dir.Join("ca"));
  REQUIRE(opened.ok());
  CHECK(opened->root() == ca.root());
  CHECK(opened->issuer() == ca.issuer());
}

TEST_CASE("With an intermediate, a revocation is on the intermediate's CRL and a TrustStore honours it") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA", /*with_intermediate=*/true);
  auto ecert = ca.IssueEcert(Role::kNode, "node-1", 30);
  REQUIRE(ecert.ok());
  REQUIRE(ca.Revoke(ecert->certificate).ok());
  TrustStore store;
  REQUIRE(store.AddCa(ca.root()).ok());
  REQUIRE(store.Check(ecert->certificate, ecert->intermediates, Clock::now()).ok());
  REQUIRE(store.AddCrl(ca.CrlPem().value(), ecert->intermediates).ok());
  CHECK(store.Check(ecert->certificate, ecert->intermediates, Clock::now()).verdict == CertificateVerdict::kRevoked);
}

TEST_CASE("openssl verify accepts an issued ECert and TCert against ca.pem and refuses another CA's") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA");
  auto ecert = ca.IssueEcert(Role::kNode, "node-1", 30, {"127.0.0.1", "localhost"});
  REQUIRE(ecert.ok());
  auto tcerts = ca.IssueTcerts(ecert->certificate, 1, 24);
  REQUIRE(tcerts.ok());
  REQUIRE(ecert->Save(dir.Join("ecert.pem"), dir.Join("ecert-key.pem")).ok());
  REQUIRE((*tcerts)[0].Save(dir.Join("tcert.pem"), dir.Join("tcert-key.pem")).ok());

  auto ecert_result = RunCommand({"openssl", "verify", "-CAfile", dir.Join("ca/ca.pem"), dir.Join("ecert.pem")});
  CAPTURE(ecert_result.output);
  CHECK(ecert_result.exit_code == 0);
  CHECK(ecert_result.output.find("OK") != std::string::npos);

  auto tcert_result = RunCommand({"openssl", "verify", "-CAfile", dir.Join("ca/ca.pem"), dir.Join("tcert.pem")});
  CAPTURE(tcert_result.output);
  CHECK(tcert_result.exit_code == 0);
  CHECK(tcert_result.output.find("OK") != std::string::npos);

  TempDir other_dir;
  CertificateAuthority other = MakeCa(other_dir, "chainB");
  auto foreign = other.IssueEcert(Role::kNode, "node-b", 30);
  REQUIRE(foreign.ok());
  REQUIRE(foreign->Save(dir.Join("foreign.pem"), dir.Join("foreign-key.pem")).ok());
  auto foreign_result = RunCommand({"openssl", "verify", "-CAfile", dir.Join("ca/ca.pem"), dir.Join("foreign.pem")});
  CAPTURE(foreign_result.output);
  CHECK(foreign_result.exit_code != 0);
}

TEST_CASE("openssl verify accepts a certificate issued under an intermediate given as untrusted") {
  TempDir dir;
  CertificateAuthority ca = MakeCa(dir, "chainA", /*with_intermediate=*/true);
  auto ecert = ca.IssueEcert(Role::kClient, "alice", 30);
  REQUIRE(ecert.ok());
  testing::WriteText(dir.Join("leaf.pem"), ecert->certificate.Pem());
  auto result = RunCommand({"openssl", "verify", "-CAfile", dir.Join("ca/ca.pem"), "-untrusted",
                            dir.Join("ca/intermediate.pem"), dir.Join("leaf.pem")});
  CAPTURE(result.output);
  CHECK(result.exit_code == 0);
  CHECK(result.output.find("OK") != std::string::npos);

  auto without = RunCommand({"openssl", "verify", "-CAfile", dir.Join("ca/ca.pem"), dir.Join("leaf.pem")});
  CHECK(without.exit_code != 0);
}

TEST_CASE("Open gives Corruption naming revoked.json when that file was deleted") {
  TempDir dir;
  {
    CertificateAuthority ca = MakeCa(dir, "chainA");
    auto ecert = ca.IssueEcert(Role::kClient, "alice", 30);
    REQUIRE(ecert.ok());
    REQUIRE(ca.Revoke(ecert->certificate).ok());
  }
  REQUIRE(std::filesystem::remove(dir.Join("ca/revoked.json")));
  auto opened = CertificateAuthority::Open(dir.Join("ca"));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == StatusCode::kCorruption);
  CHECK(opened.status().message().find("revoked.json") != std::string::npos);
}

TEST_CASE("Init completes a directory holding only the ca-key.pem of an interrupted init") {
  TempDir dir;
  std::filesystem::create_directories(dir.Join("ca"));
  auto leftover = crypto::PrivateKey::Generate();
  REQUIRE(leftover.ok());
  REQUIRE(leftover->SaveFile(dir.Join("ca/ca-key.pem")).ok());

  auto ca = CertificateAuthority::Init(dir.Join("ca"), "chainA", false);
  REQUIRE_MESSAGE(ca.ok(), ca.status().ToString());
  auto opened = CertificateAuthority::Open(dir.Join("ca"));
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  CHECK(opened->root() == ca->root());
  CHECK(opened->root().Key() == crypto::PrivateKey::LoadFile(dir.Join("ca/ca-key.pem")).value().Public());
  CHECK(std::filesystem::exists(dir.Join("ca/revoked.json")));
}
