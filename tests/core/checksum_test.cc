// nic/checksum.h: the one's complement sum against RFC 1071's worked
// example and against the plain word-by-word definition, at every length and
// alignment a frame gives it.
#include "nic/checksum.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace safenic {
namespace {

// The definition: big-endian 16-bit words, an odd last byte padded with zero.
uint16_t word_by_word(const uint8_t* p, size_t n, uint32_t initial) {
  uint64_t s = initial;
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) s += uint32_t{p[n - 1]} << 8;
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return static_cast<uint16_t>(s);
}

TEST(OnesComplementSum, Rfc1071Example) {
  // RFC 1071 §3: 0001 + f203 + f4f5 + f6f7 sums to ddf2 (after the carries).
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ones_complement_sum(bytes, sizeof bytes), 0xddf2);
}

TEST(OnesComplementSum, MatchesTheDefinitionAtEveryLengthAndOffset) {
  std::mt19937 rng(7);
  std::vector<uint8_t> data(1600);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n < 200; ++n) {
      const uint32_t initial = rng() % 0x40000;
      ASSERT_EQ(ones_complement_sum(data.data() + offset, n, initial),
                word_by_word(data.data() + offset, n, initial))
          << "offset " << offset << " length " << n;
    }
  }
  EXPECT_EQ(ones_complement_sum(data.data(), 1514), word_by_word(data.data(), 1514, 0));
}

TEST(OnesComplementSum, AllOnesStaysAllOnesAndZeroStaysZero) {
  const std::vector<uint8_t> ones(64, 0xFF), zeros(64, 0);
  EXPECT_EQ(ones_complement_sum(ones.data(), ones.size()), 0xFFFF);
  EXPECT_EQ(ones_complement_sum(zeros.data(), zeros.size()), 0);
}

}  // namespace
}  // namespace safenic
