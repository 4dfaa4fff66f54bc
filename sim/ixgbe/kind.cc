// The 82599 model as a simulated NIC kind: sim:82599 (sim/catalog.h).
#include "sim/catalog.h"
#include "sim/ixgbe/model.h"

namespace safenic::sim {
namespace {

SimulatedNic make(SimContext ctx, MacAddress mac) {
  return make_model_nic<Ixgbe82599>(std::move(ctx), Ixgbe82599Config{}, mac);
}

const bool kRegistered = register_simulated_kind(
    {"82599", "ixgbe,x520", "Intel 82599 10 GbE (ixgbe driver)", Ixgbe82599Config{}.mac, make});

}  // namespace
}  // namespace safenic::sim
