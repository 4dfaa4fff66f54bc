// The faults the virtio-net model can inject (sim/faults.h; the README's
// "Fault injection" table says what the virtio driver does about each).
#pragma once

#include <cstdint>
#include <iterator>

#include "sim/faults.h"

namespace safenic::sim {

enum class VirtioFault : uint8_t {
  kNeedsReset,      // DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2)
  kRefuseFeatures,  // FEATURES_OK refused (§3.1.1 step 6)
  kBadUsedId,       // a used element names a buffer id the driver did not make available
  kBadUsedLen,      // a used element's length is impossible (0, one past the buffer, or beyond any)
  kBadChecksumStart,  // a received frame's NEEDS_CSUM header points past the frame (GUEST_CSUM)
  kCount,
};

inline const char* fault_name(VirtioFault f) {
  static constexpr const char* kNames[] = {"DEVICE_NEEDS_RESET", "refused features", "bad used id",
                                           "bad used length", "bad checksum start"};
  static_assert(std::size(kNames) == static_cast<size_t>(VirtioFault::kCount));
  return kNames[static_cast<size_t>(f)];
}

using VirtioFaultPlan = FaultPlan<VirtioFault>;

}  // namespace safenic::sim
