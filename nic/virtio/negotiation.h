// Which virtio-net features the driver asks for, what a device's offer lets
// it do, and the negotiation itself (virtio 1.2 §3.1.1 steps 1-6). Internal
// to the virtio driver (nic/virtio/virtio_net.cc).
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "nic/device.h"
#include "nic/pci_function.h"
#include "nic/virtio/transport.h"

namespace safenic::virtio::detail {

uint64_t wanted_features(const DeviceConfig& config, bool modern, bool allow_packed);

// What a device offering `offered` can do with this driver (before its MTU
// is read).
OffloadSet offered_offloads(uint64_t offered);

// Resets the device and negotiates `wanted` within its offer; the accepted
// features, or why not.
absl::StatusOr<uint64_t> negotiate(PciFunction& fn, Transport& t, uint64_t wanted);

}  // namespace safenic::virtio::detail
