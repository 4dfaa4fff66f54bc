#include "sim/iommu.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic::sim {

absl::StatusOr<uint64_t> Iommu::map(void* va, size_t len, absl::string_view tag) {
  if (len == 0) return absl::InvalidArgumentError("cannot map 0 bytes for DMA");
  const uint64_t iova = next_iova_;
  const uint64_t pages = (len + kPage - 1) / kPage;
  next_iova_ += (pages + 1) * kPage;  // + guard page
  const Region& r = regions_[iova] =
      Region{iova, len, static_cast<uint8_t*>(va), std::string(tag), 0, {}};
  const uint64_t first = (iova - kIovaBase) / kPage;
  pages_.resize(first + pages + 1, nullptr);  // the guard page stays null
  std::fill(pages_.begin() + first, pages_.begin() + first + pages, &r);
  dead_.erase(iova);
  return iova;
}

absl::Status Iommu::map_at(uint64_t iova, void* va, size_t len, absl::string_view tag) {
  if (len == 0) return absl::InvalidArgumentError("cannot map 0 bytes for DMA");
  if (iova + len < iova) {
    return absl::InvalidArgumentError(
        absl::StrFormat("DMA mapping [%#x, +%d) wraps around", iova, len));
  }
  if (iova < kIovaBase + kReservedIovas && iova + len > kIovaBase) {
    return absl::InvalidArgumentError(
        absl::StrFormat("DMA mapping [%#x, +%d) overlaps the simulator's own IOVA space [%#x, %#x)",
                        iova, len, kIovaBase, kIovaBase + kReservedIovas));
  }
  auto next = regions_.lower_bound(iova);
  const bool overlaps_next = next != regions_.end() && next->first < iova + len;
  const bool overlaps_previous =
      next != regions_.begin() && std::prev(next)->second.contains(iova, 1);
  if (overlaps_next || overlaps_previous) {
    const Region& other = overlaps_next ? next->second : std::prev(next)->second;
    return absl::AlreadyExistsError(
        absl::StrFormat("DMA mapping [%#x, +%d) overlaps the mapped region [%#x, +%d) (%s)", iova,
                        len, other.iova, other.len, other.tag));
  }
  regions_[iova] = Region{iova, len, static_cast<uint8_t*>(va), std::string(tag), 0, {}};
  dead_.erase(iova);
  return absl::OkStatus();
}

uint8_t* Iommu::dma(uint64_t iova, size_t len, absl::string_view what, DmaWindow& window) {
  uint8_t* const p = dma(iova, len, what);
  if (p == nullptr) return nullptr;
  const Region* r = in_page_table(iova)
                        ? region_at(iova)
                        : live_region(iova);  // (null: a 0-byte DMA at a region's end)
  if (r != nullptr && r->buffer_len == 0) {
    window.generation_ = generation_;
    window.start_ = r->iova;
    window.size_ = r->len;
    window.va_ = r->va;
  }
  return p;
}

void Iommu::unmap(uint64_t iova, size_t len) {
  auto it = regions_.find(iova);
  if (it == regions_.end() || it->second.len != len) {
    log_->report(
        absl::StrFormat("IOMMU: unmap of [%#x, +%d) which is not a mapped region", iova, len));
    return;
  }
  if (in_page_table(iova)) {
    const uint64_t first = (iova - kIovaBase) / kPage;
    std::fill(pages_.begin() + first, pages_.begin() + first + (len + kPage - 1) / kPage, nullptr);
  }
  ++generation_;  // every DmaWindow looks again
  if (last_marked_ == &it->second) last_marked_ = nullptr;
  it->second.buffer_len = 0;  // a dead region's report is about the region
  it->second.buffer_free.clear();
  dead_[iova] = std::move(it->second);
  regions_.erase(it);
}

absl::StatusOr<absl::Span<uint8_t>> Iommu::translate_slow(uint64_t iova, size_t len,
                                                          absl::string_view what) {
  auto it = regions_.upper_bound(iova);
  if (it != regions_.begin()) {
    const Region& r = std::prev(it)->second;
    if (len > 0 && r.contains(iova, len)) return checked(r, iova, len, what);
  }
  return violation(iova, len, what);
}

Iommu::Region* Iommu::live_region(uint64_t iova) {
  auto it = regions_.upper_bound(iova);
  if (it == regions_.begin()) return nullptr;
  Region& r = std::prev(it)->second;
  return r.contains(iova, 1) ? &r : nullptr;
}

void Iommu::mark_buffer(uint64_t iova, uint32_t len, bool free) {
  Region* r = last_marked_ != nullptr && last_marked_->buffer_len == len &&
                      last_marked_->contains(iova, len)
                  ? last_marked_
                  : live_region(iova);
  const uint64_t index = r != nullptr && len != 0 ? (iova - r->iova) / len : 0;
  if (r == nullptr || !r->contains(iova, len) || len == 0 ||
      (r->buffer_len != 0 && r->buffer_len != len) || iova != r->iova + index * len) {
    log_->report(
        absl::StrFormat("IOMMU: a mempool reported buffer [%#x, +%d) %s, which is not a buffer "
                        "of a mapped pool region",
                        iova, len, free ? "freed" : "allocated"));
    return;
  }
  last_marked_ = r;
  if (r->buffer_len == 0) {
    r->buffer_len = len;
    r->buffer_free.assign(r->len / len, 0);
    ++generation_;  // its DMAs are checked per buffer from now on: no window may skip that
  }
  r->buffer_free[index] = free;
}

