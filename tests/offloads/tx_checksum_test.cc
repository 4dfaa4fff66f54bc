// Transmit checksum insertion (issue #22, Offload::kTxL4Checksum and
// kTxIpv4Checksum) against an implementation we did not write: frames go out
// with their checksum fields spoiled and a request to fill them in; what
// reaches the wire is written to a pcap file and tshark (Wireshark's
// dissectors, checksum validation on) must find every requested checksum
// right. Requests the frame cannot carry are errors on that packet, counted,
// and the rest of the batch goes on. On the 82599 and on virtio-net (which
// has no IPv4 header checksum offload: its requests go without that flag).
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mem/batch.h"
#include "mem/offloads.h"
#include "nic/device.h"
#include "sim/harness/testbed.h"
#include "sim/wires/pcap.h"
#include "sim/wires/wire.h"
#include "tests/offloads/frames.h"

namespace safenic {
namespace {

using offload_test::build;
using offload_test::describe;
using offload_test::FrameSpec;
using offload_test::kind_name;
using offload_test::put16;
using offload_test::tshark_verdicts;

// A frame of `spec` whose checksum fields hold garbage, asking for `tx`; the
// header lengths from the spec.
struct Request {
  FrameSpec spec;
  uint16_t tx;
};

const Request kRequests[] = {
    {{"ipv4 udp"}, kTxIpv4 | kTxIpChecksum | kTxUdpChecksum},
    {{"ipv4 tcp", 4, 6}, kTxIpv4 | kTxIpChecksum | kTxTcpChecksum},
    {{"ipv4 tcp, ip checksum only; tcp right already", 4, 6}, kTxIpv4 | kTxIpChecksum},
    {{"ipv4 udp, udp checksum only; ip right already"}, kTxIpv4 | kTxUdpChecksum},
    {{"ipv4 with options, tcp", 4, 6, false, true}, kTxIpv4 | kTxIpChecksum | kTxTcpChecksum},
    {{"ipv4 tcp right after it: only the IP header length differs", 4, 6},
     kTxIpv4 | kTxIpChecksum | kTxTcpChecksum},
    {{"ipv4 udp behind a vlan tag", 4, 17, true}, kTxIpv4 | kTxIpChecksum | kTxUdpChecksum},
    {{"ipv6 udp", 6, 17}, kTxIpv6 | kTxUdpChecksum},
    {{"ipv6 tcp", 6, 6}, kTxIpv6 | kTxTcpChecksum},
    {{"ipv4 udp again (context 0 reloaded)"}, kTxIpv4 | kTxIpChecksum | kTxUdpChecksum},
    {{"ipv4 udp, no request: sent as it is"}, 0},
};

size_t l3_offset(const FrameSpec& s) { return s.vlan ? 18 : 14; }
size_t l3_length(const FrameSpec& s) { return s.ip == 4 ? (s.options ? 24 : 20) : 40; }

struct Kind {
  const char* name;    // a sim/catalog.h kind
  bool ipv4_checksum;  // offers Offload::kTxIpv4Checksum
};

const Kind kKinds[] = {
    {"82599", true},
    {"virtio", false},
    {"virtio-split", false},
    {"virtio-legacy", false},
};

// The frame with the checksums it asks for spoiled, and its metadata; `tx`
// is the request's (less what the NIC cannot do).
void make(const Request& r, uint16_t tx, Packet& p) {
  std::vector<uint8_t> f = build(r.spec);
  const size_t l3 = l3_offset(r.spec), l4 = l3 + l3_length(r.spec);
  if (tx & kTxIpChecksum) put16(f, l3 + 10, 0xBEEF);
  if (tx & (kTxTcpChecksum | kTxUdpChecksum)) {
    put16(f, l4 + (r.spec.proto == 6 ? 16 : 6), 0xBEEF);
  }
  ASSERT_TRUE(p.resize(f.size()).ok());
  std::copy(f.begin(), f.end(), p.data());
  PacketOffloads& o = p.offloads();
  o.tx = tx;
  o.l2_len = static_cast<uint8_t>(l3);
  o.l3_len = static_cast<uint16_t>(l3_length(r.spec));
}

class TxChecksumTest : public ::testing::TestWithParam<Kind> {
 protected:
  // Every transmit checksum offload the NIC has.
  virtual OffloadSet offloads() const {
    return GetParam().ipv4_checksum ? OffloadSet{Offload::kTxL4Checksum, Offload::kTxIpv4Checksum}
                                    : OffloadSet{Offload::kTxL4Checksum};
  }
  void SetUp() override {
    DeviceConfig config;
    config.rx_ring_size = config.tx_ring_size = 64;
    config.buffers_per_rx_queue = 256;
    config.offloads = offloads();
    auto dev = bed_.add(GetParam().name, config);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *std::move(dev);
    sim::connect(bed_.port(0), tester_);
    ASSERT_TRUE(dev_->wait_for_link(absl::Seconds(1)).ok());
    // Enough for a full ring: virtio takes sent buffers back lazily, and a
    // legacy queue has the device's size (256, two descriptors a packet).
    auto pool = dev_->create_mempool({.buffers = 512, .tag = "test"});
    ASSERT_TRUE(pool.ok());
    pool_ = *std::move(pool);
  }
  void TearDown() override {
    EXPECT_TRUE(bed_.context().log->empty()) << bed_.context().log->to_string();
  }
  Packet fresh() {
    Packet p = pool_->alloc();
    EXPECT_FALSE(p.empty()) << "the test's pool ran dry";
    return p;
  }
  // The request's flags this NIC can carry out.
  uint16_t doable(const Request& r) const {
    return GetParam().ipv4_checksum ? r.tx : r.tx & ~kTxIpChecksum;
  }
  void make(const Request& r, Packet& p) { safenic::make(r, doable(r), p); }

