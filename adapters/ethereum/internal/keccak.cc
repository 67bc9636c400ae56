#include "adapters/ethereum/internal/keccak.h"

#include <bit>

namespace entente::adapters::ethereum {
namespace {

// Keccak-f[1600] on a state of 25 little-endian lanes, indexed x + 5 * y.
using State = std::array<std::uint64_t, 25>;

constexpr std::size_t kRateBytes = 136;  // 1600 - 2 * 256 bits of capacity

constexpr std::array<std::uint64_t, 24> kRoundConstants = {
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000, 0x000000000000808b,
    0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008a, 0x0000000000000088,
    0x0000000080008009, 0x000000008000000a, 0x000000008000808b, 0x800000000000008b, 0x8000000000008089,
    0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008};

// The rho rotations and the pi lane order, walked as one cycle starting at lane 1.
constexpr std::array<int, 24> kRotations = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                            27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr std::array<int, 24> kPiLanes = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                                          15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

void KeccakF1600(State& a) {
  for (std::uint64_t round_constant : kRoundConstants) {
    // Theta: mix each column's parity into its neighbours.
    std::array<std::uint64_t, 5> parity;
    for (int x = 0; x < 5; ++x) parity[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; ++x) {
      std::uint64_t d = parity[(x + 4) % 5] ^ std::rotl(parity[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    // Rho and pi: rotate each lane and move it to its new position.
    std::uint64_t carried = a[1];
    for (int i = 0; i < 24; ++i) {
      std::uint64_t next = a[kPiLanes[i]];
      a[kPiLanes[i]] = std::rotl(carried, kRotations[i]);
      carried = next;
    }
    // Chi: the only non-linear step, row by row.
    for (int y = 0; y < 25; y += 5) {
      std::array<std::uint64_t, 5> row;
      for (int x = 0; x < 5; ++x) row[x] = a[y + x];
      for (int x = 0; x < 5; ++x) a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    // Iota.
    a[0] ^= round_constant;
  }
}

// XORs `byte` into byte `offset` of the state's little-endian byte string.
void XorByte(State& state, std::size_t offset, std::uint8_t byte) {
  state[offset / 8] ^= static_cast<std::uint64_t>(byte) << (8 * (offset % 8));
}

}  // namespace

Hash256 Keccak256(ByteView data) {
  State state{};
  std::size_t offset = 0;
  for (std::uint8_t byte : data) {
    XorByte(state, offset++, byte);
    if (offset == kRateBytes) {
      KeccakF1600(state);
      offset = 0;
    }
  }
  // Original Keccak multi-rate padding: 0x01 after the message, 0x80 at the block's last byte.
  XorByte(state, offset, 0x01);
  XorByte(state, kRateBytes - 1, 0x80);
  KeccakF1600(state);

  Hash256 digest;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    digest[i] = static_cast<std::uint8_t>(state[i / 8] >> (8 * (i % 8)));
  }
  return digest;
}

std::string Keccak256Hex(ByteView data) { return HexEncode(Keccak256(data)); }

}  // namespace entente::adapters::ethereum
