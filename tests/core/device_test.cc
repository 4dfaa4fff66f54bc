// The device API's common parts: spec strings, opening, queue checks,
// wait_for_link, stats, MAC addresses.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/device.h"
#include "nic/open.h"
#include "sim/simulated_function.h"
#include "tests/testdev/model.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

TEST(DeviceSpec, ParsesEveryKind) {
  auto sim = parse_device_spec("sim:82599");
  ASSERT_TRUE(sim.ok());
  EXPECT_EQ(sim->kind, DeviceSpec::Kind::kSimulated);
  EXPECT_EQ(sim->target, "82599");
  auto pci = parse_device_spec("0000:03:00.0");
  ASSERT_TRUE(pci.ok());
  EXPECT_EQ(pci->kind, DeviceSpec::Kind::kPci);
  EXPECT_EQ(pci->target, "0000:03:00.0");
  auto short_pci = parse_device_spec("3b:1f.7");
  ASSERT_TRUE(short_pci.ok());
  EXPECT_EQ(short_pci->target, "0000:3b:1f.7");
  auto vu = parse_device_spec("vhost-user:/tmp/x.sock");
  ASSERT_TRUE(vu.ok());
  EXPECT_EQ(vu->kind, DeviceSpec::Kind::kVhostUser);
  EXPECT_EQ(vu->target, "/tmp/x.sock");
}

TEST(DeviceSpec, RejectsWhatIsNotASpecAndSaysWhatIs) {
  for (const char* bad : {"", "sim:", "vhost-user:", "eth0", "0000:03:20.0", "03:00.8",
                          "0000:03:00.0x", "zz:00.0", "12345:03:00.0"}) {
    auto s = parse_device_spec(bad);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("expected sim:KIND")) << bad;
  }
}

TEST(OpenDevice, NamesWhatIsMissing) {
  auto vu = open_device("vhost-user:/nonexistent.sock");
  EXPECT_EQ(vu.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(vu.status().message()), HasSubstr("vhost-user"));
  EXPECT_EQ(open_device("nonsense").status().code(), absl::StatusCode::kInvalidArgument);
}

// A device whose link and queues the test controls.
class FakeDevice final : public Device {
 public:
  FakeDevice() : Device(2, 1) {}
  absl::string_view driver() const override { return "fake"; }
  DeviceCapabilities capabilities() const override { return {}; }
  std::string name() const override { return "fake:0"; }
  MacAddress mac() const override { return {}; }
  LinkStatus link() override {
    ++link_polls;
    return {link_polls > polls_until_up, 10000};
  }
  absl::StatusOr<DeviceStats> stats() override { return DeviceStats{}; }
  absl::Status set_promiscuous(bool) override { return absl::OkStatus(); }
  int link_polls = 0;
  int polls_until_up = 3;
  int received = 0;

 protected:
  size_t receive(uint16_t, PacketBatch&) override { return ++received, 0; }
  size_t transmit(uint16_t, PacketBatch& b) override { return b.size(); }
  size_t reclaim(uint16_t) override { return 0; }
  const DmaAllocator& dma() const override { return dma_; }
  // A clock of its own: waiting costs the test no real time.
  absl::Time now() override { return now_; }
  void sleep(absl::Duration d) override { now_ += d; }

 private:
  DmaAllocator dma_{Backing::kAnonymous, std::make_shared<IdentityMapper>()};
  absl::Time now_ = absl::UnixEpoch();
};

TEST(Device, QueueIndicesAreCheckedWithAClearError) {
  FakeDevice dev;
  Batch<4> batch;
  EXPECT_TRUE(dev.rx_batch(1, batch).ok());
  auto bad = dev.rx_batch(2, batch);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("rx queue 2 does not exist; the device was opened with 2 rx"));
  EXPECT_EQ(dev.received, 1);  // the driver never saw the bad call
  EXPECT_FALSE(dev.tx_batch(1, batch).ok());
}

TEST(Device, WaitForLinkPollsUntilUp) {
  FakeDevice dev;
  EXPECT_TRUE(dev.wait_for_link(absl::Seconds(10)).ok());
  EXPECT_EQ(dev.link_polls, 4);
}

TEST(Device, WaitForLinkTimesOutWithAClearError) {
  FakeDevice dev;
  dev.polls_until_up = 1 << 30;
  auto s = dev.wait_for_link(absl::Seconds(2));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(s.message()), HasSubstr("fake:0 (fake): link is still down after 2s"));
  EXPECT_EQ(dev.link_polls, 2001);  // every millisecond, and once at the deadline
}

TEST(DeviceStats, TotalsAddUpQueues) {
  DeviceStats s;
  s.rx = {{1, 100, 2, 3}, {10, 1000, 20, 30}};
  s.tx = {{5, 500, 0, 1}};
  const QueueStats rx = s.rx_total();
  EXPECT_EQ(rx.packets, 11u);
  EXPECT_EQ(rx.bytes, 1100u);
  EXPECT_EQ(rx.drops, 22u);
  EXPECT_EQ(rx.errors, 33u);
  EXPECT_EQ(s.tx_total().bytes, 500u);
}

TEST(MacAddress, ParsesAndPrints) {
  auto mac = MacAddress::parse("02:aB:00:00:10:ff");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->to_string(), "02:ab:00:00:10:ff");
  EXPECT_FALSE(mac->is_multicast());
  for (const char* bad :
       {"", "02:ab:00:00:10", "02:ab:00:00:10:ff:00", "02-ab-00-00-10-ff", "02:ab:00:00:10:fg"}) {
    EXPECT_FALSE(MacAddress::parse(bad).ok()) << bad;
  }
}

// The registry: open_device(PciFunction) picks the driver by PCI id.
absl::StatusOr<std::unique_ptr<Device>> open_fake(std::unique_ptr<PciFunction>,
                                                  const DeviceConfig&) {
  return std::unique_ptr<Device>(new FakeDevice());
}
constexpr SupportedDevice kFakeDevices[] = {{{0x1234, 0xD0A1}, "a DMA copy engine"}};
const bool kRegistered =
    register_driver({"fake-dmacopy", "made-up devices", kFakeDevices, open_fake});

TEST(OpenDevice, PicksTheDriverByPciIdAndNamesUnsupportedDevices) {
  ASSERT_TRUE(kRegistered);
  sim::SimContext ctx;
  auto fn = std::make_unique<sim::SimulatedFunction>(std::make_shared<testdev::DmaCopyModel>(ctx),
                                                     ctx, "sim:dmacopy#0");
  auto dev = open_device(std::move(fn));
  ASSERT_TRUE(dev.ok()) << dev.status();
  EXPECT_EQ((*dev)->driver(), "fake");

  class Unknown final : public sim::DeviceModel {
    PciId id() const override { return {0xabcd, 0x0001}; }
    size_t bar_size(int) const override { return 0; }
    uint64_t mmio_read(int, uint32_t, unsigned) override { return 0; }
    void mmio_write(int, uint32_t, unsigned, uint64_t) override {}
  };
  auto none = open_device(
      std::make_unique<sim::SimulatedFunction>(std::make_shared<Unknown>(), ctx, "sim:x#0"));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("no safenic driver supports PCI device abcd:0001"));
  // The error lists each linked driver with the family it drives.
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("fake-dmacopy (made-up devices)"));
  EXPECT_EQ(device_model({0x1234, 0xD0A1}), "a DMA copy engine");  // names come from drivers
  EXPECT_EQ(driver_for({0x1234, 0xD0A1}), "fake-dmacopy");
}

}  // namespace
}  // namespace safenic
