// VFIO emulated in user space: the kernel's VFIO interface (the container,
// group and device file descriptors of include/uapi/linux/vfio.h, as
// Documentation/driver-api/vfio.rst describes them) answered by simulated PCI
// functions. A program that drives devices through /dev/vfio (DPDK's PMDs,
// safenic's own nic/pci) then drives safenic's models unchanged:
//
//   - open() of <vfio_dir>/vfio and <vfio_dir>/<group> gives a container and
//     a group; VFIO_GROUP_GET_DEVICE_FD gives a device.
//   - The type-1 IOMMU: VFIO_IOMMU_MAP_DMA maps the program's memory into the
//     simulation's checked Iommu at the IOVA the program chose (map_at), so
//     every DMA the models make is checked as in any test; VFIO_IOMMU_GET_INFO
//     gives the IOVA ranges it accepts.
//   - Regions: each BAR is mmap-able as trapped MMIO (sim/trap), its loads
//     and stores reaching the model through a SimulatedBar's checks; pread and
//     pwrite reach the BARs (I/O port BARs only so) and the configuration
//     space.
//   - Interrupts: VFIO_DEVICE_GET_IRQ_INFO and SET_IRQS are answered and the
//     eventfds kept; the models raise no interrupts yet.
//
// The file descriptors are real (eventfds), so a program may poll or close
// them like any other; the emulator answers only for the ones it made. Calls
// come in from one thread at a time (the launcher's shim serializes them).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/model.h"
#include "sim/vfio/emulated_function.h"

namespace safenic::sim {

class EmulatedVfio {
 public:
  EmulatedVfio(SimContext context, std::vector<EmulatedPciDevice> devices, std::string vfio_dir);
  ~EmulatedVfio();
  EmulatedVfio(const EmulatedVfio&) = delete;
  EmulatedVfio& operator=(const EmulatedVfio&) = delete;

  // The system calls, each answering as the kernel would (-1 or MAP_FAILED
  // with errno set on failure). open() returns kNotMine for a path outside
  // the VFIO directory: the caller then makes the real call. munmap() undoes
  // the BAR mappings inside the range and returns how many (the caller then
  // unmaps the rest of the range itself).
  static constexpr int kNotMine = -2;
  int open(const char* path, int flags);
  // Whether open() would give a descriptor for `path` (access() and stat()).
  bool exists(const char* path) const;
  bool owns(int fd) const { return fds_.count(fd) != 0; }
  int close(int fd);
  // `arg`: a pointer to the request's structure, or the integer argument of
  // VFIO_CHECK_EXTENSION and VFIO_SET_IOMMU.
  int ioctl(int fd, unsigned long request, uintptr_t arg);
  void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset);
  int munmap(void* addr, size_t len);
  ssize_t pread(int fd, void* buf, size_t len, off_t offset);
  ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset);

  const SimContext& context() const { return context_; }
  // Accesses served by trapping, over all BAR mappings so far.
  uint64_t trapped_accesses() const { return mappings_.trapped_accesses(); }

 private:
  enum class Kind { kContainer, kGroup, kDevice };
  struct Device;
  struct Open {
    explicit Open(Kind k, int g = -1, Device* d = nullptr) : kind(k), group(g), device(d) {}
    Kind kind;
    int group = -1;            // kGroup
    int container = -1;        // kGroup: the container it was added to (-1: none)
    Device* device = nullptr;  // kDevice
    // kContainer: VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU once set, and its
    // VFIO_IOMMU_MAP_DMA mappings (iova -> size).
    int iommu_type = 0;
    std::map<uint64_t, uint64_t> dma;
  };

  int new_fd(Open o);
  void leave_container(Open& group);
  int container_ioctl(int fd, Open& o, unsigned long request, uintptr_t arg);
  int group_ioctl(Open& o, unsigned long request, uintptr_t arg);
  int device_ioctl(Device& d, unsigned long request, uintptr_t arg);
  ssize_t region_access(Device& d, Transfer t, off_t offset);

  SimContext context_;
  std::string vfio_dir_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::map<int, Open> fds_;
  BarMappings mappings_;
};

}  // namespace safenic::sim
