// TSC helpers for benchmarks: cycles/op next to ns/op. The TSC ticks at a
// constant reference rate (constant_tsc), not at the core's current clock.
#pragma once

#include <x86intrin.h>

#include <chrono>
#include <cstdint>

namespace safenic::bench {

inline uint64_t rdtsc() { return __rdtsc(); }

// TSC ticks per nanosecond, measured once against steady_clock (~20 ms spin).
inline double tsc_ghz() {
  static const double ghz = [] {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const uint64_t c0 = rdtsc();
    while (Clock::now() - t0 < std::chrono::milliseconds(20)) {
    }
    const uint64_t c1 = rdtsc();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0);
    return static_cast<double>(c1 - c0) / static_cast<double>(ns.count());
  }();
  return ghz;
}

}  // namespace safenic::bench
