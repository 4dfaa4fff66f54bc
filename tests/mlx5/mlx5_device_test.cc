// The mlx5 driver against the ConnectX model as a safenic Device: bring-up,
// traffic between two ConnectX models and between a ConnectX and an 82599,
// rings wrapping (owner bits), RSS, the MAC filter and promiscuous mode,
// error-CQE recovery, every command error during open, teardown, stats, link.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/mlx5/cmd.h"
#include "nic/mlx5/layout.h"
#include "nic/mlx5/mlx5.h"
#include "nic/open.h"
#include "sim/harness/frames.h"
#include "sim/harness/testbed.h"
#include "sim/ixgbe/model.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"

namespace safenic {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class Mlx5DeviceTest : public ::testing::Test {
 protected:
  struct Nic {
    std::shared_ptr<sim::ConnectXModel> model;
    std::unique_ptr<Device> dev;
  };

  static DeviceConfig small_config(uint16_t rx_queues = 1) {
    DeviceConfig c;
    c.rx_queues = rx_queues;
    c.rx_ring_size = 64;
    c.tx_ring_size = 64;
    c.buffers_per_rx_queue = 256;
    return c;
  }
  std::shared_ptr<sim::ConnectXModel> model(uint8_t id = 1,
                                            sim::ConnectXProfile p = sim::ConnectXProfile::cx5()) {
    p.mac.bytes[5] = id;
    return std::make_shared<sim::ConnectXModel>(ctx_, p);
  }
  absl::StatusOr<std::unique_ptr<Device>> open(std::shared_ptr<sim::ConnectXModel> m,
                                               const DeviceConfig& config) {
    return mlx5::open(std::make_unique<sim::SimulatedFunction>(m, ctx_, "sim:cx5#0"), config);
  }
  Nic open_ok(const DeviceConfig& config = small_config(), uint8_t id = 1,
              sim::ConnectXProfile p = sim::ConnectXProfile::cx5()) {
    Nic nic{model(id, p), nullptr};
    auto dev = open(nic.model, config);
    EXPECT_TRUE(dev.ok()) << dev.status();
    if (dev.ok()) nic.dev = *std::move(dev);
    return nic;
  }
  void cable(sim::Port& a, sim::Port& b, Device& da, Device& db) {
    sim::connect(a, b);
    ASSERT_TRUE(da.wait_for_link(absl::Seconds(1)).ok());
    ASSERT_TRUE(db.wait_for_link(absl::Seconds(1)).ok());
  }
  MempoolPtr make_pool(uint32_t buffers = 1024) {
    MempoolConfig c;
    c.buffers = buffers;
    c.tag = "app";
    return *Mempool::create(c, DmaAllocator(Backing::kAnonymous, ctx_.iommu));
  }
  static std::vector<uint8_t> frame(const MacAddress& dst, uint64_t seq, size_t size = 60,
                                    uint16_t src_port = 1234) {
    sim::UdpFlow flow;
    flow.dst_mac = dst;
    flow.src_port = src_port;
    return sim::udp_frame(size, flow, seq);
  }
  void fill(Mempool& pool, PacketBatch& batch, size_t n, uint64_t seq, const MacAddress& dst,
            size_t size = 60) {
    for (size_t i = 0; i < n; ++i) {
      Packet p = pool.alloc();
      ASSERT_FALSE(p.empty());
      ASSERT_TRUE(p.resize(size).ok());
      const std::vector<uint8_t> f = frame(dst, seq + i, size);
      std::copy(f.begin(), f.end(), p.data());
      ASSERT_TRUE(batch.push(std::move(p)));
    }
  }
  void expect_clean() { EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string(); }

