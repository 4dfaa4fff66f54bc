// IOVA translation: the one seam between host virtual addresses and the
// addresses a device uses for DMA (IOVAs).
//
//   IdentityMapper  IOVA == VA (unit tests of mem/ itself).
//   PagemapMapper   physical addresses from /proc/self/pagemap (uio/sysfs path,
//                   no IOMMU; needs root and pinned, contiguous memory).
//   sim::Iommu      the simulator's checked IOMMU (sim/iommu.h).
//   pci::VfioMapper nic/pci/vfio.h: IOVA = VA through the IOMMU.
// Drivers never call a mapper: they see IOVAs only through DmaRegion and Packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace safenic {

class IovaMapper {
 public:
  virtual ~IovaMapper() = default;
  // Makes [va, va + len) reachable by the device and returns the IOVA of `va`;
  // the range is contiguous in IOVA space. `tag` names the range in reports.
  virtual absl::StatusOr<uint64_t> map(void* va, size_t len, absl::string_view tag) = 0;
  // Ends device access to a range returned by map().
  virtual void unmap(uint64_t iova, size_t len) = 0;
  virtual absl::string_view name() const = 0;
  // The largest range map() can make contiguous for the device whatever the
  // memory: a Mempool larger than this is split into regions of at most this
  // size, with no buffer across two. Physical addresses (PagemapMapper): one
  // 2 MiB hugepage, since the next one is seldom physically adjacent.
  virtual size_t max_region_size() const { return ~size_t{0}; }

  // Buffer liveness, for checking mappers (sim::Iommu). When true, a Mempool
  // created on this mapper reports each buffer it frees (all of them at
  // creation) and each one it hands out, so that device DMA into a buffer
  // that sits free in its pool is caught as a use after free.
  virtual bool tracks_buffers() const { return false; }
  virtual void buffer_freed(uint64_t /*iova*/, uint32_t /*len*/) {}
  virtual void buffer_allocated(uint64_t /*iova*/, uint32_t /*len*/) {}
};

class IdentityMapper final : public IovaMapper {
 public:
  absl::StatusOr<uint64_t> map(void* va, size_t len, absl::string_view tag) override;
  void unmap(uint64_t, size_t) override {}
  absl::string_view name() const override { return "identity"; }
};

class PagemapMapper final : public IovaMapper {
 public:
  absl::StatusOr<uint64_t> map(void* va, size_t len, absl::string_view tag) override;
  void unmap(uint64_t, size_t) override {}
  absl::string_view name() const override { return "pagemap"; }
  size_t max_region_size() const override { return size_t{2} << 20; }

  // Physical address of one byte of mapped, resident memory.
  static absl::StatusOr<uint64_t> physical_address(const void* va);
};

}  // namespace safenic
