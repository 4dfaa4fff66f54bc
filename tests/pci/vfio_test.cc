// VFIO without /dev/vfio: a fake kernel answers the container, group and
// device ioctls (include/uapi/linux/vfio.h), so the whole sequence of
// Documentation/driver-api/vfio.rst runs and each step can fail.
#include <linux/vfio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/dma_region.h"
#include "nic/open.h"
#include "nic/pci/config_space.h"
#include "nic/pci/open_pci.h"
#include "nic/pci/vfio.h"
#include "nic/pci/vfio_function.h"
#include "tests/pci/sysfs_fixture.h"

namespace safenic::pci {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::FakeKernel;
using ::testing::HasSubstr;
using testing::SysfsFixture;

std::string message(const absl::Status& s) { return std::string(s.message()); }

constexpr uint64_t kConfigRegionOffset = uint64_t{VFIO_PCI_CONFIG_REGION_INDEX} << 40;

// Answers for <dir>/vfio, <dir>/<group> and the device fds they lead to;
// everything else goes to the real system (the fixture's files).
class FakeVfio : public FakeKernel {
 public:
  explicit FakeVfio(std::string dir) : dir_(std::move(dir)) {
    config.assign(4096, 0);
    config[0] = 0x86, config[1] = 0x80, config[2] = 0xFB, config[3] = 0x10;  // 8086:10fb
  }

  // Knobs.
  int container_errno = 0;
  int api_version = VFIO_API_VERSION;
  bool type1 = true;
  std::map<int, int> group_errno;  // group -> errno of open()
  bool viable = true;
  int device_fd_errno = 0;
  uint64_t bar0_size = 512 * 1024;
  uint32_t bar0_flags =
      VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
  int map_dma_errno = 0;

  // What happened.
  int container_opens = 0;
  std::vector<int> groups_opened;
  int set_iommu = 0;
  std::vector<std::string> devices_opened;
  // The device request interrupt (VFIO_PCI_REQ_IRQ_INDEX): offered or not,
  // and the eventfd the program gave for it.
  bool device_request = false;
  int32_t request_eventfd = -1;
  // What VFIO_IOMMU_GET_INFO reports (none: the ioctl fails, as before Linux 5.4).
  std::vector<vfio_iova_range> iova_ranges;
  std::vector<vfio_iommu_type1_dma_map> maps;
  std::vector<vfio_iommu_type1_dma_unmap> unmaps;
  std::vector<uint8_t> config;

