// The virtio-net model as simulated NIC kinds (sim/catalog.h): the modern
// transport with both ring formats offered, split ring only, and legacy.
#include "sim/catalog.h"
#include "sim/virtio/model.h"

namespace safenic::sim {
namespace {

template <VirtioNetConfig (*Config)()>
SimulatedNic make(SimContext ctx, MacAddress mac) {
  return make_model_nic<VirtioNetModel>(std::move(ctx), Config(), mac);
}

VirtioNetConfig modern() { return {}; }
VirtioNetConfig split() { return {.features = split_ring_virtio_features()}; }
VirtioNetConfig legacy() { return {.legacy = true}; }

const MacAddress kMac = VirtioNetConfig{}.mac;
const bool kRegistered =
    register_simulated_kind({"virtio", "virtio-net,virtio-modern",
                             "virtio-net, modern PCI transport", kMac, make<modern>}) &&
    register_simulated_kind({"virtio-split", "virtio-split-ring",
                             "virtio-net, modern PCI transport, split ring only (no "
                             "VIRTIO_F_RING_PACKED offered)",
                             kMac, make<split>}) &&
    register_simulated_kind({"virtio-legacy", "virtio-net-legacy,virtio-transitional",
                             "virtio-net, legacy (transitional) PCI transport", kMac,
                             make<legacy>});

}  // namespace
}  // namespace safenic::sim
