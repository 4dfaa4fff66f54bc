// Discovery against a fixture tree laid out like /sys/bus/pci/devices; the
// table of known NICs; hugepage status; the advice plan_open gives.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/ixgbe/ixgbe.h"
#include "nic/open.h"
#include "nic/pci/hugepages.h"
#include "nic/pci/plan.h"
#include "nic/pci/sysfs.h"
#include "tests/pci/sysfs_fixture.h"

namespace safenic::pci {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::FixtureDevice;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::SysfsFixture;

std::string message(const absl::Status& s) { return std::string(s.message()); }

// Three NICs in different states and two devices that are not NICs.
void populate(SysfsFixture& fx) {
  fx.add({.address = "0000:03:00.0", .id = {0x8086, 0x10FB}});
  fx.add({.address = "0000:03:00.1",
          .id = {0x8086, 0x10FB},
          .driver = "ixgbe",
          .iommu_group = 14,
          .interfaces = {"enp3s0f1"}});
  fx.add(
      {.address = "0000:81:00.0", .id = {0x15B3, 0x1017}, .driver = "vfio-pci", .iommu_group = 40});
  fx.add({.address = "0000:00:1f.2",
          .id = {0x8086, 0xA102},
          .class_code = 0x010601,
          .driver = "ahci",
          .bar0_size = 0});
  fx.add(
      {.address = "0000:00:00.0", .id = {0x8086, 0x0D57}, .class_code = 0x060000, .bar0_size = 0});
}

TEST(SysfsTree, ListsDevicesWithIdsClassDriverGroupAndInterfaces) {
  SysfsFixture fx;
  populate(fx);
  auto devices = SysfsTree(fx.root()).list();
  ASSERT_TRUE(devices.ok()) << devices.status();
  ASSERT_EQ(devices->size(), 5u);
  std::vector<std::string> addresses;
  for (const PciDeviceInfo& d : *devices) addresses.push_back(d.address);
  EXPECT_THAT(addresses, ElementsAre("0000:00:00.0", "0000:00:1f.2", "0000:03:00.0", "0000:03:00.1",
                                     "0000:81:00.0"));

  const PciDeviceInfo& bridge = (*devices)[0];
  EXPECT_FALSE(bridge.is_network());
  EXPECT_EQ(class_name(bridge.class_code), "bridge");
  const PciDeviceInfo& sata = (*devices)[1];
  EXPECT_EQ(sata.class_code, 0x010601u);
  EXPECT_EQ(sata.kernel_driver, "ahci");
  EXPECT_EQ(class_name(sata.class_code), "mass storage controller");

  const PciDeviceInfo& free_nic = (*devices)[2];
  EXPECT_TRUE(free_nic.is_network());
  EXPECT_EQ(free_nic.id, (PciId{0x8086, 0x10FB}));
  EXPECT_EQ(free_nic.kernel_driver, "");
  EXPECT_EQ(free_nic.iommu_group, -1);
  EXPECT_EQ(free_nic.path, fx.root() + "/0000:03:00.0");

  const PciDeviceInfo& bound = (*devices)[3];
  EXPECT_EQ(bound.kernel_driver, "ixgbe");
  EXPECT_EQ(bound.iommu_group, 14);
  EXPECT_THAT(bound.interfaces, ElementsAre("enp3s0f1"));

  const PciDeviceInfo& vfio = (*devices)[4];
  EXPECT_EQ(vfio.id, (PciId{0x15B3, 0x1017}));
  EXPECT_EQ(vfio.kernel_driver, "vfio-pci");
  EXPECT_TRUE(is_vfio_driver(vfio.kernel_driver));
  EXPECT_EQ(vfio.iommu_group, 40);
}

TEST(SysfsTree, FindsOneDeviceAndNamesTheNetworkDevicesWhenItIsNotThere) {
  SysfsFixture fx;
  populate(fx);
  const SysfsTree tree(fx.root());
  auto found = tree.find("0000:03:00.1");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->kernel_driver, "ixgbe");

  auto missing = tree.find("0000:42:00.0");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(missing.status()),
              AllOf(HasSubstr("0000:42:00.0 is not among the 5 PCI devices under " + fx.root()),
                    HasSubstr("0000:03:00.0 (8086:10fb, no kernel driver)"),
                    HasSubstr("0000:03:00.1 (8086:10fb, kernel driver ixgbe)"),
                    HasSubstr("0000:81:00.0 (15b3:1017, kernel driver vfio-pci)"),
                    Not(HasSubstr("0000:00:1f.2")), HasSubstr("nic_list")));
}

TEST(SysfsTree, AMissingRootSaysSo) {
  auto devices = SysfsTree("/nonexistent/sys/bus/pci/devices").list();
  EXPECT_EQ(devices.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(devices.status()), HasSubstr("is sysfs mounted?"));
}

TEST(SysfsTree, BusDirIsTheParentOfDevices) {
  EXPECT_EQ(SysfsTree("/sys/bus/pci/devices").bus_dir(), "/sys/bus/pci");
  EXPECT_EQ(SysfsTree("/sys/bus/pci/devices/").bus_dir(), "/sys/bus/pci");
}

