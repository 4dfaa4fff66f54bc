// Fault injection in the virtio-net model (sim/faults.h) against the virtio
// driver, on split and packed rings: a clear Status or a counted error, no
// crash or hang, no leaked buffer, recovery by reopening where the device
// needs a reset. One test per row of the README's fault table.
#include <memory>
#include <string>
#include <tuple>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/virtio_net.h"
#include "sim/harness/frames.h"
#include "sim/simulated_function.h"
#include "sim/virtio/faults.h"
#include "sim/virtio/model.h"
#include "tests/faults/traffic.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;
using Fault = sim::VirtioFault;
using virtio::feature::bit;
namespace f = virtio::feature;

// {packed ring?, VIRTIO_F_IN_ORDER offered?}
class VirtioFaultTest : public ::testing::TestWithParam<std::tuple<bool, bool>> {
 protected:
  struct Nic {
    std::shared_ptr<sim::VirtioNetModel> model;
    std::unique_ptr<Device> dev;
  };
  static DeviceConfig config() {
    DeviceConfig c;
    c.rx_ring_size = c.tx_ring_size = 64;
    c.buffers_per_rx_queue = 256;
    return c;
  }
  sim::VirtioNetConfig model_config() const {
    sim::VirtioNetConfig mc;
    mc.features = sim::default_virtio_features(false);
    if (!std::get<0>(GetParam())) mc.features &= ~bit(f::kRingPacked);
    if (!std::get<1>(GetParam())) mc.features &= ~bit(f::kInOrder);
    return mc;
  }
  absl::StatusOr<Nic> open() {
    auto model = std::make_shared<sim::VirtioNetModel>(ctx_, model_config());
    model->set_faults(plan_);
    sim::connect(model->port(), tester_);
    auto dev = virtio::open(std::make_unique<sim::SimulatedFunction>(model, ctx_, "sim:virtio#0"),
                            config());
    if (!dev.ok()) return dev.status();
    return Nic{model, *std::move(dev)};
  }
  void SetUp() override {
    pool_ = *Mempool::create({.buffers = 512, .tag = "app"},
                             DmaAllocator(Backing::kAnonymous, ctx_.iommu));
  }
  void TearDown() override {
    nic_.dev.reset();
    EXPECT_EQ(pool_->in_use(), 0u) << "application buffers leaked";
    pool_.reset();
    EXPECT_EQ(ctx_.iommu->live_regions(), 0u) << "driver buffers or rings leaked";
    EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
  }
  void open_ok() {
    auto nic = open();
    ASSERT_TRUE(nic.ok()) << nic.status();
    nic_ = *std::move(nic);
  }
  // Frames from the wire into the device; returns how many the driver delivered.
  size_t receive(size_t n, uint64_t seq = 0) { return faults::receive(tester_, *nic_.dev, n, seq); }
  // Frames from the driver to the wire; returns how many the driver took.
  size_t transmit(size_t n, uint64_t seq = 0) {
    return faults::transmit(*pool_, *nic_.dev, n, seq);
  }

  sim::SimContext ctx_;
  sim::TesterPort tester_{/*keep_frames=*/false};
  std::shared_ptr<sim::VirtioFaultPlan> plan_ = std::make_shared<sim::VirtioFaultPlan>(7);
  MempoolPtr pool_;
  Nic nic_;
};

TEST_P(VirtioFaultTest, DeviceNeedsResetStopsTrafficClearlyAndReopeningRecovers) {
  open_ok();
  EXPECT_EQ(receive(5), 5u);
  plan_->once(Fault::kNeedsReset);  // at the next frame
  EXPECT_EQ(receive(5), 0u);
  EXPECT_FALSE(nic_.dev->link().up);
  auto stats = nic_.dev->stats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(stats.status().message()), HasSubstr("close and reopen"));
  // TX takes what fits in the ring, then nothing: no spin, nothing lost.
  size_t taken = 0;
  for (int i = 0; i < 4; ++i) taken += transmit(40);
  EXPECT_EQ(taken, 64u);
  EXPECT_EQ(tester_.received(), 0u);
  nic_.dev.reset();  // close: every buffer comes home
  EXPECT_EQ(pool_->in_use(), 0u);
  open_ok();  // a reset device works again
  EXPECT_EQ(receive(5), 5u);
  EXPECT_EQ(transmit(5), 5u);
  EXPECT_EQ(tester_.received(), 5u);
}

