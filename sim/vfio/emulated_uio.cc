#include "sim/vfio/emulated_uio.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "sim/iommu.h"

namespace safenic::sim {

namespace {

constexpr uint64_t kPage = 4096;
// pagemap.rst: one 64-bit entry per virtual page; bit 63 "page present",
// bits 0-54 the page frame number.
constexpr uint64_t kPagemapEntry = 8;
constexpr uint64_t kPagePresent = uint64_t{1} << 63;
constexpr char kAdmittedTag[] =
    "program memory whose physical address it read from /proc/self/pagemap";

int fail(int err) {
  errno = err;
  return -1;
}

// The default hugepage size (/proc/meminfo's Hugepagesize), which MAP_HUGETLB
// gives without a MAP_HUGE_* size; 2 MiB on x86-64 unless the kernel was
// booted with another default.
uint64_t default_hugepage_size() {
  uint64_t kib = 2048;
  if (FILE* f = std::fopen("/proc/meminfo", "re"); f != nullptr) {
    char line[128];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      unsigned long v = 0;
      if (std::sscanf(line, "Hugepagesize: %lu kB", &v) == 1) kib = v;
    }
    std::fclose(f);
  }
  return kib * 1024;
}

}  // namespace

EmulatedUio::EmulatedUio(SimContext context, std::vector<EmulatedUioDevice> devices)
    : context_(std::move(context)) {
  for (EmulatedUioDevice& spec : devices) {
    auto d = std::unique_ptr<Device>(new Device{EmulatedFunction(std::move(spec.pci), context_),
                                                spec.uio_number, std::move(spec.directories)});
    // DPDK opens the configuration space by its uio class path.
    d->directories.push_back(absl::StrCat("/sys/class/uio/uio", d->uio_number, "/device"));
    devices_.push_back(std::move(d));
  }
}

EmulatedUio::~EmulatedUio() {
  bars_ = BarMappings();
  for (const auto& [fd, o] : fds_) ::close(fd);
}

int EmulatedUio::open(const char* path, int flags) {
  const absl::string_view p(path);
  for (const auto& d : devices_) {
    if (p == absl::StrCat("/dev/uio", d->uio_number)) {
      const int fd = eventfd(
          0, ((flags & O_CLOEXEC) ? EFD_CLOEXEC : 0) | ((flags & O_NONBLOCK) ? EFD_NONBLOCK : 0));
      if (fd < 0) return -1;
      fds_[fd] = {Kind::kUio};
      return fd;
    }
    for (const std::string& dir : d->directories) {
      if (!absl::StartsWith(p, dir) || p.size() <= dir.size() || p[dir.size()] != '/') continue;
      absl::string_view file = p.substr(dir.size() + 1);
      // The launcher's files stand behind both (the first directory is its own).
      const std::string real = absl::StrCat(d->directories.front(), "/", file);
      int bar = -1;
      if (file == "config") {
        const int fd = ::open(real.c_str(), flags);
        if (fd >= 0) fds_[fd] = {Kind::kConfig, &d->function};
        return fd;
      }
      if (absl::ConsumePrefix(&file, "resource") && file.size() == 1 &&
          absl::SimpleAtoi(file, &bar) && bar >= 0 && bar <= 5) {
        if (d->function.bar_size(bar) == 0) return fail(ENOENT);
        const int fd = ::open(real.c_str(), flags);
        if (fd >= 0) fds_[fd] = {Kind::kResource, &d->function, bar};
        return fd;
      }
      return kNotMine;  // the tree's other files are what the launcher wrote
    }
  }
  if (p == "/proc/self/pagemap") {
    const int fd = ::open(path, flags);
    if (fd >= 0) fds_[fd] = {Kind::kPagemap};
    return fd;
  }
  return kNotMine;
}

int EmulatedUio::close(int fd) {
  if (fds_.erase(fd) == 0) return fail(EBADF);
  return ::close(fd);
}

