#include "runtime/crypto/crypto.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "runtime/common/bytes.h"
#include "tests/support/support.h"

using namespace entente;
using namespace entente::crypto;

namespace {

const PrivateKey& SharedKey() {
  static const PrivateKey key = PrivateKey::Generate().value();
  return key;
}

const PrivateKey& OtherKey() {
  static const PrivateKey key = PrivateKey::Generate().value();
  return key;
}

std::string Hex(const Digest& d) { return HexEncode(d); }

// ---- A little DER and big-number arithmetic for ECDSA signatures, independent of the code under test.

using Int256 = std::array<std::uint8_t, 32>;  // big-endian

Int256 FromHex(std::string_view hex) {
  Bytes b = HexDecode(hex).value();
  Int256 out{};
  std::copy(b.begin(), b.end(), out.begin() + (32 - b.size()));
  return out;
}

const Int256 kOrder = FromHex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

Int256 Sub(const Int256& a, const Int256& b) {  // REQUIRES: a >= b
  Int256 out{};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int v = int{a[i]} - int{b[i]} - borrow;
    borrow = v < 0 ? 1 : 0;
    out[i] = static_cast<std::uint8_t>(v + (borrow ? 256 : 0));
  }
  return out;
}

Int256 HalfOf(const Int256& a) {
  Int256 out{};
  int carry = 0;
  for (int i = 0; i < 32; ++i) {
    out[i] = static_cast<std::uint8_t>((a[i] >> 1) | (carry << 7));
    carry = a[i] & 1;
  }
  return out;
}

struct EcdsaSignature {
  Int256 r{};
  Int256 s{};
};

// Parses a DER ECDSA-Sig-Value with short-form lengths (always the case for P-256).
std::optional<EcdsaSignature> ParseDerSignature(const Bytes& der) {
  if (der.size() < 8 || der[0] != 0x30 || der[1] != der.size() - 2) return std::nullopt;
  size_t pos = 2;
  auto read_int = [&](Int256& out) -> bool {
    if (pos + 2 > der.size() || der[pos] != 0x02) return false;
    size_t len = der[pos + 1];
    pos += 2;
    if (pos + len > der.size() || len == 0) return false;
    size_t start = pos;
    while (len > 0 && der[start] == 0) ++start, --len;
    if (len > 32) return false;
    out = Int256{};
    std::copy(der.begin() + start, der.begin() + start + len, out.begin() + (32 - len));
    pos = start + len;
    return true;
  };
  EcdsaSignature sig;
  if (!read_int(sig.r) || !read_int(sig.s) || pos != der.size()) return std::nullopt;
  return sig;
}

