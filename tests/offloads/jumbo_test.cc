// Jumbo frames (issue #22, DeviceConfig::mtu up to 9000) on every NIC kind:
// frames up to the MTU's longest (9014 bytes, 9018 with an 802.1Q tag) cross
// each NIC both ways byte for byte; a longer frame from the wire is dropped
// and counted by the device; a longer packet to send is an error on that
// packet, counted, its buffer back in its pool, and the rest of the batch
// goes out. An MTU a driver or device cannot take fails at open, saying why.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/batch.h"
#include "mem/mempool.h"
#include "nic/device.h"
#include "sim/harness/frames.h"
#include "sim/harness/testbed.h"
#include "sim/model.h"
#include "sim/virtio/model.h"
#include "sim/wires/wire.h"
#include "tests/offloads/frames.h"

namespace safenic {
namespace {

using offload_test::kind_name;
using ::testing::HasSubstr;

constexpr uint32_t kMtu = 9000;
constexpr size_t kLongest = kMtu + 14;  // untagged, without the FCS

struct Kind {
  const char* name;
  // Where the device counts a frame too long to receive: a DeviceStats
  // counter the driver reads, or (virtio has none) the model's own count.
  const char* driver_counter;
  const char* model_drop;
};

const Kind kKinds[] = {
    {"82599", "ROC", nullptr},
    {"virtio", nullptr, "rx_oversize"},
    {"virtio-split", nullptr, "rx_oversize"},
    {"virtio-legacy", nullptr, "rx_oversize"},
    {"cx5", "received_errors_packets", "rx_oversize"},
    {"cx4lx", "received_errors_packets", "rx_oversize"},
};

// `f` with an 802.1Q tag (VLAN 100) after the addresses: 4 bytes longer.
std::vector<uint8_t> tagged(std::vector<uint8_t> f) {
  const uint8_t tag[4] = {0x81, 0x00, 0x00, 100};
  f.insert(f.begin() + 12, tag, tag + 4);
  return f;
}

class JumboTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    DeviceConfig c;
    c.mtu = kMtu;
    c.rx_ring_size = c.tx_ring_size = 64;
    c.buffers_per_rx_queue = 256;
    auto dev = bed_.add(GetParam().name, c);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *std::move(dev);
    sim::connect(tester_, bed_.port(0));
    ASSERT_TRUE(dev_->wait_for_link(absl::Seconds(1)).ok());
    auto pool = dev_->create_mempool({.buffers = 16, .data_room = rx_buffer_size(kMtu)});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
  }

  std::vector<uint8_t> frame(size_t size, uint64_t seq) {
    sim::UdpFlow flow;
    flow.dst_mac = dev_->mac();
    return sim::udp_frame(size, flow, seq);
  }

  Packet packet(const std::vector<uint8_t>& f) {
    Packet p = pool_->alloc();
    EXPECT_TRUE(p.resize(f.size()).ok());
    std::copy(f.begin(), f.end(), p.data());
    return p;
  }

  uint64_t device_oversize() {
    const Kind& k = GetParam();
    if (k.driver_counter != nullptr) {
      auto s = dev_->stats();
      EXPECT_TRUE(s.ok()) << s.status();
      return s.ok() ? s->counters[k.driver_counter] : 0;
    }
    return bed_.model<sim::DeviceModel>(0).dropped_frames()[k.model_drop];
  }

  sim::Testbed bed_;
  sim::TesterPort tester_;
  std::unique_ptr<Device> dev_;
  MempoolPtr pool_;
};

TEST_P(JumboTest, CapabilitiesSayNineThousand) { EXPECT_EQ(dev_->capabilities().max_mtu, kMtu); }

TEST_P(JumboTest, FramesUpToTheMtuAreReceivedWhole) {
  const std::vector<std::vector<uint8_t>> frames = {
      frame(60, 1),
      frame(1514, 2),
      frame(4000, 3),
      frame(kLongest, 4),
      tagged(frame(kLongest, 5)),  // 9018: the longest with a tag
  };
  for (const auto& f : frames) tester_.send(f);
  Batch<8> in;
  ASSERT_EQ(*dev_->rx_batch(0, in), frames.size()) << bed_.report();
  for (size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("frame %d of %d bytes", i, frames[i].size()));
    ASSERT_EQ(in[i].size(), frames[i].size());
    EXPECT_TRUE(std::equal(frames[i].begin(), frames[i].end(), in[i].data()));
  }
  EXPECT_EQ(device_oversize(), 0u);
}

TEST_P(JumboTest, AFrameLongerThanTheMtuAllowsIsDroppedAndCounted) {
  tester_.send(frame(kLongest + 5, 1));  // 9019 bytes: over every NIC's limit
  tester_.send(frame(kLongest, 2));
  Batch<4> in;
  ASSERT_EQ(*dev_->rx_batch(0, in), 1u) << bed_.report();
  EXPECT_EQ(in[0].size(), kLongest);
  EXPECT_EQ(device_oversize(), 1u);
  EXPECT_EQ(bed_.context().log->size(), 0u) << bed_.report();
}

