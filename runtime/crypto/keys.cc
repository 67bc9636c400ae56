#include <openssl/core_names.h>

#include <algorithm>

#include "runtime/common/file.h"
#include "runtime/crypto/crypto.h"
#include "runtime/crypto/internal/openssl.h"

namespace entente::crypto {
namespace {

using namespace internal;

// The order n of P-256, and n/2: a signature's S must be at most n/2 (low S).
const BIGNUM* HalfOrder() {
  static const BIGNUM* half = [] {
    BIGNUM* n = nullptr;
    BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    BN_rshift1(n, n);
    return n;
  }();
  return half;
}

const BIGNUM* Order() {
  static const BIGNUM* n = [] {
    BIGNUM* v = nullptr;
    BN_hex2bn(&v, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    return v;
  }();
  return n;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

// ---- PublicKey ----

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return OpenSslInvalid("not a PEM public key");
  auto shared = ShareKey(key);
  if (!IsP256(key)) return Status::InvalidArgument("public key is not on the P-256 curve");
  return PublicKey(std::move(shared));
}

Result<PublicKey> PublicKey::FromDer(ByteView der) {
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (key == nullptr) return OpenSslInvalid("not a DER public key");
  auto shared = ShareKey(key);
  if (p != der.data() + der.size()) return Status::InvalidArgument("trailing bytes after DER public key");
  if (!IsP256(key)) return Status::InvalidArgument("public key is not on the P-256 curve");
  return PublicKey(std::move(shared));
}

Bytes PublicKey::Der() const {
  unsigned char* buf = nullptr;
  int len = i2d_PUBKEY(key_.get(), &buf);
  if (len <= 0) return {};
  Bytes out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}

std::string PublicKey::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key_.get());
  return BioToString(bio.get());
}

bool PublicKey::Verify(ByteView message, ByteView signature) const {
  // Parse strictly (DER, no trailing bytes) and insist on low S before the curve arithmetic.
  const unsigned char* p = signature.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
  if (!sig || p != signature.data() + signature.size()) {
    ERR_clear_error();
    return false;
  }
  unsigned char* reencoded = nullptr;
  int relen = i2d_ECDSA_SIG(sig.get(), &reencoded);
  bool canonical = relen == static_cast<int>(signature.size()) &&
                   std::equal(signature.begin(), signature.end(), reencoded);
  OPENSSL_free(reencoded);
  if (!canonical) return false;
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  if (BN_cmp(s, HalfOrder()) > 0) return false;

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size());
  if (rc != 1) ERR_clear_error();
  return rc == 1;
}

// ---- PrivateKey ----

Result<PrivateKey> PrivateKey::Generate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return OpenSslInternal("cannot generate a P-256 key");
  return PrivateKey(ShareKey(key));
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // An empty passphrase callback: encrypted keys are refused rather than prompting on a terminal.
  auto no_password = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
  if (key == nullptr) return OpenSslInvalid("not an unencrypted PEM private key");
  auto shared = ShareKey(key);
  if (!IsP256(key)) return Status::InvalidArgument("private key is not on the P-256 curve");
  return PrivateKey(std::move(shared));
}

Result<PrivateKey> PrivateKey::LoadFile(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto key = FromPem(pem);
  if (!key.ok()) return key.status().WithContext(path);
  return key;
}

std::string PrivateKey::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return BioToString(bio.get());
}

Status PrivateKey::SaveFile(const std::string& path) const { return WriteFileAtomic(path, Pem(), 0600); }

PrivateKey::PrivateKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {
  // Re-encode the public half so the PublicKey holds no private material. Decoding goes through
  // OpenSSL's decoder lookup, which is far too slow to repeat per call.
  unsigned char* buf = nullptr;
  int len = i2d_PUBKEY(key_.get(), &buf);
  const unsigned char* p = buf;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, len);
  OPENSSL_free(buf);
  public_ = ShareKey(pub);
}

PublicKey PrivateKey::Public() const { return NativeAccess::MakePublicKey(public_); }

Result<Bytes> PrivateKey::Sign(ByteView message) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
    return OpenSslInternal("cannot start signing");
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return OpenSslInternal("cannot size signature");
  }
  Bytes der(len);
  if (EVP_DigestSign(ctx.get(), der.data(), &len, message.data(), message.size()) != 1) {
    return OpenSslInternal("cannot sign");
  }
  der.resize(len);
  // Normalize to low S: s' = n - s when s > n/2.
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return OpenSslInternal("cannot parse own signature");
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  if (BN_cmp(s, HalfOrder()) <= 0) return der;
  BIGNUM* r = BN_dup(ECDSA_SIG_get0_r(sig.get()));
  BIGNUM* low_s = BN_new();
  BN_sub(low_s, Order(), s);
  ECDSA_SIG_set0(sig.get(), r, low_s);
  unsigned char* out = nullptr;
  int out_len = i2d_ECDSA_SIG(sig.get(), &out);
  if (out_len <= 0) return OpenSslInternal("cannot encode signature");
  Bytes normalized(out, out + out_len);
  OPENSSL_free(out);
  return normalized;
}

}  // namespace entente::crypto
