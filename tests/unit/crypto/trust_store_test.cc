#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/crypto/crypto.h"
#include "tests/support/support.h"

using namespace entente;
using namespace entente::crypto;
using std::chrono::hours;

namespace {

using V = CertificateVerdict;

struct Ca {
  PrivateKey key;
  Certificate cert;
};

// Keys are generated once for the file; certificates are cheap to issue per test.
struct Keys {
  PrivateKey root_a = PrivateKey::Generate().value();
  PrivateKey root_b = PrivateKey::Generate().value();
  PrivateKey intermediate = PrivateKey::Generate().value();
  PrivateKey leaf = PrivateKey::Generate().value();
};

const Keys& K() {
  static const Keys keys;
  return keys;
}

TimePoint Now() {
  static const TimePoint now = Clock::now();
  return now;
}

Certificate Issue(const Certificate* issuer, const PrivateKey& issuer_key, const PublicKey& subject_key,
                  const std::string& chain, const std::string& role, const std::string& id, TimePoint not_before,
                  TimePoint not_after, bool is_ca = false, std::optional<Digest> bound = std::nullopt) {
  CertificateRequest request{.chain = chain,
                             .role = role,
                             .id = id,
                             .not_before = not_before,
                             .not_after = not_after,
                             .is_ca = is_ca,
                             .bound_ecert = bound};
  auto cert = IssueCertificate(request, subject_key, issuer, issuer_key);
  REQUIRE(cert.ok());
  return *cert;
}

const Ca& RootA() {
  static const Ca ca{K().root_a, Issue(nullptr, K().root_a, K().root_a.Public(), "chainA", "ca", "chainA root",
                                       Now() - hours(24), Now() + hours(24 * 3650), true)};
  return ca;
}

const Ca& RootB() {
  static const Ca ca{K().root_b, Issue(nullptr, K().root_b, K().root_b.Public(), "chainB", "ca", "chainB root",
                                       Now() - hours(24), Now() + hours(24 * 3650), true)};
  return ca;
}

const Ca& IntermediateA() {
  static const Ca ca{K().intermediate, Issue(&RootA().cert, K().root_a, K().intermediate.Public(), "chainA", "ca",
                                             "chainA issuing CA", Now() - hours(24), Now() + hours(24 * 365), true)};
  return ca;
}

// A leaf of `ca` valid from an hour ago for a day.
Certificate Leaf(const Ca& ca, const std::string& role, const std::string& id,
                 std::optional<Digest> bound = std::nullopt) {
  return Issue(&ca.cert, ca.key, K().leaf.Public(), ca.cert.subject().chain, role, id, Now() - hours(1),
               Now() + hours(24), false, bound);
}

std::string Crl(const Ca& ca, const std::vector<const Certificate*>& revoked) {
  std::vector<Revocation> entries;
  for (const Certificate* c : revoked) entries.push_back({c->SerialHex(), Now() - hours(1)});
  auto pem = MakeCrlPem(ca.cert, ca.key, entries, Now() - hours(1), Now() + hours(24 * 30));
  REQUIRE(pem.ok());
  return *pem;
}

// A store trusting chain A's root.
void TrustA(TrustStore& store) { REQUIRE(store.AddCa(RootA().cert).ok()); }

}  // namespace

TEST_CASE("A certificate issued by a trusted CA is valid with its chain leaf first and the CA last") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(RootA(), "node", "node-1");
  CertificateCheck check = store.Check(leaf, {}, Now());
  CAPTURE(check.reason);
  CHECK(check.ok());
  CHECK(check.verdict == V::kValid);
  REQUIRE(check.chain.size() == 2);
  CHECK(check.chain.front() == leaf);
  CHECK(check.chain.back() == RootA().cert);
}

TEST_CASE("Check of a chain vector checks its first certificate") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(RootA(), "client", "client-1");
  CHECK(store.Check(std::vector<Certificate>{leaf}, Now()).ok());
  CHECK(store.Check(std::vector<Certificate>{Leaf(RootB(), "client", "client-b")}, Now()).verdict == V::kUntrusted);
}

