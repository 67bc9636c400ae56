#include "runtime/crypto/internal/openssl.h"

#include <ctime>

namespace entente::crypto::internal {

std::string OpenSslErrors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Status OpenSslInvalid(const std::string& what) { return Status::InvalidArgument(what + ": " + OpenSslErrors()); }
Status OpenSslInternal(const std::string& what) { return Status::Internal(what + ": " + OpenSslErrors()); }

std::shared_ptr<EVP_PKEY> ShareKey(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free); }
std::shared_ptr<X509> ShareCert(X509* cert) { return std::shared_ptr<X509>(cert, X509_free); }

bool IsP256(const EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) != 1) return false;
  return std::string_view(group, len) == "prime256v1";
}

TimePoint ToTimePoint(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return TimePoint{};
  return Clock::from_time_t(timegm(&tm));
}

Asn1TimePtr ToAsn1Time(TimePoint time) {
  return Asn1TimePtr(ASN1_TIME_set(nullptr, Clock::to_time_t(time)));
}

const ASN1_OBJECT* TcertBindingObject() {
  static const ASN1_OBJECT* object = OBJ_txt2obj(std::string(kTcertBindingOid).c_str(), /*no_name=*/1);
  return object;
}

}  // namespace entente::crypto::internal