  sim::SimContext ctx_;
};

TEST_F(Mlx5DeviceTest, OpensOnEveryProfileAndClosesReturningEverything) {
  for (auto profile :
       {sim::ConnectXProfile::cx4(), sim::ConnectXProfile::cx4lx(), sim::ConnectXProfile::cx5()}) {
    for (uint16_t queues : {1, 4}) {
      Nic nic = open_ok(small_config(queues), 7, profile);
      ASSERT_NE(nic.dev, nullptr);
      EXPECT_EQ(nic.dev->driver(), "mlx5");
      EXPECT_EQ(nic.dev->mac().to_string(), "02:00:00:00:c5:07");  // the vport's address
      EXPECT_EQ(nic.dev->rx_queues(), queues);
      EXPECT_FALSE(nic.dev->link().up);  // no cable
      EXPECT_GT(nic.model->live_objects(), 10u);
      nic.dev.reset();
      EXPECT_EQ(nic.model->objects_at_teardown(), 0u);  // every object destroyed first
      EXPECT_EQ(nic.model->pages_held(), 0u);
      EXPECT_FALSE(nic.model->enabled());
      EXPECT_EQ(ctx_.iommu->live_regions(), 0u);
      expect_clean();
    }
  }
}

TEST_F(Mlx5DeviceTest, OpenDeviceFindsTheSimulatedConnectX) {
  for (const char* spec : {"sim:cx4", "sim:cx4lx", "sim:cx5"}) {
    auto dev = open_device(spec, small_config());
    ASSERT_TRUE(dev.ok()) << spec << ": " << dev.status();
    EXPECT_EQ((*dev)->driver(), "mlx5");
    ASSERT_TRUE((*dev)->wait_for_link(absl::Seconds(1)).ok());  // a loopback plug
    EXPECT_EQ((*dev)->link().speed_mbps, std::string(spec) == "sim:cx4lx" ? 25000u : 100000u);
    auto pool = (*dev)->create_mempool({.buffers = 64});
    ASSERT_TRUE(pool.ok());
    Batch<8> out, in;
    fill(**pool, out, 3, 40, (*dev)->mac());
    ASSERT_EQ(*(*dev)->tx_batch(0, out), 3u);
    ASSERT_EQ(*(*dev)->rx_batch(0, in), 3u);  // what it sent came back
    EXPECT_EQ(sim::frame_seq(in[2].bytes()), 42u);
  }
}

// PRM "PTYS": a port up in any Ethernet link mode reports that mode's speed.
// These modes had no speed in the driver's table (a 100GBASE-LR4 link was up
// at 0 Mb/s); tests/fidelity checks the whole table against Linux's
// mlx5e_link_mode.
TEST_F(Mlx5DeviceTest, EveryPtysLinkModeReportsItsSpeed) {
  const struct {
    uint32_t bit, mbps;
  } kModes[] = {{0, 1000}, {5, 20000}, {8, 56000}, {23, 100000},
                {24, 100}, {25, 1000}, {26, 10000}};
  for (const auto& mode : kModes) {
    sim::ConnectXProfile profile = sim::ConnectXProfile::cx5();
    profile.ptys_speed_bit = mode.bit;
    Nic a = open_ok(small_config(), 1, profile), b = open_ok(small_config(), 2, profile);
    cable(a.model->port(), b.model->port(), *a.dev, *b.dev);
    EXPECT_TRUE(a.dev->link().up) << "PTYS bit " << mode.bit;
    EXPECT_EQ(a.dev->link().speed_mbps, mode.mbps) << "PTYS bit " << mode.bit;
  }
}

TEST_F(Mlx5DeviceTest, TrafficBetweenTwoConnectXArrivesIntact) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a.model->port(), b.model->port(), *a.dev, *b.dev);
  EXPECT_EQ(a.dev->link().speed_mbps, 100000u);
  MempoolPtr pool = make_pool();
  for (Nic* from : {&a, &b}) {
    Nic* to = from == &a ? &b : &a;
    for (size_t size : {60, 61, 200, 1514}) {
      Batch<32> out, in;
      fill(*pool, out, 20, size, to->dev->mac(), size);
      ASSERT_EQ(*from->dev->tx_batch(0, out), 20u);
      ASSERT_EQ(*to->dev->rx_batch(0, in), 20u);
      for (size_t i = 0; i < in.size(); ++i) {
        const std::vector<uint8_t> want = frame(to->dev->mac(), size + i, size);
        ASSERT_EQ(std::vector<uint8_t>(in[i].bytes().begin(), in[i].bytes().end()), want);
      }
    }
  }
  auto stats = b.dev->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rx[0].packets, 80u);
  EXPECT_EQ(stats->rx[0].bytes, 20u * (60 + 61 + 200 + 1514));
  EXPECT_EQ(stats->tx[0].packets, 80u);
  EXPECT_EQ(stats->counters["received_eth_unicast_packets"], 80u);
  EXPECT_EQ(stats->counters["transmitted_eth_unicast_packets"], 80u);
  EXPECT_EQ(stats->counters["received_eth_unicast_octets"], 20u * (60 + 61 + 200 + 1514));
  expect_clean();
}

