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

// Ring words the driver also reads or writes: single volatile accesses.
uint16_t load16(const uint8_t* p) { return *reinterpret_cast<const volatile uint16_t*>(p); }
void store16(uint8_t* p, uint16_t v) { *reinterpret_cast<volatile uint16_t*>(p) = v; }
void store32(uint8_t* p, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(p) = v; }

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
  uint8_t* d = translate(desc, 16 * n);
  uint8_t* dr = translate(driver, packed ? 4 : split_avail_bytes(n));
  uint8_t* dv = translate(device, packed ? 4 : split_used_bytes(n));
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
  const uint16_t avail_idx = load16(driver_ + 2);
  while (last_avail_ != avail_idx) {
    std::atomic_thread_fence(std::memory_order_acquire);  // the entries after the index
    const uint16_t head = load16(driver_ + 4 + 2 * (last_avail_ % size_));
    Buffer buffer;
    // §2.7.5: a chain through NEXT, at most the ring's size long.
    for (uint16_t i = head;;) {
      if (i >= size_ || buffer.count == kMaxSegments) {
        return absl::FailedPreconditionError(
            absl::StrFormat("control queue: descriptor chain from %d is broken or longer than %d",
                            head, kMaxSegments));
      }
      LayoutRef<SplitDesc> d(desc_ + 16 * size_t{i});
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
    uint8_t* elem = device_ + 4 + 8 * (used_idx_ % size_);
    store32(elem, head);
    store32(elem + 4, used_len);
    std::atomic_thread_fence(std::memory_order_release);
    store16(device_ + 2, ++used_idx_);
    ++last_avail_;
  }
  // §2.7.10: with EVENT_IDX, notify us as soon as the next command comes.
  if (event_idx_) store16(device_ + 4 + 8 * size_t{size_}, last_avail_);
  return absl::OkStatus();
}

absl::Status ControlQueue::serve_packed(const Handler& handler) {
  for (;;) {
    // §2.8.6: available when AVAIL equals our wrap counter and USED does not.
    const uint16_t head = last_avail_;
    const uint16_t first_flags = load16(desc_ + 16 * size_t{head} + PackedDesc::FLAGS::kOffset);
    if (static_cast<bool>(first_flags & kPackedAvail) != wrap_ ||
        static_cast<bool>(first_flags & kPackedUsed) == wrap_) {
      return absl::OkStatus();
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    Buffer buffer;
    uint16_t pos = head, id = 0;
    for (;;) {
      if (buffer.count == kMaxSegments) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "control queue: descriptor chain at %d longer than %d", head, kMaxSegments));
      }
      LayoutRef<PackedDesc> d(desc_ + 16 * size_t{pos});
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
    // §2.8.7: one used descriptor at the buffer's first position, flags last.
    LayoutRef<PackedDesc> used(desc_ + 16 * size_t{head});
    used.set<PackedDesc::ID>(id).set<PackedDesc::LEN>(used_len);
    std::atomic_thread_fence(std::memory_order_release);
    used.set<PackedDesc::FLAGS>(wrap_ ? kPackedAvail | kPackedUsed : 0);
    const uint32_t next = uint32_t{head} + static_cast<uint32_t>(buffer.count);
    if (next >= size_) wrap_ = !wrap_;
    last_avail_ = static_cast<uint16_t>(next % size_);
  }
}

}  // namespace safenic::vhost_user
