// Simulated time that keeps up with real time, for models driven by a program
// that waits in real time (a VFIO user reads absl::Now(), not the simulation's
// clock): a thread advances the context's clock by the real time elapsed and
// lets each model progress, every `period`, holding the context's lock (use
// SimContext::serialized(): the program's own accesses take it too).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sim/model.h"

namespace safenic::sim {

class RealTimeProgress {
 public:
  // `tick`, if set, runs after the models progressed, under the lock (a
  // traffic source injecting frames, say).
  RealTimeProgress(SimContext context, std::vector<std::shared_ptr<DeviceModel>> models,
                   absl::Duration period = absl::Milliseconds(1),
                   std::function<void()> tick = nullptr)
      : context_(std::move(context)),
        models_(std::move(models)),
        period_(period),
        tick_(std::move(tick)),
        thread_([this] { run(); }) {}
  ~RealTimeProgress() {
    stop_.store(true);
    thread_.join();
  }
  RealTimeProgress(const RealTimeProgress&) = delete;
  RealTimeProgress& operator=(const RealTimeProgress&) = delete;

 private:
  void run() {
    absl::Time last = absl::Now();
    while (!stop_.load()) {
      absl::SleepFor(period_);
      const absl::Time now = absl::Now();
      SimLock lock(context_);
      context_.clock->advance(now - last);
      last = now;
      for (const auto& m : models_) m->progress();
      if (tick_) tick_();
    }
  }

  SimContext context_;
  std::vector<std::shared_ptr<DeviceModel>> models_;
  absl::Duration period_;
  std::function<void()> tick_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace safenic::sim
