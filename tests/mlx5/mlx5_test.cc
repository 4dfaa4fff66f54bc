// The mlx5 command interface and bring-up against the ConnectX model:
// page accounting, every command error, delivery errors, timeouts, the
// command trace.
#include <bit>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/mlx5/cmd.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/hca.h"
#include "nic/mlx5/queues.h"
#include "nic/mlx5/wqe.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"
#include "tests/mlx5/mlx5_fixture.h"

namespace safenic {
namespace {

using mlx5::CmdStatus;
using mlx5::Delivery;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST_F(Mlx5Test, BringUpGivesThePagesAskedForAndTeardownGetsThemBack) {
  for (auto profile :
       {sim::ConnectXProfile::cx4(), sim::ConnectXProfile::cx4lx(), sim::ConnectXProfile::cx5()}) {
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
  for (uint16_t opcode :
       {mlx5::ENABLE_HCA::kOpcode, mlx5::SET_ISSI::kOpcode, mlx5::QUERY_PAGES::kOpcode,
        mlx5::MANAGE_PAGES::kOpcode, mlx5::QUERY_HCA_CAP::kOpcode, mlx5::INIT_HCA::kOpcode}) {
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
  model_->fail_next_command(mlx5::QUERY_ISSI::kOpcode, CmdStatus::kBadOp, 0);
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
              HasSubstr("QUERY_HCA_CAP: the device could not take the command: delivery status 0x3 "
                        "(bad block number)"));
  model_->stop_completing(true);
  r = c.run<mlx5::QUERY_HCA_CAP>(1);  // simulated time: the 5 s pass at once
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("QUERY_HCA_CAP: no completion within 5s"));
  model_->stop_completing(false);
}

// A device that lies in its command outputs (sim::DeviceWrites).
class LyingOutputs final : public sim::DeviceWrites {
 public:
  using Edit = std::function<void(std::vector<uint8_t>&)>;
  LyingOutputs(uint16_t opcode, Edit edit) : opcode_(opcode), edit_(std::move(edit)) {}
  void command(uint16_t opcode, std::vector<uint8_t>& out, Delivery&) override {
    if (opcode == opcode_) edit_(out);
  }
  void cqe(uint32_t, uint32_t, uint64_t, uint8_t*) override {}
  void eqe(uint32_t, uint32_t, uint64_t, uint8_t*) override {}

