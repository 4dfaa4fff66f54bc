// safenic's virtio driver against a real, independent vhost-user back-end:
// DPDK's testpmd (net_vhost) in macswap mode. Every frame sent must come back
// once, with its MAC addresses swapped and its payload intact, and testpmd's
// own counters must agree. Needs Debian's DPDK (./bazelw installs it).
#include <cstring>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/arena.h"
#include "mem/batch.h"
#include "nic/open.h"
#include "nic/vhost_user/function.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/virtio_net.h"
#include "tests/vhost_user/testpmd.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using virtio::feature::bit;
namespace f = virtio::feature;

constexpr MacAddress kPeer{{0x02, 0x00, 0x00, 0xbe, 0xef, 0x01}};
constexpr uint16_t kEtherType = 0x88b5;  // IEEE local experimental
constexpr size_t kFrameSize = 64;

// dst, src, ethertype, then the sequence number and a pattern derived from it.
void write_frame(uint8_t* p, const MacAddress& src, uint32_t seq) {
  std::memcpy(p, kPeer.bytes.data(), 6);
  std::memcpy(p + 6, src.bytes.data(), 6);
  p[12] = kEtherType >> 8, p[13] = kEtherType & 0xff;
  std::memcpy(p + 14, &seq, 4);
  for (size_t i = 18; i < kFrameSize; ++i) p[i] = static_cast<uint8_t>(seq * 7 + i);
}

// Macswap: our MAC is now the destination, the peer's the source.
bool check_frame(const Packet& p, const MacAddress& ours, uint32_t* seq) {
  const uint8_t* d = p.data();
  if (p.size() != kFrameSize || std::memcmp(d, ours.bytes.data(), 6) != 0 ||
      std::memcmp(d + 6, kPeer.bytes.data(), 6) != 0 || d[12] != (kEtherType >> 8) ||
      d[13] != (kEtherType & 0xff)) {
    return false;
  }
  std::memcpy(seq, d + 14, 4);
  for (size_t i = 18; i < kFrameSize; ++i) {
    if (d[i] != static_cast<uint8_t>(*seq * 7 + i)) return false;
  }
  return true;
}

class DpdkInterop : public ::testing::TestWithParam<bool /* packed */> {};

