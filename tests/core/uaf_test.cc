// Use after free (issue #8): device DMA into a buffer that sits free in its
// mempool is reported by the simulator's IOMMU, naming the buffer. Safe code
// cannot free a buffer it gave away (Packet is move-only), so the bugs come
// from drivers: a deliberately buggy one over the testdev, and the real ixgbe
// driver and model, which must stay free of reports.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/ixgbe/ixgbe.h"
#include "sim/harness/frames.h"
#include "sim/ixgbe/model.h"
#include "sim/simulated_function.h"
#include "tests/testdev/driver.h"
#include "tests/testdev/model.h"

namespace safenic {
namespace {

using testdev::DmaCopyDriver;
using testdev::DmaCopyModel;
using ::testing::AllOf;
using ::testing::HasSubstr;

// The expected report for device DMA `what` of `len` bytes at `iova`.
::testing::Matcher<std::string> use_after_free(const Mempool& pool, uint64_t iova, size_t len,
                                               const char* what) {
  const uint64_t index = (iova - pool.region().iova()) / pool.stride();
  return AllOf(HasSubstr(absl::StrFormat("use after free: device %s DMA of %d bytes at IOVA %#x",
                                         what, len, iova)),
               HasSubstr(absl::StrFormat("buffer #%d [%#x, ", index,
                                         pool.region().iova() + index * pool.stride())),
               HasSubstr(absl::StrFormat("of pool '%s', freed to its pool", pool.tag())));
}

class BuggyDriver : public ::testing::Test {
 protected:
  BuggyDriver()
      : model_(std::make_shared<DmaCopyModel>(ctx_)),
        fn_(model_, ctx_, "sim:dmacopy#0"),
        drv_(*DmaCopyDriver::open(fn_, 16)),
        tx_(pool("tx")),
        rx_(pool("rx")) {}

  MempoolPtr pool(const char* tag) {
    MempoolConfig c;
    c.buffers = 32;
    c.data_room = 256;
    c.tag = tag;
    return *Mempool::create(c, fn_.dma());
  }
  Packet frame(size_t len, uint8_t seed) {
    Packet p = tx_->alloc();
    EXPECT_TRUE(p.resize(len).ok());
    for (size_t i = 0; i < len; ++i) p.data()[i] = static_cast<uint8_t>(seed + i);
    return p;
  }
  // A receive buffer the device must not have written: all 0xEE.
  Packet untouched_rx(size_t len) {
    Packet p = rx_->alloc();
    EXPECT_TRUE(p.resize(len).ok());
    std::memset(p.data(), 0xEE, len);
    return p;
  }
  bool all_ee(const uint8_t* p, size_t len) {
    for (size_t i = 0; i < len; ++i) {
      if (p[i] != 0xEE) return false;
    }
    return true;
  }

