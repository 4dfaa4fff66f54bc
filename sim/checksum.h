// RFC 1071 one's complement sums, for the models' checksum checks and
// write-backs (IPv4 header, TCP/UDP, the 82599's fragment checksum).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace safenic::sim {

// The one's complement sum of `n` bytes read as big-endian 16-bit words (an
// odd last byte padded with a zero byte), plus `initial` (a sum of such
// words below 2^31, e.g. a pseudo-header's), folded to 16 bits and not complemented: a
// correct checksum over the covered bytes sums to 0xFFFF. Eight bytes per
// step: the sum does not depend on the byte order it is taken in (RFC 1071
// §2(B)), so it is taken in the host's and swapped once at the end.
inline uint16_t ones_complement_sum(const uint8_t* p, size_t n, uint32_t initial = 0) {
  uint64_t acc = 0;
  auto add = [&acc](uint64_t w) {
    acc += w;
    acc += acc < w;  // the end-around carry
  };
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    add(w);
  }
  // The tail starts at an even offset, so its pieces keep the word pairing.
  if (n & 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    add(w);
    p += 4;
  }
  if (n & 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    add(w);
    p += 2;
  }
  if (n & 1) {
    const uint8_t last[2] = {*p, 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    add(w);
  }
  // 2^32 and 2^16 are 1 modulo 0xFFFF: folding keeps the sum.
  acc = (acc & 0xFFFFFFFF) + (acc >> 32);
  acc = (acc & 0xFFFFFFFF) + (acc >> 32);
  acc = (acc & 0xFFFF) + (acc >> 16);
  acc = (acc & 0xFFFF) + (acc >> 16);
  uint32_t sum = static_cast<uint16_t>(acc);
  if constexpr (std::endian::native == std::endian::little) {
    sum = static_cast<uint16_t>(sum << 8 | sum >> 8);
  }
  sum += initial;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace safenic::sim
