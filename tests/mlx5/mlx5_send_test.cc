// Send WQEs: the driver's choice (ENHANCED_MPSW on a ConnectX-5, one SEND
// per frame where the device lacks it or wants inline headers), and the
// model's checks of hand-made WQEs (PRM "Send WQE"; wqe.h).
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/mlx5/mlx5.h"
#include "nic/mlx5/wqe.h"
#include "sim/harness/frames.h"
#include "tests/mlx5/mlx5_fixture.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

// The driver on a ConnectX model of `profile`, cabled to a tester.
struct Driven {
  explicit Driven(sim::ConnectXProfile profile)
      : model(std::make_shared<sim::ConnectXModel>(ctx, profile)), tester(true) {
    sim::connect(model->port(), tester);
    DeviceConfig config;
    config.tx_ring_size = config.rx_ring_size = 64;
    auto d = mlx5::open(std::make_unique<sim::SimulatedFunction>(model, ctx, "sim:cx#0"), config);
    EXPECT_TRUE(d.ok()) << d.status();
    if (d.ok()) dev = *std::move(d);
    EXPECT_TRUE(dev != nullptr && dev->wait_for_link(absl::Seconds(1)).ok());
    pool = *Mempool::create({.buffers = 256, .tag = "app"},
                            DmaAllocator(Backing::kAnonymous, ctx.iommu));
  }
  ~Driven() {
    dev.reset();
    EXPECT_EQ(pool->in_use(), 0u);
    EXPECT_TRUE(ctx.log->empty()) << ctx.log->to_string();
  }
  // n frames (sizes from 60 up, numbered from seq) into a batch; how many the driver took.
  size_t send(size_t n, uint64_t seq, Batch<64>& out) {
    for (size_t i = 0; i < n; ++i) {
      Packet p = pool->alloc();
      EXPECT_TRUE(p.resize(60 + (seq + i) % 1400).ok());
      sim::write_udp_frame(p.bytes(), {}, seq + i);
      out.push(std::move(p));
    }
    return *dev->tx_batch(0, out);
  }
  sim::SimContext ctx;
  std::shared_ptr<sim::ConnectXModel> model;
  sim::TesterPort tester;
  std::unique_ptr<Device> dev;
  MempoolPtr pool;
};

// Batches of every size through the driver: all arrive, in order, intact.
void send_batches(Driven& d, const std::vector<size_t>& batches) {
  uint64_t seq = 0;
  for (size_t n : batches) {
    Batch<64> out;
    // Up to 31 frames may wait for a CQE (completion moderation): a batch as
    // large as the ring may go in two calls.
    size_t taken = d.send(n, seq, out);
    if (taken < n) taken += *d.dev->tx_batch(0, out);
    ASSERT_EQ(taken, n);
    seq += n;
  }
  ASSERT_EQ(d.tester.received(), seq);
  for (uint64_t i = 0; i < seq; ++i) {
    ASSERT_EQ(d.tester.frames()[i].size(), 60 + i % 1400);
    ASSERT_EQ(sim::frame_seq(d.tester.frames()[i]), i);
  }
}

TEST(Mlx5SendTest, AConnectX5GetsEnhancedMultiPacketWqesOthersOneSendPerFrame) {
  const std::vector<size_t> batches = {1, 7, 32, 64, 33, 2, 64, 64, 5};  // 272 frames
  Driven cx5(sim::ConnectXProfile::cx5()), cx4lx(sim::ConnectXProfile::cx4lx());
  send_batches(cx5, batches);
  send_batches(cx4lx, batches);
  // ConnectX-5: at most 32 frames a WQE, cut where the ring or its slots end.
  EXPECT_EQ(cx5.model->send_wqes(mlx5::kOpcodeSend), 0u);
  EXPECT_GE(cx5.model->send_wqes(mlx5::kOpcodeEnhancedMpsw), 272u / 32);
  EXPECT_LE(cx5.model->send_wqes(mlx5::kOpcodeEnhancedMpsw), 40u);
  // ConnectX-4 Lx: no capability, and the vport wants L2 headers inline.
  EXPECT_EQ(cx4lx.model->send_wqes(mlx5::kOpcodeSend), 272u);
  EXPECT_EQ(cx4lx.model->send_wqes(mlx5::kOpcodeEnhancedMpsw), 0u);
}

