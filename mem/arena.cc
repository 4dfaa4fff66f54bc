#include "mem/arena.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic {

absl::StatusOr<std::shared_ptr<DmaArena>> DmaArena::create(size_t size, Backing backing,
                                                           std::shared_ptr<IovaMapper> mapper,
                                                           absl::string_view tag) {
  SAFENIC_ASSIGN_OR_RETURN(auto region, DmaRegion::allocate(size, backing, std::move(mapper), tag));
  return std::shared_ptr<DmaArena>(new DmaArena(std::move(region)));
}

DmaArena::DmaArena(DmaRegion region) : region_(std::move(region)) {
  free_.emplace(0, region_.size());
}

absl::StatusOr<DmaRegion> DmaArena::allocate(size_t size, absl::string_view tag) {
  if (size == 0) return absl::InvalidArgumentError("DMA region of 0 bytes");
  if (size > region_.size()) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("DMA arena '%s' is %d bytes; '%s' wants %d: create a larger arena",
                        region_.tag(), region_.size(), tag, size));
  }
  size = (size + kSliceAlignment - 1) / kSliceAlignment * kSliceAlignment;
  size_t offset = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.begin();
    size_t largest = 0;
    for (; it != free_.end() && it->second < size; ++it) largest = std::max(largest, it->second);
    if (it == free_.end()) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "DMA arena '%s' (%d bytes) has no %d free bytes in one piece for '%s' (%d bytes in "
          "%d regions in use, largest free piece %d bytes): create a larger arena or fewer "
          "and smaller pools",
          region_.tag(), region_.size(), size, tag, bytes_in_use_, slices_in_use_, largest));
    }
    offset = it->first;
    const size_t rest = it->second - size;
    free_.erase(it);
    if (rest != 0) free_.emplace(offset + size, rest);
    bytes_in_use_ += size;
    ++slices_in_use_;
  }
  DmaRegion r;
  r.data_ = region_.data() + offset;
  r.size_ = size;
  r.iova_ = region_.iova() + offset;
  r.fd_ = region_.fd();
  r.fd_offset_ = region_.fd_offset() + offset;
  r.backing_ = region_.backing();
  r.arena_ = shared_from_this();
  r.tag_ = std::string(tag);
  std::memset(r.data_, 0, size);  // a reused range holds what its last owner left
  return r;
}

void DmaArena::release(size_t offset, size_t size) {
  offset -= region_.fd_offset();
  std::lock_guard<std::mutex> lock(mu_);
  bytes_in_use_ -= size;
  --slices_in_use_;
  auto next = free_.lower_bound(offset);
  // Merge with the free piece after, then with the one before.
  if (next != free_.end() && offset + size == next->first) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      prev->second += size;
      size = 0;
    }
  }
  if (size != 0) free_.emplace(offset, size);
}

size_t DmaArena::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_in_use_;
}

size_t DmaArena::slices_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slices_in_use_;
}

}  // namespace safenic
