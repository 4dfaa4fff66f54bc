// One simulated PCI function as Linux's PCI drivers show it to a user-space
// driver: its configuration space and its BARs, read and written a few bytes
// at a time (vfio-pci's regions; sysfs's config and resourceN files), and its
// memory BARs mapped into the program as trapped MMIO (sim/trap). Shared by
// the two ways a program reaches a device: EmulatedVfio (/dev/vfio) and
// EmulatedUio (sysfs files, /dev/uioN, /proc/self/pagemap).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "sim/model.h"
#include "sim/simulated_function.h"
#include "sim/trap/mmio_trap.h"

namespace safenic::sim {

struct EmulatedPciDevice {
  std::string address;  // "0000:00:04.0"
  int iommu_group = 0;  // VFIO: <vfio_dir>/<iommu_group>
  std::shared_ptr<DeviceModel> model;
};

// The program's side of a pread (bytes to fill) or a pwrite (bytes to take).
struct Transfer {
  uint8_t* into = nullptr;
  const uint8_t* from = nullptr;
  size_t len = 0;
  bool write = false;
  static Transfer read_into(void* buf, size_t len) {
    return {static_cast<uint8_t*>(buf), nullptr, len, false};
  }
  static Transfer write_from(const void* buf, size_t len) {
    return {nullptr, static_cast<const uint8_t*>(buf), len, true};
  }
};

class EmulatedFunction {
 public:
  // PCI Express configuration space (PCI Express Base spec, 7.2.2: 4 KiB).
  static constexpr uint32_t kConfigSize = 4096;

  EmulatedFunction(EmulatedPciDevice spec, const SimContext& context);

  const EmulatedPciDevice& spec() const { return spec_; }
  const std::string& address() const { return spec_.address; }
  SimulatedFunction& function() { return *function_; }

  // The configuration space as the model has it, with the command register
  // as the program last wrote it.
  uint32_t config_dword(uint32_t offset) const;
  // The MSI-X table size from the model's capability list (0: no MSI-X).
  uint32_t msix_vectors() const;
  bool io_bar(int index) const { return config_dword(0x10 + 4 * index) & 1; }
  uint64_t bar_size(int index) const { return spec_.model->bar_size(index); }

  // pread/pwrite of `len` bytes at `at`: the number of bytes, or -1 with
  // errno (EINVAL: outside the space or the BAR). The configuration space byte
  // by byte (the command register is kept; other writes are accepted and not
  // acted on); a BAR as Linux 6.1's vfio-pci does it (vfio_pci_core_do_io_rw)
  // and as sysfs's resource files of I/O BARs do: any length, in naturally
  // aligned accesses of 4, 2 or 1 bytes through its SimulatedBar.
  ssize_t config_access(Transfer t, uint64_t at);
  ssize_t bar_access(int bar, Transfer t, uint64_t at);

 private:
  EmulatedPciDevice spec_;
  std::unique_ptr<SimulatedFunction> function_;
  uint16_t command_ = 0;
};

// Memory BARs mapped into the program with mmap(), each as trapped MMIO.
class BarMappings {
 public:
  // `len` bytes of memory BAR `bar` from its byte `within` (whole pages) at
  // `addr`: exactly there with MAP_FIXED in `flags`, else there if that range
  // is free (mmap's hint), else anywhere. The address, or MAP_FAILED with
  // errno (EINVAL: an I/O BAR, no such BAR, beyond its end).
  void* map(EmulatedFunction& f, int bar, void* addr, size_t len, int flags, uint64_t within);
  // Undoes the mappings that start inside [addr, addr + len); how many.
  int unmap(void* addr, size_t len);
  // Accesses served by trapping, over all mappings so far.
  uint64_t trapped_accesses() const;

 private:
  struct Mapping {
    std::unique_ptr<ForwardToBar> forward;
    std::unique_ptr<TrappedMmio> trap;
  };
  std::map<uintptr_t, Mapping> mappings_;  // by address
  uint64_t unmapped_traps_ = 0;            // traps of mappings since unmapped
};

}  // namespace safenic::sim
