#include "nic/pci/syscalls.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace safenic::pci {

uid_t Syscalls::geteuid() { return ::geteuid(); }
int Syscalls::open(const char* path, int flags) { return ::open(path, flags | O_CLOEXEC); }
int Syscalls::close(int fd) { return ::close(fd); }
int Syscalls::ioctl(int fd, unsigned long request, void* arg) { return ::ioctl(fd, request, arg); }
int Syscalls::ioctl_value(int fd, unsigned long request, unsigned long arg) {
  return ::ioctl(fd, request, arg);
}
void* Syscalls::mmap(size_t len, int prot, int flags, int fd, off_t offset) {
  return ::mmap(nullptr, len, prot, flags, fd, offset);
}
int Syscalls::munmap(void* addr, size_t len) { return ::munmap(addr, len); }
ssize_t Syscalls::pread(int fd, void* buf, size_t len, off_t offset) {
  return ::pread(fd, buf, len, offset);
}
ssize_t Syscalls::pwrite(int fd, const void* buf, size_t len, off_t offset) {
  return ::pwrite(fd, buf, len, offset);
}
off_t Syscalls::file_size(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

std::shared_ptr<Syscalls> Syscalls::real() {
  static const std::shared_ptr<Syscalls>* real = new std::shared_ptr<Syscalls>(new Syscalls());
  return *real;
}

}  // namespace safenic::pci
