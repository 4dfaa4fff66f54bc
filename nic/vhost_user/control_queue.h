// The device side of a virtio-net control virtqueue (virtio 1.2 §5.1.6.5),
// served by the vhost-user front-end itself: vhost-user back-ends serve only
// the data queues, so a VMM (QEMU) answers the driver's control commands and
// turns them into vhost-user messages. Split (§2.7) and packed (§2.8) rings,
// in memory the front-end can reach directly (the shared arena).
#pragma once

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace safenic::vhost_user {

class ControlQueue {
 public:
  // Front-end address of [iova, iova + len) in the shared memory, or null.
  using Translate = std::function<uint8_t*(uint64_t iova, uint64_t len)>;
  // One command: its class, command and data; returns the ack byte
  // (VIRTIO_NET_OK or VIRTIO_NET_ERR).
  using Handler = std::function<uint8_t(uint8_t cls, uint8_t cmd, absl::Span<const uint8_t> data)>;

  // The ring's three areas (§2.7 / §2.8) by IOVA; `event_idx`: VIRTIO_F_EVENT_IDX.
  static absl::StatusOr<ControlQueue> create(Translate translate, uint16_t size, bool packed,
                                             bool event_idx, uint64_t desc, uint64_t driver,
                                             uint64_t device);

  // Answers every command the driver has made available. An error (a
  // malformed buffer) means the device cannot go on: the caller sets
  // DEVICE_NEEDS_RESET.
  absl::Status serve(const Handler& handler);

 private:
  ControlQueue(Translate translate, uint16_t size, bool packed, bool event_idx, uint8_t* desc,
               uint8_t* driver, uint8_t* device)
      : translate_(std::move(translate)),
        size_(size),
        packed_(packed),
        event_idx_(event_idx),
        desc_(desc),
        driver_(driver),
        device_(device) {}
  struct Buffer;
  // Reads the chain starting at descriptor `head` (split) or ring position
  // `head` (packed) and answers it; `used_len` is what the device wrote.
  absl::Status answer(const Buffer& buffer, const Handler& handler, uint32_t* used_len);
  absl::Status serve_split(const Handler& handler);
  absl::Status serve_packed(const Handler& handler);

  Translate translate_;
  uint16_t size_;
  bool packed_;
  bool event_idx_;
  uint8_t* desc_;
  uint8_t* driver_;
  uint8_t* device_;
  uint16_t last_avail_ = 0;  // split: next avail index; packed: next position
  uint16_t used_idx_ = 0;    // split: the used index
  bool wrap_ = true;         // packed: the device's wrap counter (§2.8.1)
};

}  // namespace safenic::vhost_user
