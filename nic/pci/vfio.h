// VFIO (Linux Documentation/driver-api/vfio.rst): the kernel hands a device's
// IOMMU group to user space. A container holds the IOMMU context; groups join
// it; a device fd comes from its group. DMA memory is mapped into the
// container at IOVAs the container hands out from the ranges the IOMMU can
// translate (VFIO_IOMMU_GET_INFO's IOVA-range capability), so the device
// reaches exactly the memory mapped for it, and nothing else. Not IOVA = VA:
// a user-space address is 47 bits wide, and an IOMMU may translate fewer
// (QEMU's emulated VT-d: 39; found on a real kernel by tests/vm).
//
// One container per process: every device's group joins it, so memory mapped
// for one device (a packet received on port 0) is reachable by every other
// (sent on port 1), as with ixy. The type-1 IOMMU replays existing mappings
// into a group that joins later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "mem/iova.h"
#include "nic/pci/syscalls.h"

namespace safenic::pci {

inline constexpr char kVfioDir[] = "/dev/vfio";

class VfioContainer {
 public:
  // The process's container for `vfio_dir` (normally /dev/vfio), opened on
  // first use and shared while anyone holds it.
  static absl::StatusOr<std::shared_ptr<VfioContainer>> shared(
      std::shared_ptr<Syscalls> sys, const std::string& vfio_dir = kVfioDir);

  // The fd of device `address` in IOMMU group `group`. The group is opened,
  // checked viable and added to the container on first use; the first group
  // sets the container's IOMMU model (type 1).
  absl::StatusOr<Fd> open_device(int group, absl::string_view address);

  // VFIO_IOMMU_MAP_DMA at the next free IOVA (aligned to 2 MiB for regions
  // of whole 2 MiB pages, else 4 KiB); read and write for the device.
  absl::StatusOr<uint64_t> map_dma(void* va, size_t len, absl::string_view tag);
  void unmap_dma(uint64_t iova, size_t len);

  // An IOVA range [start, end] the IOMMU translates.
  struct IovaRange {
    uint64_t start, end;  // inclusive, as VFIO reports them
  };
  // What the container hands IOVAs out of: the IOMMU's ranges (or, when the
  // kernel does not report them, [4 GiB, 512 GiB): above the x86 MSI window,
  // within the narrowest IOMMU width in use).
  std::vector<IovaRange> iova_ranges() const;

  const std::shared_ptr<Syscalls>& sys() const { return sys_; }

  VfioContainer(std::shared_ptr<Syscalls> sys, std::string dir, Fd fd)
      : sys_(std::move(sys)), dir_(std::move(dir)), fd_(std::move(fd)) {}

 private:
  absl::StatusOr<int> group_fd(int group, absl::string_view address)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::shared_ptr<Syscalls> sys_;
  std::string dir_;
  Fd fd_;
  mutable absl::Mutex mu_;
  void read_iova_ranges() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::map<int, Fd> groups_ ABSL_GUARDED_BY(mu_);  // live as long as the container
  bool iommu_set_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<IovaRange> iova_ranges_ ABSL_GUARDED_BY(mu_);
  // IOVAs are handed out upwards and not reused: the ranges are hundreds of
  // GiB, a process maps its DMA memory once.
  uint64_t next_iova_ ABSL_GUARDED_BY(mu_) = 0;
};

// The IovaMapper for devices behind VFIO: DmaRegions map themselves into the
// container, which lives as long as any region does.
class VfioMapper final : public IovaMapper {
 public:
  explicit VfioMapper(std::shared_ptr<VfioContainer> container)
      : container_(std::move(container)) {}
  absl::StatusOr<uint64_t> map(void* va, size_t len, absl::string_view tag) override {
    return container_->map_dma(va, len, tag);
  }
  void unmap(uint64_t iova, size_t len) override { container_->unmap_dma(iova, len); }
  absl::string_view name() const override { return "vfio"; }

 private:
  std::shared_ptr<VfioContainer> container_;
};

}  // namespace safenic::pci
