// Mempool: fixed-size packet buffers carved from one DmaRegion.
//
// O(1) alloc and free, bulk variants, no heap allocation and no locks after
// create(): use one pool per thread (or per queue). It counts buffers out, so
// every test can assert that nothing leaked.
//
// Lifetime: create() returns a MempoolPtr. Releasing it while packets are still
// out is safe: the pool lives on until the last buffer comes back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mem/batch.h"
#include "mem/buffer.h"
#include "mem/dma_region.h"
#include "mem/packet.h"
#include "mem/status.h"

namespace safenic {

struct MempoolConfig {
  uint32_t buffers = 4096;
  uint32_t data_room = 2048;  // bytes after the headroom
  uint32_t headroom = 128;    // room in front of received data (like DPDK)
  std::string tag = "mempool";
};

class Mempool;
struct MempoolReleaser {
  void operator()(Mempool* pool) const;
};
using MempoolPtr = std::unique_ptr<Mempool, MempoolReleaser>;

class Mempool {
 public:
  static absl::StatusOr<MempoolPtr> create(const MempoolConfig& config, const DmaAllocator& dma);

  Mempool(const Mempool&) = delete;
  Mempool& operator=(const Mempool&) = delete;

  // One buffer with len 0 and the configured headroom; an empty Packet (and
  // alloc_failures() + 1) when the pool is exhausted.
  Packet alloc() {
    if (ABSL_PREDICT_FALSE(free_.count == 0)) {
      ++alloc_failures_;
      return Packet();
    }
    BufferMeta* m = free_.top[--free_.count];
    if (ABSL_PREDICT_FALSE(watcher_ != nullptr)) report_allocated(&m, 1);
    return Packet(fresh(m, fresh_frame()));
  }
  // Appends min(n, batch.room(), available()) fresh packets; returns how many.
  size_t alloc_bulk(PacketBatch& batch, size_t n) {
    if (n > batch.room()) n = batch.room();
    n = alloc_bulk(batch.tail(), n);
    batch.grow(n);
    return n;
  }
  // Fresh packets into out[0..k), k = min(n, available()); returns k (cf.
  // rte_pktmbuf_alloc_bulk, which takes all or none). out[0..n) must be
  // empty (checked in builds without NDEBUG).
  size_t alloc_bulk(Packet* out, size_t n) {
    return alloc_each(
        n, [out](size_t i) -> Packet& { return out[i]; }, [](size_t, const Packet&) {});
  }
  // Fresh packets into slot(0), slot(1) .. slot(k - 1), k = min(n,
  // available()), e.g. the free slots of a ring; after each one,
  // filled(i, slot(i)) (e.g. to write the descriptor that points at it, while
  // the packet is at hand). Returns k. Each slot(i) (a Packet&) must be empty
  // (checked in builds without NDEBUG).
  template <typename Slot, typename Filled>
  size_t alloc_each(size_t n, Slot slot, Filled filled) {
    if (ABSL_PREDICT_FALSE(n > free_.count)) {
      ++alloc_failures_;
      n = free_.count;
    }
    free_.count -= static_cast<uint32_t>(n);
    BufferMeta* const* src = free_.top + free_.count;
    if (ABSL_PREDICT_FALSE(watcher_ != nullptr)) report_allocated(src, n);
    const uint64_t frame = fresh_frame();
    for (size_t i = 0; i < n; ++i) {
      Packet& p = slot(i);
      SAFENIC_DCHECK(p.empty(), "alloc into a held packet");
      p.m_ = fresh(src[i], frame);
      filled(i, static_cast<const Packet&>(p));
    }
    return n;
  }

  size_t capacity() const { return free_.capacity; }
  size_t available() const { return free_.count; }
  size_t in_use() const { return free_.capacity - free_.count; }
  uint64_t alloc_failures() const { return alloc_failures_; }

  // Buffer geometry: every buffer is `stride()` bytes; data may use
  // `stride() - headroom` bytes after a fresh packet's headroom.
  uint32_t stride() const { return stride_; }
  uint32_t headroom() const { return headroom_; }
  uint32_t data_room() const { return stride_ - headroom_; }
  // The DMA memory behind the buffers: one region, or several when the pool
  // is larger than its mapper's max_region_size() (no buffer spans two).
  const DmaRegion& region() const { return regions_.front(); }
  size_t region_count() const { return regions_.size(); }
  const DmaRegion& region(size_t i) const { return regions_[i]; }
  const std::string& tag() const { return regions_.front().tag(); }

 private:
  friend struct MempoolReleaser;
  friend struct FreeList;
  friend class Packet;
  Mempool() = default;
  ~Mempool() = default;

  // A fresh packet's data_off (the headroom) and len (0), as the 8 bytes that
  // hold them in a BufferMeta: fresh() resets both, and the offload flags
  // after them, with one store.
  uint64_t fresh_frame() const {
    const uint32_t fields[2] = {headroom_, 0};
    uint64_t frame;
    std::memcpy(&frame, fields, sizeof frame);
    return frame;
  }
  static BufferMeta* fresh(BufferMeta* m, uint64_t frame) {
    unsigned char* bytes = reinterpret_cast<unsigned char*>(m);
    const uint64_t fresh[2] = {frame, 0};  // data_off, len; the offload flags
    std::memcpy(bytes + offsetof(BufferMeta, data_off), fresh, sizeof fresh);
    return m;
  }
  // Tells watcher_ that these buffers left the pool.
  void report_allocated(BufferMeta* const* bufs, size_t n);

  FreeList free_;
  // The DMA mapper that checks buffer liveness (sim::Iommu with tracking on),
  // or null (hardware). regions_ keep it alive.
  IovaMapper* watcher_ = nullptr;
  uint32_t stride_ = 0;
  uint32_t headroom_ = 0;
  uint64_t alloc_failures_ = 0;
  std::vector<DmaRegion> regions_;
  std::unique_ptr<BufferMeta[]> meta_;
  std::unique_ptr<BufferMeta*[]> stack_;
};

}  // namespace safenic
