// The soak on two 82599s (tests/soak/forwarding_soak.h).
//
// NIC A (receives): link flaps and CRC errors as frames arrive, DMA faults on
// RX descriptor reads and buffer writes; the application's pauses overflow
// its 64-entry rings (MPC). NIC B (sends): link flaps at doorbells, DMA
// faults on TX descriptor fetches (the queue stalls until the next doorbell
// or progress()) and buffer reads, TX descriptor errors.
#include <memory>

#include "absl/strings/str_cat.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sim/ixgbe/faults.h"
#include "sim/ixgbe/model.h"
#include "tests/soak/forwarding_soak.h"

namespace safenic::soak {
namespace {

using Fault = sim::IxgbeFault;

class IxgbeSoak final : public ForwardingSoak {
 public:
  using ForwardingSoak::ForwardingSoak;

 private:
  absl::StatusOr<std::unique_ptr<Device>> add_nic(const DeviceConfig& config) override {
    return bed_.add("82599", config);
  }

  // Rates per opportunity: NIC A's per arriving frame (DMA: per descriptor
  // read and buffer write); NIC B's per doorbell (link flap), per descriptor
  // (errors), per fetch and read (DMA).
  void start_faults() override {
    faults_a_->random(Fault::kLinkFlap, 100'000)
        .random(Fault::kRxCrcError, 1'000)
        .random(Fault::kDmaFault, 5'000);
    faults_b_->random(Fault::kLinkFlap, 20'000)
        .random(Fault::kDmaFault, 3'000)
        .random(Fault::kTxDescriptorError, 2'000);
    for (auto* p : {faults_a_.get(), faults_b_.get()}) p->link_down_time = absl::Milliseconds(1);
    bed_.model<sim::Ixgbe82599>(0).set_faults(faults_a_);
    bed_.model<sim::Ixgbe82599>(1).set_faults(faults_b_);
  }
  void stop_faults() override {
    bed_.model<sim::Ixgbe82599>(0).set_faults(nullptr);
    bed_.model<sim::Ixgbe82599>(1).set_faults(nullptr);
  }

  void account(Ledger& l) override {
    const sim::Ixgbe82599 &a = bed_.model<sim::Ixgbe82599>(0), &b = bed_.model<sim::Ixgbe82599>(1);
    l.add("A dropped_link_down", a.dropped_link_down());
    l.add("A dropped_filtered", a.dropped_filtered());
    l.add("A rx_dma_faults", a.rx_dma_faults());
    l.add("B tx_descriptor_errors", b.tx_descriptor_errors());
    l.add("B tx_dma_faults", b.tx_dma_faults());
    l.add("B dropped_tx_link_down", b.dropped_tx_link_down());
    l.add("IOMMU fault reports", iommu_reports_);
    for (Fault f : {Fault::kLinkFlap, Fault::kRxCrcError, Fault::kDmaFault}) {
      l.add(absl::StrCat("A fired: ", sim::fault_name(f)), faults_a_->fired(f));
    }
    for (Fault f : {Fault::kLinkFlap, Fault::kDmaFault, Fault::kTxDescriptorError}) {
      l.add(absl::StrCat("B fired: ", sim::fault_name(f)), faults_b_->fired(f));
    }
    // Every frame the source sent reached the application or was counted
    // (FCTRL.SBP is clear: frames with CRC errors are discarded in CRCERRS).
    l.balance("NIC A receive", {"source sent"},
              {"app received", "A dropped_link_down", "A dropped_filtered", "A CRCERRS", "A MPC",
               "A rx_dma_faults", "A driver rx errors"});
    l.balance("NIC A good frames", {"A GPRC"}, {"A driver rx packets"});
    // Good frames before the address filter: taken, missed, filtered out or lost to a DMA fault.
    l.balance("NIC A before the filter", {"A RXNFGPC"},
              {"A GPRC", "A MPC", "A dropped_filtered", "A rx_dma_faults"});
    l.balance("NIC A missed (DROP_EN on every queue)", {"A MPC"}, {"A driver rx drops"});
    l.balance("NIC A CRC errors", {"A fired: RX CRC error"}, {"A CRCERRS"});
    l.balance("NIC A DMA faults", {"A fired: DMA fault"}, {"A rx_dma_faults"});
    // Every frame B's driver took reached the sink or was counted.
    l.balance(
        "NIC B transmit", {"B driver tx packets"},
        {"sink received", "B tx_descriptor_errors", "B tx_dma_faults", "B dropped_tx_link_down"});
    l.balance("NIC B good frames", {"B GPTC"}, {"sink received", "B dropped_tx_link_down"});
    l.balance("IOMMU", {"IOMMU fault reports"}, {"A fired: DMA fault", "B fired: DMA fault"});
  }

  std::shared_ptr<sim::IxgbeFaultPlan> faults_a_ =
      std::make_shared<sim::IxgbeFaultPlan>(seed_ ^ 0xA);
  std::shared_ptr<sim::IxgbeFaultPlan> faults_b_ =
      std::make_shared<sim::IxgbeFaultPlan>(seed_ ^ 0xB);
};

TEST(IxgbeSoak, EveryFrameIsAccountedForAndNothingLeaks) {
  const SoakRun run = IxgbeSoak(seed_for_run()).run(flags.iterations, absl::Seconds(flags.seconds));
  report("ixgbe", run);
  expect_clean(run);
  if (expect_every_fault_fired(run)) {
    EXPECT_GT(run.ledger.get("A MPC"), 0u) << "no paused queue overflowed";
  }
}

TEST(IxgbeSoak, ASeedRepeatsExactly) {
  const SoakRun first = IxgbeSoak(7).run(4 * kChunk, absl::ZeroDuration());
  const SoakRun second = IxgbeSoak(7).run(4 * kChunk, absl::ZeroDuration());
  const SoakRun other = IxgbeSoak(8).run(4 * kChunk, absl::ZeroDuration());
  expect_clean(first);
  EXPECT_EQ(first.ledger.counters(), second.ledger.counters());
  EXPECT_NE(first.ledger.counters(), other.ledger.counters());
}

}  // namespace
}  // namespace safenic::soak
