// The mlx5 driver: NVIDIA ConnectX-4, 4 Lx and 5 behind the device API.
// Registered for open_device(); use these directly to open a PciFunction.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "nic/device.h"
#include "nic/pci_function.h"

namespace safenic::mlx5 {

bool supports(PciId id);
absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config);

}  // namespace safenic::mlx5
