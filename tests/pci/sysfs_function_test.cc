// Opening fixture devices through the sysfs path: resource0 is a plain file,
// so the BAR is a file mapping; config space is a file. The ixgbe driver then
// runs against it and must fail clearly. Also every error path of opening,
// and open_device("0000:..") through the registry.
#include <unistd.h>
#include <fstream>
#include <iterator>

#include <cstring>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/open.h"
#include "nic/pci/config_space.h"
#include "nic/pci/open_pci.h"
#include "nic/pci/sysfs_function.h"
#include "tests/pci/sysfs_fixture.h"

namespace safenic::pci {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::FakeKernel;
using testing::FixtureDevice;
using ::testing::HasSubstr;
using testing::SysfsFixture;

std::string message(const absl::Status& s) { return std::string(s.message()); }

class SysfsPath : public ::testing::Test {
 protected:
  SysfsPath() {
    options.sysfs_root = fx.root();
    options.meminfo = fx.meminfo(8, 8);
    options.vfio_dir = fx.base() + "/dev/vfio";  // absent
    options.syscalls = kernel;
  }
  uint16_t command_register(const std::string& dir) {
    const std::string config = SysfsFixture::read_file(dir + "/config");
    return static_cast<uint16_t>(static_cast<uint8_t>(config[kCommandOffset]) |
                                 static_cast<uint8_t>(config[kCommandOffset + 1]) << 8);
  }

  SysfsFixture fx;
  std::shared_ptr<FakeKernel> kernel = std::make_shared<FakeKernel>();
  PciOpenOptions options;
};

TEST_F(SysfsPath, MapsBar0FromItsResourceFileAndEnablesBusMastering) {
  const std::string dir = fx.add({.address = "0000:03:00.0", .bar0_fill = 0});
  ASSERT_EQ(command_register(dir), 0);
  auto fn = open_pci_function("03:00.0", options);
  ASSERT_TRUE(fn.ok()) << fn.status();
  EXPECT_EQ((*fn)->name(), "0000:03:00.0");
  EXPECT_EQ((*fn)->id(), (PciId{0x8086, 0x10FB}));
  EXPECT_EQ(*(*fn)->config_read32(0), 0x10FB8086u);     // device id, vendor id
  EXPECT_EQ(*(*fn)->config_read32(8) >> 8, 0x020000u);  // class code
  EXPECT_EQ(command_register(dir), kCommandMemorySpace | kCommandBusMaster);
  EXPECT_EQ((*fn)->config_read32(2).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*fn)->config_read32(4096).status().code(), absl::StatusCode::kOutOfRange);

  auto bar = (*fn)->bar(0);
  ASSERT_TRUE(bar.ok()) << bar.status();
  EXPECT_EQ((*bar)->size(), 512u * 1024);
  EXPECT_EQ((*bar)->read32(0x8), 0u);
  (*bar)->write32(0x8, 0xA5A5F00D);  // through the mapping, into the file
  EXPECT_EQ((*bar)->read32(0x8), 0xA5A5F00Du);
  EXPECT_EQ(*(*fn)->bar(0), *bar);  // mapped once
  const std::string file = SysfsFixture::read_file(dir + "/resource0");
  uint32_t stored;
  std::memcpy(&stored, file.data() + 0x8, 4);
  EXPECT_EQ(stored, 0xA5A5F00Du);

  EXPECT_EQ((*fn)->dma().backing(), Backing::kHugepage2M);
  EXPECT_EQ((*fn)->dma().mapper()->name(), "pagemap");
  auto bar1 = (*fn)->bar(1);
  EXPECT_EQ(bar1.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(bar1.status()), HasSubstr("has no memory BAR 1"));
  EXPECT_EQ((*fn)->bar(6).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SysfsPath, Ixgbe_AllOnesRegistersSayTheDeviceIsGone) {
  fx.add({.address = "0000:03:00.0", .bar0_fill = 0xFF});
  auto fn = open_pci_function("0000:03:00.0", options);
  ASSERT_TRUE(fn.ok()) << fn.status();
  auto dev = open_device(*std::move(fn));
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(message(dev.status()),
              HasSubstr("0000:03:00.0: registers read all ones; the device is gone"));
}

TEST_F(SysfsPath, Ixgbe_ABarTooSmallIsNamed) {
  fx.add({.address = "0000:03:00.0", .bar0_size = 64 * 1024});
  auto fn = open_pci_function("0000:03:00.0", options);
  ASSERT_TRUE(fn.ok()) << fn.status();
  auto dev = open_device(*std::move(fn));
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(dev.status()),
              HasSubstr("0000:03:00.0: BAR0 is 65536 bytes; an 82599 has 524288"));
}

