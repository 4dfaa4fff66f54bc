#include "nic/virtio/queue.h"

#include <atomic>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace safenic::virtio {
namespace {

// Ring words the device also reads or writes: single volatile accesses.
uint16_t load16(const uint8_t* p) { return *reinterpret_cast<const volatile uint16_t*>(p); }
void store16(uint8_t* p, uint16_t v) { *reinterpret_cast<volatile uint16_t*>(p) = v; }
// Orders our avail-index store before reading the device's suppression state.
void full_barrier() { std::atomic_thread_fence(std::memory_order_seq_cst); }

}  // namespace

BufferTable::BufferTable(uint16_t size)
    : free_(std::make_unique<uint16_t[]>(size)), packets_(std::make_unique<Packet[]>(size)),
      chain_(std::make_unique<uint8_t[]>(size)), link_(std::make_unique<uint16_t[]>(size)),
      size_(size) {
  for (uint16_t id = size; id-- > 0;) give(id);
}

void BufferTable::release_packets() {
  for (uint16_t id = 0; id < size_; ++id) packets_[id].reset();
}

// ---- split ---------------------------------------------------------------

absl::StatusOr<SplitQueue> SplitQueue::create(const DmaAllocator& dma, uint16_t size,
                                              bool legacy_layout, bool event_idx,
                                              absl::string_view tag) {
  // §2.7: descriptor table, avail ring, then the used ring (4-byte aligned;
  // legacy: on the next 4096-byte boundary).
  const uint32_t avail_off = static_cast<uint32_t>(split_desc_bytes(size));
  const uint32_t align = legacy_layout ? kLegacyQueueAlign : 4;
  const uint32_t used_off =
      static_cast<uint32_t>((avail_off + split_avail_bytes(size) + align - 1) / align * align);
  auto ring = DescriptorRing::create(dma, size, 16, tag,
                                     used_off - avail_off + split_used_bytes(size));
  if (!ring.ok()) return ring.status();
  return SplitQueue(*std::move(ring), avail_off, used_off, event_idx);
}

SplitQueue::SplitQueue(DescriptorRing ring, uint32_t avail_off, uint32_t used_off, bool event_idx)
    : ring_(std::move(ring)), buffers_(std::make_unique<BufferTable>(ring_.size())),
      avail_off_(avail_off), used_off_(used_off), event_idx_(event_idx),
      room_(static_cast<uint16_t>(ring_.size())) {}

QueueAddresses SplitQueue::addresses() const {
  return {ring_.iova(), ring_.iova() + avail_off_, ring_.iova() + used_off_};
}