TEST_CASE("A trusted CA's own certificate is valid") {
  TrustStore store;
  TrustA(store);
  CHECK(store.Check(RootA().cert, {}, Now()).ok());
}

TEST_CASE("AddCa refuses a certificate that is not a CA") {
  TrustStore store;
  Status s = store.AddCa(Leaf(RootA(), "node", "node-1"));
  CHECK(s.code() == StatusCode::kInvalidArgument);
}

TEST_CASE("A certificate of an unknown CA is untrusted, with a reason") {
  TrustStore store;
  TrustA(store);
  CertificateCheck check = store.Check(Leaf(RootB(), "node", "node-b"), {}, Now());
  CHECK(check.verdict == V::kUntrusted);
  CHECK_FALSE(check.ok());
  CHECK_FALSE(check.reason.empty());
}

TEST_CASE("A store with no CA trusts nothing") {
  TrustStore store;
  CHECK(store.Check(Leaf(RootA(), "node", "node-1"), {}, Now()).verdict == V::kUntrusted);
}

TEST_CASE("A certificate from an impostor CA with the trusted CA's name is untrusted") {
  TrustStore store;
  TrustA(store);
  const PrivateKey& impostor_key = K().root_b;
  Certificate impostor = Issue(nullptr, impostor_key, impostor_key.Public(), "chainA", "ca", "chainA root",
                               Now() - hours(24), Now() + hours(24 * 3650), true);
  REQUIRE(impostor.SubjectText() == RootA().cert.SubjectText());
  Certificate leaf = Leaf({impostor_key, impostor}, "node", "node-1");
  CHECK(store.Check(leaf, {}, Now()).verdict == V::kUntrusted);
}

TEST_CASE("A certificate past its notAfter is expired") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Issue(&RootA().cert, RootA().key, K().leaf.Public(), "chainA", "node", "old-node",
                           Now() - hours(48), Now() - hours(24));
  CertificateCheck check = store.Check(leaf, {}, Now());
  CHECK(check.verdict == V::kExpired);
  CHECK_FALSE(check.reason.empty());
}

TEST_CASE("A certificate before its notBefore is not yet valid") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Issue(&RootA().cert, RootA().key, K().leaf.Public(), "chainA", "node", "future-node",
                           Now() + hours(24), Now() + hours(48));
  CHECK(store.Check(leaf, {}, Now()).verdict == V::kNotYetValid);
  CHECK(store.Check(leaf, {}, Now() + hours(30)).ok());
}

TEST_CASE("A certificate whose CA has expired is expired") {
  const PrivateKey& key = K().root_b;
  Certificate short_root =
      Issue(nullptr, key, key.Public(), "chainS", "ca", "short root", Now() - hours(24), Now() + hours(1), true);
  TrustStore store;
  REQUIRE(store.AddCa(short_root).ok());
  Certificate leaf = Leaf({key, short_root}, "node", "node-s");
  CHECK(store.Check(leaf, {}, Now()).ok());
  CHECK(store.Check(leaf, {}, Now() + hours(2)).verdict == V::kExpired);
}

TEST_CASE("A certificate without an alliance role in its subject is malformed") {
  TrustStore store;
  TrustA(store);
  Certificate odd = Leaf(RootA(), "auditor", "someone");
  CHECK(store.Check(odd, {}, Now()).verdict == V::kMalformed);
}

TEST_CASE("Check of an empty chain is malformed, as is garbage PEM") {
  TrustStore store;
  TrustA(store);
  CHECK(store.Check(std::vector<Certificate>{}, Now()).verdict == V::kMalformed);
  CHECK_FALSE(Certificate::ChainFromPem("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n").ok());
  CHECK_FALSE(Certificate::ChainFromPem("garbage").ok());
}

