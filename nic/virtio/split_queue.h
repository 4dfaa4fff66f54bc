// The split virtqueue, driver side (virtio 1.2 §2.7): descriptor table,
// available ring, used ring. The interface and its rules are described in
// nic/virtio/queue.h, which includes this file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>

#include "absl/status/statusor.h"
#include "mem/mempool.h"
#include "mem/packet.h"
#include "nic/layout.h"
#include "nic/ring.h"
#include "nic/virtio/buffers.h"
#include "nic/virtio/queue_base.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/transport.h"

namespace safenic::virtio {

class SplitQueue : public QueueBase<SplitQueue> {
 public:
  // `legacy_layout`: the used ring 4096-aligned, as legacy devices require.
  static absl::StatusOr<SplitQueue> create(const DmaAllocator& dma, uint16_t size,
                                           bool legacy_layout, bool event_idx, bool in_order,
                                           absl::string_view tag);
  QueueAddresses addresses() const;
  uint16_t size() const { return static_cast<uint16_t>(ring_.size()); }
  // Descriptors free for new buffers.
  uint16_t room() const { return room_; }
  // Makes `p`'s segments a buffer for the device; takes the packet.
  void add(Packet& p, std::initializer_list<Segment> segments);
  // Makes the buffers added since the last call visible to the device; true
  // when the device asked to be notified of them (§2.7.10).
  bool publish() {
    const uint16_t old_idx = published_idx_, new_idx = avail_idx_;
    if (old_idx == new_idx) return false;
    dma_write_barrier();  // descriptors and ring entries before the index
    avail().header().set<AvailHeader::IDX>(new_idx);
    published_idx_ = new_idx;
    dma_full_barrier();  // the index before reading the device's wish
    // With EVENT_IDX the device says from which avail index on it wants a
    // notification; without, the used ring's NO_NOTIFY flag.
    if (event_idx_)
      return need_event(used().trailer().get<UsedTrailer::AVAIL_EVENT>(), new_idx, old_idx);
    return !(used().header().get<UsedHeader::FLAGS>() & kUsedNoNotify);
  }
  // add_all(), fill(), take_used() and next_used(): QueueBase.
  // Frees the packets of all used buffers (TX); returns how many.
  size_t free_used();
  // Asks the device for no interrupts (safenic polls).
  void disable_interrupts();
  uint64_t bad_completions() const { return bad_completions_; }
  void release_packets() { buffers_->release_packets(); }

 private:
  SplitQueue(DescriptorRing ring, uint32_t avail_off, uint32_t used_off, bool event_idx,
             bool in_order);
  // The avail side in locals while a fast path adds one-descriptor buffers
  // (see the top of this file); finish() writes it back.
  class Adder {
   public:
    explicit Adder(SplitQueue& q)
        : q_(q),
          table_(q.ring_.descriptors()),
          avail_(q.avail()),
          mask_(static_cast<uint16_t>(q.ring_.mask())),
          idx_(q.avail_idx_),
          next_desc_(q.next_desc_) {}
    // IN_ORDER: the descriptor (and id) the k-th next buffer takes (§2.7.9).
    uint16_t in_order_id(size_t k) const { return static_cast<uint16_t>((next_desc_ + k) & mask_); }
    // Buffer `id`, one descriptor, into the next avail ring entry. In
    // Mode::kInOrderOne that entry already holds `id` (see avail_identity_).
    template <Mode mode>
    void put(uint16_t id, const Segment& s) {
      table_[id].set<SplitDesc::ADDR>(s.iova).set<SplitDesc::LEN>(s.len).set<SplitDesc::FLAGS>(
          s.device_writes ? kDescWrite : 0);
      if constexpr (mode != Mode::kInOrderOne) avail_.entry(idx_ & mask_).set<AvailEntry::ID>(id);
      ++idx_;
    }
    // Writes the state back; how many buffers were put.
    uint16_t finish(bool in_order) {
      const uint16_t added = static_cast<uint16_t>(idx_ - q_.avail_idx_);
      q_.avail_idx_ = idx_;
      if (in_order) q_.next_desc_ = in_order_id(added);
      q_.room_ = static_cast<uint16_t>(q_.room_ - added);
      return added;
    }

