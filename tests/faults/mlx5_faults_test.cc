// Fault injection in the ConnectX model (sim/faults.h) against the mlx5
// driver: a clear Status or a counted error, never a crash or a hang, no
// leaked buffer, recovery where the hardware allows it (a failed WQE, a send
// CQ overrun), reopening where it does not (a hung or dead firmware, a receive
// CQ overrun). One test per row of the README's fault table; each ends (in
// TearDown) with the device closed, the application's pool back to 0 in use,
// no live IOMMU region and no model-reported violation.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/mlx5/layout.h"
#include "nic/mlx5/mlx5.h"
#include "sim/harness/frames.h"
#include "sim/mlx5/faults.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"
#include "tests/faults/traffic.h"

namespace safenic {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Fault = sim::ConnectXFault;

class Mlx5FaultTest : public ::testing::Test {
 protected:
  static DeviceConfig config() {
    DeviceConfig c;
    c.rx_ring_size = c.tx_ring_size = 64;
    c.buffers_per_rx_queue = 256;
    return c;
  }
  // A fresh ConnectX (a reset one) with the plan, cabled to the tester.
  absl::StatusOr<std::unique_ptr<Device>> open() {
    model_ = std::make_shared<sim::ConnectXModel>(ctx_, profile_);
    model_->set_faults(plan_);
    sim::connect(model_->port(), tester_);
    return mlx5::open(std::make_unique<sim::SimulatedFunction>(model_, ctx_, "sim:cx5#0"),
                      config());
  }
  void open_ok() {
    auto dev = open();
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *std::move(dev);
    ASSERT_TRUE(dev_->wait_for_link(absl::Seconds(1)).ok());
  }
  void SetUp() override {
    pool_ = *Mempool::create({.buffers = 512, .tag = "app"},
                             DmaAllocator(Backing::kAnonymous, ctx_.iommu));
  }
  void TearDown() override {
    dev_.reset();
    EXPECT_EQ(pool_->in_use(), 0u) << "application buffers leaked";
    pool_.reset();
    EXPECT_EQ(ctx_.iommu->live_regions(), 0u) << "driver buffers, rings or pages leaked";
    EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
  }
  // Frames from the wire; returns how many the driver delivered.
  size_t receive(size_t n, uint64_t seq = 0) { return faults::receive(tester_, *dev_, n, seq); }
  // Frames to the wire; returns how many the driver took.
  size_t transmit(size_t n, uint64_t seq = 0) { return faults::transmit(*pool_, *dev_, n, seq); }
  std::string stats_error() { return std::string(dev_->stats().status().message()); }

  sim::SimContext ctx_;
  sim::TesterPort tester_{/*keep_frames=*/false};
  std::shared_ptr<sim::ConnectXFaultPlan> plan_ = std::make_shared<sim::ConnectXFaultPlan>(7);
  // 200 frames sent with a bad lkey at one data segment in `one_in`.
  void bad_lkey_sends(uint32_t one_in) {
    open_ok();
    plan_->random(Fault::kBadLkey, one_in);
    size_t taken = 0;
    for (int round = 0; round < 20; ++round) taken += transmit(10, 10 * round);
    (void)transmit(0);  // the last completions
    const uint64_t bad = plan_->fired(Fault::kBadLkey);
    EXPECT_GT(bad, 0u);
    auto stats = dev_->stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    // Every frame is on the wire or counted: the failed WQE's and those flushed behind it.
    EXPECT_EQ(tester_.received() + stats->tx[0].errors, taken);
    EXPECT_EQ(stats->counters["transmit_errors_packets"], bad);
    EXPECT_EQ(stats->counters["sq_recoveries"], bad);
    EXPECT_GT(tester_.received(), 50u);
  }
  std::shared_ptr<sim::ConnectXModel> model_;
  sim::ConnectXProfile profile_ = sim::ConnectXProfile::cx5();
  MempoolPtr pool_;
  std::unique_ptr<Device> dev_;
};

TEST_F(Mlx5FaultTest, ACommandTimeoutIsDeadlineExceededNamingItAndLaterCommandsAreRefused) {
  open_ok();
  plan_->command_opcode = mlx5::QUERY_VPORT_COUNTER::kOpcode;
  plan_->once(Fault::kCommandTimeout);
  const absl::Time before = ctx_.clock->now();
  auto stats = dev_->stats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(stats.status().message()),
              AllOf(HasSubstr("QUERY_VPORT_COUNTER: no completion within 5s"),
                    HasSubstr("close and reopen")));
  EXPECT_GE(ctx_.clock->now() - before, absl::Seconds(5));  // simulated: instant
  // The entry is still the device's: nothing more is sent through it.
  const uint64_t commands = model_->commands();
  stats = dev_->stats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(stats.status().message()),
              HasSubstr("not sent: QUERY_VPORT_COUNTER got no completion"));
  EXPECT_EQ(model_->commands(), commands);
  // The data path needs no command: traffic goes on until the application closes.
  EXPECT_EQ(receive(5), 5u);
  EXPECT_EQ(transmit(5), 5u);
  EXPECT_EQ(tester_.received(), 5u);
  dev_.reset();  // close: the commands fail at once, every buffer and page comes back
  EXPECT_EQ(pool_->in_use(), 0u);
  plan_->never(Fault::kCommandTimeout);
  open_ok();  // a reset device works again
  EXPECT_EQ(receive(5), 5u);
}