 private:
  uint16_t opcode_;
  Edit edit_;
};

TEST_F(Mlx5Test, AHugePageRequestIsRefusedNotAllocated) {
  make();
  LyingOutputs lie(mlx5::QUERY_PAGES::kOpcode, [](std::vector<uint8_t>& out) {
    out[0x0C] = 0x7F, out[0x0D] = out[0x0E] = out[0x0F] = 0xFF;  // 2^31 - 1 pages
  });
  model_->set_device_writes(&lie);
  auto hca = mlx5::Hca::open(*fn_);
  EXPECT_EQ(hca.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(hca.status().message()), HasSubstr("asks for 2147483647 pages"));
  EXPECT_EQ(ctx_.iommu->live_regions(), 0u);
}

TEST_F(Mlx5Test, APageReturnedTwiceKeepsThePageNotReturnedAllocated) {
  make();
  auto hca = mlx5::Hca::open(*fn_);
  ASSERT_TRUE(hca.ok());
  LyingOutputs lie(mlx5::MANAGE_PAGES::kOpcode, [](std::vector<uint8_t>& out) {
    std::copy_n(out.begin() + mlx5::MANAGE_PAGES::kPas, 8,
                out.begin() + mlx5::MANAGE_PAGES::kPas + 8);
  });
  model_->set_device_writes(&lie);
  const absl::Status s = (*hca)->teardown();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("already has back"));
  EXPECT_GE((*hca)->pages_given(), 1u);  // page 1 was never named: its memory stays
  EXPECT_GT(ctx_.iommu->live_regions(), 2u);
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

// The shared layouts against the byte offsets written out in docs/connectx.md (§4,
// §5): driver and model both use them, so neither could catch a wrong one.
TEST(Mlx5LayoutTest, LayoutsPutFieldsAtTheDocumentedOffsets) {
  std::vector<uint8_t> b(0x400, 0);
  auto at = [&](size_t off, size_t n) {
    return std::vector<uint8_t>(b.begin() + off, b.begin() + off + n);
  };
  using V = std::vector<uint8_t>;
  LayoutRef<mlx5::CREATE_SQ::In>(b.data())
      .set<mlx5::CREATE_SQ::In::CQN>(0x123456)
      .set<mlx5::CREATE_SQ::In::DBR_ADDR>(0x1122334455667788)
      .set<mlx5::CREATE_SQ::In::TIS_NUM_0>(0xABCDEF)
      .set<mlx5::CREATE_SQ::In::LOG_WQ_SZ>(9)
      .set<mlx5::CREATE_SQ::In::STATE>(mlx5::kRdy);
  EXPECT_EQ(at(0x28, 4), (V{0x00, 0x12, 0x34, 0x56}));                          // sqc + 0x08: cqn
  EXPECT_EQ(at(0x60, 8), (V{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}));  // dbr at 0x60
  EXPECT_EQ(at(0x4C, 4), (V{0x00, 0xAB, 0xCD, 0xEF}));  // sqc + 0x2C: tis_num_0
  EXPECT_EQ(at(0x70, 4), (V{0x00, 0x00, 0x00, 0x09}));  // wq + 0x20: log_wq_sz[4:0]
  EXPECT_EQ(at(0x20, 4), (V{0x00, 0x10, 0x00, 0x00}));  // state[23:20]
  std::fill(b.begin(), b.end(), 0);
  LayoutRef<mlx5::CREATE_CQ::In>(b.data())
      .set<mlx5::CREATE_CQ::In::LOG_CQ_SIZE>(10)
      .set<mlx5::CREATE_CQ::In::UAR_PAGE>(8)
      .set<mlx5::CREATE_CQ::In::DBR_ADDR>(0x1000);
  EXPECT_EQ(at(0x1C, 4), (V{0x0A, 0x00, 0x00, 0x08}));        // cqc + 0x0C
  EXPECT_EQ(at(0x48, 8), (V{0, 0, 0, 0, 0, 0, 0x10, 0x00}));  // dbr_addr at 0x48
  std::fill(b.begin(), b.end(), 0);
  LayoutRef<mlx5::SET_FLOW_TABLE_ENTRY::In>(b.data())
      .set<mlx5::SET_FLOW_TABLE_ENTRY::In::GROUP_ID>(7)
      .set<mlx5::SET_FLOW_TABLE_ENTRY::In::ACTION>(mlx5::kActionForward);
  LayoutRef<mlx5::OuterHeaders>(b.data() + mlx5::SET_FLOW_TABLE_ENTRY::kMatchValue)
      .set<mlx5::OuterHeaders::DMAC_47_16>(0x0200000C)
      .set<mlx5::OuterHeaders::DMAC_15_0>(0x5A01)
      .set<mlx5::OuterHeaders::ETHERTYPE>(0x0800);
  EXPECT_EQ(at(0x44, 4), (V{0, 0, 0, 7}));                    // flow context + 0x04: group_id
  EXPECT_EQ(at(0x4C, 4), (V{0, 0, 0, 4}));                    // + 0x0C: action
  EXPECT_EQ(at(0x84, 4), (V{0, 0, 0x08, 0x00}));              // match + 0x04: ethertype
  EXPECT_EQ(at(0x88, 6), (V{0x02, 0, 0, 0x0C, 0x5A, 0x01}));  // match + 0x08: dmac
  std::fill(b.begin(), b.end(), 0);
  LayoutRef<mlx5::SendWqe>(b.data())
      .set<mlx5::SendWqe::WQE_INDEX>(0x1234)
      .set<mlx5::SendWqe::OPCODE>(mlx5::kOpcodeSend)
      .set<mlx5::SendWqe::SQN>(0x800)
      .set<mlx5::SendWqe::DS>(4)
      .set<mlx5::SendWqe::CE>(mlx5::kCeAlways)
      .set<mlx5::SendWqe::INLINE_HDR_SZ>(18);
  EXPECT_EQ(at(0x00, 12),
            (V{0x00, 0x12, 0x34, 0x0A, 0x00, 0x08, 0x00, 0x04, 0, 0, 0, 0x08}));  // Snabb's
  EXPECT_EQ(at(0x1C, 2), (V{0x00, 0x12}));  // Ethernet segment + 0x0C: inline_hdr_sz
  std::fill(b.begin(), b.end(), 0);
  LayoutRef<mlx5::Cqe>(b.data())
      .set<mlx5::Cqe::BYTE_CNT>(60)
      .set<mlx5::Cqe::WQE_COUNTER>(0x0102)
      .set<mlx5::Cqe::OPCODE>(mlx5::kCqeRespSend)
      .set<mlx5::Cqe::OWNER>(1);
  EXPECT_EQ(at(0x2C, 4), (V{0, 0, 0, 60}));
  EXPECT_EQ(at(0x3C, 4), (V{0x01, 0x02, 0x00, 0x21}));  // wqe_counter, signature, op_own
  EXPECT_EQ(mlx5::UAR_SEND_DOORBELL::offset(8), 8u * 4096 + 0x800);
  EXPECT_EQ(mlx5::UAR_EQ_DOORBELL::offset(8), 8u * 4096 + 0x48);
}

// PRM "Command Interface": with an EQ subscribed to command completion, each
// completed command also posts an EQE naming its entry; without, none.
TEST_F(Mlx5ObjectTest, CommandCompletionEventsWhenAnEqAsksForThem) {
  const uint32_t uar = number<mlx5::ALLOC_UAR>(c().run<mlx5::ALLOC_UAR>());
  eq_ = *DescriptorRing::create(fn_->dma(), 64, 64, "eq", 0, false);
  for (uint32_t i = 0; i < 64; ++i)
    LayoutRef<mlx5::Eqe>(eq_.descriptor(i)).set<mlx5::Eqe::OWNER>(1);
  number<mlx5::CREATE_EQ>(c().run<mlx5::CREATE_EQ>(
      0,
      [&](LayoutRef<mlx5::CREATE_EQ::In> in, uint8_t* raw) {
        in.set<mlx5::CREATE_EQ::In::LOG_EQ_SIZE>(6)
            .set<mlx5::CREATE_EQ::In::UAR_PAGE>(uar)
            .set<mlx5::CREATE_EQ::In::EVENT_BITMASK>(uint64_t{1} << mlx5::kEventCommand);
        mlx5::put_pas(raw, eq_);
      },
      8));
  // CREATE_EQ's own completion is the first event; ALLOC_PD's the second.
  ASSERT_TRUE(c().run<mlx5::ALLOC_PD>().ok());
  for (uint32_t i : {0u, 1u}) {
    LayoutRef<mlx5::Eqe> e(eq_.descriptor(i));
    ASSERT_EQ(e.get<mlx5::Eqe::OWNER>(), 0u) << i;  // written on the first pass
    EXPECT_EQ(e.get<mlx5::Eqe::TYPE>(), mlx5::kEventCommand);
    EXPECT_EQ(std::popcount(e.get<mlx5::Eqe::CMD_VECTOR>()), 1);  // the one entry used
  }
  EXPECT_EQ(LayoutRef<mlx5::Eqe>(eq_.descriptor(2)).get<mlx5::Eqe::OWNER>(),
            1u);  // one per command
  // A page request reaches only EQs subscribed to it: this one is not.
  model_->request_pages(4);
  EXPECT_EQ(LayoutRef<mlx5::Eqe>(eq_.descriptor(2)).get<mlx5::Eqe::OWNER>(), 1u);
}

TEST_F(Mlx5ObjectTest, ObjectCommandsBeforeInitHcaAreRefused) {
  ASSERT_TRUE(hca_->teardown().ok());
  auto cmdq = mlx5::CommandQueue::create(*fn_, **fn_->bar(0));
  ASSERT_TRUE((*cmdq)->run<mlx5::ENABLE_HCA>().ok());
  expect_failure((*cmdq)->run<mlx5::ALLOC_PD>().status(), "ALLOC_PD", "BAD_SYS_STATE (0x4)");
}

// The model's dispatch comes from the command list: every command in it is
// found, and its fixed input and output sizes are checked before anything
// else (nothing changes). Names come from the same list.
TEST_F(Mlx5ObjectTest, EveryListedCommandIsNamedAndSizeCheckedByTheModel) {
  const size_t objects = model_->live_objects();
  int commands = 0;
  mlx5::for_each_command(mlx5::Commands{}, [&](auto cmd) {
    using Cmd = decltype(cmd);
    const std::string name(Cmd::kName);
    EXPECT_EQ(mlx5::command_name(Cmd::kOpcode), name);
    std::vector<uint8_t> in(Cmd::In::kSize - 4, 0);
    LayoutRef<mlx5::CmdIn>(in.data()).set<mlx5::CmdIn::OPCODE>(Cmd::kOpcode);
    expect_failure(c().execute(in, Cmd::Out::kSize).status(), name, "BAD_INPUT_LEN (0x50)");
    in.resize(Cmd::In::kSize, 0);
    expect_failure(c().execute(in, Cmd::Out::kSize - 4).status(), name, "BAD_OUTPUT_LEN (0x51)");
    ++commands;
    return false;
  });
  EXPECT_EQ(commands, 44);
  EXPECT_EQ(model_->live_objects(), objects);
  EXPECT_EQ(mlx5::command_name(0x109), "opcode 0x109");  // SET_HCA_CAP: not one safenic sends
  std::vector<uint8_t> unknown(0x10, 0);
  LayoutRef<mlx5::CmdIn>(unknown.data()).set<mlx5::CmdIn::OPCODE>(0x109);
  expect_failure(c().execute(unknown, 0x10).status(), "opcode 0x109", "BAD_OP (0x2)");
  expect_clean();
}

// What close() undoes is derived from the creating command (UndoneBy):
// run_undo() takes a record it made, and refuses an opcode that undoes nothing.
TEST_F(Mlx5ObjectTest, RunUndoTakesWhatTheCreatingCommandMade) {
  const size_t objects = model_->live_objects();
  const uint32_t td = number<mlx5::ALLOC_TRANSPORT_DOMAIN>(c().run<mlx5::ALLOC_TRANSPORT_DOMAIN>());
  const uint32_t tis = number<mlx5::CREATE_TIS>(
      c().run<mlx5::CREATE_TIS>(0, [&](LayoutRef<mlx5::CREATE_TIS::In> in, uint8_t*) {
        in.set<mlx5::CREATE_TIS::In::TRANSPORT_DOMAIN>(td);
      }));
  EXPECT_EQ(model_->live_objects(), objects + 2);
  const mlx5::Undo undo_tis = mlx5::undo_of<mlx5::CREATE_TIS>(tis);
  const mlx5::Undo undo_td = mlx5::undo_of<mlx5::ALLOC_TRANSPORT_DOMAIN>(td);
  EXPECT_EQ(undo_tis.opcode, mlx5::DESTROY_TIS::kOpcode);
  EXPECT_EQ(undo_td.opcode, mlx5::DEALLOC_TRANSPORT_DOMAIN::kOpcode);
  expect_failure(mlx5::run_undo(c(), undo_td), "DEALLOC_TRANSPORT_DOMAIN", "RESOURCE_BUSY (0x6)");
  ASSERT_TRUE(mlx5::run_undo(c(), undo_tis).ok());
  ASSERT_TRUE(mlx5::run_undo(c(), undo_td).ok());
  EXPECT_EQ(model_->live_objects(), objects);
  expect_failure(mlx5::run_undo(c(), undo_tis), "DESTROY_TIS",
                 "BAD_RESOURCE (0x5)");  // gone already
  const absl::Status s = mlx5::run_undo(c(), {mlx5::CREATE_TIS::kOpcode, 1});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("CREATE_TIS does not undo anything"));
  expect_clean();
}

TEST_F(Mlx5ObjectTest, ASendQueueOnAnUnknownCqIsABadResource) {
  mlx5::QueueContext q = context();
  auto sq = c().run<mlx5::CREATE_SQ>(0, [&](LayoutRef<mlx5::CREATE_SQ::In> in, uint8_t*) {
    in.set<mlx5::CREATE_SQ::In::WQ_TYPE>(mlx5::kWqCyclic)
        .set<mlx5::CREATE_SQ::In::CQN>(0x999)
        .set<mlx5::CREATE_SQ::In::PD>(q.pd);
  });
  expect_failure(sq.status(), "CREATE_SQ", "BAD_RESOURCE (0x5)");
  auto cq = c().run<mlx5::CREATE_CQ>(0, [&](LayoutRef<mlx5::CREATE_CQ::In> in, uint8_t*) {
    in.set<mlx5::CREATE_CQ::In::UAR_PAGE>(q.uar).set<mlx5::CREATE_CQ::In::C_EQN>(77);
  });
  expect_failure(cq.status(), "CREATE_CQ", "BAD_RESOURCE (0x5)");
  auto tir = c().run<mlx5::CREATE_TIR>();  // direct, to RQ 0 in domain 0: neither exists
  expect_failure(tir.status(), "CREATE_TIR", "BAD_RESOURCE (0x5)");
  std::vector<uint8_t> short_input(0x20, 0);  // CREATE_SQ is 0x110 bytes and more
  LayoutRef<mlx5::CmdIn>(short_input.data()).set<mlx5::CmdIn::OPCODE>(mlx5::CREATE_SQ::kOpcode);
  expect_failure(c().execute(short_input, 0x10).status(), "CREATE_SQ", "BAD_INPUT_LEN (0x50)");
  expect_clean();
}

TEST_F(Mlx5ObjectTest, QueuesFollowTheStateMachineAndBusyObjectsStay) {
  mlx5::QueueContext q = context();
  mlx5::SendQueue sq;
  ASSERT_TRUE(sq.create(q, 64, "sq").ok());  // CQ, SQ, RST -> RDY
  ASSERT_EQ(undo_.size(), 2u);
  const uint32_t cqn = undo_[0].number, sqn = undo_[1].number;
  EXPECT_EQ(model_->wq_state(sqn), mlx5::kRdy);
  auto modify = [&](mlx5::WqState from, mlx5::WqState to) {
    return c()
        .run<mlx5::MODIFY_SQ>(0,
                              [&](LayoutRef<mlx5::ModifyWqIn> in, uint8_t*) {
                                in.set<mlx5::ModifyWqIn::NUMBER>(sqn)
                                    .set<mlx5::ModifyWqIn::CURRENT_STATE>(from)
                                    .set<mlx5::ModifyWqIn::NEXT_STATE>(to);
                              })
        .status();
  };
  expect_failure(modify(mlx5::kRst, mlx5::kRdy), "MODIFY_SQ", "BAD_RES_STATE (0x9)");  // it is RDY
  ASSERT_TRUE(modify(mlx5::kRdy, mlx5::kErr).ok());
  expect_failure(modify(mlx5::kErr, mlx5::kRdy), "MODIFY_SQ", "BAD_RES_STATE (0x9)");  // via RST
  ASSERT_TRUE(modify(mlx5::kErr, mlx5::kRst).ok());
  ASSERT_TRUE(modify(mlx5::kRst, mlx5::kRdy).ok());
  auto destroy = [&](uint16_t opcode, uint32_t n) { return mlx5::run_undo(c(), {opcode, n}); };
  expect_failure(destroy(mlx5::DESTROY_CQ::kOpcode, cqn), "DESTROY_CQ", "RESOURCE_BUSY (0x6)");
  expect_failure(destroy(mlx5::DEALLOC_UAR::kOpcode, q.uar), "DEALLOC_UAR", "RESOURCE_BUSY (0x6)");
  ASSERT_TRUE(destroy(mlx5::DESTROY_SQ::kOpcode, sqn).ok());
  ASSERT_TRUE(destroy(mlx5::DESTROY_CQ::kOpcode, cqn).ok());
  expect_failure(destroy(mlx5::DESTROY_SQ::kOpcode, sqn), "DESTROY_SQ", "BAD_RESOURCE (0x5)");
  expect_clean();
}

TEST_F(Mlx5ObjectTest, DoorbellsThatDisagreeWithTheRecordOrTheUarAreReported) {
  mlx5::QueueContext q = context();
  mlx5::SendQueue sq;
  ASSERT_TRUE(sq.create(q, 64, "sq").ok());
  const uint32_t sqn = undo_[1].number;
  Bar& bar = **fn_->bar(0);
  // WQE 5 rung while the doorbell record still says nothing was posted.
  bar.write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(uint64_t{5u << 8 | mlx5::kOpcodeSend} << 32 |
                                                   sqn << 8 | 4),
            q.uar);
  EXPECT_THAT(
      ctx_.log->to_string(),
      HasSubstr("doorbell names WQE 5 of ds 4, but the doorbell record's send counter is 0"));
  ctx_.log->clear();
  bar.write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(uint64_t{sqn} << 8),
            q.uar + 1);  // never allocated
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("UAR page 9, which is not allocated"));
  ctx_.log->clear();
  bar.write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(uint64_t{0x77} << 8), q.uar);
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("send doorbell for SQ 0x77, which does not exist"));
  ctx_.log->clear();
}