   private:
    SplitQueue& q_;
    const LayoutArray<SplitDesc> table_;
    const RingRef<AvailRing> avail_;
    const uint16_t mask_;
    uint16_t idx_;
    const uint16_t next_desc_;
  };
  friend class QueueBase<SplitQueue>;
  // add_all(), fill() and take_used(), one loop for each mode.
  template <Mode mode, typename Prepare>
  size_t add(Packet* packets, size_t n, Prepare prepare);
  template <Mode mode, typename SegmentOf>
  size_t fill_in(Mempool& pool, SegmentOf segment_of);
  template <bool in_order, typename OnUsed>
  size_t take(Packet* out, size_t max, OnUsed on_used);
  // take_used() in Mode::kInOrderOne: no chains to follow.
  template <typename OnUsed>
  size_t take_in_order(Packet* out, size_t max, OnUsed on_used);
  RingRef<AvailRing> avail() const { return {ring_.descriptors() + avail_off_, ring_.size()}; }
  RingRef<UsedRing> used() const { return {ring_.descriptors() + used_off_, ring_.size()}; }

  DescriptorRing ring_;
  std::unique_ptr<BufferTable> buffers_;
  uint32_t avail_off_ = 0, used_off_ = 0;
  bool event_idx_ = false;
  Mode mode_ = Mode::kAnyOrder;
  uint16_t next_desc_ = 0;      // IN_ORDER: the next buffer's first descriptor
  uint16_t oldest_desc_ = 0;    // IN_ORDER: the oldest outstanding buffer's
  uint16_t completed_ = 0;      // IN_ORDER: buffers taken back (an avail index)
  uint16_t avail_idx_ = 0;      // next avail ring slot
  uint16_t published_idx_ = 0;  // avail idx the device has seen
  uint16_t last_used_ = 0;
  uint16_t room_ = 0;
  uint64_t bad_completions_ = 0;
};

// ---- fast paths (inline) ---------------------------------------------------

template <Mode mode, typename Prepare>
size_t SplitQueue::add(Packet* packets, size_t n, Prepare prepare) {
  Adder adder(*this);
  uint16_t* const free_ids = buffers_->free_ids();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t free_count = buffers_->free_count();
  // A buffer takes one descriptor and one id, and there are at least as many
  // free ids as free descriptors: room alone bounds the loop.
  n = std::min<size_t>(n, room_);
  size_t k = 0, added = 0;
  for (; k < n; ++k) {
    Segment s;
    if (!prepare(packets[k], s)) continue;
    // IN_ORDER: the next descriptor in ring order, and only free ids' count is kept.
    const uint16_t id =
        mode != Mode::kAnyOrder ? adder.in_order_id(added++) : free_ids[--free_count];
    adder.template put<mode>(id, s);
    if constexpr (mode != Mode::kInOrderOne) chains[id] = 1;
    owned[id].swap(packets[k]);
  }
  const uint16_t put = adder.finish(mode != Mode::kAnyOrder);
  buffers_->took<mode>(free_count, put);
  return k;
}

template <Mode mode, typename SegmentOf>
size_t SplitQueue::fill_in(Mempool& pool, SegmentOf segment_of) {
  Adder adder(*this);
  uint16_t* const free_ids = buffers_->free_ids();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  const uint16_t free_count = buffers_->free_count();
  // The ids the next buffers take: IN_ORDER the descriptors from the next
  // on, else the free ids from the last one back.
  auto id_of = [&](size_t k) -> uint16_t {
    if constexpr (mode == Mode::kAnyOrder) return free_ids[free_count - 1 - k];
    return adder.in_order_id(k);
  };
  // Each fresh packet straight into its id's slot, then its descriptor.
  pool.alloc_each(
      room_, [&](size_t k) -> Packet& { return owned[id_of(k)]; },
      [&](size_t k, const Packet& p) {
        const uint16_t id = id_of(k);
        adder.template put<mode>(id, segment_of(p));
        if constexpr (mode != Mode::kInOrderOne) chains[id] = 1;
      });
  const uint16_t added = adder.finish(mode != Mode::kAnyOrder);
  buffers_->took<mode>(static_cast<uint16_t>(free_count - added), added);
  return added;
}

template <bool in_order, typename OnUsed>
size_t SplitQueue::take(Packet* out, size_t max, OnUsed on_used) {
  const RingRef<UsedRing> used = this->used();
  const uint16_t end = used.header().get<UsedHeader::IDX>();
  uint16_t last = last_used_;
  if (last == end) return 0;
  dma_read_barrier();  // the elements after the index
  const uint16_t mask = static_cast<uint16_t>(ring_.mask());
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t* const free_ids = buffers_->free_ids();
  uint16_t free_count = buffers_->free_count();
  uint16_t room = room_, oldest = oldest_desc_, completed = completed_;
  const uint16_t size = this->size();
  uint64_t bad = 0;
  size_t k = 0;
  while (k < max && last != end) {
    const LayoutView<UsedElem> elem = used.entry(last++ & mask);
    const uint32_t id = elem.get<UsedElem::ID>();
    const uint32_t written = elem.get<UsedElem::LEN>();
    uint16_t head;
    bool named = true;  // the element names the buffer it takes back
    if constexpr (in_order) {
      // The element is for the oldest buffer; its id must say so.
      if (ABSL_PREDICT_FALSE(room == size)) {
        ++bad;  // none outstanding
        continue;
      }
      head = oldest;
      named = id == head;
      oldest = (oldest + chains[head]) & mask;
      ++completed;
      free_count = static_cast<uint16_t>(free_count + chains[head]);
    } else {
      if (ABSL_PREDICT_FALSE(id > mask || chains[id] == 0)) {
        ++bad;  // not a buffer we made available: ignore it
        continue;
      }
      head = static_cast<uint16_t>(id);
      if (chains[head] > 1) free_ids[free_count++] = buffers_->link(head);
      free_ids[free_count++] = head;
    }
    room = static_cast<uint16_t>(room + chains[head]);
    chains[head] = 0;
    Packet& p = out[k];
    p.swap(owned[head]);
    if (ABSL_PREDICT_TRUE(named) && on_used(p, written)) {
      ++k;
    } else {
      bad += !named;
      p.reset();
    }
  }
  bad_completions_ += bad;
  buffers_->set_free_count(free_count);
  last_used_ = last, room_ = room;
  if constexpr (in_order) oldest_desc_ = oldest, completed_ = completed;
  return k;
}

// §2.7.9 with every buffer one descriptor: the outstanding buffers are the
// descriptors from oldest_desc_ on, and each used element is for the oldest.
template <typename OnUsed>
size_t SplitQueue::take_in_order(Packet* out, size_t max, OnUsed on_used) {
  const RingRef<UsedRing> used = this->used();
  const uint16_t end = used.header().get<UsedHeader::IDX>();
  uint16_t last = last_used_;
  if (last == end) return 0;
  dma_read_barrier();  // the elements after the index
  const uint16_t mask = static_cast<uint16_t>(ring_.mask());
  Packet* const owned = buffers_->packets();
  const uint16_t outstanding = static_cast<uint16_t>(size() - room_);
  const uint16_t ready = static_cast<uint16_t>(end - last);
  // Buffers taken back may be dropped, so fewer than `max` may be kept.
  const size_t limit = std::min<size_t>({max, ready, outstanding});
  uint16_t oldest = oldest_desc_;
  uint64_t bad = 0;
  Packet* kept = out;  // the next kept packet's place
  for (size_t left = limit; left != 0; --left) {
    const LayoutView<UsedElem> elem = used.entry(last++ & mask);
    const uint32_t id = elem.get<UsedElem::ID>();
    const uint32_t written = elem.get<UsedElem::LEN>();
    kept->swap(owned[oldest]);
    const bool named = id == oldest;  // the element is for the oldest buffer
    oldest = (oldest + 1) & mask;
    if (ABSL_PREDICT_TRUE(named) && on_used(*kept, written)) {
      ++kept;
    } else {
      bad += !named;
      kept->reset();
    }
  }
  const uint16_t taken = static_cast<uint16_t>(last - last_used_);
  if (ABSL_PREDICT_FALSE(taken == outstanding && last != end)) {
    bad += static_cast<uint16_t>(end - last);  // more elements than buffers: these name none
    last = end;
  }
  bad_completions_ += bad;
  buffers_->give_count(taken);
  room_ = static_cast<uint16_t>(room_ + taken);
  completed_ = static_cast<uint16_t>(completed_ + taken);
  oldest_desc_ = oldest, last_used_ = last;
  return static_cast<size_t>(kept - out);
}

}  // namespace safenic::virtio
