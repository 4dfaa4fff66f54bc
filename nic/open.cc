#include "nic/open.h"

#include <cstdio>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "mem/status.h"

namespace safenic {
namespace {

struct Registry {
  std::vector<DriverRegistration> drivers;
  FunctionProvider providers[3] = {};
};
Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: used from static init
  return *r;
}

const char* kind_name(DeviceSpec::Kind k) {
  switch (k) {
    case DeviceSpec::Kind::kSimulated: return "simulated devices (sim:...)";
    case DeviceSpec::Kind::kPci: return "PCI devices";
    case DeviceSpec::Kind::kVhostUser: return "vhost-user (vhost-user:...)";
  }
  return "?";
}

constexpr char kSpecHelp[] =
    "expected sim:KIND (a simulated NIC; the tools' --help lists the kinds), a PCI "
    "address like 0000:03:00.0, or vhost-user:/path/to.sock";

}  // namespace

absl::StatusOr<DeviceSpec> parse_device_spec(absl::string_view text) {
  DeviceSpec spec;
  spec.text = std::string(text);
  if (absl::StartsWith(text, "sim:")) {
    spec.kind = DeviceSpec::Kind::kSimulated;
    spec.target = std::string(text.substr(4));
    if (spec.target.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("device spec '%s' names no model; %s", text, kSpecHelp));
    }
    return spec;
  }
  if (absl::StartsWith(text, "vhost-user:")) {
    spec.kind = DeviceSpec::Kind::kVhostUser;
    spec.target = std::string(text.substr(11));
    if (spec.target.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("device spec '%s' names no socket path; %s", text, kSpecHelp));
    }
    return spec;
  }
  // PCI: [DDDD:]BB:DD.F, hex; device 0-1f, function 0-7.
  unsigned domain = 0, bus, dev, fn;
  int used = 0;
  const std::string s(text);
  bool ok = std::sscanf(s.c_str(), "%4x:%2x:%2x.%1x%n", &domain, &bus, &dev, &fn, &used) == 4 &&
            used == static_cast<int>(s.size());
  if (!ok) {
    domain = 0;
    ok = std::sscanf(s.c_str(), "%2x:%2x.%1x%n", &bus, &dev, &fn, &used) == 3 &&
         used == static_cast<int>(s.size());
  }
  if (!ok || dev > 0x1f || fn > 7) {
    return absl::InvalidArgumentError(
        absl::StrFormat("'%s' is not a device spec; %s", text, kSpecHelp));
  }
  spec.kind = DeviceSpec::Kind::kPci;
  spec.target = absl::StrFormat("%04x:%02x:%02x.%x", domain, bus, dev, fn);
  return spec;
}

bool register_driver(const DriverRegistration& driver) {
  registry().drivers.push_back(driver);
  return true;
}

bool register_function_provider(DeviceSpec::Kind kind, FunctionProvider provider) {
  registry().providers[static_cast<int>(kind)] = provider;
  return true;
}

bool takes(absl::Span<const SupportedDevice> devices, PciId id) {
  for (const SupportedDevice& d : devices) {
    if (d.id == id) return true;
  }
  return false;
}

absl::string_view driver_for(PciId id) {
  for (const DriverRegistration& d : registry().drivers) {
    if (takes(d.devices, id)) return d.name;
  }
  return "";
}

absl::string_view device_model(PciId id) {
  for (const DriverRegistration& d : registry().drivers) {
    for (const SupportedDevice& s : d.devices) {
      if (s.id == id) return s.model;
    }
  }
  return "";
}

absl::StatusOr<std::unique_ptr<Device>> open_device(std::unique_ptr<PciFunction> fn,
                                                    const DeviceConfig& config) {
  const PciId id = fn->id();
  std::vector<std::string> linked;
  for (const DriverRegistration& d : registry().drivers) {
    if (takes(d.devices, id)) return d.open(std::move(fn), config);
    linked.push_back(absl::StrFormat("%s (%s)", d.name, d.family));
  }
  return absl::NotFoundError(absl::StrFormat(
      "%s: no safenic driver supports PCI device %04x:%04x; drivers linked: %s", fn->name(),
      id.vendor, id.device, linked.empty() ? "none" : absl::StrJoin(linked, ", ")));
}

absl::StatusOr<std::unique_ptr<Device>> open_device(absl::string_view text,
                                                    const DeviceConfig& config) {
  SAFENIC_ASSIGN_OR_RETURN(auto spec, parse_device_spec(text));
  const int kind = static_cast<int>(spec.kind);
  FunctionProvider provider = registry().providers[kind];
  if (provider == nullptr) {
    // Either the library is not linked, or its registration (a static
    // initializer) was: a linker drops unreferenced members of a static archive.
    const bool sim = spec.kind == DeviceSpec::Kind::kSimulated;
    return absl::UnimplementedError(absl::StrFormat(
        "cannot open '%s': no support for %s is registered in this program. Link %s "
        "(Bazel: %s; CMake: %s; pkg-config: %s). If you do, your linker dropped its "
        "self-registration: link a static %s whole (-Wl,--whole-archive ... "
        "-Wl,--no-whole-archive, as the CMake target and the .pc file do; Bazel's targets "
        "are alwayslink)",
        text, kind_name(spec.kind), sim ? "safenic's simulator" : "safenic's drivers",
        sim ? "//:sim" : "//:safenic", sim ? "safenic::sim" : "safenic::safenic",
        sim ? "safenic-sim" : "safenic", sim ? "libsafenic_sim.a" : "libsafenic.a"));
  }
  SAFENIC_ASSIGN_OR_RETURN(auto fn, provider(spec, config));
  return open_device(std::move(fn), config);
}

}  // namespace safenic
