// The ConnectX model's send queue driven by hand-made WQEs (PRM "Send WQE";
// wqe.h): what it sends, and the malformed WQEs, doorbells and queue states
// it refuses and reports, none of which the driver would ever produce.
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/mlx5/wqe.h"
#include "sim/harness/frames.h"
#include "tests/mlx5/mlx5_fixture.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

// A hand-made SQ (the commands a driver sends) and its CQ, to post WQEs the
// driver never would.
class RawSendQueueTest : public Mlx5ObjectTest {
 protected:
  void open_sq(uint32_t min_inline, bool rlkey = true) {
    if (q_.cmdq == nullptr) q_ = context();  // one UAR, EQ, PD and TIS for every SQ
    ASSERT_TRUE(cq_.create(q_, 64, "cq").ok());
    ring_ = *DescriptorRing::create(fn_->dma(), 64, mlx5::kWqeBasicBlock, "sq",
                                    mlx5::kDoorbellRecordSize);
    auto out = c().run<mlx5::CREATE_SQ>(
        0,
        [&](LayoutRef<mlx5::CREATE_SQ::In> in, uint8_t* raw) {
          using In = mlx5::CREATE_SQ::In;
          in.set<In::RLKEY>(rlkey)
              .set<In::FLUSH_IN_ERROR_EN>(1)
              .set<In::MIN_WQE_INLINE_MODE>(min_inline)
              .set<In::STATE>(mlx5::kRst)
              .set<In::TIS_LST_SZ>(1)
              .set<In::TIS_NUM_0>(q_.tis)
              .set<In::CQN>(cq_.cqn)
              .set<In::WQ_TYPE>(mlx5::kWqCyclic)
              .set<In::PD>(q_.pd)
              .set<In::UAR_PAGE>(q_.uar)
              .set<In::DBR_ADDR>(ring_.extra_iova())
              .set<In::LOG_WQ_STRIDE>(6)
              .set<In::LOG_WQ_SZ>(ring_.log2_size());
          mlx5::put_pas(raw, ring_);
        },
        8);
    ASSERT_TRUE(out.ok()) << out.status();
    sqn_ = out->get<mlx5::CREATE_SQ::Out::NUMBER>();
    ASSERT_TRUE(c().run<mlx5::MODIFY_SQ>(0,
                                         [&](LayoutRef<mlx5::ModifyWqIn> in, uint8_t*) {
                                           in.set<mlx5::ModifyWqIn::NUMBER>(sqn_)
                                               .set<mlx5::ModifyWqIn::CURRENT_STATE>(mlx5::kRst)
                                               .set<mlx5::ModifyWqIn::NEXT_STATE>(mlx5::kRdy);
                                         })
                    .ok());
    if (pool_ == nullptr) pool_ = *Mempool::create({.buffers = 8, .tag = "frames"}, fn_->dma());
  }
  // An ENHANCED_MPSW WQE at block 0 with one data segment per frame of `sizes`.
  LayoutRef<mlx5::SendWqe> empw(const std::vector<uint32_t>& sizes) {
    uint8_t* w = ring_.descriptor(0);
    std::memset(w, 0, 4 * mlx5::kWqeBasicBlock);
    const uint32_t ds = 2 + static_cast<uint32_t>(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) {
      frames_.push_back(pool_->alloc());
      EXPECT_TRUE(frames_.back().resize(sizes[i]).ok());
      sim::write_udp_frame(frames_.back().bytes(), {}, i);
      LayoutRef<mlx5::DataSegment>(w + mlx5::kEmpwFirstSegment + 16 * i)
          .set<mlx5::DataSegment::BYTE_COUNT>(sizes[i])
          .set<mlx5::DataSegment::LKEY>(q_.lkey)
          .set<mlx5::DataSegment::ADDR>(frames_.back().iova());
    }
    return LayoutRef<mlx5::SendWqe>(w)
        .set<mlx5::SendWqe::OPCODE>(mlx5::kOpcodeEnhancedMpsw)
        .set<mlx5::SendWqe::SQN>(sqn_)
        .set<mlx5::SendWqe::DS>(ds)
        .set<mlx5::SendWqe::CE>(mlx5::kCeAlways);
  }
  // Posts blocks [0, posted) and rings with the WQE at block 0.
  void ring(uint32_t posted) {
    LayoutRef<mlx5::WqDoorbell>(ring_.extra()).set<mlx5::WqDoorbell::SEND_COUNTER>(posted);
    const uint64_t ctrl =
        uint64_t{LayoutRef<mlx5::SendWqe>(ring_.descriptor(0)).get<mlx5::SendWqe::CTRL0>()} << 32 |
        LayoutRef<mlx5::SendWqe>(ring_.descriptor(0)).get<mlx5::SendWqe::CTRL1>();
    (*fn_->bar(0))->write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(ctrl), q_.uar);
  }
  LayoutRef<mlx5::Cqe> cqe() { return LayoutRef<mlx5::Cqe>(cq_.ring.descriptor(0)); }
  void TearDown() override { frames_.clear(); }
  // One ENHANCED_MPSW WQE of frames of `sizes` sent while the port is down.
  void expect_link_down_drops(const std::vector<uint32_t>& sizes) {
    open_sq(0);
    sim::TesterPort tester(true);
    sim::connect(model_->port(), tester);
    ASSERT_FALSE(model_->link_up());  // the port was never brought up
    empw(sizes);
    ring((2 + static_cast<uint32_t>(sizes.size()) + 3) / 4);
    expect_clean();
    EXPECT_EQ(tester.received(), 0u);
    EXPECT_EQ(model_->drops().link_down, sizes.size());
    EXPECT_EQ(model_->send_wqes(mlx5::kOpcodeEnhancedMpsw), 1u);
    EXPECT_EQ(cqe().get<mlx5::Cqe::OPCODE>(), mlx5::kCqeReq);
  }

  mlx5::QueueContext q_{};
  mlx5::CompletionQueue cq_;
  DescriptorRing ring_;
  uint32_t sqn_ = 0;
  MempoolPtr pool_;
  std::vector<Packet> frames_;
};

