// The simulated NIC kinds, in one list: open_device("sim:KIND"), the
// Testbed's add(KIND) and the tools' --help all take their names from it.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace safenic::sim {

enum class Kind { k82599, kVirtio, kVirtioSplit, kVirtioLegacy, kConnectX4, kConnectX4Lx, kConnectX5 };

struct KindInfo {
  Kind kind;
  const char* name;     // sim:<name>
  const char* aliases;  // also accepted, comma-separated
  const char* what;
};
inline constexpr KindInfo kKinds[] = {
    {Kind::k82599, "82599", "ixgbe,x520", "Intel 82599 10 GbE (ixgbe driver)"},
    {Kind::kVirtio, "virtio", "virtio-net,virtio-modern", "virtio-net, modern PCI transport"},
    {Kind::kVirtioSplit, "virtio-split", "virtio-split-ring",
     "virtio-net, modern PCI transport, split ring only (no VIRTIO_F_RING_PACKED offered)"},
    {Kind::kVirtioLegacy, "virtio-legacy", "virtio-net-legacy,virtio-transitional",
     "virtio-net, legacy (transitional) PCI transport"},
    {Kind::kConnectX4, "cx4", "connectx-4,connectx4,mlx5-cx4", "NVIDIA ConnectX-4 (mlx5 driver)"},
    {Kind::kConnectX4Lx, "cx4lx", "connectx-4-lx,connectx-4lx,connectx4lx,mlx5-cx4lx",
     "NVIDIA ConnectX-4 Lx (mlx5 driver)"},
    {Kind::kConnectX5, "cx5", "connectx-5,connectx5,mlx5,mlx5-cx5", "NVIDIA ConnectX-5 (mlx5 driver)"},
};

// The kind a name or an alias (case ignored) stands for, or nullptr.
const KindInfo* find_kind(absl::string_view name);
// One line per kind: "  sim:cx5  NVIDIA ConnectX-5 (also sim:connectx-5, ...)".
std::string kinds_help();
// "sim:82599, sim:virtio, ...": the names, for error messages.
std::string kind_names();

}  // namespace safenic::sim
