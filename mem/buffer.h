// Internal to mem/: the metadata of one mempool buffer and the free list that
// Packet returns it to. Metadata lives in host memory the device cannot reach,
// so a device (or a hostile one, issue #8) can never corrupt it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"
#include "mem/offloads.h"

namespace safenic {

class Mempool;
struct FreeList;

struct BufferMeta {
  uint8_t* buf;             // first byte of the buffer (headroom starts here)
  uint64_t iova;            // IOVA of `buf`
  FreeList* home;           // the pool's free list it returns to
  uint32_t data_off;        // offset of the first data byte from `buf`
  uint32_t len;             // bytes of data
  PacketOffloads offloads;  // its flags zero in a fresh packet
};
// Mempool::fresh() sets data_off and len, and clears the offload flags (the
// first 8 bytes of `offloads`), with one 16-byte store.
static_assert(offsetof(BufferMeta, len) == offsetof(BufferMeta, data_off) + 4);
static_assert(offsetof(BufferMeta, offloads) == offsetof(BufferMeta, len) + 4);

// LIFO stack of free buffers: O(1) get/put, no locks (one pool per thread).
struct FreeList {
  // Why a put must take the slow path (put_slow); 0 on the fast path.
  enum : uint8_t {
    kOrphaned = 1,  // owner released the pool while buffers were out
    kWatched = 2,   // the pool reports frees to its mapper (use-after-free checks)
  };

  BufferMeta** top = nullptr;  // free[0 .. count)
  uint32_t count = 0;
  uint32_t capacity = 0;
  uint8_t flags = 0;
  Mempool* owner = nullptr;
  uint32_t stride = 0;  // bytes per buffer

  void put(BufferMeta* m) {
    top[count] = m;
    put_done(count + 1);
  }
  // After storing buffers up to top[new_count) (a bulk put: Packet::reset_all):
  // one count update and one flags check. May delete the pool, this included.
  void put_done(uint32_t new_count) {
    if (ABSL_PREDICT_FALSE(flags != 0)) return put_slow(new_count);
    count = new_count;
  }
  // mempool.cc: reports top[count .. new_count) freed if watched; deletes an
  // orphaned pool whose last buffer came home.
  void put_slow(uint32_t new_count);
};

}  // namespace safenic