TEST_F(Mlx5ObjectTest, FlowTablesCheckGroupsEntriesAndLevels) {
  using mlx5::CREATE_FLOW_GROUP;
  using mlx5::SET_FLOW_TABLE_ENTRY;
  auto table = [&](uint32_t level) {
    return number<mlx5::CREATE_FLOW_TABLE>(
        c().run<mlx5::CREATE_FLOW_TABLE>(0, [&](auto in, uint8_t*) {
          in.template set<mlx5::CREATE_FLOW_TABLE::In::LEVEL>(level)
              .template set<mlx5::CREATE_FLOW_TABLE::In::LOG_SIZE>(2);
        }));
  };
  const uint32_t root = table(1), low = table(0);
  auto group = [&](uint32_t start, uint32_t end) {
    return c().run<CREATE_FLOW_GROUP>(0, [&](LayoutRef<CREATE_FLOW_GROUP::In> in, uint8_t* raw) {
      in.set<CREATE_FLOW_GROUP::In::TABLE_ID>(root)
          .set<CREATE_FLOW_GROUP::In::START_FLOW_INDEX>(start)
          .set<CREATE_FLOW_GROUP::In::END_FLOW_INDEX>(end)
          .set<CREATE_FLOW_GROUP::In::MATCH_CRITERIA_ENABLE>(mlx5::kMatchOuterHeaders);
      LayoutRef<mlx5::OuterHeaders>(raw + CREATE_FLOW_GROUP::kMatchCriteria)
          .set<mlx5::OuterHeaders::ETHERTYPE>(0xFFFF);
    });
  };
  const uint32_t g = number<CREATE_FLOW_GROUP>(group(0, 1));
  expect_failure(group(1, 2).status(), "CREATE_FLOW_GROUP", "BAD_PARAM (0x3)");  // overlaps
  expect_failure(group(2, 9).status(), "CREATE_FLOW_GROUP", "BAD_PARAM (0x3)");  // past the table
  auto entry = [&](uint32_t index, uint32_t dest_type, uint32_t dest, auto value) {
    return c()
        .run<SET_FLOW_TABLE_ENTRY>(
            0,
            [&](LayoutRef<SET_FLOW_TABLE_ENTRY::In> in, uint8_t* raw) {
              in.set<SET_FLOW_TABLE_ENTRY::In::TABLE_ID>(root)
                  .set<SET_FLOW_TABLE_ENTRY::In::FLOW_INDEX>(index)
                  .set<SET_FLOW_TABLE_ENTRY::In::GROUP_ID>(g)
                  .set<SET_FLOW_TABLE_ENTRY::In::ACTION>(mlx5::kActionForward)
                  .set<SET_FLOW_TABLE_ENTRY::In::DESTINATION_LIST_SIZE>(1);
              value(LayoutRef<mlx5::OuterHeaders>(raw + SET_FLOW_TABLE_ENTRY::kMatchValue));
              LayoutRef<mlx5::FlowDestination>(raw + SET_FLOW_TABLE_ENTRY::kDestinations)
                  .set<mlx5::FlowDestination::TYPE>(dest_type)
                  .set<mlx5::FlowDestination::ID>(dest);
            },
            8)
        .status();
  };
  auto ipv4 = [](LayoutRef<mlx5::OuterHeaders> h) { h.set<mlx5::OuterHeaders::ETHERTYPE>(0x0800); };
  auto udp = [](LayoutRef<mlx5::OuterHeaders> h) { h.set<mlx5::OuterHeaders::IP_PROTOCOL>(17); };
  // A lower level is not a destination; a value beyond the group's criteria
  // is refused; so is a TIR that does not exist.
  expect_failure(entry(0, mlx5::kDestFlowTable, low, ipv4), "SET_FLOW_TABLE_ENTRY",
                 "BAD_PARAM (0x3)");
  expect_failure(entry(0, mlx5::kDestFlowTable, root, udp), "SET_FLOW_TABLE_ENTRY",
                 "BAD_PARAM (0x3)");
  expect_failure(entry(0, mlx5::kDestTir, 0x42, ipv4), "SET_FLOW_TABLE_ENTRY",
                 "BAD_RESOURCE (0x5)");
  const uint32_t high = table(2);
  expect_failure(entry(2, mlx5::kDestFlowTable, high, ipv4), "SET_FLOW_TABLE_ENTRY",
                 "BAD_PARAM (0x3)");  // index 2 is outside the group (0-1)
  EXPECT_TRUE(entry(1, mlx5::kDestFlowTable, high, ipv4).ok());
  // Criteria the group does not enable, or on bits the model does not parse
  // (first_prio), are refused rather than silently never matching.
  auto criteria = [&](uint32_t start, uint32_t enable, auto fill) {
    return c()
        .run<CREATE_FLOW_GROUP>(0,
                                [&](LayoutRef<CREATE_FLOW_GROUP::In> in, uint8_t* raw) {
                                  in.set<CREATE_FLOW_GROUP::In::TABLE_ID>(root)
                                      .set<CREATE_FLOW_GROUP::In::START_FLOW_INDEX>(start)
                                      .set<CREATE_FLOW_GROUP::In::END_FLOW_INDEX>(start)
                                      .set<CREATE_FLOW_GROUP::In::MATCH_CRITERIA_ENABLE>(enable);
                                  fill(raw + CREATE_FLOW_GROUP::kMatchCriteria);
                                })
        .status();
  };
  auto vlan = [](uint8_t* m) {
    LayoutRef<mlx5::OuterHeaders>(m)
        .set<mlx5::OuterHeaders::CVLAN_TAG>(1)
        .set<mlx5::OuterHeaders::FIRST_VID>(0xFFF);
  };
  expect_failure(criteria(2, 0, vlan), "CREATE_FLOW_GROUP", "BAD_PARAM (0x3)");
  expect_failure(criteria(2, mlx5::kMatchOuterHeaders, [](uint8_t* m) { m[0x0C + 2] = 0xE0; }),
                 "CREATE_FLOW_GROUP", "BAD_PARAM (0x3)");  // first_prio
  expect_failure(criteria(2, mlx5::kMatchOuterHeaders, [](uint8_t* m) { m[0x40] = 1; }),
                 "CREATE_FLOW_GROUP", "BAD_PARAM (0x3)");  // misc parameters: not enabled
  EXPECT_TRUE(criteria(2, mlx5::kMatchOuterHeaders, vlan).ok());
  expect_clean();
}

