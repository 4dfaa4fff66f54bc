#include "mem/iova.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic {

absl::StatusOr<uint64_t> IdentityMapper::map(void* va, size_t, absl::string_view) {
  return reinterpret_cast<uint64_t>(va);
}

// Linux Documentation/admin-guide/mm/pagemap.rst: one 64-bit entry per virtual
// page; bit 63 "present", bits 0-54 the page frame number (zero without
// CAP_SYS_ADMIN).
absl::StatusOr<uint64_t> PagemapMapper::physical_address(const void* va) {
  const long page = sysconf(_SC_PAGESIZE);
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrFormat("cannot open /proc/self/pagemap (%s): physical addresses need root "
                        "(CAP_SYS_ADMIN); run as root or use VFIO",
                        std::strerror(errno)));
  }
  absl::Cleanup closer = [fd] { close(fd); };
  const uint64_t vpn = reinterpret_cast<uintptr_t>(va) / page;
  uint64_t entry = 0;
  if (pread(fd, &entry, sizeof entry, vpn * sizeof entry) != static_cast<ssize_t>(sizeof entry)) {
    return absl::InternalError(
        absl::StrFormat("reading /proc/self/pagemap at %p failed: %s", va, std::strerror(errno)));
  }
  const uint64_t pfn = entry & ((uint64_t{1} << 55) - 1);
  if ((entry >> 63) == 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("page at %p is not resident; DMA memory must be locked (mlock) first", va));
  }
  if (pfn == 0) {
    return absl::PermissionDeniedError(
        "/proc/self/pagemap hides page frame numbers from this process: run "
        "as root (CAP_SYS_ADMIN) or use VFIO");
  }
  return pfn * page + reinterpret_cast<uintptr_t>(va) % page;
}

absl::StatusOr<uint64_t> PagemapMapper::map(void* va, size_t len, absl::string_view tag) {
  const long page = sysconf(_SC_PAGESIZE);
  SAFENIC_ASSIGN_OR_RETURN(auto first, physical_address(va));
  // Without an IOMMU the device sees physical memory: the range must be
  // physically contiguous, which 4 KiB pages almost never are.
  for (size_t off = page - reinterpret_cast<uintptr_t>(va) % page; off < len; off += page) {
    SAFENIC_ASSIGN_OR_RETURN(auto pa, physical_address(static_cast<uint8_t*>(va) + off));
    if (pa != first + off) {
      // Within a 2 MiB hugepage a region is contiguous; across two it is only
      // by chance (found on a real kernel by tests/vm).
      constexpr size_t kHugepage = size_t{2} << 20;
      return absl::FailedPreconditionError(absl::StrFormat(
          "DMA region '%s' (%d bytes) is not physically contiguous at offset %d. Without "
          "an IOMMU the device needs physically contiguous memory: %s, or use VFIO",
          tag, len, off,
          len > kHugepage
              ? "keep each DMA region within one 2 MiB hugepage (a Mempool splits itself "
                "so)"
              : "allocate it on 2 MiB hugepages (Backing::kHugepage2M)"));
    }
  }
  return first;
}

}  // namespace safenic