TEST_F(RawSendQueueTest, AnEnhancedMpswWqeSendsAFramePerSegmentAndCompletesOnce) {
  open_sq(0);
  sim::TesterPort tester(true);
  sim::connect(model_->port(), tester);
  using Paos = mlx5::PAOS;  // the port up, as a driver does it
  ASSERT_TRUE(c().run<mlx5::RegisterAccess<Paos>>(
                     mlx5::kRegisterWrite,
                     [](LayoutRef<Paos> r, uint8_t*) {
                       r.set<Paos::REGISTER_ID>(Paos::kId).set<Paos::LOCAL_PORT>(1);
                       r.set<Paos::ADMIN_STATUS>(mlx5::kPortUp).set<Paos::ASE>(1);
                     })
                  .ok());
  ASSERT_TRUE(model_->link_up());
  empw({100, 60, 1500, 42});  // ds 6: two blocks
  ring(2);
  expect_clean();
  ASSERT_EQ(tester.received(), 4u);
  EXPECT_EQ(tester.frames()[2].size(), 1500u);
  EXPECT_EQ(sim::frame_seq(tester.frames()[2]), 2u);
  EXPECT_EQ(tester.frames()[3].size(), 60u);  // padded by the MAC
  EXPECT_EQ(cqe().get<mlx5::Cqe::OPCODE>(), mlx5::kCqeReq);
  EXPECT_EQ(cqe().get<mlx5::Cqe::WQE_COUNTER>(), 0u);
  EXPECT_EQ(cqe().get<mlx5::Cqe::SOP_DROP_QPN>() >> 24, mlx5::kOpcodeEnhancedMpsw);
  EXPECT_EQ(LayoutRef<mlx5::Cqe>(cq_.ring.descriptor(1)).get<mlx5::Cqe::OWNER>(), 1u)
      << "one CQE only";
}

// A WQE's frames leave as one burst, or one by one when one is short and
// padded: either way, with the port down none reaches the wire, each is
// counted as a link-down drop, and the WQE completes.
TEST_F(RawSendQueueTest, WithThePortDownEveryFrameOfAWqeIsALinkDownDrop) {
  expect_link_down_drops({100, 60, 1500});
}

TEST_F(RawSendQueueTest, WithThePortDownAPaddedFrameIsALinkDownDropToo) {
  expect_link_down_drops({100, 42, 1500});
}

