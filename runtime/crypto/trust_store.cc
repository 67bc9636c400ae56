#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "runtime/crypto/crypto.h"
#include "runtime/crypto/internal/openssl.h"

namespace entente::crypto {
namespace {

using namespace internal;

constexpr size_t kMaxCachedChains = 100000;

std::string FormatTime(TimePoint t) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NameKey(const X509_NAME* name) {
  const unsigned char* der = nullptr;
  size_t len = 0;
  X509_NAME_get0_der(const_cast<X509_NAME*>(name), &der, &len);
  return std::string(reinterpret_cast<const char*>(der), len);
}

CertificateCheck Verdict(CertificateVerdict verdict, std::string reason, std::vector<Certificate> chain = {}) {
  return CertificateCheck{verdict, std::move(reason), std::move(chain)};
}

}  // namespace

std::string_view CertificateVerdictName(CertificateVerdict verdict) {
  switch (verdict) {
    case CertificateVerdict::kValid: return "valid";
    case CertificateVerdict::kMalformed: return "malformed";
    case CertificateVerdict::kUntrusted: return "untrusted";
    case CertificateVerdict::kExpired: return "expired";
    case CertificateVerdict::kNotYetValid: return "not yet valid";
    case CertificateVerdict::kRevoked: return "revoked";
    case CertificateVerdict::kUnknownEcert: return "bound to an unknown ECert";
    case CertificateVerdict::kEcertRevoked: return "bound to a revoked ECert";
  }
  return "unknown";
}

struct TrustStore::State {
  mutable std::shared_mutex mu;
  std::vector<Certificate> cas;
  X509StorePtr store{X509_STORE_new()};
  // CRLs by the fingerprint of the CA certificate whose key signed them: the revoked serials
  // (uppercase hex), the CRL's lastUpdate, so that an older CRL never replaces a newer one, its
  // nextUpdate, and the issuer's subject text.
  struct Crl {
    std::set<std::string> serials;
    TimePoint last_update;
    std::optional<TimePoint> next_update;
    std::string issuer;
  };
  std::map<Digest, Crl> crls;
  std::map<Digest, Certificate> ecerts;

  // Verified chains by leaf fingerprint: signatures and path are time-independent, checked once.
  mutable std::mutex cache_mu;
  mutable std::map<Digest, std::vector<Certificate>> chains;
  mutable std::uint64_t cache_hits = 0;

  // Builds and verifies the chain of `leaf` (signatures and path only; time is checked separately).
  CertificateCheck BuildChain(const Certificate& leaf, const std::vector<Certificate>& intermediates) const;
  CertificateCheck CheckAt(const Certificate& leaf, const std::vector<Certificate>& intermediates, TimePoint at,
                           int depth) const;
};

TrustStore::TrustStore() : state_(std::make_unique<State>()) {}
TrustStore::~TrustStore() = default;

Status TrustStore::AddCa(const Certificate& ca) {
  if (!ca.IsCa()) return Status::InvalidArgument("not a CA certificate: " + ca.SubjectText());
  std::unique_lock lock(state_->mu);
  for (const Certificate& known : state_->cas) {
    if (known == ca) return Status::Ok();
  }
  if (X509_STORE_add_cert(state_->store.get(), NativeAccess::Cert(ca)) != 1) {
    return OpenSslInternal("cannot trust " + ca.SubjectText());
  }
  state_->cas.push_back(ca);
  return Status::Ok();
}

Result<CrlFacts> ReadCrl(std::string_view crl_pem, const std::vector<Certificate>& issuers) {
  BioPtr bio(BIO_new_mem_buf(crl_pem.data(), static_cast<int>(crl_pem.size())));
  X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) return OpenSslInvalid("malformed CRL");
  std::string issuer_name = NameKey(X509_CRL_get_issuer(crl.get()));
  // Several CAs may share a name (a rotated root, or a member naming its CA like another's): the one
  // whose key verifies the CRL is its issuer.
  bool name_known = false;
  const Certificate* issuer = nullptr;
  for (const Certificate& c : issuers) {
    if (NameKey(X509_get_subject_name(NativeAccess::Cert(c))) != issuer_name) continue;
    name_known = true;
    if (X509_CRL_verify(crl.get(), X509_get0_pubkey(NativeAccess::Cert(c))) == 1) {
      issuer = &c;
      break;
    }
    ERR_clear_error();
  }
  if (issuer == nullptr) {
    BioPtr name_bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(name_bio.get(), X509_CRL_get_issuer(crl.get()), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long len = BIO_get_mem_data(name_bio.get(), &data);
    std::string name(data, static_cast<size_t>(len));
    return Status::InvalidArgument(name_known ? "CRL signature does not verify with the key of any CA named " + name
                                              : "CRL issuer is not a trusted CA: " + name);
  }
  CrlFacts facts{*issuer, ToTimePoint(X509_CRL_get0_lastUpdate(crl.get())), std::nullopt, {}};
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get()); next != nullptr) facts.next_update = ToTimePoint(next);
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const ASN1_INTEGER* serial = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i));
    BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    char* hex = BN_bn2hex(bn.get());
    facts.revoked_serials.insert(hex);
    OPENSSL_free(hex);
  }
  return facts;
}

