// MAC/VLAN filters (Device::add_mac_filter) on the mlx5 driver against the
// ConnectX model: each filter's frames on its queue, VLAN-tagged and untagged
// kept apart, filters added and removed at run time with counted drops, bad
// inputs, a failing command, teardown; ixgbe and virtio say Unimplemented.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/mlx5/layout.h"
#include "nic/mlx5/mlx5.h"
#include "sim/harness/frames.h"
#include "sim/harness/testbed.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

constexpr MacAddress kMacA{{0x02, 0, 0, 0, 0xaa, 0x01}}, kMacB{{0x02, 0, 0, 0, 0xbb, 0x02}},
    kMacC{{0x02, 0, 0, 0, 0xcc, 0x03}};
constexpr int kNowhere = -1;

class Mlx5SteeringTest : public ::testing::Test {
 protected:
  void open(uint16_t queues, sim::ConnectXProfile profile = sim::ConnectXProfile::cx5()) {
    DeviceConfig c;
    c.rx_queues = queues;
    c.rx_ring_size = c.tx_ring_size = 64;
    c.buffers_per_rx_queue = 128;
    model_ = std::make_shared<sim::ConnectXModel>(ctx_, profile);
    auto dev = mlx5::open(std::make_unique<sim::SimulatedFunction>(model_, ctx_, "sim:cx5#0"), c);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *std::move(dev);
    sim::connect(peer_, model_->port());
    ASSERT_TRUE(dev_->wait_for_link(absl::Seconds(1)).ok());
  }
  FilterId add(const MacAddress& mac, std::optional<uint16_t> vlan, uint16_t queue) {
    auto id = dev_->add_mac_filter({mac, vlan, queue});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : FilterId{};
  }
  // A UDP frame to `dst`, with an 802.1Q tag (TPID 0x8100) when `vlan` is set.
  static std::vector<uint8_t> frame(const MacAddress& dst, std::optional<uint16_t> vlan,
                                    uint64_t seq) {
    sim::UdpFlow flow;
    flow.dst_mac = dst;
    std::vector<uint8_t> f = sim::udp_frame(60, flow, seq);
    if (vlan) f.insert(f.begin() + 12, {0x81, 0x00, uint8_t(*vlan >> 8), uint8_t(*vlan)});
    return f;
  }
  // Sends one frame; the queue it arrived on (intact), or kNowhere.
  int queue_of(const MacAddress& dst, std::optional<uint16_t> vlan) {
    const std::vector<uint8_t> sent = frame(dst, vlan, ++seq_);
    peer_.send(sent);
    int found = kNowhere;
    for (uint16_t q = 0; q < dev_->rx_queues(); ++q) {
      Batch<4> in;
      const size_t n = *dev_->rx_batch(q, in);
      if (n == 0) continue;
      EXPECT_EQ(n, 1u);
      EXPECT_EQ(found, kNowhere) << "the frame arrived twice";
      EXPECT_TRUE(std::equal(sent.begin(), sent.end(), in[0].bytes().begin(), in[0].bytes().end()));
      found = q;
    }
    return found;
  }
  void expect_clean() { EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string(); }

  sim::SimContext ctx_;
  std::shared_ptr<sim::ConnectXModel> model_;
  std::unique_ptr<Device> dev_;
  sim::TesterPort peer_;
  uint64_t seq_ = 0;
};

TEST_F(Mlx5SteeringTest, EachFiltersFramesArriveOnItsQueueAndNoOthers) {
  open(4);
  add(kMacA, std::nullopt, 1);
  add(kMacB, 10, 2);
  add(dev_->mac(), 30, 3);  // our own address on a VLAN, ahead of RSS
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(queue_of(kMacA, std::nullopt), 1);
    EXPECT_EQ(queue_of(kMacB, 10), 2);
    EXPECT_EQ(queue_of(dev_->mac(), 30), 3);
  }
  const auto before = model_->drops();
  EXPECT_EQ(queue_of(kMacC, std::nullopt), kNowhere);  // no filter: the vport drops it
  EXPECT_EQ(queue_of(kMacB, 11), kNowhere);            // B on another VLAN: no entry
  EXPECT_EQ(model_->drops().vport_filter, before.vport_filter + 1);
  EXPECT_EQ(model_->drops().no_steering, before.no_steering + 1);
  EXPECT_NE(queue_of(dev_->mac(), std::nullopt), kNowhere);  // our address still goes through RSS
  expect_clean();
}

