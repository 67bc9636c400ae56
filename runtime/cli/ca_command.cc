// `entente ca ...`: a member chain's CA on the command line (DESIGN.md §4).
#include <ctime>
#include <iostream>

#include "certs/ca.h"
#include "runtime/cli/commands.h"
#include "runtime/common/file.h"
#include "runtime/crypto/crypto.h"

namespace entente::cli {
namespace {

using crypto::Certificate;

std::string FormatTime(crypto::TimePoint t) {
  std::time_t tt = crypto::Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int Fail(std::string_view command, const Status& status) {
  std::cerr << "entente ca " << command << ": " << status.message() << "\n";
  return 1;
}

struct CaOptions {
  std::string dir;
  std::string chain;
  bool intermediate = false;
  std::string role;
  std::string id;
  std::string out;
  int days = certs::kDefaultEcertDays;
  std::vector<std::string> hosts;
  std::string ecert;
  int count = 1;
  int hours = certs::kDefaultTcertHours;
  std::string cert;
  std::vector<std::string> trust;
  std::vector<std::string> crls;
  std::vector<std::string> ecerts;
};

int Init(const CaOptions& o) {
  auto ca = certs::CertificateAuthority::Init(o.dir, o.chain, o.intermediate);
  if (!ca.ok()) return Fail("init", ca.status());
  std::cout << "CA for chain " << ca->chain() << " in " << o.dir << "\n"
            << "  trust:  " << o.dir << "/ca.pem (" << ca->root().SubjectText() << ")\n";
  if (o.intermediate) std::cout << "  issuer: " << o.dir << "/intermediate.pem (" << ca->issuer().SubjectText() << ")\n";
  return 0;
}

int Issue(const CaOptions& o) {
  auto ca = certs::CertificateAuthority::Open(o.dir);
  if (!ca.ok()) return Fail("issue", ca.status());
  auto role = crypto::ParseRole(o.role);
  if (!role.ok()) return Fail("issue", role.status());
  auto issued = ca->IssueEcert(*role, o.id, o.days, o.hosts);
  if (!issued.ok()) return Fail("issue", issued.status());
  Status s = MakeDirectories(o.out, 0700);
  if (s.ok()) s = issued->Save(o.out + "/cert.pem", o.out + "/key.pem");
  if (!s.ok()) return Fail("issue", s);
  std::cout << "ECert " << issued->certificate.SubjectText() << " serial " << issued->certificate.SerialHex()
            << " valid until " << FormatTime(issued->certificate.NotAfter()) << "\n  " << o.out << "/cert.pem\n  "
            << o.out << "/key.pem (0600)\n";
  return 0;
}

int IssueTcerts(const CaOptions& o) {
  auto ca = certs::CertificateAuthority::Open(o.dir);
  if (!ca.ok()) return Fail("issue-tcerts", ca.status());
  auto ecert = Certificate::LoadFile(o.ecert);
  if (!ecert.ok()) return Fail("issue-tcerts", ecert.status());
  auto tcerts = ca->IssueTcerts(*ecert, o.count, o.hours);
  if (!tcerts.ok()) return Fail("issue-tcerts", tcerts.status());
  Status s = MakeDirectories(o.out, 0700);
  for (size_t i = 0; s.ok() && i < tcerts->size(); ++i) {
    std::string base = o.out + "/tcert-" + std::to_string(i);
    s = (*tcerts)[i].Save(base + ".pem", base + "-key.pem");
  }
  if (!s.ok()) return Fail("issue-tcerts", s);
  std::cout << tcerts->size() << " TCerts bound to " << ecert->SubjectText() << " (ECert sha256 "
            << HexEncode(ecert->Fingerprint()) << ") valid until " << FormatTime(tcerts->front().certificate.NotAfter())
            << "\n  " << o.out << "/tcert-<i>.pem, " << o.out << "/tcert-<i>-key.pem (0600)\n";
  return 0;
}

int Revoke(const CaOptions& o) {
  auto ca = certs::CertificateAuthority::Open(o.dir);
  if (!ca.ok()) return Fail("revoke", ca.status());
  auto cert = Certificate::LoadFile(o.cert);
  if (!cert.ok()) return Fail("revoke", cert.status());
  Status s = ca->Revoke(*cert);
  if (!s.ok()) return Fail("revoke", s);
  std::cout << "revoked " << cert->SubjectText() << " serial " << cert->SerialHex() << "; CRL: " << o.dir
            << "/crl.pem\n";
  return 0;
}

int Crl(const CaOptions& o) {
  auto ca = certs::CertificateAuthority::Open(o.dir);
  if (!ca.ok()) return Fail("crl", ca.status());
  auto crl = ca->CrlPem();
  if (!crl.ok()) return Fail("crl", crl.status());
  Status s = WriteFileAtomic(o.out, *crl, 0644);
  if (!s.ok()) return Fail("crl", s);
  std::cout << "CRL of " << ca->issuer().SubjectText() << " written to " << o.out << "\n";
  return 0;
}

int Verify(const CaOptions& o) {
  crypto::TrustStore store;
  for (const std::string& path : o.trust) {
    auto text = ReadFile(path);
    if (!text.ok()) return Fail("verify", text.status());
    auto cas = Certificate::ChainFromPem(*text);
    if (!cas.ok()) return Fail("verify", cas.status().WithContext(path));
    for (const Certificate& ca : *cas) {
      Status s = store.AddCa(ca);
      if (!s.ok()) return Fail("verify", s.WithContext(path));
    }
  }
  auto text = ReadFile(o.cert);
  if (!text.ok()) return Fail("verify", text.status());
  auto chain = Certificate::ChainFromPem(*text);
  if (!chain.ok()) {
    std::cerr << "REJECTED (malformed): " << o.cert << ": " << chain.status().message() << "\n";
    return 1;
  }
  std::vector<Certificate> intermediates(chain->begin() + 1, chain->end());
  for (const std::string& path : o.ecerts) {
    auto ecert_text = ReadFile(path);
    if (!ecert_text.ok()) return Fail("verify", ecert_text.status());
    auto ecert_chain = Certificate::ChainFromPem(*ecert_text);
    if (!ecert_chain.ok()) return Fail("verify", ecert_chain.status().WithContext(path));
    store.AddEcert(ecert_chain->front());
    intermediates.insert(intermediates.end(), ecert_chain->begin() + 1, ecert_chain->end());
  }
  for (const std::string& path : o.crls) {
    auto crl = ReadFile(path);
    if (!crl.ok()) return Fail("verify", crl.status());
    Status s = store.AddCrl(*crl, intermediates);
    if (!s.ok()) return Fail("verify", s.WithContext(path));
  }
  crypto::CertificateCheck check = store.Check(chain->front(), intermediates, crypto::Clock::now());
  if (!check.ok()) {
    std::cerr << "REJECTED (" << crypto::CertificateVerdictName(check.verdict) << "): " << check.reason << "\n";
    return 1;
  }
  const Certificate& leaf = chain->front();
  std::cout << "OK: " << leaf.SubjectText() << "\nchain:";
  for (const Certificate& c : check.chain) std::cout << "\n  " << c.SubjectText();
  crypto::Subject subject = leaf.subject();
  std::cout << "\nchain name: " << subject.chain << "\nrole: " << subject.role_name << "\nvalid: "
            << FormatTime(leaf.NotBefore()) << " to " << FormatTime(leaf.NotAfter()) << "\n";
  if (auto bound = leaf.BoundEcert()) std::cout << "bound ECert sha256: " << HexEncode(*bound) << "\n";
  return 0;
}

}  // namespace

void AddCaCommands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<CaOptions>();
  CLI::App* ca = app.add_subcommand("ca", "Certificate authorities: ECerts, TCerts and CRLs");
  ca->require_subcommand(1);