  sim::Testbed bed_;
  std::unique_ptr<Device> dev_;
  sim::TesterPort tester_;
  MempoolPtr pool_;
};

TEST_P(TxChecksumTest, EveryRequestedChecksumIsRightOnTheWire) {
  Batch<16> batch;
  for (const Request& r : kRequests) {
    batch.push(fresh());
    make(r, batch[batch.size() - 1]);
  }
  ASSERT_EQ(*dev_->tx_batch(0, batch), std::size(kRequests));
  ASSERT_EQ(tester_.frames().size(), std::size(kRequests));
  const std::string pcap = std::string(std::getenv("TEST_TMPDIR")) + "/tx_checksum.pcap";
  {
    auto writer = sim::PcapWriter::create(pcap);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (const auto& f : tester_.frames()) (*writer)->write(f);
    ASSERT_TRUE((*writer)->close().ok());
  }
  const std::vector<uint8_t> verdicts = tshark_verdicts(pcap);
  ASSERT_EQ(verdicts.size(), std::size(kRequests));
  for (size_t i = 0; i < std::size(kRequests); ++i) {
    const FrameSpec& s = kRequests[i].spec;
    // Every checksum the frame has is right: the requested ones filled in,
    // the others as built.
    const uint8_t expected = (s.ip == 4 ? kRxIpChecksumGood : 0) | kRxL4ChecksumGood;
    EXPECT_EQ(describe(verdicts[i]), describe(expected)) << s.name;
  }
  const DeviceStats stats = *dev_->stats();
  EXPECT_EQ(stats.tx[0].packets, std::size(kRequests));
  EXPECT_EQ(stats.tx[0].errors, 0u);
}

// A request the frame cannot carry drops that packet (counted) and nothing
// else; the checksums of the others are still right.
TEST_P(TxChecksumTest, ARequestTheFrameCannotCarryIsAnErrorOnThatPacketOnly) {
  struct Bad {
    const char* what;
    void (*spoil)(Packet&);
  };
  const Bad kBad[] = {
      {"IPv4 and IPv6 at once", [](Packet& p) { p.offloads().tx |= kTxIpv6; }},
      {"neither IPv4 nor IPv6", [](Packet& p) { p.offloads().tx &= ~kTxIpv4; }},
      {"TCP and UDP at once", [](Packet& p) { p.offloads().tx |= kTxTcpChecksum; }},
      {"an IPv4 header length unlike the header's", [](Packet& p) { p.offloads().l3_len = 24; }},
      {"an Ethernet header too short", [](Packet& p) { p.offloads().l2_len = 13; }},
      {"headers past the frame", [](Packet& p) { p.offloads().l2_len = 200; }},
      {"an IP length past the frame", [](Packet& p) { ASSERT_TRUE(p.resize(50).ok()); }},
  };
  Batch<16> batch;
  for (const Bad& b : kBad) {
    batch.push(fresh());
    make(kRequests[0], batch[batch.size() - 1]);
    b.spoil(batch[batch.size() - 1]);
    batch.push(fresh());  // a good one after each bad one
    make(kRequests[1], batch[batch.size() - 1]);
  }
  const size_t in_use = pool_->in_use();
  ASSERT_EQ(*dev_->tx_batch(0, batch), 2 * std::size(kBad));
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(tester_.frames().size(), std::size(kBad)) << "only the good ones";
  const DeviceStats stats = *dev_->stats();
  EXPECT_EQ(stats.tx[0].errors, std::size(kBad));
  EXPECT_EQ(stats.tx[0].packets, std::size(kBad));
  ASSERT_TRUE(dev_->reclaim_tx(0).ok());
  EXPECT_EQ(pool_->in_use(), in_use - 2 * std::size(kBad)) << "every buffer back, none leaked";
}

// Contexts take ring slots: a long run of alternating layouts fills the ring
// with twice as many descriptors as packets, and the driver still takes back
// every buffer as the device finishes (a context descriptor gets no DD).
TEST_P(TxChecksumTest, AlternatingLayoutsWrapTheRingAndEveryBufferComesBack) {
  const size_t in_use = pool_->in_use();
  size_t sent = 0;
  for (int round = 0; round < 20; ++round) {
    Batch<16> batch;
    for (int i = 0; i < 16; ++i) {
      batch.push(fresh());
      make(kRequests[i % 2 == 0 ? 0 : 7], batch[batch.size() - 1]);  // IPv4 UDP, IPv6 UDP
    }
    sent += *dev_->tx_batch(0, batch);
    batch.clear();
  }
  EXPECT_EQ(sent, 20u * 16);
  EXPECT_EQ(tester_.frames().size(), sent);
  ASSERT_TRUE(dev_->reclaim_tx(0).ok());
  EXPECT_EQ(pool_->in_use(), in_use);
}

// With the TCP/UDP offload only, a packet asking for its IPv4 header checksum
// too is not sent with that checksum skipped (nor done in software): it is an
// error, and the rest of the batch goes.
class TxL4ChecksumOnlyTest : public TxChecksumTest {
 protected:
  OffloadSet offloads() const override { return {Offload::kTxL4Checksum}; }
};

TEST_P(TxL4ChecksumOnlyTest, AChecksumWhoseOffloadIsNotEnabledIsAnErrorOnThatPacket) {
  Batch<4> batch;
  batch.push(fresh());
  safenic::make(kRequests[0], kTxIpv4 | kTxIpChecksum | kTxUdpChecksum, batch[0]);
  batch.push(fresh());
  safenic::make(kRequests[3], kTxIpv4 | kTxUdpChecksum, batch[1]);
  ASSERT_EQ(*dev_->tx_batch(0, batch), 2u);
  EXPECT_EQ(tester_.frames().size(), 1u) << "the UDP-only one";
  EXPECT_EQ(dev_->stats()->tx[0].errors, 1u);
}

INSTANTIATE_TEST_SUITE_P(Nics, TxChecksumTest, ::testing::ValuesIn(kKinds), kind_name<Kind>);
INSTANTIATE_TEST_SUITE_P(Nics, TxL4ChecksumOnlyTest, ::testing::ValuesIn(kKinds), kind_name<Kind>);

}  // namespace
}  // namespace safenic
