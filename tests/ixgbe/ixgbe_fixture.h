// An 82599 model with the ixgbe driver on it, opened as the 82599 tests open
// them (tests/ixgbe/ixgbe_test.cc, tests/faults/ixgbe_faults_test.cc): the one
// place that says how.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "mem/status.h"
#include "nic/device.h"
#include "nic/ixgbe/ixgbe.h"
#include "sim/harness/frames.h"
#include "sim/ixgbe/model.h"
#include "sim/model.h"
#include "sim/simulated_function.h"

namespace safenic {

struct IxgbeNic {
  std::shared_ptr<sim::Ixgbe82599> model;
  std::unique_ptr<Device> dev;
};

// Rings of 64 entries and 256 receive buffers: small, so the tests reach
// ring wrap and pool exhaustion quickly.
inline DeviceConfig small_ixgbe_config() {
  DeviceConfig c;
  c.rx_ring_size = 64;
  c.tx_ring_size = 64;
  c.buffers_per_rx_queue = 256;
  return c;
}

// The ixgbe driver on `model`, or on a new model whose MAC ends in `id`;
// the function is named sim:82599#<id>.
inline absl::StatusOr<IxgbeNic> open_ixgbe(sim::SimContext& ctx, const DeviceConfig& config,
                                           uint8_t id,
                                           std::shared_ptr<sim::Ixgbe82599> model = nullptr) {
  if (model == nullptr) {
    sim::Ixgbe82599Config mc;
    mc.mac.bytes[5] = id;
    model = std::make_shared<sim::Ixgbe82599>(ctx, mc);
  }
  SAFENIC_ASSIGN_OR_RETURN(auto dev,
                           ixgbe::open(std::make_unique<sim::SimulatedFunction>(
                                           model, ctx, absl::StrFormat("sim:82599#%d", id)),
                                       config));
  return IxgbeNic{std::move(model), std::move(dev)};
}

// The fixture of the 82599 tests: NICs on models, cables, frames, a clean log.
class IxgbeTest : public ::testing::Test {
 protected:
  using Nic = IxgbeNic;

  static DeviceConfig small_config() { return small_ixgbe_config(); }

  absl::StatusOr<Nic> open(const DeviceConfig& config, uint8_t id = 1) {
    return open_ixgbe(ctx_, config, id);
  }
  Nic open_ok(const DeviceConfig& config = small_config(), uint8_t id = 1) {
    auto nic = open(config, id);
    EXPECT_TRUE(nic.ok()) << nic.status();
    return *std::move(nic);
  }
  // A NIC cabled to a test endpoint, link up.
  void cable_to(Nic& nic, sim::TesterPort& tester) {
    sim::connect(nic.model->port(), tester);
    ASSERT_TRUE(nic.dev->wait_for_link(absl::Seconds(1)).ok());
  }
  // Two NICs joined by a cable, links up.
  void cable(Nic& a, Nic& b) {
    sim::connect(a.model->port(), b.model->port());
    ASSERT_TRUE(a.dev->wait_for_link(absl::Seconds(1)).ok());
    ASSERT_TRUE(b.dev->wait_for_link(absl::Seconds(1)).ok());
  }

  MempoolPtr make_pool(uint32_t buffers = 1024) {
    MempoolConfig c;
    c.buffers = buffers;
    c.tag = "app";
    return *Mempool::create(c, DmaAllocator(Backing::kAnonymous, ctx_.iommu));
  }
  // Appends `n` frames addressed to `dst` with sequence numbers from `seq`.
  void fill(Mempool& pool, PacketBatch& batch, size_t n, uint64_t seq, const MacAddress& dst,
            size_t size = 60) {
    sim::UdpFlow flow;
    flow.dst_mac = dst;
    for (size_t i = 0; i < n; ++i) {
      Packet p = pool.alloc();
      ASSERT_FALSE(p.empty());
      ASSERT_TRUE(p.resize(size).ok());
      flow.src_port = static_cast<uint16_t>(seq + i);
      sim::write_udp_frame(p.bytes(), flow, seq + i);
      ASSERT_TRUE(batch.push(std::move(p)));
    }
  }
  void expect_clean() { EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string(); }

  sim::SimContext ctx_;
};

}  // namespace safenic
