// OpenSSL plumbing for runtime/crypto: owning pointers for OpenSSL objects, the error queue as text,
// and access to the OpenSSL objects behind the public value types. Included only by runtime/crypto.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>

#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"

namespace entente::crypto::internal {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED, X509_REVOKED_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

// Returns the OpenSSL error queue as one line (and clears it), or "unknown OpenSSL error".
std::string OpenSslErrors();

// Returns `what` + ": " + OpenSslErrors() as an InvalidArgument / Internal status.
Status OpenSslInvalid(const std::string& what);
Status OpenSslInternal(const std::string& what);

// Owns `key` in a shared_ptr that frees it with EVP_PKEY_free.
std::shared_ptr<EVP_PKEY> ShareKey(EVP_PKEY* key);
std::shared_ptr<X509> ShareCert(X509* cert);

// Returns true if `key` is an EC key on P-256.
bool IsP256(const EVP_PKEY* key);

// Converts an ASN1_TIME to a time point, and back (the caller owns the result).
TimePoint ToTimePoint(const ASN1_TIME* time);
Asn1TimePtr ToAsn1Time(TimePoint time);

// The ASN1_OBJECT of kTcertBindingOid, created once.
const ASN1_OBJECT* TcertBindingObject();

// The OpenSSL objects behind crypto's public value types.
struct NativeAccess {
  static EVP_PKEY* Key(const PublicKey& key) { return key.key_.get(); }
  static EVP_PKEY* Key(const PrivateKey& key) { return key.key_.get(); }
  static X509* Cert(const Certificate& cert) { return cert.cert_.get(); }
  static PublicKey MakePublicKey(std::shared_ptr<EVP_PKEY> key) { return PublicKey(std::move(key)); }
  static PrivateKey MakePrivateKey(std::shared_ptr<EVP_PKEY> key) { return PrivateKey(std::move(key)); }
  static Certificate MakeCertificate(std::shared_ptr<X509> cert) { return Certificate(std::move(cert)); }
};

}  // namespace entente::crypto::internal