  int open(const char* path, int flags) override {
    const std::string p(path);
    if (p.rfind(dir_ + "/", 0) != 0) return FakeKernel::open(path, flags);
    const std::string name = p.substr(dir_.size() + 1);
    if (name == "vfio") {
      if (container_errno != 0) return fail(container_errno);
      ++container_opens;
      return add(Kind::kContainer);
    }
    const int group = std::stoi(name);
    if (auto it = group_errno.find(group); it != group_errno.end()) return fail(it->second);
    groups_opened.push_back(group);
    return add(Kind::kGroup);
  }
  int close(int fd) override {
    if (fds_.erase(fd) == 1) return 0;
    return FakeKernel::close(fd);
  }
  int ioctl_value(int fd, unsigned long request, unsigned long arg) override {
    switch (request) {
      case VFIO_GET_API_VERSION: return api_version;
      case VFIO_CHECK_EXTENSION: return arg == VFIO_TYPE1_IOMMU && type1 ? 1 : 0;
      case VFIO_SET_IOMMU: return ++set_iommu, 0;
    }
    return fail(ENOTTY);
  }
  int ioctl(int fd, unsigned long request, void* arg) override {
    switch (request) {
      case VFIO_GROUP_GET_STATUS:
        static_cast<vfio_group_status*>(arg)->flags = viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
        return 0;
      case VFIO_GROUP_SET_CONTAINER:
        return fds_.count(*static_cast<int*>(arg)) == 1 ? 0 : fail(EBADF);
      case VFIO_GROUP_GET_DEVICE_FD:
        if (device_fd_errno != 0) return fail(device_fd_errno);
        devices_opened.push_back(static_cast<const char*>(arg));
        return add(Kind::kDevice);
      case VFIO_DEVICE_GET_REGION_INFO: {
        auto* info = static_cast<vfio_region_info*>(arg);
        info->offset = uint64_t{info->index} << 40;
        info->size = info->index == VFIO_PCI_BAR0_REGION_INDEX     ? bar0_size
                     : info->index == VFIO_PCI_CONFIG_REGION_INDEX ? 4096
                                                                   : 0;
        info->flags = info->index == VFIO_PCI_BAR0_REGION_INDEX ? bar0_flags : 0;
        return 0;
      }
      case VFIO_IOMMU_GET_INFO: {
        if (iova_ranges.empty()) return fail(ENOTTY);
        // As Linux lays it out: the info, then the capability chain after it.
        auto* info = static_cast<vfio_iommu_type1_info*>(arg);
        const uint32_t cap_offset = sizeof *info;
        const uint32_t needed = cap_offset + sizeof(vfio_iommu_type1_info_cap_iova_range) +
                                iova_ranges.size() * sizeof(vfio_iova_range);
        if (info->argsz < needed) return info->argsz = needed, 0;
        info->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
        info->iova_pgsizes = 0x40201000;  // 4 KiB, 2 MiB, 1 GiB
        info->cap_offset = cap_offset;
        auto* cap = reinterpret_cast<vfio_iommu_type1_info_cap_iova_range*>(
            reinterpret_cast<uint8_t*>(arg) + cap_offset);
        cap->header = {VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0};
        cap->nr_iovas = static_cast<uint32_t>(iova_ranges.size());
        for (size_t i = 0; i < iova_ranges.size(); ++i) cap->iova_ranges[i] = iova_ranges[i];
        return 0;
      }
      case VFIO_DEVICE_GET_IRQ_INFO: {
        auto* irq = static_cast<vfio_irq_info*>(arg);
        irq->count = irq->index == VFIO_PCI_REQ_IRQ_INDEX && device_request ? 1 : 0;
        return 0;
      }
      case VFIO_DEVICE_SET_IRQS: {
        auto* set = static_cast<vfio_irq_set*>(arg);
        if (set->index == VFIO_PCI_REQ_IRQ_INDEX && set->count == 1) {
          std::memcpy(&request_eventfd, set->data, sizeof request_eventfd);
        }
        return 0;
      }
      case VFIO_IOMMU_MAP_DMA:
        if (map_dma_errno != 0) return fail(map_dma_errno);
        maps.push_back(*static_cast<vfio_iommu_type1_dma_map*>(arg));
        return 0;
      case VFIO_IOMMU_UNMAP_DMA:
        unmaps.push_back(*static_cast<vfio_iommu_type1_dma_unmap*>(arg));
        return 0;
    }
    return fail(ENOTTY);
  }
  // A device's BAR: anonymous memory of all ones (a device that is not there).
  void* mmap(size_t len, int prot, int flags, int fd, off_t offset) override {
    if (!is(fd, Kind::kDevice)) return FakeKernel::mmap(len, prot, flags, fd, offset);
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) std::memset(p, 0xFF, len);
    return p;
  }
  // The device fd: configuration space at its region offset, BAR0 (I/O port
  // space, not mapped) from offset 0.
  ssize_t pread(int fd, void* buf, size_t len, off_t offset) override {
    if (!is(fd, Kind::kDevice)) return FakeKernel::pread(fd, buf, len, offset);
    if (static_cast<uint64_t>(offset) < bar0_size) {
      io_bar0.resize(bar0_size);
      std::memcpy(buf, io_bar0.data() + offset, len);
      return static_cast<ssize_t>(len);
    }
    std::memcpy(buf, config.data() + (offset - kConfigRegionOffset), len);
    return static_cast<ssize_t>(len);
  }
  ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset) override {
    if (!is(fd, Kind::kDevice)) return FakeKernel::pwrite(fd, buf, len, offset);
    if (static_cast<uint64_t>(offset) < bar0_size) {
      io_bar0.resize(bar0_size);
      std::memcpy(io_bar0.data() + offset, buf, len);
      return static_cast<ssize_t>(len);
    }
    std::memcpy(config.data() + (offset - kConfigRegionOffset), buf, len);
    return static_cast<ssize_t>(len);
  }
  std::vector<uint8_t> io_bar0 = std::vector<uint8_t>(64);

  size_t open_fds() const { return fds_.size(); }

 private:
  enum class Kind { kContainer, kGroup, kDevice };
  int add(Kind k) {
    fds_[next_fd_] = k;
    return next_fd_++;
  }
  bool is(int fd, Kind k) const {
    auto it = fds_.find(fd);
    return it != fds_.end() && it->second == k;
  }
  static int fail(int err) {
    errno = err;
    return -1;
  }

  std::string dir_;
  std::map<int, Kind> fds_;
  int next_fd_ = 100000;  // far from real descriptors
};

