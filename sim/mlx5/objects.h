// The ConnectX model's firmware objects (docs/connectx.md §4): what each CREATE_*
// command makes, with the state the PRM gives it. Internal to sim/mlx5.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
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
  uint64_t offset_mask = (uint64_t{1} << log_page) - 1;  // kept by set_log_page()
  void set_log_page(uint32_t log) {
    log_page = log;
    offset_mask = (uint64_t{1} << log) - 1;
  }
  uint64_t at(uint64_t off) const { return pas[off >> log_page] + (off & offset_mask); }
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
  // The consumer index as last read from the doorbell record: read again only
  // when the CQ looks full by it (consumers only move it forward).
  uint32_t ci = 0;
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
  // An RQ's receive counter as last read from its doorbell record: the model
  // reads the record again only when it has consumed every WQE it knew of.
  uint16_t posted = 0;
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
  // The words the criteria look at (mask not 0), so a frame is matched on those only.
  uint8_t matched_words[8];
  uint8_t matched_count = 0;
  void index_matched_words() {
    matched_count = 0;
    for (uint8_t i = 0; i < 8; ++i) {
      if (mask[i] != 0) matched_words[matched_count++] = i;
    }
  }
  // `headers`: the frame's 64-byte fte_match_set_lyr_2_4 image.
  bool matches(const uint8_t* headers) const {
    for (uint8_t k = 0; k < matched_count; ++k) {
      const uint8_t i = matched_words[k];
      uint64_t word;
      std::memcpy(&word, headers + 8 * i, 8);
      if ((word & mask[i]) != value[i]) return false;
    }
    return true;
  }
};
struct FlowTable {
  uint32_t type, level, log_size;
  std::map<uint32_t, FlowGroup> groups;
  std::map<uint32_t, FlowEntry> entries;   // by flow index: matched in order
  std::vector<const FlowEntry*> in_order;  // the same entries, for the datapath
  void entries_changed() {
    in_order.clear();
    for (const auto& [index, e] : entries) in_order.push_back(&e);
  }
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

  // The datapath looks the same objects up for every frame: a one-entry
  // cache in front of each map it uses. Destroying any object empties them
  // (forget_lookups()); creating one cannot move the others (std::map).
  Wq* wq(uint32_t n) { return cached(wqs, wq_cache_, n); }
  Cq* cq(uint32_t n) { return cached(cqs, cq_cache_, n); }
  Tir* tir(uint32_t n) { return cached(tirs, tir_cache_, n); }
  FlowTable* table(uint32_t n) { return cached(tables, table_cache_, n); }
  void forget_lookups() { wq_cache_ = {}, cq_cache_ = {}, tir_cache_ = {}, table_cache_ = {}; }
  size_t count() const {
    size_t n = uars.size() + pds.size() + tds.size() + eqs.size() + cqs.size() + wqs.size() +
               tises.size() + tirs.size() + rqts.size() + tables.size();
    for (const auto& [id, t] : tables) n += t.groups.size() + t.entries.size();
    return n;
  }

 private:
  template <typename T>
  struct Cache {
    uint32_t id = 0;
    T* object = nullptr;
  };
  template <typename T>
  static T* cached(std::map<uint32_t, T>& map, Cache<T>& cache, uint32_t n) {
    if (cache.object != nullptr && cache.id == n) return cache.object;
    auto it = map.find(n);
    if (it == map.end()) return nullptr;
    cache = {n, &it->second};
    return cache.object;
  }
  Cache<Wq> wq_cache_;
  Cache<Cq> cq_cache_;
  Cache<Tir> tir_cache_;
  Cache<FlowTable> table_cache_;
};

// The vport and the physical port (docs/connectx.md §7).
struct PortState {
  MacAddress mac;
  uint32_t vport_mtu = 0;  // 0: not set (the port MTU applies)
  bool promisc_uc = false, promisc_mc = false, promisc_all = false;
  std::vector<MacAddress> allowed_uc;  // unicast addresses the vport takes besides `mac`
  bool admin_up = false;               // PAOS admin_status; a closing driver leaves it down
  uint32_t max_mtu = 9216, admin_mtu = 1522;
  // The largest frame the vport takes (FCS included): the smaller of the
  // two MTUs, kept by set_mtus() so a frame pays one comparison.
  uint32_t receive_mtu = admin_mtu;
  void set_mtus(uint32_t vport, uint32_t admin) {
    vport_mtu = vport;
    admin_mtu = admin;
    receive_mtu = vport != 0 ? std::min(vport, admin) : admin;
  }
};

}  // namespace safenic::sim::cx