TEST_F(Mlx5DeviceTest, ShortFramesArePaddedOnTheWire) {
  Nic a = open_ok(small_config(), 1);
  sim::TesterPort tester;
  sim::connect(a.model->port(), tester);
  ASSERT_TRUE(a.dev->wait_for_link(absl::Seconds(1)).ok());
  MempoolPtr pool = make_pool();
  Batch<4> out;
  for (size_t size : {14, 18, 19}) {  // header only; all inline; one byte in a data segment
    Packet p = pool->alloc();
    ASSERT_TRUE(p.resize(size).ok());
    for (size_t i = 0; i < size; ++i) p.data()[i] = static_cast<uint8_t>(i + 1);
    out.push(std::move(p));
  }
  ASSERT_EQ(*a.dev->tx_batch(0, out), 3u);
  ASSERT_EQ(tester.frames().size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const auto& f = tester.frames()[k];
    ASSERT_EQ(f.size(), 60u);
    const size_t size = k == 0 ? 14 : k == 1 ? 18 : 19;
    for (size_t i = 0; i < 60; ++i) ASSERT_EQ(f[i], i < size ? i + 1 : 0) << k << " " << i;
  }
  expect_clean();
}

TEST_F(Mlx5DeviceTest, ConnectXAnd82599InteroperateAtTheWire) {
  Nic cx = open_ok(small_config(), 1);
  sim::Testbed bed;  // an 82599 with its own simulation context
  auto intel = bed.add("82599", small_config());
  ASSERT_TRUE(intel.ok()) << intel.status();
  cable(cx.model->port(), bed.port(0), *cx.dev, **intel);
  MempoolPtr pool = make_pool();
  auto intel_pool = (*intel)->create_mempool({.buffers = 256});
  ASSERT_TRUE(intel_pool.ok());
  Batch<32> out, in;
  fill(*pool, out, 25, 500, (*intel)->mac(), 300);
  ASSERT_EQ(*cx.dev->tx_batch(0, out), 25u);
  ASSERT_EQ(*(*intel)->rx_batch(0, in), 25u);
  for (size_t i = 0; i < 25; ++i) {
    ASSERT_EQ(std::vector<uint8_t>(in[i].bytes().begin(), in[i].bytes().end()),
              frame((*intel)->mac(), 500 + i, 300));
  }
  in.clear();
  fill(**intel_pool, out, 25, 900, cx.dev->mac(), 128);
  ASSERT_EQ(*(*intel)->tx_batch(0, out), 25u);
  ASSERT_EQ(*cx.dev->rx_batch(0, in), 25u);
  for (size_t i = 0; i < 25; ++i) {
    ASSERT_EQ(std::vector<uint8_t>(in[i].bytes().begin(), in[i].bytes().end()),
              frame(cx.dev->mac(), 900 + i, 128));
  }
  expect_clean();
  EXPECT_TRUE(bed.context().log->empty()) << bed.context().log->to_string();
}