TEST_F(SysfsPath, ConfigSpaceOfAllOnesMeansTheDeviceVanished) {
  fx.add({.address = "0000:03:00.0", .config_fill = 0xFF});
  auto fn = open_pci_function("0000:03:00.0", options);
  EXPECT_EQ(fn.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(message(fn.status()),
              AllOf(HasSubstr("config space reads all ones"), HasSubstr("lspci -s 0000:03:00.0")));
}

// An I/O port BAR0 (a legacy or transitional virtio device) cannot be mapped:
// its accesses are reads and writes of the resource file (served with port
// instructions by Linux; here, the fixture's plain file).
TEST_F(SysfsPath, AnIoPortBar0IsReadAndWrittenThroughItsResourceFile) {
  const std::string dir = fx.add({.address = "0000:03:00.0", .bar0_size = 32, .bar0_io = true});
  auto fn = open_pci_function("0000:03:00.0", options);
  ASSERT_TRUE(fn.ok()) << fn.status();
  auto bar = (*fn)->bar(0);
  ASSERT_TRUE(bar.ok()) << bar.status();
  EXPECT_EQ((*bar)->size(), 32u);
  (*bar)->write32(0x10, 0x12345678);
  (*bar)->write8(0x12, 0xAB);
  EXPECT_EQ((*bar)->read32(0x10), 0x12AB5678u);
  EXPECT_EQ((*bar)->read16(0x10), 0x5678u);
  std::ifstream file(dir + "/resource0", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.size(), 32u);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0x10]), 0x78);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0x12]), 0xAB);
}

TEST_F(SysfsPath, AnEmptyBarIsNotAssigned) {
  const std::string dir = fx.add({.address = "0000:03:00.0"});
  SysfsFixture::write_file(dir + "/resource0", "");
  auto fn = open_pci_function("0000:03:00.0", options);
  ASSERT_TRUE(fn.ok()) << fn.status();
  EXPECT_THAT(message((*fn)->bar(0).status()), HasSubstr("BAR 0 is empty"));
}

TEST_F(SysfsPath, AMemoryBarWithoutAResourceFileSaysToUseVfio) {
  const std::string dir = fx.add({.address = "0000:03:00.0"});
  ASSERT_EQ(::unlink((dir + "/resource0").c_str()), 0);
  auto fn = open_pci_function("0000:03:00.0", options);
  ASSERT_TRUE(fn.ok()) << fn.status();
  auto bar = (*fn)->bar(0);
  EXPECT_EQ(bar.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      message(bar.status()),
      AllOf(HasSubstr("BAR 0 is memory (524288 bytes at 0xfe000000)"),
            HasSubstr("no " + fx.root() + "/0000:03:00.0/resource0"), HasSubstr("use VFIO")));
}

