// Send WQEs: the driver's choice (ENHANCED_MPSW on a ConnectX-5, one SEND
// per frame where the device lacks it or wants inline headers) and how it
// takes a lying device's completions. The model's checks of hand-made WQEs
// are in mlx5_sq_model_test.cc.
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

}  // namespace
}  // namespace safenic
