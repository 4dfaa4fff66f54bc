#include "nic/virtio/queue.h"

#include <algorithm>
#include <atomic>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic::virtio {

BufferTable::BufferTable(uint16_t size)
    : free_(std::make_unique<uint16_t[]>(size)),
      packets_(std::make_unique<Packet[]>(size)),
      chain_(std::make_unique<uint8_t[]>(size)),
      link_(std::make_unique<uint16_t[]>(size)),
      size_(size) {
  for (uint16_t id = size; id-- > 0;) give(id);
}

void BufferTable::release_packets() {
  for (uint16_t id = 0; id < size_; ++id) packets_[id].reset();
}

void BufferTable::start_chains(uint16_t first, uint16_t count) {
  std::fill_n(chain_.get(), size_, 0);
  for (uint16_t k = 0; k < count; ++k) chain_[(first + k) % size_] = 1;
}

// ---- split ---------------------------------------------------------------

absl::StatusOr<SplitQueue> SplitQueue::create(const DmaAllocator& dma, uint16_t size,
                                              bool legacy_layout, bool event_idx, bool in_order,
                                              absl::string_view tag) {
  // §2.7: descriptor table, avail ring, then the used ring (4-byte aligned;
  // legacy: on the next 4096-byte boundary).
  const uint32_t avail_off = static_cast<uint32_t>(split_desc_bytes(size));
  const uint32_t align = legacy_layout ? kLegacyQueueAlign : 4;
  const uint32_t used_off =
      static_cast<uint32_t>((avail_off + split_avail_bytes(size) + align - 1) / align * align);
  SAFENIC_ASSIGN_OR_RETURN(
      auto ring,
      DescriptorRing::create(dma, size, 16, tag, used_off - avail_off + split_used_bytes(size)));
  return SplitQueue(std::move(ring), avail_off, used_off, event_idx, in_order);
}

SplitQueue::SplitQueue(DescriptorRing ring, uint32_t avail_off, uint32_t used_off, bool event_idx,
                       bool in_order)
    : ring_(std::move(ring)),
      buffers_(std::make_unique<BufferTable>(ring_.size())),
      avail_off_(avail_off),
      used_off_(used_off),
      event_idx_(event_idx),
      mode_(in_order ? Mode::kInOrderOne : Mode::kAnyOrder),
      room_(static_cast<uint16_t>(ring_.size())) {
  // Mode::kInOrderOne: each buffer takes the next descriptor and the next
  // avail entry, so entry i always names descriptor i: written once here,
  // not again for every buffer (the device reads only entries below the
  // avail index, §2.7.6).
  if (mode_ == Mode::kInOrderOne) {
    for (uint16_t i = 0; i < size(); ++i) avail().entry(i).set<AvailEntry::ID>(i);
  }
}

QueueAddresses SplitQueue::addresses() const {
  return {ring_.iova(), ring_.iova() + avail_off_, ring_.iova() + used_off_};
}

// §2.7.9: with IN_ORDER the chain takes the next descriptors in ring order,
// each NEXT x + 1 (0 after the table's last).
void SplitQueue::add(Packet& p, std::initializer_list<Segment> segments) {
  BufferTable& b = *buffers_;
  if (mode_ == Mode::kInOrderOne && segments.size() > 1) {
    b.start_chains(oldest_desc_, static_cast<uint16_t>(size() - room_));
    mode_ = Mode::kInOrder;
  }
  const uint16_t mask = static_cast<uint16_t>(ring_.mask());
  auto take = [&] {
    if (mode_ == Mode::kAnyOrder) return b.take();
    b.take_count(1);
    const uint16_t id = next_desc_;
    next_desc_ = (next_desc_ + 1) & mask;
    return id;
  };
  const uint16_t head = take();
  uint16_t id = head;
  size_t k = 0;
  for (const Segment& s : segments) {
    const bool last = ++k == segments.size();
    const uint16_t next = last ? 0 : take();
    LayoutRef<SplitDesc>(ring_.descriptor(id))
        .set<SplitDesc::ADDR>(s.iova)
        .set<SplitDesc::LEN>(s.len)
        .set<SplitDesc::FLAGS>((s.device_writes ? kDescWrite : 0) | (last ? 0 : kDescNext))
        .set<SplitDesc::NEXT>(next);
    if (!last) b.link(head) = next;
    id = next;
  }
  b.chain(head) = static_cast<uint8_t>(segments.size());
  b.packet(head).swap(p);
  avail().entry(avail_idx_ & ring_.mask()).set<AvailEntry::ID>(head);
  ++avail_idx_;
  room_ -= static_cast<uint16_t>(segments.size());
}

