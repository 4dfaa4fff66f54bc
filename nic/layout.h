// Typed in-memory layouts: DMA descriptors, rings, command blocks. The same
// bit-range mechanism as registers, plus a byte offset and a byte order
// (little-endian for 82599 and virtio, big-endian for ConnectX).
//
//   // 82599 datasheet §7.1.6.2 Advanced Receive Descriptor, write-back format
//   struct AdvRxWriteBack : Layout<AdvRxWriteBack, 16, ByteOrder::kLittle> {
//     using DD = Bit<8, uint32_t, 0>;
//     using EOP = Bit<8, uint32_t, 1>;
//     using LENGTH = Field<12, uint16_t>;
//   };
//   LayoutRef<AdvRxWriteBack> d(ring + 16 * i);
//   if (d.is_set<AdvRxWriteBack::DD>()) len = d.get<AdvRxWriteBack::LENGTH>();
//
// Accesses are volatile word loads/stores of the field's word: memory shared
// with a device is read and written exactly as declared, never torn or merged.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "mem/status.h"
#include "nic/bits.h"

namespace safenic {

template <typename L, size_t ByteOffset, HardwareWord W, unsigned Lo, unsigned Hi>
struct LayoutField : BitRange<W, Lo, Hi> {
  using Layout = L;
  static constexpr size_t kOffset = ByteOffset;
  static_assert(ByteOffset % sizeof(W) == 0, "field word is not naturally aligned");
};

template <typename Self, size_t Size, ByteOrder O>
struct Layout {
  static constexpr size_t kSize = Size;
  static constexpr ByteOrder kOrder = O;
  // Bits [Lo, Hi] of the W-sized word at byte Offset (default: the whole word).
  template <size_t Offset, HardwareWord W, unsigned Lo = 0, unsigned Hi = sizeof(W) * 8 - 1>
  using Field = LayoutField<Self, Offset, W, Lo, Hi>;
  // Bit N of the W-sized word at byte Offset.
  template <size_t Offset, HardwareWord W, unsigned N>
  using Bit = LayoutField<Self, Offset, W, N, N>;
};

// F is a field of layout L and lies inside it (compile time).
template <typename L, typename F>
constexpr void check_layout_field() {
  static_assert(std::same_as<typename F::Layout, L>, "field belongs to another layout");
  static_assert(F::kOffset + sizeof(typename F::Word) <= L::kSize, "field lies outside its layout");
}

// A typed view of one L-shaped block of memory (not owning).
template <typename L>
class LayoutRef {
 public:
  explicit LayoutRef(void* p) : p_(static_cast<uint8_t*>(p)) {}

  template <typename F>
  typename F::Word get() const {
    check_layout_field<L, F>();
    return F::extract(load<F>());
  }
  template <typename F>
  bool is_set() const {
    static_assert(F::kWidth == 1, "is_set() is for one-bit fields; use get()");
    return get<F>() != 0;
  }
  // A run-time value; it must fit.
  template <typename F>
  LayoutRef& set(uint64_t v) {
    check_layout_field<L, F>();
    SAFENIC_CHECK(F::fits(v), "value does not fit in the layout field");
    store<F>(F::insert(F::kWidth == sizeof(typename F::Word) * 8 ? 0 : load<F>(),
                       static_cast<typename F::Word>(v)));
    return *this;
  }
  // A constant, checked at compile time.
  template <typename F, uint64_t V>
  LayoutRef& set() {
    static_assert(F::fits(V), "constant does not fit in the field");
    return set<F>(V);
  }
  void zero() { std::memset(p_, 0, L::kSize); }
  uint8_t* data() const { return p_; }
  // The element after this one, when this one is in an array (LayoutArray):
  // a loop walking an array steps a LayoutRef instead of indexing it anew.
  LayoutRef next() const { return LayoutRef(p_ + L::kSize); }

 private:
  template <typename F>
  typename F::Word load() const {
    using W = typename F::Word;
    return from_order<L::kOrder>(*reinterpret_cast<const volatile W*>(p_ + F::kOffset));
  }
  template <typename F>
  void store(typename F::Word v) {
    using W = typename F::Word;
    *reinterpret_cast<volatile W*>(p_ + F::kOffset) = to_order<L::kOrder>(v);
  }

  uint8_t* p_;
};

// LayoutRef's read-only form: a typed view of a block the holder only reads
// (a command's output, a CQE the device wrote, a request received). Any
// LayoutRef converts to one.
template <typename L>
class LayoutView {
 public:
  explicit LayoutView(const void* p) : p_(static_cast<const uint8_t*>(p)) {}
  LayoutView(LayoutRef<L> r) : p_(r.data()) {}  // NOLINT: a writable view reads too

