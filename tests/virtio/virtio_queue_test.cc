// virtio's packed queue, driver side, against device behaviour the model
// produces only on request or that a test writes by hand: IN_ORDER receive
// batches (§2.8.8), used ids that name no buffer, and batches naming a
// buffer already taken back.
#include <cstdint>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/layout.h"
#include "nic/virtio/queue.h"
#include "nic/virtio/spec.h"
#include "sim/harness/frames.h"
#include "sim/simulated_function.h"
#include "sim/virtio/model.h"
#include "tests/virtio/virtio_fixture.h"

namespace safenic {
namespace {

using virtio::feature::bit;
namespace f = virtio::feature;

class VirtioQueueTest : public VirtioTest {
 protected:
  // Makes 8 buffers from `pool` available in `q` (segments by segment_of)
  // and publishes them.
  template <typename SegmentOf>
  void post_buffers(virtio::PackedQueue& q, Mempool& pool, SegmentOf segment_of) {
    Batch<8> posted;
    ASSERT_EQ(pool.alloc_bulk(posted, 8), 8u);
    q.add_all(posted.begin(), 8, [&](Packet& p, virtio::Segment& s) {
      s = segment_of(p);
      return true;
    });
    posted.clear();
    q.publish();
  }
  // Writes descriptor `pos` of `q` as the device does when it uses buffer
  // `id` with `len` bytes (§2.8.1; AVAIL and USED set: the first pass).
  void mark_used(virtio::PackedQueue& q, uint16_t pos, uint16_t id, uint32_t len) {
    auto d = ctx_.iommu->translate(q.addresses().desc + virtio::PackedDesc::kSize * pos,
                                   virtio::PackedDesc::kSize, "test");
    ASSERT_TRUE(d.ok());
    LayoutRef<virtio::PackedDesc>(d->data())
        .set<virtio::PackedDesc::ID>(id)
        .set<virtio::PackedDesc::LEN>(len)
        .set<virtio::PackedDesc::FLAGS>(virtio::kPackedAvail | virtio::kPackedUsed);
  }
};

// §2.8.8: with IN_ORDER a packed-ring device may report a batch of used
// buffers with one descriptor, at the batch's first slot, naming its last
// buffer; the others were used completely. The driver takes all of them back
// (on the fast path and the slow one) instead of counting bad completions
// and leaving the skipped buffers with the device.
TEST_F(VirtioQueueTest, APackedInOrderDeviceMayReportReceiveBatchesWithOneDescriptor) {
  sim::VirtioNetConfig mc = modern(true, true);
  mc.rx_in_order_batch = 4;
  auto [model, fn_ptr, t] = acknowledged(mc);
  sim::connect(model->port(), tester_);
  sim::SimulatedFunction& fn = *fn_ptr;
  namespace st = virtio::status;
  t->set_driver_features(bit(f::kVersion1) | bit(f::kRingPacked) | bit(f::kInOrder) |
                         bit(f::kAccessPlatform));
  t->set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  auto q = *virtio::PackedQueue::create(fn.dma(), 8, false, true, "rx");
  ASSERT_TRUE(t->setup_queue(0, 8, q.addresses()).ok());
  t->set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
  MempoolPtr pool = *Mempool::create({.buffers = 32, .data_room = 128, .tag = "app"}, fn.dma());
  constexpr uint32_t kHdr = 12, kBuffer = kHdr + 128;  // a 128-byte frame fills a buffer
  auto segment_of = [&](const Packet& p) {
    return virtio::Segment{p.iova() - kHdr, static_cast<uint32_t>(p.capacity()) + kHdr, true};
  };
  post_buffers(q, *pool, segment_of);
  sim::UdpFlow flow;
  flow.dst_mac = mc.mac;
  auto send = [&](size_t size, uint64_t seq) { tester_.send(sim::udp_frame(size, flow, seq)); };

  // Three frames that fill their buffers, then one that does not: one
  // descriptor for all four (the short one ends the batch).
  send(128, 1), send(128, 2), send(128, 3), send(100, 4);
  // As the driver does: take used buffers in batches (of 3 here, so the
  // batch's descriptor is taken in two calls) until dry.
  Batch<8> got;
  std::vector<uint32_t> written;
  for (size_t n;
       (n = q.take_used(got.tail(), std::min<size_t>(3, got.room()), [&](Packet&p, uint32_t w) {
         written.push_back(w);
         if (w == virtio::kUsedCompletely) w = kBuffer;
         return p.try_resize(w - kHdr);
       })) != 0;) {
    got.grow(n);
  }
  EXPECT_EQ(written, (std::vector<uint32_t>{virtio::kUsedCompletely, virtio::kUsedCompletely,
                                            virtio::kUsedCompletely, kHdr + 100}));
  ASSERT_EQ(got.size(), 4u);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(sim::frame_seq(got[i].bytes()), i + 1);
  got.clear();
  EXPECT_EQ(q.bad_completions(), 0u);
  q.fill(*pool, segment_of);
  q.publish();

  // Two full frames are held until the device reports them (progress()); the
  // slow path takes them back one at a time.
  send(128, 5), send(128, 6);
  Packet p;
  uint32_t w = 0;
  EXPECT_FALSE(q.next_used(p, &w));
  model->progress();
  ASSERT_TRUE(q.next_used(p, &w));
  EXPECT_EQ(w, virtio::kUsedCompletely);
  ASSERT_TRUE(p.resize(128).ok());  // used completely: the whole buffer
  EXPECT_EQ(sim::frame_seq(p.bytes()), 5u);
  ASSERT_TRUE(q.next_used(p, &w));
  EXPECT_EQ(w, kBuffer);
  ASSERT_TRUE(p.resize(128).ok());
  EXPECT_EQ(sim::frame_seq(p.bytes()), 6u);
  EXPECT_FALSE(q.next_used(p, &w));
  EXPECT_EQ(q.bad_completions(), 0u);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
  p.reset();
  q.release_packets();
}

// A used id equal to the ring size names no buffer (ids are 0..size-1): a
// counted bad completion that frees nothing and takes nothing, on the transmit
// reclaim and on receive (packed ring, any order).
TEST_F(VirtioQueueTest, AUsedIdEqualToTheRingSizeIsABadCompletion) {
  auto model = std::make_shared<sim::VirtioNetModel>(ctx_, modern(true, false));
  sim::SimulatedFunction fn(model, ctx_, "sim:virtio#0");
  MempoolPtr pool = *Mempool::create({.buffers = 32, .tag = "app"}, fn.dma());
  {  // transmit
    auto q = *virtio::PackedQueue::create(fn.dma(), 8, false, false, "tx");
    Packet p = pool->alloc();
    ASSERT_TRUE(p.resize(60).ok());
    q.add(p, {{p.iova(), 60, false}});
    q.publish();
    mark_used(q, 0, 8, 0);
    EXPECT_EQ(q.free_used(), 0u);
    EXPECT_EQ(q.bad_completions(), 1u);
    EXPECT_EQ(pool->in_use(), 1u);  // still the device's
    mark_used(q, 1, 0, 0);
    EXPECT_EQ(q.free_used(), 1u);
    EXPECT_EQ(pool->in_use(), 0u);
  }
  {  // receive
    auto q = *virtio::PackedQueue::create(fn.dma(), 8, false, false, "rx");
    auto segment_of = [](const Packet& p) {
      return virtio::Segment{p.iova(), static_cast<uint32_t>(p.capacity()), true};
    };
    post_buffers(q, *pool, segment_of);
    mark_used(q, 0, 8, 100);
    Batch<8> got;
    size_t delivered = q.take_used(got.tail(), got.room(), [](Packet&, uint32_t) { return true; });
    EXPECT_EQ(delivered, 0u);
    EXPECT_EQ(q.bad_completions(), 1u);
    EXPECT_EQ(q.room(), 0u);  // every buffer still the device's
    q.release_packets();
  }
  EXPECT_EQ(pool->in_use(), 0u);
}

// IN_ORDER: a used descriptor can only stand for buffers still outstanding.
// One naming the buffer the driver has just made available again (taken back
// earlier in the same call) is a bad completion, not a batch of every buffer.
TEST_F(VirtioQueueTest, AnInOrderBatchCannotNameABufferAlreadyTakenBack) {
  auto model = std::make_shared<sim::VirtioNetModel>(ctx_, modern(true, true));
  sim::SimulatedFunction fn(model, ctx_, "sim:virtio#0");
  MempoolPtr pool = *Mempool::create({.buffers = 32, .tag = "app"}, fn.dma());
  auto q = *virtio::PackedQueue::create(fn.dma(), 8, false, true, "rx");
  auto segment_of = [](const Packet& p) {
    return virtio::Segment{p.iova(), static_cast<uint32_t>(p.capacity()), true};
  };
  post_buffers(q, *pool, segment_of);
  mark_used(q, 0, 0, 100);  // buffer 0: fine
  mark_used(q, 1, 0, 100);  // names buffer 0 again, taken back just before
  Batch<8> got;
  std::vector<uint32_t> written;
  const size_t delivered = q.take_used(got.tail(), got.room(), [&](Packet&, uint32_t w) {
    written.push_back(w);
    return true;
  });
  got.grow(delivered);
  EXPECT_EQ(delivered, 1u);
  EXPECT_EQ(written, std::vector<uint32_t>{100});
  EXPECT_EQ(q.bad_completions(), 1u);
  EXPECT_EQ(q.room(), 2u);  // both buffers taken back, the second one's frame dropped
  Packet p;
  uint32_t w;
  EXPECT_FALSE(q.next_used(p, &w));  // no batch to take back
  got.clear();
  q.release_packets();
}

// IN_ORDER queues keep no per-buffer chain lengths while every buffer is one
// descriptor; the first buffer of two (as a control command is) makes them
// keep them from then on, for the buffers already out as well. Each buffer,
// before and after, comes back once, in order, with its length.
class InOrderChainTest : public VirtioQueueTest {
 protected:
  // Buffers 0-2 of one descriptor, buffer 3 of two (descriptors or slots 3
  // and 4), all reported used by mark_used(id, len); then buffers 5-7 of one.
  template <typename Queue, typename MarkUsed>
  void take_a_chain_among_single_buffers(Queue& q, Mempool& pool, MarkUsed mark_used) {
    auto one_segment = [](Packet& p, virtio::Segment& s) {
      s = {p.iova(), 64, true};
      return true;
    };
    auto add_three = [&] {
      Batch<8> three;
      ASSERT_EQ(pool.alloc_bulk(three, 3), 3u);
      ASSERT_EQ(q.add_all(three.begin(), 3, one_segment), 3u);
      three.erase_front_emptied(3);
    };
    auto take_all = [&] {
      std::vector<uint32_t> written;
      Packet p;
      uint32_t w;
      while (q.next_used(p, &w)) written.push_back(w), p.reset();
      return written;
    };
    add_three();
    Packet chained = pool.alloc();
    q.add(chained, {{chained.iova(), 16, false}, {chained.iova() + 16, 1, true}});
    q.publish();
    EXPECT_EQ(q.room(), 3u);
    for (uint16_t id : {0, 1, 2, 3}) mark_used(id, 10u + id);
    EXPECT_EQ(take_all(), (std::vector<uint32_t>{10, 11, 12, 13}));
    EXPECT_EQ(q.room(), 8u);
    add_three();  // after the chain: one-descriptor buffers again
    q.publish();
    for (uint16_t id : {5, 6, 7}) mark_used(id, 20u + id);
    EXPECT_EQ(take_all(), (std::vector<uint32_t>{25, 26, 27}));
    EXPECT_EQ(q.room(), 8u);
    EXPECT_EQ(q.bad_completions(), 0u);
    EXPECT_EQ(pool.in_use(), 0u);
  }
};

// Packed ring: the chain's used descriptor at its first slot (§2.8.6).
TEST_F(InOrderChainTest, APackedQueueTakesAChainedBufferAmongSingleOnes) {
  auto model = std::make_shared<sim::VirtioNetModel>(ctx_, modern(true, true));
  sim::SimulatedFunction fn(model, ctx_, "sim:virtio#0");
  MempoolPtr pool = *Mempool::create({.buffers = 32, .tag = "app"}, fn.dma());
  auto q = *virtio::PackedQueue::create(fn.dma(), 8, false, true, "ctrl");
  take_a_chain_among_single_buffers(q, *pool, [&](uint16_t id, uint32_t len) {
    mark_used(q, id, id, len);  // ids are positions
  });
}

// Split ring: ids are descriptor positions, the chain takes descriptors 3
// and 4 (§2.7.9), and the used ring's elements name heads.
TEST_F(InOrderChainTest, ASplitQueueTakesAChainedBufferAmongSingleOnes) {
  auto model = std::make_shared<sim::VirtioNetModel>(ctx_, modern(false, true));
  sim::SimulatedFunction fn(model, ctx_, "sim:virtio#0");
  MempoolPtr pool = *Mempool::create({.buffers = 32, .tag = "app"}, fn.dma());
  auto q = *virtio::SplitQueue::create(fn.dma(), 8, false, false, true, "ctrl");
  auto used = ctx_.iommu->translate(q.addresses().device, virtio::split_used_bytes(8), "test");
  ASSERT_TRUE(used.ok());
  const RingRef<virtio::UsedRing> ring(used->data(), 8);
  uint16_t used_idx = 0;
  take_a_chain_among_single_buffers(q, *pool, [&](uint16_t id, uint32_t len) {
    // As the device does (§2.7.8): the element, then the index.
    ring.entry(used_idx % 8).set<virtio::UsedElem::ID>(id).set<virtio::UsedElem::LEN>(len);
    ring.header().set<virtio::UsedHeader::IDX>(++used_idx);
  });
}

// §2.8.21.1: a buffer is available once its first descriptor's flags are
// written, which the packed queue does as it adds each buffer (a chain's
// first last, after the rest); publish() only decides whether to notify. The
// flags carry AVAIL = the driver's wrap counter (1 in the first pass) and
// USED its inverse (§2.8.1).
TEST_F(VirtioQueueTest, PackedBuffersAreAvailableAsSoonAsTheyAreAdded) {
  auto model = std::make_shared<sim::VirtioNetModel>(ctx_, modern(true, false));
  sim::SimulatedFunction fn(model, ctx_, "sim:virtio#0");
  MempoolPtr pool = *Mempool::create({.buffers = 32, .tag = "app"}, fn.dma());
  auto q = *virtio::PackedQueue::create(fn.dma(), 8, false, false, "tx");
  auto flags_at = [&](uint16_t pos) -> uint16_t {
    auto d = ctx_.iommu->translate(q.addresses().desc + virtio::PackedDesc::kSize * pos,
                                   virtio::PackedDesc::kSize, "test");
    EXPECT_TRUE(d.ok());
    return d.ok() ? LayoutView<virtio::PackedDesc>(d->data()).get<virtio::PackedDesc::FLAGS>() : 0;
  };
  // A chain of two (descriptors 0 and 1), then six one-descriptor buffers
  // (2..7) from the fast path, none published.
  Packet chained = pool->alloc();
  q.add(chained, {{chained.iova(), 12, false}, {chained.iova() + 12, 48, true}});
  EXPECT_EQ(flags_at(0), virtio::kPackedAvail | virtio::kDescNext);
  EXPECT_EQ(flags_at(1), virtio::kPackedAvail | virtio::kDescWrite);
  EXPECT_EQ(flags_at(2), 0) << "a descriptor never made available";
  Batch<6> batch;
  ASSERT_EQ(pool->alloc_bulk(batch, 6), 6u);
  EXPECT_EQ(q.add_all(batch.begin(), 6,
                      [](Packet& p, virtio::Segment& s) {
                        s = {p.iova(), 60, false};
                        return true;
                      }),
            6u);
  for (uint16_t pos = 2; pos < 8; ++pos) EXPECT_EQ(flags_at(pos), virtio::kPackedAvail) << pos;
  EXPECT_EQ(q.room(), 0);
  EXPECT_TRUE(q.publish()) << "no event suppression: every round notifies";
  EXPECT_FALSE(q.publish()) << "nothing added since";
  q.release_packets();
}

}  // namespace
}  // namespace safenic