// 64-entry rings and CQs wrap over and over: the owner bit flips each pass.
TEST_F(Mlx5DeviceTest, RingsWrapManyTimesAtEveryBatchSize) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a.model->port(), b.model->port(), *a.dev, *b.dev);
  MempoolPtr pool = make_pool();
  uint64_t seq = 0, expect = 0;
  for (size_t batch_size = 1; batch_size <= 64; ++batch_size) {
    for (int round = 0; round < 4; ++round) {
      Batch<64> out, in;
      fill(*pool, out, batch_size, seq, b.dev->mac());
      seq += batch_size;
      ASSERT_EQ(*a.dev->tx_batch(0, out), batch_size);
      ASSERT_EQ(*b.dev->rx_batch(0, in), batch_size);
      for (Packet& p : in) ASSERT_EQ(sim::frame_seq(p.bytes()), expect++);
    }
  }
  EXPECT_GT(seq, 64u * 100);
  EXPECT_EQ(pool->in_use(), 64u);  // the last batch stays in a's TX ring until a clean-up
  Batch<1> none;
  ASSERT_EQ(*a.dev->tx_batch(0, none), 0u);
  EXPECT_EQ(pool->in_use(), 0u);
  expect_clean();
}

TEST_F(Mlx5DeviceTest, AFullRxRingDropsUntilBuffersAreTaken) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  cable(a.model->port(), b.model->port(), *a.dev, *b.dev);
  MempoolPtr pool = make_pool();
  for (int i = 0; i < 3; ++i) {  // 96 frames at a receiver that does not poll: 64 fit
    Batch<32> out;
    fill(*pool, out, 32, 32 * i, b.dev->mac());
    ASSERT_EQ(*a.dev->tx_batch(0, out), 32u);
  }
  EXPECT_EQ(b.model->drops().no_wqe, 32u);
  Batch<64> in;
  EXPECT_EQ(*b.dev->rx_batch(0, in), 64u);
  EXPECT_EQ(sim::frame_seq(in[63].bytes()), 63u);
  expect_clean();
}

TEST_F(Mlx5DeviceTest, RssSpreadsFlowsOverTheQueuesAndKeepsEachFlowOnOne) {
  Nic a = open_ok(small_config(1), 1), b = open_ok(small_config(4), 2);
  cable(a.model->port(), b.model->port(), *a.dev, *b.dev);
  MempoolPtr pool = make_pool();
  std::map<uint16_t, std::set<uint16_t>> queues_of_flow;
  for (int round = 0; round < 2; ++round) {
    for (uint16_t port = 0; port < 64; ++port) {
      Batch<1> out;
      Packet p = pool->alloc();
      ASSERT_TRUE(p.resize(60).ok());
      const std::vector<uint8_t> f = frame(b.dev->mac(), port, 60, 1000 + port);
      std::copy(f.begin(), f.end(), p.data());
      out.push(std::move(p));
      ASSERT_EQ(*a.dev->tx_batch(0, out), 1u);
      for (uint16_t q = 0; q < 4; ++q) {
        Batch<4> in;
        const size_t n = *b.dev->rx_batch(q, in);
        if (n == 1) queues_of_flow[port].insert(q);
      }
    }
  }
  std::map<uint16_t, int> per_queue;
  for (const auto& [port, qs] : queues_of_flow) {
    EXPECT_EQ(qs.size(), 1u) << "flow " << port << " landed on more than one queue";
    ++per_queue[*qs.begin()];
  }
  EXPECT_EQ(queues_of_flow.size(), 64u);
  EXPECT_EQ(per_queue.size(), 4u);  // every queue has flows
  for (const auto& [q, n] : per_queue) EXPECT_GE(n, 4) << "queue " << q;
  // A frame that is not IPv4 (ARP) goes to queue 0.
  Batch<1> out;
  Packet p = pool->alloc();
  ASSERT_TRUE(p.resize(60).ok());
  std::vector<uint8_t> arp = frame(b.dev->mac(), 0);
  arp[12] = 0x08, arp[13] = 0x06;
  std::copy(arp.begin(), arp.end(), p.data());
  out.push(std::move(p));
  ASSERT_EQ(*a.dev->tx_batch(0, out), 1u);
  Batch<4> in;
  EXPECT_EQ(*b.dev->rx_batch(0, in), 1u);
  expect_clean();
}

