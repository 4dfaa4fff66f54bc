// Hugepage status from /proc/meminfo (Linux
// Documentation/admin-guide/mm/hugetlbpage.rst): DMA memory for real devices
// lives on 2 MiB hugepages (mem/dma_region.h), which must be reserved first.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace safenic::pci {

struct HugepageStatus {
  long total = 0;    // HugePages_Total (of the default size)
  long free = 0;     // HugePages_Free
  long size_kb = 0;  // Hugepagesize: the default size those counts are of
};

absl::StatusOr<HugepageStatus> read_hugepages(absl::string_view meminfo = "/proc/meminfo");

// What to run to reserve `pages` 2 MiB hugepages.
std::string reserve_hugepages_command(long pages = 512);

// "8 of 8 2 MiB hugepages free" or what is missing and the command to fix it.
std::string describe(const HugepageStatus& s);

// OK when 2 MiB hugepages are free; otherwise FailedPrecondition with the
// command that reserves some.
absl::Status check_hugepages(const HugepageStatus& s);

}  // namespace safenic::pci