TEST_F(SysfsPath, NotRootIsRefusedBeforeTouchingTheDevice) {
  const std::string dir = fx.add({.address = "0000:03:00.0", .iommu_group = 9});
  kernel->euid = 1000;
  auto fn = open_pci_function("0000:03:00.0", options);
  EXPECT_EQ(fn.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(message(fn.status()), AllOf(HasSubstr("needs root"), HasSubstr("bind it to vfio-pci"),
                                          HasSubstr("driver_override")));
  EXPECT_EQ(command_register(dir), 0);  // untouched
}

TEST_F(SysfsPath, ABoundDeviceIsLeftAloneUnlessUnbindingIsAsked) {
  fx.add({.address = "0000:03:00.1",
          .driver = "ixgbe",
          .iommu_group = 14,
          .interfaces = {"enp3s0f1"}});
  auto fn = open_pci_function("0000:03:00.1", options);
  EXPECT_EQ(fn.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(fn.status()),
              AllOf(HasSubstr("bound to kernel driver ixgbe as network interface enp3s0f1"),
                    HasSubstr("/driver/unbind"), HasSubstr("unbind_kernel_driver")));
  EXPECT_TRUE(kernel->unbound.empty());
  EXPECT_EQ(SysfsFixture::read_file(fx.base() + "/sys/bus/pci/drivers/ixgbe/unbind"), "");

  options.unbind_kernel_driver = true;
  auto unbound = open_pci_function("0000:03:00.1", options);
  ASSERT_TRUE(unbound.ok()) << unbound.status();
  EXPECT_THAT(kernel->unbound, ElementsAre("0000:03:00.1"));
  EXPECT_EQ(SysfsFixture::read_file(fx.base() + "/sys/bus/pci/drivers/ixgbe/unbind"),
            "0000:03:00.1");
  EXPECT_EQ(link_basename(fx.root() + "/0000:03:00.1/driver"), "");
  EXPECT_TRUE((*unbound)->bar(0).ok());
}

TEST_F(SysfsPath, ADriverThatStaysBoundIsAnError) {
  fx.add({.address = "0000:03:00.1", .driver = "ixgbe"});
  kernel->unbind_works = false;
  options.unbind_kernel_driver = true;
  auto fn = open_pci_function("0000:03:00.1", options);
  EXPECT_EQ(fn.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(fn.status()),
              AllOf(HasSubstr("still bound to kernel driver ixgbe"), HasSubstr("dmesg")));
}

TEST_F(SysfsPath, NoHugepagesSaysWhatToRun) {
  fx.add({.address = "0000:03:00.0"});
  options.meminfo = fx.meminfo(0, 0);
  auto fn = open_pci_function("0000:03:00.0", options);
  EXPECT_EQ(fn.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(fn.status()), HasSubstr("hugepages-2048kB/nr_hugepages"));
}

TEST_F(SysfsPath, UnsupportedAndMissingDevicesAreNamed) {
  fx.add({.address = "0000:03:00.0"});
  fx.add({.address = "0000:04:00.0", .id = {0x14E4, 0x1657}});  // a Broadcom NIC
  auto other = open_pci_function("0000:04:00.0", options);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(other.status()), HasSubstr("14e4:1657 is a network controller, not a NIC"));

  auto missing = open_pci_function("0000:42:00.0", options);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(missing.status()),
              AllOf(HasSubstr("not among the 2 PCI devices"),
                    HasSubstr("0000:03:00.0 (8086:10fb, no kernel driver)")));
  EXPECT_EQ(open_pci_function("sim:82599", options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// open_device() with a PCI address reaches this library through the registry,
// DeviceConfig::unbind_kernel_driver included.
TEST_F(SysfsPath, OpenDeviceByAddressGoesThroughTheRegistry) {
  fx.add({.address = "0000:03:00.0"});
  fx.add({.address = "0000:03:00.1", .driver = "ixgbe"});
  const PciOpenOptions saved = default_pci_options();
  set_default_pci_options(options);

  auto gone = open_device("0000:03:00.0");
  EXPECT_THAT(message(gone.status()), HasSubstr("registers read all ones"));
  auto bound = open_device("03:00.1");
  EXPECT_THAT(message(bound.status()), HasSubstr("bound to kernel driver ixgbe"));
  auto unbound = open_device("03:00.1", {.unbind_kernel_driver = true});
  EXPECT_THAT(kernel->unbound, ElementsAre("0000:03:00.1"));
  EXPECT_THAT(message(unbound.status()), HasSubstr("registers read all ones"));

  set_default_pci_options(saved);
}

// On this machine: an address that does not exist is NotFound, and the
// message names what exists (examples_test checks pktgen's wording).
TEST(OpenDevice, AMissingPciAddressOnThisMachineListsWhatExists) {
  auto dev = open_device("0000:fe:1f.7");
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(dev.status()), HasSubstr("PCI devices"));
}

}  // namespace
}  // namespace safenic::pci