TEST_F(Mlx5FaultTest, ACommandTimeoutDuringOpenNamesTheCommandAndLeavesNothing) {
  plan_->command_opcode = mlx5::CREATE_SQ::kOpcode;
  plan_->once(Fault::kCommandTimeout);
  auto dev = open();
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(dev.status().message()), HasSubstr("CREATE_SQ: no completion within 5s"));
  EXPECT_EQ(plan_->fired(Fault::kCommandTimeout), 1u);
}

TEST_F(Mlx5FaultTest, AFailedCommandIsNamedWithStatusAndSyndromeAndTheNextOneWorks) {
  open_ok();
  plan_->command_opcode = mlx5::QUERY_VPORT_COUNTER::kOpcode;
  plan_->command_status = 0x4;
  plan_->command_syndrome = 0x1234;
  plan_->once(Fault::kCommandFailure);
  auto stats = dev_->stats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(stats.status().message()),
              HasSubstr("QUERY_VPORT_COUNTER failed: status BAD_SYS_STATE (0x4), syndrome 0x1234"));
  EXPECT_TRUE(dev_->stats().ok());
}

TEST_F(Mlx5FaultTest, RandomCommandFailuresDuringOpenAreNamedAndLeakNothing) {
  size_t failed = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    plan_ = std::make_shared<sim::ConnectXFaultPlan>(seed);
    plan_->random(Fault::kCommandFailure, 40, 0, 1);
    auto dev = open();
    if (plan_->fired(Fault::kCommandFailure) == 0) {
      EXPECT_TRUE(dev.ok()) << dev.status();
      continue;
    }
    ++failed;
    ASSERT_FALSE(dev.ok()) << "seed " << seed;
    EXPECT_THAT(std::string(dev.status().message()),
                AllOf(HasSubstr(" failed: status BAD_PARAM (0x3), syndrome 0x5afe")))
        << "seed " << seed;
    EXPECT_EQ(model_->pages_held(), 0u) << "seed " << seed;
    EXPECT_EQ(model_->objects_at_teardown(), 0u) << "seed " << seed;
    EXPECT_EQ(ctx_.iommu->live_regions(), 1u) << "seed " << seed;  // the app's pool only
  }
  EXPECT_GE(failed, 6u);
}

TEST_F(Mlx5FaultTest, AFailedModifyDuringRecoveryLeavesTheQueueBrokenAndSaysSo) {
  open_ok();
  plan_->once(Fault::kBadLkey);
  EXPECT_EQ(transmit(4), 4u);  // the first WQE fails, three flushed: the SQ is in ERR
  plan_->command_opcode = mlx5::MODIFY_SQ::kOpcode;
  plan_->random(Fault::kCommandFailure, 1);  // ERR -> RST, then RDY -> RST, both refused
  EXPECT_EQ(transmit(4), 0u);
  EXPECT_THAT(stats_error(), AllOf(HasSubstr("tx0: cannot be brought back"),
                                   HasSubstr("MODIFY_SQ failed"), HasSubstr("close and reopen")));
  EXPECT_EQ(transmit(4), 0u);  // no command is retried per batch
  EXPECT_EQ(plan_->fired(Fault::kCommandFailure), 2u);
}

// ConnectX-5 sends ENHANCED_MPSW WQEs (a failed one loses all its frames, so
// the fault is rarer there); ConnectX-4 Lx one SEND WQE per frame.
TEST_F(Mlx5FaultTest, SendsWithABadLkeyAreCountedAndTheSqComesBack) { bad_lkey_sends(40); }

TEST_F(Mlx5FaultTest, SendWqesWithABadLkeyAreCountedAndTheSqComesBackOnConnectX4Lx) {
  profile_ = sim::ConnectXProfile::cx4lx();
  bad_lkey_sends(8);
}

TEST_F(Mlx5FaultTest, AReceiveWithABadLkeyIsCountedAndTheRqComesBack) {
  open_ok();
  plan_->once(Fault::kBadLkey, 3);  // the fourth frame's WQE
  EXPECT_EQ(receive(4), 3u);        // then an error CQE and 63 flushes
  EXPECT_EQ(receive(1, 4), 0u);     // dropped (RQ in ERR); the RQ comes back
  EXPECT_EQ(receive(10, 5), 10u);
  auto stats = dev_->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rx[0].errors, 1u);
  EXPECT_EQ(stats->counters["rq_recoveries"], 1u);
  EXPECT_EQ(model_->drops().rq_not_ready, 1u);
}

