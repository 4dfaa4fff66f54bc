// Syscalls: the system calls nic/pci makes on device files, behind virtual
// functions so tests can stand in for a kernel they do not have (no /dev/vfio
// on CI machines) and make each call fail. The base class makes the real
// calls; a test fake overrides only what it needs. Errors are reported the
// POSIX way: -1 (or MAP_FAILED) with errno set.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <utility>

namespace safenic::pci {

class Syscalls {
 public:
  virtual ~Syscalls() = default;

  virtual uid_t geteuid();
  virtual int open(const char* path, int flags);
  virtual int close(int fd);
  virtual int ioctl(int fd, unsigned long request, void* arg);
  // ioctl with an integer argument (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU).
  virtual int ioctl_value(int fd, unsigned long request, unsigned long arg);
  virtual void* mmap(size_t len, int prot, int flags, int fd, off_t offset);
  virtual int munmap(void* addr, size_t len);
  virtual ssize_t pread(int fd, void* buf, size_t len, off_t offset);
  virtual ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset);
  // Size of the file behind `fd` (a sysfs resourceN file is as large as its
  // BAR), or -1.
  virtual off_t file_size(int fd);

  // The real system calls, shared by every device.
  static std::shared_ptr<Syscalls> real();
};

// An owned file descriptor, closed through the Syscalls that opened it.
class Fd {
 public:
  Fd() = default;
  Fd(std::shared_ptr<Syscalls> sys, int fd) : sys_(std::move(sys)), fd_(fd) {}
  Fd(Fd&& o) noexcept : sys_(std::move(o.sys_)), fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      sys_ = std::move(o.sys_);
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) sys_->close(fd_);
    fd_ = -1;
  }

 private:
  std::shared_ptr<Syscalls> sys_;
  int fd_ = -1;
};

}  // namespace safenic::pci