Bytes EncodeDerInteger(const Int256& v) {
  size_t start = 0;
  while (start < 31 && v[start] == 0) ++start;
  Bytes body(v.begin() + start, v.end());
  if (body[0] & 0x80) body.insert(body.begin(), 0x00);
  Bytes out{0x02, static_cast<std::uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes EncodeDerSignature(const EcdsaSignature& sig) {
  Bytes r = EncodeDerInteger(sig.r);
  Bytes s = EncodeDerInteger(sig.s);
  Bytes out{0x30, static_cast<std::uint8_t>(r.size() + s.size())};
  out.insert(out.end(), r.begin(), r.end());
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// Plain OpenSSL ECDSA verification (no low-S rule): the reference the code under test is compared with.
bool OpenSslVerify(const PublicKey& key, ByteView message, const Bytes& signature) {
  Bytes der = key.Der();
  const unsigned char* p = der.data();
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (pkey == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

// PEM texts of keys that are not P-256, made with OpenSSL directly.
std::string ForeignPrivatePem(const char* type, const char* curve) {
  EVP_PKEY* key = curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve) : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  REQUIRE(key != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

std::string ForeignPublicPem(const char* type, const char* curve) {
  EVP_PKEY* key = curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve) : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  REQUIRE(key != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

}  // namespace

// ---- Hashing and randomness ----

TEST_CASE("Sha256 matches the NIST vector for \"abc\"") {
  CHECK(Hex(Sha256(AsBytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex(AsBytes("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("Sha256 matches the NIST vector for the empty message") {
  CHECK(Sha256Hex(AsBytes("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("Sha256 matches the NIST vector for the 448-bit message") {
  const std::string message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  REQUIRE(message.size() * 8 == 448);
  CHECK(Sha256Hex(AsBytes(message)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("Sha256 matches the NIST vector for one million 'a' characters") {
  const std::string message(1000000, 'a');
  CHECK(Sha256Hex(AsBytes(message)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Sha256 of parts equals Sha256 of their concatenation") {
  CHECK(Sha256({AsBytes("ab"), AsBytes(""), AsBytes("c")}) == Sha256(AsBytes("abc")));
  CHECK(Sha256(std::initializer_list<ByteView>{}) == Sha256(AsBytes("")));
  CHECK(Sha256({AsBytes("abd")}) != Sha256(AsBytes("abc")));
}

TEST_CASE("RandomBytes returns the requested number of bytes, different each time") {
  CHECK(RandomBytes(0).empty());
  CHECK(RandomBytes(1).size() == 1);
  Bytes a = RandomBytes(32);
  Bytes b = RandomBytes(32);
  REQUIRE(a.size() == 32);
  REQUIRE(b.size() == 32);
  CHECK(a != b);
  CHECK(a != Bytes(32, 0));
  CHECK(RandomBytes(1000).size() == 1000);
}

// ---- Keys ----

TEST_CASE("PrivateKey::Generate returns distinct P-256 keys") {
  auto a = PrivateKey::Generate();
  auto b = PrivateKey::Generate();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK_FALSE(a->Public() == b->Public());
  // A P-256 SubjectPublicKeyInfo with an uncompressed point is 91 bytes.
  CHECK(a->Public().Der().size() == 91);
}

TEST_CASE("A private key survives a PKCS#8 PEM round trip") {
  const PrivateKey& key = SharedKey();
  std::string pem = key.Pem();
  CHECK(pem.find("-----BEGIN PRIVATE KEY-----") != std::string::npos);
  auto restored = PrivateKey::FromPem(pem);
  REQUIRE(restored.ok());
  CHECK(restored->Public() == key.Public());
  auto signature = restored->Sign(AsBytes("message"));
  REQUIRE(signature.ok());
  CHECK(key.Public().Verify(AsBytes("message"), *signature));
}

TEST_CASE("A public key survives PEM and DER round trips") {
  PublicKey key = SharedKey().Public();
  std::string pem = key.Pem();
  CHECK(pem.find("-----BEGIN PUBLIC KEY-----") != std::string::npos);
  auto from_pem = PublicKey::FromPem(pem);
  REQUIRE(from_pem.ok());
  CHECK(*from_pem == key);
  auto from_der = PublicKey::FromDer(key.Der());
  REQUIRE(from_der.ok());
  CHECK(*from_der == key);
  CHECK_FALSE(key == OtherKey().Public());
}

TEST_CASE("PublicKey parsing rejects garbage and keys that are not P-256") {
  CHECK(PublicKey::FromPem("not a key").status().code() == StatusCode::kInvalidArgument);
  CHECK(PublicKey::FromPem("").status().code() == StatusCode::kInvalidArgument);
  CHECK(PublicKey::FromDer(Bytes{0x30, 0x03, 0x02, 0x01, 0x01}).status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(PublicKey::FromDer(Bytes{}).ok());
  Bytes truncated = SharedKey().Public().Der();
  truncated.resize(truncated.size() - 5);
  CHECK_FALSE(PublicKey::FromDer(truncated).ok());

  auto p384 = PublicKey::FromPem(ForeignPublicPem("EC", "P-384"));
  REQUIRE_FALSE(p384.ok());
  CHECK(p384.status().code() == StatusCode::kInvalidArgument);
  CHECK(PublicKey::FromPem(ForeignPublicPem("ED25519", nullptr)).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("PrivateKey::FromPem rejects garbage, public keys and keys that are not P-256") {
  CHECK(PrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").status().code() ==
        StatusCode::kInvalidArgument);
  CHECK_FALSE(PrivateKey::FromPem("").ok());
  CHECK_FALSE(PrivateKey::FromPem(SharedKey().Public().Pem()).ok());
  CHECK(PrivateKey::FromPem(ForeignPrivatePem("EC", "P-384")).status().code() == StatusCode::kInvalidArgument);
  CHECK(PrivateKey::FromPem(ForeignPrivatePem("ED25519", nullptr)).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("PrivateKey::FromPem rejects an encrypted private key without prompting") {
  std::string pem = SharedKey().Pem();
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  REQUIRE(pkey != nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  char password[] = "secret-pass";
  REQUIRE(PEM_write_bio_PKCS8PrivateKey(out, pkey, EVP_aes_256_cbc(), password, sizeof password - 1, nullptr,
                                        nullptr) == 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(out, &data);
  std::string encrypted(data, static_cast<size_t>(len));
  BIO_free(out);
  EVP_PKEY_free(pkey);
  REQUIRE(encrypted.find("ENCRYPTED PRIVATE KEY") != std::string::npos);

  auto r = PrivateKey::FromPem(encrypted);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("PrivateKey::SaveFile writes a 0600 file that LoadFile reads back") {
  testing::TempDir dir;
  const std::string path = dir.Join("key.pem");
  REQUIRE(SharedKey().SaveFile(path).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = PrivateKey::LoadFile(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->Public() == SharedKey().Public());
  CHECK(testing::ReadText(path) == SharedKey().Pem());
}

TEST_CASE("PrivateKey::LoadFile fails for a missing file and for a file that is not a key") {
  testing::TempDir dir;
  CHECK_FALSE(PrivateKey::LoadFile(dir.Join("absent.pem")).ok());
  testing::WriteText(dir.Join("junk.pem"), "junk");
  auto junk = PrivateKey::LoadFile(dir.Join("junk.pem"));
  REQUIRE_FALSE(junk.ok());
  CHECK(junk.status().code() == StatusCode::kInvalidArgument);
}

// ---- Signatures ----

TEST_CASE("A signature verifies with the signer's public key") {
  auto signature = SharedKey().Sign(AsBytes("proposal bytes"));
  REQUIRE(signature.ok());
  CHECK(SharedKey().Public().Verify(AsBytes("proposal bytes"), *signature));
  // A DER signature over P-256 is at most 72 bytes.
  CHECK(signature->size() <= 72);
  CHECK(ParseDerSignature(*signature).has_value());
}

TEST_CASE("A signature over the empty message verifies") {
  auto signature = SharedKey().Sign(AsBytes(""));
  REQUIRE(signature.ok());
  CHECK(SharedKey().Public().Verify(AsBytes(""), *signature));
  CHECK_FALSE(SharedKey().Public().Verify(AsBytes("x"), *signature));
}

TEST_CASE("A signature is plain ECDSA over SHA-256 that OpenSSL verifies") {
  auto signature = SharedKey().Sign(AsBytes("interop"));
  REQUIRE(signature.ok());
  CHECK(OpenSslVerify(SharedKey().Public(), AsBytes("interop"), *signature));
}

TEST_CASE("A signature does not verify with another key") {
  auto signature = SharedKey().Sign(AsBytes("message"));
  REQUIRE(signature.ok());
  CHECK_FALSE(OtherKey().Public().Verify(AsBytes("message"), *signature));
}

TEST_CASE("A signature does not verify over a tampered message") {
  Bytes message = ToBytes("transfer 10 to bob");
  auto signature = SharedKey().Sign(message);
  REQUIRE(signature.ok());
  message[9] ^= 0x01;
  CHECK_FALSE(SharedKey().Public().Verify(message, *signature));
  Bytes longer = ToBytes("transfer 10 to bob!");
  CHECK_FALSE(SharedKey().Public().Verify(longer, *signature));
}

TEST_CASE("A tampered signature does not verify") {
  auto signature = SharedKey().Sign(AsBytes("message"));
  REQUIRE(signature.ok());
  Bytes tampered = *signature;
  tampered.back() ^= 0x01;
  CHECK_FALSE(SharedKey().Public().Verify(AsBytes("message"), tampered));
}

TEST_CASE("A malformed DER signature does not verify") {
  const PublicKey key = SharedKey().Public();
  auto signature = SharedKey().Sign(AsBytes("message"));
  REQUIRE(signature.ok());
  CHECK_FALSE(key.Verify(AsBytes("message"), Bytes{}));
  CHECK_FALSE(key.Verify(AsBytes("message"), ToBytes("not a signature")));
  CHECK_FALSE(key.Verify(AsBytes("message"), Bytes(64, 0x11)));  // raw r||s is not DER

  Bytes trailing = *signature;
  trailing.push_back(0x00);
  CHECK_FALSE(key.Verify(AsBytes("message"), trailing));

  Bytes truncated = *signature;
  truncated.pop_back();
  CHECK_FALSE(key.Verify(AsBytes("message"), truncated));

  // The same SEQUENCE with a long-form length (BER, not DER).
  Bytes long_form{0x30, 0x81, (*signature)[1]};
  long_form.insert(long_form.end(), signature->begin() + 2, signature->end());
  CHECK_FALSE(key.Verify(AsBytes("message"), long_form));

  // The same values with a needless leading zero in r (DER integers are minimal).
  auto parsed = ParseDerSignature(*signature);
  REQUIRE(parsed.has_value());
  Bytes r = EncodeDerInteger(parsed->r);
  Bytes s = EncodeDerInteger(parsed->s);
  r.insert(r.begin() + 2, 0x00);
  r[1] = static_cast<std::uint8_t>(r[1] + 1);
  Bytes padded{0x30, static_cast<std::uint8_t>(r.size() + s.size())};
  padded.insert(padded.end(), r.begin(), r.end());
  padded.insert(padded.end(), s.begin(), s.end());
  CHECK_FALSE(key.Verify(AsBytes("message"), padded));
  // Sanity: re-encoding the parsed values minimally gives the original signature back.
  CHECK(EncodeDerSignature(*parsed) == *signature);
}

TEST_CASE("Sign always produces a low-S signature") {
  const Int256 half = HalfOf(kOrder);
  for (int i = 0; i < 24; ++i) {
    CAPTURE(i);
    std::string message = "message " + std::to_string(i);
    auto signature = SharedKey().Sign(AsBytes(message));
    REQUIRE(signature.ok());
    auto parsed = ParseDerSignature(*signature);
    REQUIRE(parsed.has_value());
    CHECK(parsed->s <= half);
  }
}

TEST_CASE("A high-S signature is rejected although plain ECDSA accepts it") {
  const PublicKey key = SharedKey().Public();
  const std::string message = "pay alice";
  auto signature = SharedKey().Sign(AsBytes(message));
  REQUIRE(signature.ok());
  auto parsed = ParseDerSignature(*signature);
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->s <= HalfOf(kOrder));

  EcdsaSignature high = *parsed;
  high.s = Sub(kOrder, parsed->s);
  CHECK(high.s > HalfOf(kOrder));
  Bytes high_der = EncodeDerSignature(high);
  REQUIRE(high_der != *signature);
  // The construction is right: (r, n - s) is a mathematically valid signature...
  REQUIRE(OpenSslVerify(key, AsBytes(message), high_der));
  // ...the original, re-encoded by this test, still verifies...
  CHECK(key.Verify(AsBytes(message), EncodeDerSignature(*parsed)));
  // ...but it has a high S, so it is refused.
  CHECK_FALSE(key.Verify(AsBytes(message), high_der));
}

// ---- Roles ----

TEST_CASE("ParseRole accepts every role name and RoleName gives it back") {
  const std::pair<std::string_view, Role> roles[] = {{"node", Role::kNode},   {"client", Role::kClient},
                                                     {"admin", Role::kAdmin}, {"relay", Role::kRelay},
                                                     {"tx", Role::kTx},       {"ca", Role::kCa}};
  for (const auto& [name, role] : roles) {
    CAPTURE(name);
    auto parsed = ParseRole(name);
    REQUIRE(parsed.ok());
    CHECK(*parsed == role);
    CHECK(RoleName(role) == name);
  }
}

TEST_CASE("ParseRole rejects an unknown role name") {
  for (std::string_view name : {"", "Node", "peer", "unknown", "node "}) {
    CAPTURE(name);
    auto r = ParseRole(name);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("CertificateVerdictName gives a distinct name to every verdict") {
  std::set<std::string> names;
  for (CertificateVerdict v :
       {CertificateVerdict::kValid, CertificateVerdict::kMalformed, CertificateVerdict::kUntrusted,
        CertificateVerdict::kExpired, CertificateVerdict::kNotYetValid, CertificateVerdict::kRevoked,
        CertificateVerdict::kUnknownEcert, CertificateVerdict::kEcertRevoked}) {
    std::string name(CertificateVerdictName(v));
    CHECK_FALSE(name.empty());
    names.insert(name);
  }
  CHECK(names.size() == 8);
}