Status TrustStore::AddCrl(std::string_view crl_pem, const std::vector<Certificate>& intermediates) {
  std::unique_lock lock(state_->mu);
  // Candidates: trusted CAs, and intermediates that a trusted CA issued.
  std::vector<Certificate> candidates = state_->cas;
  for (const Certificate& c : intermediates) {
    for (const Certificate& ca : state_->cas) {
      if (c.IsCa() && c.IsIssuedBy(ca)) candidates.push_back(c);
    }
  }
  ENTENTE_ASSIGN_OR_RETURN(CrlFacts facts, ReadCrl(crl_pem, candidates));
  auto existing = state_->crls.find(facts.issuer.Fingerprint());
  if (existing != state_->crls.end() && facts.this_update < existing->second.last_update) return Status::Ok();
  Digest issuer = facts.issuer.Fingerprint();
  std::string issuer_text = facts.issuer.SubjectText();
  state_->crls.insert_or_assign(issuer, State::Crl{std::move(facts.revoked_serials), facts.this_update,
                                                   facts.next_update, std::move(issuer_text)});
  return Status::Ok();
}

std::vector<std::string> TrustStore::StaleCrls(TimePoint at) const {
  std::shared_lock lock(state_->mu);
  std::vector<std::string> stale;
  for (const auto& [issuer, crl] : state_->crls) {
    if (crl.next_update && *crl.next_update < at) stale.push_back(crl.issuer);
  }
  return stale;
}

void TrustStore::AddEcert(const Certificate& ecert) {
  std::unique_lock lock(state_->mu);
  state_->ecerts.insert_or_assign(ecert.Fingerprint(), ecert);
}

std::optional<Certificate> TrustStore::FindEcert(const Digest& fingerprint) const {
  std::shared_lock lock(state_->mu);
  auto it = state_->ecerts.find(fingerprint);
  if (it == state_->ecerts.end()) return std::nullopt;
  return it->second;
}

std::uint64_t TrustStore::cache_hits() const {
  std::lock_guard lock(state_->cache_mu);
  return state_->cache_hits;
}

CertificateCheck TrustStore::Check(const std::vector<Certificate>& chain, TimePoint at) const {
  if (chain.empty()) return Verdict(CertificateVerdict::kMalformed, "no certificate given");
  std::vector<Certificate> intermediates(chain.begin() + 1, chain.end());
  return Check(chain.front(), intermediates, at);
}

CertificateCheck TrustStore::Check(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                                   TimePoint at) const {
  std::shared_lock lock(state_->mu);
  return state_->CheckAt(leaf, intermediates, at, 0);
}

CertificateCheck TrustStore::State::BuildChain(const Certificate& leaf,
                                               const std::vector<Certificate>& intermediates) const {
  {
    std::lock_guard lock(cache_mu);
    auto it = chains.find(leaf.Fingerprint());
    if (it != chains.end()) {
      ++cache_hits;
      return Verdict(CertificateVerdict::kValid, "", it->second);
    }
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const Certificate& c : intermediates) sk_X509_push(untrusted, NativeAccess::Cert(c));
  CertificateCheck result;
  if (X509_STORE_CTX_init(ctx.get(), store.get(), NativeAccess::Cert(leaf), untrusted) != 1) {
    sk_X509_free(untrusted);
    return Verdict(CertificateVerdict::kUntrusted, OpenSslErrors());
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // PARTIAL_CHAIN: every CA added with AddCa is an anchor, even one an alliance root signed.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_X509_STRICT | X509_V_FLAG_PARTIAL_CHAIN);
  int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    std::string why = X509_verify_cert_error_string(err);
    if (err == X509_V_ERR_CERT_SIGNATURE_FAILURE) why = "its signature does not verify (tampered?)";
    result = Verdict(CertificateVerdict::kUntrusted,
                     "certificate " + leaf.SubjectText() + " does not chain to a trusted CA: " + why);
  } else {
    STACK_OF(X509)* built = X509_STORE_CTX_get1_chain(ctx.get());
    std::vector<Certificate> chain;
    for (int i = 0; i < sk_X509_num(built); ++i) {
      X509* c = sk_X509_value(built, i);
      X509_up_ref(c);
      chain.push_back(NativeAccess::MakeCertificate(ShareCert(c)));
    }
    sk_X509_pop_free(built, X509_free);
    std::lock_guard lock(cache_mu);
    if (chains.size() >= kMaxCachedChains) chains.clear();
    chains.emplace(leaf.Fingerprint(), chain);
    result = Verdict(CertificateVerdict::kValid, "", std::move(chain));
  }
  sk_X509_free(untrusted);
  ERR_clear_error();
  return result;
}

