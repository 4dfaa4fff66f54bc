// The simulated NIC kinds, each registered by its model's folder
// (sim/ixgbe/kind.cc, sim/virtio/kind.cc, sim/mlx5/kind.cc, or a test's own
// folder), as drivers register with open_device(). open_device("sim:KIND"),
// Testbed::add(KIND), the launcher and the tools' --help all find kinds here;
// no list of them is kept anywhere else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nic/mac_address.h"
#include "sim/model.h"
#include "sim/wires/wire.h"

namespace safenic::sim {

struct SimulatedNic {
  std::shared_ptr<DeviceModel> model;
  Port* port = nullptr;  // the model's cable end (lives as long as the model)
  MacAddress mac;        // its factory ("EEPROM") address
};

struct SimulatedKind {
  absl::string_view name;     // sim:<name>
  absl::string_view aliases;  // also accepted, comma-separated
  absl::string_view what;     // one line for --help
  MacAddress mac;             // the first NIC's address; the n-th adds n - 1 to the last byte
  // A model of this kind in `ctx` with factory address `mac`.
  SimulatedNic (*make)(SimContext ctx, MacAddress mac);
};

// What a kind's make() usually is: a Model made from `config` with its
// address set to `mac` (any model with a (SimContext, Config) constructor and
// a port()).
template <typename Model, typename Config>
SimulatedNic make_model_nic(SimContext ctx, Config config, MacAddress mac) {
  config.mac = mac;
  auto model = std::make_shared<Model>(std::move(ctx), config);
  return {model, &model->port(), mac};
}

// Registers a kind; returns true, so it can initialize a namespace-scope
// constant. A name or alias another kind has already taken is refused
// (false, and a line on stderr): the kind is not registered.
bool register_simulated_kind(const SimulatedKind& kind);

// Every registered kind, sorted by name.
std::vector<const SimulatedKind*> simulated_kinds();
// The kind a name or an alias (case ignored) stands for, or nullptr.
const SimulatedKind* find_kind(absl::string_view name);
// One line per kind: "  sim:cx5  NVIDIA ConnectX-5 (also sim:connectx-5, ...)".
std::string kinds_help();
// "sim:82599, sim:cx4, ...": the names, for error messages.
std::string kind_names();

// A model of `kind_name` (a name or alias) in `ctx`; the n-th made (from 1)
// gets the n-th address of its kind. An unknown name lists the known ones.
absl::StatusOr<SimulatedNic> make_simulated_nic(absl::string_view kind_name, SimContext ctx,
                                                uint32_t n);

}  // namespace safenic::sim
