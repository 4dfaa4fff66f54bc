// Receive checksum verdicts (issue #22, Offload::kRxChecksum) against an
// implementation we did not write: tshark (Wireshark's dissectors) validates
// the IPv4, TCP and UDP checksums of the same frames, read back from a pcap
// file, and each NIC's verdicts must agree with it frame by frame: right,
// wrong, or not checked (no IPv4 header; no TCP/UDP checksum to check).
// Each NIC gives the verdicts it can: the 82599 and ConnectX all four (a
// ConnectX calls a UDP datagram without a checksum "good"); virtio-net only
// "TCP/UDP checksum right" (VIRTIO_NET_HDR_F_DATA_VALID, or NEEDS_CSUM, whose
// checksum the driver completes: the frame must arrive byte for byte).
// The frames' own checksums are computed with the sum the models use
// (nic/checksum.h), then some spoiled: if that sum were wrong, tshark would
// call "good" frames bad and the NIC, using the same sum, would not.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/batch.h"
#include "mem/offloads.h"
#include "nic/device.h"
#include "nic/open.h"
#include "nic/virtio/spec.h"
#include "sim/harness/testbed.h"
#include "sim/mlx5/model.h"
#include "sim/virtio/model.h"
#include "sim/wires/pcap.h"
#include "sim/wires/wire.h"
#include "tests/offloads/frames.h"

namespace safenic {
namespace {

using offload_test::build;
using offload_test::describe;
using offload_test::FrameSpec;
using offload_test::kind_name;
using offload_test::tshark_verdicts;

using ::testing::HasSubstr;

const FrameSpec kFrames[] = {
    {"ipv4 udp"},
    {"ipv4 udp, udp checksum wrong", 4, 17, false, false, false, true},
    {"ipv4 udp without checksum", 4, 17, false, false, false, false, true},
    {"ipv4 tcp", 4, 6},
    {"ipv4 tcp, tcp checksum wrong", 4, 6, false, false, false, true},
    {"ipv4 udp, header checksum wrong", 4, 17, false, false, true},
    {"ipv4 with options, tcp", 4, 6, false, true},
    {"ipv4 udp behind a vlan tag", 4, 17, true},
    {"ipv4 udp, vlan tag, udp checksum wrong", 4, 17, true, false, false, true},
    {"ipv4 udp, first fragment", 4, 17, false, false, false, false, false, true},
    {"ipv6 udp", 6, 17},
    {"ipv6 udp, udp checksum wrong", 6, 17, false, false, false, true},
    {"ipv6 tcp", 6, 6},
    {"ipv6 tcp, tcp checksum wrong", 6, 6, false, false, false, true},
    {"ipv6 udp without checksum", 6, 17, false, false, false, false, true},
    {"arp", 0},
};

struct Kind {
  const char* name;  // a sim/catalog.h kind; "virtio-partial" the model below
  uint8_t verdicts;  // the RxFlags this NIC can give
  // A UDP datagram over IPv4 without a checksum (field 0) is "good": the
  // ConnectX's l4_ok (nothing is wrong); tshark and the 82599 check nothing.
  bool udp_without_checksum_good = false;
};

const Kind kKinds[] = {
    {"82599", kRxIpChecksumGood | kRxIpChecksumBad | kRxL4ChecksumGood | kRxL4ChecksumBad},
    {"virtio", kRxL4ChecksumGood},
    {"virtio-split", kRxL4ChecksumGood},
    {"virtio-legacy", kRxL4ChecksumGood},
    // Right checksums delivered partial (NEEDS_CSUM): the driver completes them.
    {"virtio-partial", kRxL4ChecksumGood},
    {"cx5", kRxIpChecksumGood | kRxIpChecksumBad | kRxL4ChecksumGood | kRxL4ChecksumBad, true},
    {"cx4lx", kRxIpChecksumGood | kRxIpChecksumBad | kRxL4ChecksumGood | kRxL4ChecksumBad, true},
};

DeviceConfig small_config() {
  DeviceConfig c;
  c.rx_ring_size = c.tx_ring_size = 64;
  c.buffers_per_rx_queue = 256;
  c.promiscuous = true;
  return c;
}

class RxChecksumTest : public ::testing::TestWithParam<Kind> {
 protected:
  std::unique_ptr<Device> open(const DeviceConfig& config) {
    const std::string kind = GetParam().name;
    auto dev = kind == "virtio-partial"
                   ? bed_.add<sim::VirtioNetModel>(
                         sim::VirtioNetConfig{.rx_partial_checksums = true}, config)
                   : bed_.add(kind, config);
    EXPECT_TRUE(dev.ok()) << dev.status();
    if (!dev.ok()) return nullptr;
    sim::connect(tester_, bed_.port(0));
    EXPECT_TRUE((*dev)->wait_for_link(absl::Seconds(1)).ok());
    return *std::move(dev);
  }
  // Sends every frame of kFrames into `dev` and returns its verdicts; each
  // frame must arrive as it was sent.
  std::vector<uint8_t> receive_all(Device& dev) {
    std::vector<uint8_t> verdicts;
    for (const FrameSpec& s : kFrames) {
      const std::vector<uint8_t> f = build(s);
      tester_.send(f);
      Batch<4> batch;
      EXPECT_EQ(*dev.rx_batch(0, batch), 1u) << s.name << "; " << bed_.report();
      verdicts.push_back(batch.size() == 1 ? batch[0].offloads().rx : 0xFF);
      if (batch.size() == 1) {
        const absl::Span<const uint8_t> got = batch[0].bytes();
        EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), f) << s.name;
      }
    }
    return verdicts;
  }
  void TearDown() override {
    EXPECT_TRUE(bed_.context().log->empty()) << bed_.context().log->to_string();
  }

