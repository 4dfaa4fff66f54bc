// One thread per queue (issue #8): each thread owns one RX/TX queue pair of a
// multi-queue NIC and a mempool of its own, and sends, receives and echoes
// frames of a flow that RSS maps to its queue, through a loopback plug. Run
// under ThreadSanitizer (`./bazelw test --config=tsan //tests/threads/...`, in
// CI), it shows the drivers share no unsynchronized state between queues:
// rings, per-queue stats, pools. The drivers take no lock; the models
// (single-threaded state) are serialized by the simulation's lock in the
// MMIO seam (SimContext::serialized()).
//
// Why TSan sees no race on the descriptors: it does not understand the
// standalone fences the drivers put between a descriptor and its doorbell
// (dma_write_barrier), so a device thread handing descriptors to a driver
// thread would look like a race. Here no such hand-off exists: device work for
// a queue happens in that queue's thread, inside its own doorbell write (the
// TX frame goes round the loopback plug into the RX ring of the same queue,
// because its flow hashes there), under the sim lock. progress() would move
// other queues' work (stalled TX retries), so faults stay off here; the soak
// (tests/soak) covers them single-threaded.
//
// The sim lock also orders the threads for TSan at every MMIO access, so a
// shared driver variable is reported only when threads touch it between two
// such accesses; hundreds of rounds on four threads make that certain in
// practice (a counter shared by all queues in IxgbeDevice::receive was
// reported within the first run).
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "mem/batch.h"
#include "mem/mempool.h"
#include "nic/device.h"
#include "sim/harness/frames.h"
#include "sim/harness/testbed.h"
#include "sim/wires/wire.h"

namespace safenic {
namespace {

constexpr uint16_t kQueues = 4;
constexpr size_t kFrameSize = 64;

enum class Nic { k82599, kVirtio, kConnectX5 };

std::string nic_name(const ::testing::TestParamInfo<Nic>& info) {
  switch (info.param) {
    case Nic::k82599: return "ixgbe_82599";
    case Nic::kVirtio: return "virtio_mq";
    case Nic::kConnectX5: return "mlx5_cx5";
  }
  return "unknown";
}

// What one queue's thread did; checked in the main thread after join.
struct QueueRun {
  uint64_t sent = 0;      // new frames from the thread's pool
  uint64_t echoed = 0;    // received frames sent back out
  uint64_t received = 0;  // frames of the queue's own flow
  uint64_t foreign = 0;   // frames of another queue's flow (RSS broke the plan)
  uint64_t out_of_order = 0;
  std::string error;  // the first failed call, if any
};

class QueueThreadsTest : public ::testing::TestWithParam<Nic> {
 protected:
  QueueThreadsTest() : bed_(sim::SimContext::serialized()) {}

  void SetUp() override {
    DeviceConfig c;
    c.rx_queues = c.tx_queues = kQueues;
    c.rx_ring_size = c.tx_ring_size = 256;
    c.buffers_per_rx_queue = 1024;
    absl::StatusOr<std::unique_ptr<Device>> dev = GetParam() == Nic::k82599 ? bed_.add("82599", c)
                                                  : GetParam() == Nic::kVirtio
                                                      ? bed_.add("virtio", c)
                                                      : bed_.add("cx5", c);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *std::move(dev);
    sim::connect(bed_.port(0), bed_.port(0));  // a loopback plug
    ASSERT_TRUE(dev_->wait_for_link(absl::Seconds(1)).ok());
  }

  sim::UdpFlow flow(uint16_t src_port) const {
    sim::UdpFlow f;
    f.dst_mac = dev_->mac();  // the NIC's own address: no promiscuous mode needed
    f.src_port = src_port;
    return f;
  }

  // Finds, for each queue, a flow (UDP source port) that RSS puts on it, by
  // sending one frame per candidate port and seeing where it lands. Single
  // threaded: set-up, before the queue threads start.
  std::vector<uint16_t> flow_per_queue(Mempool& pool) {
    std::vector<uint16_t> ports(kQueues, 0);
    uint16_t found = 0;
    for (uint16_t port = 1000; port < 1200 && found < kQueues; ++port) {
      Batch<1> out;
      Packet p = pool.alloc();
      EXPECT_TRUE(p.resize(kFrameSize).ok());
      sim::write_udp_frame(p.bytes(), flow(port), 0);
      out.push(std::move(p));
      EXPECT_EQ(*dev_->tx_batch(0, out), 1u);
      for (uint16_t q = 0; q < kQueues; ++q) {
        Batch<4> in;
        if (*dev_->rx_batch(q, in) == 1 && ports[q] == 0) {
          ports[q] = port;
          ++found;
        }
      }
    }
    EXPECT_EQ(found, kQueues) << "no flow for some queue in 200 source ports";
    return ports;
  }

