// Opening devices by spec string, one format for every kind of device:
//   sim:82599  sim:virtio  sim:cx5     a simulated NIC (sim/)
//   0000:03:00.0  (or 03:00.0)         a PCI device (nic/pci/)
//   vhost-user:/path/to.sock           a vhost-user backend (nic/vhost_user/)
//
// Drivers and function providers register themselves from static
// initializers in their libraries (alwayslink), so //:safenic links them all
// and nic/ core depends on none of them.
#pragma once

#include <memory>
#include <string>
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "nic/device.h"
#include "nic/pci_function.h"

namespace safenic {

struct DeviceSpec {
  enum class Kind { kSimulated, kPci, kVhostUser };
  Kind kind = Kind::kSimulated;
  std::string text;    // as given
  std::string target;  // model name, canonical PCI address, or socket path
};
absl::StatusOr<DeviceSpec> parse_device_spec(absl::string_view text);

// A PCI device a driver takes, with its name for people (nic_list, errors).
struct SupportedDevice {
  PciId id;
  absl::string_view model;  // "Intel 82599ES 10 GbE (SFI/SFP+)"
};
// Whether `id` is one of `devices`.
bool takes(absl::Span<const SupportedDevice> devices, PciId id);

// A driver, as it registers itself: its name, the family it drives (for
// "supported are ..."), the devices it takes (its own table, the only one), and
// how it opens one.
struct DriverRegistration {
  absl::string_view name;    // "ixgbe"
  absl::string_view family;  // "Intel 82599"
  absl::Span<const SupportedDevice> devices;
  absl::StatusOr<std::unique_ptr<Device>> (*open)(std::unique_ptr<PciFunction> fn,
                                                  const DeviceConfig& config);
};
// Returns true, so it can initialize a namespace-scope constant.
bool register_driver(const DriverRegistration& driver);

// Makes the PciFunction behind a spec of one kind. It sees the DeviceConfig
// too (PCI: unbind_kernel_driver).
using FunctionProvider = absl::StatusOr<std::unique_ptr<PciFunction>> (*)(
    const DeviceSpec& spec, const DeviceConfig& config);
bool register_function_provider(DeviceSpec::Kind kind, FunctionProvider provider);

// The name of the linked driver that supports `id`, or "" (nic_list).
absl::string_view driver_for(PciId id);
// What a linked driver calls the device `id` ("Intel 82599ES 10 GbE
// (SFI/SFP+)"), or "".
absl::string_view device_model(PciId id);

// The driver that supports fn->id() opens it.
absl::StatusOr<std::unique_ptr<Device>> open_device(std::unique_ptr<PciFunction> fn,
                                                    const DeviceConfig& config = {});
absl::StatusOr<std::unique_ptr<Device>> open_device(absl::string_view spec,
                                                    const DeviceConfig& config = {});

}  // namespace safenic
