#include "sim/harness/testbed.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nic/open.h"
#include "sim/simulated_function.h"

namespace safenic::sim {

absl::StatusOr<std::unique_ptr<Device>> Testbed::add(std::shared_ptr<DeviceModel> model, Port& port,
                                                     const char* kind, MacAddress mac,
                                                     const DeviceConfig& config) {
  const std::string name = absl::StrFormat("sim:%s#%d", kind, models_.size());
  models_.push_back(model);
  ports_.push_back(&port);
  auto fn = std::make_unique<SimulatedFunction>(model, ctx_, name);
  nics_.push_back({name, mac, fn.get()});
  return open_device(std::move(fn), config);
}

UdpFlow Testbed::flow_to(size_t i) const {
  UdpFlow flow;
  flow.dst_mac = nics_[i].mac;
  return flow;
}

std::string Testbed::report() const {
  std::string out;
  SimLock lock(ctx_);
  for (size_t i = 0; i < models_.size(); ++i) {
    absl::StrAppendFormat(&out, "NIC %d (%s, %s):", i, nics_[i].name, nics_[i].mac.to_string());
    const std::map<std::string, uint64_t> drops = models_[i]->dropped_frames();
    if (drops.empty()) out += " no frame dropped";
    for (const auto& [reason, n] : drops) absl::StrAppendFormat(&out, " %s %d", reason, n);
    out += "\n";
  }
  out += ctx_.log->empty() ? "driver mistakes: none\n"
                           : absl::StrCat("driver mistakes:\n", ctx_.log->to_string(), "\n");
  return out;
}

absl::StatusOr<std::unique_ptr<Device>> Testbed::add(absl::string_view kind_name,
                                                     const DeviceConfig& config) {
  const SimulatedKind* kind = find_kind(kind_name);
  if (kind == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("no simulated NIC model '%s'; available: %s", kind_name, kind_names()));
  }
  MacAddress mac = kind->mac;
  mac.bytes[5] = static_cast<uint8_t>(models_.size() + 1);
  SimulatedNic nic = kind->make(ctx_, mac);
  return add(nic.model, *nic.port, std::string(kind->name).c_str(), nic.mac, config);
}

void Testbed::progress() {
  SimLock lock(ctx_);
  for (const auto& m : models_) m->progress();
}

TrafficSource::TrafficSource(size_t frame_size, const UdpFlow& flow)
    : frames_(kBurst, udp_frame(frame_size, flow, 0)) {
  for (const std::vector<uint8_t>& f : frames_) views_.emplace_back(f);
}

void TrafficSource::inject(size_t n) {
  while (n > 0) {
    const size_t burst = std::min(n, kBurst);
    for (size_t i = 0; i < burst; ++i) {
      std::memcpy(frames_[i].data() + kUdpHeaders, &seq_, sizeof seq_);
      ++seq_;
    }
    transmit_burst(absl::MakeConstSpan(views_).first(burst));
    n -= burst;
  }
}

void TrafficSource::receive(absl::Span<const uint8_t> frame) {
  ++received_;
  received_bytes_ += frame.size();
}

}  // namespace safenic::sim
