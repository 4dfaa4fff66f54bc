// The sysfs/uio way to a PCI device, emulated in user space: what a program
// does to drive a NIC bound to uio_pci_generic (DPDK's uio path, safenic's
// sysfs path), answered by simulated PCI functions. The program's files are
// real (the launcher's sysfs tree; /proc/self/pagemap), so fstat, lseek and
// close work on them as usual; this class answers the calls that reach the
// device:
//
//   - <device directory>/config, and /sys/class/uio/uioN/device/config (the
//     path DPDK builds): pread and pwrite of the configuration space (Linux
//     Documentation/PCI/sysfs-pci.rst);
//   - <device directory>/resourceN: mmap of a memory BAR, as trapped MMIO
//     (sim/trap); pread and pwrite of an I/O BAR (Linux serves those with
//     port instructions); a memory BAR's file has no read or write (EINVAL);
//   - /dev/uioN (Documentation/driver-api/uio-howto.rst): opens, as an
//     eventfd; its interrupt never fires (the models raise none yet);
//   - /proc/self/pagemap (Documentation/admin-guide/mm/pagemap.rst): the
//     program's physical addresses, made up as a kernel would hand them out.
//     The first read of a resident page gives it a physical page of its own
//     size (the whole hugepage when it lies in a hugepage mapping: MAP_HUGETLB,
//     a hugetlbfs file or memfd; else 4 KiB), aligned to that size, from 4 GiB
//     up (within what a legacy virtio device's 32-bit page number reaches),
//     never next to the one before: pages are contiguous in physical memory
//     only within a hugepage, as on a real machine, so a driver that assumes
//     more is caught. That physical page is admitted to the simulated IOMMU
//     at its address: a model's DMA reaches only memory whose physical
//     address the program asked for, as long as it stays mapped (munmap, or a
//     new mapping over it, takes it out again). Pages the kernel would not
//     show as present (not resident, unmapped) read as not present, with no
//     frame number, as they would on Linux.
//
// Calls come in from one thread at a time (the launcher's shim serializes
// them); the program's own calls to open, mmap and so on reach the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/vfio/emulated_function.h"

namespace safenic::sim {

struct EmulatedUioDevice {
  EmulatedPciDevice pci;  // (its iommu_group is not used)
  int uio_number = 0;     // /dev/uioN
  // Every name of its sysfs directory the program may use, e.g.
  // $SYSFS_PCI_DEVICES/0000:00:04.0 and the directory that link points to.
  std::vector<std::string> directories;
};

class EmulatedUio {
 public:
  EmulatedUio(SimContext context, std::vector<EmulatedUioDevice> devices);
  ~EmulatedUio();
  EmulatedUio(const EmulatedUio&) = delete;
  EmulatedUio& operator=(const EmulatedUio&) = delete;

  // The system calls on the files above, each answering as the kernel would
  // (-1 or MAP_FAILED with errno set on failure). open() returns kNotMine for
  // any other path: the caller then makes the real call.
  static constexpr int kNotMine = -2;
  int open(const char* path, int flags);
  bool owns(int fd) const { return fds_.count(fd) != 0; }
  int close(int fd);
  void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset);
  ssize_t pread(int fd, void* buf, size_t len, off_t offset);
  ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset);
  ssize_t read(int fd, void* buf, size_t len);

  // What the program maps and unmaps elsewhere. munmap(), before the
  // program's munmap or MAP_FIXED mmap: the BAR mappings starting in the
  // range are undone (the caller then makes the real call), and the range's
  // pages leave the IOMMU. mapped(), after each successful mmap: a hugepage
  // mapping is remembered for its page size, and whatever the range held
  // before is forgotten.
  void munmap(void* addr, size_t len);
  void mapped(void* addr, size_t len, int flags, int fd);

  // Accesses served by trapping, over all BAR mappings so far.
  uint64_t trapped_accesses() const { return bars_.trapped_accesses(); }
  // Where the physical addresses start (4 GiB: above what a 32-bit DMA
  // address reaches, as on a machine with more memory than that).
  static constexpr uint64_t kFirstPhysicalAddress = uint64_t{1} << 32;
  // Pagemap entries read; the bytes of program memory the IOMMU admits now,
  // and the most it admitted at once.
  uint64_t pagemap_entries_read() const { return pagemap_entries_; }
  uint64_t admitted_bytes() const;
  uint64_t most_admitted_bytes() const { return most_admitted_; }

 private:
  enum class Kind { kConfig, kResource, kUio, kPagemap };
  struct Open {
    Kind kind;
    EmulatedFunction* function = nullptr;  // kConfig, kResource
    int bar = -1;                          // kResource
  };
  struct Device {
    EmulatedFunction function;
    int uio_number;
    std::vector<std::string> directories;
  };

  ssize_t pagemap(void* buf, size_t len, uint64_t offset);
  // The physical address of the resident page at `va`, admitted to the IOMMU
  // with its whole page on first use; 0 when it cannot be.
  uint64_t physical_address(uintptr_t va);
  // Takes [begin, end) out of the IOMMU (what remains of a page stays in)
  // and out of the hugepage mappings.
  void forget(uintptr_t begin, uintptr_t end);
  void forget_huge(uintptr_t begin, uintptr_t end);
  // The page size of the mapping holding `va` (a hugepage's, or 4 KiB).
  uint64_t page_size_at(uintptr_t va) const;

  SimContext context_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::map<int, Open> fds_;
  BarMappings bars_;
  struct Admitted {  // a page (or what remains of it) and its physical address: one IOMMU region
    uintptr_t end;
    uint64_t physical;
  };
  std::map<uintptr_t, Admitted> admitted_;  // by virtual address
  uint64_t next_physical_ = kFirstPhysicalAddress;
  struct HugeMapping {
    uintptr_t end;
    uint64_t page_size;
  };
  std::map<uintptr_t, HugeMapping> huge_;  // begin -> mapping
  uint64_t pagemap_entries_ = 0;
  uint64_t most_admitted_ = 0;
};

}  // namespace safenic::sim
