// SysfsFunction: a PCI device driven through its sysfs files, with no kernel
// driver bound (or a uio driver): BARs are the mmap'ed `resourceN` files,
// configuration space is the `config` file (Documentation/PCI/sysfs-pci.rst),
// and the device reaches DMA memory by physical address, from
// /proc/self/pagemap, on 2 MiB hugepages so each region is physically
// contiguous. No IOMMU protects the host from the device: this path needs
// root, and VFIO (vfio_function.h) is the safer one where an IOMMU exists.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nic/mapped_bar.h"
#include "nic/pci/config_space.h"
#include "nic/pci/host_function.h"
#include "nic/pci/syscalls.h"
#include "nic/pci/sysfs.h"
#include "nic/pci_function.h"

namespace safenic::pci {

class SysfsFunction final : public HostFunction {
 public:
  // Opens the device's config file, checks it is present and enables bus
  // mastering. BARs are mapped on first use.
  static absl::StatusOr<std::unique_ptr<SysfsFunction>> open(const PciDeviceInfo& device,
                                                             std::shared_ptr<Syscalls> sys);
  ~SysfsFunction() override { unmap_bars(); }

 private:
  SysfsFunction(const PciDeviceInfo& device, std::shared_ptr<Syscalls> sys, Fd config);
  absl::StatusOr<std::unique_ptr<Bar>> map_bar(int index) override;

  std::shared_ptr<Syscalls> sys_;
  Fd config_fd_;
};

// The `resource` file's line for BAR `index`: "start end flags", hex
// (drivers/pci/pci-sysfs.c resource_show). Flags are IORESOURCE_* from
// include/linux/ioport.h.
struct ResourceLine {
  uint64_t start = 0, end = 0, flags = 0;
  static constexpr uint64_t kIo = 0x100;   // IORESOURCE_IO: I/O port space
  static constexpr uint64_t kMem = 0x200;  // IORESOURCE_MEM: memory space
  uint64_t size() const { return end > start ? end - start + 1 : 0; }
};
absl::StatusOr<ResourceLine> read_resource_line(const std::string& device_path, int index);

}  // namespace safenic::pci
