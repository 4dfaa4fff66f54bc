// The packed virtqueue, driver side (virtio 1.2 §2.8): one descriptor ring
// and two event suppression structures. The interface and its rules are
// described in nic/virtio/queue.h, which includes this file.
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

class PackedQueue : public QueueBase<PackedQueue> {
 public:
  static absl::StatusOr<PackedQueue> create(const DmaAllocator& dma, uint16_t size, bool event_idx,
                                            bool in_order, absl::string_view tag);
  QueueAddresses addresses() const;
  uint16_t size() const { return static_cast<uint16_t>(ring_.size()); }
  uint16_t room() const { return room_; }
  void add(Packet& p, std::initializer_list<Segment> segments);
  // Ends a round of adding: true when the device's event suppression
  // structure asks to be told of the buffers added since the last call
  // (§2.8.10). Each buffer was made available as it was added (its first
  // descriptor's flags written last, §2.8.21.1).
  bool publish() {
    const uint16_t added = pending_;
    if (added == 0) return false;
    pending_ = 0;
    dma_full_barrier();  // the flags before reading the device's wish
    const LayoutView<PackedEvent> event = device_event();
    const uint16_t flags = event.get<PackedEvent::FLAGS>();
    if (flags == kEventDisable) return false;
    if (flags != kEventDesc || !event_idx_) return true;
    // Positions as free-running counters: the event's wrap bit says whether
    // it is in this pass over the ring or the one before.
    const uint16_t off_wrap = event.get<PackedEvent::DESC>();
    uint16_t event_idx = off_wrap & 0x7FFF;
    if (static_cast<bool>(off_wrap >> 15) != (avail_flags_ == kPackedAvail)) event_idx -= size();
    const uint16_t new_idx = next_avail_;
    return need_event(event_idx, new_idx, static_cast<uint16_t>(new_idx - added));
  }
  // add_all(), fill(), take_used() and next_used(): QueueBase.
  size_t free_used();
  void disable_interrupts();
  uint64_t bad_completions() const { return bad_completions_; }
  void release_packets() { buffers_->release_packets(); }

 private:
  static constexpr uint16_t kAvailUsed = kPackedAvail | kPackedUsed;
  PackedQueue(DescriptorRing ring, bool event_idx, bool in_order);
  // The avail side in locals while a fast path adds one-descriptor buffers
  // (see the top of this file); finish() writes it back.
  class Adder {
   public:
    explicit Adder(PackedQueue& q)
        : q_(q),
          table_(q.ring_.descriptors()),
          size_(q.size()),
          pos_(q.next_avail_),
          at_(table_[pos_]),
          wrap_flags_(q.avail_flags_) {}
    uint16_t pos() const { return pos_; }
    // Buffer `id` at the next position, available to the device at once: its
    // flags after the rest, behind a write barrier (§2.8.21.1).
    void put(uint16_t id, const Segment& s) {
      const uint16_t flags = (s.device_writes ? kDescWrite : 0) | wrap_flags_;
      at_.set<PackedDesc::ADDR>(s.iova).set<PackedDesc::LEN>(s.len).set<PackedDesc::ID>(id);
      dma_write_barrier();
      at_.set<PackedDesc::FLAGS>(flags);
      if (++pos_ == size_) {
        pos_ = 0, at_ = table_[0], wrap_flags_ ^= kAvailUsed;
      } else {
        at_ = at_.next();
      }
    }
    // Writes the state back; how many buffers were put (at most size_: a
    // whole lap ends where it began, with the wrap counter flipped).
    uint16_t finish() {
      const bool lapped = wrap_flags_ != q_.avail_flags_;
      const uint16_t added = static_cast<uint16_t>(pos_ - q_.next_avail_ + (lapped ? size_ : 0));
      q_.next_avail_ = pos_, q_.avail_flags_ = wrap_flags_;
      q_.pending_ = static_cast<uint16_t>(q_.pending_ + added);
      q_.room_ = static_cast<uint16_t>(q_.room_ - added);
      return added;
    }

   private:
    PackedQueue& q_;
    const LayoutArray<PackedDesc> table_;
    const uint16_t size_;
    uint16_t pos_;
    LayoutRef<PackedDesc> at_;  // table_[pos_], stepped along with it
    uint16_t wrap_flags_;
  };
  friend class QueueBase<PackedQueue>;
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
  template <Mode mode>
  size_t free_used_in_order();
  // §2.8.14: the driver's event suppression structure, then the device's.
  LayoutRef<PackedEvent> driver_event() const { return LayoutArray<PackedEvent>(ring_.extra())[0]; }
  LayoutRef<PackedEvent> device_event() const { return LayoutArray<PackedEvent>(ring_.extra())[1]; }
  // §2.8.1: the flags a descriptor made available in this pass carries.
  uint16_t avail_flags() const { return avail_flags_; }
  // §2.8.1: the AVAIL and USED bits of a descriptor the device has used in
  // this pass: both equal to the used wrap counter.
  uint16_t used_flags() const { return used_flags_; }

