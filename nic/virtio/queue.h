// Virtqueues, driver side: split (§2.7) and packed (§2.8) with one interface,
// so the net driver is written once as a template over the queue type.
//
//   q.add(packet, {{iova, len, device_writes}}); ...  // per buffer
//   q.publish();                                       // once per batch
//   if (q.needs_kick()) transport.notify(index);       // rarely
//   while (q.next_used(packet, &len)) ...              // completions
//
// A buffer is a chain of up to kMaxSegments descriptors owned by one Packet.
// Completions are checked: an id the driver never made available is counted
// in bad_completions() and ignored, never dereferenced.
#pragma once

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

// Free buffer ids and what each id owns; shared by both queue types.
class BufferTable {
 public:
  explicit BufferTable(uint16_t size);
  bool empty() const { return free_count_ == 0; }
  uint16_t take() { return free_[--free_count_]; }
  void give(uint16_t id) { free_[free_count_++] = id; }
  uint16_t free_count() const { return free_count_; }
  Packet& packet(uint16_t id) { return packets_[id]; }
  uint8_t& chain(uint16_t id) { return chain_[id]; }  // descriptors in the buffer; 0: not in use
  uint16_t& link(uint16_t id) { return link_[id]; }   // split: the chain's second descriptor
  uint16_t size() const { return size_; }
  void release_packets();

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
                                           bool legacy_layout, bool event_idx,
                                           absl::string_view tag);
  QueueAddresses addresses() const;
  uint16_t size() const { return static_cast<uint16_t>(ring_.size()); }
  // Descriptors free for new buffers.
  uint16_t room() const { return room_; }
  // Makes `p`'s segments a buffer for the device; takes the packet.
  void add(Packet& p, std::initializer_list<Segment> segments);
  // The same for the common one-segment buffer, inline for the fast path.
  void add(Packet& p, const Segment& s) {
    BufferTable& b = *buffers_;
    const uint16_t id = b.take();
    LayoutRef<SplitDesc>(ring_.descriptor(id))
        .set<SplitDesc::ADDR>(s.iova)
        .set<SplitDesc::LEN>(s.len)
        .set<SplitDesc::FLAGS>(s.device_writes ? kDescWrite : 0);
    b.chain(id) = 1;
    b.packet(id).swap(p);
    const uint16_t slot = avail_idx_++ & static_cast<uint16_t>(ring_.mask());
    *reinterpret_cast<volatile uint16_t*>(avail() + 4 + 2 * slot) = id;
    --room_;
  }
  void publish();
  bool needs_kick();
  // The next used buffer: swaps its packet into `out` (empty) and gives the
  // length the device wrote. False when there is none.
  bool next_used(Packet& out, uint32_t* written) {
    while (last_used_ != *reinterpret_cast<volatile uint16_t*>(used() + 2)) {
      dma_read_barrier();  // the element after the index
      const uint8_t* elem = used() + 4 + 8 * (last_used_ & ring_.mask());
      const uint32_t id = *reinterpret_cast<const volatile uint32_t*>(elem);
      const uint32_t len = *reinterpret_cast<const volatile uint32_t*>(elem + 4);
      ++last_used_;
      if (ABSL_PREDICT_TRUE(id < ring_.size() && buffers_->chain(static_cast<uint16_t>(id)) != 0)) {
        complete(static_cast<uint16_t>(id), out);
        *written = len;
        return true;
      }
      ++bad_completions_;  // not a buffer we made available: ignore it
    }
    return false;
  }
  // Asks the device for no interrupts (safenic polls).
  void disable_interrupts();
  uint64_t bad_completions() const { return bad_completions_; }
  void release_packets() { buffers_->release_packets(); }

 private:
  SplitQueue(DescriptorRing ring, uint32_t avail_off, uint32_t used_off, bool event_idx);
  void complete(uint16_t head, Packet& out) {
    BufferTable& b = *buffers_;
    const uint8_t chain = b.chain(head);
    out.swap(b.packet(head));
    if (chain > 1) b.give(b.link(head));
    b.give(head);
    b.chain(head) = 0;
    room_ += chain;
  }
  uint8_t* avail() const { return ring_.descriptors() + avail_off_; }
  uint8_t* used() const { return ring_.descriptors() + used_off_; }
  uint16_t& le16(uint8_t* p) const { return *reinterpret_cast<uint16_t*>(p); }

  DescriptorRing ring_;
  std::unique_ptr<BufferTable> buffers_;
  uint32_t avail_off_ = 0, used_off_ = 0;
  bool event_idx_ = false;
  uint16_t avail_idx_ = 0;      // next avail ring slot
  uint16_t published_idx_ = 0;  // avail idx the device has seen
  uint16_t kicked_idx_ = 0;     // avail idx at the last kick decision
  uint16_t last_used_ = 0;
  uint16_t room_ = 0;
  uint64_t bad_completions_ = 0;
};

