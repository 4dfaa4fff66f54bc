// DescriptorRing: the part every NIC queue shares, written once: a ring of
// fixed-size descriptors in DMA memory, the Packet each descriptor owns while
// the device may use it, and power-of-two index arithmetic. Used by the ixgbe
// RX/TX queues, virtio's rings, and mlx5's work and completion queues (whose
// owner bits flip on each pass: wrap_bit()).
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "mem/dma_region.h"
#include "mem/packet.h"
#include "mem/status.h"

namespace safenic {

class DescriptorRing {
 public:
  // `entries` must be a power of two; the descriptors start zeroed.
  // `extra_bytes` of zeroed memory follow them (for rings that have more
  // structures than descriptors, like virtio's avail and used rings, or
  // mlx5's doorbell records). Rings whose entries own no packets (completion
  // queues) pass `packet_slots` false.
  static absl::StatusOr<DescriptorRing> create(const DmaAllocator& dma, uint32_t entries,
                                               uint32_t descriptor_size, absl::string_view tag,
                                               size_t extra_bytes = 0, bool packet_slots = true) {
    if (entries < 2 || (entries & (entries - 1)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: ring of %d entries; use a power of two", tag, entries));
    }
    SAFENIC_ASSIGN_OR_RETURN(auto mem,
                             dma.allocate(size_t{entries} * descriptor_size + extra_bytes, tag));
    return DescriptorRing(std::move(mem), entries, descriptor_size, packet_slots);
  }

  DescriptorRing() = default;
  DescriptorRing(DescriptorRing&&) noexcept = default;
  DescriptorRing& operator=(DescriptorRing&&) noexcept = default;

  uint8_t* descriptor(uint32_t i) const { return mem_.data() + size_t{i} * descriptor_size_; }
  // For fast paths, to copy into locals: packet stores cannot then make the
  // compiler reload them.
  uint8_t* descriptors() const { return mem_.data(); }
  Packet* slots() const { return slots_.get(); }
  uint32_t mask() const { return mask_; }
  Packet& slot(uint32_t i) { return slots_[i]; }
  uint32_t size() const { return mask_ + 1; }
  uint32_t log2_size() const { return static_cast<uint32_t>(std::countr_zero(size())); }
  // Which pass over the ring a free-running counter is on, modulo 2: the
  // value of an owner (phase) bit that flips on each wrap.
  uint32_t wrap_bit(uint32_t counter) const { return (counter >> log2_size()) & 1; }
  uint32_t next(uint32_t i) const { return (i + 1) & mask_; }
  uint32_t advance(uint32_t i, uint32_t n) const { return (i + n) & mask_; }
  // Entries from `from` up to (not including) `to`.
  uint32_t distance(uint32_t from, uint32_t to) const { return (to - from) & mask_; }
  uint64_t iova() const { return mem_.iova(); }
  // The whole region (descriptors and extra bytes).
  const DmaRegion& memory() const { return mem_; }
  uint32_t bytes() const { return size() * descriptor_size_; }
  // The extra bytes after the descriptors.
  uint8_t* extra() const { return mem_.data() + bytes(); }
  uint64_t extra_iova() const { return mem_.iova() + bytes(); }
  // Drops every packet the ring holds: their buffers go back to their pools.
  void release_packets() {
    if (slots_ == nullptr) return;
    for (uint32_t i = 0; i < size(); ++i) slots_[i].reset();
  }

 private:
  DescriptorRing(DmaRegion mem, uint32_t entries, uint32_t descriptor_size, bool packet_slots)
      : mem_(std::move(mem)),
        slots_(packet_slots ? std::make_unique<Packet[]>(entries) : nullptr),
        mask_(entries - 1),
        descriptor_size_(descriptor_size) {}

  DmaRegion mem_;
  std::unique_ptr<Packet[]> slots_;
  uint32_t mask_ = 0;
  uint32_t descriptor_size_ = 0;
};

}  // namespace safenic