class Vfio : public ::testing::Test {
 protected:
  Vfio() {
    options.sysfs_root = fx.root();
    options.meminfo = fx.meminfo(8, 8);
    options.vfio_dir = fx.base() + "/dev/vfio";
    // /dev/vfio/vfio exists (the fake answers for it).
    ::mkdir((fx.base() + "/dev").c_str(), 0755);
    ::mkdir(options.vfio_dir.c_str(), 0755);
    SysfsFixture::write_file(options.vfio_dir + "/vfio", "");
    kernel = std::make_shared<FakeVfio>(options.vfio_dir);
    options.syscalls = kernel;
    fx.add({.address = "0000:03:00.0", .driver = "vfio-pci", .iommu_group = 12});
  }
  absl::StatusOr<std::unique_ptr<PciFunction>> open(const std::string& address = "0000:03:00.0") {
    return open_pci_function(address, options);
  }
  uint16_t command() const { return kernel->config[4] | kernel->config[5] << 8; }

  SysfsFixture fx;
  PciOpenOptions options;
  std::shared_ptr<FakeVfio> kernel;
};

TEST_F(Vfio, OpensTheDeviceThroughContainerGroupAndDeviceFd) {
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  EXPECT_EQ(kernel->container_opens, 1);
  EXPECT_THAT(kernel->groups_opened, ElementsAre(12));
  EXPECT_EQ(kernel->set_iommu, 1);
  EXPECT_THAT(kernel->devices_opened, ElementsAre("0000:03:00.0"));
  EXPECT_EQ(*(*fn)->config_read32(0), 0x10FB8086u);
  EXPECT_EQ(command(), kCommandMemorySpace | kCommandBusMaster);
  auto bar = (*fn)->bar(0);
  ASSERT_TRUE(bar.ok()) << bar.status();
  EXPECT_EQ((*bar)->size(), 512u * 1024);
  EXPECT_EQ((*fn)->dma().backing(), Backing::kHugepage2M);
  EXPECT_EQ((*fn)->dma().mapper()->name(), "vfio");
  EXPECT_EQ((*fn)->bar(2).status().code(), absl::StatusCode::kNotFound);

  // The fake BAR reads all ones: the ixgbe driver says the device is gone.
  auto dev = open_device(*std::move(fn));
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(message(dev.status()), HasSubstr("registers read all ones"));
  EXPECT_EQ(kernel->open_fds(), 0u);  // container, group and device all closed
}

