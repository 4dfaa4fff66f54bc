// PciFunction: everything a driver gets from one device: its ids, its BARs,
// its configuration space, and where to allocate DMA memory. Implemented for
// hardware (sysfs/VFIO, nic/pci/) and by the simulator
// (sim/simulated_function.h). Drivers are written against this and nothing
// else, so the same driver code runs on both.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mem/dma_region.h"
#include "nic/bar.h"

namespace safenic {

struct PciId {
  uint16_t vendor = 0;
  uint16_t device = 0;
  friend bool operator==(const PciId&, const PciId&) = default;
};

class PciFunction {
 public:
  virtual ~PciFunction() = default;
  // "0000:03:00.0" for hardware, "sim:82599#0" for a simulated device.
  virtual std::string name() const = 0;
  virtual PciId id() const = 0;
  // BAR `index` (0-5), mapped; an error if the device has no such BAR.
  virtual absl::StatusOr<Bar*> bar(int index) = 0;
  // PCI configuration space (PCI Local Bus spec 3.0 §6.1), read-only here.
  virtual absl::StatusOr<uint32_t> config_read32(uint32_t offset) = 0;
  // DMA memory that this device can reach.
  virtual const DmaAllocator& dma() const = 0;

  // The device's sense of time: real time for hardware; simulated time for a
  // model, so a driver's datasheet delays and timeouts cost tests nothing.
  virtual absl::Time now() { return absl::Now(); }
  virtual void sleep(absl::Duration d) { absl::SleepFor(d); }

  // Set once the platform asks for the device back: under VFIO, the kernel's
  // device request (a hot unplug, the device's driver being unbound). From
  // then on Device::rx_batch and tx_batch fail, saying to close the device,
  // which gives it back. A driver watches it with one relaxed load per batch.
  const std::atomic<bool>& removal_requested() const { return removal_requested_; }
  void request_removal() { removal_requested_.store(true, std::memory_order_relaxed); }

 private:
  std::atomic<bool> removal_requested_{false};
};

}  // namespace safenic
