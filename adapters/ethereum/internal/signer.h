// An Ethereum account key (a secp256k1 secret key), its address, and signing of legacy transactions
// with EIP-155 replay protection. An AccountKey is immutable after creation; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/ethereum/internal/abi.h"
#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

namespace entente::adapters::ethereum {

// A pre-EIP-2718 transaction, as an Ethereum node's eth_sendRawTransaction accepts it.
struct LegacyTransaction {
  std::uint64_t nonce = 0;
  std::uint64_t gas_price = 0;  // wei per unit of gas
  std::uint64_t gas_limit = 0;
  std::optional<AddressBytes> to;  // none to create a contract
  Word value{};                    // wei, a 256-bit big-endian integer
  Bytes data;                      // call data or init code
};

// Returns the RLP list that EIP-155 signs: [nonce, gasPrice, gas, to, value, data, chainId, 0, 0].
Bytes LegacySigningPayload(const LegacyTransaction& tx, std::uint64_t chain_id);

// Returns "0x" and the 40 lowercase hex digits of `address`.
std::string AddressHex(const AddressBytes& address);

// Returns the EIP-55 form of `address`: "0x" and hex digits whose letters are upper case where the
// Keccak-256 of the lowercase hex has a nibble of 8 or more.
std::string ChecksumAddress(const AddressBytes& address);

// Returns the address in `text`: 40 hex digits of any case, with or without "0x". Returns
// InvalidArgument for another length or a non-hex character. The EIP-55 checksum is not checked.
Result<AddressBytes> ParseAddress(std::string_view text);

class AccountKey {
 public:
  // Returns the key for a 32-byte secret. Returns InvalidArgument for another length, zero, or a
  // value not below the secp256k1 group order.
  static Result<AccountKey> FromSecret(ByteView secret);
  // As FromSecret, for 64 hex digits with or without "0x"; InvalidArgument also for malformed hex.
  static Result<AccountKey> FromSecretHex(std::string_view secret_hex);

  AccountKey(const AccountKey&) = default;
  AccountKey& operator=(const AccountKey&) = default;
  ~AccountKey();  // overwrites the secret

  const AddressBytes& address() const { return address_; }
  // Returns "0x" and 40 lowercase hex digits.
  std::string Address() const { return AddressHex(address_); }
  // Returns the EIP-55 checksummed address.
  std::string ChecksummedAddress() const { return ChecksumAddress(address_); }

  // Returns the raw signed transaction, RLP of [nonce, gasPrice, gas, to, value, data, v, r, s] with
  // v = recovery id + chain_id * 2 + 35, ready for eth_sendRawTransaction. Returns InvalidArgument for
  // a chain id of 0 or one so large that v overflows 64 bits, Internal if libsecp256k1 fails.
  Result<Bytes> SignLegacyTransaction(const LegacyTransaction& tx, std::uint64_t chain_id) const;

 private:
  AccountKey(const std::array<std::uint8_t, 32>& secret, const AddressBytes& address)
      : secret_(secret), address_(address) {}

  std::array<std::uint8_t, 32> secret_;
  AddressBytes address_;
};

}  // namespace entente::adapters::ethereum