// IOVAs come from the ranges the IOMMU translates, not from the virtual
// addresses (47 bits wide; QEMU's emulated VT-d translates 39: found on a real
// kernel by tests/vm). Here an IOMMU like that, with the MSI window cut out.
TEST_F(Vfio, DmaIsMappedAtIovasTheIommuTranslatesAndUnmappedWhenReleased) {
  kernel->iova_ranges = {{0, 0xfedfffff}, {0xfef00000, (uint64_t{1} << 39) - 1}};
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  IovaMapper& mapper = *(*fn)->dma().mapper();
  alignas(4096) static uint8_t memory[8192];
  auto iova = mapper.map(memory, sizeof memory, "test");
  ASSERT_TRUE(iova.ok()) << iova.status();
  EXPECT_GE(*iova, uint64_t{1} << 20);
  EXPECT_LT(*iova + sizeof memory, uint64_t{1} << 39);
  EXPECT_EQ(*iova % 4096, 0u);
  ASSERT_EQ(kernel->maps.size(), 1u);
  EXPECT_EQ(kernel->maps[0].vaddr, reinterpret_cast<uint64_t>(memory));
  EXPECT_EQ(kernel->maps[0].iova, *iova);
  EXPECT_EQ(kernel->maps[0].size, sizeof memory);
  EXPECT_EQ(kernel->maps[0].flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
  EXPECT_EQ(kernel->maps[0].argsz, sizeof(vfio_iommu_type1_dma_map));
  mapper.unmap(*iova, sizeof memory);
  ASSERT_EQ(kernel->unmaps.size(), 1u);
  EXPECT_EQ(kernel->unmaps[0].iova, *iova);
  EXPECT_EQ(kernel->unmaps[0].size, sizeof memory);
}

TEST_F(Vfio, HugepageRegionsMapThemselvesIntoTheContainer) {
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  {
    auto region = (*fn)->dma().allocate(4096, "ring");
    if (region.status().code() == absl::StatusCode::kResourceExhausted) {
      GTEST_SKIP() << "no 2 MiB hugepage free (.ci/run reserves 8): " << region.status();
    }
    ASSERT_TRUE(region.ok()) << region.status();
    ASSERT_EQ(kernel->maps.size(), 1u);
    EXPECT_EQ(kernel->maps[0].size, kHugepageSize);
    EXPECT_EQ(kernel->maps[0].vaddr, reinterpret_cast<uint64_t>(region->data()));
    EXPECT_EQ(kernel->maps[0].iova, region->iova());
    // No IOVA ranges reported (an older kernel): above 4 GiB, within 39 bits.
    EXPECT_EQ(region->iova() % kHugepageSize, 0u);
    EXPECT_GE(region->iova(), uint64_t{1} << 32);
    EXPECT_LT(region->iova(), uint64_t{1} << 39);
  }
  ASSERT_EQ(kernel->unmaps.size(), 1u);
  EXPECT_EQ(kernel->unmaps[0].size, kHugepageSize);
}

// Successive regions get IOVAs that do not overlap, skip what the IOMMU does
// not translate, and run out with a clear error.
TEST_F(Vfio, IovasFillTheRangesInOrderAndRunOutClearly) {
  kernel->iova_ranges = {{0, 0x100fff}, {0x200000, 0x3fffff}};  // 1 MiB..+4 KiB, 2..4 MiB
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  IovaMapper& mapper = *(*fn)->dma().mapper();
  alignas(4096) static uint8_t memory[3 * 4096];
  auto a = mapper.map(memory, 4096, "a");
  auto b = mapper.map(memory + 4096, 8192, "b");  // does not fit after a: the next range
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, 0x100000u);
  EXPECT_EQ(*b, 0x200000u);
  auto c = mapper.map(memory, 2u << 20, "c");  // 2 MiB, 2 MiB-aligned: no room left
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(message(c.status()), HasSubstr("no room left in the IOMMU's IOVA ranges"));
}

TEST_F(Vfio, DevicesShareOneContainerAndGroupsOpenOnce) {
  fx.add({.address = "0000:03:00.1", .driver = "vfio-pci", .iommu_group = 12});
  fx.add({.address = "0000:04:00.0", .driver = "vfio-pci", .iommu_group = 13});
  auto a = open("0000:03:00.0");
  auto b = open("0000:03:00.1");
  auto c = open("0000:04:00.0");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(kernel->container_opens, 1);
  EXPECT_THAT(kernel->groups_opened, ElementsAre(12, 13));
  EXPECT_EQ(kernel->set_iommu, 1);
  EXPECT_THAT(kernel->devices_opened, ElementsAre("0000:03:00.0", "0000:03:00.1", "0000:04:00.0"));
}

TEST_F(Vfio, WithoutDevVfioTheErrorSaysToLoadTheModule) {
  // The real system calls against a directory with no vfio in it.
  auto container = VfioContainer::shared(Syscalls::real(), fx.base() + "/no/vfio");
  EXPECT_EQ(container.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(container.status()),
              AllOf(HasSubstr("VFIO is not available"), HasSubstr("sudo modprobe vfio-pci"),
                    HasSubstr("intel_iommu=on")));
  options.vfio_dir = fx.base() + "/no/vfio";
  EXPECT_THAT(message(open().status()), HasSubstr("/dev/vfio/vfio is missing"));
}

TEST_F(Vfio, ThisMachinesDevVfio) {
  auto container = VfioContainer::shared(Syscalls::real());
  if (container.ok()) GTEST_SKIP() << "this machine has VFIO";
  EXPECT_THAT(message(container.status()), HasSubstr("/dev/vfio/vfio"));
}

TEST_F(Vfio, ContainerErrors) {
  kernel->container_errno = EACCES;
  EXPECT_EQ(open().status().code(), absl::StatusCode::kPermissionDenied);
  kernel->container_errno = 0;
  kernel->api_version = 1;
  EXPECT_THAT(message(open().status()), HasSubstr("VFIO API version 1; safenic needs 0"));
  kernel->api_version = VFIO_API_VERSION;
  kernel->type1 = false;
  EXPECT_THAT(message(open().status()), HasSubstr("modprobe vfio_iommu_type1"));
}

