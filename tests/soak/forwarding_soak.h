// ForwardingSoak (issue #8): multi-queue forwarding between two simulated NICs
// while their models inject random faults from seeded FaultPlans; then every
// frame is accounted for and nothing has leaked.
//
//   source port -> NIC A (4 RX queues, RSS) -> application -> NIC B (4 TX queues) -> sink port
//
// The application polls A's queues, forwards what arrived to B's queue of the
// same number, adds frames from its own pool, and now and then leaves a queue
// unpolled for a while (a full ring drops). The source sends bursts of
// random sizes and flows, a few for another address (filtered).
//
// A seed names one run: traffic, faults and pauses come from it, and the
// simulated clock moves a fixed step per iteration. Wall time only decides
// after how many iterations (a multiple of kChunk) the run stops; the report
// prints the seed and that count, and `--seed=S --iterations=N` repeats the
// run exactly. A subclass adds the NICs, sets and stops their faults, and
// adds its models' counters and balances to the ledger.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "mem/mempool.h"
#include "nic/device.h"
#include "sim/harness/testbed.h"
#include "sim/wires/wire.h"
#include "tests/soak/ledger.h"

namespace safenic::soak {

// Command-line flags of the soak binaries (soak_main.cc).
struct Flags {
  double seconds = 60;      // wall time of a soak
  uint64_t seed = 0;        // 0: draw one (printed)
  uint64_t iterations = 0;  // instead of `seconds` (to repeat a run)
};
extern Flags flags;

inline constexpr uint16_t kQueues = 4;
inline constexpr uint64_t kChunk = 1024;  // iterations between wall-clock checks
inline constexpr absl::Duration kStep = absl::Microseconds(2);  // simulated time per iteration

struct SoakRun {
  uint64_t seed = 0;
  uint64_t iterations = 0;
  Ledger ledger;
  std::vector<std::string> problems;  // open failures, unexpected violations, leaks
};

// The traffic's own PRNG (splitmix64, like FaultPlan's): traffic and faults
// are independent streams of one seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

class ForwardingSoak {
 public:
  explicit ForwardingSoak(uint64_t seed) : seed_(seed), rng_(seed) {}
  virtual ~ForwardingSoak() = default;

  // Runs `iterations` (or, when 0, until `wall` has passed), stops the faults,
  // drains, accounts and closes.
  SoakRun run(uint64_t iterations, absl::Duration wall);

 protected:
  // Adds NIC A, then NIC B, to bed_ with `config`.
  virtual absl::StatusOr<std::unique_ptr<Device>> add_nic(const DeviceConfig& config) = 0;
  virtual void start_faults() = 0;
  virtual void stop_faults() = 0;
  // The models' counters and the balances they take part in. The common
  // counters are in the ledger already: "source sent", "app received",
  // "app generated", "app unsent (TX ring full)", "A driver rx packets|drops|errors",
  // "B driver tx packets|errors", "sink received", and "A <counter>" / "B <counter>"
  // for the drivers' device counters (stats().counters).
  virtual void account(Ledger& ledger) = 0;
  // Once per iteration with traffic, before it: faults of the subclass's own
  // (a cable pulled), the application's periodic link() and stats().
  virtual void tick(uint64_t /*it*/) {}
  // Whether B's driver counts a frame the device failed in its TX errors
  // after counting it in its TX packets (mlx5: failed and flushed WQEs),
  // rather than counting there frames it refused to take.
  virtual bool tx_errors_in_packets() const { return false; }

  uint64_t seed_;
  sim::Testbed bed_;
  std::unique_ptr<Device> a_, b_;
  uint64_t iommu_reports_ = 0;  // IOMMU violations: injected DMA faults
  // Cabled to NIC A's and NIC B's ports once they are open.
  sim::TesterPort source_{/*keep_frames=*/false}, sink_{/*keep_frames=*/false};

 private:
  bool open(SoakRun& out);
  void iterate(uint64_t it, bool sources);
  void send_burst();
  void forward(uint16_t q);
  void collect_violations(SoakRun& out);
  void account_common(Ledger& ledger);
  void close(SoakRun& out);

  Rng rng_;
  MempoolPtr pool_;
  uint8_t frame_[1514] = {};
  uint64_t paused_until_[kQueues] = {};
  uint64_t source_sent_ = 0, app_received_ = 0, app_generated_ = 0, app_unsent_ = 0;
};

// Fails the current test for each mismatch and problem of `run`.
void expect_clean(const SoakRun& run);
// Prints the seed, the iterations, how to repeat the run, and every counter.
void report(absl::string_view name, const SoakRun& run);
// A run long enough to mean something (64 chunks: 5 to 60 s, depending on
// the build and the machine's load) has had every fault its plans name (the
// "A fired: ..." and "B fired: ..." counters). False for a shorter run.
bool expect_every_fault_fired(const SoakRun& run);
// The seed of a run: --seed, or a fresh one.
uint64_t seed_for_run();

}  // namespace safenic::soak
