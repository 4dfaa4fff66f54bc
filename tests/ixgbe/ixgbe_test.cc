// The ixgbe driver against the 82599 model: init, traffic, rings, drops,
// multi-queue, stats, teardown, errors.
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

class IxgbeTest : public ::testing::Test {
 protected:
  using Nic = IxgbeNic;

  static DeviceConfig small_config() { return small_ixgbe_config(); }

  absl::StatusOr<Nic> open(const DeviceConfig& config, uint8_t id = 1) {
    return open_ixgbe(ctx_, config, id);
  }
  Nic open_ok(const DeviceConfig& config = small_config(), uint8_t id = 1) {
    auto nic = open(config, id);
    EXPECT_TRUE(nic.ok()) << nic.status();
    return *std::move(nic);
  }
  // A NIC cabled to a test endpoint, link up.
  void cable_to(Nic& nic, sim::TesterPort& tester) {
    sim::connect(nic.model->port(), tester);
    ASSERT_TRUE(nic.dev->wait_for_link(absl::Seconds(1)).ok());
  }
  // Two NICs joined by a cable, links up.
  void cable(Nic& a, Nic& b) {
    sim::connect(a.model->port(), b.model->port());
    ASSERT_TRUE(a.dev->wait_for_link(absl::Seconds(1)).ok());
    ASSERT_TRUE(b.dev->wait_for_link(absl::Seconds(1)).ok());
  }

  MempoolPtr make_pool(uint32_t buffers = 1024) {
    MempoolConfig c;
    c.buffers = buffers;
    c.tag = "app";
    return *Mempool::create(c, DmaAllocator(Backing::kAnonymous, ctx_.iommu));
  }
  // Appends `n` frames addressed to `dst` with sequence numbers from `seq`.
  void fill(Mempool& pool, PacketBatch& batch, size_t n, uint64_t seq, const MacAddress& dst,
            size_t size = 60) {
    sim::UdpFlow flow;
    flow.dst_mac = dst;
    for (size_t i = 0; i < n; ++i) {
      Packet p = pool.alloc();
      ASSERT_FALSE(p.empty());
      ASSERT_TRUE(p.resize(size).ok());
      flow.src_port = static_cast<uint16_t>(seq + i);
      sim::write_udp_frame(p.bytes(), flow, seq + i);
      ASSERT_TRUE(batch.push(std::move(p)));
    }
  }
  void expect_clean() { EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string(); }

  sim::SimContext ctx_;
};

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