TEST(SysfsTree, RejectsAttributesThatAreNotHex) {
  SysfsFixture fx;
  const std::string dir = fx.add({.address = "0000:05:00.0"});
  SysfsFixture::write_file(dir + "/vendor", "intel\n");
  auto d = SysfsTree(fx.root()).find("0000:05:00.0");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(message(d.status()), HasSubstr("holds 'intel', not a hexadecimal number"));
}

// The names come from the linked drivers' own tables (register_driver): only
// ixgbe is linked into this test.
TEST(KnownNics, TheLinkedDriversNameTheirDevices) {
  EXPECT_EQ(device_model({0x8086, 0x10FB}), "Intel 82599ES 10 GbE (SFI/SFP+)");
  EXPECT_EQ(device_model({0x8086, 0x1557}), "Intel 82599EN 10 GbE (SFP+)");
  EXPECT_EQ(device_model({0x15B3, 0x1017}), "");  // ConnectX-5: mlx5 is not linked here
  EXPECT_EQ(device_model({0x1AF4, 0x1042}), "");  // virtio-blk
  EXPECT_EQ(device_model({0x8086, 0x1572}), "");  // X710: no driver planned
}

TEST(KnownNics, EveryIdTheIxgbeDriverTakesHasAName) {
  for (uint32_t device = 0; device <= 0xFFFF; ++device) {
    const PciId id{0x8086, static_cast<uint16_t>(device)};
    if (ixgbe::supports(id)) {
      EXPECT_THAT(std::string(device_model(id)), HasSubstr("82599")) << device;
    }
  }
}

TEST(DriverRegistry, PicksTheLinkedDriverByPciId) {
  EXPECT_EQ(driver_for({0x8086, 0x10FB}), "ixgbe");
  EXPECT_EQ(driver_for({0x8086, 0x0D57}), "");
}

TEST(Hugepages, ReadsMeminfoAndSaysHowToReserve) {
  SysfsFixture fx;
  auto s = read_hugepages(fx.meminfo(8, 6));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->total, 8);
  EXPECT_EQ(s->free, 6);
  EXPECT_EQ(s->size_kb, 2048);
  EXPECT_EQ(describe(*s), "6 of 8 2 MiB hugepages free (12 MiB)");
  EXPECT_TRUE(check_hugepages(*s).ok());

  auto none = read_hugepages(fx.meminfo(0, 0));
  ASSERT_TRUE(none.ok());
  absl::Status err = check_hugepages(*none);
  EXPECT_EQ(err.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(err),
              AllOf(HasSubstr("no free 2 MiB hugepages"), HasSubstr("none reserved"),
                    HasSubstr("echo 512 | sudo tee "
                              "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
                    HasSubstr("sysctl vm.nr_hugepages=512")));

  auto used = read_hugepages(fx.meminfo(8, 0));
  ASSERT_TRUE(used.ok());
  EXPECT_THAT(message(check_hugepages(*used)), HasSubstr("all 8 2 MiB hugepages are in use"));

  auto gig = read_hugepages(fx.meminfo(0, 0, 1048576));
  ASSERT_TRUE(gig.ok());
  EXPECT_THAT(describe(*gig), HasSubstr("default hugepage size is 1048576 kB"));
  EXPECT_TRUE(check_hugepages(*gig).ok());  // the allocation decides
}

TEST(Hugepages, AMissingMeminfoOrHugetlbfsSaysSo) {
  EXPECT_THAT(message(read_hugepages("/nonexistent/meminfo").status()),
              HasSubstr("is /proc mounted?"));
  SysfsFixture fx;
  SysfsFixture::write_file(fx.base() + "/meminfo", "MemTotal: 1000 kB\n");
  EXPECT_THAT(message(read_hugepages(fx.base() + "/meminfo").status()), HasSubstr("no hugetlbfs"));
}

// The decisions and advice of plan_open, case by case.
class Plan : public ::testing::Test {
 protected:
  Plan() : tree(fx.root()) {
    populate(fx);
    env.root = true;
    env.vfio_available = true;
    env.hugepages = {8, 8, 2048};
  }
  OpenPlan plan(const std::string& address, bool unbind = false) {
    auto d = tree.find(address);
    EXPECT_TRUE(d.ok()) << d.status();
    return plan_open(tree, *d, driver_for(d->id), env, unbind);
  }
  SysfsFixture fx;
  SysfsTree tree;
  Environment env;
};

TEST_F(Plan, AFreeDeviceGoesThroughSysfsAsRoot) {
  OpenPlan p = plan("0000:03:00.0");
  EXPECT_TRUE(p.blocker.ok()) << p.blocker;
  EXPECT_EQ(p.path, OpenPlan::Path::kSysfs);
  EXPECT_EQ(p.driver, "ixgbe");
  EXPECT_FALSE(p.unbind_first);
}