TEST_CASE("A certificate on its issuer's CRL is revoked and others stay valid") {
  TrustStore store;
  TrustA(store);
  Certificate revoked = Leaf(RootA(), "node", "bad-node");
  Certificate fine = Leaf(RootA(), "node", "good-node");
  REQUIRE(store.AddCrl(Crl(RootA(), {&revoked})).ok());
  CertificateCheck check = store.Check(revoked, {}, Now());
  CHECK(check.verdict == V::kRevoked);
  CHECK_FALSE(check.reason.empty());
  CHECK(store.Check(fine, {}, Now()).ok());
}

TEST_CASE("A newer CRL replaces the earlier CRL of the same issuer") {
  TrustStore store;
  TrustA(store);
  Certificate first = Leaf(RootA(), "node", "first");
  Certificate second = Leaf(RootA(), "node", "second");
  REQUIRE(store.AddCrl(Crl(RootA(), {&first})).ok());
  CHECK(store.Check(first, {}, Now()).verdict == V::kRevoked);
  REQUIRE(store.AddCrl(Crl(RootA(), {&second})).ok());
  CHECK(store.Check(first, {}, Now()).ok());
  CHECK(store.Check(second, {}, Now()).verdict == V::kRevoked);
}

TEST_CASE("A CRL of one CA does not revoke a certificate of another CA") {
  TrustStore store;
  TrustA(store);
  REQUIRE(store.AddCa(RootB().cert).ok());
  Certificate a = Leaf(RootA(), "node", "a");
  Certificate b = Leaf(RootB(), "node", "b");
  REQUIRE(store.AddCrl(Crl(RootB(), {&b})).ok());
  CHECK(store.Check(a, {}, Now()).ok());
  CHECK(store.Check(b, {}, Now()).verdict == V::kRevoked);
}

TEST_CASE("AddCrl refuses garbage") {
  TrustStore store;
  TrustA(store);
  CHECK(store.AddCrl("garbage").code() == StatusCode::kInvalidArgument);
  CHECK(store.AddCrl("").code() == StatusCode::kInvalidArgument);
  CHECK(store.AddCrl("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n").code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("AddCrl refuses a CRL of a CA that is not trusted") {
  TrustStore store;
  TrustA(store);
  Certificate b = Leaf(RootB(), "node", "b");
  CHECK(store.AddCrl(Crl(RootB(), {&b})).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("AddCrl refuses a CRL that names a trusted CA but is signed by another CA's key") {
  TrustStore store;
  TrustA(store);
  Certificate victim = Leaf(RootA(), "node", "victim");
  // Issuer name of root A, signature by root B's key.
  auto forged =
      MakeCrlPem(RootA().cert, RootB().key, {{victim.SerialHex(), Now()}}, Now() - hours(1), Now() + hours(24));
  REQUIRE(forged.ok());
  CHECK(store.AddCrl(*forged).code() == StatusCode::kInvalidArgument);
  CHECK(store.Check(victim, {}, Now()).ok());
}

TEST_CASE("A TCert bound to a registered ECert is valid") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Leaf(RootA(), "client", "alice");
  Certificate tcert = Leaf(RootA(), "tx", "alice", ecert.Fingerprint());
  store.AddEcert(ecert);
  CertificateCheck check = store.Check(tcert, {}, Now());
  CAPTURE(check.reason);
  CHECK(check.ok());
  REQUIRE_FALSE(check.chain.empty());
  CHECK(check.chain.front() == tcert);
}

TEST_CASE("A TCert bound to an ECert the store does not know is refused as unknown ECert") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Leaf(RootA(), "client", "alice");
  Certificate other_ecert = Leaf(RootA(), "client", "alice");  // same subject, another certificate
  Certificate tcert = Leaf(RootA(), "tx", "alice", ecert.Fingerprint());
  store.AddEcert(other_ecert);
  CHECK(store.Check(tcert, {}, Now()).verdict == V::kUnknownEcert);

  Digest nothing{};
  nothing.fill(0xab);
  CHECK(store.Check(Leaf(RootA(), "tx", "alice", nothing), {}, Now()).verdict == V::kUnknownEcert);
}

TEST_CASE("A TCert is valid with its ECert presented after it instead of registered") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Leaf(RootA(), "client", "carol");
  Certificate tcert = Leaf(RootA(), "tx", "carol", ecert.Fingerprint());
  CHECK(store.Check(tcert, {}, Now()).verdict == V::kUnknownEcert);
  CertificateCheck check = store.Check({tcert, ecert}, Now());
  CAPTURE(check.reason);
  CHECK(check.ok());
  CHECK_FALSE(store.FindEcert(ecert.Fingerprint()).has_value());
}

TEST_CASE("A presented ECert of another CA, revoked, or of another identity does not validate a TCert") {
  TrustStore store;
  TrustA(store);
  REQUIRE(store.AddCa(RootB().cert).ok());
  Certificate foreign = Leaf(RootB(), "client", "carol");
  Certificate tcert_b = Leaf(RootA(), "tx", "carol", foreign.Fingerprint());
  CHECK_FALSE(store.Check({tcert_b, foreign}, Now()).ok());

  Certificate other_id = Leaf(RootA(), "client", "dave");
  Certificate tcert_other = Leaf(RootA(), "tx", "carol", other_id.Fingerprint());
  CHECK(store.Check({tcert_other, other_id}, Now()).verdict == V::kMalformed);

  Certificate revoked = Leaf(RootA(), "client", "erin");
  Certificate tcert_revoked = Leaf(RootA(), "tx", "erin", revoked.Fingerprint());
  REQUIRE(store.AddCrl(Crl(RootA(), {&revoked})).ok());
  CHECK(store.Check({tcert_revoked, revoked}, Now()).verdict == V::kEcertRevoked);
}

TEST_CASE("A TCert whose ECert is revoked gives ECert revoked") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Leaf(RootA(), "client", "mallory");
  Certificate tcert = Leaf(RootA(), "tx", "mallory", ecert.Fingerprint());
  store.AddEcert(ecert);
  REQUIRE(store.Check(tcert, {}, Now()).ok());
  REQUIRE(store.AddCrl(Crl(RootA(), {&ecert})).ok());
  CHECK(store.Check(tcert, {}, Now()).verdict == V::kEcertRevoked);
  CHECK(store.Check(ecert, {}, Now()).verdict == V::kRevoked);
}

