// Physical addresses on the sysfs path: /proc/self/pagemap translation of a
// locked page, and DMA regions on 2 MiB hugepages, which must be physically
// contiguous. Each test skips, saying why, where the machine does not allow
// it (not root, no hugepages reserved: .ci/run reserves 8).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/dma_region.h"
#include "mem/iova.h"
#include "nic/pci/open_pci.h"
#include "tests/pci/sysfs_fixture.h"

namespace safenic::pci {
namespace {

using ::testing::HasSubstr;

// "System RAM" ranges of /proc/iomem; empty when they are hidden (not root).
std::vector<std::pair<uint64_t, uint64_t>> system_ram() {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  FILE* f = std::fopen("/proc/iomem", "re");
  if (f == nullptr) return ranges;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long start, end;
    int name = 0;
    if (std::sscanf(line, "%llx-%llx : %n", &start, &end, &name) == 2 && name > 0 &&
        std::strncmp(line + name, "System RAM", 10) == 0 && end != 0) {
      ranges.emplace_back(start, end);
    }
  }
  std::fclose(f);
  return ranges;
}

bool in_system_ram(uint64_t pa) {
  for (auto [start, end] : system_ram()) {
    if (pa >= start && pa <= end) return true;
  }
  return false;
}

TEST(Pagemap, TranslatesALockedPage) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  if (mlock(p, 2 * page) != 0) {
    munmap(p, 2 * page);
    GTEST_SKIP() << "mlock not permitted here (RLIMIT_MEMLOCK): " << std::strerror(errno);
  }
  std::memset(p, 0x5A, 2 * page);
  auto* bytes = static_cast<uint8_t*>(p);
  auto pa = PagemapMapper::physical_address(bytes + 123);
  if (pa.status().code() == absl::StatusCode::kPermissionDenied) {
    munlock(p, 2 * page);
    munmap(p, 2 * page);
    GTEST_SKIP() << "not permitted to see physical addresses: " << pa.status();
  }
  ASSERT_TRUE(pa.ok()) << pa.status();
  EXPECT_EQ(*pa % page, 123u);
  EXPECT_NE(*pa / page, 0u);
  EXPECT_EQ(*PagemapMapper::physical_address(bytes + 123), *pa);  // locked: it stays
  auto second = PagemapMapper::physical_address(bytes + page);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*second / page, *pa / page);  // two pages, two frames
  if (!system_ram().empty()) {
    EXPECT_TRUE(in_system_ram(*pa)) << std::hex << *pa << " is not in System RAM";
  }
  munlock(p, 2 * page);
  munmap(p, 2 * page);
}

TEST(Pagemap, AnUntouchedPageIsNotResident) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto pa = PagemapMapper::physical_address(p);
  munmap(p, page);
  EXPECT_FALSE(pa.ok());
  if (pa.status().code() == absl::StatusCode::kFailedPrecondition) {
    EXPECT_THAT(std::string(pa.status().message()), HasSubstr("mlock"));
  }
}

// The DMA allocator a SysfsFunction hands its driver: hugepages, pagemap.
TEST(HugepageDma, RegionsArePhysicallyContiguousAndAligned) {
  testing::SysfsFixture fx;
  fx.add({.address = "0000:03:00.0", .bar0_fill = 0});
  PciOpenOptions options;
  options.sysfs_root = fx.root();
  options.meminfo = fx.meminfo(8, 8);
  auto kernel = std::make_shared<testing::FakeKernel>();
  options.syscalls = kernel;
  auto fn = open_pci_function("0000:03:00.0", options);
  ASSERT_TRUE(fn.ok()) << fn.status();

  auto region = (*fn)->dma().allocate(4096, "hugepage test");
  if (region.status().code() == absl::StatusCode::kResourceExhausted) {
    GTEST_SKIP() << "no 2 MiB hugepage free (reserve some: `echo 8 > "
                    "/proc/sys/vm/nr_hugepages`; .ci/run does): "
                 << region.status();
  }
  if (region.status().code() == absl::StatusCode::kPermissionDenied) {
    GTEST_SKIP() << "not permitted to see physical addresses: " << region.status();
  }
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->size(), kHugepageSize);
  EXPECT_EQ(region->iova() % kHugepageSize, 0u);  // a hugepage is a physical 2 MiB frame
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (size_t off = 0; off < region->size(); off += 64 * page) {
    auto pa = PagemapMapper::physical_address(region->data() + off);
    ASSERT_TRUE(pa.ok()) << pa.status();
    EXPECT_EQ(*pa, region->iova() + off) << "offset " << off;
  }
  if (!system_ram().empty()) {
    EXPECT_TRUE(in_system_ram(region->iova()));
  }
}

}  // namespace
}  // namespace safenic::pci
