#include "nic/virtio/packed_queue.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic::virtio {

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

// §2.8.1: a descriptor is available when its AVAIL bit equals the driver's
// wrap counter and its USED bit does not. The chain's first descriptor gets
// its flags last, so the device sees the whole chain at once (§2.8.17,
// §2.8.21.1).
void PackedQueue::add(Packet& p, std::initializer_list<Segment> segments) {
  BufferTable& b = *buffers_;
  if (mode_ == Mode::kInOrderOne && segments.size() > 1) {
    b.start_chains(next_used_, static_cast<uint16_t>(size() - room_));
    mode_ = Mode::kInOrder;
  }
  uint16_t id = next_avail_;  // IN_ORDER: the id is the position (§2.8.8)
  if (mode_ != Mode::kAnyOrder)
    b.take_count(1);
  else
    id = b.take();
  LayoutRef<PackedDesc> head(ring_.descriptor(next_avail_));
  uint16_t head_flags = 0;
  size_t k = 0;
  for (const Segment& s : segments) {
    const bool last = ++k == segments.size();
    const uint16_t flags =
        (s.device_writes ? kDescWrite : 0) | (last ? 0 : kDescNext) | avail_flags_;
    LayoutRef<PackedDesc> d(ring_.descriptor(next_avail_));
    d.set<PackedDesc::ADDR>(s.iova).set<PackedDesc::LEN>(s.len).set<PackedDesc::ID>(id);
    if (k == 1) {
      head_flags = flags;
    } else {
      d.set<PackedDesc::FLAGS>(flags);
    }
    if (++next_avail_ == ring_.size()) next_avail_ = 0, avail_flags_ ^= kAvailUsed;
  }
  dma_write_barrier();
  head.set<PackedDesc::FLAGS>(head_flags);
  pending_ = static_cast<uint16_t>(pending_ + segments.size());
  b.chain(id) = static_cast<uint8_t>(segments.size());
  b.packet(id).swap(p);
  room_ -= static_cast<uint16_t>(segments.size());
}

// §2.8.6: each used buffer is one descriptor written back at the position of
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

// §2.8.8: one used descriptor for a batch, written over its first buffer's
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
      if (count > to_end) Packet::reset_all({owned, static_cast<size_t>(count - to_end)});
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