TEST_F(Mlx5SteeringTest, TheSameMacOnTwoVlansGoesToTwoQueues) {
  open(3);
  add(kMacA, 100, 1);
  add(kMacA, 200, 2);
  EXPECT_EQ(queue_of(kMacA, 100), 1);
  EXPECT_EQ(queue_of(kMacA, 200), 2);
  EXPECT_EQ(queue_of(kMacA, 300), kNowhere);
  expect_clean();
}

TEST_F(Mlx5SteeringTest, AVlanFilterTakesNoUntaggedFramesAndViceVersa) {
  open(3);
  add(kMacA, 5, 1);
  add(kMacB, std::nullopt, 2);
  const uint64_t dropped = model_->drops().no_steering;
  EXPECT_EQ(queue_of(kMacA, std::nullopt), kNowhere);
  EXPECT_EQ(queue_of(kMacA, 0), kNowhere);  // a priority tag (VID 0) is a tag, not VLAN 5
  EXPECT_EQ(queue_of(kMacB, 5), kNowhere);
  EXPECT_EQ(queue_of(kMacB, 0), kNowhere);
  EXPECT_EQ(model_->drops().no_steering, dropped + 4);
  EXPECT_EQ(queue_of(kMacA, 5), 1);
  EXPECT_EQ(queue_of(kMacB, std::nullopt), 2);
  add(kMacA, 0, 2);  // VLAN 0 is a filter of its own
  EXPECT_EQ(queue_of(kMacA, 0), 2);
  expect_clean();
}