TEST_F(RawSendQueueTest, MalformedEnhancedMpswWqesFailWithALocalQpOperationError) {
  struct Case {
    std::string why;
    std::function<void(LayoutRef<mlx5::SendWqe>)> spoil;
    uint32_t posted;
  };
  const std::vector<Case> cases = {
      {"with 18 inline header bytes",
       [](auto w) { w.template set<mlx5::SendWqe::INLINE_HDR_SZ>(18); }, 1},
      {"ds 2: no data segment", [](auto w) { w.template set<mlx5::SendWqe::DS>(2); }, 1},
      {"is malformed: ds 0", [](auto w) { w.template set<mlx5::SendWqe::DS>(0); }, 1},
      {"takes 2 basic blocks, but only 1 are posted",
       [](auto w) { w.template set<mlx5::SendWqe::DS>(6); }, 1},
      {"inline data segment",
       [this](auto) {
         LayoutRef<mlx5::DataSegment>(ring_.descriptor(0) + mlx5::kEmpwFirstSegment)
             .set<mlx5::DataSegment::BYTE_COUNT>(mlx5::kDataInline | 60);
       },
       1},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.why);
    open_sq(0);
    k.spoil(empw({60}));
    ring(k.posted);
    if (k.why != "inline data segment") {
      EXPECT_THAT(ctx_.log->to_string(), HasSubstr("is malformed: "));
    }
    EXPECT_THAT(ctx_.log->to_string(), HasSubstr(k.why));
    ctx_.log->clear();
    EXPECT_EQ(cqe().get<mlx5::Cqe::OPCODE>(), mlx5::kCqeReqErr);
    EXPECT_EQ(cqe().get<mlx5::Cqe::SYNDROME>(), mlx5::kSyndromeLocalQpOperation);
    EXPECT_EQ(model_->wq_state(sqn_), mlx5::kErr);
    frames_.clear();
  }
}

// NOP WQE number `index` (with a CQE) at its block, and the doorbell for it.
void post_nop(RawSendQueueTest& t, DescriptorRing& ring, uint32_t sqn, uint32_t index) {
  LayoutRef<mlx5::SendWqe>(ring.descriptor(index & ring.mask()))
      .set<mlx5::SendWqe::CTRL0>(mlx5::SendWqe::WQE_INDEX::insert(mlx5::kOpcodeNop, index & 0xFFFF))
      .set<mlx5::SendWqe::CTRL1>(mlx5::SendWqe::SQN::insert(1, sqn))
      .set<mlx5::SendWqe::CE>(mlx5::kCeAlways);
}

// The doorbell record says more WQEs are posted than the SQ's ring holds: the
// limit is the ring's size.
TEST_F(RawSendQueueTest, MoreWqesPostedThanTheRingHoldsAreReported) {
  open_sq(0);
  for (uint32_t i = 0; i < 64; ++i) post_nop(*this, ring_, sqn_, i);
  LayoutRef<mlx5::WqDoorbell>(ring_.extra()).set<mlx5::WqDoorbell::SEND_COUNTER>(65);
  const uint64_t ctrl =
      uint64_t{LayoutRef<mlx5::SendWqe>(ring_.descriptor(0)).get<mlx5::SendWqe::CTRL0>()} << 32 |
      LayoutRef<mlx5::SendWqe>(ring_.descriptor(0)).get<mlx5::SendWqe::CTRL1>();
  (*fn_->bar(0))->write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(ctrl), q_.uar);
  EXPECT_THAT(ctx_.log->to_string(),
              HasSubstr("its send counter says 65 WQEs posted; its ring holds 64"));
}

// A CQ whose consumer index never moves: 64 CQEs fill it, the 65th overruns it.
TEST_F(RawSendQueueTest, ACompletionQueueTheDriverNeverConsumesOverrunsAtItsSize) {
  open_sq(0);
  auto ring_at = [&](uint32_t index) {
    LayoutRef<mlx5::WqDoorbell>(ring_.extra()).set<mlx5::WqDoorbell::SEND_COUNTER>(index + 1);
    LayoutRef<mlx5::SendWqe> w(ring_.descriptor(index & ring_.mask()));
    const uint64_t ctrl =
        uint64_t{w.get<mlx5::SendWqe::CTRL0>()} << 32 | w.get<mlx5::SendWqe::CTRL1>();
    (*fn_->bar(0))->write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(ctrl), q_.uar);
  };
  for (uint32_t i = 0; i < 64; ++i) post_nop(*this, ring_, sqn_, i);
  ring_at(63);
  expect_clean();  // 64 CQEs: the CQ is full, not overrun
  post_nop(*this, ring_, sqn_, 64);
  ring_at(64);
  EXPECT_THAT(ctx_.log->to_string(),
              HasSubstr("overrun: 64 CQEs written, the consumer index is 0 (size 64)"));
}