TEST_F(Vfio, GroupErrors) {
  kernel->group_errno[12] = ENOENT;
  EXPECT_THAT(message(open().status()), HasSubstr("is the device bound to vfio-pci?"));
  kernel->group_errno[12] = EBUSY;
  EXPECT_THAT(message(open().status()), HasSubstr("another process"));
  kernel->group_errno[12] = EACCES;
  auto denied = open();
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(message(denied.status()), HasSubstr("sudo chown $USER " + options.vfio_dir + "/12"));
  kernel->group_errno.clear();
  kernel->viable = false;
  EXPECT_THAT(message(open().status()), AllOf(HasSubstr("IOMMU group 12 is not viable"),
                                              HasSubstr("/sys/kernel/iommu_groups/12/devices")));
  kernel->viable = true;
  kernel->device_fd_errno = ENODEV;
  EXPECT_THAT(message(open().status()), HasSubstr("VFIO_GROUP_GET_DEVICE_FD failed"));
}

TEST_F(Vfio, BarErrors) {
  kernel->bar0_flags = VFIO_REGION_INFO_FLAG_READ;
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  EXPECT_THAT(message((*fn)->bar(0).status()),
              HasSubstr("BAR 0 can be neither mapped nor read and written through VFIO"));

  kernel->bar0_flags |= VFIO_REGION_INFO_FLAG_MMAP;
  kernel->bar0_size = 64 * 1024;
  auto small = open("0000:03:00.0");
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_THAT(message(open_device(*std::move(small)).status()),
              HasSubstr("BAR0 is 65536 bytes; an 82599 has 524288"));
}

// A BAR VFIO offers no mmap for (I/O port space: a legacy virtio device's
// BAR0) is read and written through the device fd at the region's offset.
TEST_F(Vfio, AnIoPortBarIsReadAndWrittenThroughTheDeviceFd) {
  kernel->bar0_flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
  kernel->bar0_size = 32;
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  auto bar = (*fn)->bar(0);
  ASSERT_TRUE(bar.ok()) << bar.status();
  EXPECT_EQ((*bar)->size(), 32u);
  (*bar)->write16(0x0E, 0xBEEF);
  (*bar)->write32(0x08, 0x01020304);
  EXPECT_EQ((*bar)->read16(0x0E), 0xBEEF);
  EXPECT_EQ((*bar)->read8(0x08), 0x04);
  EXPECT_EQ(kernel->io_bar0[0x0E], 0xEF);
  EXPECT_EQ(kernel->io_bar0[0x0B], 0x01);
}

// The kernel asks for the device back (a hot unplug) by signalling the
// eventfd the function registered for VFIO's device request: the function
// then reports removal_requested(), which makes the drivers' batches fail.
TEST_F(Vfio, TheKernelsDeviceRequestSetsRemovalRequested) {
  kernel->device_request = true;
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  ASSERT_GE(kernel->request_eventfd, 0);
  EXPECT_FALSE((*fn)->removal_requested().load());
  const uint64_t one = 1;
  ASSERT_EQ(::write(kernel->request_eventfd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  for (int i = 0; i < 1000 && !(*fn)->removal_requested().load(); ++i)
    absl::SleepFor(absl::Milliseconds(1));
  EXPECT_TRUE((*fn)->removal_requested().load());
  fn->reset();  // the watcher stopped, its fds closed
}

TEST_F(Vfio, WithoutADeviceRequestInterruptNothingIsWatched) {
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  EXPECT_EQ(kernel->request_eventfd, -1);
  EXPECT_FALSE((*fn)->removal_requested().load());
}

TEST_F(Vfio, MapDmaFailureNamesTheLockedMemoryLimit) {
  kernel->map_dma_errno = ENOMEM;
  auto fn = open();
  ASSERT_TRUE(fn.ok()) << fn.status();
  static uint8_t memory[4096];
  auto iova = (*fn)->dma().mapper()->map(memory, sizeof memory, "rx ring");
  EXPECT_EQ(iova.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(message(iova.status()), AllOf(HasSubstr("'rx ring'"), HasSubstr("ulimit -l")));
}

TEST_F(Vfio, ADeviceWithoutIommuGroupCannotUseVfio) {
  PciDeviceInfo device;
  device.address = "0000:09:00.0";
  auto container = VfioContainer::shared(kernel, options.vfio_dir);
  ASSERT_TRUE(container.ok()) << container.status();
  auto fn = VfioFunction::open(device, *container);
  EXPECT_EQ(fn.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(fn.status()),
              AllOf(HasSubstr("has no IOMMU group"), HasSubstr("amd_iommu=on")));
}

}  // namespace
}  // namespace safenic::pci
