#include "nic/device.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "mem/status.h"

namespace safenic {

QueueStats DeviceStats::rx_total() const {
  QueueStats t;
  for (const auto& q : rx) t += q;
  return t;
}

QueueStats DeviceStats::tx_total() const {
  QueueStats t;
  for (const auto& q : tx) t += q;
  return t;
}

absl::Status validate(const DeviceConfig& c, const DeviceLimits& l) {
  if (c.rx_queues < 1 || c.rx_queues > l.max_rx_queues) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %d RX queues requested; use 1 to %d",
                                                      l.driver, c.rx_queues, l.max_rx_queues));
  }
  if (c.tx_queues < 1 || c.tx_queues > l.max_tx_queues) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %d TX queues requested; use 1 to %d",
                                                      l.driver, c.tx_queues, l.max_tx_queues));
  }
  for (uint32_t size : {c.rx_ring_size, c.tx_ring_size}) {
    if (size < l.min_ring || size > l.max_ring || (size & (size - 1)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: ring size %d; use a power of two from %d to %d", l.driver, size,
                          l.min_ring, l.max_ring));
    }
  }
  SAFENIC_RETURN_IF_ERROR(validate_offloads(c, l.capabilities, l.driver));
  if (c.buffers_per_rx_queue <= c.rx_ring_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d buffers per RX queue leave none to receive into beside a %d-entry ring; use "
        "more than the ring size (twice it for forwarding)",
        l.driver, c.buffers_per_rx_queue, c.rx_ring_size));
  }
  return absl::OkStatus();
}

std::string OffloadSet::to_string() const {
  static constexpr std::pair<Offload, const char*> kNames[] = {
      {Offload::kRxChecksum, "rx-checksum"},
      {Offload::kTxL4Checksum, "tx-l4-checksum"},
      {Offload::kTxIpv4Checksum, "tx-ipv4-checksum"},
      {Offload::kRxRssHash, "rx-rss-hash"},
  };
  std::vector<std::string> names;
  for (const auto& [offload, name] : kNames) {
    if (has(offload)) names.push_back(name);
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

absl::Status validate_offloads(const DeviceConfig& c, const DeviceCapabilities& caps,
                               absl::string_view driver) {
  if (c.mtu < 68 || c.mtu > caps.max_mtu) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: MTU %d; use 68 to %d", driver, c.mtu, caps.max_mtu));
  }
  if (const OffloadSet missing = c.offloads.without(caps.offloads); !missing.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s cannot offload %s (it can: %s; see Device::capabilities()); leave it out of "
        "DeviceConfig::offloads and do it in software",
        driver, missing.to_string(), caps.offloads.to_string()));
  }
  return absl::OkStatus();
}

absl::Status Device::wait_for_link(absl::Duration timeout) {
  const absl::Time deadline = now() + timeout;
  for (;;) {
    if (link().up) return absl::OkStatus();
    if (now() >= deadline) break;
    sleep(absl::Milliseconds(1));
  }
  return absl::DeadlineExceededError(
      absl::StrFormat("%s (%s): link is still down after %s; check the cable or the simulated "
                      "wire, the link partner, and the port's speed settings",
                      name(), driver(), absl::FormatDuration(timeout)));
}

absl::Status Device::removed() const {
  return absl::UnavailableError(absl::StrFormat(
      "%s: the system asks for the device back (hot unplug, or its driver unbound): close "
      "it (drop the Device); it sends and receives nothing more",
      name()));
}

absl::Status Device::bad_queue(const char* dir, uint16_t queue, uint16_t count) const {
  return absl::OutOfRangeError(
      absl::StrFormat("%s: %s queue %d does not exist; the device was opened with %d %s "
                      "queue(s) (DeviceConfig::%s_queues)",
                      name(), dir, queue, count, dir, dir));
}

static std::string describe(const MacFilter& f) {
  return f.vlan ? absl::StrFormat("%s on VLAN %d", f.mac.to_string(), *f.vlan)
                : absl::StrFormat("%s untagged", f.mac.to_string());
}

absl::Status Device::check(const MacFilter& f) const {
  if (f.rx_queue >= rx_queues_) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%s: MAC filter for RX queue %d, which does not exist; the device has %d RX queue(s) "
        "(DeviceConfig::rx_queues)",
        name(), f.rx_queue, rx_queues_));
  }
  if (f.vlan && *f.vlan > 4095) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: VLAN %d in a MAC filter; 802.1Q VLAN ids are 0 to 4095", name(), *f.vlan));
  }
  if (f.mac.is_multicast() || f.mac == MacAddress{}) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %s is not a unicast address; MAC filters take unicast addresses (for multicast "
        "and broadcast use promiscuous mode)",
        name(), f.mac.to_string()));
  }
  for (const auto& [id, s] : filters_) {
    if (s.filter.mac == f.mac && s.filter.vlan == f.vlan) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "%s: a MAC filter for %s exists already (id %d, RX queue %d); remove it first to "
          "move it",
          name(), describe(f), id, s.filter.rx_queue));
    }
  }
  return absl::OkStatus();
}

absl::Status Device::no_mac_filters() const {
  return absl::UnimplementedError(absl::StrFormat(
      "%s (%s): no MAC/VLAN filters on this driver (mlx5 has them); use promiscuous mode "
      "(set_promiscuous) and sort frames by address in software",
      name(), driver()));
}

absl::StatusOr<FilterId> Device::add_mac_filter(const MacFilter& filter) {
  const uint32_t max = max_mac_filters();
  if (max == 0) return no_mac_filters();
  SAFENIC_RETURN_IF_ERROR(check(filter));
  std::vector<bool> used(max);
  for (const auto& [id, s] : filters_) used[s.slot] = true;
  uint32_t slot = 0;
  while (slot < max && used[slot]) ++slot;
  if (slot == max) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: all %d MAC filters are in use; remove one (remove_mac_filter) or use promiscuous "
        "mode",
        name(), max));
  }
  SAFENIC_RETURN_IF_ERROR(install_mac_filter(filter, slot));
  const FilterId id{next_filter_id_++};
  filters_[id.value] = {filter, slot};
  return id;
}

absl::Status Device::remove_mac_filter(FilterId id) {
  if (max_mac_filters() == 0) return no_mac_filters();
  auto it = filters_.find(id.value);
  if (it == filters_.end()) {
    return absl::NotFoundError(absl::StrFormat(
        "%s: no MAC filter with id %d (removed already, or never added to this device)", name(),
        id.value));
  }
  const Slot s = it->second;
  filters_.erase(it);  // mac_filters() no longer lists it
  absl::Status status = uninstall_mac_filter(s.slot);
  if (!status.ok()) filters_[id.value] = s;  // still there; removing it may be tried again
  return status;
}

std::vector<MacFilter> Device::mac_filters() const {
  std::vector<MacFilter> out;
  for (const auto& [id, s] : filters_) out.push_back(s.filter);
  return out;
}

absl::StatusOr<MacAddress> MacAddress::parse(absl::string_view text) {
  MacAddress mac;
  unsigned b[6];
  char tail;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                  &tail) != 6 ||
      s.size() != 17) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is not a MAC address; write six hex bytes like 02:00:00:00:00:01", text));
  }
  for (int i = 0; i < 6; ++i) mac.bytes[i] = static_cast<uint8_t>(b[i]);
  return mac;
}

std::string MacAddress::to_string() const {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3],
                         bytes[4], bytes[5]);
}

}  // namespace safenic
