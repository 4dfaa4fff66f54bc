// CountingCable: frames pass both ways, in order and in bursts, and the
// cable counts each direction's frames and bytes.
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "sim/harness/frames.h"
#include "sim/wires/wire.h"

namespace safenic::sim {
namespace {

// A port that records whether frames came one by one or as bursts.
class BurstRecorder final : public Port {
 public:
  void receive(absl::Span<const uint8_t> frame) override { sizes.push_back(frame.size()); }
  void receive_burst(absl::Span<const absl::Span<const uint8_t>> frames) override {
    bursts.push_back(frames.size());
    for (const absl::Span<const uint8_t> frame : frames) sizes.push_back(frame.size());
  }
  std::vector<size_t> sizes, bursts;
};

TEST(CountingCableTest, PassesFramesBothWaysAndCountsEachDirection) {
  CountingCable cable;
  TesterPort a;
  BurstRecorder b;
  connect(a, cable.end(0));
  connect(b, cable.end(1));
  EXPECT_TRUE(a.connected() && b.connected());
  UdpFlow flow;
  a.send(udp_frame(60, flow, 1));
  a.send(udp_frame(100, flow, 2));
  const std::vector<uint8_t> f1 = udp_frame(70, flow, 3), f2 = udp_frame(80, flow, 4);
  const absl::Span<const uint8_t> burst[] = {f1, f2};
  b.transmit_burst(burst);
  b.transmit(f1);
  EXPECT_EQ(b.sizes, (std::vector<size_t>{60, 100}));
  EXPECT_TRUE(b.bursts.empty());
  EXPECT_EQ(a.received(), 3u);  // a takes a burst one frame at a time
  ASSERT_EQ(a.frames().size(), 3u);
  EXPECT_EQ(frame_seq(a.frames()[1]), 4u);  // in order
  EXPECT_EQ(cable.frames(0), 2u);
  EXPECT_EQ(cable.bytes(0), 160u);
  EXPECT_EQ(cable.frames(1), 3u);
  EXPECT_EQ(cable.bytes(1), 220u);
  // A burst from a reaches b as one burst.
  a.transmit_burst(burst);
  EXPECT_EQ(b.bursts, (std::vector<size_t>{2}));
  EXPECT_EQ(cable.frames(0), 4u);
}

}  // namespace
}  // namespace safenic::sim
