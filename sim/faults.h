// FaultPlan: deterministic, seedable fault injection for the device models
// (issue #8). A model asks `fire(fault)` at each opportunity for that fault (a
// frame arriving, a doorbell, a DMA, a completion); the plan answers from its
// rules and its own PRNG, so one seed gives one run, every time.
//
//   auto plan = std::make_shared<sim::FaultPlan>(/*seed=*/42);
//   plan->once(sim::Fault::kRxCrcError);            // the next frame only
//   plan->random(sim::Fault::kLinkFlap, 1000);       // 1 in 1000 opportunities
//   model->set_faults(plan);
//
// Which model offers which fault, and what the driver does about it, is in
// the README's fault table (tests/faults/). A plan belongs to one thread (as the models do).
#pragma once

#include <array>
#include <cstddef>
#include <iterator>
#include <cstdint>
#include <limits>

#include "absl/time/time.h"

namespace safenic::sim {

enum class Fault : uint8_t {
  // 82599
  kLinkFlap,           // the link drops for link_down_time, then renegotiates
  kRxCrcError,         // a received frame fails its CRC: CRCERRS (+ RXE if FCTRL.SBP)
  kDmaFault,           // a DMA address is corrupted: the IOMMU rejects it, nothing is written
  kSurpriseRemoval,    // the device leaves the bus: registers read all ones
  kTxDescriptorError,  // the device rejects a TX descriptor: frame dropped, DD still written
  // virtio-net
  kNeedsReset,         // DEVICE_NEEDS_RESET (§2.1.2)
  kRefuseFeatures,     // FEATURES_OK refused (§3.1.1 step 6)
  kBadUsedId,          // a used element names a buffer id the driver did not make available
  kBadUsedLen,         // a used element's length is impossible (beyond the buffer, or 0)
  // ConnectX (sim/mlx5; opportunities: a command, a data segment, a CQE, an EQE;
  // PRM sections as named in the Mellanox Adapters Programmer's Reference Manual)
  kCommandTimeout,     // the firmware keeps the entry (PRM "Command Queue Entry" owner bit), now and after
  kCommandFailure,     // output status plan.command_status, syndrome plan.command_syndrome ("Return Status Summary")
  kBadLkey,            // a wrong lkey: error CQE, local protection ("Completion Queue Entry"), queue to ERR
  kCqOverrun,          // the CQ counts as full: CQ error event, syndrome CQ_OVERRUN ("Event Queue Entry"); the CQ stops
  kEqStall,            // the EQs take no more events ("Event Queues"), now and after
  kHealthSyndrome,     // the health buffer shows plan.health_syndrome ("Health Buffer"); the device stops
  kCount,
};

const char* fault_name(Fault f);

class FaultPlan {
 public:
  explicit FaultPlan(uint64_t seed = 1) : state_(seed) {}

  // Fires at each opportunity with probability 1/one_in (1: always, 0: never),
  // after `skip` opportunities, at most `limit` times. Replaces the fault's
  // previous rule (the counts below go on).
  FaultPlan& random(Fault f, uint32_t one_in, uint64_t skip = 0,
                    uint64_t limit = std::numeric_limits<uint64_t>::max()) {
    rules_[index(f)] = {one_in, skip, limit, 0};
    return *this;
  }
  // Exactly once, at the opportunity after `skip` others.
  FaultPlan& once(Fault f, uint64_t skip = 0) { return random(f, 1, skip, 1); }
  FaultPlan& never(Fault f) { return random(f, 0); }

  // One opportunity for `f`: true when the fault happens now.
  bool fire(Fault f) {
    Rule& r = rules_[index(f)];
    Count& c = counts_[index(f)];
    ++c.opportunities;
    if (r.one_in == 0 || r.fired >= r.limit) return false;
    if (r.skip != 0) {
      --r.skip;
      return false;
    }
    if (r.one_in != 1 && next() % r.one_in != 0) return false;
    ++r.fired;
    ++c.fired;
    return true;
  }
  uint64_t fired(Fault f) const { return counts_[index(f)].fired; }
  uint64_t opportunities(Fault f) const { return counts_[index(f)].opportunities; }
  // A uniformly drawn number (models use it to pick how a fault looks).
  uint64_t next() {  // splitmix64
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // How long a flapped link stays down (simulated time) before it renegotiates.
  absl::Duration link_down_time = absl::Milliseconds(5);
  // ConnectX: which commands are opportunities for kCommandTimeout and
  // kCommandFailure (0: every command), how a failed one fails (PRM "Return
  // Status Summary"; 3 is BAD_PARAM), and the health syndrome (PRM "Health
  // Buffer"; 0x1 is a firmware internal error).
  uint16_t command_opcode = 0;
  uint8_t command_status = 0x3;
  uint32_t command_syndrome = 0x5AFE;
  uint8_t health_syndrome = 0x1;

 private:
  struct Rule {
    uint32_t one_in = 0;
    uint64_t skip = 0;
    uint64_t limit = 0;
    uint64_t fired = 0;  // under this rule
  };
  struct Count {
    uint64_t opportunities = 0;
    uint64_t fired = 0;
  };
  static size_t index(Fault f) { return static_cast<size_t>(f); }

  uint64_t state_;
  std::array<Rule, static_cast<size_t>(Fault::kCount)> rules_{};
  std::array<Count, static_cast<size_t>(Fault::kCount)> counts_{};
};

inline const char* fault_name(Fault f) {
  static constexpr const char* kNames[] = {
      "link flap",   "RX CRC error",     "DMA fault",     "surprise removal",
      "TX descriptor error", "DEVICE_NEEDS_RESET", "refused features", "bad used id",
      "bad used length", "command timeout", "command failure", "bad lkey", "CQ overrun",
      "EQ stall", "health syndrome"};
  static_assert(std::size(kNames) == static_cast<size_t>(Fault::kCount));
  return kNames[static_cast<size_t>(f)];
}

}  // namespace safenic::sim