TEST_F(Mlx5ObjectTest, PortRegistersAndTheVport) {
  auto paos = c().run<mlx5::RegisterAccess<mlx5::PAOS>>(
      mlx5::kRegisterRead, [](LayoutRef<mlx5::PAOS> r, uint8_t*) {
        r.set<mlx5::PAOS::REGISTER_ID>(mlx5::PAOS::kId).set<mlx5::PAOS::LOCAL_PORT>(1);
      });
  ASSERT_TRUE(paos.ok()) << paos.status();
  EXPECT_EQ(paos->get<mlx5::PAOS::ADMIN_STATUS>(), mlx5::kPortDown);  // until a driver brings it up
  EXPECT_EQ(paos->get<mlx5::PAOS::OPER_STATUS>(), mlx5::kPortDown);
  auto port2 = c().run<mlx5::RegisterAccess<mlx5::PAOS>>(
      mlx5::kRegisterRead, [](LayoutRef<mlx5::PAOS> r, uint8_t*) {
        r.set<mlx5::PAOS::REGISTER_ID>(mlx5::PAOS::kId).set<mlx5::PAOS::LOCAL_PORT>(2);
      });
  expect_failure(port2.status(), "ACCESS_REGISTER", "BAD_PARAM (0x3)");  // one port
  auto vport = c().run<mlx5::QUERY_NIC_VPORT_CONTEXT>();
  ASSERT_TRUE(vport.ok());
  EXPECT_EQ(vport->get<mlx5::QUERY_NIC_VPORT_CONTEXT::Out::MAC_47_32>(), 0x0200u);
  EXPECT_EQ(vport->get<mlx5::QUERY_NIC_VPORT_CONTEXT::Out::MAC_31_0>(), 0x0000c501u);
  // The allowed unicast list: up to 2^log_max_current_uc_list unicast entries.
  EXPECT_EQ(hca_->caps().log_max_uc_list, sim::ConnectXProfile::cx5().log_max_uc_list);
  auto allow = [&](uint32_t type, uint32_t n, uint8_t first_byte) {
    using In = mlx5::MODIFY_NIC_VPORT_CONTEXT::In;
    return c()
        .run<mlx5::MODIFY_NIC_VPORT_CONTEXT>(
            0,
            [&](LayoutRef<In> in, uint8_t* raw) {
              in.set<In::FIELD_SELECT>(mlx5::kSelectAddressList)
                  .set<In::ALLOWED_LIST_TYPE>(type)
                  .set<In::ALLOWED_LIST_SIZE>(n);
              for (uint32_t i = 0; i < n; ++i) raw[mlx5::kAllowedList + 8 * i + 2] = first_byte;
            },
            8 * size_t{n})
        .status();
  };
  EXPECT_TRUE(allow(mlx5::kAllowedUnicast, 128, 0x02).ok());
  expect_failure(allow(mlx5::kAllowedUnicast, 129, 0x02), "MODIFY_NIC_VPORT_CONTEXT",
                 "BAD_PARAM (0x3)");
  expect_failure(allow(1, 1, 0x01), "MODIFY_NIC_VPORT_CONTEXT",
                 "BAD_PARAM (0x3)");  // multicast list
  expect_failure(allow(mlx5::kAllowedUnicast, 1, 0x01), "MODIFY_NIC_VPORT_CONTEXT",
                 "BAD_PARAM (0x3)");
  auto state = c().run<mlx5::QUERY_VPORT_STATE>();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->get<mlx5::QUERY_VPORT_STATE::Out::STATE>(), 0u);  // down
  auto special = c().run<mlx5::QUERY_SPECIAL_CONTEXTS>();
  ASSERT_TRUE(special.ok());
  EXPECT_EQ(special->get<mlx5::QUERY_SPECIAL_CONTEXTS::Out::RESD_LKEY>(), sim::kModelResdLkey);
  expect_clean();
}

}  // namespace
}  // namespace safenic
