// The sysfs/uio way to a device, emulated in user space (sim/vfio/
// emulated_uio.h), checked call by call against what Linux does: the
// configuration space through the config file (also by uio's class path),
// a memory BAR mapped from resource0 as trapped MMIO, /proc/self/pagemap's
// entries (Documentation/admin-guide/mm/pagemap.rst) and the IOMMU view they
// open: a model reaches only memory whose physical address the program read,
// at that address, contiguous only within a page, and loses it when the
// program unmaps it. (A whole program through it:
// tests/launcher's fwd and testpmd runs with --driver uio_pci_generic.)
#include "sim/vfio/emulated_uio.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/iommu.h"
#include "sim/ixgbe/model.h"

namespace safenic::sim {
namespace {

constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kPfnMask = (uint64_t{1} << 55) - 1;
constexpr size_t kPage = 4096;

class EmulatedUioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / "uio-dev";
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "config") << std::string(256, '\0');
    std::ofstream(dir_ / "resource0") << "";
    std::filesystem::resize_file(dir_ / "resource0", 512 * 1024);
    model_ = std::make_shared<Ixgbe82599>(ctx_, Ixgbe82599Config{});
    uio_ = std::make_unique<EmulatedUio>(
        ctx_, std::vector<EmulatedUioDevice>{{{"0000:00:04.0", 0, model_}, 3, {dir_.string()}}});
  }
  void TearDown() override {
    for (int fd : fds_) uio_->close(fd);
  }
  int open(const std::string& path, int flags = O_RDWR) {
    const int fd = uio_->open(path.c_str(), flags);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  void close(int fd) {
    std::erase(fds_, fd);
    uio_->close(fd);
  }
  // The pagemap entry of the page at `p`, read with pread as safenic does.
  uint64_t entry(const void* p) {
    if (pagemap_ < 0) pagemap_ = open("/proc/self/pagemap", O_RDONLY);
    uint64_t e = ~uint64_t{0};
    EXPECT_EQ(uio_->pread(pagemap_, &e, 8, reinterpret_cast<uintptr_t>(p) / kPage * 8), 8);
    return e;
  }
  uint64_t physical(const void* p) {
    return (entry(p) & kPfnMask) * kPage + reinterpret_cast<uintptr_t>(p) % kPage;
  }
  // Whether a device's DMA of `len` bytes at physical address `pa` reaches
  // the program's memory at `p`.
  bool dma_reaches(uint64_t pa, const void* p, size_t len) {
    const size_t reports = ctx_.log->size();
    uint8_t* at = ctx_.iommu->dma(pa, len, "test DMA");
    EXPECT_EQ(ctx_.log->size(), reports + (at != nullptr ? 0 : 1))
        << "a DMA the IOMMU refuses is reported";
    EXPECT_TRUE(at == nullptr || at == p)
        << "physical address 0x" << std::hex << pa << " leads elsewhere";
    return at == p;
  }
  // Touched (resident) anonymous pages, unmapped through the emulator too.
  uint8_t* pages(size_t n) {
    void* p = mmap(nullptr, n * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    uio_->mapped(p, n * kPage, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    std::memset(p, 1, n * kPage);
    return static_cast<uint8_t*>(p);
  }
  void unmap(void* p, size_t len) {
    uio_->munmap(p, len);
    ::munmap(p, len);
  }

  SimContext ctx_;
  std::filesystem::path dir_;
  std::shared_ptr<Ixgbe82599> model_;
  std::unique_ptr<EmulatedUio> uio_;
  std::vector<int> fds_;
  int pagemap_ = -1;
};

TEST_F(EmulatedUioTest, PagemapGivesEachResidentPageAPhysicalPageOfItsOwn) {
  uint8_t* p = pages(2);
  const uint64_t first = entry(p), second = entry(p + kPage);
  EXPECT_TRUE(first & kPresent);
  EXPECT_TRUE(second & kPresent);
  EXPECT_GE((first & kPfnMask) * kPage, EmulatedUio::kFirstPhysicalAddress);
  EXPECT_NE(second & kPfnMask, (first & kPfnMask) + 1)
      << "4 KiB pages are not contiguous in physical memory";
  EXPECT_NE(second & kPfnMask, first & kPfnMask);
  EXPECT_EQ(entry(p), first) << "a page keeps its physical address";
  // Mapped but never touched: not in memory, so not present and no frame
  // number (as Linux says of it); unmapped: the same.
  void* untouched =
      mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(untouched, MAP_FAILED);
  EXPECT_EQ(entry(untouched), 0u);
  ::munmap(untouched, kPage);
  EXPECT_EQ(entry(untouched), 0u);
  EXPECT_EQ(uio_->pagemap_entries_read(), 5u);
  unmap(p, 2 * kPage);
}

TEST_F(EmulatedUioTest, PagemapReadsAreWholeEntriesAtTheFileOffset) {
  uint8_t* p = pages(1);
  const int fd = open("/proc/self/pagemap", O_RDONLY);
  ASSERT_GE(fd, 0);
  uint64_t e[2] = {};
  EXPECT_EQ(uio_->pread(fd, e, 4, 0), -1);  // the kernel's pagemap_read: whole entries only
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(uio_->pread(fd, e, 8, 4), -1);
  EXPECT_EQ(errno, EINVAL);
  // DPDK's way: lseek to the entry, then read.
  ASSERT_EQ(lseek(fd, reinterpret_cast<uintptr_t>(p) / kPage * 8, SEEK_SET),
            static_cast<off_t>(reinterpret_cast<uintptr_t>(p) / kPage * 8));
  ASSERT_EQ(uio_->read(fd, e, 16), 16);
  EXPECT_TRUE(e[0] & kPresent);
  EXPECT_EQ(e[0], entry(p));
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR),
            static_cast<off_t>((reinterpret_cast<uintptr_t>(p) / kPage + 2) * 8));
  EXPECT_EQ(uio_->pwrite(fd, e, 8, 0), -1);
  unmap(p, kPage);
}

