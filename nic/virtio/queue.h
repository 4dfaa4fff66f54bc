// Virtqueues, driver side: split (§2.7) and packed (§2.8) with one interface,
// so the net driver is written once as a template over the queue type.
//
//   q.add(packet, {{iova, len, device_writes}, ...});  // any buffer
//   q.add_all(packets, n, prepare);                     // fast path: one segment each
//   if (q.publish()) transport.notify(index);           // once per batch; rarely notifies
//   q.free_used();                                      // TX: sent buffers home, in bulk
//   q.take_used(out, max, on_used);                     // RX: frames out, in one pass
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
// The fast paths (add_all, free_used, take_used) loop over many buffers
// with the queue's state in locals: descriptor stores go through byte pointers,
// which may alias anything, so state kept in members would be reloaded after
// every store.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <type_traits>

#include "absl/status/statusor.h"
#include "mem/mempool.h"
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
// The length take_used() and next_used() give for a buffer the device used
// completely without writing its length: IN_ORDER on a packed ring, a buffer
// it reported with a later one (§2.8.21).
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
    return by_mode(mode_, [&](auto m) { return add<m.value>(packets, n, prepare); });
  }
  // Fresh one-segment buffers from `pool` into every free slot (RX refill):
  // segment_of(const Packet&) gives each one's segment. Returns how many;
  // fewer when the pool runs dry (the next call goes on).
  template <typename SegmentOf>
  size_t fill(Mempool& pool, SegmentOf segment_of) {
    return by_mode(mode_, [&](auto m) { return fill_in<m.value>(pool, segment_of); });
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
  // Takes used buffers in the order the device used them, until `max` are
  // delivered or none is left: each one's packet moves into the next of
  // out[0..max) and on_used(Packet&, uint32_t written) says whether to keep
  // it (false: the packet is freed and its place taken by the next one). A
  // completion naming no buffer made available is counted in
  // bad_completions() and skipped; IN_ORDER, one that is not for the oldest
  // buffer still takes that buffer back (the device wrote over its slot) but
  // delivers nothing. Returns how many were kept.
  template <typename OnUsed>
  size_t take_used(Packet* out, size_t max, OnUsed on_used) {
    if (mode_ == Mode::kInOrderOne) return take_in_order(out, max, on_used);
    return mode_ == Mode::kInOrder ? take<true>(out, max, on_used) : take<false>(out, max, on_used);
  }
  // The next used buffer: its packet into `out` (empty) and the length the
  // device wrote. False when there is none.
  bool next_used(Packet& out, uint32_t* written) {
    return take_used(&out, 1, [&](Packet&, uint32_t w) {
             *written = w;
             return true;
           }) == 1;
  }
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
    return by_mode(mode_, [&](auto m) { return add<m.value>(packets, n, prepare); });
  }
  // Fresh one-segment buffers from `pool` into every free slot (RX refill):
  // segment_of(const Packet&) gives each one's segment. Returns how many;
  // fewer when the pool runs dry (the next call goes on).
  template <typename SegmentOf>
  size_t fill(Mempool& pool, SegmentOf segment_of) {
    return by_mode(mode_, [&](auto m) { return fill_in<m.value>(pool, segment_of); });
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
  // As SplitQueue::take_used. IN_ORDER (§2.8.21) a used descriptor may
  // stand for a batch of buffers, naming its last: the others are delivered
  // with kUsedCompletely.
  template <typename OnUsed>
  size_t take_used(Packet* out, size_t max, OnUsed on_used) {
    if (mode_ == Mode::kInOrderOne) return take_in_order(out, max, on_used);
    return mode_ == Mode::kInOrder ? take<true>(out, max, on_used) : take<false>(out, max, on_used);
  }
  bool next_used(Packet& out, uint32_t* written) {
    return take_used(&out, 1, [&](Packet&, uint32_t w) {
             *written = w;
             return true;
           }) == 1;
  }
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
          wrap_flags_(q.avail_flags_),
          first_(q.first_pending_),
          first_flags_(q.pending_flags_) {}
    uint16_t pos() const { return pos_; }
    // Whether the next descriptor is the first since publish(), which then
    // writes its flags, last, so the device sees the batch at once (§2.8.6).
    bool first() const { return q_.pending_ == 0; }
    // Buffer `id` at the next position; put<true> for the first (see first()).
    template <bool first>
    void put(uint16_t id, const Segment& s) {
      const uint16_t flags = (s.device_writes ? kDescWrite : 0) | wrap_flags_;
      LayoutRef<PackedDesc> d = table_[pos_];
      d.set<PackedDesc::ADDR>(s.iova).set<PackedDesc::LEN>(s.len).set<PackedDesc::ID>(id);
      if constexpr (first) {
        first_ = pos_, first_flags_ = flags;
      } else {
        d.set<PackedDesc::FLAGS>(flags);
      }
      if (++pos_ == size_) pos_ = 0, wrap_flags_ ^= kAvailUsed;
    }
    // Writes the state back; how many buffers were put (at most size_: a
    // whole lap ends where it began, with the wrap counter flipped).
    uint16_t finish() {
      const bool lapped = wrap_flags_ != q_.avail_flags_;
      const uint16_t added = static_cast<uint16_t>(pos_ - q_.next_avail_ + (lapped ? size_ : 0));
      q_.next_avail_ = pos_, q_.avail_flags_ = wrap_flags_;
      q_.pending_ = static_cast<uint16_t>(q_.pending_ + added);
      q_.first_pending_ = first_, q_.pending_flags_ = first_flags_;
      q_.room_ = static_cast<uint16_t>(q_.room_ - added);
      return added;
    }

   private:
    PackedQueue& q_;
    const LayoutArray<PackedDesc> table_;
    const uint16_t size_;
    uint16_t pos_, wrap_flags_, first_, first_flags_;
  };
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
  // §2.8.6: the flags a descriptor made available in this pass carries.
  uint16_t avail_flags() const { return avail_flags_; }
  // §2.8.7: the AVAIL and USED bits of a descriptor the device has used in
  // this pass: both equal to the used wrap counter.
  uint16_t used_flags() const { return used_flags_; }

  DescriptorRing ring_;
  std::unique_ptr<BufferTable> buffers_;
  bool event_idx_ = false;
  Mode mode_ = Mode::kAnyOrder;
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
  if constexpr (mode == Mode::kAnyOrder) {
    buffers_->set_free_count(free_count);
  } else {
    buffers_->take_count(put);
  }
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
  if constexpr (mode == Mode::kAnyOrder) {
    buffers_->set_free_count(static_cast<uint16_t>(free_count - added));
  } else {
    buffers_->take_count(added);
  }
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