// Doorbells go to the UAR the object was made with, at a doorbell's offset.
TEST_F(RawSendQueueTest, DoorbellsOnTheWrongUarOrOffsetAreReported) {
  open_sq(0);
  const uint32_t other = number<mlx5::ALLOC_UAR>(c().run<mlx5::ALLOC_UAR>());
  post_nop(*this, ring_, sqn_, 0);
  LayoutRef<mlx5::WqDoorbell>(ring_.extra()).set<mlx5::WqDoorbell::SEND_COUNTER>(1);
  LayoutRef<mlx5::SendWqe> w(ring_.descriptor(0));
  const uint64_t ctrl =
      uint64_t{w.get<mlx5::SendWqe::CTRL0>()} << 32 | w.get<mlx5::SendWqe::CTRL1>();
  (*fn_->bar(0))->write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(ctrl), other);
  EXPECT_THAT(
      ctx_.log->to_string(),
      HasSubstr(absl::StrFormat("rung on UAR %d; it was created with UAR %d", other, q_.uar)));
  ctx_.log->clear();
  (*fn_->bar(0))
      ->write(RegisterValue<mlx5::UAR_EQ_DOORBELL>().set<mlx5::UAR_EQ_DOORBELL::EQN>(q_.eqn + 1),
              q_.uar);
  EXPECT_THAT(
      ctx_.log->to_string(),
      HasSubstr(absl::StrFormat("EQ doorbell for EQ %d, not an EQ of UAR %d", q_.eqn + 1, q_.uar)));
  ctx_.log->clear();
  (*fn_->bar(0))->write32(q_.uar * mlx5::kPageSize + 0x100, 0);
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("4-byte write of 0 to UAR"));
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("which is not a doorbell"));
  ctx_.log->clear();
  (*fn_->bar(0))
      ->write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(ctrl), other + 1);  // never allocated
  EXPECT_THAT(
      ctx_.log->to_string(),
      HasSubstr(absl::StrFormat("write to UAR page %d, which is not allocated", other + 1)));
}

// The doorbell names the last WQE posted: the one before the record's count.
TEST_F(RawSendQueueTest, ADoorbellNotNamingTheLastPostedWqeIsReported) {
  open_sq(0);
  post_nop(*this, ring_, sqn_, 0);
  post_nop(*this, ring_, sqn_, 1);
  LayoutRef<mlx5::WqDoorbell>(ring_.extra()).set<mlx5::WqDoorbell::SEND_COUNTER>(2);
  LayoutRef<mlx5::SendWqe> w(ring_.descriptor(0));  // WQE 0, but 2 are posted
  const uint64_t ctrl =
      uint64_t{w.get<mlx5::SendWqe::CTRL0>()} << 32 | w.get<mlx5::SendWqe::CTRL1>();
  (*fn_->bar(0))->write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(ctrl), q_.uar);
  EXPECT_THAT(
      ctx_.log->to_string(),
      HasSubstr("doorbell names WQE 0 of ds 1, but the doorbell record's send counter is 2"));
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("(write the record, then ring with the last WQE)"));
}

// An SQ back in RST takes no doorbell.
TEST_F(RawSendQueueTest, ASendDoorbellForAnSqInResetIsReported) {
  open_sq(0);
  ASSERT_TRUE(c().run<mlx5::MODIFY_SQ>(0,
                                       [&](LayoutRef<mlx5::ModifyWqIn> in, uint8_t*) {
                                         in.set<mlx5::ModifyWqIn::NUMBER>(sqn_)
                                             .set<mlx5::ModifyWqIn::CURRENT_STATE>(mlx5::kRdy)
                                             .set<mlx5::ModifyWqIn::NEXT_STATE>(mlx5::kRst);
                                       })
                  .ok());
  post_nop(*this, ring_, sqn_, 0);
  LayoutRef<mlx5::WqDoorbell>(ring_.extra()).set<mlx5::WqDoorbell::SEND_COUNTER>(1);
  LayoutRef<mlx5::SendWqe> w(ring_.descriptor(0));
  const uint64_t ctrl =
      uint64_t{w.get<mlx5::SendWqe::CTRL0>()} << 32 | w.get<mlx5::SendWqe::CTRL1>();
  (*fn_->bar(0))->write(RegisterValue<mlx5::UAR_SEND_DOORBELL>(ctrl), q_.uar);
  EXPECT_THAT(
      ctx_.log->to_string(),
      HasSubstr(absl::StrFormat("send doorbell for SQ %#x in RST (MODIFY_SQ to RDY first)", sqn_)));
}

