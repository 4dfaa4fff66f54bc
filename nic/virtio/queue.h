// Virtqueues, driver side: split (§2.7) and packed (§2.8) with one interface,
// so the net driver is written once as a template over the queue type.
//
//   q.add(packet, {{iova, len, device_writes}, ...});  // any buffer
//   q.add_all(packets, n, prepare);                     // fast path: one segment each
//   if (q.publish()) transport.notify(index);           // once per batch; rarely notifies
//   q.free_used();                                      // TX: sent buffers home, in bulk
//   q.exchange_used(fresh, n, segment_of, on_used);     // RX: frames out, fresh buffers in
//   while (q.next_used(packet, &len)) ...               // any completion, one at a time
//
// A buffer is a chain of up to kMaxSegments descriptors owned by one Packet.
// Completions are checked: an id the driver never made available is counted
// in bad_completions() and ignored, never dereferenced.
//
// VIRTIO_F_IN_ORDER (§2.7.9 split, §2.8.21 packed): the device uses buffers in
// the order they were made available, so a buffer's id is its first
// descriptor's position (split: the driver must use descriptors in ring
// order, chained x -> x+1), and one used element naming buffer N tells that
// every earlier buffer is used too: TX reclaim reads one element per batch.
// A used id that is not the buffer due there is counted bad; that buffer is
// still taken back (the device wrote over its slot), so the order holds.
//
// The fast paths (add_all, free_used, exchange_used) loop over many buffers
// with the queue's state in locals: descriptor stores go through byte pointers,
// which may alias anything, so state kept in members would be reloaded after
// every store.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>

#include "absl/status/statusor.h"
#include "mem/packet.h"
#include "nic/ring.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/transport.h"

namespace safenic::virtio {

struct Segment {
  uint64_t iova;
  uint32_t len;
  bool device_writes;
};
inline constexpr uint32_t kMaxSegments = 2;

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

  // Raw views for the fast paths; `free_count` is written back by the caller.
  uint16_t* free_ids() const { return free_.get(); }
  Packet* packets() const { return packets_.get(); }
  uint8_t* chains() const { return chain_.get(); }
  void set_free_count(uint16_t n) { free_count_ = n; }

 private:
  std::unique_ptr<uint16_t[]> free_;
  std::unique_ptr<Packet[]> packets_;
  std::unique_ptr<uint8_t[]> chain_;
  std::unique_ptr<uint16_t[]> link_;
  uint16_t free_count_ = 0;
  uint16_t size_ = 0;
};

class SplitQueue {
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
  // Adds packets[0..n) as one-segment buffers while there is room.
  // `prepare(Packet&, Segment&)` fills in the segment, or returns false to
  // skip the packet (it deals with it). Returns how many it looked at.
  template <typename Prepare>
  size_t add_all(Packet* packets, size_t n, Prepare prepare) {
    return in_order_ ? add<true>(packets, n, prepare) : add<false>(packets, n, prepare);
  }
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
  // The next used buffer: swaps its packet into `out` (empty) and gives the
  // length the device wrote. False when there is none.
  bool next_used(Packet& out, uint32_t* written);
  // Frees the packets of all used buffers (TX); returns how many.
  size_t free_used();
  // Used buffers ready now, at most `max` (one-descriptor buffers).
  size_t used_ready(size_t max) const {
    const uint16_t ready =
        static_cast<uint16_t>(used().header().get<UsedHeader::IDX>() - last_used_);
    return std::min<size_t>(ready, max);
  }
  // Takes n <= used_ready() used one-descriptor buffers (RX): the k-th one's
  // packet swaps places with fresh[k], which goes to the device under the same
  // id as segment_of(it); then on_used(fresh[k], written). For an element
  // with a bad id, fresh[k] is freed and on_used gets it empty.
  template <typename SegmentOf, typename OnUsed>
  void exchange_used(Packet* fresh, size_t n, SegmentOf segment_of, OnUsed on_used) {
    if (in_order_) return exchange<true>(fresh, n, segment_of, on_used);
    exchange<false>(fresh, n, segment_of, on_used);
  }
  // Asks the device for no interrupts (safenic polls).
  void disable_interrupts();
  uint64_t bad_completions() const { return bad_completions_; }
  void release_packets() { buffers_->release_packets(); }