TEST_P(JumboTest, FramesUpToTheMtuAreSentWhole) {
  const std::vector<std::vector<uint8_t>> frames = {frame(60, 1), frame(kLongest, 2),
                                                    tagged(frame(kLongest, 3))};
  Batch<4> out;
  for (const auto& f : frames) out.push(packet(f));
  ASSERT_EQ(*dev_->tx_batch(0, out), frames.size());
  ASSERT_EQ(tester_.frames().size(), frames.size()) << bed_.report();
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(tester_.frames()[i], frames[i]) << "frame " << i;
  }
  EXPECT_EQ(bed_.context().log->size(), 0u) << bed_.report();
}

TEST_P(JumboTest, APacketLongerThanTheMtuAllowsIsAnErrorOnThatPacketOnly) {
  const size_t free_before = pool_->available();
  Batch<4> out;
  out.push(packet(frame(kLongest + 5, 1)));  // 9019: more than max_frame_length(9000)
  out.push(packet(frame(kLongest, 2)));
  ASSERT_EQ(*dev_->tx_batch(0, out), 2u);
  ASSERT_EQ(tester_.frames().size(), 1u) << bed_.report();
  EXPECT_EQ(tester_.frames()[0].size(), kLongest);
  auto s = dev_->stats();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->tx[0].errors, 1u);
  EXPECT_EQ(s->tx[0].packets, 1u);
  // Both buffers come home: the refused one at once, the sent one once reclaimed.
  ASSERT_TRUE(dev_->reclaim_tx(0).ok());
  EXPECT_EQ(pool_->available(), free_before);
}

TEST_P(JumboTest, AnMtuOverTheDriversLimitFailsAtOpen) {
  sim::Testbed bed;
  DeviceConfig c;
  c.mtu = kMtu + 1;
  auto dev = bed.add(GetParam().name, c);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dev.status().message()), HasSubstr("MTU 9001; use 68 to 9000"));
}

INSTANTIATE_TEST_SUITE_P(AllKinds, JumboTest, ::testing::ValuesIn(kKinds), kind_name<Kind>);

// A virtio device that does not offer VIRTIO_NET_F_MTU passes frames of up
// to 1514 bytes only (virtio 1.2 §5.1.6.3.1): an MTU above 1500 cannot work.
TEST(VirtioJumboTest, WithoutTheMtuFeatureALargerMtuFailsAtOpenSayingWhy) {
  sim::Testbed bed;
  sim::VirtioNetConfig model;
  model.features =
      sim::default_virtio_features(false) & ~virtio::feature::bit(virtio::feature::kMtu);
  DeviceConfig c;
  c.mtu = 1501;
  auto dev = bed.add<sim::VirtioNetModel>(model, c);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(dev.status().message()),
              HasSubstr("at most 1500 (it does not offer VIRTIO_NET_F_MTU)"));
}

// One offering a smaller mtu than asked for: the same, naming its mtu.
TEST(VirtioJumboTest, AnMtuAboveTheDevicesFailsAtOpen) {
  sim::Testbed bed;
  sim::VirtioNetConfig model;
  model.mtu = 4000;
  DeviceConfig c;
  c.mtu = 4001;
  auto dev = bed.add<sim::VirtioNetModel>(model, c);
  ASSERT_FALSE(dev.ok());
  EXPECT_THAT(std::string(dev.status().message()), HasSubstr("at most 4000 (its VIRTIO_NET_F_MTU"));
}

// With VIRTIO_NET_F_MTU the device may pass frames up to its own mtu, so
// the driver posts buffers for that (§5.1.4.2), not only for the MTU asked
// for; what it sends stays within the MTU asked for.
TEST(VirtioJumboTest, BuffersHoldTheDevicesMtuNotJustTheOneAskedFor) {
  sim::Testbed bed;
  DeviceConfig c;
  c.mtu = 4000;
  c.rx_ring_size = c.tx_ring_size = 64;
  c.buffers_per_rx_queue = 256;
  auto dev = bed.add("virtio", c);  // the model offers mtu 9000
  ASSERT_TRUE(dev.ok()) << dev.status();
  sim::TesterPort tester;
  sim::connect(tester, bed.port(0));
  sim::UdpFlow flow;
  flow.dst_mac = (*dev)->mac();
  const std::vector<uint8_t> f = sim::udp_frame(kLongest, flow, 1);
  tester.send(f);
  Batch<2> in;
  ASSERT_EQ(*(*dev)->rx_batch(0, in), 1u) << bed.report();
  EXPECT_EQ(in[0].size(), kLongest);
  ASSERT_TRUE(in[0].resize(4000 + 19).ok());  // one byte over max_frame_length(4000)
  ASSERT_EQ(*(*dev)->tx_batch(0, in), 1u);
  EXPECT_EQ(tester.received(), 0u);
  EXPECT_EQ((*dev)->stats()->tx[0].errors, 1u);
  EXPECT_EQ(bed.context().log->size(), 0u) << bed.report();
}

}  // namespace
}  // namespace safenic
