#include "nic/pci/hugepages.h"

#include <cstdio>

#include "absl/strings/str_format.h"

namespace safenic::pci {

absl::StatusOr<HugepageStatus> read_hugepages(absl::string_view meminfo) {
  const std::string path(meminfo);
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("cannot read %s: is /proc mounted? (mount -t proc proc /proc)", path));
  }
  HugepageStatus s;
  bool found = false;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "HugePages_Total: %ld", &s.total) == 1) found = true;
    std::sscanf(line, "HugePages_Free: %ld", &s.free);
    std::sscanf(line, "Hugepagesize: %ld kB", &s.size_kb);
  }
  std::fclose(f);
  if (!found) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s has no HugePages_Total line: this kernel has no hugetlbfs "
                        "(CONFIG_HUGETLBFS); safenic needs 2 MiB hugepages for DMA on real devices",
                        path));
  }
  return s;
}

std::string reserve_hugepages_command(long pages) {
  return absl::StrFormat(
      "echo %d | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", pages);
}

std::string describe(const HugepageStatus& s) {
  if (s.size_kb != 2048) {
    return absl::StrFormat(
        "the default hugepage size is %d kB, so /proc/meminfo does not count 2 MiB "
        "pages: see /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages, and "
        "reserve some if it is 0: %s",
        s.size_kb, reserve_hugepages_command());
  }
  if (s.total == 0) {
    return absl::StrFormat("none reserved; reserve some: %s (or sysctl vm.nr_hugepages=512)",
                           reserve_hugepages_command());
  }
  if (s.free == 0) {
    return absl::StrFormat("all %d 2 MiB hugepages are in use; reserve more: %s", s.total,
                           reserve_hugepages_command(s.total + 512));
  }
  return absl::StrFormat("%d of %d 2 MiB hugepages free (%d MiB)", s.free, s.total, s.free * 2);
}

absl::Status check_hugepages(const HugepageStatus& s) {
  // With another default size, /proc/meminfo does not count 2 MiB pages:
  // leave the verdict to the allocation (mem/dma_region.cc says what to do).
  if (s.size_kb != 2048 || s.free > 0) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrFormat(
      "no free 2 MiB hugepages for DMA memory (%s); real devices need them", describe(s)));
}

}  // namespace safenic::pci
