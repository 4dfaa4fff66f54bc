// VFIO emulated in user space (sim/vfio), driven by a VFIO user it did not
// write for: safenic's own nic/pci path, the one tests/vm runs against a
// real kernel's vfio-pci. It finds two 82599 models in a sysfs tree, opens
// them through the emulated container, group and device fds, maps their DMA
// memory with VFIO_IOMMU_MAP_DMA into the checked IOMMU and their BARs as
// trapped MMIO, and the unchanged ixgbe driver forwards frames between them.
// The uAPI answers are checked against include/uapi/linux/vfio.h's rules.
#include "sim/vfio/emulated_vfio.h"
#include "sim/vfio/real_time.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/open.h"
#include "nic/pci/open_pci.h"
#include "nic/pci/syscalls.h"
#include "sim/harness/frames.h"
#include "sim/ixgbe/model.h"
#include "tests/pci/sysfs_fixture.h"

namespace safenic::pci {
namespace {

using ::testing::HasSubstr;

// pci::Syscalls over the emulator: its fds and mappings go to it, the rest
// (the fixture's sysfs files) to the real system.
class EmulatedSyscalls final : public Syscalls {
 public:
  explicit EmulatedSyscalls(sim::EmulatedVfio& vfio) : vfio_(vfio) {}
  uid_t geteuid() override { return 0; }
  int open(const char* path, int flags) override {
    const int fd = vfio_.open(path, flags);
    return fd == sim::EmulatedVfio::kNotMine ? Syscalls::open(path, flags) : fd;
  }
  int close(int fd) override { return vfio_.owns(fd) ? vfio_.close(fd) : Syscalls::close(fd); }
  int ioctl(int fd, unsigned long request, void* arg) override {
    return vfio_.owns(fd) ? vfio_.ioctl(fd, request, reinterpret_cast<uintptr_t>(arg))
                          : Syscalls::ioctl(fd, request, arg);
  }
  int ioctl_value(int fd, unsigned long request, unsigned long arg) override {
    return vfio_.owns(fd) ? vfio_.ioctl(fd, request, arg) : Syscalls::ioctl_value(fd, request, arg);
  }
  void* mmap(size_t len, int prot, int flags, int fd, off_t offset) override {
    return vfio_.owns(fd) ? vfio_.mmap(nullptr, len, prot, flags, fd, offset)
                          : Syscalls::mmap(len, prot, flags, fd, offset);
  }
  int munmap(void* addr, size_t len) override {
    return vfio_.munmap(addr, len) > 0 ? 0 : Syscalls::munmap(addr, len);
  }
  ssize_t pread(int fd, void* buf, size_t len, off_t offset) override {
    return vfio_.owns(fd) ? vfio_.pread(fd, buf, len, offset)
                          : Syscalls::pread(fd, buf, len, offset);
  }
  ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset) override {
    return vfio_.owns(fd) ? vfio_.pwrite(fd, buf, len, offset)
                          : Syscalls::pwrite(fd, buf, len, offset);
  }

 private:
  sim::EmulatedVfio& vfio_;
};

class EmulatedVfioTest : public ::testing::Test {
 protected:
  EmulatedVfioTest() {
    vfio_dir_ = fx_.base() + "/dev/vfio";
    ::mkdir((fx_.base() + "/dev").c_str(), 0755);
    ::mkdir(vfio_dir_.c_str(), 0755);
    testing::SysfsFixture::write_file(vfio_dir_ + "/vfio", "");
    std::vector<sim::EmulatedPciDevice> devices;
    for (int i = 0; i < 2; ++i) {
      sim::Ixgbe82599Config mc;
      mc.mac.bytes[5] = static_cast<uint8_t>(i + 1);
      models_.push_back(std::make_shared<sim::Ixgbe82599>(ctx_, mc));
      const std::string address = i == 0 ? "0000:00:04.0" : "0000:00:05.0";
      fx_.add({.address = address, .driver = "vfio-pci", .iommu_group = 7 + i});
      devices.push_back({address, 7 + i, models_.back()});
    }
    vfio_ = std::make_unique<sim::EmulatedVfio>(ctx_, std::move(devices), vfio_dir_);
    options_.sysfs_root = fx_.root();
    options_.meminfo = fx_.meminfo(0, 0);     // no hugepages reserved:
    options_.vfio_dma = Backing::kAnonymous;  // 4 KiB pages, as DPDK's --no-huge
    options_.vfio_dir = vfio_dir_;
    options_.syscalls = std::make_shared<EmulatedSyscalls>(*vfio_);
  }