  template <typename F>
  typename F::Word get() const {
    check_layout_field<L, F>();
    using W = typename F::Word;
    return F::extract(from_order<L::kOrder>(*reinterpret_cast<const volatile W*>(p_ + F::kOffset)));
  }
  template <typename F>
  bool is_set() const {
    static_assert(F::kWidth == 1, "is_set() is for one-bit fields; use get()");
    return get<F>() != 0;
  }
  const uint8_t* data() const { return p_; }

 private:
  const uint8_t* p_;
};

// An owned, zeroed L-shaped block in the program's own memory (a header image
// the simulator matches flow rules against, say): the same typed fields as
// LayoutRef, but plain loads and stores the compiler may combine, since no
// device shares this memory.
template <typename L>
class LayoutValue {
 public:
  template <typename F>
  typename F::Word get() const {
    check_layout_field<L, F>();
    return F::extract(load<F>());
  }
  template <typename F>
  LayoutValue& set(uint64_t v) {
    check_layout_field<L, F>();
    SAFENIC_CHECK(F::fits(v), "value does not fit in the layout field");
    store<F>(F::insert(F::kWidth == sizeof(typename F::Word) * 8 ? 0 : load<F>(),
                       static_cast<typename F::Word>(v)));
    return *this;
  }
  const uint8_t* data() const { return bytes_; }

 private:
  template <typename F>
  typename F::Word load() const {
    typename F::Word w;
    std::memcpy(&w, bytes_ + F::kOffset, sizeof w);
    return from_order<L::kOrder>(w);
  }
  template <typename F>
  void store(typename F::Word v) {
    const typename F::Word w = to_order<L::kOrder>(v);
    std::memcpy(bytes_ + F::kOffset, &w, sizeof w);
  }

  alignas(8) uint8_t bytes_[L::kSize] = {};
};

// N L-shaped blocks back to back: a descriptor table, say (not owning).
//
//   LayoutArray<SplitDesc> table(ring.descriptors());
//   table[id].set<SplitDesc::ADDR>(iova);
template <typename L>
class LayoutArray {
 public:
  explicit LayoutArray(void* p) : p_(static_cast<uint8_t*>(p)) {}
  LayoutRef<L> operator[](size_t i) const { return LayoutRef<L>(p_ + i * L::kSize); }
  uint8_t* data() const { return p_; }

 private:
  uint8_t* p_;
};

// A ring area whose length is fixed at run time: a Header, then `entries`
// Entry-shaped elements, then a Trailer. virtio's split rings have this shape
// (flags and index, the ring, then an event index: §2.7.6, §2.7.8).
template <typename Header, typename Entry, typename Trailer>
struct RingLayout {
  using HeaderLayout = Header;
  using EntryLayout = Entry;
  using TrailerLayout = Trailer;
  static_assert(Header::kOrder == Entry::kOrder && Entry::kOrder == Trailer::kOrder);
  static constexpr size_t entry_offset(size_t i) { return Header::kSize + i * Entry::kSize; }
  static constexpr size_t bytes(size_t entries) { return entry_offset(entries) + Trailer::kSize; }
};

// A typed view of one ring area R of `entries` elements (not owning).
//
//   RingRef<AvailRing> avail(p, size);
//   avail.entry(idx & mask).set<AvailEntry::ID>(head);
//   avail.header().set<AvailHeader::IDX>(idx);
template <typename R>
class RingRef {
 public:
  RingRef(void* p, size_t entries) : p_(static_cast<uint8_t*>(p)), entries_(entries) {}
  LayoutRef<typename R::HeaderLayout> header() const {
    return LayoutRef<typename R::HeaderLayout>(p_);
  }
  // Element i < entries (the caller wraps the index).
  LayoutRef<typename R::EntryLayout> entry(size_t i) const {
    return LayoutRef<typename R::EntryLayout>(p_ + R::entry_offset(i));
  }
  LayoutRef<typename R::TrailerLayout> trailer() const {
    return LayoutRef<typename R::TrailerLayout>(p_ + R::entry_offset(entries_));
  }
  uint8_t* data() const { return p_; }

 private:
  uint8_t* p_;
  size_t entries_;
};

// Orders earlier DMA-memory stores before later ones (e.g. a descriptor's body
// before its ownership bit), as seen by a device or another thread.
inline void dma_write_barrier() { std::atomic_thread_fence(std::memory_order_release); }
// Orders an ownership-bit load before the loads of the descriptor body.
inline void dma_read_barrier() { std::atomic_thread_fence(std::memory_order_acquire); }
// Orders earlier stores before later loads (e.g. publishing an index, then
// reading whether the device wants to be told of it).
inline void dma_full_barrier() { std::atomic_thread_fence(std::memory_order_seq_cst); }

}  // namespace safenic
