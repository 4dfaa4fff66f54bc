// The RSS hash in the receive metadata (issue #22, Offload::kRxRssHash)
// against published values we did not compute: the verification table of
// Microsoft's RSS specification ("Verifying the RSS Hash Calculation"), which
// gives, for the key safenic programs (nic/rss.h), the Toeplitz hash of five
// IPv4 address pairs with and without their TCP ports. Each frame goes
// through a model and its driver (82599, ConnectX-5, ConnectX-4 Lx); the hash
// the driver reports must be the table's, on one queue and on four.
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "mem/batch.h"
#include "mem/offloads.h"
#include "nic/device.h"
#include "nic/open.h"
#include "sim/harness/testbed.h"
#include "sim/wires/wire.h"
#include "tests/offloads/frames.h"

namespace safenic {
namespace {

using offload_test::build;
using offload_test::FrameSpec;
using offload_test::put16;

struct Vector {
  uint8_t destination[4];
  uint16_t destination_port;
  uint8_t source[4];
  uint16_t source_port;
  uint32_t ipv4_only;  // the hash of the addresses
  uint32_t with_tcp;   // the hash of the addresses and ports
};

// Microsoft, "Verifying the RSS Hash Calculation" (Windows driver
// documentation, RSS): the IPv4 table.
constexpr Vector kVectors[] = {
    {{161, 142, 100, 80}, 1766, {66, 9, 149, 187}, 2794, 0x323e8fc2, 0x51ccc178},
    {{65, 69, 140, 83}, 4739, {199, 92, 111, 2}, 14230, 0xd718262a, 0xc626b0ea},
    {{12, 22, 207, 184}, 38024, {24, 19, 198, 95}, 12898, 0xd2d0a5de, 0x5c2b394a},
    {{209, 142, 163, 6}, 2217, {38, 27, 205, 30}, 48228, 0x82989176, 0xafc7327f},
    {{202, 188, 127, 2}, 1303, {153, 39, 163, 191}, 44251, 0x5d1809c5, 0x10e828a2},
};

// A frame from the vector's source to its destination: TCP, or (ipv4_only)
// GRE, which the device hashes by its addresses alone.
std::vector<uint8_t> frame(const Vector& v, bool tcp) {
  FrameSpec spec{"rss", 4, static_cast<uint8_t>(tcp ? 6 : 47)};
  std::vector<uint8_t> f = build(spec);
  std::copy(v.source, v.source + 4, f.begin() + 14 + 12);
  std::copy(v.destination, v.destination + 4, f.begin() + 14 + 16);
  if (tcp) {
    put16(f, 14 + 20, v.source_port);
    put16(f, 14 + 22, v.destination_port);
  }
  return f;
}

// {NIC kind, RX queues}.
class RssHashTest : public ::testing::TestWithParam<std::tuple<const char*, uint16_t>> {
 protected:
  uint16_t queues() const { return std::get<1>(GetParam()); }
  std::unique_ptr<Device> open(OffloadSet offloads) {
    DeviceConfig config;
    config.rx_queues = config.tx_queues = queues();
    config.rx_ring_size = config.tx_ring_size = 64;
    config.buffers_per_rx_queue = 256;
    config.promiscuous = true;  // the frames are not addressed to the NIC
    config.offloads = offloads;
    auto dev = bed_.add(std::get<0>(GetParam()), config);
    EXPECT_TRUE(dev.ok()) << dev.status();
    if (!dev.ok()) return nullptr;
    sim::connect(tester_, bed_.port(0));
    EXPECT_TRUE((*dev)->wait_for_link(absl::Seconds(1)).ok());
    return *std::move(dev);
  }
  // Sends `f` and returns its metadata from whichever queue it reached.
  PacketOffloads receive(Device& dev, const std::vector<uint8_t>& f) {
    tester_.send(f);
    for (uint16_t q = 0; q < queues(); ++q) {
      Batch<2> in;
      if (*dev.rx_batch(q, in) == 1) return in[0].offloads();
    }
    ADD_FAILURE() << "the frame reached no queue; " << bed_.report();
    return {};
  }
  void TearDown() override {
    EXPECT_TRUE(bed_.context().log->empty()) << bed_.context().log->to_string();
  }

  sim::Testbed bed_;
  sim::TesterPort tester_;
};

TEST_P(RssHashTest, HashesAreThePublishedOnes) {
  std::unique_ptr<Device> dev = open({Offload::kRxRssHash});
  ASSERT_NE(dev, nullptr);
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(::testing::Message() << "source " << int{v.source[0]} << "." << int{v.source[1]}
                                      << "." << int{v.source[2]} << "." << int{v.source[3]});
    const PacketOffloads tcp = receive(*dev, frame(v, true));
    EXPECT_EQ(tcp.rx, kRxRssHash);
    EXPECT_EQ(tcp.rss_hash, v.with_tcp) << std::hex << tcp.rss_hash;
    const PacketOffloads ip = receive(*dev, frame(v, false));
    EXPECT_EQ(ip.rx, kRxRssHash);
    EXPECT_EQ(ip.rss_hash, v.ipv4_only) << std::hex << ip.rss_hash;
  }
  // Not IP: nothing hashed, no hash reported.
  const PacketOffloads arp = receive(*dev, build({"arp", 0}));
  EXPECT_EQ(arp.rx, 0);
}

TEST_P(RssHashTest, WithoutTheOffloadNoHashIsReported) {
  std::unique_ptr<Device> dev = open({});
  ASSERT_NE(dev, nullptr);
  const PacketOffloads o = receive(*dev, frame(kVectors[0], true));
  EXPECT_EQ(o.rx, 0);
  EXPECT_EQ(o.rss_hash, 0u);
}

INSTANTIATE_TEST_SUITE_P(NicsAndQueues, RssHashTest,
                         ::testing::Combine(::testing::Values("82599", "cx5", "cx4lx"),
                                            ::testing::Values(1, 4)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "_queues";
                         });

TEST(RssHashCapability, DriversWithoutItRefuseItAtOpen) {
  for (const char* kind : {"sim:virtio"}) {
    DeviceConfig config;
    config.offloads = {Offload::kRxRssHash};
    auto dev = open_device(kind, config);
    ASSERT_FALSE(dev.ok()) << kind;
    EXPECT_NE(dev.status().message().find("cannot offload rx-rss-hash"), absl::string_view::npos)
        << dev.status();
  }
}

}  // namespace
}  // namespace safenic