class PackedQueue {
 public:
  static absl::StatusOr<PackedQueue> create(const DmaAllocator& dma, uint16_t size,
                                            bool event_idx, absl::string_view tag);
  QueueAddresses addresses() const;
  uint16_t size() const { return static_cast<uint16_t>(ring_.size()); }
  uint16_t room() const { return room_; }
  void add(Packet& p, std::initializer_list<Segment> segments);
  // The common one-segment buffer, inline for the fast path.
  void add(Packet& p, const Segment& s) {
    BufferTable& b = *buffers_;
    const uint16_t id = b.take();
    const uint16_t pos = next_avail_;
    const uint16_t flags = (s.device_writes ? kDescWrite : 0) |
                           (avail_wrap_ ? kPackedAvail : kPackedUsed);
    LayoutRef<PackedDesc> d(ring_.descriptor(pos));
    d.set<PackedDesc::ADDR>(s.iova).set<PackedDesc::LEN>(s.len).set<PackedDesc::ID>(id);
    if (pending_++ == 0) {
      first_pending_ = pos, pending_flags_ = flags;
    } else {
      d.set<PackedDesc::FLAGS>(flags);
    }
    if (pos + 1u == ring_.size()) {
      next_avail_ = 0, avail_wrap_ = !avail_wrap_;
    } else {
      next_avail_ = pos + 1;
    }
    b.chain(id) = 1;
    b.packet(id).swap(p);
    --room_;
  }
  void publish();
  bool needs_kick();
  bool next_used(Packet& out, uint32_t* written) {
    for (;;) {
      LayoutRef<PackedDesc> d(ring_.descriptor(next_used_));
      const uint16_t flags = d.get<PackedDesc::FLAGS>();
      const uint16_t want = used_wrap_ ? kPackedAvail | kPackedUsed : 0;
      if ((flags & (kPackedAvail | kPackedUsed)) != want) return false;
      dma_read_barrier();
      const uint16_t id = d.get<PackedDesc::ID>();
      const uint8_t chain = id < ring_.size() ? buffers_->chain(id) : 0;
      const uint32_t next = next_used_ + (chain == 0 ? 1u : chain);
      if (next >= ring_.size()) {
        next_used_ = static_cast<uint16_t>(next - ring_.size()), used_wrap_ = !used_wrap_;
      } else {
        next_used_ = static_cast<uint16_t>(next);
      }
      if (ABSL_PREDICT_TRUE(chain != 0)) {
        *written = d.get<PackedDesc::LEN>();
        BufferTable& b = *buffers_;
        out.swap(b.packet(id));
        b.give(id);
        b.chain(id) = 0;
        room_ += chain;
        return true;
      }
      ++bad_completions_;  // not a buffer we made available: ignore it
    }
  }
  void disable_interrupts();
  uint64_t bad_completions() const { return bad_completions_; }
  void release_packets() { buffers_->release_packets(); }

 private:
  explicit PackedQueue(DescriptorRing ring, bool event_idx);
  uint8_t* driver_event() const { return ring_.descriptors() + ring_.bytes(); }
  uint8_t* device_event() const { return driver_event() + 4; }

  DescriptorRing ring_;
  std::unique_ptr<BufferTable> buffers_;
  bool event_idx_ = false;
  uint16_t next_avail_ = 0;
  bool avail_wrap_ = true;  // §2.8.1: both wrap counters start at 1
  uint16_t next_used_ = 0;
  bool used_wrap_ = true;
  uint16_t first_pending_ = 0;   // first descriptor added since publish()
  uint16_t pending_flags_ = 0;   // its flags, written last to publish the batch
  uint16_t pending_ = 0;         // descriptors added since publish()
  uint16_t kick_from_ = 0;       // first descriptor since the last kick decision
  bool kick_from_wrap_ = true;
  uint16_t room_ = 0;
  uint64_t bad_completions_ = 0;
};

}  // namespace safenic::virtio
