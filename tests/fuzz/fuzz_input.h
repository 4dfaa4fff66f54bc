// The fuzzer's bytes, read front to back; zeros once they run out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace safenic::fuzz {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  bool empty() const { return n_ == 0; }
  void bytes(void* out, size_t len) {
    const size_t k = len < n_ ? len : n_;
    if (k != 0) std::memcpy(out, p_, k);  // p_ may be null when size is 0
    std::memset(static_cast<uint8_t*>(out) + k, 0, len - k);
    p_ += k, n_ -= k;
  }
  template <typename T>
  T take() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  uint8_t u8() { return take<uint8_t>(); }
  uint16_t u16() { return take<uint16_t>(); }
  uint32_t u32() { return take<uint32_t>(); }

 private:
  const uint8_t* p_;
  size_t n_;
};

// Where harnesses put what they read, so the reads are not optimized away.
inline volatile uint8_t sink = 0;

// A broken invariant: a crash libFuzzer (and the seed runner) reports.
#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

}  // namespace safenic::fuzz
