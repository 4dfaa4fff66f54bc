// The ixgbe driver against the 82599 model: init, traffic, rings, drops,
// multi-queue, teardown, errors. The MAC's filters and statistics are in
// ixgbe_mac_test.cc.
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/ixgbe/ixgbe.h"
#include "nic/ixgbe/regs.h"
#include "nic/open.h"
#include "sim/harness/frames.h"
#include "sim/ixgbe/model.h"
#include "sim/simulated_function.h"
#include "tests/ixgbe/ixgbe_fixture.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

TEST_F(IxgbeTest, InitFollowsTheDatasheetWithoutViolations) {
  Nic nic = open_ok();
  EXPECT_EQ(nic.dev->driver(), "ixgbe");
  EXPECT_EQ(nic.dev->mac().to_string(), "02:00:00:00:82:01");  // from the "EEPROM"
  EXPECT_FALSE(nic.dev->link().up);                            // no cable
  expect_clean();
}

// The model's register writes, in order, as the driver makes them.
class RecordingModel final : public sim::DeviceModel {
 public:
  explicit RecordingModel(std::shared_ptr<sim::Ixgbe82599> inner) : inner_(std::move(inner)) {}
  PciId id() const override { return inner_->id(); }
  size_t bar_size(int bar) const override { return inner_->bar_size(bar); }
  uint64_t mmio_read(int bar, uint32_t off, unsigned width) override {
    return inner_->mmio_read(bar, off, width);
  }
  void mmio_write(int bar, uint32_t off, unsigned width, uint64_t v) override {
    writes.push_back({off, v});
    inner_->mmio_write(bar, off, width, v);
  }
  uint32_t config_read32(uint32_t off) const override { return inner_->config_read32(off); }
  std::vector<std::pair<uint32_t, uint64_t>> writes;

 private:
  std::shared_ptr<sim::Ixgbe82599> inner_;
};

// §4.6.7: the receive path is enabled (RXCTRL.RXEN) last, once every queue is
// enabled and has descriptors (RDT), as DPDK's ixgbe does too: until then a
// frame for a queue not yet enabled would be dropped.
TEST_F(IxgbeTest, ReceiveIsEnabledAfterEveryQueueHasDescriptors) {
  auto model = std::make_shared<RecordingModel>(std::make_shared<sim::Ixgbe82599>(ctx_));
  DeviceConfig c = small_config();
  c.rx_queues = 2;
  auto dev = ixgbe::open(std::make_unique<sim::SimulatedFunction>(model, ctx_, "sim:82599#0"), c);
  ASSERT_TRUE(dev.ok()) << dev.status();
  int rxen_at = -1, last_rdt_at = -1;
  for (size_t i = 0; i < model->writes.size(); ++i) {
    const auto& [off, v] = model->writes[i];
    if (off == ixgbe::RXCTRL::offset() && (v & ixgbe::RXCTRL::RXEN::kMask))
      rxen_at = static_cast<int>(i);
    if (off == ixgbe::RDT::offset(0) || off == ixgbe::RDT::offset(1))
      last_rdt_at = static_cast<int>(i);
  }
  ASSERT_GE(rxen_at, 0) << "RXCTRL.RXEN never set";
  ASSERT_GE(last_rdt_at, 0) << "no RDT written";
  EXPECT_GT(rxen_at, last_rdt_at) << "RXCTRL.RXEN set before the queues had descriptors";
  expect_clean();
}

TEST_F(IxgbeTest, LinkComesUpWithACableAndGoesDownWithout) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  sim::connect(a.model->port(), b.model->port());
  ASSERT_TRUE(a.dev->wait_for_link(absl::Seconds(1)).ok());
  EXPECT_EQ(a.dev->link().speed_mbps, 10000u);
  sim::disconnect(a.model->port());
  EXPECT_FALSE(a.dev->link().up);
  EXPECT_FALSE(b.dev->link().up);
  expect_clean();
}

TEST_F(IxgbeTest, ALinkThatNeverComesUpIsAClearErrorInSimulatedTime) {
  Nic nic = open_ok();
  auto s = nic.dev->wait_for_link(absl::Seconds(10));  // simulated: instant
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(s.message()), HasSubstr("link is still down after 10s"));
}

