// An 82599 model with the ixgbe driver on it, opened as the 82599 tests open
// them (tests/ixgbe/ixgbe_test.cc, tests/faults/ixgbe_faults_test.cc): the one
// place that says how.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/device.h"
#include "nic/ixgbe/ixgbe.h"
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

}  // namespace safenic
