// Device discovery through sysfs: one directory per PCI function under
// /sys/bus/pci/devices, named by its address (Linux
// Documentation/PCI/sysfs-pci.rst). From each we read the `vendor`, `device`
// and `class` attributes, the `driver` link (the kernel driver bound now) and
// the `iommu_group` link (Documentation/driver-api/vfio.rst: the group is the
// unit VFIO hands to user space). The root is a parameter, so tests run
// against a directory tree laid out the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nic/pci/syscalls.h"
#include "nic/pci_function.h"

namespace safenic::pci {

inline constexpr char kSysfsPciDevices[] = "/sys/bus/pci/devices";

// PCI Code and ID Assignment Specification: base class 0x02 is "network
// controller".
inline constexpr uint8_t kNetworkClass = 0x02;

struct PciDeviceInfo {
  std::string address;  // "0000:03:00.0"
  std::string path;     // its sysfs directory
  PciId id;
  uint32_t class_code = 0;              // base class, subclass, programming interface
  std::string kernel_driver;            // "" when no driver is bound
  int iommu_group = -1;                 // -1: no IOMMU (or it is off)
  std::vector<std::string> interfaces;  // kernel network interfaces, e.g. "eth0"

  uint8_t base_class() const { return static_cast<uint8_t>(class_code >> 16); }
  bool is_network() const { return base_class() == kNetworkClass; }
};

// "network controller", "mass storage controller", ... for a class code.
absl::string_view class_name(uint32_t class_code);

// Kernel drivers that leave a device to user space: vfio-pci (VFIO) and the
// uio drivers (which, like no driver at all, leave the sysfs resource files).
bool is_vfio_driver(absl::string_view kernel_driver);
bool is_uio_driver(absl::string_view kernel_driver);

class SysfsTree {
 public:
  explicit SysfsTree(std::string root = kSysfsPciDevices) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  // /sys/bus/pci: the parent of the devices directory (drivers_probe lives there).
  std::string bus_dir() const;

  // Every PCI function, sorted by address.
  absl::StatusOr<std::vector<PciDeviceInfo>> list() const;
  // One function by canonical address; NotFound names the network devices
  // that do exist.
  absl::StatusOr<PciDeviceInfo> find(absl::string_view address) const;
  // Detaches the bound kernel driver by writing the address to
  // <device>/driver/unbind (Documentation/ABI/testing/sysfs-bus-pci), then
  // checks that the `driver` link is gone.
  absl::Status unbind_kernel_driver(const PciDeviceInfo& device, Syscalls& sys) const;

 private:
  absl::StatusOr<PciDeviceInfo> read_device(const std::string& address) const;

  std::string root_;
};

// Small sysfs file helpers (also used for resource files).
absl::StatusOr<std::string> read_attribute(const std::string& path);
// The last component of a symlink's target ("ixgbe" for
// driver -> ../../../bus/pci/drivers/ixgbe), or "" if there is no link.
std::string link_basename(const std::string& path);

}  // namespace safenic::pci