 private:
  SplitQueue(DescriptorRing ring, uint32_t avail_off, uint32_t used_off, bool event_idx,
             bool in_order);
  // add_all() and exchange_used(), one loop for each mode.
  template <bool in_order, typename Prepare>
  size_t add(Packet* packets, size_t n, Prepare prepare);
  template <bool in_order, typename SegmentOf, typename OnUsed>
  void exchange(Packet* fresh, size_t n, SegmentOf segment_of, OnUsed on_used);
  // IN_ORDER: takes back the oldest buffer (its packet into `out`); its head.
  uint16_t complete_oldest(Packet& out) {
    BufferTable& b = *buffers_;
    const uint16_t head = oldest_desc_;
    const uint8_t chain = b.chain(head);
    out.swap(b.packet(head));
    b.chain(head) = 0;
    b.give_count(chain);
    room_ += chain;
    oldest_desc_ = static_cast<uint16_t>((head + chain) & ring_.mask());
    ++completed_;
    return head;
  }
  void complete(uint16_t head, Packet& out) {
    BufferTable& b = *buffers_;
    const uint8_t chain = b.chain(head);
    out.swap(b.packet(head));
    if (chain > 1) b.give(b.link(head));
    b.give(head);
    b.chain(head) = 0;
    room_ += chain;
  }
  RingRef<AvailRing> avail() const { return {ring_.descriptors() + avail_off_, ring_.size()}; }
  RingRef<UsedRing> used() const { return {ring_.descriptors() + used_off_, ring_.size()}; }

  DescriptorRing ring_;
  std::unique_ptr<BufferTable> buffers_;
  uint32_t avail_off_ = 0, used_off_ = 0;
  bool event_idx_ = false;
  bool in_order_ = false;
  uint16_t next_desc_ = 0;      // IN_ORDER: the next buffer's first descriptor
  uint16_t oldest_desc_ = 0;    // IN_ORDER: the oldest outstanding buffer's
  uint16_t completed_ = 0;      // IN_ORDER: buffers taken back (an avail index)
  uint16_t avail_idx_ = 0;      // next avail ring slot
  uint16_t published_idx_ = 0;  // avail idx the device has seen
  uint16_t last_used_ = 0;
  uint16_t room_ = 0;
  uint64_t bad_completions_ = 0;
};