template <Mode mode, typename Prepare>
size_t PackedQueue::add(Packet* packets, size_t n, Prepare prepare) {
  Adder adder(*this);
  uint16_t* const free_ids = buffers_->free_ids();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t free_count = buffers_->free_count();
  // False when prepare() refuses the packet.
  auto add_one = [&](auto first, Packet& p) {
    Segment s;
    if (!prepare(p, s)) return false;
    // IN_ORDER: the id is the position (§2.8.21), and only free ids' count is kept.
    const uint16_t id = mode != Mode::kAnyOrder ? adder.pos() : free_ids[--free_count];
    adder.template put<first()>(id, s);
    if constexpr (mode != Mode::kInOrderOne) chains[id] = 1;
    owned[id].swap(p);
    return true;
  };
  // A buffer takes one descriptor and one id, and there are at least as many
  // free ids as free descriptors: room alone bounds the loop.
  n = std::min<size_t>(n, room_);
  size_t k = 0;
  if (adder.first()) {
    while (k < n && !add_one(std::true_type{}, packets[k])) ++k;
    k += k < n;
  }
  for (; k < n; ++k) add_one(std::false_type{}, packets[k]);
  const uint16_t added = adder.finish();
  if constexpr (mode == Mode::kAnyOrder) {
    buffers_->set_free_count(free_count);
  } else {
    buffers_->take_count(added);
  }
  return k;
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
  // Each fresh packet straight into its id's slot, then its descriptor; the
  // first since publish() alone, its flags left for publish() to write.
  auto fill = [&](auto first, size_t n, size_t done) {
    return pool.alloc_each(
        n, [&](size_t k) -> Packet& { return owned[id_of(done + k)]; },
        [&](size_t k, const Packet& p) {
          const uint16_t id = id_of(done + k);
          adder.template put<first()>(id, segment_of(p));
          if constexpr (mode != Mode::kInOrderOne) chains[id] = 1;
        });
  };
  const bool first = adder.first();
  size_t done = 0;
  if (first && room_ != 0) done = fill(std::true_type{}, 1, 0);
  if (!first || done == 1) fill(std::false_type{}, room_ - done, done);
  const uint16_t added = adder.finish();
  if constexpr (mode == Mode::kAnyOrder) {
    buffers_->set_free_count(static_cast<uint16_t>(free_count - added));
  } else {
    buffers_->take_count(added);
  }
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
      // A buffer a batch's descriptor stands for (§2.8.21): its own slot was
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
        // For the buffer whose slot it took (§2.8.21); naming a later
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
    // §2.8.7: the next used descriptor is where this buffer's chain ends.
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

// §2.8.21 with every buffer one descriptor: the outstanding buffers are the
// slots from next_used_ on, so a used descriptor at `pos` is for the buffer in
// that slot, or, naming a later outstanding one, for every buffer through it.
template <typename OnUsed>
size_t PackedQueue::take_in_order(Packet* out, size_t max, OnUsed on_used) {
  const LayoutArray<PackedDesc> table(ring_.descriptors());
  const uint16_t size = this->size();
  Packet* const owned = buffers_->packets();
  uint16_t pos = next_used_, flags = used_flags();
  uint16_t batch_rest = batch_rest_;
  // Buffers taken back may be dropped, so fewer than `max` may be kept.
  const size_t outstanding = size - room_, limit = std::min<size_t>(max, outstanding);
  size_t left = limit;  // counted down: fewer values live in the loop
  Packet* kept = out;   // the next kept packet's place
  uint64_t bad = 0;
  auto take_at_pos = [&](uint32_t written, bool named) {
    kept->swap(owned[pos]);
    if (++pos == size) pos = 0, flags ^= kAvailUsed;
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
    const LayoutView<PackedDesc> d = table[pos];
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
