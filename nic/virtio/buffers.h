// What both virtqueue types share: a buffer's segments, the modes their fast
// paths are compiled for, and the table of buffer ids and the packets they
// own. nic/virtio/queue.h describes the queues.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "mem/mempool.h"
#include "mem/packet.h"

namespace safenic::virtio {

struct Segment {
  uint64_t iova;
  uint32_t len;
  bool device_writes;
};
inline constexpr uint32_t kMaxSegments = 2;
// The length take_used() and next_used() give for a buffer the device used
// completely without writing its length: IN_ORDER on a packed ring, a buffer
// it reported with a later one (§2.8.8).
inline constexpr uint32_t kUsedCompletely = 0xFFFFFFFF;

// What a queue keeps per buffer, by how the device gives buffers back; the
// fast paths are compiled once for each.
enum class Mode : uint8_t {
  kAnyOrder,    // ids from a free list; chains[] holds each buffer's descriptor count
  kInOrder,     // IN_ORDER, some buffer had more than one descriptor: chains[] as above
  kInOrderOne,  // IN_ORDER, every buffer one descriptor so far: the outstanding
                // buffers are the slots from the oldest on; chains[] unused
};
// Calls f(std::integral_constant<Mode, m>{}): one compiled path per mode.
template <typename F>
decltype(auto) by_mode(Mode m, F&& f) {
  switch (m) {
    case Mode::kAnyOrder: return f(std::integral_constant<Mode, Mode::kAnyOrder>{});
    case Mode::kInOrder: return f(std::integral_constant<Mode, Mode::kInOrder>{});
    case Mode::kInOrderOne: break;
  }
  return f(std::integral_constant<Mode, Mode::kInOrderOne>{});
}

// Free buffer ids and what each id owns; shared by both queue types. The
// arrays are open to the queues' fast paths, which copy the pointers to locals.
class BufferTable {
 public:
  explicit BufferTable(uint16_t size);
  bool empty() const { return free_count_ == 0; }
  uint16_t take() { return free_[--free_count_]; }
  void give(uint16_t id) { free_[free_count_++] = id; }
  // IN_ORDER: ids follow ring positions; only the count of free ids is kept.
  void take_count(uint16_t n) { free_count_ -= n; }
  void give_count(uint16_t n) { free_count_ += n; }
  uint16_t free_count() const { return free_count_; }
  Packet& packet(uint16_t id) { return packets_[id]; }
  uint8_t& chain(uint16_t id) { return chain_[id]; }  // descriptors in the buffer; 0: not in use
  uint16_t& link(uint16_t id) { return link_[id]; }   // split: the chain's second descriptor
  uint16_t size() const { return size_; }
  void release_packets();
  // Leaving Mode::kInOrderOne: chains[] from here on, 1 for the `count`
  // outstanding one-descriptor buffers from slot `first` on, 0 elsewhere.
  void start_chains(uint16_t first, uint16_t count);

  // Raw views for the fast paths; `free_count` is written back by the caller.
  uint16_t* free_ids() const { return free_.get(); }
  Packet* packets() const { return packets_.get(); }
  uint8_t* chains() const { return chain_.get(); }
  void set_free_count(uint16_t n) { free_count_ = n; }
  // After a fast path put `added` buffers: a free list's count from then on
  // (Mode::kAnyOrder: the fast path took ids from its top), or, IN_ORDER,
  // only the number of ids taken.
  template <Mode mode>
  void took(uint16_t free_count_after, uint16_t added) {
    if constexpr (mode == Mode::kAnyOrder) {
      free_count_ = free_count_after;
    } else {
      free_count_ = static_cast<uint16_t>(free_count_ - added);
    }
  }

 private:
  std::unique_ptr<uint16_t[]> free_;
  std::unique_ptr<Packet[]> packets_;
  std::unique_ptr<uint8_t[]> chain_;
  std::unique_ptr<uint16_t[]> link_;
  uint16_t free_count_ = 0;
  uint16_t size_ = 0;
};

}  // namespace safenic::virtio
