// The faults the 82599 model can inject (sim/faults.h; the README's "Fault
// injection" table says what the ixgbe driver does about each).
#pragma once

#include <cstdint>
#include <iterator>

#include "absl/time/time.h"
#include "sim/faults.h"

namespace safenic::sim {

enum class IxgbeFault : uint8_t {
  kLinkFlap,           // the link drops for link_down_time, then renegotiates
  kRxCrcError,         // a received frame fails its CRC: CRCERRS (+ RXE if FCTRL.SBP)
  kDmaFault,           // a DMA address is corrupted: the IOMMU rejects it, nothing is written
  kSurpriseRemoval,    // the device leaves the bus: registers read all ones
  kTxDescriptorError,  // the device rejects a TX descriptor: frame dropped, DD still written
  kCount,
};

inline const char* fault_name(IxgbeFault f) {
  static constexpr const char* kNames[] = {"link flap", "RX CRC error", "DMA fault",
                                           "surprise removal", "TX descriptor error"};
  static_assert(std::size(kNames) == static_cast<size_t>(IxgbeFault::kCount));
  return kNames[static_cast<size_t>(f)];
}

struct IxgbeFaultPlan : FaultPlan<IxgbeFault> {
  using FaultPlan::FaultPlan;
  // How long a flapped link stays down (simulated time) before it renegotiates.
  absl::Duration link_down_time = absl::Milliseconds(5);
};

}  // namespace safenic::sim