  sim::Testbed bed_;
  sim::TesterPort tester_;
};

TEST_P(RxChecksumTest, VerdictsAgreeWithTsharkFrameByFrame) {
  const std::string pcap = std::string(std::getenv("TEST_TMPDIR")) + "/rx_checksum.pcap";
  {
    auto writer = sim::PcapWriter::create(pcap);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (const FrameSpec& s : kFrames) (*writer)->write(build(s));
    ASSERT_TRUE((*writer)->close().ok());
  }
  const std::vector<uint8_t> expected = tshark_verdicts(pcap);
  ASSERT_EQ(expected.size(), std::size(kFrames));
  // The set covers every verdict, so a NIC that checks nothing cannot pass.
  uint8_t seen = 0;
  for (uint8_t v : expected) seen |= v;
  EXPECT_EQ(seen, kRxIpChecksumGood | kRxIpChecksumBad | kRxL4ChecksumGood | kRxL4ChecksumBad);

  DeviceConfig config = small_config();
  config.offloads = {Offload::kRxChecksum};
  std::unique_ptr<Device> dev = open(config);
  ASSERT_NE(dev, nullptr);
  const std::vector<uint8_t> got = receive_all(*dev);
  for (size_t i = 0; i < std::size(kFrames); ++i) {
    // What this NIC cannot tell is "not checked".
    uint8_t want = expected[i] & GetParam().verdicts;
    if (GetParam().udp_without_checksum_good && kFrames[i].udp_zero && kFrames[i].ip == 4) {
      want |= kRxL4ChecksumGood;
    }
    EXPECT_EQ(describe(got[i]), describe(want)) << kFrames[i].name;
  }
  EXPECT_EQ(dev->stats()->rx[0].errors, 0u) << "a checksum verdict is not a receive error";
}

TEST_P(RxChecksumTest, WithoutTheOffloadNothingIsReportedChecked) {
  std::unique_ptr<Device> dev = open(small_config());
  ASSERT_NE(dev, nullptr);
  for (uint8_t v : receive_all(*dev)) EXPECT_EQ(v, 0) << describe(v);
}

TEST_P(RxChecksumTest, TheCapabilitiesSayWhatCanBeAskedFor) {
  std::unique_ptr<Device> dev = open(small_config());
  ASSERT_NE(dev, nullptr);
  EXPECT_TRUE(dev->capabilities().offloads.has(Offload::kRxChecksum));
}

INSTANTIATE_TEST_SUITE_P(Nics, RxChecksumTest, ::testing::ValuesIn(kKinds), kind_name<Kind>);

// virtio 1.2 §5.1.6.4: a device that sets NEEDS_CSUM with offsets past the
// frame (the model's kBadChecksumStart fault) leaves a checksum the driver
// cannot complete: that frame is a counted error, the next ones arrive.
TEST(VirtioRxChecksum, AChecksumStartPastTheFrameIsACountedErrorOnThatFrame) {
  sim::Testbed bed;
  DeviceConfig config = small_config();
  config.offloads = {Offload::kRxChecksum};
  auto dev = bed.add("virtio", config);
  ASSERT_TRUE(dev.ok()) << dev.status();
  auto plan = std::make_shared<sim::VirtioFaultPlan>();
  plan->once(sim::VirtioFault::kBadChecksumStart, 1);  // the second frame
  bed.model<sim::VirtioNetModel>(0).set_faults(plan);
  sim::TesterPort tester;
  sim::connect(tester, bed.port(0));
  ASSERT_TRUE((*dev)->wait_for_link(absl::Seconds(1)).ok());
  for (int i = 0; i < 3; ++i) tester.send(build(kFrames[0]));
  Batch<4> batch;
  ASSERT_EQ(*(*dev)->rx_batch(0, batch), 2u);
  EXPECT_EQ(plan->fired(sim::VirtioFault::kBadChecksumStart), 1u);
  for (const Packet& p : batch) EXPECT_EQ(describe(p.offloads().rx), describe(kRxL4ChecksumGood));
  EXPECT_EQ((*dev)->stats()->rx[0].errors, 1u);
}

