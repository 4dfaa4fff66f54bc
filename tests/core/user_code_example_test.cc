// The example of docs/testing.md, compiled and run in CI: a user's
// packet-processing code (here a reflector that swaps MAC addresses) tested
// against a simulated 82599. Keep the two in step.
#include <algorithm>

#include "gtest/gtest.h"
#include "sim/harness/frames.h"
#include "sim/harness/testbed.h"

// The code under test: sends a frame back where it came from.
void reflect(safenic::Packet& p) { std::swap_ranges(p.data(), p.data() + 6, p.data() + 6); }

TEST(Reflector, SendsEveryFrameBackToItsSender) {
  safenic::sim::Testbed bed;  // simulated NICs, one context
  auto nic = bed.add("82599", {.rx_queues = 1, .tx_queues = 1});
  ASSERT_TRUE(nic.ok()) << nic.status();
  safenic::sim::TesterPort peer;  // the other end of the cable
  safenic::sim::connect(bed.port(0), peer);
  ASSERT_TRUE((*nic)->wait_for_link(absl::Seconds(1)).ok());

  const safenic::sim::UdpFlow flow = bed.flow_to(0);  // addressed to NIC 0
  for (uint64_t i = 0; i < 8; ++i) peer.send(safenic::sim::udp_frame(64, flow, i));

  safenic::Batch<32> batch;
  ASSERT_EQ(*(*nic)->rx_batch(0, batch), 8u) << bed.report();  // what dropped them
  for (safenic::Packet& p : batch) reflect(p);
  ASSERT_EQ(*(*nic)->tx_batch(0, batch), 8u);  // sent packets leave the batch

  ASSERT_EQ(peer.frames().size(), 8u);
  for (uint64_t i = 0; i < 8; ++i) {
    EXPECT_TRUE(std::equal(peer.frames()[i].begin(), peer.frames()[i].begin() + 6,
                           flow.src_mac.bytes.begin()));
    EXPECT_EQ(safenic::sim::frame_seq(peer.frames()[i]), i);
  }
  EXPECT_TRUE(bed.context().log->empty()) << bed.context().log->to_string();  // no driver mistake
  nic->reset();  // close: every ring and buffer home
  EXPECT_EQ(bed.context().iommu->live_regions(), 0u);
}
