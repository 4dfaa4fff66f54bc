// open_device("sim:MODEL"): a simulated NIC on its own, with a loopback plug
// in its port, so what it sends comes back to it.
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "nic/open.h"
#include "sim/ixgbe/model.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"
#include "sim/virtio/model.h"

namespace safenic::sim {
namespace {

absl::StatusOr<std::unique_ptr<PciFunction>> open_simulated(const DeviceSpec& spec,
                                                            const DeviceConfig&) {
  SimContext ctx;
  if (spec.target == "82599") {
    auto model = std::make_shared<Ixgbe82599>(ctx);
    connect(model->port(), model->port());
    return std::make_unique<SimulatedFunction>(model, ctx, spec.text);
  }
  if (spec.target == "virtio" || spec.target == "virtio-legacy") {
    auto model = std::make_shared<VirtioNetModel>(ctx, VirtioNetConfig{.legacy = spec.target != "virtio"});
    connect(model->port(), model->port());
    return std::make_unique<SimulatedFunction>(model, ctx, spec.text);
  }
  if (spec.target == "cx4" || spec.target == "cx4lx" || spec.target == "cx5") {
    auto model = std::make_shared<ConnectXModel>(
        ctx, spec.target == "cx4"     ? ConnectXProfile::cx4()
             : spec.target == "cx4lx" ? ConnectXProfile::cx4lx()
                                      : ConnectXProfile::cx5());
    connect(model->port(), model->port());
    return std::make_unique<SimulatedFunction>(model, ctx, spec.text);
  }
  return absl::NotFoundError(absl::StrFormat(
      "no simulated NIC model '%s'; available: sim:82599, sim:virtio, sim:virtio-legacy, "
      "sim:cx4, sim:cx4lx, sim:cx5", spec.target));
}

const bool kRegistered =
    register_function_provider(DeviceSpec::Kind::kSimulated, open_simulated);

}  // namespace
}  // namespace safenic::sim