class PackedQueue {
 public:
  static absl::StatusOr<PackedQueue> create(const DmaAllocator& dma, uint16_t size, bool event_idx,
                                            bool in_order, absl::string_view tag);
  QueueAddresses addresses() const;
  uint16_t size() const { return static_cast<uint16_t>(ring_.size()); }
  uint16_t room() const { return room_; }
  void add(Packet& p, std::initializer_list<Segment> segments);
  template <typename Prepare>
  size_t add_all(Packet* packets, size_t n, Prepare prepare) {
    return in_order_ ? add<true>(packets, n, prepare) : add<false>(packets, n, prepare);
  }
  // Makes the descriptors added since the last call visible to the device
  // (§2.8.6: the first one's flags last, so it sees the batch at once); true
  // when its event suppression structure asks for a notification (§2.8.10).
  bool publish() {
    const uint16_t added = pending_;
    if (added == 0) return false;
    dma_write_barrier();
    LayoutRef<PackedDesc>(ring_.descriptor(first_pending_)).set<PackedDesc::FLAGS>(pending_flags_);
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
  // The next used buffer and the bytes the device wrote into it, or
  // kUsedCompletely: IN_ORDER, a buffer the device reported with a later one
  // (§2.8.21), whose device-writable bytes it all used.
  bool next_used(Packet& out, uint32_t* written);
  static constexpr uint32_t kUsedCompletely = 0xFFFFFFFF;
  size_t free_used();
  size_t used_ready(size_t max) const {
    // IN_ORDER (§2.8.21): a used descriptor may stand for a batch of
    // buffers. Counted as one here (so at least as many buffers are used as
    // this says), the rest of its batch is taken back by the next calls.
    if (ABSL_PREDICT_FALSE(batch_rest_ != 0)) return used_ready_batched(max);
    const LayoutArray<PackedDesc> table(ring_.descriptors());
    const uint16_t size = this->size();
    uint16_t pos = next_used_, flags = used_flags();
    size_t n = 0;
    while (n < max && (table[pos].get<PackedDesc::FLAGS>() & kAvailUsed) == flags) {
      ++n;
      if (++pos == size) pos = 0, flags ^= kAvailUsed;
    }
    return n;
  }
  template <typename SegmentOf, typename OnUsed>
  void exchange_used(Packet* fresh, size_t n, SegmentOf segment_of, OnUsed on_used) {
    if (in_order_) return exchange<true>(fresh, n, segment_of, on_used);
    exchange<false>(fresh, n, segment_of, on_used);
  }
  void disable_interrupts();
  uint64_t bad_completions() const { return bad_completions_; }
  void release_packets() { buffers_->release_packets(); }

 private:
  static constexpr uint16_t kAvailUsed = kPackedAvail | kPackedUsed;
  PackedQueue(DescriptorRing ring, bool event_idx, bool in_order);
  // add_all() and exchange_used(), one loop for each mode.
  template <bool in_order, typename Prepare>
  size_t add(Packet* packets, size_t n, Prepare prepare);
  template <bool in_order, typename SegmentOf, typename OnUsed>
  void exchange(Packet* fresh, size_t n, SegmentOf segment_of, OnUsed on_used);
  size_t free_used_in_order();
  size_t used_ready_batched(size_t max) const;
  // IN_ORDER: takes back the buffer at next_used_ (its packet into `out`).
  uint16_t complete_oldest(Packet& out) {
    BufferTable& b = *buffers_;
    const uint16_t head = next_used_;
    const uint8_t chain = b.chain(head);
    out.swap(b.packet(head));
    b.chain(head) = 0;
    b.give_count(1);
    room_ += chain;
    next_used_ = static_cast<uint16_t>(head + chain);
    if (next_used_ >= size()) next_used_ -= size(), used_flags_ ^= kAvailUsed;
    return head;
  }
  // §2.8.14: the driver's event suppression structure, then the device's.
  LayoutRef<PackedEvent> driver_event() const { return LayoutArray<PackedEvent>(ring_.extra())[0]; }
  LayoutRef<PackedEvent> device_event() const { return LayoutArray<PackedEvent>(ring_.extra())[1]; }
  // §2.8.6: the flags a descriptor made available in this pass carries.
  uint16_t avail_flags() const { return avail_flags_; }
  // §2.8.7: the AVAIL and USED bits of a descriptor the device has used in
  // this pass: both equal to the used wrap counter.
  uint16_t used_flags() const { return used_flags_; }

  DescriptorRing ring_;
  std::unique_ptr<BufferTable> buffers_;
  bool event_idx_ = false;
  bool in_order_ = false;
  bool lost_batch_end_ = false;  // IN_ORDER: a bad used id hid where its batch ended
  // IN_ORDER receive (§2.8.21): one used descriptor may stand for a batch,
  // naming its last buffer; the buffers from next_used_ still to take back
  // under it, and the length written into that last one.
  uint16_t batch_rest_ = 0;
  uint32_t batch_last_written_ = 0;
  uint16_t next_avail_ = 0;
  // §2.8.1: both wrap counters start at 1; kept as the flags they imply.
  uint16_t avail_flags_ = kPackedAvail;  // avail wrap counter 1: AVAIL set, USED clear
  uint16_t next_used_ = 0;
  uint16_t used_flags_ = kAvailUsed;  // used wrap counter 1: both set
  uint16_t first_pending_ = 0;        // first descriptor added since publish()
  uint16_t pending_flags_ = 0;        // its flags, written last to publish the batch
  uint16_t pending_ = 0;              // descriptors added since publish()
  uint16_t room_ = 0;
  uint64_t bad_completions_ = 0;
};

// ---- fast paths (inline) ---------------------------------------------------

template <bool in_order, typename Prepare>
size_t SplitQueue::add(Packet* packets, size_t n, Prepare prepare) {
  const LayoutArray<SplitDesc> table(ring_.descriptors());
  const RingRef<AvailRing> avail = this->avail();
  const uint16_t mask = static_cast<uint16_t>(ring_.mask());
  uint16_t* const free_ids = buffers_->free_ids();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t free_count = buffers_->free_count();
  uint16_t idx = avail_idx_, next_desc = next_desc_;
  // A buffer takes one descriptor and one id, and there are at least as many
  // free ids as free descriptors: room alone bounds the loop.
  n = std::min<size_t>(n, room_);
  size_t k = 0;
  for (; k < n; ++k) {
    Segment s;
    if (!prepare(packets[k], s)) continue;
    const uint16_t id = in_order ? next_desc : free_ids[free_count - 1];
    --free_count;
    if constexpr (in_order) next_desc = (next_desc + 1) & mask;
    table[id].set<SplitDesc::ADDR>(s.iova).set<SplitDesc::LEN>(s.len).set<SplitDesc::FLAGS>(
        s.device_writes ? kDescWrite : 0);
    chains[id] = 1;
    owned[id].swap(packets[k]);
    avail.entry(idx++ & mask).set<AvailEntry::ID>(id);
  }
  room_ -= static_cast<uint16_t>(buffers_->free_count() - free_count);
  buffers_->set_free_count(free_count);
  avail_idx_ = idx;
  if constexpr (in_order) next_desc_ = next_desc;
  return k;
}

template <bool in_order, typename SegmentOf, typename OnUsed>
void SplitQueue::exchange(Packet* fresh, size_t n, SegmentOf segment_of, OnUsed on_used) {
  dma_read_barrier();  // the elements after the index (read by used_ready)
  const LayoutArray<SplitDesc> table(ring_.descriptors());
  const RingRef<AvailRing> avail = this->avail();
  const RingRef<UsedRing> used = this->used();
  const uint16_t mask = static_cast<uint16_t>(ring_.mask());
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t idx = avail_idx_, last = last_used_;
  uint16_t oldest = oldest_desc_, next_desc = next_desc_, completed = completed_;
  uint64_t bad = 0;
  for (size_t k = 0; k < n; ++k) {
    const LayoutView<UsedElem> elem = used.entry(last++ & mask);
    const uint32_t used_id = elem.get<UsedElem::ID>();
    uint32_t written = elem.get<UsedElem::LEN>();
    Packet& p = fresh[k];
    // IN_ORDER: the element is for the oldest buffer; its id must say so.
    const uint32_t head = in_order ? oldest : used_id;
    if (ABSL_PREDICT_FALSE(head > mask || chains[head] != 1)) {
      ++bad;  // not a one-descriptor buffer we made available: ignore it
      p.reset();
      on_used(p, 0);
      continue;
    }
    uint16_t id = static_cast<uint16_t>(head);
    owned[id].swap(p);         // the frame comes out, the fresh buffer takes its place
    if constexpr (in_order) {  // the fresh buffer goes to the next descriptor in ring order
      oldest = (oldest + 1) & mask;
      ++completed;
      if (ABSL_PREDICT_FALSE(next_desc != head)) {  // with a full ring, the same
        owned[next_desc].swap(owned[head]);
        chains[head] = 0, chains[next_desc] = 1, id = next_desc;
      }
      next_desc = (next_desc + 1) & mask;
      if (ABSL_PREDICT_FALSE(used_id != head)) ++bad, p.reset();  // dropped, counted here
    }
    const Segment s = segment_of(owned[id]);
    table[id].set<SplitDesc::ADDR>(s.iova).set<SplitDesc::LEN>(s.len).set<SplitDesc::FLAGS>(
        s.device_writes ? kDescWrite : 0);
    avail.entry(idx++ & mask).set<AvailEntry::ID>(id);
    on_used(p, written);
  }
  bad_completions_ += bad;  // each frees nothing: the queue goes on one buffer short
  avail_idx_ = idx;
  last_used_ = last;
  if constexpr (in_order) oldest_desc_ = oldest, next_desc_ = next_desc, completed_ = completed;
}

template <bool in_order, typename Prepare>
size_t PackedQueue::add(Packet* packets, size_t n, Prepare prepare) {
  const LayoutArray<PackedDesc> table(ring_.descriptors());
  const uint16_t size = this->size();
  uint16_t* const free_ids = buffers_->free_ids();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t free_count = buffers_->free_count();
  uint16_t pos = next_avail_, pending = pending_, first = first_pending_,
           first_flags = pending_flags_, wrap_flags = avail_flags();
  // A buffer takes one descriptor and one id, and there are at least as many
  // free ids as free descriptors: room alone bounds the loop.
  n = std::min<size_t>(n, room_);
  size_t k = 0;
  for (; k < n; ++k) {
    Segment s;
    if (!prepare(packets[k], s)) continue;
    const uint16_t id = in_order ? pos : free_ids[free_count - 1];  // IN_ORDER: id = position
    --free_count;
    const uint16_t flags = (s.device_writes ? kDescWrite : 0) | wrap_flags;
    LayoutRef<PackedDesc> d = table[pos];
    d.set<PackedDesc::ADDR>(s.iova).set<PackedDesc::LEN>(s.len).set<PackedDesc::ID>(id);
    if (pending++ == 0) {
      first = pos, first_flags = flags;  // written last, by publish()
    } else {
      d.set<PackedDesc::FLAGS>(flags);
    }
    if (++pos == size) pos = 0, wrap_flags ^= kAvailUsed;
    chains[id] = 1;
    owned[id].swap(packets[k]);
  }
  room_ -= static_cast<uint16_t>(buffers_->free_count() - free_count);
  buffers_->set_free_count(free_count);
  next_avail_ = pos, avail_flags_ = wrap_flags;
  pending_ = pending, first_pending_ = first, pending_flags_ = first_flags;
  return k;
}

template <bool in_order, typename SegmentOf, typename OnUsed>
void PackedQueue::exchange(Packet* fresh, size_t n, SegmentOf segment_of, OnUsed on_used) {
  dma_read_barrier();  // ids and lengths after the flags (read by used_ready)
  const LayoutArray<PackedDesc> table(ring_.descriptors());
  const uint16_t size = this->size();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t used_pos = next_used_, used_flags = this->used_flags();
  uint16_t pos = next_avail_, pending = pending_, first = first_pending_,
           first_flags = pending_flags_, wrap_flags = avail_flags();
  uint64_t bad = 0;
  uint16_t batch_rest = batch_rest_;
  for (size_t k = 0; k < n; ++k) {
    uint16_t used_id;
    uint32_t written;
    if (in_order && ABSL_PREDICT_FALSE(batch_rest != 0)) {
      // A buffer a batch's descriptor stands for (§2.8.21): its own slot was
      // skipped; used completely unless it is the batch's last.
      used_id = used_pos;
      written = --batch_rest == 0 ? batch_last_written_ : segment_of(owned[used_pos]).len;
    } else {
      const LayoutView<PackedDesc> u = table[used_pos];
      used_id = u.get<PackedDesc::ID>();
      written = u.get<PackedDesc::LEN>();
    }
    // IN_ORDER: the descriptor is for the buffer whose slot it took (§2.8.21).
    const uint16_t head = in_order ? used_pos : used_id;
    if (++used_pos == size) used_pos = 0, used_flags ^= kAvailUsed;
    Packet& p = fresh[k];
    if (ABSL_PREDICT_FALSE(head >= size || chains[head] != 1)) {
      ++bad;  // not a one-descriptor buffer we made available: ignore it
      p.reset();
      on_used(p, 0);
      continue;
    }
    uint16_t id = head;
    owned[id].swap(p);         // the frame comes out, the fresh buffer takes its place
    if constexpr (in_order) {  // the fresh buffer's id is its new position (with a full ring, the
                               // same)
      if (ABSL_PREDICT_FALSE(pos != head)) {
        owned[pos].swap(owned[head]);
        chains[head] = 0, chains[pos] = 1, id = pos;
      }
      if (ABSL_PREDICT_FALSE(used_id != head)) {
        // §2.8.21: naming a later outstanding buffer, the descriptor stands
        // for every buffer from its slot through that one, all but the last
        // used completely. Naming anything else, it is a bad completion
        // (the buffer in its slot is taken back, the frame dropped).
        const uint32_t ahead = used_id > head ? used_id - head : used_id + size - head;
        const uint32_t outstanding = size - room_;  // constant here: each buffer out is replaced
        if (used_id < size && chains[used_id] == 1 && ahead < outstanding - k) {
          batch_rest = static_cast<uint16_t>(ahead);
          batch_last_written_ = written;
          written = segment_of(p).len;
        } else {
          ++bad, p.reset();
        }
      }
    }
    const Segment s = segment_of(owned[id]);
    const uint16_t flags = (s.device_writes ? kDescWrite : 0) | wrap_flags;
    LayoutRef<PackedDesc> d = table[pos];
    d.set<PackedDesc::ADDR>(s.iova).set<PackedDesc::LEN>(s.len).set<PackedDesc::ID>(id);
    if (pending++ == 0) {
      first = pos, first_flags = flags;
    } else {
      d.set<PackedDesc::FLAGS>(flags);
    }
    if (++pos == size) pos = 0, wrap_flags ^= kAvailUsed;
    on_used(p, written);
  }
  bad_completions_ += bad;
  batch_rest_ = batch_rest;
  next_used_ = used_pos, used_flags_ = used_flags;
  next_avail_ = pos, avail_flags_ = wrap_flags;
  pending_ = pending, first_pending_ = first, pending_flags_ = first_flags;
}

}  // namespace safenic::virtio
