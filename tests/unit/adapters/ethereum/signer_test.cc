#include "adapters/ethereum/internal/signer.h"

#include <doctest/doctest.h>

#include <string>

#include "adapters/ethereum/internal/keccak.h"
#include "adapters/ethereum/internal/rlp.h"
#include "tests/support/must.h"

using namespace entente;
using namespace entente::adapters::ethereum;
using entente::testing::Must;

namespace {

// The example transaction of EIP-155: 1 ether to 0x3535...35 with nonce 9 on chain 1.
LegacyTransaction Eip155Transaction() {
  LegacyTransaction tx;
  tx.nonce = 9;
  tx.gas_price = 20000000000;
  tx.gas_limit = 21000;
  tx.to = Must(ParseAddress("0x3535353535353535353535353535353535353535"));
  tx.value = UintWord(1000000000000000000);
  return tx;
}

constexpr std::string_view kEip155Secret = "0x4646464646464646464646464646464646464646464646464646464646464646";

}  // namespace

TEST_CASE("LegacySigningPayload and its hash match the EIP-155 example") {
  Bytes payload = LegacySigningPayload(Eip155Transaction(), 1);
  CHECK(HexEncode(payload) ==
        "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080");
  CHECK(Keccak256Hex(payload) == "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
}

TEST_CASE("SignLegacyTransaction produces the EIP-155 example's signed transaction") {
  AccountKey key = Must(AccountKey::FromSecretHex(kEip155Secret));
  Bytes signed_tx = Must(key.SignLegacyTransaction(Eip155Transaction(), 1));
  CHECK(
      HexEncode(signed_tx) ==
      "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195"
      "fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");

  RlpItem decoded = Must(RlpDecode(signed_tx));
  REQUIRE(decoded.list.size() == 9);
  CHECK(Must(RlpToUint(decoded.list[6])) == 37);  // recovery id 0 + 1 * 2 + 35
}

TEST_CASE("SignLegacyTransaction puts chain_id * 2 + 35 + recovery id into v") {
  AccountKey key = Must(AccountKey::FromSecretHex(kEip155Secret));
  LegacyTransaction create = Eip155Transaction();
  create.to.reset();  // contract creation: `to` is the empty string
  create.data = Bytes{0x60, 0x00};
  RlpItem decoded = Must(RlpDecode(Must(key.SignLegacyTransaction(create, 11155111))));
  REQUIRE(decoded.list.size() == 9);
  CHECK(decoded.list[3].string.empty());
  const std::uint64_t v = Must(RlpToUint(decoded.list[6]));
  CHECK((v == 11155111 * 2 + 35 || v == 11155111 * 2 + 36));
  CHECK(decoded.list[7].string.size() <= 32);
  CHECK(decoded.list[8].string.size() <= 32);
}

TEST_CASE("SignLegacyTransaction rejects a chain id of zero or one that overflows v") {
  AccountKey key = Must(AccountKey::FromSecretHex(kEip155Secret));
  CHECK(key.SignLegacyTransaction(Eip155Transaction(), 0).status().IsInvalidArgument());
  CHECK(key.SignLegacyTransaction(Eip155Transaction(), UINT64_MAX / 2).status().IsInvalidArgument());
}

TEST_CASE("An account key's address is the end of the Keccak-256 of its public key") {
  CHECK(Must(AccountKey::FromSecretHex(kEip155Secret)).Address() == "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f");
  AccountKey key = Must(AccountKey::FromSecretHex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"));
  CHECK(key.Address() == "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23");
  CHECK(key.ChecksummedAddress() == "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
}

TEST_CASE("ChecksumAddress matches the EIP-55 examples") {
  for (std::string_view expected :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    CHECK(ChecksumAddress(Must(ParseAddress(expected))) == expected);
  }
}

TEST_CASE("ParseAddress accepts 40 hex digits with or without 0x and rejects anything else") {
  CHECK(AddressHex(Must(ParseAddress("2C7536E3605D9C16A7A3D7B1898E529396A65C23"))) ==
        "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23");
  CHECK(ParseAddress("0x2c7536e3605d9c16a7a3d7b1898e529396a65c").status().IsInvalidArgument());
  CHECK(ParseAddress("0x2c7536e3605d9c16a7a3d7b1898e529396a65czz").status().IsInvalidArgument());
}

TEST_CASE("AccountKey rejects a zero, out-of-range, short or malformed secret") {
  CHECK(AccountKey::FromSecretHex(std::string(64, '0')).status().IsInvalidArgument());
  // The secp256k1 group order n, and n + 1: neither is a valid secret. n - 1 is.
  CHECK(AccountKey::FromSecretHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .status()
            .IsInvalidArgument());
  CHECK(AccountKey::FromSecretHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142")
            .status()
            .IsInvalidArgument());
  CHECK(AccountKey::FromSecretHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140").ok());
  CHECK(AccountKey::FromSecretHex(std::string(62, '4')).status().IsInvalidArgument());
  CHECK(AccountKey::FromSecretHex(std::string(63, '4') + "g").status().IsInvalidArgument());
  CHECK(AccountKey::FromSecret(Bytes(33, 0x46)).status().IsInvalidArgument());
}
