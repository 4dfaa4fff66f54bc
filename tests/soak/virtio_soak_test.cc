// The soak on two virtio-net devices (modern, packed rings, 4 queue pairs;
// tests/soak/forwarding_soak.h).
//
// NIC A (receives): used elements with ids it never made available (the
// frame is lost, counted in bad_completions, and the queue goes on one buffer
// short until close, so these are limited) and impossible lengths (counted
// RX errors); paused queues run out of buffers (rx_dropped). NIC B (sends):
// the same faults on TX completions, which lose no frame. DEVICE_NEEDS_RESET
// needs a reopen and is left to tests/faults.
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sim/virtio/faults.h"
#include "sim/virtio/model.h"
#include "tests/soak/forwarding_soak.h"

namespace safenic::soak {
namespace {

using Fault = sim::VirtioFault;

class VirtioSoak final : public ForwardingSoak {
 public:
  using ForwardingSoak::ForwardingSoak;

 private:
  absl::StatusOr<std::unique_ptr<Device>> add_nic(const DeviceConfig& config) override {
    return bed_.add("virtio", config);
  }

  // Rates per used element; a bad id costs its queue a buffer, so at most 16.
  void start_faults() override {
    for (auto* p : {faults_a_.get(), faults_b_.get()}) {
      p->random(Fault::kBadUsedId, 20'000, 0, 16).random(Fault::kBadUsedLen, 2'000);
    }
    bed_.model<sim::VirtioNetModel>(0).set_faults(faults_a_);
    bed_.model<sim::VirtioNetModel>(1).set_faults(faults_b_);
  }
  void stop_faults() override {
    bed_.model<sim::VirtioNetModel>(0).set_faults(nullptr);
    bed_.model<sim::VirtioNetModel>(1).set_faults(nullptr);
  }

  void account(Ledger& l) override {
    const sim::VirtioNetModel& a = bed_.model<sim::VirtioNetModel>(0);
    l.add("A rx_dropped (no buffer)", a.rx_dropped());
    l.add("A rx_filtered", a.rx_filtered());
    for (Fault f : {Fault::kBadUsedId, Fault::kBadUsedLen}) {
      l.add(absl::StrCat("A fired: ", sim::fault_name(f)), faults_a_->fired(f));
      l.add(absl::StrCat("B fired: ", sim::fault_name(f)), faults_b_->fired(f));
    }
    // Every frame the source sent reached the application or was counted. A
    // bad id hides the frame (and its length) from the driver.
    l.balance("NIC A receive", {"source sent"},
              {"app received", "A rx_dropped (no buffer)", "A rx_filtered", "A driver rx errors",
               "A bad_completions"});
    l.balance("NIC A bad ids", {"A fired: bad used id"}, {"A bad_completions"});
    l.balance("NIC B transmit", {"B driver tx packets"}, {"sink received"});
    l.balance("NIC B bad ids", {"B fired: bad used id"}, {"B bad_completions"});
  }

  std::shared_ptr<sim::VirtioFaultPlan> faults_a_ =
      std::make_shared<sim::VirtioFaultPlan>(seed_ ^ 0xA);
  std::shared_ptr<sim::VirtioFaultPlan> faults_b_ =
      std::make_shared<sim::VirtioFaultPlan>(seed_ ^ 0xB);
};

TEST(VirtioSoak, EveryFrameIsAccountedForAndNothingLeaks) {
  const SoakRun run =
      VirtioSoak(seed_for_run()).run(flags.iterations, absl::Seconds(flags.seconds));
  report("virtio", run);
  expect_clean(run);
  if (expect_every_fault_fired(run)) {
    EXPECT_GT(run.ledger.get("A rx_dropped (no buffer)"), 0u) << "no paused queue overflowed";
  }
}

TEST(VirtioSoak, ASeedRepeatsExactly) {
  const SoakRun first = VirtioSoak(7).run(4 * kChunk, absl::ZeroDuration());
  const SoakRun second = VirtioSoak(7).run(4 * kChunk, absl::ZeroDuration());
  const SoakRun other = VirtioSoak(8).run(4 * kChunk, absl::ZeroDuration());
  expect_clean(first);
  EXPECT_EQ(first.ledger.counters(), second.ledger.counters());
  EXPECT_NE(first.ledger.counters(), other.ledger.counters());
}

}  // namespace
}  // namespace safenic::soak
