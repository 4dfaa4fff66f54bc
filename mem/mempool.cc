#include "mem/mempool.h"

#include <algorithm>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic {

absl::StatusOr<MempoolPtr> Mempool::create(const MempoolConfig& config, const DmaAllocator& dma) {
  if (config.buffers == 0) {
    return absl::InvalidArgumentError("a mempool needs at least one buffer");
  }
  if (config.data_room < 64 || config.data_room > (1u << 20)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("mempool data_room %d is out of range [64, 1 MiB]", config.data_room));
  }
  if (config.headroom > 4096) {
    return absl::InvalidArgumentError(
        absl::StrFormat("mempool headroom %d is over 4096 bytes", config.headroom));
  }
  MempoolPtr pool(new Mempool());
  // Buffers start on cache lines, so descriptors get 64-byte aligned IOVAs.
  pool->stride_ = (config.headroom + config.data_room + 63) / 64 * 64;
  pool->headroom_ = config.headroom;
  // One region, or as many as the mapper needs to keep each contiguous for
  // the device (PagemapMapper: one per 2 MiB hugepage), whole buffers each.
  const size_t max_region = dma.mapper() != nullptr ? dma.mapper()->max_region_size() : ~size_t{0};
  const size_t total = size_t{pool->stride_} * config.buffers;
  const size_t per_region = total <= max_region ? config.buffers : max_region / pool->stride_;
  if (per_region == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mempool '%s': a %d-byte buffer does not fit the %d bytes its DMA mapper (%s) can keep "
        "contiguous",
        config.tag, pool->stride_, max_region, dma.mapper()->name()));
  }
  for (size_t first = 0; first < config.buffers; first += per_region) {
    const size_t n = std::min<size_t>(per_region, config.buffers - first);
    SAFENIC_ASSIGN_OR_RETURN(auto region, dma.allocate(size_t{pool->stride_} * n, config.tag));
    pool->regions_.push_back(std::move(region));
  }
  pool->meta_ = std::make_unique<BufferMeta[]>(config.buffers);
  pool->stack_ = std::make_unique<BufferMeta*[]>(config.buffers);
  FreeList& f = pool->free_;
  f.top = pool->stack_.get();
  f.capacity = config.buffers;
  f.owner = pool.get();
  f.stride = pool->stride_;
  const std::shared_ptr<IovaMapper>& mapper = dma.mapper();
  if (dma.arena() == nullptr && mapper != nullptr && mapper->tracks_buffers()) {
    pool->watcher_ = mapper.get();  // pool->regions_ hold it
    f.flags |= FreeList::kWatched;
  }
  // Pushed in reverse, so buffer 0 is handed out first.
  for (uint32_t i = config.buffers; i-- > 0;) {
    BufferMeta& m = pool->meta_[i];
    const DmaRegion& r = pool->regions_[i / per_region];
    m.buf = r.data() + (i % per_region) * pool->stride_;
    m.iova = r.iova() + (i % per_region) * pool->stride_;
    m.home = &f;
    f.top[f.count++] = &m;
    if (pool->watcher_ != nullptr) pool->watcher_->buffer_freed(m.iova, f.stride);
  }
  return pool;
}

void FreeList::put_slow(uint32_t new_count) {
  if (flags & kWatched) {
    IovaMapper* watcher = owner->watcher_;
    for (uint32_t i = count; i < new_count; ++i) watcher->buffer_freed(top[i]->iova, stride);
  }
  count = new_count;
  if ((flags & kOrphaned) && count == capacity) delete owner;  // the last one came home
}

void Mempool::report_allocated(BufferMeta* const* bufs, size_t n) {
  for (size_t i = 0; i < n; ++i) watcher_->buffer_allocated(bufs[i]->iova, stride_);
}

void MempoolReleaser::operator()(Mempool* pool) const {
  if (pool->in_use() == 0) {
    delete pool;
  } else {
    pool->free_.flags |= FreeList::kOrphaned;  // the last Packet to come home deletes it
  }
}

absl::Status Packet::too_long(size_t len) const {
  return absl::OutOfRangeError(
      absl::StrFormat("packet length %d exceeds the buffer's capacity of %d bytes (pool '%s')", len,
                      capacity(), pool().tag()));
}

absl::Status Packet::no_headroom(size_t n) const {
  return absl::OutOfRangeError(
      absl::StrFormat("cannot prepend %d bytes: only %d bytes of headroom", n, m_->data_off));
}

absl::Status Packet::trim_front(size_t n) {
  if (n > m_->len) {
    return absl::OutOfRangeError(
        absl::StrFormat("cannot trim %d bytes from a %d-byte packet", n, m_->len));
  }
  m_->data_off += static_cast<uint32_t>(n);
  m_->len -= static_cast<uint32_t>(n);
  return absl::OkStatus();
}

absl::StatusOr<Packet> Packet::clone() const { return clone(pool()); }

absl::StatusOr<Packet> Packet::clone(Mempool& pool) const {
  if (m_->data_off + size_t{m_->len} > pool.stride()) {
    return absl::OutOfRangeError(
        absl::StrFormat("a %d-byte packet with %d bytes of headroom does not fit pool '%s' "
                        "(%d-byte buffers)",
                        m_->len, m_->data_off, pool.tag(), pool.stride()));
  }
  Packet copy = pool.alloc();
  if (copy.empty()) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("pool '%s' has no free buffer for a clone (%d of %d in use): free "
                        "packets or create a larger pool",
                        pool.tag(), pool.in_use(), pool.capacity()));
  }
  copy.m_->data_off = m_->data_off;
  copy.m_->len = m_->len;
  copy.m_->offloads = m_->offloads;
  std::memcpy(copy.data(), data(), m_->len);
  return copy;
}

}  // namespace safenic
