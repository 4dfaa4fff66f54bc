// The virtio-net driver: legacy and modern PCI transports, split and packed
// virtqueues (packed when the device offers it), the control queue, multiple
// queue pairs. Registered for open_device().
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "nic/device.h"
#include "nic/pci_function.h"

namespace safenic::virtio {

bool supports(PciId id);
absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config);
// The features the driver accepted, for tests and diagnostics (0 if `dev` is
// not a virtio device).
uint64_t negotiated_features(const Device& dev);

}  // namespace safenic::virtio
