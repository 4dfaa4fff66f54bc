// Iommu: the simulator's IOVA mapper and the only way a device model touches
// host memory. Like a hardware IOMMU it hands out IOVAs from its own space
// (never equal to virtual addresses, so a driver that writes a pointer into a
// descriptor is caught) and checks that every DMA lies inside one registered,
// live region. A violation is reported with the address, the length, what the
// device was doing and the nearest region; the access does not happen.
//
// Buffer liveness (on unless turned off): mempools created on this IOMMU report
// each buffer they free and hand out again, and DMA touching a buffer that
// sits free in its pool is reported as a use after free (a driver that frees a
// buffer the device still owns, or transmits one it already freed); so is one
// DMA that runs from a pool buffer into the next (a driver that promised the
// device more room than its buffers have).
//
// Regions are mapped and unmapped at set-up time; DMA, and the frees and
// allocations of tracked pools, may come from the calling thread only (the
// model runs in the caller's thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include "absl/base/optimization.h"
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "mem/iova.h"
#include "sim/violations.h"

namespace safenic::sim {

class Iommu;

// A model's cached view of one live IOMMU region (a ring, a doorbell page, a
// pool without buffer tracking): DMAs that stay inside it skip the region
// lookup. The same checks hold: the bounds are checked on every access, and
// the IOMMU invalidates every window at once (its generation) when it unmaps
// a region or starts tracking a pool's buffers, the two events that change
// what a lookup would say of a mapped address.
class DmaWindow {
 public:
  // Host memory behind [iova, iova + len), or null (reported) as Iommu::dma().
  inline uint8_t* get(Iommu& iommu, uint64_t iova, size_t len, absl::string_view what);

 private:
  friend class Iommu;
  uint64_t generation_ = ~uint64_t{0};  // matches no IOMMU generation until filled
  uint64_t start_ = 0, size_ = 0;
  uint8_t* va_ = nullptr;
};

class Iommu final : public IovaMapper {
 public:
  explicit Iommu(std::shared_ptr<ViolationLog> log) : log_(std::move(log)) {}

  absl::StatusOr<uint64_t> map(void* va, size_t len, absl::string_view tag) override;
  void unmap(uint64_t iova, size_t len) override;
  absl::string_view name() const override { return "sim-iommu"; }
  // A mapping at an IOVA the caller chose, as a program's VFIO_IOMMU_MAP_DMA
  // asks (DPDK with --iova-mode=va uses virtual addresses). It may not overlap
  // a live region nor the IOVA space map() hands out (kReservedIovas).
  absl::Status map_at(uint64_t iova, void* va, size_t len, absl::string_view tag);
  // [kIovaBase, kIovaBase + kReservedIovas): where map() puts regions, far
  // from typical user virtual addresses, with one unmapped guard page between
  // regions (small overruns become violations).
  static constexpr uint64_t kIovaBase = uint64_t{0xd0} << 32;
  static constexpr uint64_t kReservedIovas = uint64_t{1} << 40;

  // Whether mempools created from now on report buffer frees and allocations.
  void set_buffer_tracking(bool on) { track_buffers_ = on; }
  bool tracks_buffers() const override { return track_buffers_; }
  void buffer_freed(uint64_t iova, uint32_t len) override { mark_buffer(iova, len, true); }
  void buffer_allocated(uint64_t iova, uint32_t len) override { mark_buffer(iova, len, false); }