TEST_P(VirtioFaultTest, DeviceNeedsResetAtATxNotification) {
  open_ok();
  plan_->once(Fault::kNeedsReset);
  EXPECT_EQ(transmit(10), 10u);
  EXPECT_EQ(tester_.received(), 0u);
  EXPECT_EQ(nic_.dev->stats().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(VirtioFaultTest, ARefusedFeatureSetFallsBackToASplitRing) {
  plan_->once(Fault::kRefuseFeatures);
  open_ok();
  EXPECT_FALSE(virtio::negotiated_features(*nic_.dev) & bit(f::kRingPacked));
  EXPECT_EQ(receive(10), 10u);
  EXPECT_EQ(transmit(10), 10u);
}

TEST_P(VirtioFaultTest, ADeviceThatRefusesEveryFeatureSetIsAClearError) {
  plan_->random(Fault::kRefuseFeatures, 1);
  auto nic = open();
  EXPECT_EQ(nic.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(nic.status().message()), HasSubstr("refused FEATURES_OK"));
  EXPECT_EQ(plan_->fired(Fault::kRefuseFeatures), 2u);  // with and without the packed ring
}

TEST_P(VirtioFaultTest, RxUsedElementsWithBadIdsAreCountedAndIgnored) {
  open_ok();
  plan_->random(Fault::kBadUsedId, 1, 2, 3);  // frames 3 to 5 of 10
  EXPECT_EQ(receive(10), 7u);
  EXPECT_EQ(nic_.dev->stats()->counters["bad_completions"], 3u);
  EXPECT_EQ(receive(20, 10), 20u);  // the queue goes on (three buffers short until close)
}

TEST_P(VirtioFaultTest, TxUsedElementsWithBadIdsAreCountedAndIgnored) {
  open_ok();
  // stats() collects the completions: each batch's, so that with IN_ORDER the
  // driver reads the one element the device writes for it.
  plan_->once(Fault::kBadUsedId);
  EXPECT_EQ(transmit(10), 10u);
  EXPECT_EQ(nic_.dev->stats()->counters["bad_completions"], 1u);
  plan_->once(Fault::kBadUsedId);
  EXPECT_EQ(transmit(10, 10), 10u);
  EXPECT_EQ(tester_.received(), 20u);
  EXPECT_EQ(nic_.dev->stats()->counters["bad_completions"], 2u);
  // The buffers with bad ids came home all the same (IN_ORDER: the device
  // used them), or stay with the ring until close (without).
  for (int round = 0; round < 4; ++round) {  // the 64-entry ring wraps
    EXPECT_EQ(transmit(40, 20 + 40 * round), 40u);
  }
  EXPECT_EQ(tester_.received(), 180u);
}

TEST_P(VirtioFaultTest, RxUsedLengthsNoBufferHoldsAreCountedErrors) {
  open_ok();
  plan_->random(Fault::kBadUsedLen, 2, 0, 6);
  const size_t got = receive(40);
  const uint64_t bad = plan_->fired(Fault::kBadUsedLen);
  // The model's three kinds in turn: one byte past the buffer, 0, past any.
  EXPECT_GE(bad, 3u);
  EXPECT_EQ(got + bad, 40u);
  EXPECT_EQ(nic_.dev->stats()->rx[0].errors, bad);
  EXPECT_EQ(receive(20, 40), 20u);
}

INSTANTIATE_TEST_SUITE_P(SplitAndPacked, VirtioFaultTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "packed" : "split") +
                                  (std::get<1>(info.param) ? "_in_order" : "");
                         });

}  // namespace
}  // namespace safenic