TEST_F(IxgbeTest, TrafficBothWaysArrivesIntact) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  for (Nic* from : {&a, &b}) {
    Nic* to = from == &a ? &b : &a;
    Batch<32> out, in;
    fill(*pool, out, 20, 1000, to->dev->mac(), 128);
    ASSERT_EQ(*from->dev->tx_batch(0, out), 20u);
    EXPECT_TRUE(out.empty());
    ASSERT_EQ(*to->dev->rx_batch(0, in), 20u);
    for (size_t i = 0; i < in.size(); ++i) {
      ASSERT_EQ(in[i].size(), 128u);
      EXPECT_EQ(sim::frame_seq(in[i].bytes()), 1000 + i);
      const std::vector<uint8_t> want = [&] {
        sim::UdpFlow f;
        f.dst_mac = to->dev->mac();
        f.src_port = static_cast<uint16_t>(1000 + i);
        return sim::udp_frame(128, f, 1000 + i);
      }();
      EXPECT_EQ(std::vector<uint8_t>(in[i].bytes().begin(), in[i].bytes().end()), want);
    }
  }
  expect_clean();
}

TEST_F(IxgbeTest, RingsWrapManyTimesAtEveryBatchSize) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  uint64_t seq = 0, expect = 0;
  for (size_t batch_size = 1; batch_size <= 63; ++batch_size) {  // up to ring size - 1
    for (int round = 0; round < 8; ++round) {
      Batch<64> out, in;
      fill(*pool, out, batch_size, seq, b.dev->mac());
      seq += batch_size;
      ASSERT_EQ(*a.dev->tx_batch(0, out), batch_size);
      ASSERT_EQ(*b.dev->rx_batch(0, in), batch_size);
      for (Packet& p : in) ASSERT_EQ(sim::frame_seq(p.bytes()), expect++);
    }
  }
  EXPECT_GT(seq, 64u * 100);  // the 64-entry rings wrapped over 100 times
  expect_clean();
}

TEST_F(IxgbeTest, AFullTxRingLeavesUnsentPacketsWithTheCaller) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  a.model->set_tx_paused(true);
  Batch<128> out;
  fill(*pool, out, 100, 0, b.dev->mac());
  ASSERT_EQ(*a.dev->tx_batch(0, out), 63u);  // a 64-entry ring holds 63
  ASSERT_EQ(out.size(), 37u);
  EXPECT_EQ(sim::frame_seq(out[0].bytes()), 63u);  // the rest, in order
  EXPECT_EQ(*a.dev->tx_batch(0, out), 0u);
  a.model->set_tx_paused(false);  // the device catches up
  Batch<64> in;
  EXPECT_EQ(*b.dev->rx_batch(0, in), 63u);
  in.clear();
  EXPECT_EQ(*a.dev->tx_batch(0, out), 37u);  // cleaned, room again
  EXPECT_EQ(*b.dev->rx_batch(0, in), 37u);
  EXPECT_EQ(sim::frame_seq(in[36].bytes()), 99u);
  expect_clean();
}

TEST_F(IxgbeTest, RxWithoutFreeDescriptorsDropsAndCountsEveryFrame) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  for (int i = 0; i < 5; ++i) {  // 160 frames at a receiver that does not poll
    Batch<32> out;
    fill(*pool, out, 32, 32 * i, b.dev->mac());
    ASSERT_EQ(*a.dev->tx_batch(0, out), 32u);
  }
  auto stats = b.dev->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rx[0].drops, 160u - 63);
  EXPECT_EQ(stats->counters["MPC"], 160u - 63);
  EXPECT_EQ(stats->counters["GPRC"], 63u);
  Batch<64> in;
  EXPECT_EQ(*b.dev->rx_batch(0, in), 63u);
  EXPECT_EQ(sim::frame_seq(in[62].bytes()), 62u);  // the first 63 were kept
  expect_clean();
}

