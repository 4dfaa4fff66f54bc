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
#include "nic/pci/sysfs.h"
#include "nic/pci/vfio.h"
#include "nic/pci_function.h"

namespace safenic::pci {

class VfioFunction final : public PciFunction {
 public:
  // Gets the device fd from its IOMMU group, checks the device is present
  // and enables bus mastering. BARs are mapped on first use.
  static absl::StatusOr<std::unique_ptr<VfioFunction>> open(
      const PciDeviceInfo& device, std::shared_ptr<VfioContainer> container);

  std::string name() const override { return device_.address; }
  PciId id() const override { return device_.id; }
  absl::StatusOr<Bar*> bar(int index) override;
  absl::StatusOr<uint32_t> config_read32(uint32_t offset) override {
    return config_.read32(offset);
  }
  const DmaAllocator& dma() const override { return dma_; }

 private:
  VfioFunction(const PciDeviceInfo& device, std::shared_ptr<VfioContainer> container,
               Fd device_fd);
  absl::StatusOr<std::unique_ptr<MappedBar>> map_bar(int index);

  PciDeviceInfo device_;
  std::shared_ptr<VfioContainer> container_;
  Fd device_fd_;
  ConfigSpace config_;
  DmaAllocator dma_;
  std::array<std::unique_ptr<MappedBar>, 6> bars_;  // destroyed before device_fd_
};

}  // namespace safenic::pci