size_t SplitQueue::free_used() {
  const RingRef<UsedRing> used_ring = used();
  const uint16_t end = used_ring.header().get<UsedHeader::IDX>();
  if (end == last_used_) return 0;
  dma_read_barrier();  // the elements after the index
  const uint32_t mask = ring_.mask();
  BufferTable& b = *buffers_;
  size_t freed = 0;
  if (mode_ != Mode::kAnyOrder) {
    // §2.7.9: the device may write only the batch's last element; the used
    // index says how many buffers, the element's id names the last of them.
    const uint16_t used = static_cast<uint16_t>(end - last_used_);
    const uint16_t outstanding = static_cast<uint16_t>(avail_idx_ - completed_);
    if (ABSL_PREDICT_FALSE(used > outstanding)) ++bad_completions_;  // more than we made available
    const uint16_t count = std::min(used, outstanding);
    const uint32_t last_id = used_ring.entry((end - 1) & mask).get<UsedElem::ID>();
    Packet* const owned = b.packets();
    uint8_t* const chains = b.chains();
    uint16_t head = oldest_desc_, last = head, descriptors = 0;
    if (mode_ == Mode::kInOrderOne) {  // one descriptor each: `count` slots, in two runs at most
      const uint16_t to_end = std::min<uint16_t>(count, static_cast<uint16_t>(size() - head));
      Packet::reset_all({owned + head, to_end});  // sent: the buffers go home
      Packet::reset_all({owned, static_cast<size_t>(count - to_end)});
      descriptors = count;
      last = static_cast<uint16_t>((head + count - 1) & mask);
      head = static_cast<uint16_t>((head + count) & mask);
    }
    for (uint16_t k = 0; k < count && mode_ == Mode::kInOrder; ++k) {  // following the chains
      last = head;
      const uint8_t chain = chains[head];
      owned[head].reset();  // sent: the buffer goes home
      chains[head] = 0;
      descriptors = static_cast<uint16_t>(descriptors + chain);
      head = static_cast<uint16_t>((head + chain) & mask);
    }
    if (ABSL_PREDICT_FALSE(count != 0 && last != last_id)) ++bad_completions_;
    b.give_count(descriptors);
    room_ += descriptors;
    oldest_desc_ = head;
    completed_ = static_cast<uint16_t>(completed_ + count);
    last_used_ = end;
    return count;
  }
  for (uint16_t i = last_used_; i != end; ++i) {
    const uint32_t id = used_ring.entry(i & mask).get<UsedElem::ID>();
    if (ABSL_PREDICT_FALSE(id > mask || b.chain(static_cast<uint16_t>(id)) == 0)) {
      ++bad_completions_;  // not a buffer we made available: ignore it
      continue;
    }
    const uint16_t head = static_cast<uint16_t>(id);
    const uint8_t chain = b.chain(head);
    b.packet(head).reset();  // sent: the buffer goes home
    if (chain > 1) b.give(b.link(head));
    b.give(head);
    b.chain(head) = 0;
    room_ += chain;
    ++freed;
  }
  last_used_ = end;
  return freed;
}

void SplitQueue::disable_interrupts() {
  avail().header().set<AvailHeader::FLAGS>(kAvailNoInterrupt);
}

// ---- packed --------------------------------------------------------------

absl::StatusOr<PackedQueue> PackedQueue::create(const DmaAllocator& dma, uint16_t size,
                                                bool event_idx, bool in_order,
                                                absl::string_view tag) {
  // §2.8: the ring, then the driver and device event suppression structures.
  SAFENIC_ASSIGN_OR_RETURN(
      auto ring, DescriptorRing::create(dma, size, PackedDesc::kSize, tag, 2 * PackedEvent::kSize));
  return PackedQueue(std::move(ring), event_idx, in_order);
}

