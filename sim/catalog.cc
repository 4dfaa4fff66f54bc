// open_device("sim:KIND"): a simulated NIC on its own, with a loopback plug
// in its port, so what it sends comes back to it. KIND is a name or an alias
// from sim/kinds.h. Each NIC opened so gets its own name and MAC address.
#include <atomic>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/open.h"
#include "sim/catalog.h"
#include "sim/ixgbe/model.h"
#include "sim/kinds.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"
#include "sim/virtio/model.h"

namespace safenic::sim {

absl::StatusOr<SimulatedNic> make_simulated_nic(absl::string_view kind_name, SimContext ctx, uint32_t n) {
  const KindInfo* kind = find_kind(kind_name);
  if (kind == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "no simulated NIC model '%s'; available: %s (aliases such as sim:connectx-5 too; "
        "--help lists them)", kind_name, kind_names()));
  }
  const auto unique = [n](MacAddress mac) {
    mac.bytes[5] = static_cast<uint8_t>(mac.bytes[5] + n - 1);
    return mac;
  };
  SimulatedNic nic;
  switch (kind->kind) {
    case Kind::k82599: {
      Ixgbe82599Config mc;
      mc.mac = unique(mc.mac);
      auto m = std::make_shared<Ixgbe82599>(ctx, mc);
      nic.port = &m->port(), nic.model = m, nic.mac = mc.mac;
      break;
    }
    case Kind::kVirtio:
    case Kind::kVirtioSplit:
    case Kind::kVirtioLegacy: {
      VirtioNetConfig mc{.legacy = kind->kind == Kind::kVirtioLegacy};
      if (kind->kind == Kind::kVirtioSplit) mc.features = split_ring_virtio_features();
      mc.mac = unique(mc.mac);
      auto m = std::make_shared<VirtioNetModel>(ctx, mc);
      nic.port = &m->port(), nic.model = m, nic.mac = mc.mac;
      break;
    }
    case Kind::kConnectX4:
    case Kind::kConnectX4Lx:
    case Kind::kConnectX5: {
      ConnectXProfile profile = kind->kind == Kind::kConnectX4     ? ConnectXProfile::cx4()
                                : kind->kind == Kind::kConnectX4Lx ? ConnectXProfile::cx4lx()
                                                                   : ConnectXProfile::cx5();
      profile.mac = unique(profile.mac);
      auto m = std::make_shared<ConnectXModel>(ctx, profile);
      nic.port = &m->port(), nic.model = m, nic.mac = profile.mac;
      break;
    }
  }
  return nic;
}

namespace {

absl::StatusOr<std::unique_ptr<PciFunction>> open_simulated(const DeviceSpec& spec,
                                                            const DeviceConfig&) {
  // The n-th NIC opened here: "sim:virtio", then "sim:virtio#2", ...; the
  // last byte of the default MAC address counts up the same way.
  static std::atomic<uint32_t> opened{0};
  const uint32_t n = ++opened;
  SimContext ctx;
  SAFENIC_ASSIGN_OR_RETURN(auto nic, make_simulated_nic(spec.target, ctx, n));
  const std::string name = n == 1 ? spec.text : absl::StrFormat("%s#%d", spec.text, n);
  connect(*nic.port, *nic.port);
  return std::make_unique<SimulatedFunction>(nic.model, ctx, name);
}

const bool kRegistered =
    register_function_provider(DeviceSpec::Kind::kSimulated, open_simulated);

}  // namespace
}  // namespace safenic::sim