void* EmulatedUio::mmap(void* addr, size_t len, int /*prot*/, int flags, int fd, off_t offset) {
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second.kind != Kind::kResource) return (errno = EINVAL), MAP_FAILED;
  return bars_.map(*it->second.function, it->second.bar, addr, len, flags,
                   static_cast<uint64_t>(offset));
}

ssize_t EmulatedUio::pread(int fd, void* buf, size_t len, off_t offset) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return fail(EBADF);
  const Open& o = it->second;
  if (offset < 0) return fail(EINVAL);
  switch (o.kind) {
    case Kind::kConfig:
      return o.function->config_access(Transfer::read_into(buf, len),
                                       static_cast<uint64_t>(offset));
    case Kind::kResource:  // Linux reads an I/O BAR's file with port instructions; a memory BAR's
                           // has no read
      if (!o.function->io_bar(o.bar)) return fail(EINVAL);
      return o.function->bar_access(o.bar, Transfer::read_into(buf, len),
                                    static_cast<uint64_t>(offset));
    case Kind::kPagemap: return pagemap(buf, len, static_cast<uint64_t>(offset));
    case Kind::kUio: return fail(ESPIPE);
  }
  return fail(EINVAL);
}

ssize_t EmulatedUio::pwrite(int fd, const void* buf, size_t len, off_t offset) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return fail(EBADF);
  const Open& o = it->second;
  if (offset < 0) return fail(EINVAL);
  const Transfer data = Transfer::write_from(buf, len);
  switch (o.kind) {
    case Kind::kConfig: return o.function->config_access(data, static_cast<uint64_t>(offset));
    case Kind::kResource:
      if (!o.function->io_bar(o.bar)) return fail(EINVAL);
      return o.function->bar_access(o.bar, data, static_cast<uint64_t>(offset));
    case Kind::kPagemap:
      return fail(EBADF);  // opened for reading only (the kernel's file has no write)
    case Kind::kUio: return fail(ESPIPE);
  }
  return fail(EINVAL);
}

ssize_t EmulatedUio::read(int fd, void* buf, size_t len) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return fail(EBADF);
  if (it->second.kind == Kind::kUio) {
    // uio-howto.rst: a read of 4 bytes blocks until an interrupt and gives
    // the interrupt count. The eventfd gives 8 bytes, and nothing signals it.
    if (len != 4) return fail(EINVAL);
    uint64_t count = 0;
    if (::read(fd, &count, sizeof count) < 0) return -1;
    const uint32_t n = static_cast<uint32_t>(count);
    std::memcpy(buf, &n, sizeof n);
    return 4;
  }
  // The others read at the file offset, which the kernel keeps (lseek works).
  const off_t at = ::lseek(fd, 0, SEEK_CUR);
  if (at < 0) return -1;
  const ssize_t n = pread(fd, buf, len, at);
  if (n > 0) ::lseek(fd, at + n, SEEK_SET);
  return n;
}

ssize_t EmulatedUio::pagemap(void* buf, size_t len, uint64_t offset) {
  // The kernel's pagemap_read: whole entries only.
  if (offset % kPagemapEntry != 0 || len % kPagemapEntry != 0) return fail(EINVAL);
  auto* out = static_cast<uint64_t*>(buf);
  for (size_t i = 0; i < len / kPagemapEntry; ++i) {
    const uint64_t vpn = offset / kPagemapEntry + i;
    const uint64_t physical = vpn < (uint64_t{1} << 36) ? physical_address(vpn * kPage) : 0;
    const uint64_t entry = physical != 0 ? kPagePresent | physical / kPage : 0;
    std::memcpy(out + i, &entry, sizeof entry);
    ++pagemap_entries_;
  }
  return static_cast<ssize_t>(len);
}

