// The 82599 MAC's receive filters and statistics against the driver: what
// each filter lets in (own address, promiscuous, broadcast, multicast table,
// VLAN filter, frame size) and where each frame is counted (GPRC/GPTC and
// their octets, per-queue counters as RQSMR and TQSM map them, RUC, ROC).
#include <cstdint>

#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/ixgbe/regs.h"
#include "sim/harness/frames.h"
#include "sim/ixgbe/model.h"
#include "tests/ixgbe/ixgbe_fixture.h"

namespace safenic {
namespace {

TEST_F(IxgbeTest, StatsAddUp) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  size_t bytes = 0;
  for (int i = 0; i < 10; ++i) {
    Batch<32> out, in;
    fill(*pool, out, 32, 32 * i, b.dev->mac(), 60 + i);
    bytes += 32 * (60 + i);
    ASSERT_EQ(*a.dev->tx_batch(0, out), 32u);
    ASSERT_EQ(*b.dev->rx_batch(0, in), 32u);
  }
  auto tx = *a.dev->stats();
  auto rx = *b.dev->stats();
  EXPECT_EQ(tx.tx_total().packets, 320u);
  EXPECT_EQ(tx.tx_total().bytes, bytes);
  EXPECT_EQ(tx.counters["GPTC"], 320u);
  EXPECT_EQ(tx.counters["GOTC"], bytes + 4 * 320);  // octets include the FCS
  EXPECT_EQ(rx.rx_total().packets, 320u);
  EXPECT_EQ(rx.rx_total().bytes, bytes);
  EXPECT_EQ(rx.counters["GPRC"], 320u);
  EXPECT_EQ(rx.counters["GORC"], bytes + 4 * 320);
  EXPECT_EQ(rx.rx_total().drops + rx.rx_total().errors, 0u);
  auto again = *b.dev->stats();  // totals, not deltas
  EXPECT_EQ(again.counters["GPRC"], 320u);
}

TEST_F(IxgbeTest, PromiscuousModeDecidesAboutOtherMacs) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  const MacAddress stranger{{0x02, 0x99, 0, 0, 0, 1}};
  Batch<8> out, in;
  fill(*pool, out, 4, 0, stranger);
  ASSERT_EQ(*a.dev->tx_batch(0, out), 4u);
  EXPECT_EQ(*b.dev->rx_batch(0, in), 0u);
  ASSERT_TRUE(b.dev->set_promiscuous(true).ok());
  fill(*pool, out, 4, 0, stranger);
  ASSERT_EQ(*a.dev->tx_batch(0, out), 4u);
  EXPECT_EQ(*b.dev->rx_batch(0, in), 4u);
  EXPECT_EQ(b.model->dropped_filtered(), 4u);
  expect_clean();
}

// 82599 datasheet §8.2.3.22 (HLREG0.JUMBOEN, MAXFRS) and §8.2.3.23 (RUC,
// ROC): frames of 64 to 1518 bytes with their CRC (4 more with a VLAN tag) are
// received; shorter ones count in RUC, longer ones in ROC, and neither
// reaches the host. With JUMBOEN the limit is MAXFRS.MFS.
TEST_F(IxgbeTest, RuntsAndOversizeFramesAreDroppedAndCountedInRucAndRoc) {
  Nic nic = open_ok();
  sim::TesterPort tester;
  cable_to(nic, tester);
  sim::UdpFlow flow;
  flow.dst_mac = nic.dev->mac();
  std::vector<uint8_t> tagged = sim::udp_frame(1518, flow, 5);  // 1522 with the CRC
  tagged[12] = 0x81, tagged[13] = 0x00;
  std::vector<uint8_t> tagged_over = sim::udp_frame(1519, flow, 8);  // 1523
  tagged_over[12] = 0x81, tagged_over[13] = 0x00;
  tester.send(sim::udp_frame(59, flow, 1));    // 63 with the CRC
  tester.send(sim::udp_frame(60, flow, 2));    // 64
  tester.send(sim::udp_frame(1514, flow, 3));  // 1518
  tester.send(sim::udp_frame(1515, flow, 4));  // 1519
  tester.send(tagged);
  tester.send(tagged_over);
  Batch<16> in;
  ASSERT_EQ(*nic.dev->rx_batch(0, in), 3u);
  EXPECT_EQ(in[0].size(), 60u);
  EXPECT_EQ(in[1].size(), 1514u);
  EXPECT_EQ(in[2].size(), 1518u);
  auto stats = nic.dev->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->counters["RUC"], 1u);
  EXPECT_EQ(stats->counters["ROC"], 2u);
  EXPECT_EQ(stats->counters["GPRC"], 3u);

  // Jumbo frames up to MAXFRS.MFS = 3000, as a driver enabling them would set it.
  const uint64_t hlreg0 = nic.model->mmio_read(0, ixgbe::HLREG0::offset(), 4);
  nic.model->mmio_write(0, ixgbe::MAXFRS::offset(), 4, uint64_t{3000} << 16);
  nic.model->mmio_write(0, ixgbe::HLREG0::offset(), 4, hlreg0 | ixgbe::HLREG0::JUMBOEN::kMask);
  tester.send(sim::udp_frame(2996, flow, 6));  // 3000 with the CRC: two 2 KiB buffers
  tester.send(sim::udp_frame(2997, flow, 7));
  stats = nic.dev->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->counters["ROC"], 3u);
  EXPECT_EQ(stats->counters["GPRC"], 4u);  // the 2996-byte frame was received
  expect_clean();
}

