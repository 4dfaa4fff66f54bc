// VfioFunction: a PCI device bound to vfio-pci, driven through its VFIO
// device fd (Documentation/driver-api/vfio.rst): BARs and configuration space
// are regions of that fd (VFIO_DEVICE_GET_REGION_INFO; include/uapi/linux/
// vfio.h numbers them VFIO_PCI_BAR0_REGION_INDEX.. and
// VFIO_PCI_CONFIG_REGION_INDEX), BARs are mmap'ed (or read and written, for
// I/O port space), and DMA memory (2 MiB hugepages) is mapped into the IOMMU
// (vfio.h). When the kernel wants the device back (a hot unplug), VFIO's
// device request sets removal_requested(). Needs no root: only access to
// /dev/vfio/<group> and a locked-memory limit large enough.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <thread>

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
  // and enables bus mastering. BARs are mapped on first use. DMA memory is
  // allocated with `dma` (PciOpenOptions::vfio_dma).
  static absl::StatusOr<std::unique_ptr<VfioFunction>> open(
      const PciDeviceInfo& device, std::shared_ptr<VfioContainer> container,
      Backing dma = Backing::kHugepage2M);
  ~VfioFunction() override;

 private:
  VfioFunction(const PciDeviceInfo& device, std::shared_ptr<VfioContainer> container, Fd device_fd,
               Backing dma);
  absl::StatusOr<std::unique_ptr<Bar>> map_bar(int index) override;
  // VFIO_PCI_REQ_IRQ_INDEX: an eventfd the kernel signals when it wants the
  // device back; a thread waits on it and calls request_removal(). Nothing
  // (and no thread) where the kernel offers no such interrupt.
  void watch_device_requests();

  std::shared_ptr<VfioContainer> container_;
  Fd device_fd_;
  int request_fd_ = -1, stop_fd_ = -1;
  std::thread watcher_;
};

}  // namespace safenic::pci
