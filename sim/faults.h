// FaultPlan: deterministic, seedable fault injection for the device models
// (issue #8). A model asks `fire(fault)` at each opportunity for that fault (a
// frame arriving, a doorbell, a DMA, a completion); the plan answers from its
// rules and its own PRNG, so one seed gives one run, every time.
//
// Each model declares its own faults, next to it: an enum class ending in
// kCount, fault_name() for it, and its plan (a FaultPlan<its enum>, with the
// settings only its faults have): sim/ixgbe/faults.h, sim/virtio/faults.h,
// sim/mlx5/faults.h.
//
//   auto plan = std::make_shared<sim::IxgbeFaultPlan>(/*seed=*/42);
//   plan->once(sim::IxgbeFault::kRxCrcError);          // the next frame only
//   plan->random(sim::IxgbeFault::kLinkFlap, 1000);     // 1 in 1000 opportunities
//   model->set_faults(plan);
//
// What the driver does about each fault is in the README's fault table
// (tests/faults/). A plan belongs to one thread (as the models do).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace safenic::sim {

template <typename FaultEnum>
class FaultPlan {
 public:
  using Fault = FaultEnum;
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

}  // namespace safenic::sim
