// The kind registry, and open_device("sim:KIND"): a simulated NIC on its
// own, with a loopback plug in its port, so what it sends comes back to it.
// Each NIC opened so gets its own name and MAC address.
#include "sim/catalog.h"

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "mem/status.h"
#include "nic/open.h"
#include "sim/simulated_function.h"

namespace safenic::sim {
namespace {

std::vector<SimulatedKind>& registry() {
  static auto* kinds = new std::vector<SimulatedKind>();  // never destroyed: used from static init
  return *kinds;
}

// The names a kind answers to: its name and its aliases, lower case.
std::vector<std::string> names_of(const SimulatedKind& k) {
  std::vector<std::string> names = {absl::AsciiStrToLower(k.name)};
  for (absl::string_view a : absl::StrSplit(k.aliases, ',', absl::SkipEmpty())) {
    names.push_back(absl::AsciiStrToLower(a));
  }
  return names;
}

}  // namespace

bool register_simulated_kind(const SimulatedKind& kind) {
  for (const std::string& name : names_of(kind)) {
    if (const SimulatedKind* taken = find_kind(name); taken != nullptr) {
      std::fprintf(stderr,
                   "safenic: simulated NIC kind '%s' not registered: sim:%s is sim:%s's already\n",
                   std::string(kind.name).c_str(), name.c_str(), std::string(taken->name).c_str());
      return false;
    }
  }
  registry().push_back(kind);
  return true;
}

std::vector<const SimulatedKind*> simulated_kinds() {
  std::vector<const SimulatedKind*> out;
  for (const SimulatedKind& k : registry()) out.push_back(&k);
  std::sort(out.begin(), out.end(),
            [](const SimulatedKind* a, const SimulatedKind* b) { return a->name < b->name; });
  return out;
}

const SimulatedKind* find_kind(absl::string_view name) {
  const std::string want = absl::AsciiStrToLower(name);
  for (const SimulatedKind& k : registry()) {
    for (const std::string& n : names_of(k)) {
      if (n == want) return &k;
    }
  }
  return nullptr;
}

std::string kinds_help() {
  std::string out;
  for (const SimulatedKind* k : simulated_kinds()) {
    std::vector<std::string> aliases;
    for (absl::string_view a : absl::StrSplit(k->aliases, ',', absl::SkipEmpty()))
      aliases.push_back(absl::StrCat("sim:", a));
    absl::StrAppendFormat(
        &out, "  sim:%-15s %s%s\n", k->name, k->what,
        aliases.empty() ? "" : absl::StrCat(" (also ", absl::StrJoin(aliases, ", "), ")"));
  }
  return out;
}

std::string kind_names() {
  std::vector<std::string> names;
  for (const SimulatedKind* k : simulated_kinds()) names.push_back(absl::StrCat("sim:", k->name));
  return names.empty() ? "none (no simulated NIC model is linked)" : absl::StrJoin(names, ", ");
}

absl::StatusOr<SimulatedNic> make_simulated_nic(absl::string_view kind_name, SimContext ctx,
                                                uint32_t n) {
  const SimulatedKind* kind = find_kind(kind_name);
  if (kind == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "no simulated NIC model '%s'; available: %s (aliases such as sim:connectx-5 too; "
        "--help lists them)",
        kind_name, kind_names()));
  }
  MacAddress mac = kind->mac;
  mac.bytes[5] = static_cast<uint8_t>(mac.bytes[5] + n - 1);
  return kind->make(std::move(ctx), mac);
}

namespace {

absl::StatusOr<std::unique_ptr<PciFunction>> open_simulated(const DeviceSpec& spec,
                                                            const DeviceConfig&) {
  // The n-th NIC opened here: "sim:virtio", then "sim:virtio#2", ...; the
  // last byte of the default MAC address counts up the same way.
  static std::atomic<uint32_t> opened{0};
  const uint32_t n = ++opened;
  SimContext ctx;
  SAFENIC_ASSIGN_OR_RETURN(auto nic, make_simulated_nic(spec.target, ctx, n));
  const std::string name = n == 1 ? spec.text : absl::StrFormat("%s#%d", spec.text, n);
  connect(*nic.port, *nic.port);
  return std::make_unique<SimulatedFunction>(nic.model, ctx, name);
}

const bool kRegistered = register_function_provider(DeviceSpec::Kind::kSimulated, open_simulated);

}  // namespace
}  // namespace safenic::sim
