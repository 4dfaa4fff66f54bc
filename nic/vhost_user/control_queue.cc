#include "nic/vhost_user/control_queue.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/layout.h"
#include "nic/virtio/spec.h"

namespace safenic::vhost_user {
namespace {

using namespace ::safenic::virtio;  // the virtio interface definition

// A command is {class, command, data...}; only the first bytes matter for the
// commands served here (MAC tables, which can be longer, are refused).
constexpr size_t kMaxCommand = 64;
// Descriptors one command may use.
constexpr size_t kMaxSegments = 8;

}  // namespace

struct ControlQueue::Buffer {
  struct Segment {
    uint8_t* data;
    uint32_t len;
    bool device_writes;
  };
  std::array<Segment, kMaxSegments> segments;
  size_t count = 0;
};

absl::StatusOr<ControlQueue> ControlQueue::create(Translate translate, uint16_t size, bool packed,
                                                  bool event_idx, uint64_t desc, uint64_t driver,
                                                  uint64_t device) {
  // §2.7 / §2.8: the areas' sizes (split: with the event index words).
  const uint64_t n = size;
  uint8_t* d = translate(desc, (packed ? PackedDesc::kSize : SplitDesc::kSize) * n);
  uint8_t* dr = translate(driver, packed ? PackedEvent::kSize : split_avail_bytes(n));
  uint8_t* dv = translate(device, packed ? PackedEvent::kSize : split_used_bytes(n));
  if (size == 0 || (!packed && (size & (size - 1)) != 0) || d == nullptr || dr == nullptr ||
      dv == nullptr) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "control queue: size %d or ring areas (%#x, %#x, %#x) outside the shared memory", size,
        desc, driver, device));
  }
  return ControlQueue(std::move(translate), size, packed, event_idx, d, dr, dv);
}

absl::Status ControlQueue::serve(const Handler& handler) {
  return packed_ ? serve_packed(handler) : serve_split(handler);
}

// §5.1.6.5: device-readable {class, command, data...}, then a device-writable
// ack byte.
absl::Status ControlQueue::answer(const Buffer& buffer, const Handler& handler,
                                  uint32_t* used_len) {
  std::array<uint8_t, kMaxCommand> command{};
  size_t have = 0;
  uint8_t* ack = nullptr;
  for (size_t i = 0; i < buffer.count; ++i) {
    const Buffer::Segment& s = buffer.segments[i];
    if (s.device_writes) {
      if (ack == nullptr && s.len != 0) ack = s.data;
      continue;
    }
    if (ack != nullptr) {
      return absl::FailedPreconditionError(
          "control queue: a device-readable descriptor after a writable one (§2.7.5.2)");
    }
    const size_t take = std::min<size_t>(s.len, command.size() - have);
    std::memcpy(command.data() + have, s.data, take);
    have += take;
  }
  if (have < 2 || ack == nullptr) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "control queue: a command of %d readable bytes %s an ack byte (§5.1.6.5 needs class, "
        "command and a writable ack)",
        have, ack ? "with" : "without"));
  }
  *ack = handler(command[0], command[1], {command.data() + 2, have - 2});
  *used_len = 1;
  return absl::OkStatus();
}