  DescriptorRing ring_;
  std::unique_ptr<BufferTable> buffers_;
  bool event_idx_ = false;
  Mode mode_ = Mode::kAnyOrder;
  bool lost_batch_end_ = false;  // IN_ORDER: a bad used id hid where its batch ended
  // IN_ORDER receive (§2.8.8): one used descriptor may stand for a batch,
  // naming its last buffer; the buffers from next_used_ still to take back
  // under it, and the length written into that last one.
  uint16_t batch_rest_ = 0;
  uint32_t batch_last_written_ = 0;
  uint16_t next_avail_ = 0;
  // §2.8.1: both wrap counters start at 1; kept as the flags they imply.
  uint16_t avail_flags_ = kPackedAvail;  // avail wrap counter 1: AVAIL set, USED clear
  uint16_t next_used_ = 0;
  uint16_t used_flags_ = kAvailUsed;  // used wrap counter 1: both set
  uint16_t pending_ = 0;              // descriptors added since publish()
  uint16_t room_ = 0;
  uint64_t bad_completions_ = 0;
};

// ---- fast paths (inline) ---------------------------------------------------

template <Mode mode, typename Prepare>
size_t PackedQueue::add(Packet* packets, size_t n, Prepare prepare) {
  Adder adder(*this);
  uint16_t* const free_ids = buffers_->free_ids();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t free_count = buffers_->free_count();
  // A buffer takes one descriptor and one id, and there are at least as many
  // free ids as free descriptors: room alone bounds the loop.
  n = std::min<size_t>(n, room_);
  for (size_t k = 0; k < n; ++k) {
    Packet& p = packets[k];
    Segment s;
    if (!prepare(p, s)) continue;
    // IN_ORDER: the id is the position (§2.8.8), and only free ids' count is kept.
    const uint16_t id = mode != Mode::kAnyOrder ? adder.pos() : free_ids[--free_count];
    adder.put(id, s);
    if constexpr (mode != Mode::kInOrderOne) chains[id] = 1;
    owned[id].swap(p);
  }
  const uint16_t added = adder.finish();
  buffers_->took<mode>(free_count, added);
  return n;
}

template <Mode mode, typename SegmentOf>
size_t PackedQueue::fill_in(Mempool& pool, SegmentOf segment_of) {
  Adder adder(*this);
  uint16_t* const free_ids = buffers_->free_ids();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  const uint16_t free_count = buffers_->free_count();
  // The ids the next buffers take: IN_ORDER the positions from the next on
  // (id = position), else the free ids from the last one back.
  auto id_of = [&](size_t k) -> uint16_t {
    if constexpr (mode == Mode::kAnyOrder) return free_ids[free_count - 1 - k];
    return adder.pos();
  };
  // Each fresh packet straight into its id's slot, then its descriptor.
  pool.alloc_each(
      room_, [&](size_t k) -> Packet& { return owned[id_of(k)]; },
      [&](size_t k, const Packet& p) {
        const uint16_t id = id_of(k);
        adder.put(id, segment_of(p));
        if constexpr (mode != Mode::kInOrderOne) chains[id] = 1;
      });
  const uint16_t added = adder.finish();
  buffers_->took<mode>(static_cast<uint16_t>(free_count - added), added);
  return added;
}

