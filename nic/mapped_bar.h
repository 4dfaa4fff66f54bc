// MappedBar: a BAR mapped into this process (sysfs resource file or VFIO
// region, nic/pci/). Volatile accesses, so the compiler neither merges nor
// drops them, with release/acquire fences around them, so descriptor writes in
// DMA memory are ordered before the doorbell that publishes them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/functional/any_invocable.h"
#include "nic/bar.h"

namespace safenic {

class MappedBar final : public Bar {
 public:
  // `base` must stay mapped until `on_close` runs (from the destructor).
  MappedBar(void* base, size_t size, absl::AnyInvocable<void()> on_close = nullptr)
      : base_(static_cast<volatile uint8_t*>(base)), size_(size), on_close_(std::move(on_close)) {}
  MappedBar(const MappedBar&) = delete;
  MappedBar& operator=(const MappedBar&) = delete;
  ~MappedBar() override {
    if (on_close_) on_close_();
  }

  uint8_t read8(uint32_t off) override { return load<uint8_t>(off); }
  uint16_t read16(uint32_t off) override { return load<uint16_t>(off); }
  uint32_t read32(uint32_t off) override { return load<uint32_t>(off); }
  uint64_t read64(uint32_t off) override { return load<uint64_t>(off); }
  void write8(uint32_t off, uint8_t v) override { store(off, v); }
  void write16(uint32_t off, uint16_t v) override { store(off, v); }
  void write32(uint32_t off, uint32_t v) override { store(off, v); }
  void write64(uint32_t off, uint64_t v) override { store(off, v); }
  size_t size() const override { return size_; }

 private:
  template <typename W>
  volatile W* at(uint32_t off) const {
    SAFENIC_CHECK(off % sizeof(W) == 0 && off + sizeof(W) <= size_,
                  "MMIO access outside the BAR or misaligned");
    return reinterpret_cast<volatile W*>(base_ + off);
  }
  template <typename W>
  W load(uint32_t off) const {
    W v = *at<W>(off);
    std::atomic_thread_fence(std::memory_order_acquire);
    return v;
  }
  template <typename W>
  void store(uint32_t off, W v) {
    std::atomic_thread_fence(std::memory_order_release);
    *at<W>(off) = v;
  }

  volatile uint8_t* base_;
  size_t size_;
  absl::AnyInvocable<void()> on_close_;
};

}  // namespace safenic