TEST_F(Mlx5DeviceTest, TheMacFilterPassesOurAddressAndBroadcastUnlessPromiscuous) {
  Nic b = open_ok(small_config(), 2);
  sim::TesterPort peer;
  sim::connect(peer, b.model->port());
  ASSERT_TRUE(b.dev->wait_for_link(absl::Seconds(1)).ok());
  const MacAddress other{{0x02, 0, 0, 0, 0x99, 0x99}},
      broadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, multicast{{0x01, 0, 0x5e, 0, 0, 1}};
  auto received = [&](const MacAddress& dst) {
    peer.send(frame(dst, 7));
    Batch<4> in;
    return *b.dev->rx_batch(0, in);
  };
  EXPECT_EQ(received(b.dev->mac()), 1u);
  EXPECT_EQ(received(broadcast), 1u);
  EXPECT_EQ(received(other), 0u);
  EXPECT_EQ(received(multicast), 0u);
  ASSERT_TRUE(b.dev->set_promiscuous(true).ok());
  EXPECT_EQ(received(other), 1u);
  EXPECT_EQ(received(multicast), 1u);
  EXPECT_EQ(received(b.dev->mac()), 1u);
  ASSERT_TRUE(b.dev->set_promiscuous(false).ok());
  EXPECT_EQ(received(other), 0u);
  EXPECT_EQ(received(b.dev->mac()), 1u);
  EXPECT_EQ(b.model->drops().vport_filter, 3u);
  expect_clean();
}

TEST_F(Mlx5DeviceTest, PromiscuousFromTheConfigAndWithRss) {
  Nic b = open_ok(
      [] {
        auto c = small_config(2);
        c.promiscuous = true;
        return c;
      }(),
      2);
  sim::TesterPort peer;
  sim::connect(peer, b.model->port());
  ASSERT_TRUE(b.dev->wait_for_link(absl::Seconds(1)).ok());
  for (int i = 0; i < 16; ++i)
    peer.send(frame(MacAddress{{0x02, 0, 0, 0, 0x99, 0x99}}, i, 60, 2000 + i));
  Batch<32> in;
  EXPECT_EQ(*b.dev->rx_batch(0, in) + *b.dev->rx_batch(1, in), 16u);
  b.dev.reset();
  EXPECT_EQ(b.model->objects_at_teardown(), 0u);
  expect_clean();
}

TEST_F(Mlx5DeviceTest, ASendWithABadLkeyFailsItsWqeAndTheQueueRecovers) {
  for (auto fault : {sim::WqeFault::kSendBadLkey, sim::WqeFault::kSendUnmapped}) {
    Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
    cable(a.model->port(), b.model->port(), *a.dev, *b.dev);
    MempoolPtr pool = make_pool();
    a.model->inject_wqe_fault(fault);
    Batch<8> out, in;
    fill(*pool, out, 4, 0, b.dev->mac());
    ASSERT_EQ(*a.dev->tx_batch(0, out), 4u);  // taken by the ring; the first WQE fails, 3 flushed
    EXPECT_EQ(*b.dev->rx_batch(0, in), 0u);
    if (fault == sim::WqeFault::kSendUnmapped) {
      EXPECT_THAT(ctx_.log->to_string(), HasSubstr("IOMMU fault: ConnectX send data read"));
      ctx_.log->clear();
    }
    fill(*pool, out, 5, 100, b.dev->mac());
    ASSERT_EQ(*a.dev->tx_batch(0, out), 5u);  // cleans the errors, recovers, sends
    ASSERT_EQ(*b.dev->rx_batch(0, in), 5u);
    EXPECT_EQ(sim::frame_seq(in[0].bytes()), 100u);
    auto stats = a.dev->stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->tx[0].errors, 4u);
    EXPECT_EQ(stats->counters["sq_recoveries"], 1u);
    EXPECT_EQ(stats->counters["transmit_errors_packets"], 1u);
    in.clear();
    a.dev.reset();  // the five sent are freed at close
    EXPECT_EQ(pool->in_use(), 0u);
    expect_clean();
  }
}

