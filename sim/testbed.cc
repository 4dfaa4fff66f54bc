#include "sim/testbed.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "nic/open.h"
#include "sim/simulated_function.h"

namespace safenic::sim {

absl::StatusOr<std::unique_ptr<Device>> Testbed::add_82599(const DeviceConfig& config) {
  Ixgbe82599Config mc;
  mc.mac.bytes[5] = static_cast<uint8_t>(ixgbe_.size() + 1);
  auto model = std::make_shared<Ixgbe82599>(ctx_, mc);
  ixgbe_.push_back(model);
  return open_device(std::make_unique<SimulatedFunction>(
                         model, ctx_, absl::StrFormat("sim:82599#%d", ixgbe_.size() - 1)),
                     config);
}

TrafficSource::TrafficSource(size_t frame_size, const UdpFlow& flow)
    : frame_(udp_frame(frame_size, flow, 0)) {}

void TrafficSource::inject(size_t n) {
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(frame_.data() + kUdpHeaders, &seq_, sizeof seq_);
    ++seq_;
    transmit(frame_);
  }
}

void TrafficSource::receive(absl::Span<const uint8_t> frame) {
  ++received_;
  received_bytes_ += frame.size();
}

}  // namespace safenic::sim