  sim::SimContext ctx_;
  std::shared_ptr<DmaCopyModel> model_;
  sim::SimulatedFunction fn_;
  std::unique_ptr<DmaCopyDriver> drv_;
  MempoolPtr tx_, rx_;
};

// (a) A driver keeps a frame's address after freeing the frame, and sends it.
TEST_F(BuggyDriver, SendingABufferAlreadyFreedIsReportedNamingIt) {
  Packet sent = frame(64, 7);
  const uint64_t stale = sent.iova();
  sent.reset();  // back in the pool; the driver kept the address
  Packet dst = untouched_rx(64);
  const uint32_t i = drv_->queue_iova(stale, dst.iova(), 64);
  drv_->ring();
  EXPECT_TRUE(drv_->done(i));
  EXPECT_TRUE(drv_->failed(i));
  EXPECT_TRUE(all_ee(dst.data(), 64));  // the faulting read did not happen
  ASSERT_EQ(ctx_.log->size(), 1u) << ctx_.log->to_string();
  EXPECT_THAT(ctx_.log->entries()[0], use_after_free(*tx_, stale, 64, "copy source read"));
}

// (a) A driver frees a frame it queued before the device has read it (a TX
// clean that does not wait for the done bit).
TEST_F(BuggyDriver, FreeingAQueuedFrameBeforeTheDeviceReadsItIsReported) {
  Packet sent = frame(100, 1);
  const uint64_t iova = sent.iova();
  Packet dst = untouched_rx(100);
  const uint32_t i = drv_->queue(sent, dst);
  sent.reset();  // the bug: the descriptor still points at it
  drv_->ring();
  EXPECT_TRUE(drv_->failed(i));
  ASSERT_EQ(ctx_.log->size(), 1u) << ctx_.log->to_string();
  EXPECT_THAT(ctx_.log->entries()[0], use_after_free(*tx_, iova, 100, "copy source read"));
}

// (b) A driver posts receive buffers, returns them to the pool (in bulk) while
// the device's ring still holds them, then the device writes frames into them.
TEST_F(BuggyDriver, ReceiveBuffersFreedWhileTheRingOwnsThemAreReported) {
  constexpr size_t kPosted = 4;
  Packet frames[kPosted], ring[kPosted];
  uint64_t iova[kPosted];
  for (size_t k = 0; k < kPosted; ++k) {
    frames[k] = frame(60, static_cast<uint8_t>(k));
    ring[k] = untouched_rx(60);
    iova[k] = ring[k].iova();
    drv_->queue(frames[k], ring[k]);
  }
  Packet::reset_all(absl::MakeSpan(ring));  // the bug: the device still owns them
  const size_t free_before = rx_->available();
  drv_->ring();  // the device writes a frame into each
  EXPECT_EQ(model_->copies(), 0u);
  ASSERT_EQ(ctx_.log->size(), kPosted) << ctx_.log->to_string();
  for (size_t k = 0; k < kPosted; ++k) {
    EXPECT_THAT(ctx_.log->entries()[k],
                use_after_free(*rx_, iova[k], 60, "copy destination write"));
    // Nothing landed in the freed buffer, which the pool may hand out again.
    const size_t offset = iova[k] - rx_->region().iova();
    EXPECT_TRUE(all_ee(rx_->region().data() + offset, 60));
  }
  EXPECT_EQ(rx_->available(), free_before);  // the pool itself is intact
}

// (c) A buffer freed and handed out again is the new owner's to use: no report,
// through the single and the bulk paths of the pool.
TEST_F(BuggyDriver, AFreedBufferAllocatedAgainIsUsedWithoutReports) {
  Packet src = frame(128, 3);
  Packet first = rx_->alloc();
  const uint64_t iova = first.iova();
  first.reset();
  Packet again = rx_->alloc();
  ASSERT_EQ(again.iova(), iova);  // the same buffer (the free list is LIFO)
  EXPECT_FALSE(drv_->failed(drv_->copy(src, again)));
  EXPECT_EQ(std::memcmp(again.data(), src.data(), 128), 0);

  Batch<8> batch;
  ASSERT_EQ(rx_->alloc_bulk(batch, 8), 8u);
  std::vector<uint64_t> iovas;
  for (Packet& p : batch) iovas.push_back(p.iova());
  batch.clear();  // all eight freed in one bulk put
  ASSERT_EQ(rx_->alloc_bulk(batch, 8), 8u);
  for (size_t k = 0; k < 8; ++k) {
    ASSERT_EQ(batch[k].iova(), iovas[k]);
    EXPECT_FALSE(drv_->failed(drv_->copy(src, batch[k])));
  }
  EXPECT_EQ(model_->copies(), 9u);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

// A pool released while a packet is out lives on, still tracked, until the
// packet comes home; then its region goes away.
TEST_F(BuggyDriver, AnOrphanedPoolIsTrackedUntilItsLastBufferComesHome) {
  MempoolPtr doomed = pool("doomed");
  Packet src = frame(64, 5);
  Packet dst = doomed->alloc();
  const size_t regions = ctx_.iommu->live_regions();
  doomed.reset();  // orphaned: dst is still out
  EXPECT_FALSE(drv_->failed(drv_->copy(src, dst)));
  dst.reset();  // the last buffer: the pool and its region go
  EXPECT_EQ(ctx_.iommu->live_regions(), regions - 1);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

// With tracking off (as on hardware) the pool reports nothing: the same bug
// goes through unnoticed, which is what the check is for.
TEST_F(BuggyDriver, WithoutTrackingTheSameBugIsNotSeen) {
  ctx_.iommu->set_buffer_tracking(false);
  MempoolPtr untracked = pool("untracked");
  Packet sent = untracked->alloc();
  ASSERT_TRUE(sent.resize(64).ok());
  const uint64_t stale = sent.iova();
  sent.reset();
  Packet dst = untouched_rx(64);
  const uint32_t i = drv_->queue_iova(stale, dst.iova(), 64);
  drv_->ring();
  EXPECT_FALSE(drv_->failed(i));
  EXPECT_EQ(model_->copies(), 1u);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

// (d) The real ixgbe driver against its model, buffer tracking on: traffic
// over many ring wraps, with the transmitter sometimes lagging (the driver
// must not free a TX buffer before the device has read it), reports nothing.
// A DMA that runs from one pool buffer into the next is reported whatever the
// state of the neighbour: here both buffers are in use (a driver that posted
// receive descriptors 64 bytes longer than its buffers).
TEST_F(BuggyDriver, ADmaRunningIntoTheNextBufferIsReportedEvenWhenThatBufferIsInUse) {
  Packet a = rx_->alloc(), b = rx_->alloc();  // neighbours, both owned by the driver
  const uint64_t room = rx_->stride() - rx_->headroom();
  const uint64_t first = std::min(a.iova(), b.iova());
  ASSERT_EQ(std::max(a.iova(), b.iova()) - first, rx_->stride());                // adjacent
  ASSERT_TRUE(ctx_.iommu->translate(first, room, "test RX packet write").ok());  // to the end: fine
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
  auto over = ctx_.iommu->translate(first, room + 64, "test RX packet write");
  EXPECT_FALSE(over.ok());
  ASSERT_EQ(ctx_.log->size(), 1u);
  const uint64_t index = (first - rx_->region().iova()) / rx_->stride();
  EXPECT_THAT(
      ctx_.log->entries()[0],
      AllOf(HasSubstr(absl::StrFormat("device test RX packet write DMA of %d bytes at IOVA %#x "
                                      "runs 64 bytes past the end of buffer #%d",
                                      room + 64, first, index)),
            HasSubstr("of pool 'rx' into the next buffer")));
}

TEST(IxgbeUseAfterFree, TrafficOverManyRingWrapsReportsNothing) {
  sim::SimContext ctx;
  ASSERT_TRUE(ctx.iommu->tracks_buffers());  // on by default
  DeviceConfig config;
  config.rx_ring_size = 64;
  config.tx_ring_size = 64;
  config.buffers_per_rx_queue = 256;
  std::shared_ptr<sim::Ixgbe82599> models[2];
  std::unique_ptr<Device> devs[2];
  for (int k = 0; k < 2; ++k) {
    sim::Ixgbe82599Config mc;
    mc.mac.bytes[5] = static_cast<uint8_t>(k + 1);
    models[k] = std::make_shared<sim::Ixgbe82599>(ctx, mc);
    auto dev = ixgbe::open(std::make_unique<sim::SimulatedFunction>(
                               models[k], ctx, absl::StrFormat("sim:82599#%d", k)),
                           config);
    ASSERT_TRUE(dev.ok()) << dev.status();
    devs[k] = *std::move(dev);
  }
  sim::connect(models[0]->port(), models[1]->port());
  for (auto& dev : devs) ASSERT_TRUE(dev->wait_for_link(absl::Seconds(1)).ok());
  MempoolConfig pc;
  pc.buffers = 512;
  pc.tag = "app";
  MempoolPtr pool = *Mempool::create(pc, DmaAllocator(Backing::kAnonymous, ctx.iommu));
  sim::UdpFlow flow;
  flow.dst_mac = devs[1]->mac();
  uint64_t seq = 0, received = 0;
  auto send = [&](size_t n) {
    Batch<64> out;
    for (size_t i = 0; i < n; ++i) {
      Packet p = pool->alloc();
      ASSERT_TRUE(p.resize(60).ok());
      sim::write_udp_frame(p.bytes(), flow, seq++);
      out.push(std::move(p));
    }
    ASSERT_EQ(*devs[0]->tx_batch(0, out), n);
  };
  for (int round = 0; round < 200; ++round) {
    const bool lag = round % 3 == 0;
    models[0]->set_tx_paused(lag);
    send(32);
    if (lag) {
      send(31);                         // fills the ring: the driver cleans while the device lags
      models[0]->set_tx_paused(false);  // the device catches up
    }
    ASSERT_TRUE(ctx.log->empty()) << "round " << round << ":\n" << ctx.log->to_string();
    Batch<64> in;
    while (*devs[1]->rx_batch(0, in) > 0) {
      for (Packet& p : in) ASSERT_EQ(sim::frame_seq(p.bytes()), received++);
      in.clear();
    }
  }
  EXPECT_EQ(received, seq);
  EXPECT_GT(seq, 64u * 100);  // both 64-entry rings wrapped over 100 times
  EXPECT_TRUE(ctx.log->empty()) << ctx.log->to_string();
}

}  // namespace
}  // namespace safenic