uint64_t EmulatedUio::physical_address(uintptr_t va) {
  auto it = admitted_.upper_bound(va);
  if (it != admitted_.begin() && va < std::prev(it)->second.end) {
    --it;
    return it->second.physical + (va - it->first);
  }
  // mincore: ENOMEM for an unmapped page, bit 0 clear for one not in memory.
  unsigned char resident = 0;
  if (mincore(reinterpret_cast<void*>(va), kPage, &resident) != 0 || (resident & 1) == 0) return 0;
  const uint64_t size = page_size_at(va);
  const uintptr_t begin = va / size * size;
  // A physical page of the same size, aligned to it, with a gap before it.
  const uint64_t physical = (next_physical_ + size - 1) / size * size;
  SimLock lock(context_);
  const absl::Status s =
      context_.iommu->map_at(physical, reinterpret_cast<void*>(begin), size, kAdmittedTag);
  if (!s.ok()) {
    context_.log->report(
        absl::StrFormat("/proc/self/pagemap: the program's page at 0x%x (%d bytes) cannot be "
                        "admitted to the simulated "
                        "IOMMU at physical address 0x%x (%s); it reads as not present",
                        begin, size, physical, s.message()));
    return 0;
  }
  next_physical_ = physical + size + kPage;
  admitted_[begin] = {begin + size, physical};
  most_admitted_ = std::max(most_admitted_, admitted_bytes());
  return physical + (va - begin);
}

void EmulatedUio::forget(uintptr_t begin, uintptr_t end) {
  forget_huge(begin, end);
  auto it = admitted_.upper_bound(begin);
  if (it != admitted_.begin() && std::prev(it)->second.end > begin) --it;
  if (it == admitted_.end() || it->first >= end) return;
  SimLock lock(context_);
  std::vector<std::pair<uintptr_t, Admitted>> remains;
  while (it != admitted_.end() && it->first < end) {
    const uintptr_t b = it->first;
    const Admitted a = it->second;
    context_.iommu->unmap(a.physical, a.end - b);
    if (b < begin) remains.push_back({b, {begin, a.physical}});
    if (a.end > end) remains.push_back({end, {a.end, a.physical + (end - b)}});
    it = admitted_.erase(it);
  }
  for (const auto& [b, a] : remains) {
    if (context_.iommu->map_at(a.physical, reinterpret_cast<void*>(b), a.end - b, kAdmittedTag)
            .ok()) {
      admitted_[b] = a;
    }
  }
}

uint64_t EmulatedUio::page_size_at(uintptr_t va) const {
  auto it = huge_.upper_bound(va);
  if (it == huge_.begin()) return kPage;
  --it;
  return va < it->second.end ? it->second.page_size : kPage;
}

void EmulatedUio::munmap(void* addr, size_t len) {
  bars_.unmap(addr, len);
  const uintptr_t begin = reinterpret_cast<uintptr_t>(addr);
  forget(begin, begin + len);
}

void EmulatedUio::mapped(void* addr, size_t len, int flags, int fd) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(addr), end = begin + len;
  forget(begin, end);  // whatever was there is gone
  uint64_t page = 0;
  if (flags & MAP_HUGETLB) {
    const int shift = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    static const uint64_t default_size = default_hugepage_size();
    page = shift != 0 ? uint64_t{1} << shift : default_size;
  } else if (fd >= 0) {
    struct statfs fs;
    if (fstatfs(fd, &fs) == 0 && static_cast<uint64_t>(fs.f_type) == HUGETLBFS_MAGIC) {
      page =
          static_cast<uint64_t>(fs.f_bsize);  // a hugetlbfs file, or a memfd made with MFD_HUGETLB
    }
  }
  if (page != 0) huge_[begin] = {end, page};
}

void EmulatedUio::forget_huge(uintptr_t begin, uintptr_t end) {
  auto it = huge_.upper_bound(begin);
  if (it != huge_.begin() && std::prev(it)->second.end > begin) --it;
  std::vector<std::pair<uintptr_t, HugeMapping>> remains;
  while (it != huge_.end() && it->first < end) {
    if (it->first < begin) remains.push_back({it->first, {begin, it->second.page_size}});
    if (it->second.end > end) remains.push_back({end, it->second});
    it = huge_.erase(it);
  }
  for (const auto& [b, m] : remains) huge_[b] = m;
}

uint64_t EmulatedUio::admitted_bytes() const {
  uint64_t n = 0;
  for (const auto& [begin, a] : admitted_) n += a.end - begin;
  return n;
}

}  // namespace safenic::sim
