// What SplitQueue and PackedQueue share above their rings: the public fast
// paths, each picking the loop compiled for the queue's Mode (buffers.h), and
// what they promise, written once. A queue class derives from
// QueueBase<itself> and provides, for each Mode m: add<m>(packets, n, prepare)
// and fill_in<m>(pool, segment_of); take<in_order>(out, max, on_used) for
// the modes that keep chain lengths, take_in_order(out, max, on_used) for
// Mode::kInOrderOne; and mode_.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mem/mempool.h"
#include "mem/packet.h"
#include "nic/virtio/buffers.h"

namespace safenic::virtio {

template <typename Queue>
class QueueBase {
 public:
  // Adds packets[0..n) as one-segment buffers while there is room.
  // `prepare(Packet&, Segment&)` fills in the segment, or returns false to
  // skip the packet (it deals with it). Returns how many it looked at.
  template <typename Prepare>
  size_t add_all(Packet* packets, size_t n, Prepare prepare) {
    Queue& q = self();
    return by_mode(q.mode_, [&](auto m) { return q.template add<m.value>(packets, n, prepare); });
  }
  // Fresh one-segment buffers from `pool` into every free slot (RX refill):
  // segment_of(const Packet&) gives each one's segment. Returns how many;
  // fewer when the pool runs dry (the next call goes on).
  template <typename SegmentOf>
  size_t fill(Mempool& pool, SegmentOf segment_of) {
    Queue& q = self();
    return by_mode(q.mode_, [&](auto m) { return q.template fill_in<m.value>(pool, segment_of); });
  }
  // Takes used buffers in the order the device used them, until `max` are
  // delivered or none is left: each one's packet moves into the next of
  // out[0..max) and on_used(Packet&, uint32_t written) says whether to keep
  // it (false: the packet is freed and its place taken by the next one). A
  // completion naming no buffer made available is counted in
  // bad_completions() and skipped; IN_ORDER, one that is not for the oldest
  // buffer still takes that buffer back (the device wrote over its slot) but
  // delivers nothing, and on a packed ring one used descriptor may stand for
  // a batch of buffers, naming its last: the others are delivered with
  // kUsedCompletely (§2.8.8). Returns how many were kept.
  template <typename OnUsed>
  size_t take_used(Packet* out, size_t max, OnUsed on_used) {
    Queue& q = self();
    if (q.mode_ == Mode::kInOrderOne) return q.take_in_order(out, max, on_used);
    if (q.mode_ == Mode::kInOrder) return q.template take<true>(out, max, on_used);
    return q.template take<false>(out, max, on_used);
  }
  // The next used buffer: its packet into `out` (empty) and the length the
  // device wrote. False when there is none.
  bool next_used(Packet& out, uint32_t* written) {
    return take_used(&out, 1, [&](Packet&, uint32_t w) {
             *written = w;
             return true;
           }) == 1;
  }

 private:
  Queue& self() { return static_cast<Queue&>(*this); }
};

}  // namespace safenic::virtio