void SplitQueue::add(Packet& p, std::initializer_list<Segment> segments) {
  BufferTable& b = *buffers_;
  const uint16_t head = b.take();
  uint16_t id = head;
  size_t k = 0;
  for (const Segment& s : segments) {
    const bool last = ++k == segments.size();
    const uint16_t next = last ? 0 : b.take();
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
  store16(avail() + 4 + 2 * (avail_idx_ & ring_.mask()), head);
  ++avail_idx_;
  room_ -= static_cast<uint16_t>(segments.size());
}

void SplitQueue::publish() {
  if (avail_idx_ == published_idx_) return;
  dma_write_barrier();  // descriptors and ring entries before the index
  store16(avail() + 2, avail_idx_);
  published_idx_ = avail_idx_;
}

// §2.7.10: with EVENT_IDX the device says from which avail index on it wants
// a notification; without, the used ring's NO_NOTIFY flag.
bool SplitQueue::needs_kick() {
  const uint16_t old_idx = kicked_idx_, new_idx = published_idx_;
  kicked_idx_ = new_idx;
  if (old_idx == new_idx) return false;
  full_barrier();
  if (event_idx_) {
    const uint16_t avail_event = load16(used() + 4 + 8 * ring_.size());
    return need_event(avail_event, new_idx, old_idx);
  }
  return !(load16(used()) & kUsedNoNotify);
}

void SplitQueue::disable_interrupts() { store16(avail(), kAvailNoInterrupt); }

// ---- packed --------------------------------------------------------------

absl::StatusOr<PackedQueue> PackedQueue::create(const DmaAllocator& dma, uint16_t size,
                                                bool event_idx, absl::string_view tag) {
  // §2.8: the ring, then the driver and device event suppression structures.
  auto ring = DescriptorRing::create(dma, size, 16, tag, 8);
  if (!ring.ok()) return ring.status();
  return PackedQueue(*std::move(ring), event_idx);
}

PackedQueue::PackedQueue(DescriptorRing ring, bool event_idx)
    : ring_(std::move(ring)), buffers_(std::make_unique<BufferTable>(ring_.size())),
      event_idx_(event_idx), room_(static_cast<uint16_t>(ring_.size())) {}

QueueAddresses PackedQueue::addresses() const {
  const uint64_t events = ring_.iova() + ring_.bytes();
  return {ring_.iova(), events, events + 4};
}

// §2.8.6: a descriptor is available when its AVAIL bit equals the driver's
// wrap counter and its USED bit does not. The first descriptor of a batch
// gets its flags last (publish()), so the device sees the batch at once.
void PackedQueue::add(Packet& p, std::initializer_list<Segment> segments) {
  BufferTable& b = *buffers_;
  const uint16_t id = b.take();
  size_t k = 0;
  for (const Segment& s : segments) {
    const bool last = ++k == segments.size();
    const uint16_t flags = (s.device_writes ? kDescWrite : 0) | (last ? 0 : kDescNext) |
                           (avail_wrap_ ? kPackedAvail : kPackedUsed);
    LayoutRef<PackedDesc> d(ring_.descriptor(next_avail_));
    d.set<PackedDesc::ADDR>(s.iova).set<PackedDesc::LEN>(s.len).set<PackedDesc::ID>(id);
    if (pending_++ == 0) {
      first_pending_ = next_avail_;
      pending_flags_ = flags;
    } else {
      d.set<PackedDesc::FLAGS>(flags);
    }
    if (++next_avail_ == ring_.size()) next_avail_ = 0, avail_wrap_ = !avail_wrap_;
  }
  b.chain(id) = static_cast<uint8_t>(segments.size());
  b.packet(id).swap(p);
  room_ -= static_cast<uint16_t>(segments.size());
}

void PackedQueue::publish() {
  if (pending_ == 0) return;
  dma_write_barrier();
  LayoutRef<PackedDesc>(ring_.descriptor(first_pending_)).set<PackedDesc::FLAGS>(pending_flags_);
  pending_ = 0;
}

// §2.8.10: the device's event suppression structure says whether, or from
// which descriptor on, it wants notifications.
bool PackedQueue::needs_kick() {
  // Descriptors made available since the last decision: a whole ring when
  // the index is back where it was but the wrap counter flipped.
  const uint16_t size = static_cast<uint16_t>(ring_.size());
  const uint16_t added = static_cast<uint16_t>(
      next_avail_ - kick_from_ + (kick_from_wrap_ == avail_wrap_ ? 0 : size));
  const uint16_t new_idx = next_avail_;
  const uint16_t old_idx = static_cast<uint16_t>(new_idx - added);  // as a free-running index
  kick_from_ = next_avail_;
  kick_from_wrap_ = avail_wrap_;
  if (added == 0) return false;
  full_barrier();
  LayoutRef<PackedEvent> event(device_event());
  const uint16_t flags = event.get<PackedEvent::FLAGS>();
  if (flags == kEventDisable) return false;
  if (flags != kEventDesc || !event_idx_) return true;
  const uint16_t off_wrap = event.get<PackedEvent::DESC>();
  uint16_t event_idx = off_wrap & 0x7FFF;
  if (static_cast<bool>(off_wrap >> 15) != avail_wrap_) event_idx -= ring_.size();
  return need_event(event_idx, new_idx, old_idx);
}

void PackedQueue::disable_interrupts() {
  LayoutRef<PackedEvent>(driver_event()).set<PackedEvent::FLAGS>(kEventDisable);
}

}  // namespace safenic::virtio
