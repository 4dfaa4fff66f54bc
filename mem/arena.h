// DmaArena: one DmaRegion, mapped for the device once, out of which many
// smaller DmaRegions (slices) are carved.
//
// For devices that reach only a few memory ranges: a vhost-user backend takes
// at most 8 shared regions, so every ring and buffer pool of a vhost-user
// device comes out of one shared memfd that the backend maps once.
//
//   auto arena = DmaArena::create(256 << 20, Backing::kAnonymous, mapper, "vu");
//   DmaAllocator dma(*arena);                  // hands out slices
//   DmaRegion ring = *dma.allocate(4096, "ring");
//   ring.fd(), ring.fd_offset()                // the arena's memfd, where the slice is
//
// A slice is an ordinary DmaRegion (data, IOVA, move-only); destroying it
// gives its range back to the arena. Slices keep the arena alive, so they may
// outlive whoever created it. Allocation takes a lock (it is set-up work);
// slices may be released from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mem/dma_region.h"

namespace safenic {

class DmaArena : public std::enable_shared_from_this<DmaArena> {
 public:
  // Every slice starts on a 4 KiB boundary and is a multiple of 4 KiB long.
  static constexpr size_t kSliceAlignment = 4096;

  // Allocates the arena's memory (zeroed) and maps it through `mapper` once.
  static absl::StatusOr<std::shared_ptr<DmaArena>> create(size_t size, Backing backing,
                                                          std::shared_ptr<IovaMapper> mapper,
                                                          absl::string_view tag);

  DmaArena(const DmaArena&) = delete;
  DmaArena& operator=(const DmaArena&) = delete;

  // A zeroed slice of `size` bytes (rounded up to kSliceAlignment), first
  // fit; ResourceExhausted, naming the arena and what is free, when no free
  // range is large enough.
  absl::StatusOr<DmaRegion> allocate(size_t size, absl::string_view tag);

  // The whole arena: data(), size(), iova(), fd() to share it.
  const DmaRegion& region() const { return region_; }
  const std::string& tag() const { return region_.tag(); }
  size_t bytes_in_use() const;
  size_t slices_in_use() const;

 private:
  friend class DmaRegion;
  explicit DmaArena(DmaRegion region);
  // Called by a slice's destructor: [offset, offset + size) is free again.
  void release(size_t offset, size_t size);

  DmaRegion region_;
  mutable std::mutex mu_;
  std::map<size_t, size_t> free_;  // offset -> length; never adjacent (merged)
  size_t bytes_in_use_ = 0;
  size_t slices_in_use_ = 0;
};

}  // namespace safenic