  // The driver's thread and the clock's both reach the models: one lock.
  sim::SimContext ctx_ = sim::SimContext::serialized();
  testing::SysfsFixture fx_;
  std::string vfio_dir_;
  std::vector<std::shared_ptr<sim::Ixgbe82599>> models_;
  std::unique_ptr<sim::EmulatedVfio> vfio_;
  PciOpenOptions options_;
};

TEST_F(EmulatedVfioTest, SafenicsVfioPathDrivesTwoModelsAndForwards) {
  std::vector<std::unique_ptr<Device>> devs;
  for (const char* address : {"0000:00:04.0", "0000:00:05.0"}) {
    auto fn = open_pci_function(address, options_);
    ASSERT_TRUE(fn.ok()) << fn.status();
    EXPECT_EQ((*fn)->dma().mapper()->name(), "vfio");
    DeviceConfig config;
    config.rx_ring_size = config.tx_ring_size = 64;
    config.buffers_per_rx_queue = 256;
    auto dev = open_device(*std::move(fn), config);
    ASSERT_TRUE(dev.ok()) << dev.status();
    EXPECT_EQ((*dev)->driver(), "ixgbe");
    devs.push_back(*std::move(dev));
  }
  EXPECT_EQ(devs[1]->mac().to_string(), "02:00:00:00:82:02");  // from the model, through traps
  // The driver waits in real time (VfioFunction::now() is absl::Now()).
  sim::RealTimeProgress clock(ctx_, {models_[0], models_[1]});
  {
    sim::SimLock lock(ctx_);
    sim::connect(models_[0]->port(), models_[1]->port());
  }
  ASSERT_TRUE(devs[0]->wait_for_link(absl::Seconds(5)).ok());
  ASSERT_TRUE(devs[1]->wait_for_link(absl::Seconds(5)).ok());

  // The application's pool lives in the device's DMA memory (VFIO_IOMMU_MAP_DMA).
  MempoolConfig pc;
  pc.buffers = 256;
  pc.tag = "app";
  auto pool = devs[0]->create_mempool(pc);
  ASSERT_TRUE(pool.ok()) << pool.status();
  sim::UdpFlow flow;
  flow.dst_mac = devs[1]->mac();
  size_t received = 0;
  for (int round = 0; round < 10; ++round) {
    Batch<32> out;
    for (int i = 0; i < 10; ++i) {
      Packet p = (*pool)->alloc();
      ASSERT_TRUE(p.resize(60).ok());
      sim::write_udp_frame(p.bytes(), flow, round * 10 + i);
      ASSERT_TRUE(out.push(std::move(p)));
    }
    ASSERT_TRUE(devs[0]->tx_batch(0, out).ok());
    for (int spin = 0; spin < 100 && received < size_t(round + 1) * 10; ++spin) {
      Batch<32> in;
      auto n = devs[1]->rx_batch(0, in);
      ASSERT_TRUE(n.ok()) << n.status();
      received += *n;
    }
  }
  EXPECT_EQ(received, 100u);
  EXPECT_GT(vfio_->trapped_accesses(), 200u);
  {
    sim::SimLock lock(ctx_);
    EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
  }
  pool->reset();
  devs.clear();
  EXPECT_EQ(ctx_.iommu->live_regions(), 0u);  // every VFIO_IOMMU_MAP_DMA undone
}

// The order Documentation/driver-api/vfio.rst gives, and what the kernel
// refuses out of it.
TEST_F(EmulatedVfioTest, TheUapiOrderIsEnforced) {
  sim::EmulatedVfio& v = *vfio_;
  const int container = v.open((vfio_dir_ + "/vfio").c_str(), O_RDWR);
  ASSERT_GE(container, 0);
  EXPECT_EQ(v.ioctl(container, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
  EXPECT_EQ(v.ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
  EXPECT_EQ(v.ioctl(container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
  EXPECT_EQ(v.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -1);  // no group yet
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(v.open((vfio_dir_ + "/99").c_str(), O_RDWR), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(v.open("/etc/hostname", O_RDONLY), sim::EmulatedVfio::kNotMine);

  const int group = v.open((vfio_dir_ + "/7").c_str(), O_RDWR);
  ASSERT_GE(group, 0);
  EXPECT_EQ(v.open((vfio_dir_ + "/7").c_str(), O_RDWR), -1);  // once per process
  EXPECT_EQ(errno, EBUSY);
  vfio_group_status status = {};
  status.argsz = sizeof status;
  ASSERT_EQ(v.ioctl(group, VFIO_GROUP_GET_STATUS, reinterpret_cast<uintptr_t>(&status)), 0);
  EXPECT_EQ(status.flags, uint32_t{VFIO_GROUP_FLAGS_VIABLE});
  EXPECT_EQ(v.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, reinterpret_cast<uintptr_t>("0000:00:04.0")),
            -1);
  ASSERT_EQ(v.ioctl(group, VFIO_GROUP_SET_CONTAINER, reinterpret_cast<uintptr_t>(&container)), 0);
  ASSERT_EQ(v.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
  EXPECT_EQ(v.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, reinterpret_cast<uintptr_t>("0000:00:05.0")),
            -1);
  EXPECT_EQ(errno, ENODEV);  // that device is in group 8
  const int device =
      v.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, reinterpret_cast<uintptr_t>("0000:00:04.0"));
  ASSERT_GE(device, 0);

  // Capabilities: the kernel first says how much room they need.
  vfio_iommu_type1_info info = {};
  info.argsz = sizeof info;
  ASSERT_EQ(v.ioctl(container, VFIO_IOMMU_GET_INFO, reinterpret_cast<uintptr_t>(&info)), 0);
  EXPECT_GT(info.argsz, sizeof info);
  EXPECT_EQ(info.cap_offset, 0u);
  std::vector<uint8_t> buffer(info.argsz);
  auto* full = reinterpret_cast<vfio_iommu_type1_info*>(buffer.data());
  full->argsz = info.argsz;
  ASSERT_EQ(v.ioctl(container, VFIO_IOMMU_GET_INFO, reinterpret_cast<uintptr_t>(full)), 0);
  ASSERT_EQ(full->cap_offset, sizeof info);
  auto* ranges =
      reinterpret_cast<vfio_iommu_type1_info_cap_iova_range*>(buffer.data() + full->cap_offset);
  EXPECT_EQ(ranges->header.id, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
  EXPECT_EQ(ranges->nr_iovas, 2u);

  // DMA at the program's own addresses; unaligned or overlapping maps fail.
  void* mem = ::mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  vfio_iommu_type1_dma_map map = {};
  map.argsz = sizeof map;
  map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = map.iova = reinterpret_cast<uint64_t>(mem);
  map.size = 8192;
  ASSERT_EQ(v.ioctl(container, VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map)), 0);
  EXPECT_EQ(v.ioctl(container, VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map)), -1);
  EXPECT_EQ(errno, EEXIST);
  map.size = 100;
  EXPECT_EQ(v.ioctl(container, VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map)), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_TRUE(ctx_.iommu->translate(reinterpret_cast<uint64_t>(mem) + 100, 8, "check").ok());
  vfio_iommu_type1_dma_unmap unmap = {};
  unmap.argsz = sizeof unmap;
  unmap.iova = map.iova;
  unmap.size = 8192;
  ASSERT_EQ(v.ioctl(container, VFIO_IOMMU_UNMAP_DMA, reinterpret_cast<uintptr_t>(&unmap)), 0);
  EXPECT_EQ(unmap.size, 8192u);
  EXPECT_FALSE(ctx_.iommu->translate(reinterpret_cast<uint64_t>(mem) + 100, 8, "after unmap").ok());
  ::munmap(mem, 8192);

  // Regions: BAR0 mmap-able, the configuration space readable.
  vfio_region_info region = {};
  region.argsz = sizeof region;
  region.index = VFIO_PCI_BAR0_REGION_INDEX;
  ASSERT_EQ(v.ioctl(device, VFIO_DEVICE_GET_REGION_INFO, reinterpret_cast<uintptr_t>(&region)), 0);
  EXPECT_EQ(region.size, models_[0]->bar_size(0));
  EXPECT_TRUE(region.flags & VFIO_REGION_INFO_FLAG_MMAP);
  region = {};
  region.argsz = sizeof region;
  region.index = VFIO_PCI_CONFIG_REGION_INDEX;
  ASSERT_EQ(v.ioctl(device, VFIO_DEVICE_GET_REGION_INFO, reinterpret_cast<uintptr_t>(&region)), 0);
  uint32_t ids = 0;
  ASSERT_EQ(v.pread(device, &ids, 4, static_cast<off_t>(region.offset)), 4);
  EXPECT_EQ(ids, 0x10FB8086u);
  EXPECT_EQ(v.ioctl(device, 0xDEAD, 0), -1);
  EXPECT_EQ(errno, ENOTTY);
  // A BAR read of any length, in aligned 4-, 2- and 1-byte accesses as
  // Linux 6.1's vfio-pci makes them: 8 bytes at RAL(0) are RAL(0) and RAH(0).
  uint32_t ral_rah[2] = {};
  const off_t bar0_region = static_cast<off_t>(uint64_t{VFIO_PCI_BAR0_REGION_INDEX} << 40);
  ASSERT_EQ(v.pread(device, ral_rah, 8, bar0_region + 0x5400), 8);
  EXPECT_EQ(ral_rah[0], models_[0]->mmio_read(0, 0x5400, 4));
  EXPECT_EQ(ral_rah[1], models_[0]->mmio_read(0, 0x5404, 4));
  EXPECT_NE(ral_rah[1], 0u);  // AV and the MAC's last two bytes

  // BARs mapped as DPDK maps them: the span reserved first, then the parts
  // mapped into it with MAP_FIXED, the second from an offset into the BAR.
  const size_t bar_size = models_[0]->bar_size(0);
  void* span = ::mmap(nullptr, bar_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(span, MAP_FAILED);
  uint8_t* const base = static_cast<uint8_t*>(span);
  const off_t bar0 = static_cast<off_t>(uint64_t{VFIO_PCI_BAR0_REGION_INDEX} << 40);
  ASSERT_EQ(v.mmap(base, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, device, bar0),
            base);
  ASSERT_EQ(v.mmap(base + 0x8000, 0x8000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, device,
                   bar0 + 0x8000),
            base + 0x8000);
  EXPECT_EQ(v.mmap(nullptr, 0x1000, PROT_READ, MAP_SHARED, device, bar0 + 0x123),
            MAP_FAILED);  // not a page
  // STATUS (0x00008) through the first part, then the MAC's RAL(0) (0x05400) is
  // outside both parts; the second part's 0x8000 is BAR offset 0x8000.
  EXPECT_EQ(*reinterpret_cast<volatile uint32_t*>(base + 0x8), models_[0]->mmio_read(0, 0x8, 4));
  *reinterpret_cast<volatile uint32_t*>(base + 0x8000 + (0x8880 - 0x8000)) =
      0x5;  // (an unmodelled one: reported)
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("0x08880"));
  EXPECT_GE(v.trapped_accesses(), 2u);
  EXPECT_EQ(v.munmap(base, bar_size), 2);  // both parts undone
  ::munmap(span, bar_size);

  EXPECT_EQ(v.close(device), 0);
  // The last group to leave takes the container's IOMMU with it: the next
  // group sets it again (DPDK does so after a failed probe).
  ASSERT_EQ(v.ioctl(group, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
  EXPECT_EQ(v.ioctl(container, VFIO_IOMMU_GET_INFO, reinterpret_cast<uintptr_t>(&info)), -1);
  ASSERT_EQ(v.ioctl(group, VFIO_GROUP_SET_CONTAINER, reinterpret_cast<uintptr_t>(&container)), 0);
  EXPECT_EQ(v.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
  EXPECT_EQ(v.close(group), 0);
  EXPECT_EQ(v.close(container), 0);
  EXPECT_FALSE(v.owns(container));
}

}  // namespace
}  // namespace safenic::pci
