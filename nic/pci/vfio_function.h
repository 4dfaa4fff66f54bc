// VfioFunction: a PCI device bound to vfio-pci, driven through its VFIO
// device fd (Documentation/driver-api/vfio.rst): BARs and configuration space
// are regions of that fd (VFIO_DEVICE_GET_REGION_INFO; include/uapi/linux/
// vfio.h numbers them VFIO_PCI_BAR0_REGION_INDEX.. and
// VFIO_PCI_CONFIG_REGION_INDEX), BARs are mmap'ed, and DMA memory (2 MiB
// hugepages) is mapped into the IOMMU with IOVA = VA. Needs no root: only
// access to /dev/vfio/<group> and a locked-memory limit large enough.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nic/mapped_bar.h"
#include "nic/pci/config_space.h"
#include "nic/pci/host_function.h"
#include "nic/pci/sysfs.h"
#include "nic/pci/vfio.h"
#include "nic/pci_function.h"

namespace safenic::pci {

class VfioFunction final : public HostFunction {
 public:
  // Gets the device fd from its IOMMU group, checks the device is present
  // and enables bus mastering. BARs are mapped on first use.
  static absl::StatusOr<std::unique_ptr<VfioFunction>> open(
      const PciDeviceInfo& device, std::shared_ptr<VfioContainer> container);
  ~VfioFunction() override { unmap_bars(); }  // before device_fd_ closes

 private:
  VfioFunction(const PciDeviceInfo& device, std::shared_ptr<VfioContainer> container,
               Fd device_fd);
  absl::StatusOr<std::unique_ptr<Bar>> map_bar(int index) override;

  std::shared_ptr<VfioContainer> container_;
  Fd device_fd_;
};

}  // namespace safenic::pci