TEST_F(Plan, NotRootSaysToRunAsRootOrUseVfio) {
  env.root = false;
  OpenPlan p = plan("0000:03:00.0");
  EXPECT_EQ(p.blocker.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(message(p.blocker),
              AllOf(HasSubstr("needs root"), HasSubstr("no IOMMU group, so VFIO cannot take it"),
                    HasSubstr("intel_iommu=on")));
}

TEST_F(Plan, ABoundDeviceIsAnErrorThatSaysHowToUnbindOrBindToVfio) {
  OpenPlan p = plan("0000:03:00.1");
  EXPECT_EQ(p.blocker.code(), absl::StatusCode::kFailedPrecondition);
  const std::string dev = fx.root() + "/0000:03:00.1";
  EXPECT_THAT(
      message(p.blocker),
      AllOf(HasSubstr("bound to kernel driver ixgbe as network interface enp3s0f1"),
            HasSubstr("echo 0000:03:00.1 | sudo tee " + dev + "/driver/unbind"),
            HasSubstr("sudo modprobe vfio-pci"),
            HasSubstr("echo vfio-pci | sudo tee " + dev + "/driver_override"),
            HasSubstr("echo 0000:03:00.1 | sudo tee " + fx.base() + "/sys/bus/pci/drivers_probe"),
            HasSubstr("DeviceConfig::unbind_kernel_driver = true")));
  OpenPlan asked = plan("0000:03:00.1", /*unbind=*/true);
  EXPECT_TRUE(asked.blocker.ok()) << asked.blocker;
  EXPECT_TRUE(asked.unbind_first);
  EXPECT_EQ(asked.path, OpenPlan::Path::kSysfs);
  env.root = false;
  EXPECT_EQ(plan("0000:03:00.1", true).blocker.code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(Plan, ABoundDeviceWithoutIommuGroupIsNotOfferedVfio) {
  fx.add({.address = "0000:04:00.0", .driver = "ixgbe"});
  OpenPlan p = plan("0000:04:00.0");
  EXPECT_THAT(message(p.blocker),
              AllOf(HasSubstr("VFIO is not possible"), Not(HasSubstr("driver_override"))));
}

TEST_F(Plan, VfioBoundDevicesGoThroughVfioAndNeedTheModuleAndAGroup) {
  fx.add({.address = "0000:05:00.0", .driver = "vfio-pci", .iommu_group = 3});
  OpenPlan p = plan("0000:05:00.0");
  EXPECT_TRUE(p.blocker.ok()) << p.blocker;
  EXPECT_EQ(p.path, OpenPlan::Path::kVfio);
  env.root = false;  // VFIO needs no root
  EXPECT_TRUE(plan("0000:05:00.0").blocker.ok());

  env.vfio_available = false;
  EXPECT_THAT(message(plan("0000:05:00.0").blocker),
              AllOf(HasSubstr("/dev/vfio/vfio is missing"), HasSubstr("sudo modprobe vfio-pci")));

  fx.add({.address = "0000:06:00.0", .driver = "vfio-pci"});
  env.vfio_available = true;
  OpenPlan no_group = plan("0000:06:00.0");
  EXPECT_EQ(no_group.blocker.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(no_group.blocker),
              AllOf(HasSubstr("has no IOMMU group"), HasSubstr("intel_iommu=on")));
}

TEST_F(Plan, UnsupportedDevicesAreNamed) {
  OpenPlan cx5 = plan("0000:81:00.0");  // only ixgbe is linked into this test
  EXPECT_EQ(cx5.blocker.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(cx5.blocker),
              HasSubstr("15b3:1017 is a network controller, not a NIC that a safenic driver "
                        "in this program supports"));
  OpenPlan sata = plan("0000:00:1f.2");
  EXPECT_THAT(message(sata.blocker),
              HasSubstr("8086:a102 is a mass storage controller, not a NIC"));
}

TEST_F(Plan, AVanishedDeviceSaysSo) {
  fx.add({.address = "0000:07:00.0", .id = {0xFFFF, 0xFFFF}});
  OpenPlan p = plan("0000:07:00.0");
  EXPECT_EQ(p.blocker.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(message(p.blocker), AllOf(HasSubstr("reads 0xffff"), HasSubstr("gone")));
}

TEST_F(Plan, NoHugepagesComeLastWithTheCommand) {
  env.hugepages = {0, 0, 2048};
  OpenPlan p = plan("0000:03:00.0");
  EXPECT_EQ(p.blocker.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(message(p.blocker), HasSubstr("nr_hugepages"));
  // A device-specific problem is reported first.
  EXPECT_THAT(message(plan("0000:03:00.1").blocker), HasSubstr("bound to kernel driver"));
  env.hugepages_unknown = absl::FailedPreconditionError("no hugetlbfs");
  env.hugepages = {8, 8, 2048};
  EXPECT_THAT(message(plan("0000:03:00.0").blocker), HasSubstr("no hugetlbfs"));
}

}  // namespace
}  // namespace safenic::pci
