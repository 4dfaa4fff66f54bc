// The Toeplitz hash of receive-side scaling (Microsoft RSS specification,
// "RSS hashing function"), used by the 82599 and ConnectX models.
#pragma once

#include <cstdint>

#include "absl/types/span.h"

namespace safenic::sim {

inline uint32_t toeplitz_hash(absl::Span<const uint8_t> key, absl::Span<const uint8_t> input) {
  uint32_t hash = 0;
  // The 32-bit window of the key that lines up with the current input bit.
  uint32_t window =
      uint32_t{key[0]} << 24 | uint32_t{key[1]} << 16 | uint32_t{key[2]} << 8 | key[3];
  size_t next_key_bit = 32;
  for (uint8_t byte : input) {
    for (int bit = 7; bit >= 0; --bit) {
      if (byte & (1u << bit)) hash ^= window;
      const size_t k = next_key_bit++;
      const uint32_t in = k / 8 < key.size() ? (key[k / 8] >> (7 - k % 8)) & 1 : 0;
      window = window << 1 | in;
    }
  }
  return hash;
}

}  // namespace safenic::sim