TEST_CASE("A revoked TCert is revoked") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Leaf(RootA(), "client", "carol");
  Certificate tcert = Leaf(RootA(), "tx", "carol", ecert.Fingerprint());
  store.AddEcert(ecert);
  REQUIRE(store.AddCrl(Crl(RootA(), {&tcert})).ok());
  CHECK(store.Check(tcert, {}, Now()).verdict == V::kRevoked);
  CHECK(store.Check(ecert, {}, Now()).ok());
}

TEST_CASE("A TCert whose ECert has expired is expired even inside its own validity") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Issue(&RootA().cert, RootA().key, K().leaf.Public(), "chainA", "client", "dave", Now() - hours(1),
                            Now() + hours(2));
  Certificate tcert = Issue(&RootA().cert, RootA().key, K().leaf.Public(), "chainA", "tx", "dave", Now() - hours(1),
                            Now() + hours(24), false, ecert.Fingerprint());
  store.AddEcert(ecert);
  CHECK(store.Check(tcert, {}, Now()).ok());
  CertificateCheck later = store.Check(tcert, {}, Now() + hours(3));
  CHECK_FALSE(later.ok());
  CHECK(later.verdict == V::kExpired);
}

TEST_CASE("A certificate whose signature bytes were tampered with is refused") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(RootA(), "node", "tamper-sig");
  REQUIRE(store.Check(leaf, {}, Now()).ok());  // and now in the cache
  Bytes der = leaf.Der();
  der.back() ^= 0x01;  // the last byte belongs to the signature's S
  auto tampered = Certificate::FromDer(der);
  if (tampered.ok()) {
    CHECK(store.Check(*tampered, {}, Now()).verdict == V::kUntrusted);
  } else {
    CHECK(tampered.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("A certificate whose signed part was tampered with is refused") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(RootA(), "node", "tamper-tbs");
  REQUIRE(store.Check(leaf, {}, Now()).ok());
  Bytes der = leaf.Der();
  const std::string id = "tamper-tbs";
  auto at = std::search(der.begin(), der.end(), id.begin(), id.end());
  REQUIRE(at != der.end());
  *at = 'T';  // CN=Tamper-tbs
  auto tampered = Certificate::FromDer(der);
  if (tampered.ok()) {
    REQUIRE(tampered->subject().id == "Tamper-tbs");
    CHECK(store.Check(*tampered, {}, Now()).verdict == V::kUntrusted);
  } else {
    CHECK(tampered.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("A certificate issued by an ECert instead of a CA is untrusted") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Leaf(RootA(), "node", "not-a-ca");
  Certificate child =
      Issue(&ecert, K().leaf, K().leaf.Public(), "chainA", "node", "child", Now() - hours(1), Now() + hours(2));
  CHECK(store.Check(child, {ecert}, Now()).verdict == V::kUntrusted);
}

TEST_CASE("A chain through an intermediate CA is valid when the intermediate is given") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(IntermediateA(), "node", "node-i");
  CertificateCheck check = store.Check(leaf, {IntermediateA().cert}, Now());
  CAPTURE(check.reason);
  CHECK(check.ok());
  REQUIRE(check.chain.size() == 3);
  CHECK(check.chain[0] == leaf);
  CHECK(check.chain[1] == IntermediateA().cert);
  CHECK(check.chain[2] == RootA().cert);
  CHECK(store.Check(std::vector<Certificate>{leaf, IntermediateA().cert}, Now()).ok());
}

TEST_CASE("A chain through an intermediate CA is untrusted when the intermediate is missing") {
  TrustStore store;
  TrustA(store);
  CHECK(store.Check(Leaf(IntermediateA(), "node", "node-j"), {}, Now()).verdict == V::kUntrusted);
}

TEST_CASE("A TCert issued by an intermediate is valid with its ECert registered") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Leaf(IntermediateA(), "client", "erin");
  Certificate tcert = Leaf(IntermediateA(), "tx", "erin", ecert.Fingerprint());
  store.AddEcert(ecert);
  CertificateCheck check = store.Check(tcert, {IntermediateA().cert}, Now());
  CAPTURE(check.reason);
  CHECK(check.ok());
}

TEST_CASE("An expired intermediate makes the chain expired") {
  const PrivateKey& key = K().intermediate;
  Certificate short_intermediate = Issue(&RootA().cert, RootA().key, key.Public(), "chainA", "ca", "short issuing",
                                         Now() - hours(24), Now() + hours(1), true);
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf({key, short_intermediate}, "node", "node-k");
  CHECK(store.Check(leaf, {short_intermediate}, Now()).ok());
  CHECK(store.Check(leaf, {short_intermediate}, Now() + hours(2)).verdict == V::kExpired);
}

TEST_CASE("An intermediate's CRL is accepted with the intermediate given and revokes its certificates") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(IntermediateA(), "node", "node-r");
  std::string crl = Crl(IntermediateA(), {&leaf});
  // Without the intermediate, the CRL's issuer is unknown.
  CHECK(store.AddCrl(crl).code() == StatusCode::kInvalidArgument);
  REQUIRE(store.Check(leaf, {IntermediateA().cert}, Now()).ok());
  REQUIRE(store.AddCrl(crl, {IntermediateA().cert}).ok());
  CHECK(store.Check(leaf, {IntermediateA().cert}, Now()).verdict == V::kRevoked);
}