// Completion moderation: small batches share one CQE (asked for once 32
// frames went without), and an empty batch asks for the rest with a NOP.
TEST(Mlx5SendTest, SmallBatchesShareACqeAndAnEmptyBatchAsksForTheRest) {
  for (auto profile : {sim::ConnectXProfile::cx5(), sim::ConnectXProfile::cx4lx()}) {
    Driven d(profile);
    uint64_t seq = 0;
    for (int i = 0; i < 5; ++i, seq += 4) {
      Batch<64> out;
      ASSERT_EQ(d.send(4, seq, out), 4u);
    }
    EXPECT_EQ(d.pool->in_use(), 20u);  // sent, no CQE asked for yet
    Batch<64> none;
    EXPECT_EQ(*d.dev->tx_batch(0, none), 0u);
    EXPECT_EQ(d.pool->in_use(), 0u);
    EXPECT_EQ(d.model->send_wqes(mlx5::kOpcodeNop), 1u);
    for (int i = 0; i < 9; ++i, seq += 4) {  // the 8th batch makes 32: it asks
      Batch<64> out;
      ASSERT_EQ(d.send(4, seq, out), 4u);
    }
    EXPECT_EQ(d.pool->in_use(), 4u);
    EXPECT_EQ(d.tester.received(), seq);
    EXPECT_EQ(*d.dev->tx_batch(0, none), 0u);
    EXPECT_EQ(*d.dev->tx_batch(0, none), 0u);  // nothing left: no second NOP
    EXPECT_EQ(d.model->send_wqes(mlx5::kOpcodeNop), 2u);
  }
}

// A device whose 1st send CQE names the second block of a multi-block WQE
// and whose 3rd names the block just past the last WQE posted (a WQE of 32
// frames takes 9 blocks): each is a counted error that frees nothing; the
// next good CQE completes every WQE up to its own.
class MisnamingSendCqes final : public sim::DeviceWrites {
 public:
  void command(uint16_t, std::vector<uint8_t>&, mlx5::Delivery&) override {}
  void cqe(uint32_t, uint32_t, uint64_t, uint8_t* entry) override {
    LayoutRef<mlx5::Cqe> e(entry);
    if ((e.get<mlx5::Cqe::SOP_DROP_QPN>() >> 24) != mlx5::kOpcodeEnhancedMpsw) return;
    const int n = seen++;
    if (n == 0 || n == 2)
      e.set<mlx5::Cqe::WQE_COUNTER>(e.get<mlx5::Cqe::WQE_COUNTER>() + (n == 0 ? 1 : 9));
  }
  void eqe(uint32_t, uint32_t, uint64_t, uint8_t*) override {}
  int seen = 0;
};

TEST(Mlx5SendTest, ACqeNamingNoWqeStartIsACountedErrorAndFreesNothing) {
  Driven d(sim::ConnectXProfile::cx5());
  MisnamingSendCqes lie;
  d.model->set_device_writes(&lie);
  // Frames held once each batch is posted (a CQE is read at the next call).
  const size_t in_use_after[] = {32, 64, 32, 64};
  for (uint64_t i = 0; i < 4; ++i) {  // 32 frames a batch: each asks for a CQE
    Batch<64> out;
    ASSERT_EQ(d.send(32, 32 * i, out), 32u);
    EXPECT_EQ(d.pool->in_use(), in_use_after[i]) << "batch " << i;
  }
  Batch<64> none;
  EXPECT_EQ(*d.dev->tx_batch(0, none), 0u);
  EXPECT_EQ(d.pool->in_use(), 0u);
  auto stats = d.dev->stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->tx[0].errors, 2u);
  EXPECT_EQ(stats->tx[0].packets, 128u);
  EXPECT_EQ(d.tester.received(), 128u);
  d.model->set_device_writes(nullptr);
}

// SEND WQEs (ConnectX-4 Lx: one a frame, a CQE asked every 32): the 3rd
// CQE names the WQE just past the last one posted: a counted error that frees
// nothing; the 4th completes everything up to its own.
class MisnamingSendWqeCqes final : public sim::DeviceWrites {
 public:
  void command(uint16_t, std::vector<uint8_t>&, mlx5::Delivery&) override {}
  void cqe(uint32_t, uint32_t, uint64_t, uint8_t* entry) override {
    LayoutRef<mlx5::Cqe> e(entry);
    if ((e.get<mlx5::Cqe::SOP_DROP_QPN>() >> 24) != mlx5::kOpcodeSend) return;
    if (seen++ == 2) e.set<mlx5::Cqe::WQE_COUNTER>(e.get<mlx5::Cqe::WQE_COUNTER>() + 1);
  }
  void eqe(uint32_t, uint32_t, uint64_t, uint8_t*) override {}
  int seen = 0;
};

TEST(Mlx5SendTest, ASendCqeNamingTheWqeAfterTheLastPostedIsACountedError) {
  Driven d(sim::ConnectXProfile::cx4lx());
  MisnamingSendWqeCqes lie;
  d.model->set_device_writes(&lie);
  for (uint64_t i = 0; i < 4; ++i) {
    Batch<64> out;
    ASSERT_EQ(d.send(32, 32 * i, out), 32u);
  }
  Batch<64> none;
  EXPECT_EQ(*d.dev->tx_batch(0, none), 0u);
  EXPECT_EQ(d.pool->in_use(), 0u);
  auto stats = d.dev->stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->tx[0].errors, 1u);
  EXPECT_EQ(stats->tx[0].packets, 128u);
  EXPECT_EQ(d.tester.received(), 128u);
  d.model->set_device_writes(nullptr);
}

