#include "nic/virtio/split_queue.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic::virtio {

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
      if (count > to_end) Packet::reset_all({owned, static_cast<size_t>(count - to_end)});
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

}  // namespace safenic::virtio