// PRM "Memory Keys": the reserved lkey works only on a WQ created with
// rlkey set; elsewhere it is a protection error.
TEST_F(RawSendQueueTest, TheReservedLkeyOnAnSqWithoutRlkeyIsAProtectionError) {
  open_sq(0, /*rlkey=*/false);
  empw({60});
  ring(1);
  EXPECT_EQ(cqe().get<mlx5::Cqe::OPCODE>(), mlx5::kCqeReqErr);
  EXPECT_EQ(cqe().get<mlx5::Cqe::SYNDROME>(), mlx5::kSyndromeLocalProtection);
  frames_.clear();
}

// A CQ one size past the device's capability (log_max_cq_sz) is refused.
TEST_F(Mlx5ObjectTest, ACqLargerThanTheCapabilityIsRefused) {
  mlx5::QueueContext q = context();
  auto out = c().run<mlx5::CREATE_CQ>(0, [&](LayoutRef<mlx5::CREATE_CQ::In> in, uint8_t*) {
    in.set<mlx5::CREATE_CQ::In::LOG_CQ_SIZE>(profile_.log_max_cq_size + 1)
        .set<mlx5::CREATE_CQ::In::UAR_PAGE>(q.uar)
        .set<mlx5::CREATE_CQ::In::C_EQN>(q.eqn)
        .set<mlx5::CREATE_CQ::In::DBR_ADDR>(0x1000);
  });
  expect_failure(out.status(), "CREATE_CQ", "BAD_PARAM (0x3)");
  // The model's syndrome for the size check, not a later one (the page list).
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("syndrome 0x212"));
}

TEST_F(RawSendQueueTest, AnSqThatNeedsInlineHeadersTakesNoEnhancedMpsw) {
  open_sq(1);  // min_wqe_inline_mode L2
  empw({60});
  ring(1);
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("ENHANCED_MPSW on an SQ of min_wqe_inline_mode 1"));
  ctx_.log->clear();
  EXPECT_EQ(cqe().get<mlx5::Cqe::SYNDROME>(), mlx5::kSyndromeLocalQpOperation);
}

class RawSendQueueOnConnectX4LxTest : public RawSendQueueTest {
 protected:
  RawSendQueueOnConnectX4LxTest() { profile_ = sim::ConnectXProfile::cx4lx(); }
};

TEST_F(RawSendQueueOnConnectX4LxTest, ADeviceWithoutTheCapabilityRefusesEnhancedMpsw) {
  open_sq(0);
  empw({60});
  ring(1);
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("ENHANCED_MPSW only where the capability says so"));
  ctx_.log->clear();
  EXPECT_EQ(cqe().get<mlx5::Cqe::OPCODE>(), mlx5::kCqeReqErr);
  EXPECT_EQ(cqe().get<mlx5::Cqe::SYNDROME>(), mlx5::kSyndromeLocalQpOperation);
}

// What the driver reads from the capabilities, against the PRM's bit offsets
// (per_protocol_networking_offload_caps: wqe_inline_mode at bits 0x12-0x13,
// enhanced_multi_pkt_send_wqe at bit 0x1A, counted from the first dword's MSB).
TEST_F(Mlx5ObjectTest, EthernetCapabilitiesSayWhatTheProfileHas) {
  EXPECT_TRUE(hca_->caps().enhanced_mpw);
  EXPECT_EQ(hca_->caps().wqe_inline_mode, mlx5::kInlineModeVportContext);
  uint8_t raw[0x20] = {};
  LayoutRef<mlx5::QUERY_HCA_CAP::Out>(raw)
      .set<mlx5::QUERY_HCA_CAP::Out::ETH_ENHANCED_MULTI_PKT_SEND_WQE>(1);
  EXPECT_EQ(raw[0x10 + 0x1A / 8], 0x80 >> (0x1A % 8));
  std::memset(raw, 0, sizeof raw);
  LayoutRef<mlx5::QUERY_HCA_CAP::Out>(raw).set<mlx5::QUERY_HCA_CAP::Out::ETH_WQE_INLINE_MODE>(3);
  EXPECT_EQ(raw[0x10 + 0x12 / 8], (0x80 >> (0x12 % 8)) | (0x80 >> (0x13 % 8)));
}

}  // namespace
}  // namespace safenic