TEST_F(IxgbeTest, AnEmptyRxPoolLeavesFramesInTheRingUntilBuffersReturn) {
  DeviceConfig c = small_config();
  c.buffers_per_rx_queue = 64 + 8;  // the ring holds 64: 8 to spare
  Nic a = open_ok(small_config(), 1), b = open_ok(c, 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  Batch<32> out, held, in;
  fill(*pool, out, 8, 0, b.dev->mac());
  ASSERT_EQ(*a.dev->tx_batch(0, out), 8u);
  ASSERT_EQ(*b.dev->rx_batch(0, held), 8u);  // the application keeps these
  fill(*pool, out, 10, 8, b.dev->mac());
  ASSERT_EQ(*a.dev->tx_batch(0, out), 10u);
  EXPECT_EQ(*b.dev->rx_batch(0, in), 0u);  // no buffer to swap in: frames wait
  held.clear();                            // buffers come home
  EXPECT_EQ(*b.dev->rx_batch(0, in), 8u);
  in.clear();
  EXPECT_EQ(*b.dev->rx_batch(0, in), 2u);
  EXPECT_EQ(sim::frame_seq(in[1].bytes()), 17u);
  EXPECT_EQ(b.dev->stats()->rx_total().drops, 0u);  // nothing lost
  expect_clean();
}

TEST_F(IxgbeTest, RssSpreadsFlowsOverQueuesAndKeepsEachFlowOnOne) {
  DeviceConfig c = small_config();
  c.rx_queues = 4;
  Nic a = open_ok(small_config(), 1), b = open_ok(c, 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  std::map<uint64_t, uint16_t> queue_of_flow;
  std::set<uint16_t> used;
  size_t received = 0;
  for (int rep = 0; rep < 2; ++rep) {
    Batch<64> out;
    fill(*pool, out, 48, 0, b.dev->mac());  // 48 flows (source ports), twice
    ASSERT_EQ(*a.dev->tx_batch(0, out), 48u);
    for (uint16_t q = 0; q < 4; ++q) {
      Batch<64> in;
      received += *b.dev->rx_batch(q, in);
      for (Packet& p : in) {
        const uint64_t flow = sim::frame_seq(p.bytes());
        auto [it, fresh] = queue_of_flow.emplace(flow, q);
        EXPECT_EQ(it->second, q) << "flow " << flow << " moved queues";
        used.insert(q);
      }
    }
  }
  EXPECT_EQ(received, 96u);
  EXPECT_EQ(used.size(), 4u);
  expect_clean();
}

TEST_F(IxgbeTest, EmptyPacketsAreDroppedAndCountedNotSent) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  Batch<8> out, in;
  fill(*pool, out, 2, 0, b.dev->mac());
  ASSERT_TRUE(out.push(pool->alloc()));  // length 0
  ASSERT_EQ(*a.dev->tx_batch(0, out), 3u);
  EXPECT_EQ(*b.dev->rx_batch(0, in), 2u);
  EXPECT_EQ(a.dev->stats()->tx[0].errors, 1u);
  expect_clean();
}

TEST_F(IxgbeTest, CloseStopsQueuesAndReturnsEveryBuffer) {
  MempoolPtr pool = make_pool();
  {
    Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
    cable(a, b);
    a.model->set_tx_paused(true);  // buffers stay in the TX ring
    Batch<32> out;
    fill(*pool, out, 30, 0, b.dev->mac());
    ASSERT_EQ(*a.dev->tx_batch(0, out), 30u);
    EXPECT_EQ(pool->in_use(), 30u);
    EXPECT_GT(ctx_.iommu->live_regions(), 1u);
  }
  EXPECT_EQ(pool->in_use(), 0u);
  EXPECT_EQ(ctx_.iommu->live_regions(), 1u);  // only the app pool is left
  expect_clean();
}

TEST_F(IxgbeTest, BadConfigsAreRejectedClearly) {
  DeviceConfig c = small_config();
  c.rx_ring_size = 100;
  EXPECT_THAT(std::string(open(c).status().message()), HasSubstr("power of two"));
  c = small_config();
  c.rx_queues = 17;
  EXPECT_THAT(std::string(open(c).status().message()), HasSubstr("1 to 16"));
  c = small_config();
  c.buffers_per_rx_queue = 10;
  EXPECT_EQ(open(c).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ctx_.iommu->live_regions(), 0u);
}

TEST_F(IxgbeTest, AVanishedDeviceIsAClearError) {
  auto model = std::make_shared<sim::Ixgbe82599>(ctx_);
  model->set_removed(true);
  auto dev = ixgbe::open(std::make_unique<sim::SimulatedFunction>(model, ctx_, "sim:82599#9"),
                         small_config());
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(dev.status().message()), HasSubstr("read all ones"));
}

TEST_F(IxgbeTest, OpenDevicePicksIxgbeForAn82599) {
  auto model = std::make_shared<sim::Ixgbe82599>(ctx_);
  auto dev = open_device(std::make_unique<sim::SimulatedFunction>(model, ctx_, "sim:82599#0"),
                         small_config());
  ASSERT_TRUE(dev.ok()) << dev.status();
  EXPECT_EQ((*dev)->driver(), "ixgbe");
}

