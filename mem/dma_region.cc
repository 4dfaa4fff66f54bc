#include "mem/dma_region.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/arena.h"
#include "mem/status.h"

namespace safenic {
namespace {

// HugePages_Free from /proc/meminfo, or -1.
long free_hugepages() {
  FILE* f = std::fopen("/proc/meminfo", "re");
  if (f == nullptr) return -1;
  char line[128];
  long value = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "HugePages_Free: %ld", &value) == 1) break;
  }
  std::fclose(f);
  return value;
}

absl::Status hugepage_error(size_t size, const char* what, int err) {
  const size_t pages = size / kHugepageSize;
  return absl::ResourceExhaustedError(
      absl::StrFormat("cannot get %d 2 MiB hugepage(s) for DMA memory (%s: %s; %ld free). "
                      "Reserve some as root, e.g. `echo %d | sudo tee "
                      "/proc/sys/vm/nr_hugepages`, and check /proc/meminfo",
                      pages, what, std::strerror(err), free_hugepages(), pages + 512));
}

}  // namespace

absl::StatusOr<DmaRegion> DmaRegion::allocate(size_t size, Backing backing,
                                              std::shared_ptr<IovaMapper> mapper,
                                              absl::string_view tag) {
  if (size == 0) return absl::InvalidArgumentError("DMA region of 0 bytes");
  if (mapper == nullptr) return absl::InvalidArgumentError("no IOVA mapper");
  const bool huge = backing == Backing::kHugepage2M;
  const size_t page = huge ? kHugepageSize : static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size = (size + page - 1) / page * page;

  DmaRegion r;
  r.backing_ = backing;
  r.tag_ = std::string(tag);
  const unsigned flags = MFD_CLOEXEC | (huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0);
  r.fd_ = memfd_create("safenic-dma", flags);
  if (r.fd_ < 0) {
    if (huge) return hugepage_error(size, "memfd_create(MFD_HUGETLB)", errno);
    return absl::ResourceExhaustedError(absl::StrFormat("memfd_create: %s", std::strerror(errno)));
  }
  if (ftruncate(r.fd_, static_cast<off_t>(size)) != 0) {
    if (huge) return hugepage_error(size, "ftruncate", errno);
    return absl::ResourceExhaustedError(
        absl::StrFormat("ftruncate(%d): %s", size, std::strerror(errno)));
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r.fd_, 0);
  if (p == MAP_FAILED) {
    if (huge) return hugepage_error(size, "mmap", errno);
    return absl::ResourceExhaustedError(
        absl::StrFormat("mmap of %d bytes of DMA memory: %s", size, std::strerror(errno)));
  }
  r.data_ = static_cast<uint8_t*>(p);
  r.size_ = size;
  // Hardware DMA needs pinned memory; hugetlb pages are never swapped, and
  // locking them makes the pinning explicit (and pagemap entries present).
  if (huge && mlock(p, size) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("mlock of %d bytes of DMA memory: %s; raise `ulimit -l` or run as root",
                        size, std::strerror(errno)));
  }
  SAFENIC_ASSIGN_OR_RETURN(auto iova, mapper->map(p, size, tag));
  r.iova_ = iova;
  r.mapper_ = std::move(mapper);
  return r;
}

DmaRegion::DmaRegion(DmaRegion&& other) noexcept { *this = std::move(other); }

DmaRegion& DmaRegion::operator=(DmaRegion&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    iova_ = std::exchange(other.iova_, 0);
    fd_ = std::exchange(other.fd_, -1);
    fd_offset_ = std::exchange(other.fd_offset_, 0);
    backing_ = other.backing_;
    mapper_ = std::move(other.mapper_);
    arena_ = std::move(other.arena_);
    tag_ = std::move(other.tag_);
  }
  return *this;
}

DmaRegion::~DmaRegion() { release(); }

void DmaRegion::release() {
  if (arena_ != nullptr) {  // a slice: the arena owns the memory and mapping
    arena_->release(fd_offset_, size_);
    arena_.reset();
    data_ = nullptr;
    size_ = 0;
    fd_ = -1;
    fd_offset_ = 0;
    return;
  }
  // Unmap for the device first, so a device model sees the range die before
  // the memory can be reused.
  if (mapper_ != nullptr) mapper_->unmap(iova_, size_);
  mapper_.reset();
  if (data_ != nullptr) munmap(data_, size_);
  if (fd_ >= 0) close(fd_);
  data_ = nullptr;
  size_ = 0;
  fd_ = -1;
}

DmaAllocator::DmaAllocator(std::shared_ptr<DmaArena> arena)
    : backing_(arena->region().backing()), arena_(std::move(arena)) {}

absl::StatusOr<DmaRegion> DmaAllocator::allocate(size_t size, absl::string_view tag) const {
  if (arena_ != nullptr) return arena_->allocate(size, tag);
  return DmaRegion::allocate(size, backing_, mapper_, tag);
}

}  // namespace safenic
