// Bit ranges and byte order: the arithmetic under typed registers
// (nic/register.h) and typed in-memory layouts (nic/layout.h).
#pragma once

#include <bit>
#include <climits>
#include <concepts>
#include <cstdint>
#include <type_traits>

namespace safenic {

enum class ByteOrder { kLittle, kBig };

template <typename W>
concept HardwareWord = std::same_as<W, uint8_t> || std::same_as<W, uint16_t> ||
    std::same_as<W, uint32_t> || std::same_as<W, uint64_t>;

// Bits [Lo, Hi] of a W-sized word.
template <HardwareWord W, unsigned Lo, unsigned Hi>
struct BitRange {
  static_assert(Lo <= Hi, "a field's low bit must not be above its high bit");
  static_assert(Hi < sizeof(W) * CHAR_BIT, "field does not fit in its word");
  using Word = W;
  static constexpr unsigned kLo = Lo;
  static constexpr unsigned kWidth = Hi - Lo + 1;
  static constexpr W kMax = kWidth == sizeof(W) * CHAR_BIT ? W(~W{0}) : W((W{1} << kWidth) - 1);
  static constexpr W kMask = W(kMax << Lo);

  static constexpr bool fits(uint64_t v) { return v <= kMax; }
  static constexpr W extract(W word) { return W((word >> Lo) & kMax); }
  static constexpr W insert(W word, W v) { return W((word & ~kMask) | ((v << Lo) & kMask)); }
};

template <ByteOrder O, HardwareWord W>
constexpr W to_order(W host) {
  if constexpr (O == ByteOrder::kLittle || sizeof(W) == 1) {
    static_assert(std::endian::native == std::endian::little,
                  "safenic assumes a little-endian host (x86-64, arm64 LE)");
    return host;
  } else if constexpr (sizeof(W) == 2) {
    return __builtin_bswap16(host);
  } else if constexpr (sizeof(W) == 4) {
    return __builtin_bswap32(host);
  } else {
    return __builtin_bswap64(host);
  }
}
// Byte swapping is its own inverse.
template <ByteOrder O, HardwareWord W>
constexpr W from_order(W bus) {
  return to_order<O>(bus);
}

}  // namespace safenic
