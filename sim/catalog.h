// The simulated NIC models by kind (sim/kinds.h), and open_device("sim:KIND").
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nic/mac_address.h"
#include "sim/model.h"
#include "sim/wire.h"

namespace safenic::sim {

struct SimulatedNic {
  std::shared_ptr<DeviceModel> model;
  Port* port = nullptr;  // the model's cable end (lives as long as the model)
  MacAddress mac;        // its factory ("EEPROM") address
};

// A model of `kind_name` (a name or alias) in `ctx`; the n-th made (from 1)
// gets the n-th default MAC address. An unknown name lists the known ones.
absl::StatusOr<SimulatedNic> make_simulated_nic(absl::string_view kind_name, SimContext ctx, uint32_t n);

}  // namespace safenic::sim