TEST_F(EmulatedUioTest, ADeviceReachesOnlyPagesWhosePhysicalAddressWasReadAndStillMapped) {
  uint8_t* p = pages(4);
  const size_t regions = ctx_.iommu->live_regions();
  const uint64_t pa0 = physical(p), pa1 = physical(p + kPage);
  EXPECT_EQ(ctx_.iommu->live_regions(), regions + 2);
  EXPECT_TRUE(dma_reaches(pa0, p, 64));
  EXPECT_TRUE(dma_reaches(pa1 + 100, p + kPage + 100, 64));
  EXPECT_FALSE(dma_reaches(pa0 + kPage - 32, p + kPage - 32, 64)) << "runs off its physical page";
  EXPECT_FALSE(dma_reaches(pa1 + kPage, p + 2 * kPage, 64)) << "no page there";
  EXPECT_EQ(uio_->admitted_bytes(), 2 * kPage);
  // The program unmaps the first page: the second stays reachable.
  unmap(p, kPage);
  EXPECT_FALSE(dma_reaches(pa0, p, 64));
  EXPECT_TRUE(dma_reaches(pa1, p + kPage, 64));
  // A new mapping over the second takes it out too.
  void* over = mmap(p + kPage, kPage, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(over, p + kPage);
  uio_->mapped(over, kPage, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1);
  EXPECT_FALSE(dma_reaches(pa1, p + kPage, 64));
  EXPECT_EQ(uio_->admitted_bytes(), 0u);
  EXPECT_EQ(uio_->most_admitted_bytes(), 2 * kPage);
  unmap(p + kPage, 3 * kPage);
}

TEST_F(EmulatedUioTest, AHugepageMappingOpensWholeToOneRead) {
  // A 2 MiB hugepage when the machine has one reserved; else the same
  // mapping's flags with a 4 KiB-page stand-in (what the emulator goes by is
  // the flags the program mapped with).
  constexpr size_t kHuge = size_t{2} << 20;
  const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
  void* p = mmap(nullptr, kHuge, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (p == MAP_FAILED) {
    // A stand-in at a 2 MiB-aligned address, as hugepages are.
    uint8_t* span = static_cast<uint8_t*>(
        mmap(nullptr, 2 * kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(span, MAP_FAILED);
    uint8_t* aligned =
        reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(span) + kHuge - 1) / kHuge * kHuge);
    if (aligned > span) ::munmap(span, aligned - span);
    ::munmap(aligned + kHuge, span + kHuge - aligned);
    p = aligned;
  }
  uio_->mapped(p, kHuge, flags, -1);
  std::memset(p, 1, kHuge);
  uint8_t* const u = static_cast<uint8_t*>(p);
  const uint64_t pa = physical(u + 5 * kPage) - 5 * kPage;
  EXPECT_EQ(pa % kHuge, 0u) << "a hugepage is aligned to its size in physical memory too";
  EXPECT_EQ(physical(u + kHuge - kPage), pa + kHuge - kPage) << "contiguous within the hugepage";
  EXPECT_TRUE(dma_reaches(pa, u, 64)) << "the whole hugepage opens, not the one 4 KiB page read";
  EXPECT_TRUE(dma_reaches(pa + kHuge / 2 - 32, u + kHuge / 2 - 32, 64)) << "across its 4 KiB pages";
  EXPECT_EQ(uio_->admitted_bytes(), kHuge);
  unmap(p, kHuge);
  EXPECT_FALSE(dma_reaches(pa, u, 64));
}

TEST_F(EmulatedUioTest, ConfigSpaceThroughTheConfigFileAndUiosClassPath) {
  const int fd = open((dir_ / "config").string());
  ASSERT_GE(fd, 0);
  uint32_t id = 0;
  ASSERT_EQ(uio_->pread(fd, &id, 4, 0), 4);
  EXPECT_EQ(id, model_->config_read32(0));
  // Bus mastering on, as DPDK does for a device under uio_pci_generic; read
  // back by the path DPDK opens.
  uint16_t command = 0;
  ASSERT_EQ(uio_->pread(fd, &command, 2, 4), 2);
  command |= 0x4;
  ASSERT_EQ(uio_->pwrite(fd, &command, 2, 4), 2);
  const int by_class = open("/sys/class/uio/uio3/device/config");
  ASSERT_GE(by_class, 0);
  uint16_t again = 0;
  ASSERT_EQ(uio_->pread(by_class, &again, 2, 4), 2);
  EXPECT_EQ(again, command);
  EXPECT_EQ(uio_->pread(fd, &id, 4, 4096), -1);  // past the configuration space
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(EmulatedUioTest, AMemoryBarMapsFromItsResourceFileAsTrappedMmio) {
  const int fd = open((dir_ / "resource0").string());
  ASSERT_GE(fd, 0);
  const size_t len = model_->bar_size(0);
  void* p = uio_->mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  // STATUS (0x00008), through the trap.
  EXPECT_EQ(*reinterpret_cast<volatile uint32_t*>(static_cast<uint8_t*>(p) + 0x8),
            model_->mmio_read(0, 0x8, 4));
  EXPECT_EQ(uio_->trapped_accesses(), 1u);
  uint32_t v = 0;
  EXPECT_EQ(uio_->pread(fd, &v, 4, 0), -1) << "a memory BAR's resource file has no read";
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(uio_->mmap(nullptr, 2 * len, PROT_READ, MAP_SHARED, fd, 0), MAP_FAILED)
      << "beyond the BAR";
  unmap(p, len);
  // No BAR 5 on the 82599, so no resource5; its other files are not ours.
  EXPECT_EQ(open((dir_ / "resource5").string()), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(uio_->open((dir_ / "vendor").c_str(), O_RDONLY), EmulatedUio::kNotMine);
  EXPECT_EQ(uio_->open("/etc/hostname", O_RDONLY), EmulatedUio::kNotMine);
}

TEST_F(EmulatedUioTest, TheUioDeviceOpensAndReadsInWholeInterruptCounts) {
  const int fd = open("/dev/uio3");
  ASSERT_GE(fd, 0);
  uint64_t v = 0;
  EXPECT_EQ(uio_->read(fd, &v, 8), -1);  // uio-howto.rst: a read is one 32-bit count
  EXPECT_EQ(errno, EINVAL);
  // Opened non-blocking, a read with no interrupt pending says so.
  const int nonblocking = open("/dev/uio3", O_RDWR | O_NONBLOCK);
  ASSERT_GE(nonblocking, 0);
  uint32_t count = 0;
  EXPECT_EQ(uio_->read(nonblocking, &count, 4), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(uio_->open("/dev/uio4", O_RDWR), EmulatedUio::kNotMine);
}

}  // namespace
}  // namespace safenic::sim