// A device whose 2nd receive CQE names the WQE after the one it completes:
// the frame in error is counted, never delivered as that WQE's.
class MisnamingReceiveCqes final : public sim::DeviceWrites {
 public:
  void command(uint16_t, std::vector<uint8_t>&, mlx5::Delivery&) override {}
  void cqe(uint32_t, uint32_t, uint64_t, uint8_t* entry) override {
    LayoutRef<mlx5::Cqe> e(entry);
    if (e.get<mlx5::Cqe::OPCODE>() != mlx5::kCqeRespSend) return;
    if (seen++ == 1) e.set<mlx5::Cqe::WQE_COUNTER>(e.get<mlx5::Cqe::WQE_COUNTER>() + 1);
  }
  void eqe(uint32_t, uint32_t, uint64_t, uint8_t*) override {}
  int seen = 0;
};

TEST(Mlx5SendTest, AReceiveCqeNamingAnotherWqeIsACountedError) {
  Driven d(sim::ConnectXProfile::cx5());
  MisnamingReceiveCqes lie;
  d.model->set_device_writes(&lie);
  sim::UdpFlow flow;
  flow.dst_mac = d.dev->mac();
  for (uint64_t i = 0; i < 3; ++i) d.tester.send(sim::udp_frame(60, flow, i));
  d.model->set_device_writes(nullptr);
  Batch<8> in;
  const size_t got = *d.dev->rx_batch(0, in);
  EXPECT_LT(got, 3u);
  for (Packet& p : in) EXPECT_NE(sim::frame_seq(p.bytes()), 1u);  // never as WQE 1's frame
  in.clear();
  auto stats = d.dev->stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(stats->rx[0].errors, 1u);
}

// A receive queue's doorbell record counting one WQE more than its ring
// holds (a driver bug): reported when the next frame arrives.
TEST(Mlx5SendTest, AReceiveCounterPastTheRingIsReported) {
  auto d = std::make_unique<Driven>(sim::ConnectXProfile::cx5());
  const std::vector<uint64_t> records = d->model->rq_doorbell_records();
  ASSERT_EQ(records.size(), 1u);
  auto record = d->ctx.iommu->translate(records[0], 8, "test");
  ASSERT_TRUE(record.ok());
  LayoutRef<mlx5::WqDoorbell> r(record->data());
  const uint32_t posted = r.get<mlx5::WqDoorbell::RECEIVE_COUNTER>();  // the whole ring (64)
  r.set<mlx5::WqDoorbell::RECEIVE_COUNTER>(posted + 1);
  sim::UdpFlow flow;
  flow.dst_mac = d->dev->mac();
  d->tester.send(sim::udp_frame(60, flow, 1));
  EXPECT_THAT(d->ctx.log->to_string(),
              HasSubstr("its receive counter says 65 WQEs posted; its ring holds 64"));
  d->ctx.log->clear();
  r.set<mlx5::WqDoorbell::RECEIVE_COUNTER>(posted);
}

// CQEs that come late, as on hardware (the model completes at once): they
// are written with the wrong owner bit, then revealed.
class LateCqes final : public sim::DeviceWrites {
 public:
  void command(uint16_t, std::vector<uint8_t>&, mlx5::Delivery&) override {}
  void eqe(uint32_t, uint32_t, uint64_t, uint8_t*) override {}
  void cqe(uint32_t, uint32_t, uint64_t, uint8_t* e) override {
    hidden_.push_back({e + 63, e[63]});
    e[63] ^= 1;  // the owner bit says: not written yet
  }
  void reveal() {
    for (auto& [p, v] : hidden_) *p = v;
    hidden_.clear();
  }

 private:
  std::vector<std::pair<uint8_t*, uint8_t>> hidden_;
};

// One frame, then an empty batch (a NOP asking for its CQE), 60 times while
// no CQE arrives: the NOPs take blocks but no frame slots, so only the free
// blocks can stop the driver before it overwrites WQEs not yet done.
TEST(Mlx5SendTest, WithCompletionsLateTheBlocksInFlightNeverPassTheRing) {
  for (auto profile : {sim::ConnectXProfile::cx5(), sim::ConnectXProfile::cx4lx()}) {
    Driven d(profile);
    LateCqes late;
    d.model->set_device_writes(&late);
    size_t taken = 0;
    for (uint64_t i = 0; i < 60; ++i) {
      Batch<64> out, none;
      taken += d.send(1, i, out);
      (void)*d.dev->tx_batch(0, none);
    }
    EXPECT_EQ(taken, 32u) << "64 blocks: a frame and a NOP each";
    d.model->set_device_writes(nullptr);
    late.reveal();
    Batch<64> none;
    EXPECT_EQ(*d.dev->tx_batch(0, none), 0u);
    EXPECT_EQ(d.pool->in_use(), 0u);
    auto stats = d.dev->stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->tx[0].errors, 0u);
    EXPECT_EQ(d.tester.received(), taken);
  }
}

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
