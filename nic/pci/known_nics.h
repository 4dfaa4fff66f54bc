// The NICs safenic has drivers for, by PCI id, named for people (nic_list and
// error messages). Which driver opens a device is the driver registry's
// answer (nic/open.h: driver_for), not this table's: a name here promises no
// driver.
#pragma once

#include "absl/strings/string_view.h"
#include "nic/pci_function.h"

namespace safenic::pci {

// "Intel 82599 10 GbE", "virtio-net (modern)", "NVIDIA ConnectX-5", or "".
absl::string_view nic_model(PciId id);

}  // namespace safenic::pci
