// DmaRegion: RAII, move-only owner of a pinned memory range that a device can
// reach by DMA, together with its IOVA (the address the device uses).
//
// Every region is backed by a memfd, so it can also be shared by file
// descriptor (vhost-user). Backings:
//   kAnonymous   ordinary 4 KiB pages: simulated devices, vhost-user.
//   kHugepage2M  2 MiB hugepages, locked: real hardware.
// A region either owns its memfd and mapping, or is a slice of a DmaArena
// (mem/arena.h): then fd() is the arena's memfd, the region starts at
// fd_offset() in it, and destroying the region gives the range back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "mem/iova.h"

namespace safenic {

class DmaArena;

enum class Backing { kAnonymous, kHugepage2M };

inline constexpr size_t kHugepageSize = size_t{2} << 20;

class DmaRegion {
 public:
  // Allocates `size` bytes (rounded up to the backing's page size), zeroed,
  // and maps them for the device through `mapper`.
  static absl::StatusOr<DmaRegion> allocate(size_t size, Backing backing,
                                            std::shared_ptr<IovaMapper> mapper,
                                            absl::string_view tag);

  DmaRegion() = default;
  DmaRegion(DmaRegion&& other) noexcept;
  DmaRegion& operator=(DmaRegion&& other) noexcept;
  DmaRegion(const DmaRegion&) = delete;
  DmaRegion& operator=(const DmaRegion&) = delete;
  ~DmaRegion();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  uint64_t iova() const { return iova_; }
  bool empty() const { return data_ == nullptr; }
  absl::Span<uint8_t> span() const { return {data_, size_}; }
  // memfd behind the region (valid while the region lives), for sharing;
  // the region's first byte is at fd_offset() in it (0 unless a slice).
  int fd() const { return fd_; }
  uint64_t fd_offset() const { return fd_offset_; }
  // The arena this region is a slice of, or null.
  const std::shared_ptr<DmaArena>& arena() const { return arena_; }
  Backing backing() const { return backing_; }
  const std::string& tag() const { return tag_; }

  bool contains(const void* p, size_t len) const {
    const auto* b = static_cast<const uint8_t*>(p);
    return b >= data_ && len <= size_ && b - data_ <= static_cast<ptrdiff_t>(size_ - len);
  }
  // IOVA of a byte inside the region.
  uint64_t iova_of(const void* p) const { return iova_ + (static_cast<const uint8_t*>(p) - data_); }

 private:
  friend class DmaArena;
  void release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint64_t iova_ = 0;
  int fd_ = -1;
  uint64_t fd_offset_ = 0;
  Backing backing_ = Backing::kAnonymous;
  std::shared_ptr<IovaMapper> mapper_;  // null for slices: the arena is mapped
  std::shared_ptr<DmaArena> arena_;     // set for slices
  std::string tag_;
};

// Where drivers and mempools get DMA memory: a backing plus an IOVA mapper
// (a region of its own per allocation), or an arena (slices of it). A device
// (real or simulated) hands one to its driver.
class DmaAllocator {
 public:
  DmaAllocator(Backing backing, std::shared_ptr<IovaMapper> mapper)
      : backing_(backing), mapper_(std::move(mapper)) {}
  explicit DmaAllocator(std::shared_ptr<DmaArena> arena);
  absl::StatusOr<DmaRegion> allocate(size_t size, absl::string_view tag) const;
  Backing backing() const { return backing_; }
  const std::shared_ptr<IovaMapper>& mapper() const { return mapper_; }
  const std::shared_ptr<DmaArena>& arena() const { return arena_; }

 private:
  Backing backing_;
  std::shared_ptr<IovaMapper> mapper_;
  std::shared_ptr<DmaArena> arena_;  // when set, every region is a slice of it
};

}  // namespace safenic
