// Fault injection in the 82599 model (sim/faults.h) against the ixgbe driver:
// each fault gives a clear Status or a counted error, never a crash or a hang,
// leaks no buffer, and traffic recovers where the hardware allows. One test
// per row of the README's fault table.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/ixgbe/ixgbe.h"
#include "nic/ixgbe/regs.h"
#include "sim/harness/frames.h"
#include "sim/ixgbe/faults.h"
#include "sim/ixgbe/model.h"
#include "sim/simulated_function.h"
#include "tests/ixgbe/ixgbe_fixture.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;
using Fault = sim::IxgbeFault;

class IxgbeFaultTest : public ::testing::Test {
 protected:
  struct Nic {
    std::shared_ptr<sim::Ixgbe82599> model;
    std::shared_ptr<sim::IxgbeFaultPlan> plan;
    std::unique_ptr<Device> dev;
  };

  static DeviceConfig config() { return small_ixgbe_config(); }
  // A NIC with a fault plan of its own (seeded with its id), armed before the
  // driver opens it.
  Nic open_nic(uint8_t id, std::shared_ptr<sim::Ixgbe82599> model = nullptr) {
    if (model == nullptr) {
      sim::Ixgbe82599Config mc;
      mc.mac.bytes[5] = id;
      model = std::make_shared<sim::Ixgbe82599>(ctx_, mc);
    }
    auto plan = std::make_shared<sim::IxgbeFaultPlan>(id);
    model->set_faults(plan);
    auto nic = open_ixgbe(ctx_, config(), id, model);
    EXPECT_TRUE(nic.ok()) << nic.status();
    return {model, plan, nic.ok() ? std::move(nic->dev) : nullptr};
  }
  void SetUp() override {
    a_ = open_nic(1);
    b_ = open_nic(2);
    ASSERT_NE(a_.dev, nullptr);
    ASSERT_NE(b_.dev, nullptr);
    sim::connect(a_.model->port(), b_.model->port());
    ASSERT_TRUE(a_.dev->wait_for_link(absl::Seconds(1)).ok());
    ASSERT_TRUE(b_.dev->wait_for_link(absl::Seconds(1)).ok());
    pool_ = *Mempool::create({.buffers = 512, .tag = "app"},
                             DmaAllocator(Backing::kAnonymous, ctx_.iommu));
  }
  // Closing both devices and the application's pool returns every buffer and
  // unmaps every DMA region: nothing leaked, whatever the fault did.
  void TearDown() override {
    a_.dev.reset();
    b_.dev.reset();
    if (pool_ != nullptr) {
      EXPECT_EQ(pool_->in_use(), 0u) << "application buffers leaked";
    }
    pool_.reset();
    EXPECT_EQ(ctx_.iommu->live_regions(), 0u) << "driver buffers or rings leaked";
  }

  // Sends `n` 60-byte frames from `from` to `to`; returns how many the driver took.
  size_t send(Nic& from, const Nic& to, size_t n, uint64_t seq = 0) {
    Batch<64> out;
    sim::UdpFlow flow;
    flow.dst_mac = to.dev->mac();
    for (size_t i = 0; i < n; ++i) {
      Packet p = pool_->alloc();
      EXPECT_TRUE(p.resize(60).ok());
      sim::write_udp_frame(p.bytes(), flow, seq + i);
      out.push(std::move(p));
    }
    return *from.dev->tx_batch(0, out);
  }
  size_t receive(Nic& nic) {
    Batch<64> in;
    size_t n = *nic.dev->rx_batch(0, in);
    for (Packet& p : in) EXPECT_LE(p.size(), p.capacity());
    return n;
  }
  // The only violations are the IOMMU's reports of the injected DMA faults.
  void expect_only_dma_faults(size_t n) {
    ASSERT_EQ(ctx_.log->size(), n) << ctx_.log->to_string();
    for (const std::string& e : ctx_.log->entries()) EXPECT_THAT(e, HasSubstr("IOMMU fault"));
    ctx_.log->clear();
  }

  sim::SimContext ctx_;
  Nic a_, b_;
  MempoolPtr pool_;
};