TEST_F(Mlx5DeviceTest, AReceiveIntoABadBufferFailsTheRqWhichRecovers) {
  for (auto fault : {sim::WqeFault::kReceiveBadLkey, sim::WqeFault::kReceiveUnmapped}) {
    Nic b = open_ok(small_config(), 2);
    sim::TesterPort peer;
    sim::connect(peer, b.model->port());
    ASSERT_TRUE(b.dev->wait_for_link(absl::Seconds(1)).ok());
    b.model->inject_wqe_fault(fault);
    peer.send(frame(b.dev->mac(), 1));  // error CQE; the RQ goes to ERR, 63 WQEs flushed
    peer.send(frame(b.dev->mac(), 2));  // dropped: the RQ is not ready
    if (fault == sim::WqeFault::kReceiveUnmapped) {
      EXPECT_THAT(ctx_.log->to_string(), HasSubstr("IOMMU fault: ConnectX receive data write"));
      ctx_.log->clear();
    }
    Batch<64> in;
    EXPECT_EQ(*b.dev->rx_batch(0, in), 0u);  // the error and the flushes
    EXPECT_EQ(b.model->drops().rq_not_ready, 1u);
    EXPECT_EQ(*b.dev->rx_batch(0, in), 0u);  // recovers: RST, RDY, everything posted again
    peer.send(frame(b.dev->mac(), 3));
    ASSERT_EQ(*b.dev->rx_batch(0, in), 1u);
    EXPECT_EQ(sim::frame_seq(in[0].bytes()), 3u);
    auto stats = b.dev->stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->rx[0].errors, 1u);
    EXPECT_EQ(stats->counters["rq_recoveries"], 1u);
    in.clear();
    b.dev.reset();
    EXPECT_EQ(ctx_.iommu->live_regions(), 0u);
    expect_clean();
  }
}

// Every command the driver sends while opening, made to fail in turn (each
// occurrence of each opcode): open returns a Status naming the command, its
// status and syndrome, and nothing is left behind.
TEST_F(Mlx5DeviceTest, EveryCommandErrorDuringOpenIsNamedAndLeaksNothing) {
  std::map<uint16_t, uint32_t> sent;
  {
    auto m = model();
    auto dev = open(m, small_config(2));
    ASSERT_TRUE(dev.ok());
    sent = m->commands_by_opcode();  // before close
  }
  ASSERT_GT(sent.size(), 25u);
  size_t cases = 0;
  for (const auto& [opcode, count] : sent) {
    if (opcode == mlx5::QUERY_ISSI::kOpcode) continue;  // failing it means ISSI 0: open succeeds
    for (uint32_t k = 0; k < count; ++k) {
      const std::string name = mlx5::command_name(opcode);
      auto m = model();
      m->fail_next_command(opcode, mlx5::CmdStatus::kBadParam, 0x5AFE, k);
      auto dev = open(m, small_config(2));
      ++cases;
      ASSERT_FALSE(dev.ok()) << name << " #" << k;
      EXPECT_THAT(std::string(dev.status().message()),
                  AllOf(HasSubstr(name + " failed"), HasSubstr("status BAD_PARAM (0x3)"),
                        HasSubstr("syndrome 0x5afe")))
          << name << " #" << k;
      EXPECT_EQ(m->pages_held(), 0u) << name << " #" << k;
      EXPECT_EQ(m->objects_at_teardown(), 0u) << name << " #" << k;
      EXPECT_FALSE(m->enabled()) << name << " #" << k;
      EXPECT_EQ(ctx_.iommu->live_regions(), 0u) << name << " #" << k;
      expect_clean();
    }
  }
  EXPECT_GT(cases, 40u);
}

TEST_F(Mlx5DeviceTest, BadConfigurationsAreClearErrors) {
  for (DeviceConfig c : {[] {
                           DeviceConfig c;
                           c.rx_queues = 0;
                           return c;
                         }(),
                         [] {
                           DeviceConfig c;
                           c.tx_queues = 65;
                           return c;
                         }(),
                         [] {
                           DeviceConfig c;
                           c.rx_ring_size = 100;
                           return c;
                         }(),
                         [] {
                           DeviceConfig c;
                           c.buffers_per_rx_queue = 512;
                           return c;
                         }()}) {
    auto dev = open(model(), c);
    EXPECT_EQ(dev.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(dev.status().message()), HasSubstr("mlx5:"));
  }
  auto intel = mlx5::open(std::make_unique<sim::SimulatedFunction>(
                              std::make_shared<sim::Ixgbe82599>(ctx_), ctx_, "sim:82599#0"),
                          small_config());
  EXPECT_THAT(std::string(intel.status().message()), HasSubstr("is not a ConnectX"));
  EXPECT_EQ(ctx_.iommu->live_regions(), 0u);
}

