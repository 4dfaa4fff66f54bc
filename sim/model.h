// DeviceModel: a behavioural model of one PCI function.
//
// A model sees every register access the driver makes (through SimulatedBar)
// and touches host memory only through its Iommu. It runs in the caller's
// thread: device work happens inside the register write that triggers it (a
// doorbell) and inside progress(), which tests and wires call. Nothing runs in
// the background, so tests are deterministic and never sleep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "nic/pci_function.h"
#include "sim/clock.h"
#include "sim/iommu.h"
#include "sim/violations.h"

namespace safenic::sim {

// What the models of one simulation share: the violation log, the IOMMU and
// the clock.
struct SimContext {
  std::shared_ptr<ViolationLog> log = std::make_shared<ViolationLog>();
  std::shared_ptr<Iommu> iommu = std::make_shared<Iommu>(log);
  std::shared_ptr<SimClock> clock = std::make_shared<SimClock>();
  // Null: one thread drives this simulation. Set: several may (one per queue);
  // every MMIO access, sleep and progress() through the seam holds it, so the
  // models (single-threaded state) see one access at a time while the drivers
  // take no lock. A std::mutex, not absl::Mutex: ThreadSanitizer intercepts
  // pthread locks, but Debian's abseil is built without its annotations.
  std::shared_ptr<std::mutex> serial;

  // A context whose models may be driven from several threads. Buffer
  // tracking is off in it: pools mark buffers free and in use from the
  // threads that own them, outside the lock, and the IOMMU's marks are
  // single-threaded (sim/iommu.h).
  static SimContext serialized() {
    SimContext c;
    c.serial = std::make_shared<std::mutex>();
    c.iommu->set_buffer_tracking(false);
    return c;
  }
};

// Holds a context's lock (when it has one) for the life of the guard: what a
// test wraps around its own calls into models (progress(), counters).
class SimLock {
 public:
  explicit SimLock(std::mutex* serial) : serial_(serial) {
    if (serial_ != nullptr) serial_->lock();
  }
  explicit SimLock(const SimContext& ctx) : SimLock(ctx.serial.get()) {}
  ~SimLock() {
    if (serial_ != nullptr) serial_->unlock();
  }
  SimLock(const SimLock&) = delete;
  SimLock& operator=(const SimLock&) = delete;

 private:
  std::mutex* serial_;
};

class DeviceModel {
 public:
  virtual ~DeviceModel() = default;
  virtual PciId id() const = 0;
  // Size of BAR `bar` in bytes; 0 when the function has no such BAR.
  virtual size_t bar_size(int bar) const = 0;
  // One register access of `width` bytes (1, 2, 4, 8), in range and aligned
  // (SimulatedBar checks both first).
  virtual uint64_t mmio_read(int bar, uint32_t offset, unsigned width) = 0;
  virtual void mmio_write(int bar, uint32_t offset, unsigned width, uint64_t value) = 0;
  // PCI configuration space; the default has the ids and nothing else.
  virtual uint32_t config_read32(uint32_t offset) const {
    return offset == 0 ? uint32_t{id().vendor} | uint32_t{id().device} << 16 : 0;
  }
  // Device work that no register access triggers (frames from a wire).
  virtual void progress() {}
  // Whether the device would take a frame from its port now: the link up and
  // the driver's receive path set up (a wire end that replays a file waits
  // for it). The default: always.
  virtual bool receiving() { return true; }
  // The frames this model dropped, by reason ("rx_filtered": not addressed
  // to the NIC, ...), including those no device counter shows a driver: what
  // Testbed::report() prints when frames go missing. Reasons with none are left out.
  virtual std::map<std::string, uint64_t> dropped_frames() const { return {}; }

 protected:
  // For dropped_frames(): `n` frames dropped for `reason`, left out when none.
  static void add_drops(std::map<std::string, uint64_t>& out, const char* reason, uint64_t n) {
    if (n != 0) out[reason] = n;
  }
};

}  // namespace safenic::sim
