// The faults the ConnectX model can inject (sim/faults.h; the README's
// "Fault injection" table says what the mlx5 driver does about each).
// Opportunities: a command, a data segment, a CQE, an EQE; PRM sections as
// named in the Mellanox Adapters Programmer's Reference Manual.
#pragma once

#include <cstdint>
#include <iterator>

#include "sim/faults.h"

namespace safenic::sim {

enum class ConnectXFault : uint8_t {
  kCommandTimeout,  // the firmware keeps the entry (PRM "Command Queue Entry" owner bit), now and
                    // after
  kCommandFailure,  // output status command_status, syndrome command_syndrome ("Return Status
                    // Summary")
  kBadLkey,    // a wrong lkey: error CQE, local protection ("Completion Queue Entry"), queue to ERR
  kCqOverrun,  // the CQ counts as full: CQ error event, syndrome CQ_OVERRUN ("Event Queue Entry");
               // the CQ stops
  kEqStall,    // the EQs take no more events ("Event Queues"), now and after
  kHealthSyndrome,  // the health buffer shows health_syndrome ("Health Buffer"); the device stops
  kCount,
};

inline const char* fault_name(ConnectXFault f) {
  static constexpr const char* kNames[] = {"command timeout", "command failure", "bad lkey",
                                           "CQ overrun",      "EQ stall",        "health syndrome"};
  static_assert(std::size(kNames) == static_cast<size_t>(ConnectXFault::kCount));
  return kNames[static_cast<size_t>(f)];
}

struct ConnectXFaultPlan : FaultPlan<ConnectXFault> {
  using FaultPlan::FaultPlan;
  // Which commands are opportunities for kCommandTimeout and kCommandFailure
  // (0: every command), how a failed one fails (PRM "Return Status Summary";
  // 3 is BAD_PARAM), and the health syndrome (PRM "Health Buffer"; 0x1 is a
  // firmware internal error).
  uint16_t command_opcode = 0;
  uint8_t command_status = 0x3;
  uint32_t command_syndrome = 0x5AFE;
  uint8_t health_syndrome = 0x1;
};

}  // namespace safenic::sim