TEST_F(Mlx5FaultTest, ASendCqOverrunIsCountedAndTheSqIsRemade) {
  open_ok();
  plan_->once(Fault::kCqOverrun, 1);  // the second batch's CQE (32 frames ask for one)
  EXPECT_EQ(transmit(32), 32u);
  EXPECT_EQ(transmit(32, 32), 32u);
  EXPECT_EQ(tester_.received(), 64u);  // sent, but the CQ stopped: 32 buffers held
  EXPECT_EQ(pool_->in_use(), 32u);
  auto stats = dev_->stats();  // the CQ error event: a new SQ and CQ
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->counters["cq_overruns"], 1u);
  EXPECT_EQ(stats->counters["sq_recoveries"], 1u);
  EXPECT_EQ(stats->counters["tx_unconfirmed_frames"], 32u);  // freed with no CQE to say
  EXPECT_EQ(pool_->in_use(), 0u);
  for (int round = 0; round < 10; ++round) EXPECT_EQ(transmit(40, 100 + 40 * round), 40u);
  EXPECT_EQ(tester_.received(), 464u);
}

TEST_F(Mlx5FaultTest, AReceiveCqOverrunStopsThatQueueAndStatsSaysToReopen) {
  open_ok();
  plan_->once(Fault::kCqOverrun, 2);
  EXPECT_EQ(receive(5), 2u);
  EXPECT_EQ(model_->drops().no_wqe, 0u);
  auto stats = dev_->stats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(stats.status().message()),
              AllOf(HasSubstr("rx0: its CQ"), HasSubstr("overran"), HasSubstr("close and reopen")));
  EXPECT_EQ(receive(5, 5), 0u);
  dev_.reset();
  open_ok();
  EXPECT_EQ(receive(5, 10), 5u);
}

TEST_F(Mlx5FaultTest, AStalledEqIsDetectedByTheLinkCheckAndLinkPollsFromThen) {
  open_ok();
  plan_->once(Fault::kEqStall);  // the next event: the cable pull's
  sim::disconnect(model_->port());
  EXPECT_TRUE(dev_->link().up);  // no event yet: the last word stands for a second
  ctx_.clock->advance(absl::Seconds(1));
  EXPECT_FALSE(dev_->link().up);  // the port says down; no event said so
  sim::connect(model_->port(), tester_);
  EXPECT_TRUE(dev_->link().up);  // polled: no event needed
  auto stats = dev_->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->counters["eq_stalls"], 1u);
  EXPECT_EQ(stats->counters["port_change_events"], 1u);  // the first link up only
  EXPECT_EQ(model_->drops().eq_stalled, 2u);
  EXPECT_EQ(receive(5), 5u);
}

TEST_F(Mlx5FaultTest, AHealthSyndromeStopsTheDataPathAndEveryCallSaysWhy) {
  open_ok();
  EXPECT_EQ(transmit(30), 30u);  // held in the ring until the next clean
  plan_->health_syndrome = 0x10;
  plan_->once(Fault::kHealthSyndrome);  // as the next frame arrives
  EXPECT_EQ(receive(5), 0u);
  EXPECT_EQ(model_->drops().fatal, 5u);
  EXPECT_FALSE(dev_->link().up);
  auto stats = dev_->stats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(stats.status().message()),
              AllOf(HasSubstr("health syndrome 0x10 (HIGH_TEMP_ERR: the device is too hot)"),
                    HasSubstr("close and reopen")));
  EXPECT_EQ(transmit(10), 0u);  // stopped: the packets stay with the caller
  EXPECT_EQ(receive(1), 0u);
  dev_.reset();
  EXPECT_EQ(pool_->in_use(), 0u);
  open_ok();  // a reset device
  EXPECT_EQ(receive(5), 5u);
}

// PRM "Health Buffer": synd is byte 0x23D, ext_synd the 16 bits after it.
// ext_synd alone is vendor detail, no failure; synd alone stops the device.
TEST_F(Mlx5FaultTest, TheHealthSyndromeIsReadFromItsOwnByteNotFromExtSynd) {
  open_ok();
  model_->set_health_ext_syndrome(0xBEEF);
  EXPECT_TRUE(dev_->stats().ok());
  EXPECT_EQ(transmit(5), 5u);
  model_->set_health_ext_syndrome(0);
  model_->set_health_syndrome(0x1);  // the smallest: a firmware internal error
  auto stopped = dev_->stats();
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(stopped.status().message()),
              HasSubstr("health syndrome 0x1 (FW_INTERNAL_ERR"));
  dev_.reset();
  model_->set_health_syndrome(0);
  open_ok();
  model_->set_health_syndrome(0x7);
  auto stats = dev_->stats();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(stats.status().message()),
              HasSubstr("health syndrome 0x7 (DEAD_IRISC: an internal processor stopped)"));
}

}  // namespace
}  // namespace safenic