// A driver that cannot do an offload says so when asked, by name, and opens
// nothing; so does any driver asked for an MTU outside its range.
TEST(OffloadConfig, WhatADriverCannotDoIsAClearErrorAtOpen) {
  {
    DeviceConfig config = small_config();
    config.offloads = {Offload::kTxL4Checksum};
    auto dev = open_device("sim:cx5", config);
    ASSERT_FALSE(dev.ok());
    EXPECT_EQ(dev.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(dev.status().message(), HasSubstr("cannot offload tx-l4-checksum"));
  }
  for (const char* kind : {"sim:82599", "sim:virtio", "sim:cx5"}) {
    for (uint32_t mtu : {67u, 9001u}) {
      DeviceConfig config = small_config();
      config.mtu = mtu;
      auto dev = open_device(kind, config);
      ASSERT_FALSE(dev.ok()) << kind << " MTU " << mtu;
      EXPECT_THAT(dev.status().message(), HasSubstr("use 68 to 9000")) << kind;
    }
  }
}

// virtio's checksum offloads are the device's features (§5.1.3): a device
// that does not offer them does not list them, and asking for one names the
// feature it lacks.
TEST(OffloadConfig, AVirtioDeviceWithoutTheFeaturesCannotBeAskedForThem) {
  using virtio::feature::bit;
  namespace f = virtio::feature;
  const uint64_t none = sim::default_virtio_features(false) & ~bit(f::kCsum) & ~bit(f::kGuestCsum);
  {
    sim::Testbed bed;
    auto dev = bed.add<sim::VirtioNetModel>(sim::VirtioNetConfig{.features = none}, small_config());
    ASSERT_TRUE(dev.ok()) << dev.status();
    EXPECT_TRUE((*dev)->capabilities().offloads.empty())
        << (*dev)->capabilities().offloads.to_string();
  }
  const std::pair<Offload, const char*> kAsks[] = {
      {Offload::kRxChecksum,
       "cannot offload rx-checksum: the device does not offer "
       "VIRTIO_NET_F_GUEST_CSUM"},
      {Offload::kTxL4Checksum,
       "cannot offload tx-l4-checksum: the device does not offer "
       "VIRTIO_NET_F_CSUM"},
  };
  for (const auto& [offload, message] : kAsks) {
    sim::Testbed bed;
    DeviceConfig config = small_config();
    config.offloads = {offload};
    auto dev = bed.add<sim::VirtioNetModel>(sim::VirtioNetConfig{.features = none}, config);
    ASSERT_FALSE(dev.ok());
    EXPECT_EQ(dev.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(dev.status().message(), HasSubstr(message));
    EXPECT_TRUE(bed.context().log->empty()) << bed.context().log->to_string();
  }
  // The IPv4 header checksum is not a virtio offload at all.
  DeviceConfig config = small_config();
  config.offloads = {Offload::kTxIpv4Checksum};
  auto dev = open_device("sim:virtio", config);
  ASSERT_FALSE(dev.ok());
  EXPECT_THAT(dev.status().message(), HasSubstr("cannot offload tx-ipv4-checksum"));
}

// A ConnectX whose Ethernet capabilities lack csum_cap does not list the
// verdicts, and asking for them says why.
TEST(OffloadConfig, AConnectXWithoutCsumCapCannotBeAskedForVerdicts) {
  sim::ConnectXProfile profile = sim::ConnectXProfile::cx5();
  profile.csum_cap = false;
  {
    sim::Testbed bed;
    auto dev = bed.add<sim::ConnectXModel>(profile, small_config());
    ASSERT_TRUE(dev.ok()) << dev.status();
    EXPECT_FALSE((*dev)->capabilities().offloads.has(Offload::kRxChecksum));
  }
  sim::Testbed bed;
  DeviceConfig config = small_config();
  config.offloads = {Offload::kRxChecksum};
  auto dev = bed.add<sim::ConnectXModel>(profile, config);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dev.status().message(), HasSubstr("do not report csum_cap"));
  EXPECT_TRUE(bed.context().log->empty()) << bed.context().log->to_string();
}

}  // namespace
}  // namespace safenic