template <bool in_order, typename OnUsed>
size_t PackedQueue::take(Packet* out, size_t max, OnUsed on_used) {
  const LayoutArray<PackedDesc> table(ring_.descriptors());
  const uint16_t size = this->size();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t* const free_ids = buffers_->free_ids();
  uint16_t free_count = buffers_->free_count();
  uint16_t pos = next_used_, flags = used_flags(), room = room_;
  uint16_t batch_rest = batch_rest_;
  uint64_t bad = 0;
  size_t k = 0;
  while (k < max && room != size) {
    uint16_t head;
    uint32_t written;
    bool named = true;  // the descriptor names the buffer it takes back
    if (in_order && ABSL_PREDICT_FALSE(batch_rest != 0)) {
      // A buffer a batch's descriptor stands for (§2.8.8): its own slot was
      // skipped; used completely unless it is the batch's last.
      head = pos;
      written = --batch_rest == 0 ? batch_last_written_ : kUsedCompletely;
    } else {
      const LayoutView<PackedDesc> d = table[pos];
      if ((d.get<PackedDesc::FLAGS>() & kAvailUsed) != flags) break;
      dma_read_barrier();  // the id and length after the flags
      const uint16_t id = d.get<PackedDesc::ID>();
      written = d.get<PackedDesc::LEN>();
      if constexpr (in_order) {
        // For the buffer whose slot it took (§2.8.8); naming a later
        // outstanding one-descriptor buffer, it stands for every buffer from
        // its slot through that one, all but the last used completely.
        // Naming anything else, it is a bad completion: the buffer in its
        // slot is taken back, the frame dropped.
        head = pos;
        if (ABSL_PREDICT_FALSE(id != pos)) {
          const uint32_t ahead = id > pos ? id - pos : id + size - pos;
          if (id < size && chains[id] == 1 && chains[pos] == 1 && ahead < uint32_t{size} - room) {
            batch_rest = static_cast<uint16_t>(ahead);
            batch_last_written_ = written;
            written = kUsedCompletely;
          } else {
            named = false;
          }
        }
      } else {
        if (ABSL_PREDICT_FALSE(id >= size || chains[id] == 0)) {
          ++bad;  // not a buffer we made available: ignore it
          if (++pos == size) pos = 0, flags ^= kAvailUsed;
          continue;
        }
        head = id;
      }
    }
    // §2.8.6: the next used descriptor is where this buffer's chain ends.
    const uint8_t chain = chains[head];
    pos = static_cast<uint16_t>(pos + chain);
    if (pos >= size) pos = static_cast<uint16_t>(pos - size), flags ^= kAvailUsed;
    room = static_cast<uint16_t>(room + chain);
    chains[head] = 0;
    if constexpr (in_order) {
      ++free_count;  // ids follow positions: only their count is kept
    } else {
      free_ids[free_count++] = head;
    }
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
  batch_rest_ = batch_rest;
  buffers_->set_free_count(free_count);
  next_used_ = pos, used_flags_ = flags, room_ = room;
  return k;
}

// §2.8.8 with every buffer one descriptor: the outstanding buffers are the
// slots from next_used_ on, so a used descriptor at `pos` is for the buffer in
// that slot, or, naming a later outstanding one, for every buffer through it.
template <typename OnUsed>
size_t PackedQueue::take_in_order(Packet* out, size_t max, OnUsed on_used) {
  const LayoutArray<PackedDesc> table(ring_.descriptors());
  const uint16_t size = this->size();
  Packet* const owned = buffers_->packets();
  uint16_t pos = next_used_, flags = used_flags();
  // table[pos] and owned[pos], stepped along with pos.
  LayoutRef<PackedDesc> at = table[pos];
  Packet* slot = owned + pos;
  uint16_t batch_rest = batch_rest_;
  // Buffers taken back may be dropped, so fewer than `max` may be kept.
  const size_t outstanding = size - room_, limit = std::min<size_t>(max, outstanding);
  size_t left = limit;  // counted down: fewer values live in the loop
  Packet* kept = out;   // the next kept packet's place
  uint64_t bad = 0;
  auto take_at_pos = [&](uint32_t written, bool named) {
    kept->swap(*slot);
    if (++pos == size) {
      pos = 0, flags ^= kAvailUsed;
      at = table[0], slot = owned;
    } else {
      at = at.next(), ++slot;
    }
    --left;
    if (ABSL_PREDICT_TRUE(named) && on_used(*kept, written)) {
      ++kept;
    } else {
      bad += !named;
      kept->reset();
    }
  };
  // The rest of a batch: used completely but the last.
  auto take_batch_rest = [&] {
    while (batch_rest != 0 && left != 0) {
      --batch_rest;
      take_at_pos(batch_rest == 0 ? batch_last_written_ : kUsedCompletely, true);
    }
  };
  take_batch_rest();
  while (left != 0) {
    const LayoutView<PackedDesc> d = at;
    if ((d.get<PackedDesc::FLAGS>() & kAvailUsed) != flags) break;
    dma_read_barrier();  // the id and length after the flags
    const uint16_t id = d.get<PackedDesc::ID>();
    const uint32_t written = d.get<PackedDesc::LEN>();
    if (ABSL_PREDICT_TRUE(id == pos)) {
      take_at_pos(written, true);
      continue;
    }
    // Naming a later outstanding buffer, it stands for a batch; naming
    // anything else, it is a bad completion: the buffer in its slot is taken
    // back (the device wrote over its descriptor), the frame dropped.
    const uint32_t ahead = id > pos ? id - pos : id + size - pos;
    if (id < size && ahead < outstanding - (limit - left)) {
      batch_rest = static_cast<uint16_t>(ahead);
      batch_last_written_ = written;
      take_at_pos(kUsedCompletely, true);
      take_batch_rest();
    } else {
      take_at_pos(written, false);
    }
  }
  const uint16_t taken = static_cast<uint16_t>(limit - left);
  bad_completions_ += bad;
  batch_rest_ = batch_rest;
  buffers_->give_count(taken);
  room_ = static_cast<uint16_t>(room_ + taken);
  next_used_ = pos, used_flags_ = flags;
  return static_cast<size_t>(kept - out);
}

}  // namespace safenic::virtio