// §7.1.2: a broadcast frame is taken only with FCTRL.BAM (the driver sets it).
TEST_F(IxgbeTest, BroadcastFramesNeedFctrlBam) {
  Nic nic = open_ok();
  sim::TesterPort tester;
  cable_to(nic, tester);
  sim::UdpFlow flow;
  flow.dst_mac = MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  tester.send(sim::udp_frame(60, flow, 1));
  Batch<4> in;
  EXPECT_EQ(*nic.dev->rx_batch(0, in), 1u);
  in.clear();
  const uint64_t fctrl = nic.model->mmio_read(0, ixgbe::FCTRL::offset(), 4);
  nic.model->mmio_write(0, ixgbe::FCTRL::offset(), 4, fctrl & ~uint64_t{ixgbe::FCTRL::BAM::kMask});
  tester.send(sim::udp_frame(60, flow, 2));
  EXPECT_EQ(*nic.dev->rx_batch(0, in), 0u);
  EXPECT_EQ(nic.model->dropped_filtered(), 1u);
  expect_clean();
}

// §8.2.3.8: the per-queue statistics count the queues RQSMR maps to them
// (reset: all to statistics 0). The driver maps queue q to statistics q, so
// each queue's drops are its own; with the mapping back at its reset value
// every queue's drops land in QPRDC(0), as on the NIC.
TEST_F(IxgbeTest, EachQueuesDropsAreItsOwnOnceRqsmrMapsThem) {
  DeviceConfig c = small_config();
  c.rx_queues = 4;
  Nic a = open_ok(small_config(), 1), b = open_ok(c, 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  auto send = [&](uint64_t seq) {  // 8 x 48 flows at a receiver that does not poll
    for (int i = 0; i < 8; ++i) {
      Batch<64> out;
      fill(*pool, out, 48, seq, b.dev->mac());
      ASSERT_EQ(*a.dev->tx_batch(0, out), 48u);
    }
  };
  send(0);
  for (uint32_t q = 0; q < 4; ++q) {  // each ring (64) holds 63: received, in q's statistics
    EXPECT_EQ(b.model->mmio_read(0, ixgbe::QPRC::offset(q), 4), 63u) << q;
    EXPECT_EQ(b.model->mmio_read(0, ixgbe::QBRC_L::offset(q), 4), 63u * 60) << q;
  }
  auto stats = b.dev->stats();
  ASSERT_TRUE(stats.ok());
  uint64_t drops = 0, queues_dropping = 0;
  for (const auto& q : stats->rx) drops += q.drops, queues_dropping += q.drops > 0;
  EXPECT_EQ(drops, stats->counters["MPC"]);
  EXPECT_GE(queues_dropping, 2u);
  for (uint32_t n = 0; n < 4; ++n) b.model->mmio_write(0, ixgbe::RQSMR::offset(n), 4, 0);
  send(0);                      // the same flows: the rings are still full, all 384 dropped
  auto after = b.dev->stats();  // the driver's statistics add up over calls
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->counters["MPC"] - stats->counters["MPC"], 384u);
  EXPECT_EQ(after->rx[0].drops - stats->rx[0].drops, 384u);
  for (uint32_t q = 1; q < 4; ++q) EXPECT_EQ(after->rx[q].drops, stats->rx[q].drops) << q;
  expect_clean();
}

