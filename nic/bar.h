// Bar: the MMIO half of the seam through which a driver touches a device.
// (The DMA half is mem/: DmaRegion, Mempool, Packet.)
//
// Two implementations, one driver: MappedBar (nic/mapped_bar.h, a real BAR:
// volatile accesses and barriers) and sim::SimulatedBar (a device model reacts
// to each access). Drivers use the typed accessors; the virtual raw accessors
// cost one indirect call per register access, and the fast path makes one
// access per batch (the doorbell), see bench/mmio_bench.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "mem/status.h"
#include "nic/register.h"

namespace safenic {

class Bar {
 public:
  virtual ~Bar() = default;

  virtual uint8_t read8(uint32_t offset) = 0;
  virtual uint16_t read16(uint32_t offset) = 0;
  virtual uint32_t read32(uint32_t offset) = 0;
  virtual uint64_t read64(uint32_t offset) = 0;
  virtual void write8(uint32_t offset, uint8_t value) = 0;
  virtual void write16(uint32_t offset, uint16_t value) = 0;
  virtual void write32(uint32_t offset, uint32_t value) = 0;
  virtual void write64(uint32_t offset, uint64_t value) = 0;
  virtual size_t size() const = 0;

  // Typed access. `index` selects an instance of a RegisterArray.
  template <typename R>
  RegisterValue<R> read(uint32_t index = 0) {
    static_assert(is_readable(R::kAccess), "register is write-only: it cannot be read");
    SAFENIC_CHECK(index < R::kCount, "register index out of range");
    using W = typename R::Word;
    return RegisterValue<R>(from_order<R::kOrder>(raw_read<W>(R::offset(index))));
  }
  template <typename R>
  void write(RegisterValue<R> value, uint32_t index = 0) {
    static_assert(is_writable(R::kAccess), "register is read-only: it cannot be written");
    SAFENIC_CHECK(index < R::kCount, "register index out of range");
    raw_write(R::offset(index), to_order<R::kOrder>(value.raw()));
  }
  // Read, change through `fn(RegisterValue<R>&)`, write back.
  template <typename R, typename Fn>
  void modify(Fn&& fn, uint32_t index = 0) {
    static_assert(R::kAccess == Access::kReadWrite,
                  "only read-write registers can be read-modified-written");
    RegisterValue<R> v = read<R>(index);
    fn(v);
    write(v, index);
  }
  // Entries [0, n) of a table packed into a register array through its
  // FieldArray F (entry e is F's element e % F::kCount of register
  // e / F::kCount), entry e = entry(e); a register partly covered gets 0s.
  template <typename F, typename Entry>
  void write_table(uint32_t n, Entry&& entry) {
    using R = typename F::Register;
    for (uint32_t r = 0; r * F::kCount < n; ++r) {
      RegisterValue<R> v;
      for (uint32_t i = 0; i < F::kCount && r * F::kCount + i < n; ++i) {
        v.template set<F>(i, entry(r * F::kCount + i));
      }
      write(v, r);
    }
  }

 private:
  template <typename W>
  W raw_read(uint32_t off) {
    if constexpr (sizeof(W) == 1)
      return read8(off);
    else if constexpr (sizeof(W) == 2)
      return read16(off);
    else if constexpr (sizeof(W) == 4)
      return read32(off);
    else
      return read64(off);
  }
  void raw_write(uint32_t off, uint8_t v) { write8(off, v); }
  void raw_write(uint32_t off, uint16_t v) { write16(off, v); }
  void raw_write(uint32_t off, uint32_t v) { write32(off, v); }
  void raw_write(uint32_t off, uint64_t v) { write64(off, v); }
};

// A window of a Bar: offsets are relative to `base`, and an access must lie
// within `size` bytes. For register blocks found at run time (virtio's
// capability-located structures).
class BarWindow final : public Bar {
 public:
  BarWindow(Bar& bar, uint32_t base, uint32_t size) : bar_(bar), base_(base), size_(size) {}
  uint8_t read8(uint32_t off) override { return bar_.read8(at(off, 1)); }
  uint16_t read16(uint32_t off) override { return bar_.read16(at(off, 2)); }
  uint32_t read32(uint32_t off) override { return bar_.read32(at(off, 4)); }
  uint64_t read64(uint32_t off) override { return bar_.read64(at(off, 8)); }
  void write8(uint32_t off, uint8_t v) override { bar_.write8(at(off, 1), v); }
  void write16(uint32_t off, uint16_t v) override { bar_.write16(at(off, 2), v); }
  void write32(uint32_t off, uint32_t v) override { bar_.write32(at(off, 4), v); }
  void write64(uint32_t off, uint64_t v) override { bar_.write64(at(off, 8), v); }
  size_t size() const override { return size_; }
  // For fast paths that checked an offset once: the BAR underneath, and
  // where the window starts in it.
  Bar& underlying() const { return bar_; }
  uint32_t base() const { return base_; }

 private:
  uint32_t at(uint32_t off, uint32_t width) const {
    SAFENIC_CHECK(off + uint64_t{width} <= size_, "access outside the BAR window");
    return base_ + off;
  }
  Bar& bar_;
  uint32_t base_;
  uint32_t size_;
};

}  // namespace safenic
