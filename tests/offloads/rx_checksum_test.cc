// Receive checksum verdicts (issue #22, Offload::kRxChecksum) against an
// implementation we did not write: tshark (Wireshark's dissectors) validates
// the IPv4, TCP and UDP checksums of the same frames, read back from a pcap
// file, and each NIC's verdicts must agree with it frame by frame: right,
// wrong, or not checked (no IPv4 header; no TCP/UDP checksum to check).
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
#include "sim/wires/pcap.h"
#include "tests/ixgbe/ixgbe_fixture.h"
#include "tests/offloads/frames.h"

namespace safenic {
namespace {

using offload_test::build;
using offload_test::describe;
using offload_test::FrameSpec;
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

class RxChecksumTest : public IxgbeTest {
 protected:
  // Sends every frame of kFrames into `nic` and returns its verdicts.
  std::vector<uint8_t> receive_all(Nic& nic) {
    sim::TesterPort tester;
    cable_to(nic, tester);
    std::vector<uint8_t> verdicts;
    for (const FrameSpec& s : kFrames) {
      tester.send(build(s));
      Batch<4> batch;
      EXPECT_EQ(*nic.dev->rx_batch(0, batch), 1u) << s.name;
      verdicts.push_back(batch.size() == 1 ? batch[0].offloads().rx : 0xFF);
    }
    return verdicts;
  }
};

TEST_F(RxChecksumTest, VerdictsAgreeWithTsharkFrameByFrame) {
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
  config.promiscuous = true;
  config.offloads = {Offload::kRxChecksum};
  Nic nic = open_ok(config);
  const std::vector<uint8_t> got = receive_all(nic);
  for (size_t i = 0; i < std::size(kFrames); ++i) {
    EXPECT_EQ(describe(got[i]), describe(expected[i])) << kFrames[i].name;
  }
  EXPECT_EQ(nic.dev->stats()->rx[0].errors, 0u) << "a checksum verdict is not a receive error";
}

TEST_F(RxChecksumTest, WithoutTheOffloadNothingIsReportedChecked) {
  DeviceConfig config = small_config();
  config.promiscuous = true;
  Nic nic = open_ok(config);
  for (uint8_t v : receive_all(nic)) EXPECT_EQ(v, 0) << describe(v);
}

TEST_F(RxChecksumTest, TheCapabilitiesSayWhatCanBeAskedFor) {
  Nic nic = open_ok();
  EXPECT_TRUE(nic.dev->capabilities().offloads.has(Offload::kRxChecksum));
  EXPECT_EQ(nic.dev->capabilities().max_mtu, 9000u);
}

// A driver that cannot do an offload says so when asked, by name, and opens
// nothing; so does any driver asked for an MTU outside its range.
TEST(OffloadConfig, WhatADriverCannotDoIsAClearErrorAtOpen) {
  for (const char* kind : {"sim:virtio", "sim:cx5"}) {
    DeviceConfig config = small_ixgbe_config();
    config.offloads = {Offload::kRxChecksum};
    auto dev = open_device(kind, config);
    ASSERT_FALSE(dev.ok()) << kind;
    EXPECT_EQ(dev.status().code(), absl::StatusCode::kInvalidArgument) << kind;
    EXPECT_THAT(dev.status().message(), HasSubstr("cannot offload rx-checksum")) << kind;
  }
  for (const char* kind : {"sim:82599", "sim:virtio", "sim:cx5"}) {
    for (uint32_t mtu : {67u, 9001u}) {
      DeviceConfig config = small_ixgbe_config();
      config.mtu = mtu;
      auto dev = open_device(kind, config);
      ASSERT_FALSE(dev.ok()) << kind << " MTU " << mtu;
      EXPECT_THAT(dev.status().message(), HasSubstr("use 68 to 9000")) << kind;
    }
  }
}

}  // namespace
}  // namespace safenic