TEST_CASE("AddCrl refuses an intermediate's CRL when the intermediate is not issued by a trusted CA") {
  TrustStore store;
  TrustA(store);
  // An intermediate under chain B's root, which this store does not trust.
  const PrivateKey& key = K().intermediate;
  Certificate foreign_intermediate = Issue(&RootB().cert, RootB().key, key.Public(), "chainB", "ca",
                                           "chainB issuing CA", Now() - hours(24), Now() + hours(24 * 365), true);
  Ca foreign{key, foreign_intermediate};
  Certificate leaf = Leaf(foreign, "node", "node-f");
  CHECK(store.AddCrl(Crl(foreign, {&leaf}), {foreign_intermediate}).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("AddCrl refuses an intermediate's CRL signed by another key") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(IntermediateA(), "node", "node-forged");
  // Names the intermediate as issuer, signed with chain B's root key.
  auto forged =
      MakeCrlPem(IntermediateA().cert, RootB().key, {{leaf.SerialHex(), Now()}}, Now() - hours(1), Now() + hours(24));
  REQUIRE(forged.ok());
  CHECK(store.AddCrl(*forged, {IntermediateA().cert}).code() == StatusCode::kInvalidArgument);
  CHECK(store.Check(leaf, {IntermediateA().cert}, Now()).ok());
}

TEST_CASE("A revoked intermediate revokes the certificates under it") {
  TrustStore store;
  TrustA(store);
  Certificate intermediate = IntermediateA().cert;
  Certificate leaf = Leaf(IntermediateA(), "node", "node-q");
  REQUIRE(store.AddCrl(Crl(RootA(), {&intermediate})).ok());
  CHECK(store.Check(leaf, {intermediate}, Now()).verdict == V::kRevoked);
}

TEST_CASE("Checking the same certificate twice is answered from the cache") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(RootA(), "node", "cached");
  std::uint64_t before = store.cache_hits();
  REQUIRE(store.Check(leaf, {}, Now()).ok());
  std::uint64_t after_first = store.cache_hits();
  CHECK(after_first == before);
  REQUIRE(store.Check(leaf, {}, Now()).ok());
  CHECK(store.cache_hits() == after_first + 1);
}

