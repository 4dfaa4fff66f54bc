// The ConnectX model as simulated NIC kinds (sim/catalog.h): one per profile.
#include "sim/catalog.h"
#include "sim/mlx5/model.h"

namespace safenic::sim {
namespace {

template <ConnectXProfile (*Profile)()>
SimulatedNic make(SimContext ctx, MacAddress mac) {
  return make_model_nic<ConnectXModel>(std::move(ctx), Profile(), mac);
}

const MacAddress kMac = ConnectXProfile::cx5().mac;
const bool kRegistered =
    register_simulated_kind({"cx4", "connectx-4,connectx4,mlx5-cx4",
                             "NVIDIA ConnectX-4 (mlx5 driver)", kMac,
                             make<ConnectXProfile::cx4>}) &&
    register_simulated_kind({"cx4lx", "connectx-4-lx,connectx-4lx,connectx4lx,mlx5-cx4lx",
                             "NVIDIA ConnectX-4 Lx (mlx5 driver)", kMac,
                             make<ConnectXProfile::cx4lx>}) &&
    register_simulated_kind({"cx5", "connectx-5,connectx5,mlx5,mlx5-cx5",
                             "NVIDIA ConnectX-5 (mlx5 driver)", kMac, make<ConnectXProfile::cx5>});

}  // namespace
}  // namespace safenic::sim