CertificateCheck TrustStore::State::CheckAt(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                                            TimePoint at, int depth) const {
  Subject subject = leaf.subject();
  if (subject.chain.empty() || subject.id.empty() || subject.role == Role::kUnknown) {
    return Verdict(CertificateVerdict::kMalformed,
                   "certificate " + leaf.SubjectText() + " lacks O=<chain>, OU=<role>, CN=<id>");
  }
  CertificateCheck check = BuildChain(leaf, intermediates);
  if (!check.ok()) return check;

  for (const Certificate& c : check.chain) {
    if (at < c.NotBefore()) {
      return Verdict(CertificateVerdict::kNotYetValid,
                     "certificate " + c.SubjectText() + " is not valid until " + FormatTime(c.NotBefore()), check.chain);
    }
    if (at > c.NotAfter()) {
      return Verdict(CertificateVerdict::kExpired,
                     "certificate " + c.SubjectText() + " expired at " + FormatTime(c.NotAfter()), check.chain);
    }
  }
  // Every certificate of the chain belongs to the chain (O=) of the trusted CA it ends at: a member's CA
  // cannot vouch for another member's identities.
  const std::string& anchor_chain = check.chain.back().subject().chain;
  for (const Certificate& c : check.chain) {
    if (c.subject().chain != anchor_chain) {
      return Verdict(CertificateVerdict::kUntrusted,
                     "certificate " + c.SubjectText() + " claims chain '" + c.subject().chain + "' but its CA " +
                         check.chain.back().SubjectText() + " is chain '" + anchor_chain + "'",
                     check.chain);
    }
  }
  if (!IsP256(X509_get0_pubkey(NativeAccess::Cert(leaf)))) {
    return Verdict(CertificateVerdict::kMalformed, "certificate " + leaf.SubjectText() + " has no P-256 key",
                   check.chain);
  }
  for (size_t i = 0; i + 1 < check.chain.size(); ++i) {
    const Certificate& c = check.chain[i];
    auto crl = crls.find(check.chain[i + 1].Fingerprint());
    if (crl != crls.end() && crl->second.serials.count(c.SerialHex()) > 0) {
      return Verdict(CertificateVerdict::kRevoked,
                     "certificate " + c.SubjectText() + " (serial " + c.SerialHex() + ") is revoked by " +
                         c.IssuerText(),
                     check.chain);
    }
  }

  std::optional<Digest> bound = leaf.BoundEcert();
  if (subject.role == Role::kTx && !bound) {
    return Verdict(CertificateVerdict::kMalformed, "TCert " + leaf.SubjectText() + " has no ECert binding",
                   check.chain);
  }
  if (bound) {
    if (subject.role != Role::kTx || depth > 0) {
      return Verdict(CertificateVerdict::kMalformed,
                     "certificate " + leaf.SubjectText() + " has a TCert binding but is not a TCert", check.chain);
    }
    // The ECert is registered, or presented beside the TCert (a creator's chain: TCert, ECert, ...);
    // either way it must itself be valid now.
    const Certificate* ecert = nullptr;
    if (auto registered = ecerts.find(*bound); registered != ecerts.end()) ecert = &registered->second;
    for (const Certificate& c : intermediates) {
      if (ecert == nullptr && c.Fingerprint() == *bound) ecert = &c;
    }
    if (ecert == nullptr) {
      return Verdict(CertificateVerdict::kUnknownEcert,
                     "TCert " + leaf.SubjectText() + " is bound to an unknown ECert " + HexEncode(*bound), check.chain);
    }
    CertificateCheck ecert_check = CheckAt(*ecert, intermediates, at, depth + 1);
    if (ecert_check.verdict == CertificateVerdict::kRevoked) {
      return Verdict(CertificateVerdict::kEcertRevoked, "TCert is bound to a revoked ECert: " + ecert_check.reason,
                     check.chain);
    }
    if (!ecert_check.ok()) {
      return Verdict(ecert_check.verdict, "TCert's ECert: " + ecert_check.reason, check.chain);
    }
    if (ecert_check.chain.size() < 2 || check.chain.size() < 2 || !(ecert_check.chain[1] == check.chain[1])) {
      return Verdict(CertificateVerdict::kUntrusted, "TCert and its ECert were issued by different CAs", check.chain);
    }
    if (ecert->subject().chain != subject.chain || ecert->subject().id != subject.id) {
      return Verdict(CertificateVerdict::kMalformed, "TCert subject does not match its ECert's", check.chain);
    }
  }
  return check;
}

}  // namespace entente::crypto
