// Opening a PCI device by address: find it in sysfs, decide how to drive it
// (plan.h), then hand back a VfioFunction or a SysfsFunction. Linking this
// library registers it with open_device(), so open_device("0000:03:00.0")
// works; DeviceConfig::unbind_kernel_driver reaches it from there.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nic/pci/plan.h"
#include "nic/pci/syscalls.h"
#include "nic/pci/sysfs.h"
#include "nic/pci/vfio.h"
#include "nic/pci_function.h"

namespace safenic::pci {

struct PciOpenOptions {
  std::string sysfs_root = kSysfsPciDevices;  // default_pci_options(): $SYSFS_PCI_DEVICES if set
  std::string vfio_dir = kVfioDir;
  std::string meminfo = "/proc/meminfo";
  std::shared_ptr<Syscalls> syscalls = Syscalls::real();
  bool unbind_kernel_driver = false;
  // Where a VFIO device's DMA memory lives: 2 MiB hugepages (what real
  // devices want: fewer IOTLB misses), or 4 KiB pages (kAnonymous: no
  // hugepages to reserve; what DPDK's --no-huge gives). The IOMMU maps either.
  Backing vfio_dma = Backing::kHugepage2M;
};

// Root or not, VFIO loaded or not, hugepages: as `options` sees them.
Environment read_environment(const PciOpenOptions& options);

// `address` as in a device spec: "0000:03:00.0" or "03:00.0".
absl::StatusOr<std::unique_ptr<PciFunction>> open_pci_function(absl::string_view address,
                                                               const PciOpenOptions& options = {});

// What open_device() uses for PCI specs (unbind_kernel_driver then comes from
// the DeviceConfig). Tests point it at a fixture tree.
void set_default_pci_options(const PciOpenOptions& options);
PciOpenOptions default_pci_options();

}  // namespace safenic::pci
