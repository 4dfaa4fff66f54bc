// Simulated time: it moves only when a driver sleeps (PciFunction::sleep) or
// a test advances it, so delays and timeouts are instant and deterministic.
#pragma once

#include "absl/time/time.h"

namespace safenic::sim {

class SimClock {
 public:
  absl::Time now() const { return now_; }
  void advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_ = absl::UnixEpoch();
};

}  // namespace safenic::sim
