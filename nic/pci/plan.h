// How safenic would open a PCI device, and what stops it: the one place that
// decides between VFIO and sysfs and words the advice, so the errors of
// open_device("0000:03:00.0") and the advice of nic_list are the same text.
//
//   bound to vfio-pci                  -> VFIO (needs the device's IOMMU group)
//   no driver, uio_pci_generic/igb_uio -> sysfs (needs root)
//   a kernel driver (ixgbe, ...)       -> an error saying how to unbind or bind
//                                         to vfio-pci; unbound by safenic only
//                                         when DeviceConfig::unbind_kernel_driver
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nic/pci/hugepages.h"
#include "nic/pci/sysfs.h"

namespace safenic::pci {

// What the process and machine offer.
struct Environment {
  bool root = false;            // effective uid 0
  bool vfio_available = false;  // /dev/vfio/vfio exists
  HugepageStatus hugepages;
  absl::Status hugepages_unknown;  // why /proc/meminfo could not say, if it could not
  // VFIO puts DMA memory in 2 MiB hugepages (PciOpenOptions::vfio_dma); if
  // not, a VFIO open needs none. The sysfs path always does (contiguous memory).
  bool vfio_dma_in_hugepages = true;
};

struct OpenPlan {
  enum class Path { kNone, kVfio, kSysfs };
  Path path = Path::kNone;
  bool unbind_first = false;  // unbind the kernel driver, then sysfs
  std::string driver;         // the safenic driver that takes the device
  // OK, or the first thing that stops the open, saying what to do.
  absl::Status blocker;
};

// `driver` is the name of the linked safenic driver supporting the device
// ("" if none).
OpenPlan plan_open(const SysfsTree& tree, const PciDeviceInfo& device, absl::string_view driver,
                   const Environment& env, bool unbind_kernel_driver);

// Shell commands, as root through sudo (Documentation/ABI/testing/sysfs-bus-pci).
std::string unbind_command(const SysfsTree& tree, const PciDeviceInfo& device);
std::string bind_vfio_commands(const SysfsTree& tree, const PciDeviceInfo& device);

// "Intel 82599ES 10 GbE (SFI/SFP+)", or "network controller" for others.
std::string describe_model(const PciDeviceInfo& device);

}  // namespace safenic::pci
