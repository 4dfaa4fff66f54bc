// Testbed: simulated NICs, cables and traffic for examples, benchmarks and
// tests. Devices are opened through open_device(), so whichever driver is
// linked and registered for the model's PCI id drives it (sim/ never includes
// a driver).
//
//   sim::Testbed bed;
//   auto nic = bed.add_82599(config);          // a Device on an 82599 model
//   sim::TrafficSource source(64, flow);       // a port that injects frames
//   sim::connect(source, bed.port(0));
//   source.inject(32);                         // 32 frames arrive at NIC 0
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "nic/device.h"
#include "sim/frames.h"
#include "sim/ixgbe/model.h"
#include "sim/model.h"
#include "sim/wire.h"

namespace safenic::sim {

class Testbed {
 public:
  // Adds an 82599 (MAC 02:00:00:00:82:<index+1>) and opens it.
  absl::StatusOr<std::unique_ptr<Device>> add_82599(const DeviceConfig& config);
  Ixgbe82599& ixgbe(size_t i) { return *ixgbe_[i]; }
  Port& port(size_t i) { return ixgbe_[i]->port(); }
  const SimContext& context() const { return ctx_; }

 private:
  SimContext ctx_;
  std::vector<std::shared_ptr<Ixgbe82599>> ixgbe_;
};

// A port that sends copies of one UDP frame, with rising sequence numbers, to
// whatever it is connected to; it counts what comes back.
class TrafficSource final : public Port {
 public:
  TrafficSource(size_t frame_size, const UdpFlow& flow);
  void inject(size_t n);
  void receive(absl::Span<const uint8_t> frame) override;

  uint64_t sent() const { return seq_; }
  uint64_t received() const { return received_; }
  uint64_t received_bytes() const { return received_bytes_; }

 private:
  std::vector<uint8_t> frame_;
  uint64_t seq_ = 0;
  uint64_t received_ = 0;
  uint64_t received_bytes_ = 0;
};

}  // namespace safenic::sim
