// `entente ca ...` end to end: the commands an operator runs, as separate processes, and the files
// they leave behind, checked with Entente's own verifier and with the system's `openssl verify`.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/support/support.h"

namespace entente::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

int Mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

// A CA for chainA with a node ECert, three TCerts bound to it, and a second, unrelated CA.
struct Alliance {
  TempDir tmp;
  std::string ca = tmp.Join("caA");
  std::string other_ca = tmp.Join("caB");
  std::string node = tmp.Join("node1");
  std::string tcerts = tmp.Join("node1/tcerts");

  Alliance() {
    REQUIRE(RunEntente({"ca", "init", "--dir", ca, "--chain", "chainA"}).exit_code == 0);
    REQUIRE(RunEntente({"ca", "init", "--dir", other_ca, "--chain", "chainB"}).exit_code == 0);
    REQUIRE(RunEntente({"ca", "issue", "--dir", ca, "--role", "node", "--id", "node1", "--out", node}).exit_code == 0);
    REQUIRE(RunEntente({"ca", "issue-tcerts", "--dir", ca, "--ecert", node + "/cert.pem", "--count", "3", "--out",
                        tcerts})
                .exit_code == 0);
  }
};

TEST_CASE("ca init, issue and issue-tcerts write the documented files with private keys at 0600") {
  Alliance a;
  CHECK(Mode(a.ca + "/ca.pem") == 0644);
  CHECK(Mode(a.ca + "/ca-key.pem") == 0600);
  CHECK(Mode(a.node + "/key.pem") == 0600);
  for (int i = 0; i < 3; ++i) {
    CHECK(Mode(a.tcerts + "/tcert-" + std::to_string(i) + ".pem") == 0644);
    CHECK(Mode(a.tcerts + "/tcert-" + std::to_string(i) + "-key.pem") == 0600);
  }
  CHECK(Mode(a.tcerts + "/tcert-3.pem") == -1);
}

TEST_CASE("ca verify accepts an ECert and prints its chain, role and validity") {
  Alliance a;
  CommandResult r = RunEntente({"ca", "verify", "--trust", a.ca + "/ca.pem", a.node + "/cert.pem"});
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.output, "OK: CN=node1,OU=node,O=chainA"));
  CHECK(Contains(r.output, "CN=chainA-ca,OU=ca,O=chainA"));
  CHECK(Contains(r.output, "role: node"));
  CHECK(Contains(r.output, "valid: "));
}

TEST_CASE("ca verify accepts a TCert only together with the ECert it is bound to") {
  Alliance a;
  std::string tcert = a.tcerts + "/tcert-1.pem";
  CommandResult with_ecert =
      RunEntente({"ca", "verify", "--trust", a.ca + "/ca.pem", "--ecert", a.node + "/cert.pem", tcert});
  CHECK(with_ecert.exit_code == 0);
  CHECK(Contains(with_ecert.output, "role: tx"));
  CommandResult without = RunEntente({"ca", "verify", "--trust", a.ca + "/ca.pem", tcert});
  CHECK(without.exit_code != 0);
  CHECK(Contains(without.output, "unknown ECert"));
}

TEST_CASE("ca verify rejects a certificate of a CA it does not trust, in words") {
  Alliance a;
  CommandResult r = RunEntente({"ca", "verify", "--trust", a.other_ca + "/ca.pem", a.node + "/cert.pem"});
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.output, "untrusted"));
}

