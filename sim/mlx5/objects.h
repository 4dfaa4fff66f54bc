// The ConnectX model's firmware objects (docs/connectx.md §4): what each CREATE_*
// command makes, with the state the PRM gives it. Internal to sim/mlx5.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "nic/mac_address.h"

namespace safenic::sim::cx {

// Memory a queue lives in: its physical address list (pas) and page size.
struct Pages {
  std::vector<uint64_t> pas;
  uint32_t log_page = 12;
  uint64_t at(uint64_t off) const {
    return pas[off >> log_page] + (off & ((uint64_t{1} << log_page) - 1));
  }
};

struct Eq {
  Pages mem;
  uint32_t log_size, uar;
  uint64_t events;  // event_bitmask
  uint32_t pi = 0, ci = 0;
};
struct Cq {
  Pages mem;
  uint32_t log_size, uar, eqn;
  uint64_t dbr;
  bool oi;
  uint32_t pi = 0;  // CQEs written (24-bit counter)
  bool overrun = false;
};
// An SQ or an RQ (they share one number space, as QPs do).
struct Wq {
  bool send;
  uint8_t state;  // mlx5::WqState
  uint32_t cqn, pd, uar, tis = 0;
  uint64_t dbr;
  Pages mem;
  uint32_t log_stride, log_size;
  uint16_t counter = 0;  // WQEs consumed (the hardware counter)
  bool rlkey, flush_in_error;
  uint32_t min_inline = 0;
};
struct Tir {
  bool indirect;
  uint32_t rqn = 0, rqt = 0, td;
  uint32_t l3 = 0, l4 = 0, fields = 0;
  uint8_t key[40] = {};
};
struct FlowGroup {
  uint32_t start, end;
  uint8_t criteria[64];  // mask over the outer headers
};
struct FlowEntry {
  uint32_t group, action;
  std::vector<std::pair<uint32_t, uint32_t>> dests;  // (type, id)
  uint64_t mask[8], value[8];  // the group's criteria and the entry's value, as words
};
struct FlowTable {
  uint32_t type, level, log_size;
  std::map<uint32_t, FlowGroup> groups;
  std::map<uint32_t, FlowEntry> entries;  // by flow index: matched in order
};

struct Objects {
  std::set<uint32_t> uars, pds, tds;
  std::map<uint32_t, Eq> eqs;
  std::map<uint32_t, Cq> cqs;
  std::map<uint32_t, Wq> wqs;
  std::map<uint32_t, uint32_t> tises;  // -> transport domain
  std::map<uint32_t, Tir> tirs;
  std::map<uint32_t, std::vector<uint32_t>> rqts;
  std::map<uint32_t, FlowTable> tables;
  std::optional<uint32_t> root;  // the NIC RX root flow table
  size_t count() const {
    size_t n = uars.size() + pds.size() + tds.size() + eqs.size() + cqs.size() + wqs.size() +
               tises.size() + tirs.size() + rqts.size() + tables.size();
    for (const auto& [id, t] : tables) n += t.groups.size() + t.entries.size();
    return n;
  }
};

// The vport and the physical port (docs/connectx.md §7).
struct PortState {
  MacAddress mac;
  uint32_t vport_mtu = 0;  // 0: not set (the port MTU applies)
  bool promisc_uc = false, promisc_mc = false, promisc_all = false;
  std::vector<MacAddress> allowed_uc;  // unicast addresses the vport takes besides `mac`
  bool admin_up = false;  // PAOS admin_status; a closing driver leaves it down
  uint32_t max_mtu = 9216, admin_mtu = 1522;
};

}  // namespace safenic::sim::cx