TEST_CASE("A cached certificate is still expired or not yet valid at times outside its validity") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(RootA(), "node", "cached-times");
  REQUIRE(store.Check(leaf, {}, Now()).ok());
  std::uint64_t hits = store.cache_hits();
  CHECK(store.Check(leaf, {}, leaf.NotAfter() + hours(1)).verdict == V::kExpired);
  CHECK(store.Check(leaf, {}, leaf.NotBefore() - hours(1)).verdict == V::kNotYetValid);
  CHECK(store.Check(leaf, {}, Now()).ok());
  CHECK(store.cache_hits() > hits);
}

TEST_CASE("A cached certificate is revoked by a CRL added after it was cached") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(RootA(), "node", "cached-revoked");
  REQUIRE(store.Check(leaf, {}, Now()).ok());
  REQUIRE(store.Check(leaf, {}, Now()).ok());
  REQUIRE(store.AddCrl(Crl(RootA(), {&leaf})).ok());
  CHECK(store.Check(leaf, {}, Now()).verdict == V::kRevoked);
}

TEST_CASE("A cached untrusted verdict is not turned valid by checking with other intermediates") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(IntermediateA(), "node", "cached-untrusted");
  CHECK(store.Check(leaf, {}, Now()).verdict == V::kUntrusted);
  CHECK(store.Check(leaf, {IntermediateA().cert}, Now()).ok());
}

