// The ixgbe driver: Intel 82599 (and its 10 GbE siblings) behind the device
// API. Registered for open_device(); use these directly to open a PciFunction.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "nic/device.h"
#include "nic/pci_function.h"

namespace safenic::ixgbe {

bool supports(PciId id);
absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config);

}  // namespace safenic::ixgbe
