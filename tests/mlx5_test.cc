// The mlx5 command interface and bring-up against the ConnectX model:
// page accounting, every command error, delivery errors, timeouts, the
// command trace.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/mlx5/cmd.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/hca.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"

namespace safenic {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using mlx5::CmdStatus;
using mlx5::Delivery;

class Mlx5Test : public ::testing::Test {
 protected:
  void make(sim::ConnectXProfile profile = sim::ConnectXProfile::cx5()) {
    model_ = std::make_shared<sim::ConnectXModel>(ctx_, profile);
    fn_ = std::make_unique<sim::SimulatedFunction>(model_, ctx_, "sim:cx5#0");
  }
  void expect_clean() { EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string(); }

  sim::SimContext ctx_;
  std::shared_ptr<sim::ConnectXModel> model_;
  std::unique_ptr<sim::SimulatedFunction> fn_;
};

TEST_F(Mlx5Test, BringUpGivesThePagesAskedForAndTeardownGetsThemBack) {
  for (auto profile : {sim::ConnectXProfile::cx4(), sim::ConnectXProfile::cx4lx(),
                       sim::ConnectXProfile::cx5()}) {
    make(profile);
    auto hca = mlx5::Hca::open(*fn_);
    ASSERT_TRUE(hca.ok()) << hca.status();
    EXPECT_TRUE(model_->initialized());
    const size_t asked = profile.boot_pages + profile.init_pages + profile.regular_pages;
    EXPECT_EQ((*hca)->pages_given(), asked);
    EXPECT_EQ(model_->pages_held(), asked);
    EXPECT_TRUE((*hca)->caps().ethernet);
    EXPECT_EQ((*hca)->caps().log_max_cq_size, profile.log_max_cq_size);
    ASSERT_TRUE((*hca)->teardown().ok());
    EXPECT_EQ(model_->pages_held(), 0u);
    EXPECT_EQ((*hca)->pages_given(), 0u);
    EXPECT_FALSE(model_->enabled());
    hca->reset();
    EXPECT_EQ(ctx_.iommu->live_regions(), 0u);  // pages, queue and mailboxes all freed
    expect_clean();
  }
}

TEST_F(Mlx5Test, TheTraceShowsEveryCommandEncodedPerThePrm) {
  make();
  std::vector<std::string> trace;
  auto hca = mlx5::Hca::open(*fn_, [&](const std::string& s) { trace.push_back(s); });
  ASSERT_TRUE(hca.ok()) << hca.status();
  ASSERT_GE(trace.size(), 2u);
  // ENABLE_HCA is opcode 0x104 in the top 16 bits of the first big-endian word.
  EXPECT_THAT(trace[0], AllOf(HasSubstr("mlx5 command ENABLE_HCA input (16 bytes)"),
                              HasSubstr("  0000: 01040000 00000000 00000000 00000000")));
  EXPECT_THAT(trace[1], HasSubstr("ENABLE_HCA output"));
  // MANAGE_PAGES give with 64 boot pages: 16 + 512 bytes of input, in a mailbox.
  bool saw_manage = false;
  for (const std::string& t : trace) {
    if (t.find("MANAGE_PAGES input (528 bytes)") != std::string::npos) saw_manage = true;
  }
  EXPECT_TRUE(saw_manage);
}

// Every command of the bring-up, failing, gives a Status that names it with
// its status and syndrome, and leaves nothing behind.
TEST_F(Mlx5Test, EveryFailedCommandIsNamedWithStatusAndSyndrome) {
  for (uint16_t opcode : {mlx5::op::kEnableHca, mlx5::op::kSetIssi, mlx5::op::kQueryPages,
                          mlx5::op::kManagePages, mlx5::op::kQueryHcaCap, mlx5::op::kInitHca}) {
    make();
    model_->fail_next_command(opcode, CmdStatus::kBadParam, 0x5AFE);
    auto hca = mlx5::Hca::open(*fn_);
    ASSERT_FALSE(hca.ok()) << mlx5::command_name(opcode);
    EXPECT_THAT(std::string(hca.status().message()),
                AllOf(HasSubstr(mlx5::command_name(opcode) + " failed"),
                      HasSubstr("status BAD_PARAM (0x3)"), HasSubstr("syndrome 0x5afe")));
    hca = absl::UnknownError("");
    EXPECT_EQ(model_->pages_held(), 0u) << mlx5::command_name(opcode);
    EXPECT_EQ(ctx_.iommu->live_regions(), 0u) << mlx5::command_name(opcode);
  }
}

TEST_F(Mlx5Test, FirmwareWithoutIssiCommandsIsFine) {
  make();
  model_->fail_next_command(mlx5::op::kQueryIssi, CmdStatus::kBadOp, 0);
  auto hca = mlx5::Hca::open(*fn_);
  EXPECT_TRUE(hca.ok()) << hca.status();
}

TEST_F(Mlx5Test, InitHcaIsRefusedUntilTheFirmwareHasItsPages) {
  make();
  auto bar = fn_->bar(0);
  auto cmdq = mlx5::CommandQueue::create(*fn_, **bar);
  ASSERT_TRUE(cmdq.ok());
  ASSERT_TRUE((*cmdq)->run<mlx5::ENABLE_HCA>().ok());
  auto init = (*cmdq)->run<mlx5::INIT_HCA>();
  EXPECT_THAT(std::string(init.status().message()),
              HasSubstr("INIT_HCA failed: status BAD_SYS_STATE (0x4)"));
}

TEST_F(Mlx5Test, DeliveryErrorsAndTimeoutsAreClear) {
  make();
  auto hca = mlx5::Hca::open(*fn_);
  ASSERT_TRUE(hca.ok());
  mlx5::CommandQueue& c = (*hca)->cmdq();
  model_->fail_next_delivery(Delivery::kBadBlockNumber);
  auto r = c.run<mlx5::QUERY_HCA_CAP>(1);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("QUERY_HCA_CAP: the device could not take the command: delivery status 0x3 (bad block number)"));
  model_->stop_completing(true);
  r = c.run<mlx5::QUERY_HCA_CAP>(1);  // simulated time: the 5 s pass at once
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("QUERY_HCA_CAP: no completion within 5s"));
  model_->stop_completing(false);
}

