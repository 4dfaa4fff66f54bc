// testnic, the made-up fourth NIC family: everything it needs is in
// tests/testdev (layout, model, kind, driver). Opened by spec and by the
// Testbed, named in --help and by PCI id, it forwards frames, and its model
// catches a driver's mistakes, as the real NICs' models do.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/open.h"
#include "sim/catalog.h"
#include "sim/harness/frames.h"
#include "sim/harness/testbed.h"
#include "sim/simulated_function.h"
#include "tests/testdev/nic_layout.h"
#include "tests/testdev/nic_model.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

DeviceConfig small() {
  DeviceConfig c;
  c.rx_ring_size = c.tx_ring_size = 16;
  c.buffers_per_rx_queue = 32;
  return c;
}

TEST(TestNic, RegistersItselfAsAKindAndADriver) {
  EXPECT_THAT(sim::kinds_help(), HasSubstr("sim:testnic"));
  EXPECT_THAT(sim::kind_names(), HasSubstr("sim:testnic"));
  EXPECT_EQ(driver_for({testnic::kVendor, testnic::kDevice}), "testnic");
  EXPECT_EQ(device_model({testnic::kVendor, testnic::kDevice}), "testnic (made up, tests/testdev)");
  // Opened by spec: a loopback plug, so what it sends comes back.
  auto dev = open_device("sim:testnic", small());
  ASSERT_TRUE(dev.ok()) << dev.status();
  EXPECT_EQ((*dev)->driver(), "testnic");
  ASSERT_TRUE((*dev)->wait_for_link(absl::Seconds(1)).ok());
  MempoolPtr pool = *(*dev)->create_mempool({.buffers = 16, .tag = "app"});
  Batch<8> batch;
  for (uint64_t i = 0; i < 5; ++i) {
    Packet p = pool->alloc();
    ASSERT_TRUE(p.resize(64).ok());
    sim::write_udp_frame(p.bytes(), {.dst_mac = (*dev)->mac()}, i);
    batch.push(std::move(p));
  }
  ASSERT_EQ(*(*dev)->tx_batch(0, batch), 5u);
  Batch<8> in;
  ASSERT_EQ(*(*dev)->rx_batch(0, in), 5u);
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(sim::frame_seq(in[i].bytes()), i);
}

// Two testnics on a Testbed, cabled together: a frame from a tester port
// crosses the first, is forwarded by the application, and leaves the second;
// the Testbed reports filtered frames; closing returns every buffer.
TEST(TestNic, ForwardsOnATestbedAndClosesClean) {
  sim::Testbed bed;
  auto a = bed.add("testnic", small());
  auto b = bed.add("made-up-nic", small());  // its alias
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*a)->name(), "sim:testnic#0");
  EXPECT_EQ((*b)->mac().to_string(), "02:00:00:00:7e:02");
  sim::TesterPort in, out;
  sim::connect(bed.port(0), in);
  sim::connect(bed.port(1), out);
  ASSERT_TRUE((*a)->wait_for_link(absl::Seconds(1)).ok());
  for (uint64_t i = 0; i < 40; ++i)
    in.send(sim::udp_frame(60, bed.flow_to(0), i));  // more than the ring
  in.send(sim::udp_frame(60, sim::UdpFlow{}, 99));   // for another address
  Batch<64> batch;
  size_t forwarded = 0;
  for (int round = 0; round < 4; ++round) {
    (void)*(*a)->rx_batch(0, batch);
    forwarded += *(*b)->tx_batch(0, batch);
    batch.clear();
  }
  // A ring of 16 takes 15 frames (the descriptor at TAIL waits); the rest
  // found no descriptor, and are counted.
  EXPECT_EQ(forwarded, 15u);
  EXPECT_EQ(out.received(), 15u);
  EXPECT_EQ(bed.model<testnic::TestNicModel>(0).dropped_frames().at("rx_no_descriptor"), 25u);
  EXPECT_THAT(bed.report(), HasSubstr("rx_filtered 1"));
  auto stats = (*a)->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rx[0].packets, 15u);
  EXPECT_EQ(stats->rx[0].drops, 25u);
  EXPECT_EQ(stats->counters["RX_FILTERED"], 1u);
  EXPECT_EQ(*(*b)->reclaim_tx(0), 15u);
  a->reset();
  b->reset();
  EXPECT_EQ(bed.context().iommu->live_regions(), 0u);
  EXPECT_TRUE(bed.context().log->empty()) << bed.context().log->to_string();
}

// The model checks what a driver writes: a doorbell past the ring, a TX
// descriptor with an impossible length (refused with ERROR, DONE), ring
// registers changed while the rings run.
TEST(TestNic, TheModelReportsADriversMistakes) {
  sim::Testbed bed;
  auto dev = bed.add("testnic", small());
  ASSERT_TRUE(dev.ok()) << dev.status();
  Bar& bar = **bed.function(0).bar(0);
  bar.write(RegisterValue<testnic::TX::TAIL>(16));
  bar.write(RegisterValue<testnic::RX::SIZE>(8));
  const std::string log = bed.context().log->to_string();
  EXPECT_THAT(log, HasSubstr("TX TAIL=16 written while beyond the ring"));
  EXPECT_THAT(log, HasSubstr("RX SIZE written while the rings run"));
  bed.context().log->clear();

  MempoolPtr pool = *(*dev)->create_mempool({.buffers = 4, .tag = "app"});
  Batch<2> batch;
  Packet p = pool->alloc();
  ASSERT_TRUE(p.resize(8).ok());  // shorter than an Ethernet header
  batch.push(std::move(p));
  ASSERT_EQ(*(*dev)->tx_batch(0, batch), 1u);
  EXPECT_THAT(bed.context().log->to_string(), HasSubstr("TX descriptor 0: a frame of 8 bytes"));
  EXPECT_EQ(*(*dev)->reclaim_tx(0), 1u);
  EXPECT_EQ((*dev)->stats()->tx[0].errors, 1u);
  EXPECT_EQ(pool->in_use(), 0u);
}

}  // namespace
}  // namespace safenic