TEST_F(IxgbeFaultTest, LinkFlapAtTheReceiverDropsFramesUntilTheLinkIsBack) {
  b_.plan->once(Fault::kLinkFlap);
  ASSERT_EQ(send(a_, b_, 10), 10u);
  EXPECT_FALSE(b_.dev->link().up);
  EXPECT_EQ(receive(b_), 0u);
  EXPECT_EQ(b_.model->dropped_link_down(), 10u);
  ASSERT_TRUE(b_.dev->wait_for_link(absl::Seconds(1)).ok());  // renegotiated
  ASSERT_EQ(send(a_, b_, 10, 10), 10u);
  EXPECT_EQ(receive(b_), 10u);
  EXPECT_EQ(a_.dev->stats()->counters["GPTC"],
            b_.dev->stats()->counters["GPRC"] + b_.model->dropped_link_down());
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

TEST_F(IxgbeFaultTest, LinkFlapAtTheSenderLosesWhatItSendsAndIsCounted) {
  a_.plan->once(Fault::kLinkFlap);
  ASSERT_EQ(send(a_, b_, 10), 10u);  // the driver hands them over; the wire is down
  EXPECT_FALSE(a_.dev->link().up);
  EXPECT_EQ(receive(b_), 0u);
  EXPECT_EQ(a_.model->dropped_tx_link_down(), 10u);
  ASSERT_TRUE(a_.dev->wait_for_link(absl::Seconds(1)).ok());
  ASSERT_EQ(send(a_, b_, 10, 10), 10u);
  EXPECT_EQ(receive(b_), 10u);
  EXPECT_EQ(a_.dev->stats()->tx[0].packets, 20u);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

TEST_F(IxgbeFaultTest, CrcErrorsAreDiscardedAndCountedInCrcerrs) {
  b_.plan->random(Fault::kRxCrcError, 1, 2, 3);  // frames 3, 4 and 5 of 10
  ASSERT_EQ(send(a_, b_, 10), 10u);
  EXPECT_EQ(receive(b_), 7u);
  auto stats = *b_.dev->stats();
  EXPECT_EQ(stats.counters["CRCERRS"], 3u);
  EXPECT_EQ(stats.counters["GPRC"], 7u);
  EXPECT_EQ(stats.rx[0].errors, 0u);  // the MAC discarded them: nothing reached the ring
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

TEST_F(IxgbeFaultTest, StoredBadFramesCarryRxeAndAreDroppedAndCountedByTheDriver) {
  // FCTRL.SBP (store bad packets) posts them with RXE in the write-back.
  sim::SimulatedBar bar(*b_.model, 0, *ctx_.log);
  bar.modify<ixgbe::FCTRL>([](RegisterValue<ixgbe::FCTRL>& v) { v.set<ixgbe::FCTRL::SBP>(); });
  b_.plan->random(Fault::kRxCrcError, 1, 0, 2);
  ASSERT_EQ(send(a_, b_, 10), 10u);
  EXPECT_EQ(receive(b_), 8u);  // the two in error never reach the application
  auto stats = *b_.dev->stats();
  EXPECT_EQ(stats.rx[0].errors, 2u);
  EXPECT_EQ(stats.counters["CRCERRS"], 2u);
  EXPECT_EQ(stats.rx[0].packets, 8u);
  ASSERT_EQ(send(a_, b_, 10, 10), 10u);  // the ring goes on
  EXPECT_EQ(receive(b_), 10u);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

TEST_F(IxgbeFaultTest, RxDmaFaultsAreReportedWriteNothingAndLoseOnlyThatFrame) {
  b_.plan->once(Fault::kDmaFault);  // the first frame's descriptor read
  ASSERT_EQ(send(a_, b_, 5), 5u);
  b_.plan->once(Fault::kDmaFault, 1);  // the next frame's buffer write
  ASSERT_EQ(send(a_, b_, 5, 5), 5u);
  EXPECT_EQ(b_.model->rx_dma_faults(), 2u);
  ASSERT_EQ(ctx_.log->size(), 2u);
  EXPECT_THAT(ctx_.log->entries()[0], HasSubstr("82599 RX descriptor read"));
  EXPECT_THAT(ctx_.log->entries()[1], HasSubstr("82599 RX packet write"));
  expect_only_dma_faults(2);
  EXPECT_EQ(receive(b_), 8u);
  ASSERT_EQ(send(a_, b_, 30, 10), 30u);
  EXPECT_EQ(receive(b_), 30u);
}

TEST_F(IxgbeFaultTest, TxDescriptorFetchFaultStallsTheQueueUntilTheNextDoorbell) {
  a_.plan->once(Fault::kDmaFault);  // the first descriptor fetch
  ASSERT_EQ(send(a_, b_, 5), 5u);
  expect_only_dma_faults(1);
  EXPECT_EQ(receive(b_), 0u);         // stalled at that descriptor
  ASSERT_EQ(send(a_, b_, 5, 5), 5u);  // the doorbell retries the fetch
  EXPECT_EQ(receive(b_), 10u);
  a_.plan->once(Fault::kDmaFault);
  ASSERT_EQ(send(a_, b_, 5, 10), 5u);
  expect_only_dma_faults(1);
  a_.model->progress();  // or the device retries by itself
  EXPECT_EQ(receive(b_), 5u);
}

TEST_F(IxgbeFaultTest, TxBufferDmaFaultDropsThatFrameAndReturnsItsBuffer) {
  a_.plan->random(Fault::kDmaFault, 1, 1, 1);  // the first frame's buffer read
  ASSERT_EQ(send(a_, b_, 10), 10u);
  expect_only_dma_faults(1);
  EXPECT_EQ(a_.model->tx_dma_faults(), 1u);
  EXPECT_EQ(receive(b_), 9u);
  ASSERT_EQ(send(a_, b_, 63, 10), 63u);  // DD was written: the ring cleans fully
  EXPECT_EQ(receive(b_), 63u);
}

TEST_F(IxgbeFaultTest, TxDescriptorErrorsDropTheFrameAndAreCounted) {
  a_.plan->random(Fault::kTxDescriptorError, 4, 0, 5);
  size_t got = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(send(a_, b_, 20, 20 * i), 20u);
    got += receive(b_);
  }
  EXPECT_EQ(a_.model->tx_descriptor_errors(), a_.plan->fired(Fault::kTxDescriptorError));
  EXPECT_GT(a_.model->tx_descriptor_errors(), 0u);
  EXPECT_EQ(got + a_.model->tx_descriptor_errors(), 80u);
  EXPECT_EQ(a_.dev->stats()->counters["GPTC"], got);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

TEST_F(IxgbeFaultTest, SurpriseRemovalIsAClearErrorAndNothingHangsOrLeaks) {
  a_.plan->once(Fault::kSurpriseRemoval);  // at the next doorbell
  ASSERT_EQ(send(a_, b_, 10), 10u);
  EXPECT_FALSE(a_.dev->link().up);  // all-ones LINKS is not "up at 10G"
  auto stats = a_.dev->stats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(stats.status().message()), HasSubstr("removed"));
  // The ring fills (no descriptor completes) and then takes nothing: no spin.
  size_t taken = 0;
  for (int i = 0; i < 4; ++i) taken += send(a_, b_, 30, 100);
  EXPECT_EQ(taken, 63u - 10u);
  EXPECT_EQ(receive(a_), 0u);
  EXPECT_EQ(receive(b_), 0u);
  // Closing a removed device frees everything; reopened once it is back, it works.
  a_.dev.reset();
  a_.model->set_removed(false);
  Nic again = open_nic(1, a_.model);
  ASSERT_NE(again.dev, nullptr);
  a_ = std::move(again);
  ASSERT_TRUE(a_.dev->wait_for_link(absl::Seconds(1)).ok());
  ASSERT_EQ(send(a_, b_, 10), 10u);
  EXPECT_EQ(receive(b_), 10u);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

TEST_F(IxgbeFaultTest, SurpriseRemovalWhileFramesArriveDropsThem) {
  b_.plan->once(Fault::kSurpriseRemoval);  // at the next frame
  ASSERT_EQ(send(a_, b_, 10), 10u);
  EXPECT_EQ(receive(b_), 0u);
  EXPECT_EQ(b_.dev->stats().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

TEST_F(IxgbeFaultTest, ThePlanIsDeterministicForASeed) {
  auto run = [](uint64_t seed) {
    sim::IxgbeFaultPlan plan(seed);
    plan.random(Fault::kRxCrcError, 7);
    std::string fired;
    for (int i = 0; i < 200; ++i) fired += plan.fire(Fault::kRxCrcError) ? '1' : '0';
    return fired;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

}  // namespace
}  // namespace safenic