  // Host memory behind [iova, iova + len) if it lies in one live region,
  // touches no free pool buffer and stays within one pool buffer; else reports
  // a violation (naming `what`) and returns an error.
  absl::StatusOr<absl::Span<uint8_t>> translate(uint64_t iova, size_t len, absl::string_view what) {
    const Region* r = region_at(iova);
    if (ABSL_PREDICT_TRUE(r != nullptr && r->contains(iova, len))) {
      if (ABSL_PREDICT_FALSE(r->buffer_len != 0)) return checked(*r, iova, len, what);
      return absl::Span<uint8_t>(r->va + (iova - r->iova), len);
    }
    return translate_slow(iova, len, what);
  }
  // translate() for a model's per-frame path: host memory behind
  // [iova, iova + len), or null when translate() would fail (reported the same way).
  uint8_t* dma(uint64_t iova, size_t len, absl::string_view what) {
    // A region starts on its first page: only its end needs checking.
    const Region* r = region_at(iova);
    if (ABSL_PREDICT_TRUE(r != nullptr && r->buffer_len == 0 && len <= r->len &&
                          iova - r->iova <= r->len - len)) {
      return r->va + (iova - r->iova);
    }
    auto span = translate(iova, len, what);
    return span.ok() ? span->data() : nullptr;
  }
  // dma(), and on success `window` caches the region (unless its buffers are tracked).
  uint8_t* dma(uint64_t iova, size_t len, absl::string_view what, DmaWindow& window);
  // Changes whenever a region is unmapped or a pool region starts tracking buffers.
  uint64_t generation() const { return generation_; }
  absl::Status read(uint64_t iova, absl::Span<uint8_t> out, absl::string_view what);
  absl::Status write(uint64_t iova, absl::Span<const uint8_t> in, absl::string_view what);

  size_t live_regions() const { return regions_.size(); }
  ViolationLog& violations() { return *log_; }

 private:
  struct Region {
    uint64_t iova;
    size_t len;
    uint8_t* va;
    std::string tag;
    // A mempool's buffers (tracked): each buffer_len bytes, and which are free.
    uint32_t buffer_len = 0;
    std::vector<uint8_t> buffer_free;  // 1: free
    bool contains(uint64_t a, size_t n) const {
      return a >= iova && n <= len && a - iova <= len - n;
    }
    // Index of the first free buffer that [a, a + n) touches, or -1.
    int64_t first_free_buffer(uint64_t a, size_t n) const;
  };
  // The live region mapped at the page of `iova`, or null (a guard page,
  // unmapped, outside the IOVA space handed out).
  const Region* region_at(uint64_t iova) const {
    const uint64_t page = (iova - kIovaBase) / kPage;  // wraps to huge below the base
    return ABSL_PREDICT_TRUE(page < pages_.size()) ? pages_[page] : nullptr;
  }
  bool in_page_table(uint64_t iova) const { return (iova - kIovaBase) / kPage < pages_.size(); }
  absl::StatusOr<absl::Span<uint8_t>> translate_slow(uint64_t iova, size_t len,
                                                     absl::string_view what);
  absl::Status violation(uint64_t iova, size_t len, absl::string_view what);
  // translate() inside a pool region: the span, or a use-after-free report.
  absl::StatusOr<absl::Span<uint8_t>> checked(const Region& r, uint64_t iova, size_t len,
                                              absl::string_view what);
  absl::Status use_after_free(const Region& r, uint64_t iova, size_t len, absl::string_view what);
  absl::Status crosses_buffers(const Region& r, uint64_t iova, size_t len, absl::string_view what,
                               uint64_t first);
  void mark_buffer(uint64_t iova, uint32_t len, bool free);
  Region* live_region(uint64_t iova);

  static constexpr uint64_t kPage = 4096;

  std::shared_ptr<ViolationLog> log_;
  std::map<uint64_t, Region> regions_;  // by IOVA
  // The live region of each page of IOVA space handed out so far (null: a
  // guard page or unmapped), so a DMA finds its region in one lookup. IOVAs
  // are never reused; 8 bytes per mapped 4 KiB page.
  std::vector<const Region*> pages_;
  uint64_t generation_ = 0;
  bool track_buffers_ = true;
  Region* last_marked_ = nullptr;    // where mark_buffer() looks first
  std::map<uint64_t, Region> dead_;  // unmapped ranges, for better reports
  uint64_t next_iova_ = kIovaBase;
};

inline uint8_t* DmaWindow::get(Iommu& iommu, uint64_t iova, size_t len, absl::string_view what) {
  const uint64_t off = iova - start_;  // wraps to huge below the start
  if (ABSL_PREDICT_TRUE(generation_ == iommu.generation() && off <= size_ && len <= size_ - off)) {
    return va_ + off;
  }
  return iommu.dma(iova, len, what, *this);
}

}  // namespace safenic::sim