TEST_CASE("Checks from several threads at once all succeed") {
  TrustStore store;
  TrustA(store);
  Certificate ecert = Leaf(RootA(), "client", "frank");
  Certificate tcert = Leaf(RootA(), "tx", "frank", ecert.Fingerprint());
  store.AddEcert(ecert);
  std::atomic<int> valid{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (store.Check(i % 2 ? tcert : ecert, {}, Now()).ok()) ++valid;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(valid.load() == 200);
}

TEST_CASE("A certificate naming chain A issued by chain B's CA is untrusted even when both CAs are trusted") {
  TrustStore store;
  TrustA(store);
  REQUIRE(store.AddCa(RootB().cert).ok());
  // Chain B's CA vouching for an identity of chain A.
  auto forged = IssueCertificate(CertificateRequest{.chain = "chainA",
                                                    .role = "client",
                                                    .id = "alice",
                                                    .not_before = Now() - hours(1),
                                                    .not_after = Now() + hours(24)},
                                 K().leaf.Public(), &RootB().cert, RootB().key);
  REQUIRE(forged.ok());
  REQUIRE(forged->subject().chain == "chainA");
  CertificateCheck check = store.Check(*forged, {}, Now());
  CHECK(check.verdict == V::kUntrusted);
  CHECK(check.reason.find("chainA") != std::string::npos);
  // Chain B's own identities stay valid.
  CHECK(store.Check(Leaf(RootB(), "client", "bob"), {}, Now()).ok());
}

TEST_CASE("CRLs of two trusted CAs sharing a name are both accepted and both revoke their certificates") {
  // A rotated root: same subject as root A, another key.
  Certificate rotated_cert = Issue(nullptr, K().root_b, K().root_b.Public(), "chainA", "ca", "chainA root",
                                   Now() - hours(24), Now() + hours(24 * 3650), true);
  REQUIRE(rotated_cert.SubjectText() == RootA().cert.SubjectText());
  Ca rotated{K().root_b, rotated_cert};
  TrustStore store;
  TrustA(store);
  REQUIRE(store.AddCa(rotated.cert).ok());

  Certificate old_revoked = Leaf(RootA(), "node", "old-revoked");
  Certificate old_fine = Leaf(RootA(), "node", "old-fine");
  Certificate new_revoked = Leaf(rotated, "node", "new-revoked");
  Certificate new_fine = Leaf(rotated, "node", "new-fine");
  REQUIRE(store.Check(old_revoked, {}, Now()).ok());
  REQUIRE(store.Check(new_revoked, {}, Now()).ok());

  Status old_crl = store.AddCrl(Crl(RootA(), {&old_revoked}));
  CAPTURE(old_crl.message());
  CHECK(old_crl.ok());
  Status new_crl = store.AddCrl(Crl(rotated, {&new_revoked}));
  CAPTURE(new_crl.message());
  CHECK(new_crl.ok());

  CHECK(store.Check(old_revoked, {}, Now()).verdict == V::kRevoked);
  CHECK(store.Check(new_revoked, {}, Now()).verdict == V::kRevoked);
  CHECK(store.Check(old_fine, {}, Now()).ok());
  CHECK(store.Check(new_fine, {}, Now()).ok());
}

TEST_CASE("AddCrl keeps the newer CRL of a CA: an older one installed after it changes nothing") {
  TrustStore store;
  TrustA(store);
  Certificate revoked = Leaf(RootA(), "node", "stays-revoked");
  auto newer = MakeCrlPem(RootA().cert, RootA().key, {{revoked.SerialHex(), Now() - hours(2)}}, Now() - hours(1),
                          Now() + hours(24 * 30));
  auto older = MakeCrlPem(RootA().cert, RootA().key, {}, Now() - hours(3), Now() + hours(24 * 30));
  REQUIRE(newer.ok());
  REQUIRE(older.ok());
  REQUIRE(store.AddCrl(*newer).ok());
  REQUIRE(store.Check(revoked, {}, Now()).verdict == V::kRevoked);
  CHECK(store.AddCrl(*older).ok());
  CHECK(store.Check(revoked, {}, Now()).verdict == V::kRevoked);
}

TEST_CASE("A CRL past its nextUpdate is installed, its revocations apply, and StaleCrls names its issuer") {
  TrustStore store;
  TrustA(store);
  Certificate leaf = Leaf(RootA(), "node", "stale-crl");
  auto stale = MakeCrlPem(RootA().cert, RootA().key, {{leaf.SerialHex(), Now() - hours(48)}}, Now() - hours(48),
                          Now() - hours(1));
  REQUIRE(stale.ok());
  CHECK(store.StaleCrls(Now() - hours(2)).empty());
  REQUIRE(store.AddCrl(*stale).ok());
  CHECK(store.Check(leaf, {}, Now()).verdict == V::kRevoked);
  std::vector<std::string> due = store.StaleCrls(Now());
  REQUIRE(due.size() == 1);
  CHECK(due.front() == RootA().cert.SubjectText());
  CHECK(store.StaleCrls(Now() - hours(2)).empty());
}

TEST_CASE("ReadCrl names the issuer whose key verifies the CRL, its dates and serials; a stranger's CRL does not read") {
  Certificate leaf = Leaf(RootA(), "node", "read-crl");
  auto pem = MakeCrlPem(RootA().cert, RootA().key, {{leaf.SerialHex(), Now() - hours(2)}}, Now() - hours(1),
                        Now() + hours(24));
  REQUIRE(pem.ok());
  auto facts = ReadCrl(*pem, {RootB().cert, RootA().cert});
  REQUIRE_MESSAGE(facts.ok(), facts.status().ToString());
  CHECK(facts->issuer == RootA().cert);
  CHECK(facts->revoked_serials == std::set<std::string>{leaf.SerialHex()});
  REQUIRE(facts->next_update.has_value());
  CHECK(*facts->next_update > facts->this_update);
  CHECK(ReadCrl(*pem, {RootB().cert}).status().code() == StatusCode::kInvalidArgument);
  CHECK(ReadCrl("not a CRL", {RootA().cert}).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("A CA signed by an alliance root is an anchor when it is the only CA trusted") {
  const PrivateKey& alliance_key = K().root_b;
  Certificate alliance_root = Issue(nullptr, alliance_key, alliance_key.Public(), "alliance", "ca", "alliance root",
                                    Now() - hours(24), Now() + hours(24 * 3650), true);
  Certificate chain_a_ca = Issue(&alliance_root, alliance_key, K().intermediate.Public(), "chainA", "ca", "chainA CA",
                                 Now() - hours(24), Now() + hours(24 * 365), true);
  REQUIRE_FALSE(chain_a_ca.IsSelfSigned());
  TrustStore store;
  REQUIRE(store.AddCa(chain_a_ca).ok());
  Certificate leaf = Leaf({K().intermediate, chain_a_ca}, "node", "node-anchored");
  CertificateCheck check = store.Check(leaf, {}, Now());
  CAPTURE(check.reason);
  CHECK(check.ok());
  REQUIRE(check.chain.size() == 2);
  CHECK(check.chain.back() == chain_a_ca);
}

TEST_CASE("A certificate with a P-384 key issued by a trusted CA is malformed") {
  testing::TempDir dir;
  if (testing::RunCommand({"openssl", "version"}).exit_code != 0) {
    MESSAGE("openssl command not available; skipping");
    return;
  }
  REQUIRE(RootA().key.SaveFile(dir.Join("ca-key.pem")).ok());
  testing::WriteText(dir.Join("ca.pem"), RootA().cert.Pem());
  testing::WriteText(dir.Join("ext.cnf"),
                     "basicConstraints=CA:FALSE\n"
                     "subjectKeyIdentifier=hash\n"
                     "authorityKeyIdentifier=keyid:always\n");
  auto run = [](const std::vector<std::string>& argv) {
    testing::CommandResult r = testing::RunCommand(argv);
    CAPTURE(r.output);
    REQUIRE(r.exit_code == 0);
  };
  run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out",
       dir.Join("leaf-key.pem")});
  run({"openssl", "req", "-new", "-key", dir.Join("leaf-key.pem"), "-subj", "/O=chainA/OU=client/CN=x", "-out",
       dir.Join("leaf.csr")});
  run({"openssl", "x509", "-req", "-in", dir.Join("leaf.csr"), "-CA", dir.Join("ca.pem"), "-CAkey",
       dir.Join("ca-key.pem"), "-set_serial", "4242", "-days", "1", "-sha256", "-extfile", dir.Join("ext.cnf"), "-out",
       dir.Join("leaf.pem")});

  auto leaf = Certificate::LoadFile(dir.Join("leaf.pem"));
  REQUIRE(leaf.ok());
  REQUIRE(leaf->subject().chain == "chainA");
  REQUIRE(leaf->subject().role == Role::kClient);
  TrustStore store;
  TrustA(store);
  CertificateCheck check = store.Check(*leaf, {}, Clock::now());
  CAPTURE(check.reason);
  CHECK(check.verdict == V::kMalformed);
  CHECK(check.reason.find("P-256") != std::string::npos);
}