TEST_F(IxgbeTest, TheModelReportsWhatADriverMustNotDo) {
  auto model = std::make_shared<sim::Ixgbe82599>(ctx_);
  sim::SimulatedFunction fn(model, ctx_, "sim:82599#0");
  Bar& bar = **fn.bar(0);
  bar.write(RegisterValue<ixgbe::RDLEN>(100), 0);  // not a multiple of 128
  bar.write(RegisterValue<ixgbe::RXDCTL>().set<ixgbe::RXDCTL::ENABLE>(), 0);
  EXPECT_FALSE(bar.read<ixgbe::RXDCTL>(0).is_set<ixgbe::RXDCTL::ENABLE>());
  bar.write(RegisterValue<ixgbe::TDT>(5), 3);  // tail on a disabled queue
  bar.write32(0x7FFF0, 1);                     // nothing there
  (void)bar.read<ixgbe::GPRC>();
  bar.write32(ixgbe::LINKS::offset(), 0);  // read-only
  ASSERT_EQ(ctx_.log->size(), 4u) << ctx_.log->to_string();
  EXPECT_THAT(ctx_.log->entries()[0], HasSubstr("RX queue 0 enabled with ring length not a"));
  EXPECT_THAT(ctx_.log->entries()[1], HasSubstr("TX tail 5 written to disabled queue 3"));
  EXPECT_THAT(ctx_.log->entries()[2], HasSubstr("unmodelled register 0x7fff0"));
  EXPECT_THAT(ctx_.log->entries()[3], HasSubstr("read-only register LINKS"));
}

// 82599 datasheet §8.2.3.5.3-4: EIMS is write-1-to-set (a 0 leaves a cause
// as it was), EIMC write-1-to-clear; EIMS reads back the enabled causes.
TEST_F(IxgbeTest, EimsSetsEimcClearsAndZerosChangeNothing) {
  auto model = std::make_shared<sim::Ixgbe82599>(ctx_);
  sim::SimulatedFunction fn(model, ctx_, "sim:82599#0");
  Bar& bar = **fn.bar(0);
  bar.write32(ixgbe::EIMS::offset(), 0x1);
  bar.write32(ixgbe::EIMS::offset(), 0x2);
  EXPECT_EQ(bar.read32(ixgbe::EIMS::offset()), 0x3u);
  bar.write32(ixgbe::EIMC::offset(), 0x1);
  EXPECT_EQ(bar.read32(ixgbe::EIMS::offset()), 0x2u);
  bar.write32(ixgbe::EIMS::offset(), 0);
  EXPECT_EQ(bar.read32(ixgbe::EIMS::offset()), 0x2u);
  expect_clean();
}

