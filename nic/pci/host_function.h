// HostFunction: what the two ways of driving a real PCI device share (the
// sysfs/uio path, sysfs_function.h, and VFIO, vfio_function.h): its identity,
// configuration space, BARs mapped on first use, and DMA memory.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/mapped_bar.h"
#include "nic/pci/config_space.h"
#include "nic/pci/sysfs.h"
#include "nic/pci_function.h"

namespace safenic::pci {

class HostFunction : public PciFunction {
 public:
  std::string name() const override { return device_.address; }
  PciId id() const override { return device_.id; }
  absl::StatusOr<Bar*> bar(int index) final {
    if (index < 0 || index >= static_cast<int>(bars_.size())) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: there is no BAR %d; BARs are 0 to 5", name(), index));
    }
    if (bars_[index] == nullptr) {
      SAFENIC_ASSIGN_OR_RETURN(auto bar, map_bar(index));
      bars_[index] = std::move(bar);
    }
    return bars_[index].get();
  }
  absl::StatusOr<uint32_t> config_read32(uint32_t offset) override {
    return config_.read32(offset);
  }
  const DmaAllocator& dma() const override { return dma_; }

 protected:
  HostFunction(const PciDeviceInfo& device, DmaAllocator dma)
      : device_(device), dma_(std::move(dma)) {}
  // Maps BAR `index`; called once per BAR.
  virtual absl::StatusOr<std::unique_ptr<Bar>> map_bar(int index) = 0;
  // Checks that the device answers and enables bus mastering.
  absl::Status start() {
    SAFENIC_RETURN_IF_ERROR(config_.check_present());
    return config_.enable_bus_master();
  }
  // Unmaps the BARs (derived classes do it before closing their fds).
  void unmap_bars() {
    for (auto& b : bars_) b.reset();
  }

  PciDeviceInfo device_;
  ConfigSpace config_;
  DmaAllocator dma_;

 private:
  std::array<std::unique_ptr<Bar>, 6> bars_;
};

}  // namespace safenic::pci
