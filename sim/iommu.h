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

#include <cstddef>
#include <cstdint>
#include <array>
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

class Iommu final : public IovaMapper {
 public:
  explicit Iommu(std::shared_ptr<ViolationLog> log)
      : log_(std::move(log)) {}

  absl::StatusOr<uint64_t> map(void* va, size_t len,
                               absl::string_view tag) override;
  void unmap(uint64_t iova, size_t len) override;
  absl::string_view name() const override { return "sim-iommu"; }

  // Whether mempools created from now on report buffer frees and allocations.
  void set_buffer_tracking(bool on) { track_buffers_ = on; }
  bool tracks_buffers() const override { return track_buffers_; }
  void buffer_freed(uint64_t iova, uint32_t len) override { mark_buffer(iova, len, true); }
  void buffer_allocated(uint64_t iova, uint32_t len) override { mark_buffer(iova, len, false); }

  // Host memory behind [iova, iova + len) if it lies in one live region,
  // touches no free pool buffer and stays within one pool buffer; else reports
  // a violation (naming `what`) and returns an error.
  absl::StatusOr<absl::Span<uint8_t>> translate(uint64_t iova, size_t len,
                                                absl::string_view what) {
    for (const Region* r : recent_) {
      if (r != nullptr && r->contains(iova, len)) {
        if (ABSL_PREDICT_FALSE(r->buffer_len != 0)) return checked(*r, iova, len, what);
        return absl::Span<uint8_t>(r->va + (iova - r->iova), len);
      }
    }
    return translate_slow(iova, len, what);
  }
  absl::Status read(uint64_t iova, absl::Span<uint8_t> out, absl::string_view what);
  absl::Status write(uint64_t iova, absl::Span<const uint8_t> in,
                     absl::string_view what);

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
  absl::StatusOr<absl::Span<uint8_t>> translate_slow(uint64_t iova, size_t len,
                                                     absl::string_view what);
  absl::Status violation(uint64_t iova, size_t len, absl::string_view what);
  // translate() inside a pool region: the span, or a use-after-free report.
  absl::StatusOr<absl::Span<uint8_t>> checked(const Region& r, uint64_t iova, size_t len,
                                              absl::string_view what);
  absl::Status use_after_free(const Region& r, uint64_t iova, size_t len,
                              absl::string_view what);
  absl::Status crosses_buffers(const Region& r, uint64_t iova, size_t len,
                               absl::string_view what, uint64_t first);
  void mark_buffer(uint64_t iova, uint32_t len, bool free);
  Region* live_region(uint64_t iova);

  std::shared_ptr<ViolationLog> log_;
  std::map<uint64_t, Region> regions_;  // by IOVA
  // Most recently used regions (a device alternates between rings and
  // buffers), checked before the map.
  std::array<const Region*, 4> recent_{};
  uint32_t next_recent_ = 0;
  bool track_buffers_ = true;
  Region* last_marked_ = nullptr;  // where mark_buffer() looks first
  std::map<uint64_t, Region> dead_;     // unmapped ranges, for better reports
  // IOVA space: starts far from typical user virtual addresses; one unmapped
  // guard page between regions turns small overruns into violations.
  uint64_t next_iova_ = uint64_t{0xd0} << 32;
};

}  // namespace safenic::sim