// §7.1.6.2: the device writes the write-back's first two dwords whole: RSS
// type and packet type (HDR_LEN, SPH, RSCCNT 0 without header split or RSC),
// then the RSS hash with RXCSUM.PCSD, else the fragment checksum and the IP
// identification. Nothing of the buffer address the driver posted survives.
TEST_F(IxgbeTest, TheRxWriteBackCarriesPacketTypeRssTypeAndTheSecondDwordPcsdSelects) {
  DeviceConfig config = small_config();
  config.rx_queues = 4;
  Nic nic = open_ok(config);
  sim::TesterPort tester;
  cable_to(nic, tester);
  // The driver sets PCSD (the RSS hash); cleared here to see the fragment checksum first.
  const uint64_t rxcsum = nic.model->mmio_read(0, ixgbe::RXCSUM::offset(), 4);
  EXPECT_TRUE(rxcsum & ixgbe::RXCSUM::PCSD::kMask);
  nic.model->mmio_write(0, ixgbe::RXCSUM::offset(), 4, rxcsum & ~ixgbe::RXCSUM::PCSD::kMask);
  sim::UdpFlow flow;
  flow.dst_mac = nic.dev->mac();
  std::vector<uint8_t> frame = sim::udp_frame(100, flow, 1);
  frame[18] = 0x12, frame[19] = 0x34;  // IPv4 identification
  uint32_t payload_sum = 0;            // UDP header and data, 16 bits at a time
  for (size_t i = 34; i < 100; i += 2) payload_sum += frame[i] << 8 | frame[i + 1];
  while (payload_sum >> 16) payload_sum = (payload_sum & 0xFFFF) + (payload_sum >> 16);

  // The write-back of the frame the device just stored, read from the ring.
  auto last_write_back = [&](uint32_t* dword0, uint32_t* dword1) {
    for (uint32_t q = 0; q < 4; ++q) {
      const uint64_t head = nic.model->mmio_read(0, ixgbe::RDH::offset(q), 4);
      if (head == 0) continue;
      const uint64_t base = nic.model->mmio_read(0, ixgbe::RDBAL::offset(q), 4) |
                            nic.model->mmio_read(0, ixgbe::RDBAH::offset(q), 4) << 32;
      auto d = ctx_.iommu->translate(base + (head - 1) * ixgbe::kDescriptorSize, 16, "test");
      ASSERT_TRUE(d.ok());
      std::memcpy(dword0, d->data(), 4);
      std::memcpy(dword1, d->data() + 4, 4);
      return;
    }
    FAIL() << "no queue received the frame";
  };
  uint32_t dword0 = 0, dword1 = 0;
  tester.send(frame);
  last_write_back(&dword0, &dword1);
  using WB = ixgbe::RxWriteBack;
  EXPECT_EQ(dword0, WB::PACKET_TYPE::insert(0, ixgbe::kPacketTypeIpv4 | ixgbe::kPacketTypeUdp) |
                        WB::RSS_TYPE::insert(0, ixgbe::kRssTypeUdpIpv4));  // MRQC hashes UDP ports
  EXPECT_EQ(dword1, payload_sum << 16 | 0x1234u);                          // PCSD clear

  Batch<8> in;
  ASSERT_EQ(*nic.dev->rx_batch(0, in) + *nic.dev->rx_batch(1, in) + *nic.dev->rx_batch(2, in) +
                *nic.dev->rx_batch(3, in),
            1u);
  nic.model->mmio_write(0, ixgbe::RXCSUM::offset(), 4, rxcsum);  // the driver's PCSD again
  frame = sim::udp_frame(100, flow, 2);
  tester.send(frame);
  last_write_back(&dword0, &dword1);
  EXPECT_NE(dword1, 0u);  // the Toeplitz hash of the addresses
  // The same frame hashes the same: the hash, not the checksum, is there now.
  const uint32_t first_hash = dword1;
  tester.send(frame);
  last_write_back(&dword0, &dword1);
  EXPECT_EQ(dword1, first_hash);
  EXPECT_NE(dword1, payload_sum << 16);
  expect_clean();
}

// §7.2.3.5: with TXDCTL.WTHRESH > 0 the device ignores RS and writes DD back
// only once WTHRESH descriptors are done; with 0 it writes each RS one back
// as it completes (the driver's setting).
TEST_F(IxgbeTest, TxWriteBackWaitsForWthreshDescriptorsWhenItIsSet) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a, b);
  MempoolPtr pool = make_pool();
  const uint64_t base = a.model->mmio_read(0, ixgbe::TDBAL::offset(0), 4) |
                        a.model->mmio_read(0, ixgbe::TDBAH::offset(0), 4) << 32;
  auto dd = [&](uint32_t i) {
    auto d = ctx_.iommu->translate(base + i * ixgbe::kDescriptorSize, 16, "test");
    EXPECT_TRUE(d.ok());
    return d.ok() && LayoutRef<ixgbe::TxWriteBack>(d->data()).is_set<ixgbe::TxWriteBack::DD>();
  };
  Batch<8> out, in;
  fill(*pool, out, 2, 0, b.dev->mac());
  ASSERT_EQ(*a.dev->tx_batch(0, out), 2u);
  EXPECT_TRUE(dd(0) && dd(1));  // WTHRESH 0: at once

  const uint64_t txdctl = a.model->mmio_read(0, ixgbe::TXDCTL::offset(0), 4);
  a.model->mmio_write(0, ixgbe::TXDCTL::offset(0), 4,
                      ixgbe::TXDCTL::WTHRESH::insert(static_cast<uint32_t>(txdctl), 4));
  fill(*pool, out, 3, 2, b.dev->mac());
  ASSERT_EQ(*a.dev->tx_batch(0, out), 3u);
  EXPECT_EQ(*b.dev->rx_batch(0, in), 5u);  // all sent
  EXPECT_FALSE(dd(2) || dd(3) || dd(4));   // but not written back: 3 of 4
  fill(*pool, out, 1, 5, b.dev->mac());
  ASSERT_EQ(*a.dev->tx_batch(0, out), 1u);
  EXPECT_TRUE(dd(2) && dd(3) && dd(4) && dd(5));  // the fourth: all at once
  expect_clean();
}

}  // namespace
}  // namespace safenic
