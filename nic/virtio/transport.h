// The two virtio PCI transports behind one small interface: legacy (§4.1.4.8,
// an I/O BAR of fixed registers) and modern (§4.1.4, structures located by
// vendor capabilities). Used at set-up; on the fast path only notify().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nic/pci_function.h"

namespace safenic::virtio {

struct QueueAddresses {
  uint64_t desc = 0;    // descriptor table (packed: the ring)
  uint64_t driver = 0;  // avail ring (packed: driver event suppression)
  uint64_t device = 0;  // used ring (packed: device event suppression)
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Finds the transport of `fn` (modern when the capabilities are there).
  static absl::StatusOr<std::unique_ptr<Transport>> open(PciFunction& fn);

  virtual bool modern() const = 0;
  virtual uint8_t status() = 0;
  virtual void set_status(uint8_t status) = 0;
  virtual uint64_t device_features() = 0;
  virtual void set_driver_features(uint64_t features) = 0;
  // Largest size of queue q; 0 when it does not exist.
  virtual uint16_t queue_max(uint16_t q) = 0;
  // Legacy devices take only their own size and the legacy contiguous layout
  // (used ring 4096-aligned after the avail ring), given by its start.
  virtual absl::Status setup_queue(uint16_t q, uint16_t size, const QueueAddresses& addr) = 0;
  virtual void notify(uint16_t q) = 0;
  virtual uint8_t config8(uint32_t offset) = 0;
  uint16_t config16(uint32_t offset) { return config8(offset) | config8(offset + 1) << 8; }
};

}  // namespace safenic::virtio