absl::Status ControlQueue::serve_split(const Handler& handler) {
  const RingRef<AvailRing> avail(driver_, size_);
  const RingRef<UsedRing> used(device_, size_);
  const uint16_t avail_idx = avail.header().get<AvailHeader::IDX>();
  while (last_avail_ != avail_idx) {
    dma_read_barrier();  // the entries after the index
    const uint16_t head = avail.entry(last_avail_ % size_).get<AvailEntry::ID>();
    Buffer buffer;
    // §2.7.5: a chain through NEXT, at most the ring's size long.
    for (uint16_t i = head;;) {
      if (i >= size_ || buffer.count == kMaxSegments) {
        return absl::FailedPreconditionError(
            absl::StrFormat("control queue: descriptor chain from %d is broken or longer than %d",
                            head, kMaxSegments));
      }
      const LayoutView<SplitDesc> d = LayoutArray<SplitDesc>(desc_)[i];
      const uint16_t flags = d.get<SplitDesc::FLAGS>();
      if (flags & kDescIndirect) {
        return absl::FailedPreconditionError(
            "control queue: indirect descriptors are not served here");
      }
      const uint32_t len = d.get<SplitDesc::LEN>();
      uint8_t* data = translate_(d.get<SplitDesc::ADDR>(), len);
      if (data == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrFormat("control queue: descriptor %d points outside the shared memory", i));
      }
      buffer.segments[buffer.count++] = {data, len, (flags & kDescWrite) != 0};
      if (!(flags & kDescNext)) break;
      i = d.get<SplitDesc::NEXT>();
    }
    uint32_t used_len = 0;
    SAFENIC_RETURN_IF_ERROR(answer(buffer, handler, &used_len));
    // §2.7.8: the used element, then the index that publishes it.
    used.entry(used_idx_ % size_).set<UsedElem::ID>(head).set<UsedElem::LEN>(used_len);
    dma_write_barrier();
    used.header().set<UsedHeader::IDX>(++used_idx_);
    ++last_avail_;
  }
  // §2.7.10: with EVENT_IDX, notify us as soon as the next command comes.
  if (event_idx_) used.trailer().set<UsedTrailer::AVAIL_EVENT>(last_avail_);
  return absl::OkStatus();
}

absl::Status ControlQueue::serve_packed(const Handler& handler) {
  const LayoutArray<PackedDesc> table(desc_);
  for (;;) {
    // §2.8.1: available when AVAIL equals our wrap counter and USED does not.
    const uint16_t head = last_avail_;
    const uint16_t first_flags = table[head].get<PackedDesc::FLAGS>();
    if (static_cast<bool>(first_flags & kPackedAvail) != wrap_ ||
        static_cast<bool>(first_flags & kPackedUsed) == wrap_) {
      return absl::OkStatus();
    }
    dma_read_barrier();
    Buffer buffer;
    uint16_t pos = head, id = 0;
    for (;;) {
      if (buffer.count == kMaxSegments) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "control queue: descriptor chain at %d longer than %d", head, kMaxSegments));
      }
      const LayoutView<PackedDesc> d = table[pos];
      const uint16_t flags = d.get<PackedDesc::FLAGS>();
      if (flags & kDescIndirect) {
        return absl::FailedPreconditionError(
            "control queue: indirect descriptors are not served here");
      }
      const uint32_t len = d.get<PackedDesc::LEN>();
      uint8_t* data = translate_(d.get<PackedDesc::ADDR>(), len);
      if (data == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrFormat("control queue: descriptor %d points outside the shared memory", pos));
      }
      buffer.segments[buffer.count++] = {data, len, (flags & kDescWrite) != 0};
      id = d.get<PackedDesc::ID>();  // §2.8.13: the buffer id, on every descriptor
      pos = static_cast<uint16_t>((pos + 1) % size_);
      if (!(flags & kDescNext)) break;
    }
    uint32_t used_len = 0;
    SAFENIC_RETURN_IF_ERROR(answer(buffer, handler, &used_len));
    // §2.8.6: one used descriptor at the buffer's first position, flags last.
    LayoutRef<PackedDesc> used = table[head];
    used.set<PackedDesc::ID>(id).set<PackedDesc::LEN>(used_len);
    dma_write_barrier();
    used.set<PackedDesc::FLAGS>(wrap_ ? kPackedAvail | kPackedUsed : 0);
    const uint32_t next = uint32_t{head} + static_cast<uint32_t>(buffer.count);
    if (next >= size_) wrap_ = !wrap_;
    last_avail_ = static_cast<uint16_t>(next % size_);
  }
}

}  // namespace safenic::vhost_user