// §7.1.2: a multicast frame passes without MPE only with its bit in the
// multicast table and MCSTCTRL.MFE; MO picks the 12 address bits that index
// it (0: bits 47:36, 3: bits 43:32).
TEST_F(IxgbeTest, MulticastFramesPassByTheMulticastTable) {
  Nic nic = open_ok();  // not promiscuous
  sim::TesterPort tester;
  cable_to(nic, tester);
  sim::UdpFlow flow;
  flow.dst_mac = MacAddress{{0x01, 0x00, 0x5e, 0x00, 0x12, 0x34}};
  auto received = [&](uint64_t seq) {
    tester.send(sim::udp_frame(60, flow, seq));
    Batch<4> in;
    return *nic.dev->rx_batch(0, in);
  };
  auto write = [&](uint32_t off, uint32_t v) { nic.model->mmio_write(0, off, 4, v); };
  EXPECT_EQ(received(1), 0u);
  // MO 0: (0x34 << 4 | 0x12 >> 4) = 0x341: MTA(26), bit 1.
  write(ixgbe::MTA::offset(0x341 / 32), 1u << (0x341 % 32));
  EXPECT_EQ(received(2), 0u);  // MFE clear: the table is not used
  write(ixgbe::MCSTCTRL::offset(), ixgbe::MCSTCTRL::MFE::kMask);
  EXPECT_EQ(received(3), 1u);
  // MO 3: 0x3412 & 0xFFF = 0x412: MTA(32), bit 18.
  write(ixgbe::MCSTCTRL::offset(), ixgbe::MCSTCTRL::MFE::kMask | ixgbe::MCSTCTRL::MO::insert(0, 3));
  EXPECT_EQ(received(4), 0u);
  write(ixgbe::MTA::offset(0x412 / 32), 1u << (0x412 % 32));
  EXPECT_EQ(received(5), 1u);
  EXPECT_EQ(nic.model->dropped_filtered(), 3u);
  expect_clean();
}

// §7.1.2: with VLNCTRL.VFE a tagged frame passes only with its VLAN's bit
// in the VLAN filter table; untagged frames are not filtered by it.
TEST_F(IxgbeTest, TaggedFramesPassByTheVlanFilterTableWhenItIsOn) {
  Nic nic = open_ok();
  sim::TesterPort tester;
  cable_to(nic, tester);
  sim::UdpFlow flow;
  flow.dst_mac = nic.dev->mac();
  auto received = [&](uint64_t seq, bool tagged) {
    std::vector<uint8_t> f = sim::udp_frame(60, flow, seq);
    if (tagged) {  // VLAN 100 (802.1Q: type 0x8100, then the tag control)
      const uint8_t tag[4] = {0x81, 0x00, 0x00, 100};
      f.insert(f.begin() + 12, tag, tag + 4);
    }
    tester.send(f);
    Batch<4> in;
    return *nic.dev->rx_batch(0, in);
  };
  const uint32_t vlnctrl =
      static_cast<uint32_t>(nic.model->mmio_read(0, ixgbe::VLNCTRL::offset(), 4));
  EXPECT_EQ(ixgbe::VLNCTRL::VET::extract(vlnctrl), 0x8100u);  // reset
  EXPECT_EQ(received(1, true), 1u);                           // VFE clear
  nic.model->mmio_write(0, ixgbe::VLNCTRL::offset(), 4, vlnctrl | ixgbe::VLNCTRL::VFE::kMask);
  EXPECT_EQ(received(2, true), 0u);
  EXPECT_EQ(received(3, false), 1u);
  nic.model->mmio_write(0, ixgbe::VFTA::offset(100 / 32), 4, 1u << (100 % 32));
  EXPECT_EQ(received(4, true), 1u);
  EXPECT_EQ(nic.model->dropped_filtered(), 1u);
  expect_clean();
}

// §8.2.3.9: transmit statistics follow TQSM like receive ones follow
// RQSMR; QPTC reads the same at its 82598 location (0x06030 + 0x40n, where
// Linux's and DPDK's drivers read it), clear-on-read through either; QBTC
// counts the bytes sent without the FCS.
TEST_F(IxgbeTest, TransmitStatisticsFollowTqsmAndQptcReadsAtBothOffsets) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  auto read = [&](uint32_t off) { return static_cast<uint32_t>(a.model->mmio_read(0, off, 4)); };
  (void)a.dev->stats();
  for (uint32_t i = 0; i < 16; ++i) {  // from zero
    (void)read(ixgbe::QPTC::offset(i));
    (void)read(ixgbe::QBTC_L::offset(i));
  }
  Batch<8> out, in;
  fill(*pool, out, 3, 0, b.dev->mac(), 100);
  ASSERT_EQ(*a.dev->tx_batch(0, out), 3u);
  EXPECT_EQ(read(ixgbe::QBTC_L::offset(0)), 300u);
  EXPECT_EQ(read(ixgbe::QPTC_ALIAS::offset(0)), 3u);
  EXPECT_EQ(read(ixgbe::QPTC::offset(0)), 0u);           // cleared by the read above
  a.model->mmio_write(0, ixgbe::TQSM::offset(0), 4, 5);  // queue 0 to statistics 5
  fill(*pool, out, 2, 3, b.dev->mac());
  ASSERT_EQ(*a.dev->tx_batch(0, out), 2u);
  EXPECT_EQ(read(ixgbe::QPTC::offset(5)), 2u);
  EXPECT_EQ(read(ixgbe::QPTC::offset(0)), 0u);
  EXPECT_EQ(*b.dev->rx_batch(0, in), 5u);
  expect_clean();
}

}  // namespace
}  // namespace safenic
