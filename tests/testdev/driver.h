// The driver for "dmacopy": written only against PciFunction, Bar and mem/.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "mem/dma_region.h"
#include "mem/packet.h"
#include "nic/pci_function.h"
#include "tests/testdev/layout.h"

namespace safenic::testdev {

class DmaCopyDriver {
 public:
  static absl::StatusOr<std::unique_ptr<DmaCopyDriver>> open(PciFunction& fn, uint32_t ring_size);
  // Queues a copy of src's bytes into dst (resized to match) and rings the
  // doorbell; returns the descriptor index.
  uint32_t copy(const Packet& src, Packet& dst) {
    const uint32_t i = queue(src, dst);
    ring();
    return i;
  }
  // The same in two steps: a descriptor, then the doorbell (the device copies
  // everything queued). Between them the device owns both buffers.
  uint32_t queue(const Packet& src, Packet& dst);
  void ring();
  // A descriptor from raw IOVAs: the unsafe escape a buggy driver uses.
  uint32_t queue_iova(uint64_t src, uint64_t dst, uint32_t len);
  // Whether descriptor i is done, and whether it failed.
  bool done(uint32_t i) const;
  bool failed(uint32_t i) const;
  Bar& bar() { return *bar_; }

 private:
  DmaCopyDriver(Bar* bar, DmaRegion ring, uint32_t size)
      : bar_(bar), ring_(std::move(ring)), size_(size) {}
  LayoutRef<CopyDesc> desc(uint32_t i) const {
    return LayoutRef<CopyDesc>(ring_.data() + i * CopyDesc::kSize);
  }

  Bar* bar_;
  DmaRegion ring_;
  uint32_t size_;
  uint32_t tail_ = 0;
};

}  // namespace safenic::testdev