int64_t Iommu::Region::first_free_buffer(uint64_t a, size_t n) const {
  if (n == 0) return -1;
  const uint64_t last = std::min<uint64_t>((a + n - 1 - iova) / buffer_len, buffer_free.size() - 1);
  for (uint64_t i = (a - iova) / buffer_len; i <= last; ++i) {
    if (buffer_free[i]) return static_cast<int64_t>(i);
  }
  return -1;
}

absl::StatusOr<absl::Span<uint8_t>> Iommu::checked(const Region& r, uint64_t iova, size_t len,
                                                   absl::string_view what) {
  if (r.buffer_len != 0 && r.first_free_buffer(iova, len) >= 0) {
    return use_after_free(r, iova, len, what);
  }
  // One DMA stays in one pool buffer: a transfer that runs past a buffer's end
  // into the next was promised room the buffer does not have (a descriptor
  // length or buffer size larger than the pool's buffers), whatever the state
  // of the neighbour it overwrites.
  if (r.buffer_len != 0 && len != 0) {
    const uint64_t first = (iova - r.iova) / r.buffer_len;
    const uint64_t last = (iova + len - 1 - r.iova) / r.buffer_len;
    if (first != last) return crosses_buffers(r, iova, len, what, first);
  }
  return absl::Span<uint8_t>(r.va + (iova - r.iova), len);
}

absl::Status Iommu::crosses_buffers(const Region& r, uint64_t iova, size_t len,
                                    absl::string_view what, uint64_t first) {
  const uint64_t end = r.iova + (first + 1) * r.buffer_len;
  std::string msg = absl::StrFormat(
      "IOMMU fault: device %s DMA of %d bytes at IOVA %#x runs %d bytes past the end of "
      "buffer #%d [%#x, %#x) of pool '%s' into the next buffer: the driver gave the "
      "device more room than its %d-byte buffers have",
      what, len, iova, iova + len - end, first, end - r.buffer_len, end, r.tag, r.buffer_len);
  log_->report(msg);
  return absl::FailedPreconditionError(msg);
}

absl::Status Iommu::use_after_free(const Region& r, uint64_t iova, size_t len,
                                   absl::string_view what) {
  const uint64_t i = static_cast<uint64_t>(r.first_free_buffer(iova, len));
  const uint64_t start = r.iova + i * r.buffer_len;
  std::string msg = absl::StrFormat(
      "IOMMU fault: use after free: device %s DMA of %d bytes at IOVA %#x "
      "touches buffer #%d [%#x, %#x) of pool '%s', freed to its pool: the "
      "driver no longer owns it",
      what, len, iova, i, start, start + r.buffer_len, r.tag);
  log_->report(msg);
  return absl::FailedPreconditionError(msg);
}

absl::Status Iommu::read(uint64_t iova, absl::Span<uint8_t> out, absl::string_view what) {
  SAFENIC_ASSIGN_OR_RETURN(auto src, translate(iova, out.size(), what));
  std::memcpy(out.data(), src.data(), out.size());
  return absl::OkStatus();
}

absl::Status Iommu::write(uint64_t iova, absl::Span<const uint8_t> in, absl::string_view what) {
  SAFENIC_ASSIGN_OR_RETURN(auto dst, translate(iova, in.size(), what));
  std::memcpy(dst.data(), in.data(), in.size());
  return absl::OkStatus();
}

absl::Status Iommu::violation(uint64_t iova, size_t len, absl::string_view what) {
  std::string where = "no region is mapped";
  // A range that was live once: the driver kept using memory it freed.
  auto dead = dead_.upper_bound(iova);
  if (dead != dead_.begin() && std::prev(dead)->second.contains(iova, 1)) {
    const Region& r = std::prev(dead)->second;
    where = absl::StrFormat(
        "it hits region '%s' [%#x, %#x) after it was unmapped "
        "(use after free)",
        r.tag, r.iova, r.iova + r.len);
  } else {
    // The nearest live region on either side.
    const Region* best = nullptr;
    uint64_t distance = ~uint64_t{0};
    auto next = regions_.lower_bound(iova);
    if (next != regions_.end()) {
      best = &next->second;
      distance = next->second.iova - iova;
    }
    if (next != regions_.begin()) {
      const Region& r = std::prev(next)->second;
      const uint64_t end = r.iova + r.len;
      const uint64_t d = iova >= end ? iova - end : 0;
      if (d <= distance) best = &r, distance = d;
    }
    if (best != nullptr) {
      where = absl::StrFormat("nearest region '%s' is [%#x, %#x)", best->tag, best->iova,
                              best->iova + best->len);
      if (best->contains(iova, 1)) {
        where += absl::StrFormat(": the access runs %d bytes past its end",
                                 iova + len - (best->iova + best->len));
      }
    }
  }
  std::string msg = absl::StrFormat(
      "IOMMU fault: %s of %d bytes at IOVA %#x is outside every live DMA "
      "region; %s",
      what, len, iova, where);
  log_->report(msg);
  return absl::OutOfRangeError(msg);
}

}  // namespace safenic::sim
