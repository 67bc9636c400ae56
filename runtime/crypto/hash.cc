#include <openssl/rand.h>
#include <openssl/sha.h>

#include "runtime/crypto/crypto.h"
#include "runtime/crypto/internal/openssl.h"

namespace entente::crypto {

Digest Sha256(ByteView data) {
  Digest out;
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Digest Sha256(std::initializer_list<ByteView> parts) {
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (ByteView part : parts) EVP_DigestUpdate(ctx.get(), part.data(), part.size());
  Digest out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
  return out;
}

std::string Sha256Hex(ByteView data) { return HexEncode(Sha256(data)); }

Bytes RandomBytes(size_t n) {
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    // The CSPRNG failing is not recoverable: continuing would issue predictable keys and nonces.
    std::abort();
  }
  return out;
}

}  // namespace entente::crypto
