// The virtio-net tests' fixture: a driver on a virtio-net model cabled to a
// tester, a device driven by hand through its transport, and frame checks.
#pragma once

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/transport.h"
#include "nic/virtio/virtio_net.h"
#include "sim/harness/frames.h"
#include "sim/simulated_function.h"
#include "sim/virtio/model.h"

namespace safenic {

// The model offers VIRTIO_F_IN_ORDER unless told not to; with it the device
// returns each TX batch under one used element (§2.7.9, §2.8.8).
inline sim::VirtioNetConfig modern(bool packed, bool in_order) {
  sim::VirtioNetConfig mc;
  mc.features = sim::default_virtio_features(false);
  if (!packed) mc.features &= ~virtio::feature::bit(virtio::feature::kRingPacked);
  if (!in_order) mc.features &= ~virtio::feature::bit(virtio::feature::kInOrder);
  return mc;
}

class VirtioTest : public ::testing::Test {
 protected:
  struct Nic {
    std::shared_ptr<sim::VirtioNetModel> model;
    std::unique_ptr<Device> dev;
  };
  static DeviceConfig config(uint16_t pairs = 1, uint32_t ring = 256) {
    DeviceConfig c;
    c.rx_queues = c.tx_queues = pairs;
    c.rx_ring_size = c.tx_ring_size = ring;
    c.buffers_per_rx_queue = 1024;
    return c;
  }
  absl::StatusOr<Nic> open(sim::VirtioNetConfig mc, const DeviceConfig& c = config()) {
    auto model = std::make_shared<sim::VirtioNetModel>(ctx_, mc);
    sim::connect(model->port(), tester_);
    auto dev =
        virtio::open(std::make_unique<sim::SimulatedFunction>(model, ctx_, "sim:virtio#0"), c);
    if (!dev.ok()) return dev.status();
    return Nic{model, *std::move(dev)};
  }
  Nic open_ok(sim::VirtioNetConfig mc, const DeviceConfig& c = config()) {
    auto nic = open(mc, c);
    EXPECT_TRUE(nic.ok()) << nic.status();
    return *std::move(nic);
  }
  // A device driven by hand through its transport, reset and at status
  // ACKNOWLEDGE | DRIVER (§3.1.1 steps 1-3), for tests of single steps.
  struct HandDriven {
    std::shared_ptr<sim::VirtioNetModel> model;
    std::unique_ptr<sim::SimulatedFunction> fn;
    std::unique_ptr<virtio::Transport> t;  // after fn: destroyed before it
  };
  HandDriven acknowledged(const sim::VirtioNetConfig& mc) {
    HandDriven d;
    d.model = std::make_shared<sim::VirtioNetModel>(ctx_, mc);
    d.fn = std::make_unique<sim::SimulatedFunction>(d.model, ctx_, "sim:virtio#0");
    d.t = *virtio::Transport::open(*d.fn);
    d.t->set_status(0);
    d.t->set_status(virtio::status::kAcknowledge | virtio::status::kDriver);
    return d;
  }
  MempoolPtr make_pool(Device& dev) {
    MempoolConfig c;
    c.buffers = 2048;
    c.tag = "app";
    return *dev.create_mempool(c);
  }
  // Frames from the tester into the NIC, received and checked.
  void expect_rx(Nic& nic, size_t count, uint64_t seq, uint16_t queue = 0) {
    sim::UdpFlow flow;
    flow.dst_mac = nic.dev->mac();
    for (size_t i = 0; i < count; ++i) tester_.send(sim::udp_frame(100, flow, seq + i));
    Batch<256> in;
    ASSERT_EQ(*nic.dev->rx_batch(queue, in), count);
    for (size_t i = 0; i < count; ++i) {
      ASSERT_EQ(in[i].size(), 100u);
      EXPECT_EQ(std::vector<uint8_t>(in[i].bytes().begin(), in[i].bytes().end()),
                sim::udp_frame(100, flow, seq + i));
    }
  }
  // Frames from the NIC to the tester, checked.
  void expect_tx(Nic& nic, Mempool& pool, size_t count, uint64_t seq) {
    tester_.clear();
    Batch<256> out;
    sim::UdpFlow flow;
    for (size_t i = 0; i < count; ++i) {
      Packet p = pool.alloc();
      ASSERT_TRUE(p.resize(80).ok());
      sim::write_udp_frame(p.bytes(), flow, seq + i);
      out.push(std::move(p));
    }
    ASSERT_EQ(*nic.dev->tx_batch(0, out), count);
    ASSERT_EQ(tester_.frames().size(), count);
    for (size_t i = 0; i < count; ++i) {
      EXPECT_EQ(tester_.frames()[i], sim::udp_frame(80, flow, seq + i));
    }
  }
  void expect_clean() { EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string(); }

  sim::SimContext ctx_;
  sim::TesterPort tester_;
};

}  // namespace safenic
