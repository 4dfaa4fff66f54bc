// Testbed: simulated NICs, cables and traffic for examples, benchmarks and
// tests. Devices are opened through open_device(), so whichever driver is
// linked and registered for the model's PCI id drives it (sim/ never includes
// a driver).
//
//   sim::Testbed bed;
//   auto nic = bed.add("82599", config);       // a Device on an 82599 model
//   sim::TrafficSource source(64, flow);       // a port that injects frames
//   sim::connect(source, bed.port(0));
//   source.inject(32);                         // 32 frames arrive at NIC 0
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nic/device.h"
#include "sim/catalog.h"
#include "sim/harness/frames.h"
#include "sim/model.h"
#include "sim/wires/wire.h"

namespace safenic::sim {

class Testbed {
 public:
  // SimContext::serialized() lets several threads drive the NICs (one per queue).
  explicit Testbed(SimContext ctx = {}) : ctx_(std::move(ctx)) {}

  // Adds a NIC of a registered kind (sim/catalog.h: "82599", "virtio",
  // "cx5", an alias, ...) and opens it. Its MAC address is its kind's with
  // the last byte n, counting every NIC of the bed from 1 (02:00:00:00:82:01).
  absl::StatusOr<std::unique_ptr<Device>> add(absl::string_view kind, const DeviceConfig& config);
  // Adds a model made with `model_config` (its address's last byte set to n,
  // as above) and opens it: any model constructed from (SimContext, Config)
  // with a port() and a kShortName, e.g.
  //   bed.add<sim::VirtioNetModel>(sim::VirtioNetConfig{.legacy = true}, config);
  template <typename Model, typename Config>
  absl::StatusOr<std::unique_ptr<Device>> add(Config model_config, const DeviceConfig& config) {
    model_config.mac.bytes[5] = static_cast<uint8_t>(models_.size() + 1);
    auto model = std::make_shared<Model>(ctx_, model_config);
    return add(model, model->port(), Model::kShortName, model_config.mac, config);
  }
  // The port of NIC i (in the order added).
  Port& port(size_t i) { return *ports_[i]; }
  // NIC i's model as a Model (sim::Ixgbe82599, ...), for fault injection and
  // inspection. Checked: a NIC of another model stops the program, saying so.
  template <typename Model>
  Model& model(size_t i) const {
    auto* m = i < models_.size() ? dynamic_cast<Model*>(models_[i].get()) : nullptr;
    if (m == nullptr) {
      std::fprintf(
          stderr, "Testbed::model<%s>(%zu): %s\n", typeid(Model).name(), i,
          i < models_.size()
              ? ("NIC " + std::to_string(i) + " is " + nics_[i].name + ", another model").c_str()
              : "no such NIC");
      std::abort();
    }
    return *m;
  }
  const SimContext& context() const { return ctx_; }
  // NIC i's PCI function, which its Device owns: valid while that is open
  // (for request_removal(), as a hot unplug would).
  PciFunction& function(size_t i) { return *nics_[i].function; }
  // The MAC address NIC i was made with (what its driver's mac() reads).
  MacAddress mac(size_t i) const { return nics_[i].mac; }
  // A flow addressed to NIC i, which its address filter takes: send it from
  // a TesterPort or TrafficSource connected to port(i).
  UdpFlow flow_to(size_t i) const;
  // What went wrong, for a test's failure message: each NIC's dropped frames
  // by reason (DeviceModel::dropped_frames(), counted by the device or not)
  // and the driver mistakes in the violation log. One line per NIC.
  std::string report() const;
  // Every model's progress() (frames from wires, link changes, retries), under
  // the context's lock.
  void progress();

 private:
  absl::StatusOr<std::unique_ptr<Device>> add(std::shared_ptr<DeviceModel> model, Port& port,
                                              const char* kind, MacAddress mac,
                                              const DeviceConfig& config);
  struct Nic {
    std::string name;  // the spec its device was opened with: sim:<kind>#<i>
    MacAddress mac;
    PciFunction* function = nullptr;  // owned by the device
  };
  SimContext ctx_;
  std::vector<std::shared_ptr<DeviceModel>> models_;
  std::vector<Port*> ports_;
  std::vector<Nic> nics_;
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
  // inject() sends bursts of up to kBurst frames, each stamped with its sequence number.
  static constexpr size_t kBurst = 32;
  std::vector<std::vector<uint8_t>> frames_;
  std::vector<absl::Span<const uint8_t>> views_;
  uint64_t seq_ = 0;
  uint64_t received_ = 0;
  uint64_t received_bytes_ = 0;
};

}  // namespace safenic::sim