TEST_F(Mlx5SteeringTest, RemovingAFilterAtRunTimeStopsOnlyItsFrames) {
  open(4);
  const FilterId a10 = add(kMacA, 10, 1), a20 = add(kMacA, 20, 2), b = add(kMacB, std::nullopt, 3);
  EXPECT_EQ(queue_of(kMacA, 10), 1);
  ASSERT_TRUE(dev_->remove_mac_filter(a10).ok());
  const auto before = model_->drops();
  EXPECT_EQ(queue_of(kMacA, 10), kNowhere);  // A is still allowed (VLAN 20): no flow entry
  EXPECT_EQ(model_->drops().no_steering, before.no_steering + 1);
  EXPECT_EQ(queue_of(kMacA, 20), 2);
  EXPECT_EQ(queue_of(kMacB, std::nullopt), 3);
  ASSERT_TRUE(dev_->remove_mac_filter(b).ok());
  EXPECT_EQ(queue_of(kMacB, std::nullopt), kNowhere);  // B left the vport's list
  EXPECT_EQ(model_->drops().vport_filter, before.vport_filter + 1);
  EXPECT_EQ(queue_of(kMacA, 20), 2);
  // The freed slots take new filters; the old ids stay invalid.
  add(kMacB, 10, 1);
  EXPECT_EQ(queue_of(kMacB, 10), 1);
  EXPECT_EQ(dev_->remove_mac_filter(a10).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(dev_->remove_mac_filter(a20).ok());
  EXPECT_EQ(queue_of(kMacA, 20), kNowhere);
  expect_clean();
}

TEST_F(Mlx5SteeringTest, PromiscuousTakesTheRestWhileFiltersKeepTheirQueues) {
  open(2);
  add(kMacA, 7, 1);
  ASSERT_TRUE(dev_->set_promiscuous(true).ok());
  EXPECT_EQ(queue_of(kMacA, 7), 1);
  EXPECT_NE(queue_of(kMacC, std::nullopt), kNowhere);
  EXPECT_NE(queue_of(kMacA, 8), kNowhere);
  ASSERT_TRUE(dev_->set_promiscuous(false).ok());
  EXPECT_EQ(queue_of(kMacC, std::nullopt), kNowhere);
  EXPECT_EQ(queue_of(kMacA, 8), kNowhere);
  EXPECT_EQ(queue_of(kMacA, 7), 1);
  expect_clean();
}

TEST_F(Mlx5SteeringTest, BadFiltersGetClearStatusesAndChangeNothing) {
  open(2);
  const FilterId a = add(kMacA, 1, 1);
  const size_t objects = model_->live_objects();
  auto expect = [&](const MacFilter& f, absl::StatusCode code, const std::string& says) {
    auto id = dev_->add_mac_filter(f);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), code) << id.status();
    EXPECT_THAT(std::string(id.status().message()), HasSubstr(says));
  };
  expect({kMacB, std::nullopt, 2}, absl::StatusCode::kOutOfRange,
         "RX queue 2, which does not exist");
  expect({kMacB, 4096, 0}, absl::StatusCode::kInvalidArgument, "VLAN ids are 0 to 4095");
  expect({MacAddress{{0x01, 0, 0x5e, 0, 0, 1}}, std::nullopt, 0},
         absl::StatusCode::kInvalidArgument, "not a unicast address");
  expect({MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, 3, 0},
         absl::StatusCode::kInvalidArgument, "use promiscuous mode");
  expect({MacAddress{}, std::nullopt, 0}, absl::StatusCode::kInvalidArgument,
         "not a unicast address");
  expect({kMacA, 1, 0}, absl::StatusCode::kAlreadyExists, "exists already (id 1, RX queue 1)");
  EXPECT_EQ(model_->live_objects(), objects);
  EXPECT_EQ(dev_->remove_mac_filter(FilterId{99}).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(dev_->remove_mac_filter(a).ok());
  const absl::Status again = dev_->remove_mac_filter(a);
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(again.message()), HasSubstr("removed already"));
  expect_clean();
}

TEST_F(Mlx5SteeringTest, FullTablesAreResourceExhausted) {
  sim::ConnectXProfile p = sim::ConnectXProfile::cx5();
  p.log_max_uc_list = 2;  // the vport takes our address and 3 more
  open(2, p);
  std::vector<FilterId> ids;
  for (uint8_t i = 1; i <= 3; ++i)
    ids.push_back(add(MacAddress{{0x02, 0, 0, 0, 0x10, i}}, std::nullopt, 1));
  auto fourth = dev_->add_mac_filter({kMacC, std::nullopt, 1});
  EXPECT_EQ(fourth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(fourth.status().message()),
              HasSubstr("allowed list holds 4 unicast addresses"));
  EXPECT_EQ(queue_of(kMacC, std::nullopt), kNowhere);
  // The same addresses on VLANs need no more room in the list: 64 flow entries.
  for (uint16_t vlan = 1; ids.size() < 64; ++vlan) ids.push_back(add(dev_->mac(), vlan, 1));
  auto full = dev_->add_mac_filter({dev_->mac(), 1000, 0});
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(full.status().message()), HasSubstr("all 64 MAC filters are in use"));
  EXPECT_EQ(queue_of(dev_->mac(), 61), 1);
  ASSERT_TRUE(dev_->remove_mac_filter(ids[0]).ok());
  add(kMacC, std::nullopt, 0);
  EXPECT_EQ(queue_of(kMacC, std::nullopt), 0);
  expect_clean();
}

