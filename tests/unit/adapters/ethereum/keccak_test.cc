#include "adapters/ethereum/internal/keccak.h"

#include <doctest/doctest.h>

#include <string>

using namespace entente;
using namespace entente::adapters::ethereum;

namespace {

// Returns `size` bytes whose byte i is i % 251, the input the reference digests below were made from.
Bytes Pattern(std::size_t size) {
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i % 251);
  return bytes;
}

}  // namespace

TEST_CASE("Keccak256 matches the published digests of the empty string, abc and the quick brown fox") {
  CHECK(Keccak256Hex(AsBytes("")) == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  CHECK(Keccak256Hex(AsBytes("abc")) == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  CHECK(Keccak256Hex(AsBytes("The quick brown fox jumps over the lazy dog")) ==
        "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

TEST_CASE("Keccak256 uses the original Keccak padding, not SHA3-256's") {
  // SHA3-256("") is a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a.
  CHECK(Keccak256Hex(AsBytes("")) != "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

TEST_CASE("Keccak256 handles inputs around the 136-byte rate and across several blocks") {
  // Reference digests computed with js-sha3 0.13.0 (keccak256) over Pattern(size).
  CHECK(Keccak256Hex(Pattern(135)) == "cbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62");
  CHECK(Keccak256Hex(Pattern(136)) == "7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e");
  CHECK(Keccak256Hex(Pattern(137)) == "ac73d4fae68b8453f764007c1a20ce95994187861f0c3227a3a8e99a73a3b1db");
  CHECK(Keccak256Hex(Pattern(500)) == "d1346278c6b964973ca0d85063b4e9264739c7b84ff877c8018c865229f44835");
  CHECK(Keccak256Hex(AsBytes(std::string(1000, 'a'))) ==
        "b6a4ac1f51884d71f30fa397a5e155de3099e11fc0edef5d08b646e621e19de9");
}

TEST_CASE("Keccak256 of a Solidity signature starts with its well-known function selector") {
  CHECK(Keccak256Hex(AsBytes("transfer(address,uint256)")).starts_with("a9059cbb"));
}

TEST_CASE("Keccak256Hex is the hex encoding of Keccak256") {
  CHECK(Keccak256Hex(AsBytes("abc")) == HexEncode(Keccak256(AsBytes("abc"))));
}
