#include "nic/pci/known_nics.h"

#include <cstdint>

namespace safenic::pci {
namespace {

struct KnownNic {
  uint16_t vendor;
  uint16_t device;
  absl::string_view model;
};

// Ids from the PCI ID repository (pci.ids) and the drivers' own lists.
constexpr KnownNic kKnownNics[] = {
    // Intel 82599 family: the ids nic/ixgbe/ixgbe.cc supports() takes.
    {0x8086, 0x10F7, "Intel 82599 10 GbE (KX4)"},
    {0x8086, 0x10F8, "Intel 82599 10 GbE (backplane)"},
    {0x8086, 0x10F9, "Intel 82599 10 GbE (CX4)"},
    {0x8086, 0x10FB, "Intel 82599ES 10 GbE (SFI/SFP+)"},
    {0x8086, 0x10FC, "Intel 82599 10 GbE (XAUI)"},
    {0x8086, 0x1514, "Intel 82599 10 GbE (KX4 mezzanine)"},
    {0x8086, 0x1517, "Intel 82599 10 GbE (KR)"},
    {0x8086, 0x151C, "Intel 82599 10 GbE (10GBASE-T)"},
    {0x8086, 0x154D, "Intel 82599 10 GbE (SFP+, X520)"},
    {0x8086, 0x1557, "Intel 82599EN 10 GbE (SFP+)"},
    // virtio 1.1 §4.1.2: 0x1000 is the transitional (legacy) network device,
    // 0x1040 + 1 the modern one.
    {0x1AF4, 0x1000, "virtio-net (legacy)"},
    {0x1AF4, 0x1041, "virtio-net (modern)"},
    // Mellanox/NVIDIA physical functions.
    {0x15B3, 0x1013, "NVIDIA ConnectX-4"},
    {0x15B3, 0x1015, "NVIDIA ConnectX-4 Lx"},
    {0x15B3, 0x1017, "NVIDIA ConnectX-5"},
    {0x15B3, 0x1019, "NVIDIA ConnectX-5 Ex"},
};

}  // namespace

absl::string_view nic_model(PciId id) {
  for (const KnownNic& n : kKnownNics) {
    if (n.vendor == id.vendor && n.device == id.device) return n.model;
  }
  return "";
}

}  // namespace safenic::pci