TEST_F(Mlx5SteeringTest, AFailingCommandLeavesNoFilterAndNoAllowedAddress) {
  open(2);
  model_->fail_next_command(mlx5::SET_FLOW_TABLE_ENTRY::kOpcode, mlx5::CmdStatus::kNoResources,
                            0x77);
  auto id = dev_->add_mac_filter({kMacA, std::nullopt, 1});
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("SET_FLOW_TABLE_ENTRY failed"));
  const uint64_t vport_drops = model_->drops().vport_filter;
  EXPECT_EQ(queue_of(kMacA, std::nullopt), kNowhere);
  EXPECT_EQ(model_->drops().vport_filter, vport_drops + 1);  // back off the vport's list
  add(kMacA, std::nullopt, 1);  // the same filter, now in the same slot
  EXPECT_EQ(queue_of(kMacA, std::nullopt), 1);
  expect_clean();
}

TEST_F(Mlx5SteeringTest, TeardownWithFiltersLeavesNoFirmwareObjectsAndNoBuffers) {
  open(4);
  const size_t without = model_->live_objects();
  add(kMacA, std::nullopt, 1);
  add(kMacA, 9, 2);
  const FilterId b = add(kMacB, 9, 3);
  EXPECT_EQ(model_->live_objects(), without + 3 + 3);  // three entries, three queue TIRs
  ASSERT_TRUE(dev_->remove_mac_filter(b).ok());
  EXPECT_EQ(model_->live_objects(), without + 2 + 3);
  ASSERT_TRUE(dev_->set_promiscuous(true).ok());
  dev_.reset();
  EXPECT_EQ(model_->objects_at_teardown(), 0u);
  EXPECT_EQ(model_->live_objects(), 0u);
  EXPECT_EQ(model_->pages_held(), 0u);
  EXPECT_EQ(ctx_.iommu->live_regions(), 0u);
  expect_clean();
}

TEST(MacFiltersElsewhere, IxgbeAndVirtioSayUnimplemented) {
  sim::Testbed bed;
  DeviceConfig c;
  c.rx_queues = 2;
  auto intel = bed.add("82599", c);
  auto virtio = bed.add("virtio", {});
  ASSERT_TRUE(intel.ok() && virtio.ok());
  for (Device* dev : {intel->get(), virtio->get()}) {
    auto id = dev->add_mac_filter({kMacA, 5, 0});
    EXPECT_EQ(id.status().code(), absl::StatusCode::kUnimplemented) << dev->driver();
    EXPECT_THAT(std::string(id.status().message()), HasSubstr("use promiscuous mode"));
    EXPECT_EQ(dev->remove_mac_filter(FilterId{1}).code(), absl::StatusCode::kUnimplemented);
  }
}

// The vport context outlives TEARDOWN_HCA (the model keeps it, as the PRM
// allows): the driver puts back what it changed at close, so the next driver
// on the function finds no stale allowed addresses or promiscuous mode.
TEST_F(Mlx5SteeringTest, CloseLeavesTheVportAsAFreshFunctionHasIt) {
  open(2);
  add(kMacA, std::nullopt, 1);
  add(kMacB, 100, 1);
  ASSERT_TRUE(dev_->set_promiscuous(true).ok());
  ASSERT_EQ(model_->vport().allowed_uc.size(), 3u);  // ours, A and B
  ASSERT_TRUE(model_->vport().promisc_uc);
  dev_.reset();
  EXPECT_TRUE(model_->vport().allowed_uc.empty());
  EXPECT_FALSE(model_->vport().promisc_uc || model_->vport().promisc_mc ||
               model_->vport().promisc_all);
  // A new driver on the same function: frames for A are not taken.
  auto dev = mlx5::open(std::make_unique<sim::SimulatedFunction>(model_, ctx_, "sim:cx5#0"), {});
  ASSERT_TRUE(dev.ok()) << dev.status();
  dev_ = *std::move(dev);
  ASSERT_TRUE(dev_->wait_for_link(absl::Seconds(1)).ok());
  EXPECT_EQ(queue_of(kMacA, std::nullopt), kNowhere);
  expect_clean();
}

}  // namespace
}  // namespace safenic