  sim::Testbed bed_;
  std::unique_ptr<Device> dev_;
};

// The whole life of one queue's thread: `rounds` times, send a burst of new
// frames from its own pool, receive what came round the plug, echo it out
// again, and receive the echoes.
void run_queue(Device& dev, uint16_t q, Mempool& pool, const sim::UdpFlow& flow, int rounds,
               QueueRun& run) {
  constexpr size_t kBurst = 32;
  uint64_t next_seq = 0, expected_seq = 0;
  Batch<64> batch;
  auto receive = [&] {
    batch.clear();
    auto n = dev.rx_batch(q, batch);
    if (!n.ok()) return void(run.error = n.status().ToString());
    for (Packet& p : batch) {
      const auto f = p.bytes();
      const uint16_t src_port = static_cast<uint16_t>(f[34] << 8 | f[35]);
      if (src_port != flow.src_port) {
        ++run.foreign;
        continue;
      }
      ++run.received;
      // New frames and their echoes alternate in bursts: count sequence gaps.
      const uint64_t seq = sim::frame_seq(f);
      if (seq != expected_seq) ++run.out_of_order;
      expected_seq = seq + 1;
    }
  };
  for (int r = 0; r < rounds && run.error.empty(); ++r) {
    batch.clear();
    const uint64_t first = next_seq;
    for (size_t i = 0; i < kBurst; ++i) {
      Packet p = pool.alloc();
      if (p.empty() || !p.resize(kFrameSize).ok()) return void(run.error = "pool ran dry");
      sim::write_udp_frame(p.bytes(), flow, next_seq++);
      batch.push(std::move(p));
    }
    auto sent = dev.tx_batch(q, batch);
    if (!sent.ok()) return void(run.error = sent.status().ToString());
    run.sent += *sent;
    expected_seq = first;
    receive();
    expected_seq = first;  // the echoes repeat the burst's sequence numbers
    auto echoed = dev.tx_batch(q, batch);
    if (!echoed.ok()) return void(run.error = echoed.status().ToString());
    run.echoed += *echoed;
    receive();
  }
  batch.clear();
}

TEST_P(QueueThreadsTest, EachThreadOwnsAQueueAndNothingIsShared) {
  // Pools are made and freed by the main thread: mapping DMA memory is set-up
  // work (sim/iommu.h); each thread then allocates only from its own.
  std::vector<MempoolPtr> pools;
  for (uint16_t q = 0; q < kQueues; ++q) {
    auto pool = dev_->create_mempool({.buffers = 512, .tag = absl::StrFormat("queue %d", q)});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pools.push_back(*std::move(pool));
  }
  const std::vector<uint16_t> ports = flow_per_queue(*pools[0]);
  ASSERT_FALSE(HasFailure());
  auto before = dev_->stats();
  ASSERT_TRUE(before.ok()) << before.status();

  constexpr int kRounds = 500;
  std::vector<QueueRun> runs(kQueues);
  std::vector<std::thread> threads;
  for (uint16_t q = 0; q < kQueues; ++q) {
    threads.emplace_back(run_queue, std::ref(*dev_), q, std::ref(*pools[q]), flow(ports[q]),
                         kRounds, std::ref(runs[q]));
  }
  for (std::thread& t : threads) t.join();

  auto after = dev_->stats();
  ASSERT_TRUE(after.ok()) << after.status();
  for (uint16_t q = 0; q < kQueues; ++q) {
    const QueueRun& run = runs[q];
    SCOPED_TRACE(absl::StrFormat("queue %d (UDP source port %d)", q, ports[q]));
    EXPECT_EQ(run.error, "");
    EXPECT_EQ(run.sent, kRounds * 32u);
    EXPECT_EQ(run.echoed, run.sent);
    EXPECT_EQ(run.received, run.sent + run.echoed) << "frames lost on the plug";
    EXPECT_EQ(run.foreign, 0u);
    EXPECT_EQ(run.out_of_order, 0u);
    // The driver's per-queue counters saw exactly this queue's traffic.
    EXPECT_EQ(after->rx[q].packets - before->rx[q].packets, run.received);
    EXPECT_EQ(after->tx[q].packets - before->tx[q].packets, run.sent + run.echoed);
    EXPECT_EQ(after->rx[q].drops + after->rx[q].errors, 0u);
  }
  dev_.reset();  // closing returns every buffer
  for (uint16_t q = 0; q < kQueues; ++q) EXPECT_EQ(pools[q]->in_use(), 0u) << "queue " << q;
  pools.clear();
  EXPECT_EQ(bed_.context().iommu->live_regions(), 0u);
  EXPECT_TRUE(bed_.context().log->empty()) << bed_.context().log->to_string();
}

INSTANTIATE_TEST_SUITE_P(Nics, QueueThreadsTest,
                         ::testing::Values(Nic::k82599, Nic::kVirtio, Nic::kConnectX5), nic_name);

}  // namespace
}  // namespace safenic
