// PCI configuration space of a device reached through a file descriptor: the
// sysfs `config` file (Documentation/PCI/sysfs-pci.rst) or the VFIO config
// region (Documentation/driver-api/vfio.rst), at `base` within it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nic/pci/syscalls.h"

namespace safenic::pci {

// PCI Local Bus Specification 3.0, §6.1 (the type 0 header) and §6.2.2 (the
// Command register).
inline constexpr uint32_t kVendorIdOffset = 0x00;
inline constexpr uint32_t kCommandOffset = 0x04;
inline constexpr uint16_t kCommandMemorySpace = 1 << 1;  // respond to BAR accesses
inline constexpr uint16_t kCommandBusMaster = 1 << 2;    // may issue DMA
inline constexpr uint32_t kConfigSpaceSize = 4096;       // PCIe: extended space

class ConfigSpace {
 public:
  ConfigSpace() = default;
  // `fd` is borrowed: it must outlive this object.
  ConfigSpace(std::shared_ptr<Syscalls> sys, int fd, off_t base, std::string device)
      : sys_(std::move(sys)), fd_(fd), base_(base), device_(std::move(device)) {}

  absl::StatusOr<uint32_t> read32(uint32_t offset) const;
  absl::StatusOr<uint16_t> read16(uint32_t offset) const;
  absl::Status write16(uint32_t offset, uint16_t value) const;

  // Sets Memory Space and Bus Master in the Command register: the kernel
  // clears Bus Master when its driver lets go (pci_disable_device), and a
  // device without it cannot DMA.
  absl::Status enable_bus_master() const;

  // Unavailable, saying the device is gone, when the vendor id reads 0xffff
  // (what a read that no device answers returns).
  absl::Status check_present() const;

 private:
  absl::Status check_offset(uint32_t offset, uint32_t width) const;

  std::shared_ptr<Syscalls> sys_;
  int fd_ = -1;
  off_t base_ = 0;
  std::string device_;
};

}  // namespace safenic::pci