TEST_CASE("ca revoke puts the ECert on the CRL, and its TCerts fall with it") {
  Alliance a;
  REQUIRE(RunEntente({"ca", "revoke", "--dir", a.ca, "--cert", a.node + "/cert.pem"}).exit_code == 0);
  std::string crl = a.tmp.Join("crl.pem");
  REQUIRE(RunEntente({"ca", "crl", "--dir", a.ca, "--out", crl}).exit_code == 0);
  CHECK(Contains(ReadText(crl), "-----BEGIN X509 CRL-----"));

  CommandResult ecert = RunEntente({"ca", "verify", "--trust", a.ca + "/ca.pem", "--crl", crl, a.node + "/cert.pem"});
  CHECK(ecert.exit_code != 0);
  CHECK(Contains(ecert.output, "REJECTED (revoked)"));
  CommandResult tcert = RunEntente({"ca", "verify", "--trust", a.ca + "/ca.pem", "--crl", crl, "--ecert",
                                    a.node + "/cert.pem", a.tcerts + "/tcert-0.pem"});
  CHECK(tcert.exit_code != 0);
  CHECK(Contains(tcert.output, "revoked ECert"));
}

TEST_CASE("ca verify calls garbage malformed") {
  Alliance a;
  std::string junk = a.tmp.Join("junk.pem");
  WriteText(junk, "this is not a certificate\n");
  CommandResult r = RunEntente({"ca", "verify", "--trust", a.ca + "/ca.pem", junk});
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.output, "malformed"));
}

TEST_CASE("ca init refuses to overwrite an existing CA") {
  Alliance a;
  CommandResult r = RunEntente({"ca", "init", "--dir", a.ca, "--chain", "chainA"});
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.output, "already exists"));
}

TEST_CASE("with an intermediate, openssl verify accepts issued certificates against DIR/ca.pem alone") {
  TempDir tmp;
  std::string ca = tmp.Join("ca");
  REQUIRE(RunEntente({"ca", "init", "--dir", ca, "--chain", "chainC", "--intermediate"}).exit_code == 0);
  REQUIRE(RunEntente({"ca", "issue", "--dir", ca, "--role", "admin", "--id", "admin1", "--out", tmp.Join("admin")})
              .exit_code == 0);
  std::string cert = tmp.Join("admin/cert.pem");
  CommandResult ours = RunEntente({"ca", "verify", "--trust", ca + "/ca.pem", cert});
  CHECK(ours.exit_code == 0);
  CHECK(Contains(ours.output, "chainC-intermediate-ca"));
  CommandResult openssl = RunCommand({"openssl", "verify", "-CAfile", ca + "/ca.pem", "-untrusted", cert, cert});
  CHECK(openssl.exit_code == 0);
  CHECK(Contains(openssl.output, "OK"));
}

TEST_CASE("openssl verify accepts an ECert and a TCert issued by entente ca") {
  Alliance a;
  CommandResult r = RunCommand(
      {"openssl", "verify", "-CAfile", a.ca + "/ca.pem", a.node + "/cert.pem", a.tcerts + "/tcert-2.pem"});
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.output, "cert.pem: OK"));
  CHECK(Contains(r.output, "tcert-2.pem: OK"));
}

TEST_CASE("ca issue --role etcd makes an etcd member's certificate: OU=etcd, its host, for serving and for dialing") {
  Alliance a;
  std::string etcd = a.tmp.Join("etcd1");
  REQUIRE(RunEntente({"ca", "issue", "--dir", a.ca, "--role", "etcd", "--id", "etcd1", "--host", "127.0.0.1", "--out",
                      etcd})
              .exit_code == 0);
  CommandResult verified = RunEntente({"ca", "verify", "--trust", a.ca + "/ca.pem", etcd + "/cert.pem"});
  CHECK(verified.exit_code == 0);
  CHECK(Contains(verified.output, "role: etcd"));
  CommandResult text = RunCommand({"openssl", "x509", "-in", etcd + "/cert.pem", "-noout", "-text"});
  CHECK(Contains(text.output, "TLS Web Server Authentication"));
  CHECK(Contains(text.output, "TLS Web Client Authentication"));
  CHECK(Contains(text.output, "IP Address:127.0.0.1"));
  CHECK(RunEntente({"ca", "issue", "--dir", a.ca, "--role", "tx", "--id", "x", "--out", a.tmp.Join("x")}).exit_code != 0);
}

}  // namespace
}  // namespace entente::testing