PackedQueue::PackedQueue(DescriptorRing ring, bool event_idx, bool in_order)
    : ring_(std::move(ring)),
      buffers_(std::make_unique<BufferTable>(ring_.size())),
      event_idx_(event_idx),
      mode_(in_order ? Mode::kInOrderOne : Mode::kAnyOrder),
      room_(static_cast<uint16_t>(ring_.size())) {}

QueueAddresses PackedQueue::addresses() const {
  const uint64_t events = ring_.extra_iova();
  return {ring_.iova(), events, events + PackedEvent::kSize};
}

// §2.8.6: a descriptor is available when its AVAIL bit equals the driver's
// wrap counter and its USED bit does not. The first descriptor of a batch
// gets its flags last (publish()), so the device sees the batch at once.
void PackedQueue::add(Packet& p, std::initializer_list<Segment> segments) {
  BufferTable& b = *buffers_;
  if (mode_ == Mode::kInOrderOne && segments.size() > 1) {
    b.start_chains(next_used_, static_cast<uint16_t>(size() - room_));
    mode_ = Mode::kInOrder;
  }
  uint16_t id = next_avail_;  // IN_ORDER: the id is the position (§2.8.21)
  if (mode_ != Mode::kAnyOrder)
    b.take_count(1);
  else
    id = b.take();
  size_t k = 0;
  for (const Segment& s : segments) {
    const bool last = ++k == segments.size();
    const uint16_t flags =
        (s.device_writes ? kDescWrite : 0) | (last ? 0 : kDescNext) | avail_flags_;
    LayoutRef<PackedDesc> d(ring_.descriptor(next_avail_));
    d.set<PackedDesc::ADDR>(s.iova).set<PackedDesc::LEN>(s.len).set<PackedDesc::ID>(id);
    if (pending_++ == 0) {
      first_pending_ = next_avail_;
      pending_flags_ = flags;
    } else {
      d.set<PackedDesc::FLAGS>(flags);
    }
    if (++next_avail_ == ring_.size()) next_avail_ = 0, avail_flags_ ^= kAvailUsed;
  }
  b.chain(id) = static_cast<uint8_t>(segments.size());
  b.packet(id).swap(p);
  room_ -= static_cast<uint16_t>(segments.size());
}

// §2.8.7: each used buffer is one descriptor written back at the position of
// the buffer's first; the next one follows its chain.
size_t PackedQueue::free_used() {
  if (mode_ == Mode::kInOrderOne) return free_used_in_order<Mode::kInOrderOne>();
  if (mode_ == Mode::kInOrder) return free_used_in_order<Mode::kInOrder>();
  const LayoutArray<PackedDesc> table(ring_.descriptors());
  const uint16_t size = this->size();
  uint16_t* const free_ids = buffers_->free_ids();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t free_count = buffers_->free_count();
  uint16_t pos = next_used_, flags = used_flags(), room = room_;
  uint64_t bad = 0;
  size_t freed = 0;
  for (;;) {
    const LayoutView<PackedDesc> d = table[pos];
    if ((d.get<PackedDesc::FLAGS>() & kAvailUsed) != flags) break;
    dma_read_barrier();
    const uint16_t id = d.get<PackedDesc::ID>();
    const uint8_t chain = id < size ? chains[id] : 0;
    pos += chain == 0 ? 1 : chain;
    if (pos >= size) pos -= size, flags ^= kAvailUsed;
    if (ABSL_PREDICT_FALSE(chain == 0)) {
      ++bad;  // not a buffer we made available: ignore it
      continue;
    }
    owned[id].reset();  // sent: the buffer goes home
    free_ids[free_count++] = id;
    chains[id] = 0;
    room += chain;
    ++freed;
  }
  buffers_->set_free_count(free_count);
  next_used_ = pos, used_flags_ = flags, room_ = room;
  bad_completions_ += bad;
  return freed;
}

