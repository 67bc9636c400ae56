#include "adapters/ethereum/internal/signer.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <random>
#include <vector>

#include "adapters/ethereum/internal/keccak.h"
#include "adapters/ethereum/internal/rlp.h"

namespace entente::adapters::ethereum {
namespace {

// Returns a process-wide signing context, created on first use and blinded with a random seed.
// libsecp256k1 functions taking a const context may share it between threads.
const secp256k1_context* Context() {
  static const secp256k1_context* const context = [] {
    secp256k1_context* created = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::random_device random;
    std::array<std::uint8_t, 32> seed;
    for (auto& byte : seed) byte = static_cast<std::uint8_t>(random());
    // Blinding only hardens against side channels; a failure leaves a working context.
    [[maybe_unused]] const int blinded = secp256k1_context_randomize(created, seed.data());
    return created;
  }();
  return context;
}

std::vector<RlpItem> TransactionFields(const LegacyTransaction& tx) {
  return {RlpItem::Uint(tx.nonce),          RlpItem::Uint(tx.gas_price),
          RlpItem::Uint(tx.gas_limit),      tx.to ? RlpItem::String(*tx.to) : RlpItem::String({}),
          RlpItem::BigEndianUint(tx.value), RlpItem::String(tx.data)};
}

}  // namespace

Bytes LegacySigningPayload(const LegacyTransaction& tx, std::uint64_t chain_id) {
  std::vector<RlpItem> fields = TransactionFields(tx);
  fields.push_back(RlpItem::Uint(chain_id));
  fields.push_back(RlpItem::Uint(0));
  fields.push_back(RlpItem::Uint(0));
  return RlpEncode(RlpItem::List(std::move(fields)));
}

std::string AddressHex(const AddressBytes& address) { return "0x" + HexEncode(address); }

std::string ChecksumAddress(const AddressBytes& address) {
  std::string hex = HexEncode(address);
  Hash256 hash = Keccak256(AsBytes(hex));
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const std::uint8_t nibble = (i % 2 == 0) ? hash[i / 2] >> 4 : hash[i / 2] & 0x0f;
    if (nibble >= 8) hex[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
  }
  return "0x" + hex;
}

Result<AddressBytes> ParseAddress(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  if (text.size() != 40) {
    return Status::InvalidArgument("address: expected 40 hex digits, got " + std::to_string(text.size()));
  }
  ENTENTE_ASSIGN_OR_RETURN(Bytes bytes, HexDecode(text));
  AddressBytes address;
  std::copy(bytes.begin(), bytes.end(), address.begin());
  return address;
}

Result<AccountKey> AccountKey::FromSecret(ByteView secret) {
  std::array<std::uint8_t, 32> key;
  if (secret.size() != key.size()) {
    return Status::InvalidArgument("account key: secret must be 32 bytes, got " + std::to_string(secret.size()));
  }
  std::copy(secret.begin(), secret.end(), key.begin());
  if (!secp256k1_ec_seckey_verify(Context(), key.data())) {
    return Status::InvalidArgument("account key: secret is zero or not below the secp256k1 group order");
  }
  secp256k1_pubkey public_key;
  if (!secp256k1_ec_pubkey_create(Context(), &public_key, key.data())) {
    return Status::Internal("account key: secp256k1_ec_pubkey_create failed");
  }
  std::array<std::uint8_t, 65> uncompressed;  // 0x04, X, Y
  std::size_t size = uncompressed.size();
  secp256k1_ec_pubkey_serialize(Context(), uncompressed.data(), &size, &public_key, SECP256K1_EC_UNCOMPRESSED);
  // The address is the last 20 bytes of the Keccak-256 of X || Y.
  Hash256 hash = Keccak256(ByteView(uncompressed).subspan(1));
  AddressBytes address;
  std::copy(hash.end() - address.size(), hash.end(), address.begin());
  return AccountKey(key, address);
}

Result<AccountKey> AccountKey::FromSecretHex(std::string_view secret_hex) {
  if (secret_hex.starts_with("0x") || secret_hex.starts_with("0X")) secret_hex.remove_prefix(2);
  Result<Bytes> secret = HexDecode(secret_hex);
  if (!secret.ok()) return secret.status().WithContext("account key");
  return FromSecret(*secret);
}

AccountKey::~AccountKey() {
  volatile std::uint8_t* secret = secret_.data();
  for (std::size_t i = 0; i < secret_.size(); ++i) secret[i] = 0;
}

Result<Bytes> AccountKey::SignLegacyTransaction(const LegacyTransaction& tx, std::uint64_t chain_id) const {
  if (chain_id == 0 || chain_id > (std::numeric_limits<std::uint64_t>::max() - 36) / 2) {
    return Status::InvalidArgument("sign: chain id " + std::to_string(chain_id) + " is out of range");
  }
  Hash256 hash = Keccak256(LegacySigningPayload(tx, chain_id));
  secp256k1_ecdsa_recoverable_signature signature;
  // A null nonce function selects RFC 6979 deterministic nonces; signatures come out with low s.
  if (!secp256k1_ecdsa_sign_recoverable(Context(), &signature, hash.data(), secret_.data(), nullptr, nullptr)) {
    return Status::Internal("sign: secp256k1_ecdsa_sign_recoverable failed");
  }
  std::array<std::uint8_t, 64> compact;  // r || s
  int recovery_id = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(Context(), compact.data(), &recovery_id, &signature);

  std::vector<RlpItem> fields = TransactionFields(tx);
  fields.push_back(RlpItem::Uint(static_cast<std::uint64_t>(recovery_id) + chain_id * 2 + 35));
  fields.push_back(RlpItem::BigEndianUint(ByteView(compact).first(32)));
  fields.push_back(RlpItem::BigEndianUint(ByteView(compact).subspan(32)));
  return RlpEncode(RlpItem::List(std::move(fields)));
}

}  // namespace entente::adapters::ethereum
