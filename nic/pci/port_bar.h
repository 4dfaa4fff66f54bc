// PortBar: a BAR in I/O port space (a legacy or transitional virtio device's
// BAR0), which no one can map: each access is a pread or pwrite of its width
// on a file the kernel serves it through. VFIO: the BAR's region of the
// device fd (as DPDK does for legacy virtio). sysfs: the BAR's resourceN file,
// which Linux serves with port instructions (x86). Slow, and fine: a legacy
// driver touches its registers at set-up and at each notification.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "nic/bar.h"
#include "nic/pci/syscalls.h"

namespace safenic::pci {

class PortBar final : public Bar {
 public:
  // `fd` serves the BAR's bytes from `base`; `owned` keeps it open (may be empty).
  PortBar(std::shared_ptr<Syscalls> sys, int fd, off_t base, size_t size, Fd owned = {})
      : sys_(std::move(sys)), fd_(fd), base_(base), size_(size), owned_(std::move(owned)) {}

  uint8_t read8(uint32_t offset) override { return read<uint8_t>(offset); }
  uint16_t read16(uint32_t offset) override { return read<uint16_t>(offset); }
  uint32_t read32(uint32_t offset) override { return read<uint32_t>(offset); }
  // I/O port space has no 8-byte accesses: two 4-byte ones, low half first.
  uint64_t read64(uint32_t offset) override {
    return read<uint32_t>(offset) | uint64_t{read<uint32_t>(offset + 4)} << 32;
  }
  void write8(uint32_t offset, uint8_t value) override { write(offset, value); }
  void write16(uint32_t offset, uint16_t value) override { write(offset, value); }
  void write32(uint32_t offset, uint32_t value) override { write(offset, value); }
  void write64(uint32_t offset, uint64_t value) override {
    write(offset, static_cast<uint32_t>(value));
    write(offset + 4, static_cast<uint32_t>(value >> 32));
  }
  size_t size() const override { return size_; }

 private:
  // A failed access reads all ones, as a read of a device that is gone does;
  // a failed write is lost, as it would be.
  template <typename W>
  W read(uint32_t offset) {
    W v;
    const ssize_t got = sys_->pread(fd_, &v, sizeof v, base_ + offset);
    return got == static_cast<ssize_t>(sizeof v) ? v : static_cast<W>(~W{0});
  }
  template <typename W>
  void write(uint32_t offset, W v) {
    (void)sys_->pwrite(fd_, &v, sizeof v, base_ + offset);
  }

  std::shared_ptr<Syscalls> sys_;
  int fd_;
  off_t base_;
  size_t size_;
  Fd owned_;
};

}  // namespace safenic::pci