  CLI::App* init = ca->add_subcommand("init", "Create a chain's CA (DIR/ca.pem, DIR/ca-key.pem)");
  init->add_option("--dir", options->dir, "CA directory")->required();
  init->add_option("--chain", options->chain, "Member chain name (the O of every certificate)")->required();
  init->add_flag("--intermediate", options->intermediate, "Issue through an intermediate CA");
  init->callback([options, &exit_code] { exit_code = Init(*options); });

  CLI::App* issue = ca->add_subcommand("issue", "Issue an ECert: OUT/cert.pem and OUT/key.pem");
  issue->add_option("--dir", options->dir, "CA directory")->required();
  issue->add_option("--role", options->role,
                    "node, client, admin, relay, or etcd (an etcd member's server certificate, which also "
                    "dials etcd: give its --host)")
      ->required()
      ->check(CLI::IsMember({"node", "client", "admin", "relay", "etcd"}));
  issue->add_option("--id", options->id, "Identity (the CN)")->required();
  issue->add_option("--out", options->out, "Output directory")->required();
  issue->add_option("--days", options->days, "Validity in days")->capture_default_str()->check(CLI::PositiveNumber);
  issue->add_option("--host", options->hosts, "Host name or IP address for TLS (repeatable)");
  issue->callback([options, &exit_code] { exit_code = Issue(*options); });

  CLI::App* tcerts = ca->add_subcommand("issue-tcerts", "Issue TCerts bound to an ECert: OUT/tcert-<i>.pem");
  tcerts->add_option("--dir", options->dir, "CA directory")->required();
  tcerts->add_option("--ecert", options->ecert, "The ECert (PEM) to bind to")->required();
  tcerts->add_option("--count", options->count, "How many")->capture_default_str()->check(CLI::Range(1, 10000));
  tcerts->add_option("--out", options->out, "Output directory")->required();
  tcerts->add_option("--hours", options->hours, "Validity in hours")->capture_default_str()->check(CLI::PositiveNumber);
  tcerts->callback([options, &exit_code] { exit_code = IssueTcerts(*options); });

  CLI::App* revoke = ca->add_subcommand("revoke", "Revoke a certificate and rewrite DIR/crl.pem");
  revoke->add_option("--dir", options->dir, "CA directory")->required();
  revoke->add_option("--cert", options->cert, "The certificate (PEM) to revoke")->required();
  revoke->callback([options, &exit_code] { exit_code = Revoke(*options); });

  CLI::App* crl = ca->add_subcommand("crl", "Write the CA's current CRL");
  crl->add_option("--dir", options->dir, "CA directory")->required();
  crl->add_option("--out", options->out, "CRL file to write")->required();
  crl->callback([options, &exit_code] { exit_code = Crl(*options); });

  CLI::App* verify = ca->add_subcommand("verify", "Check a certificate against trusted CAs, CRLs and time");
  verify->add_option("--trust", options->trust, "Trusted CA certificate files")->required();
  verify->add_option("--crl", options->crls, "CRL files");
  verify->add_option("--ecert", options->ecerts, "ECerts that TCerts may be bound to");
  verify->add_option("cert", options->cert, "Certificate file to check")->required();
  verify->callback([options, &exit_code] { exit_code = Verify(*options); });
}

}  // namespace entente::cli