// §2.8.21: one used descriptor for a batch, written over its first buffer's
// slot, names the batch's last buffer; every buffer up to it is used, and the
// next batch's descriptor follows it. A bad id loses the batch's end: its
// slot's buffer is freed, then the next used descriptor found further on
// starts a batch, and (in order) every buffer before it was used too.
template <Mode mode>
size_t PackedQueue::free_used_in_order() {
  constexpr bool one = mode == Mode::kInOrderOne;
  const LayoutArray<PackedDesc> table(ring_.descriptors());
  const uint16_t size = this->size();
  Packet* const owned = buffers_->packets();
  uint8_t* const chains = buffers_->chains();
  uint16_t pos = next_used_, flags = used_flags(), room = room_;
  size_t freed = 0;
  uint64_t bad = 0;
  auto is_used = [&](uint16_t at, uint16_t used) {
    return (table[at].get<PackedDesc::FLAGS>() & kAvailUsed) == used;
  };
  // How far `at` is past pos, in slots.
  auto ahead_of_pos = [&](uint16_t at) {
    return static_cast<uint16_t>(at >= pos ? at - pos : at + size - pos);
  };
  // Whether an outstanding buffer starts at `at`.
  auto heads = [&](uint16_t at) { return one ? ahead_of_pos(at) < size - room : chains[at] != 0; };
  auto step = [&](uint16_t& at, uint16_t& used) {
    at = static_cast<uint16_t>(at + (one ? 1 : chains[at]));
    if (at >= size) at = static_cast<uint16_t>(at - size), used ^= kAvailUsed;
  };
  // Frees the buffers from `pos` through `last` (or up to it, not `inclusive`).
  auto free_to = [&](uint16_t last, bool inclusive) {
    if constexpr (one) {  // the slots in between, in at most two runs
      const uint16_t count = static_cast<uint16_t>(ahead_of_pos(last) + inclusive);
      const uint16_t to_end = std::min<uint16_t>(count, static_cast<uint16_t>(size - pos));
      Packet::reset_all({owned + pos, to_end});  // sent: the buffers go home
      Packet::reset_all({owned, static_cast<size_t>(count - to_end)});
      room = static_cast<uint16_t>(room + count);
      freed += count;
      pos = static_cast<uint16_t>(pos + count);
      if (pos >= size) pos = static_cast<uint16_t>(pos - size), flags ^= kAvailUsed;
      return;
    }
    while (chains[pos] != 0) {
      const uint16_t head = pos;
      if (!inclusive && head == last) return;
      room += chains[head];
      owned[head].reset();  // sent: the buffer goes home
      step(pos, flags);
      chains[head] = 0;
      ++freed;
      if (head == last) return;
    }
  };
  while (room != size) {
    const size_t before = freed;
    if (!is_used(pos, flags)) {
      if (ABSL_PREDICT_TRUE(!lost_batch_end_)) break;
      // At most one lap: with the ring full, the chains lead back to pos.
      uint16_t at = pos, used = flags, walked = 0;
      do step(at, used);
      while (heads(at) && !is_used(at, used) && ++walked < size);
      if (!heads(at) || walked >= size || at == pos) break;  // no later batch yet
      free_to(at, false);
      lost_batch_end_ = false;
      if (freed == before) break;  // a used slot that heads no buffer: wait
      continue;
    }
    dma_read_barrier();
    const uint16_t id = table[pos].get<PackedDesc::ID>();
    lost_batch_end_ = !(id < size && heads(id) && ahead_of_pos(id) < size - room);
    bad += lost_batch_end_;
    free_to(lost_batch_end_ ? pos : id, true);
    if (freed == before) break;  // a used slot that heads no buffer (a device bug): wait
  }
  buffers_->give_count(static_cast<uint16_t>(freed));
  next_used_ = pos, used_flags_ = flags, room_ = room;
  bad_completions_ += bad;
  return freed;
}

void PackedQueue::disable_interrupts() { driver_event().set<PackedEvent::FLAGS>(kEventDisable); }

}  // namespace safenic::virtio