TEST_P(DpdkInterop, MacswapReturnsEveryFrameIntact) {
  const bool packed = GetParam();
  auto pmd = testing::Testpmd::start({.forward_mode = "macswap"});
  ASSERT_TRUE(pmd.ok()) << pmd.status();

  vhost_user::Options options;
  if (!packed) options.withheld_features = bit(f::kRingPacked);
  auto fn = vhost_user::open_function((*pmd)->socket(), options);
  ASSERT_TRUE(fn.ok()) << fn.status();
  DeviceConfig config;
  config.rx_ring_size = config.tx_ring_size = 512;
  auto dev = open_device(*std::move(fn), config);
  ASSERT_TRUE(dev.ok()) << dev.status();
  Device& nic = **dev;
  EXPECT_EQ(nic.driver(), "virtio");
  const uint64_t features = virtio::negotiated_features(nic);
  EXPECT_EQ(static_cast<bool>(features & bit(f::kRingPacked)), packed);
  EXPECT_TRUE(features & bit(f::kVersion1));
  // DPDK's vhost library uses buffers in order and offers VIRTIO_F_IN_ORDER:
  // the traffic below runs the driver's in-order paths against it.
  EXPECT_TRUE(features & bit(f::kInOrder)) << std::hex << features;
  ASSERT_TRUE(nic.wait_for_link(absl::Seconds(5)).ok());
  const MacAddress ours = nic.mac();
  EXPECT_EQ(ours.bytes[0] & 0x03, 0x02);  // locally administered unicast

  auto pool = nic.create_mempool({.buffers = 4096, .tag = "dpdk test"});
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_NE((*pool)->region().arena(), nullptr);  // inside the one shared arena

  // 10000 frames in batches of 32, at most 256 in flight (the RX ring has 512).
  constexpr uint32_t kFrames = 10000;
  std::vector<uint8_t> seen(kFrames, 0);
  uint32_t sent = 0, received = 0, bad = 0;
  Batch<32> out, in;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (received < kFrames && absl::Now() < deadline) {
    if (sent < kFrames && sent - received <= 256 - 32) {
      while (out.size() < 32 && sent + out.size() < kFrames) {
        Packet p = (*pool)->alloc();
        ASSERT_FALSE(p.empty());
        ASSERT_TRUE(p.resize(kFrameSize).ok());
        write_frame(p.data(), ours, sent + static_cast<uint32_t>(out.size()));
        out.push(std::move(p));
      }
      sent += static_cast<uint32_t>(*nic.tx_batch(0, out));
    }
    ASSERT_TRUE(nic.rx_batch(0, in).ok());
    for (Packet& p : in) {
      uint32_t seq = 0;
      if (!check_frame(p, ours, &seq) || seq >= kFrames || seen[seq]++ != 0) {
        ++bad;
        continue;
      }
      ++received;
    }
    in.clear();
  }
  EXPECT_EQ(sent, kFrames);
  EXPECT_EQ(received, kFrames) << "frames lost or late (sent " << sent << ")";
  EXPECT_EQ(bad, 0u) << "frames that came back changed, duplicated or unknown";
  auto stats = nic.stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->tx_total().packets, kFrames);
  EXPECT_EQ(stats->rx_total().packets, kFrames);
  EXPECT_EQ(stats->rx_total().errors, 0u);
  EXPECT_EQ(stats->counters["bad_completions"], 0u);
  out.clear();
  dev->reset();  // resets the device: testpmd lets go of the rings, then the socket closes

  auto log = (*pmd)->stop();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_THAT(*log, Not(HasSubstr("Too many memory regions")));
  EXPECT_THAT(*log, Not(HasSubstr("failed to map")));
  auto acc = testing::Testpmd::accumulated(*log);
  ASSERT_TRUE(acc.ok()) << acc.status();
  EXPECT_EQ(acc->rx_packets, kFrames) << *log;
  EXPECT_EQ(acc->tx_packets, kFrames);
  EXPECT_EQ(acc->rx_dropped + acc->tx_dropped, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rings, DpdkInterop, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Packed" : "Split"; });

// Two queue pairs: the front-end serves the control queue (testpmd does not),
// turning VQ_PAIRS_SET into SET_VRING_ENABLE for the second pair; frames sent
// on either pair come back (macswap answers on the queue a frame came in on).
// Receive-mode commands are acknowledged.
TEST_P(DpdkInterop, TwoQueuePairsCarryTrafficAndPromiscuousIsAcknowledged) {
  const bool packed = GetParam();
  auto pmd = testing::Testpmd::start({.forward_mode = "macswap", .queues = 2});
  ASSERT_TRUE(pmd.ok()) << pmd.status();
  vhost_user::Options options;
  if (!packed) options.withheld_features = bit(f::kRingPacked);
  auto fn = vhost_user::open_function((*pmd)->socket(), options);
  ASSERT_TRUE(fn.ok()) << fn.status();
  DeviceConfig config;
  config.rx_queues = config.tx_queues = 2;
  config.rx_ring_size = config.tx_ring_size = 512;
  auto dev = open_device(*std::move(fn), config);
  ASSERT_TRUE(dev.ok()) << dev.status();
  Device& nic = **dev;
  const uint64_t features = virtio::negotiated_features(nic);
  EXPECT_TRUE(features & bit(f::kMq));
  EXPECT_TRUE(features & bit(f::kCtrlVq));
  EXPECT_EQ(static_cast<bool>(features & bit(f::kRingPacked)), packed);
  EXPECT_TRUE(nic.set_promiscuous(true).ok());
  EXPECT_TRUE(nic.set_promiscuous(false).ok());
  ASSERT_TRUE(nic.wait_for_link(absl::Seconds(5)).ok());
  const MacAddress ours = nic.mac();
  auto pool = nic.create_mempool({.buffers = 4096, .tag = "dpdk mq test"});
  ASSERT_TRUE(pool.ok()) << pool.status();

  // Pair q sends sequence numbers [q * kPerPair, (q + 1) * kPerPair).
  constexpr uint32_t kPerPair = 2000;
  std::vector<uint8_t> seen(2 * kPerPair, 0);
  uint32_t sent[2] = {0, 0}, received[2] = {0, 0}, bad = 0;
  Batch<32> out, in;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (received[0] + received[1] < 2 * kPerPair && absl::Now() < deadline) {
    for (uint16_t q = 0; q < 2; ++q) {
      if (sent[q] < kPerPair && sent[q] - received[q] <= 256 - 32) {
        while (out.size() < 32 && sent[q] + out.size() < kPerPair) {
          Packet p = (*pool)->alloc();
          ASSERT_FALSE(p.empty());
          ASSERT_TRUE(p.resize(kFrameSize).ok());
          write_frame(p.data(), ours, q * kPerPair + sent[q] + static_cast<uint32_t>(out.size()));
          out.push(std::move(p));
        }
        sent[q] += static_cast<uint32_t>(*nic.tx_batch(q, out));
      }
      ASSERT_TRUE(nic.rx_batch(q, in).ok());
      for (Packet& p : in) {
        uint32_t seq = 0;
        if (!check_frame(p, ours, &seq) || seq >= 2 * kPerPair || seen[seq]++ != 0 ||
            seq / kPerPair != q) {
          ++bad;  // changed, duplicated, unknown, or back on the other pair
          continue;
        }
        ++received[q];
      }
      in.clear();
    }
  }
  EXPECT_EQ(sent[0], kPerPair);
  EXPECT_EQ(sent[1], kPerPair);
  EXPECT_EQ(received[0], kPerPair) << "pair 0";
  EXPECT_EQ(received[1], kPerPair) << "pair 1: is its ring enabled at the back-end?";
  EXPECT_EQ(bad, 0u);
  out.clear();
  dev->reset();
  auto log = (*pmd)->stop();
  ASSERT_TRUE(log.ok()) << log.status();
  auto acc = testing::Testpmd::accumulated(*log);
  ASSERT_TRUE(acc.ok()) << acc.status();
  EXPECT_EQ(acc->rx_packets, 2 * kPerPair) << *log;
}

// A back-end that goes away: the link goes down, and the device can still be
// closed cleanly.
TEST(DpdkInteropLifecycle, LinkFollowsTheBackEnd) {
  auto pmd = testing::Testpmd::start({.forward_mode = "io"});
  ASSERT_TRUE(pmd.ok()) << pmd.status();
  auto dev = open_device("vhost-user:" + (*pmd)->socket());
  ASSERT_TRUE(dev.ok()) << dev.status();
  EXPECT_TRUE((*dev)->link().up);
  auto log = (*pmd)->stop();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE((*dev)->link().up);
  EXPECT_THAT(std::string((*dev)->wait_for_link(absl::Milliseconds(50)).message()),
              HasSubstr("link"));
  dev->reset();
}

TEST(DpdkInteropLifecycle, NoBackEndIsAnErrorThatSaysWhatToStart) {
  auto dev = open_device("vhost-user:/tmp/safenic-no-such-backend.sock");
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(dev.status().message()), HasSubstr("net_vhost0,iface="));
}

}  // namespace
}  // namespace safenic