TEST_F(Mlx5Test, FirmwareThatNeverFinishesInitializingIsAClearError) {
  make();
  model_->stay_initializing(true);
  auto hca = mlx5::Hca::open(*fn_);
  EXPECT_EQ(hca.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(hca.status().message()), HasSubstr("firmware still initializing"));
}

// A hand-made (buggy) driver: the model answers malformed entries with the
// delivery status the PRM defines.
class RawCommandTest : public Mlx5Test {
 protected:
  void SetUp() override {
    make();
    bar_ = *fn_->bar(0);
    queue_ = *fn_->dma().allocate(4096, "cmdq");
    mailboxes_ = *fn_->dma().allocate(4096, "mailboxes");
    bar_->write(RegisterValue<mlx5::CMDQ_ADDR_H>(static_cast<uint32_t>(queue_.iova() >> 32)));
    bar_->write(RegisterValue<mlx5::CMDQ_ADDR_L_SZ>(static_cast<uint32_t>(queue_.iova())));
  }
  // An ENABLE_HCA-shaped entry with a 500-byte input (one mailbox), token 9.
  LayoutRef<mlx5::CmdEntry> entry() {
    LayoutRef<mlx5::CmdEntry> e(queue_.data());
    e.zero();
    e.set<mlx5::CmdEntry::TYPE>(mlx5::kCmdTypePcie)
        .set<mlx5::CmdEntry::INPUT_LENGTH>(500)
        .set<mlx5::CmdEntry::INPUT_MAILBOX>(mailboxes_.iova())
        .set<mlx5::CmdEntry::OUTPUT_LENGTH>(16)
        .set<mlx5::CmdEntry::TOKEN>(9);
    queue_.data()[mlx5::kCmdInlineIn] = 0x01;
    queue_.data()[mlx5::kCmdInlineIn + 1] = 0x04;
    LayoutRef<mlx5::Mailbox>(mailboxes_.data())
        .set<mlx5::Mailbox::BLOCK_NUMBER>(0)
        .set<mlx5::Mailbox::TOKEN>(9)
        .set<mlx5::Mailbox::NEXT>(0);
    return e;
  }
  uint8_t post(LayoutRef<mlx5::CmdEntry> e) {
    e.set<mlx5::CmdEntry::OWNER, 1>();
    bar_->write(RegisterValue<mlx5::CMD_DBELL>(1));
    EXPECT_FALSE(e.is_set<mlx5::CmdEntry::OWNER>());
    return e.get<mlx5::CmdEntry::STATUS>();
  }
  Bar* bar_ = nullptr;
  DmaRegion queue_, mailboxes_;
};

TEST_F(RawCommandTest, WellFormedEntriesAreDelivered) { EXPECT_EQ(post(entry()), 0); }

TEST_F(RawCommandTest, MalformedEntriesGetTheirDeliveryStatus) {
  auto e = entry();
  LayoutRef<mlx5::Mailbox>(mailboxes_.data()).set<mlx5::Mailbox::BLOCK_NUMBER>(1);
  EXPECT_EQ(post(e), static_cast<uint8_t>(Delivery::kBadBlockNumber));
  e = entry();
  LayoutRef<mlx5::Mailbox>(mailboxes_.data()).set<mlx5::Mailbox::TOKEN>(8);
  EXPECT_EQ(post(e), static_cast<uint8_t>(Delivery::kTokenError));
  e = entry();
  e.set<mlx5::CmdEntry::TYPE>(1);
  EXPECT_EQ(post(e), static_cast<uint8_t>(Delivery::kBadCommandType));
  e = entry();
  e.set<mlx5::CmdEntry::INPUT_LENGTH>(4);
  EXPECT_EQ(post(e), static_cast<uint8_t>(Delivery::kInputLengthError));
  e = entry();
  e.set<mlx5::CmdEntry::INPUT_MAILBOX>(mailboxes_.iova() + 64);  // not 1 KiB aligned
  EXPECT_EQ(post(e), static_cast<uint8_t>(Delivery::kBadInputPointer));
  e = entry();
  e.set<mlx5::CmdEntry::INPUT_MAILBOX>(0x1000);  // nothing mapped there
  EXPECT_EQ(post(e), static_cast<uint8_t>(Delivery::kBadInputPointer));
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("ConnectX input mailbox read"));
}

}  // namespace
}  // namespace safenic
