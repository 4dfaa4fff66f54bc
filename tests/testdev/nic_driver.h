// The "testnic" driver (nic_layout.h) behind the device API, registered with
// open_device() for the id it takes. One RX and one TX queue, the pattern of
// ixy's drivers in miniature: from tx_batch to a descriptor write in two hops.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "nic/device.h"
#include "nic/pci_function.h"

namespace safenic::testnic {

absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config);

}  // namespace safenic::testnic