TEST_F(Mlx5DeviceTest, LinkFollowsTheCableThroughPortChangeEvents) {
  Nic a = open_ok(small_config(), 1), b = open_ok(small_config(), 2);
  EXPECT_FALSE(a.dev->link().up);
  cable(a.model->port(), b.model->port(), *a.dev, *b.dev);
  EXPECT_EQ(a.dev->link().speed_mbps, 100000u);
  sim::disconnect(a.model->port());
  EXPECT_FALSE(a.dev->link().up);
  EXPECT_EQ(a.dev->link().speed_mbps, 0u);
  EXPECT_FALSE(b.dev->link().up);
  auto stats = a.dev->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->counters["port_change_events"], 2u);  // up, then down
  expect_clean();
}

// PRM "Page Request Event": the running firmware asks for pages, then offers
// some back; the driver answers on its next poll, and close gets the rest.
TEST_F(Mlx5DeviceTest, PageRequestsWhileRunningAreAnsweredAndTheirFailuresSaid) {
  Nic a = open_ok();
  const size_t at_open = a.model->pages_held();
  a.model->request_pages(40);
  ASSERT_TRUE(a.dev->stats().ok());
  EXPECT_EQ(a.model->pages_held(), at_open + 40);
  a.model->request_pages(-30);
  auto stats = a.dev->stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(a.model->pages_held(), at_open + 10);
  EXPECT_EQ(stats->counters["page_requests"], 2u);
  // A give that the firmware refuses: said once by stats(), counted, and the
  // device goes on.
  a.model->fail_next_command(mlx5::MANAGE_PAGES::kOpcode, mlx5::CmdStatus::kBadParam, 0x77);
  a.model->request_pages(8);
  auto failed = a.dev->stats();
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("MANAGE_PAGES"));
  stats = a.dev->stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->counters["page_request_failures"], 1u);
  a.dev.reset();
  EXPECT_EQ(a.model->pages_held(), 0u);  // every page back at close
  EXPECT_EQ(ctx_.iommu->live_regions(), 0u);
  expect_clean();
}

TEST_F(Mlx5DeviceTest, ClosingWithPacketsInFlightReturnsEveryBuffer) {
  MempoolPtr pool = make_pool();
  {
    DeviceConfig c = small_config(2);
    c.tx_queues = 2;
    Nic a = open_ok(c, 1), b = open_ok(c, 2);
    cable(a.model->port(), b.model->port(), *a.dev, *b.dev);
    Batch<32> out;
    fill(*pool, out, 30, 0, b.dev->mac());
    ASSERT_EQ(*a.dev->tx_batch(1, out), 30u);  // completed but not yet cleaned: still in a's ring
    EXPECT_EQ(pool->in_use(), 30u);
  }
  EXPECT_EQ(pool->in_use(), 0u);
  EXPECT_EQ(ctx_.iommu->live_regions(), 1u);  // only the app's pool
  expect_clean();
}

TEST_F(Mlx5DeviceTest, TheTestbedAddsConnectXNics) {
  sim::Testbed bed;
  auto a = bed.add("cx5", small_config());
  auto b = bed.add<sim::ConnectXModel>(sim::ConnectXProfile::cx4lx(), small_config());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->mac().to_string(), "02:00:00:00:c5:01");
  EXPECT_EQ((*b)->mac().to_string(), "02:00:00:00:c5:02");
  sim::connect(bed.port(0), bed.port(1));
  ASSERT_TRUE((*a)->wait_for_link(absl::Seconds(1)).ok());
  EXPECT_EQ((*b)->link().speed_mbps, 25000u);
}

}  // namespace
}  // namespace safenic
