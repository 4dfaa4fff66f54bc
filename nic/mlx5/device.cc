// mlx5: the ConnectX-4/4 Lx/5 driver behind the device API. open() brings
// the HCA up (nic/mlx5/hca.cc), then makes, in the digest's order (§4): a
// UAR, an EQ (polled for port-change and error events), a PD, a transport
// domain, the reserved lkey, the vport's MAC and MTU, a TIS, per queue a CQ
// and an SQ or RQ in RDY (nic/mlx5/queues.cc), then NIC RX steering: the root
// flow table matches the destination MAC (or, promiscuous, anything) and
// forwards to a direct TIR, or with RSS to a second table that sends IPv4
// TCP, UDP and other IPv4 to indirect TIRs hashing over an RQT, the rest to
// RQ 0. MAC filters (add_mac_filter) are root-table entries ahead of those,
// matching the destination MAC and the 802.1Q tag, each forwarding to a direct
// TIR on its queue; their addresses join the vport's allowed list. Everything
// made is undone in reverse at close, then the HCA is torn
// down: every page and buffer comes back.
//
// Faults (README "Fault injection"): a failed WQE's queue is brought back by
// its fast path (nic/mlx5/queues.cc); link() and stats() read the health
// syndrome first (a dead firmware stops the data path and says so), drain the
// EQ (a CQ error remakes a send queue, or marks a receive queue broken), and
// link() re-reads the port when events have been quiet for a second: a port
// that changed without an event means the EQ stalled, and link() polls from
// then on. Page requests from the running firmware are answered there too.
#include "nic/mlx5/mlx5.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/hca.h"
#include "nic/mlx5/queues.h"
#include "nic/mlx5/wqe.h"
#include "nic/open.h"

namespace safenic::mlx5 {
namespace {

constexpr uint32_t kMaxQueues = 64;
constexpr uint32_t kEqEntries = 64;
constexpr uint32_t kMtu = 1500;
constexpr uint32_t kRqtSize = 128;  // RSS buckets, dealt round-robin to the RQs
constexpr absl::Duration kLinkRecheck = absl::Seconds(1);  // events or not, look again
constexpr uint32_t kMaxLogQueue = 24;  // CQ and WQ counters are 24 bits wide
// The Toeplitz key of Microsoft's RSS specification, as ixgbe uses it.
constexpr uint8_t kRssKey[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
constexpr uint64_t kEvents = uint64_t{1} << kEventCqError | uint64_t{1} << kEventWqCatastrophic |
                             uint64_t{1} << kEventInternalError | uint64_t{1} << kEventPortChange |
                             uint64_t{1} << kEventPageRequest;
// The root table: [0, 64) MAC filters (a group on the destination MAC,
// cvlan_tag and first_vid), [64] our MAC, [65] broadcast (a group on the
// destination MAC), [66] anything (promiscuous).
constexpr uint32_t kMaxFilters = 64, kPromiscIndex = kMaxFilters + 2, kLogRootSize = 7;
constexpr MacAddress kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

using Headers = absl::FunctionRef<void(LayoutRef<OuterHeaders>)>;
void no_headers(LayoutRef<OuterHeaders>) {}
struct Dest {
  uint32_t type, id;
};
void set_dmac(LayoutRef<OuterHeaders> h, const MacAddress& m) {
  const auto& b = m.bytes;
  h.set<OuterHeaders::DMAC_47_16>(uint32_t{b[0]} << 24 | b[1] << 16 | b[2] << 8 | b[3])
      .set<OuterHeaders::DMAC_15_0>(b[4] << 8 | b[5]);
}

class Mlx5Device final : public Device {
 public:
  Mlx5Device(std::unique_ptr<PciFunction> fn, const DeviceConfig& config)
      : Device(config.rx_queues, config.tx_queues), fn_(std::move(fn)), config_(config),
        rx_(config.rx_queues), tx_(config.tx_queues) {}
  ~Mlx5Device() override { close(); }

  absl::Status open();
  absl::string_view driver() const override { return "mlx5"; }
  std::string name() const override { return fn_->name(); }
  MacAddress mac() const override { return mac_; }
  LinkStatus link() override;
  absl::StatusOr<DeviceStats> stats() override;
  absl::Status set_promiscuous(bool on) override;

 protected:
  size_t receive(uint16_t queue, PacketBatch& batch) override {
    return ABSL_PREDICT_FALSE(stopped_) ? 0 : rx_[queue].receive(batch);
  }
  size_t transmit(uint16_t queue, PacketBatch& batch) override {
    return ABSL_PREDICT_FALSE(stopped_) ? 0 : tx_[queue].transmit(batch);
  }
  const DmaAllocator& dma() const override { return fn_->dma(); }
  uint32_t max_mac_filters() const override { return kMaxFilters; }
  absl::Status install_mac_filter(const MacFilter& f, uint32_t slot) override;
  absl::Status uninstall_mac_filter(uint32_t slot) override;
  absl::Time now() override { return fn_->now(); }
  void sleep(absl::Duration d) override { fn_->sleep(d); }

 private:
  CommandQueue& cmdq() { return hca_->cmdq(); }
  // Runs a CREATE_*/ALLOC_* command; the object is undone at close.
  template <typename Cmd, typename Fill>
  absl::StatusOr<uint32_t> make(uint16_t undo_opcode, Fill fill, size_t extra_in = 0,
                                uint32_t table = 0);
  template <typename Reg>
  absl::StatusOr<Output<Reg>> port_register(uint16_t op_mod,
                                            absl::FunctionRef<void(LayoutRef<Reg>)> fill);
  absl::Status create_eq();
  absl::Status set_vport(uint32_t select, uint32_t mtu, bool promisc);
  absl::StatusOr<uint32_t> create_tir(bool indirect, uint32_t target, uint32_t l4, uint32_t fields);
  absl::StatusOr<uint32_t> create_table(uint32_t level, uint32_t log_size);
  absl::StatusOr<uint32_t> create_group(uint32_t table, uint32_t start, uint32_t end, Headers criteria);
  absl::Status set_entry(uint32_t table, uint32_t group, uint32_t index, Dest dest, Headers value);
  absl::Status create_steering();
  absl::Status delete_root_entry(uint32_t index);
  absl::Status set_allowed_list(const MacAddress* adding);
  absl::Status undo(const Undo& u);
  absl::Status check_health();
  void poll_events();
  void cq_error(uint32_t cqn);
  void close();

  std::unique_ptr<PciFunction> fn_;
  DeviceConfig config_;
  std::unique_ptr<Hca> hca_;
  Bar* bar_ = nullptr;
  std::vector<Undo> undo_;
  uint32_t uar_ = 0, eqn_ = 0, pd_ = 0, td_ = 0, tis_ = 0, lkey_ = 0, min_inline_ = 0;
  DescriptorRing eq_;
  uint32_t eq_cc_ = 0;
  MacAddress mac_;
  LinkStatus link_;
  bool link_known_ = false;
  bool events_stalled_ = false;  // the EQ missed a port change: link() polls
  absl::Time link_checked_;
  bool stopped_ = false;  // the firmware reported a fatal error: no data path
  absl::Status why_stopped_;
  uint32_t root_ = 0, wildcard_group_ = 0, filter_group_ = 0;
  std::vector<uint32_t> queue_tir_;  // a direct TIR per RX queue, made for its first filter
  Dest dest_{};  // where the root table's entries forward to
  bool promisc_entry_ = false;
  std::map<std::string, uint64_t> events_;
  absl::Status page_error_;  // a page request that failed, for the next stats()
  std::vector<ReceiveQueue> rx_;
  std::vector<SendQueue> tx_;
};

constexpr DeviceLimits kLimits = {"mlx5", kMaxQueues, kMaxQueues, 64, 8192};

template <typename Cmd, typename Fill>
absl::StatusOr<uint32_t> Mlx5Device::make(uint16_t undo_opcode, Fill fill, size_t extra_in,
                                          uint32_t table) {
  auto out = cmdq().run<Cmd>(0, fill, extra_in);
  if (!out.ok()) return out.status();
  const uint32_t n = out->template get<typename Cmd::Out::NUMBER>();
  undo_.push_back({undo_opcode, n, table});
  return n;
}

template <typename Reg>
absl::StatusOr<Output<Reg>> Mlx5Device::port_register(uint16_t op_mod,
                                                      absl::FunctionRef<void(LayoutRef<Reg>)> fill) {
  return cmdq().run<ACCESS_REGISTER<Reg>>(op_mod, [&](LayoutRef<Reg> r, uint8_t*) {
    r.template set<typename Reg::REGISTER_ID>(Reg::kId).template set<typename Reg::LOCAL_PORT>(1);
    fill(r);
  });
}

#define SAFENIC_ASSIGN(lhs, expr)          \
  do {                                      \
    auto v = (expr);                        \
    if (!v.ok()) return v.status();         \
    lhs = *v;                               \
  } while (0)

absl::Status Mlx5Device::open() {
  auto none = [](auto, uint8_t*) {};
  auto hca = Hca::open(*fn_);
  if (!hca.ok()) return hca.status();
  hca_ = *std::move(hca);
  bar_ = *fn_->bar(0);
  const Capabilities& caps = hca_->caps();
  const uint32_t largest = std::max(config_.rx_ring_size, config_.tx_ring_size);
  const uint32_t log_max = std::min({caps.log_max_wq_size, caps.log_max_cq_size, kMaxLogQueue});
  if (largest > (1u << log_max)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: rings of %d entries; this device's queues hold at most 2^%d", name(), largest, log_max));
  }
  SAFENIC_ASSIGN(uar_, make<ALLOC_UAR>(op::kDeallocUar, none));
  if (uar_ >= kUarPages) {  // its doorbells would be outside BAR0
    return absl::DataLossError(absl::StrFormat(
        "%s: ALLOC_UAR returned UAR page %d; BAR0 has %d pages. Reset the device", name(), uar_,
        kUarPages));
  }
  if (absl::Status s = create_eq(); !s.ok()) return s;
  SAFENIC_ASSIGN(pd_, make<ALLOC_PD>(op::kDeallocPd, none));
  SAFENIC_ASSIGN(td_, make<ALLOC_TRANSPORT_DOMAIN>(op::kDeallocTransportDomain, none));
  auto special = cmdq().run<QUERY_SPECIAL_CONTEXTS>();
  if (!special.ok()) return special.status();
  lkey_ = special->get<QUERY_SPECIAL_CONTEXTS::Out::RESD_LKEY>();
  auto vport = cmdq().run<QUERY_NIC_VPORT_CONTEXT>();
  if (!vport.ok()) return vport.status();
  using V = QUERY_NIC_VPORT_CONTEXT::Out;
  const uint64_t mac = uint64_t{vport->get<V::MAC_47_32>()} << 32 | vport->get<V::MAC_31_0>();
  for (int i = 0; i < 6; ++i) mac_.bytes[i] = static_cast<uint8_t>(mac >> (40 - 8 * i));
  min_inline_ = vport->get<V::MIN_WQE_INLINE_MODE>();
  // The port and vport MTU: a 1500-byte payload, as far as the port allows.
  auto pmtu = port_register<PMTU>(kRegisterRead, [](LayoutRef<PMTU>) {});
  if (!pmtu.ok()) return pmtu.status();
  const uint32_t hw_mtu = std::min<uint32_t>(kMtu + kHwMtuOverhead, pmtu->get<PMTU::MAX_MTU>());
  auto set_mtu = port_register<PMTU>(kRegisterWrite, [&](LayoutRef<PMTU> r) { r.set<PMTU::ADMIN_MTU>(hw_mtu); });
  if (!set_mtu.ok()) return set_mtu.status();
  if (absl::Status s = set_vport(kSelectMtu, hw_mtu, false); !s.ok()) return s;
  auto clear = cmdq().run<QUERY_VPORT_COUNTER>(0, [](LayoutRef<QUERY_VPORT_COUNTER::In> in, uint8_t*) {
    in.set<QUERY_VPORT_COUNTER::In::CLEAR>(1);  // counters from zero at open
  });
  if (!clear.ok()) return clear.status();
  SAFENIC_ASSIGN(tis_, make<CREATE_TIS>(op::kDestroyTis, [&](LayoutRef<CREATE_TIS::In> in, uint8_t*) {
    in.set<CREATE_TIS::In::TRANSPORT_DOMAIN>(td_);
  }));
  const QueueContext qc{&cmdq(), fn_.get(), bar_, &undo_, uar_, eqn_, pd_, tis_, lkey_, min_inline_};
  for (uint32_t q = 0; q < tx_.size(); ++q) {
    absl::Status s = tx_[q].create(qc, config_.tx_ring_size, absl::StrFormat("%s tx%d", name(), q));
    if (!s.ok()) return s;
  }
  for (uint32_t q = 0; q < rx_.size(); ++q) {
    absl::Status s = rx_[q].create(qc, config_.rx_ring_size, config_.buffers_per_rx_queue,
                                   absl::StrFormat("%s rx%d", name(), q));
    if (!s.ok()) return s;
  }
  if (absl::Status s = create_steering(); !s.ok()) return s;
  if (absl::Status s = set_promiscuous(config_.promiscuous); !s.ok()) return s;
  // The port up (PAOS admin status, as Linux and Snabb do); down at close.
  auto up = port_register<PAOS>(kRegisterWrite, [](LayoutRef<PAOS> r) {
    r.set<PAOS::ADMIN_STATUS>(kPortUp).set<PAOS::ASE>(1);
  });
  if (!up.ok()) return up.status();
  undo_.push_back({op::kAccessRegister, 0});
  return absl::OkStatus();
}

// The EQ: 64 entries, owner bits 1 (not yet written), digest §5.
absl::Status Mlx5Device::create_eq() {
  auto ring = DescriptorRing::create(fn_->dma(), kEqEntries, 64,
                                     name() + " eq", 0, false);
  if (!ring.ok()) return ring.status();
  eq_ = *std::move(ring);
  for (uint32_t i = 0; i < kEqEntries; ++i) LayoutRef<Eqe>(eq_.descriptor(i)).set<Eqe::OWNER>(1);
  using In = CREATE_EQ::In;
  SAFENIC_ASSIGN(eqn_, make<CREATE_EQ>(op::kDestroyEq, [&](LayoutRef<In> in, uint8_t* raw) {
    in.set<In::LOG_EQ_SIZE>(eq_.log2_size()).set<In::UAR_PAGE>(uar_).set<In::LOG_PAGE_SIZE>(0)
        .set<In::EVENT_BITMASK>(kEvents);
    put_pas(raw, eq_);
  }, 8 * size_t{(eq_.bytes() + kPageSize - 1) / kPageSize}));
  return absl::OkStatus();
}

absl::Status Mlx5Device::set_vport(uint32_t select, uint32_t mtu, bool promisc) {
  using In = MODIFY_NIC_VPORT_CONTEXT::In;
  return cmdq().run<MODIFY_NIC_VPORT_CONTEXT>(0, [&](LayoutRef<In> in, uint8_t*) {
    in.set<In::FIELD_SELECT>(select).set<In::MTU>(mtu).set<In::PROMISC_UC>(promisc)
        .set<In::PROMISC_MC>(promisc).set<In::PROMISC_ALL>(promisc);
  }).status();
}

absl::StatusOr<uint32_t> Mlx5Device::create_tir(bool indirect, uint32_t target, uint32_t l4,
                                                uint32_t fields) {
  using In = CREATE_TIR::In;
  return make<CREATE_TIR>(op::kDestroyTir, [&](LayoutRef<In> in, uint8_t* raw) {
    in.set<In::TRANSPORT_DOMAIN>(td_).set<In::DISP_TYPE>(indirect);
    if (!indirect) return void(in.set<In::INLINE_RQN>(target));
    in.set<In::INDIRECT_TABLE>(target).set<In::RX_HASH_FN>(kHashToeplitz)
        .set<In::L3_PROT_TYPE>(0).set<In::L4_PROT_TYPE>(l4).set<In::SELECTED_FIELDS>(fields);
    std::memcpy(raw + CREATE_TIR::kToeplitzKey, kRssKey, sizeof kRssKey);
  });
}

absl::StatusOr<uint32_t> Mlx5Device::create_table(uint32_t level, uint32_t log_size) {
  using In = CREATE_FLOW_TABLE::In;
  return make<CREATE_FLOW_TABLE>(op::kDestroyFlowTable, [&](LayoutRef<In> in, uint8_t*) {
    in.set<In::TABLE_TYPE>(kTableNicRx).set<In::LEVEL>(level).set<In::LOG_SIZE>(log_size);
  });
}

absl::StatusOr<uint32_t> Mlx5Device::create_group(uint32_t table, uint32_t start, uint32_t end,
                                                  Headers criteria) {
  using In = CREATE_FLOW_GROUP::In;
  return make<CREATE_FLOW_GROUP>(op::kDestroyFlowGroup, [&](LayoutRef<In> in, uint8_t* raw) {
    in.set<In::TABLE_TYPE>(kTableNicRx).set<In::TABLE_ID>(table).set<In::START_FLOW_INDEX>(start)
        .set<In::END_FLOW_INDEX>(end).set<In::MATCH_CRITERIA_ENABLE>(kMatchOuterHeaders);
    criteria(LayoutRef<OuterHeaders>(raw + CREATE_FLOW_GROUP::kMatchCriteria));
  }, 0, table);
}

absl::Status Mlx5Device::set_entry(uint32_t table, uint32_t group, uint32_t index, Dest dest,
                                   Headers value) {
  using In = SET_FLOW_TABLE_ENTRY::In;
  auto r = cmdq().run<SET_FLOW_TABLE_ENTRY>(0, [&](LayoutRef<In> in, uint8_t* raw) {
    in.set<In::TABLE_TYPE>(kTableNicRx).set<In::TABLE_ID>(table).set<In::FLOW_INDEX>(index)
        .set<In::GROUP_ID>(group).set<In::ACTION>(kActionForward).set<In::DESTINATION_LIST_SIZE>(1);
    value(LayoutRef<OuterHeaders>(raw + SET_FLOW_TABLE_ENTRY::kMatchValue));
    LayoutRef<FlowDestination>(raw + SET_FLOW_TABLE_ENTRY::kDestinations)
        .set<FlowDestination::TYPE>(dest.type).set<FlowDestination::ID>(dest.id);
  }, FlowDestination::kSize);
  if (!r.ok()) return r.status();
  undo_.push_back({op::kDeleteFlowTableEntry, index, table});
  return absl::OkStatus();
}

absl::Status Mlx5Device::create_steering() {
  auto ipv4 = [](uint32_t proto) {
    return [proto](LayoutRef<OuterHeaders> h) {
      h.set<OuterHeaders::ETHERTYPE>(0x0800).set<OuterHeaders::IP_PROTOCOL>(proto);
    };
  };
  auto dmac = [](const MacAddress& m) { return [m](LayoutRef<OuterHeaders> h) { set_dmac(h, m); }; };
  uint32_t any = 0, group = 0;
  SAFENIC_ASSIGN(any, create_tir(false, rx_[0].rqn(), 0, 0));
  dest_ = {kDestTir, any};
  queue_tir_.assign(rx_.size(), 0);
  queue_tir_[0] = any;
  if (rx_.size() > 1) {  // RSS: a second table by traffic type
    uint32_t rqt = 0, tcp = 0, udp = 0, ip = 0, rss = 0;
    SAFENIC_ASSIGN(rqt, make<CREATE_RQT>(op::kDestroyRqt, [&](LayoutRef<CREATE_RQT::In> in, uint8_t* raw) {
      in.set<CREATE_RQT::In::RQT_MAX_SIZE>(kRqtSize).set<CREATE_RQT::In::RQT_ACTUAL_SIZE>(kRqtSize);
      for (uint32_t i = 0; i < kRqtSize; ++i) {
        LayoutRef<Plain<4>>(raw + CREATE_RQT::kRqNum + 4 * i)
            .set<Plain<4>::Field<0, uint32_t>>(rx_[i % rx_.size()].rqn());
      }
    }, 4 * kRqtSize));
    const uint32_t all = kHashSrcIp | kHashDstIp | kHashSport | kHashDport;
    SAFENIC_ASSIGN(tcp, create_tir(true, rqt, 0, all));
    SAFENIC_ASSIGN(udp, create_tir(true, rqt, 1, all));
    SAFENIC_ASSIGN(ip, create_tir(true, rqt, 0, kHashSrcIp | kHashDstIp));
    SAFENIC_ASSIGN(rss, create_table(1, 2));
    SAFENIC_ASSIGN(group, create_group(rss, 0, 1, ipv4(0xFF)));
    if (absl::Status s = set_entry(rss, group, 0, {kDestTir, tcp}, ipv4(6)); !s.ok()) return s;
    if (absl::Status s = set_entry(rss, group, 1, {kDestTir, udp}, ipv4(17)); !s.ok()) return s;
    SAFENIC_ASSIGN(group, create_group(rss, 2, 2, ipv4(0)));
    if (absl::Status s = set_entry(rss, group, 2, {kDestTir, ip}, ipv4(0)); !s.ok()) return s;
    SAFENIC_ASSIGN(group, create_group(rss, 3, 3, no_headers));
    if (absl::Status s = set_entry(rss, group, 3, {kDestTir, any}, no_headers); !s.ok()) return s;
    dest_ = {kDestFlowTable, rss};
  }
  SAFENIC_ASSIGN(root_, create_table(0, kLogRootSize));
  SAFENIC_ASSIGN(filter_group_, create_group(root_, 0, kMaxFilters - 1, [](LayoutRef<OuterHeaders> h) {
    set_dmac(h, kBroadcast);
    h.set<OuterHeaders::CVLAN_TAG>(1).set<OuterHeaders::FIRST_VID>(0xFFF);
  }));
  SAFENIC_ASSIGN(group, create_group(root_, kMaxFilters, kMaxFilters + 1, dmac(kBroadcast)));
  if (absl::Status s = set_entry(root_, group, kMaxFilters, dest_, dmac(mac_)); !s.ok()) return s;
  if (absl::Status s = set_entry(root_, group, kMaxFilters + 1, dest_, dmac(kBroadcast)); !s.ok()) return s;
  SAFENIC_ASSIGN(wildcard_group_, create_group(root_, kPromiscIndex, kPromiscIndex, no_headers));
  auto root = cmdq().run<SET_FLOW_TABLE_ROOT>(0, [&](LayoutRef<TableIn> in, uint8_t*) {
    in.set<TableIn::TABLE_TYPE>(kTableNicRx).set<TableIn::TABLE_ID>(root_);
  });
  if (!root.ok()) return root.status();
  undo_.push_back({op::kSetFlowTableRoot, root_});
  return absl::OkStatus();
}

// Promiscuous: the vport takes every frame, and the root table's wildcard
// entry forwards what no MAC entry matched.
absl::Status Mlx5Device::set_promiscuous(bool on) {
  if (absl::Status s = set_vport(kSelectPromisc, 0, on); !s.ok()) return s;
  if (on && !promisc_entry_) {
    if (absl::Status s = set_entry(root_, wildcard_group_, kPromiscIndex, dest_, no_headers); !s.ok()) {
      return s;
    }
  } else if (!on && promisc_entry_) {
    if (absl::Status s = delete_root_entry(kPromiscIndex); !s.ok()) return s;
  }
  promisc_entry_ = on;
  config_.promiscuous = on;
  return absl::OkStatus();
}

absl::Status Mlx5Device::delete_root_entry(uint32_t index) {
  const Undo entry{op::kDeleteFlowTableEntry, index, root_};
  if (absl::Status s = undo(entry); !s.ok()) return s;
  std::erase_if(undo_, [&](const Undo& u) {
    return u.opcode == entry.opcode && u.number == entry.number && u.table == entry.table;
  });
  return absl::OkStatus();
}

// The vport's allowed unicast list: our address, then each filter's (and
// `adding`), once each; the vport drops unicast frames for other addresses.
absl::Status Mlx5Device::set_allowed_list(const MacAddress* adding) {
  std::vector<MacAddress> list{mac_};
  for (const MacFilter& f : mac_filters()) list.push_back(f.mac);
  if (adding != nullptr) list.push_back(*adding);
  std::sort(list.begin() + 1, list.end(), [](auto& a, auto& b) { return a.bytes < b.bytes; });
  list.erase(std::unique(list.begin() + 1, list.end()), list.end());
  std::erase(list, mac_), list.insert(list.begin(), mac_);
  const size_t room = size_t{1} << hca_->caps().log_max_uc_list;
  if (list.size() > room) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: the vport's allowed list holds %d unicast addresses (ours and %d more), all in use; "
        "filter on an address already in use, remove a filter, or use promiscuous mode",
        name(), room, room - 1));
  }
  using In = MODIFY_NIC_VPORT_CONTEXT::In;
  return cmdq().run<MODIFY_NIC_VPORT_CONTEXT>(0, [&](LayoutRef<In> in, uint8_t* raw) {
    in.set<In::FIELD_SELECT>(kSelectAddressList).set<In::ALLOWED_LIST_TYPE>(kAllowedUnicast)
        .set<In::ALLOWED_LIST_SIZE>(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& b = list[i].bytes;
      LayoutRef<UcAddress>(raw + kAllowedList + 8 * i)
          .set<UcAddress::MAC_47_32>(b[0] << 8 | b[1])
          .set<UcAddress::MAC_31_0>(uint32_t{b[2]} << 24 | b[3] << 16 | b[4] << 8 | b[5]);
    }
  }, 8 * list.size()).status();
}

absl::Status Mlx5Device::install_mac_filter(const MacFilter& f, uint32_t slot) {
  if (absl::Status s = set_allowed_list(&f.mac); !s.ok()) return s;
  uint32_t& tir = queue_tir_[f.rx_queue];
  absl::Status s = absl::OkStatus();
  if (tir == 0) {
    auto made = create_tir(false, rx_[f.rx_queue].rqn(), 0, 0);
    s = made.status();
    if (made.ok()) tir = *made;
  }
  if (s.ok()) {
    s = set_entry(root_, filter_group_, slot, {kDestTir, tir}, [&](LayoutRef<OuterHeaders> h) {
      set_dmac(h, f.mac);
      if (f.vlan) h.set<OuterHeaders::CVLAN_TAG>(1).set<OuterHeaders::FIRST_VID>(*f.vlan);
    });
  }
  if (!s.ok()) (void)set_allowed_list(nullptr);  // the status says what failed
  return s;
}

absl::Status Mlx5Device::uninstall_mac_filter(uint32_t slot) {
  if (absl::Status s = delete_root_entry(slot); !s.ok()) return s;
  return set_allowed_list(nullptr);
}

absl::Status Mlx5Device::undo(const Undo& u) {
  auto table = [&](uint32_t id) {
    return [&u, id](LayoutRef<TableIn> in, uint8_t*) {
      in.set<TableIn::TABLE_TYPE>(kTableNicRx).set<TableIn::TABLE_ID>(id)
          .set<TableIn::FLOW_INDEX>(u.number).set<TableIn::GROUP_ID>(u.number);
    };
  };
  switch (u.opcode) {
    case op::kDeleteFlowTableEntry: return cmdq().run<DELETE_FLOW_TABLE_ENTRY>(0, table(u.table)).status();
    case op::kDestroyFlowGroup: return cmdq().run<DESTROY_FLOW_GROUP>(0, table(u.table)).status();
    case op::kDestroyFlowTable: return cmdq().run<DESTROY_FLOW_TABLE>(0, table(u.number)).status();
    case op::kSetFlowTableRoot: return cmdq().run<SET_FLOW_TABLE_ROOT>(kRootDisconnect, table(0)).status();
    case op::kAccessRegister:
      return port_register<PAOS>(kRegisterWrite, [](LayoutRef<PAOS> r) {
               r.set<PAOS::ADMIN_STATUS>(kPortDown).set<PAOS::ASE>(1);
             }).status();
    case op::kDestroyEq:
      return cmdq().run<DESTROY_EQ>(0, [&](LayoutRef<DESTROY_EQ::In> in, uint8_t*) {
               in.set<DESTROY_EQ::In::NUMBER>(u.number);
             }).status();
  }
  // DESTROY_* / DEALLOC_* of one numbered object.
  std::vector<uint8_t> in(Numbered<0x10>::kSize, 0);
  LayoutRef<CmdIn>(in.data()).set<CmdIn::OPCODE>(u.opcode);
  LayoutRef<Numbered<0x10>>(in.data()).set<Numbered<0x10>::NUMBER>(u.number);
  return cmdq().execute(in, 0x10).status();
}

void Mlx5Device::close() {
  if (hca_ == nullptr) return;
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (void)undo(*it);  // the HCA teardown ends what fails
  undo_.clear();
  (void)hca_->teardown();
  for (ReceiveQueue& q : rx_) q.release();
  for (SendQueue& q : tx_) q.release();
  hca_.reset();
}

// PRM "Health Buffer": a nonzero health syndrome is a fatal firmware error;
// the device runs nothing more until it is reset (closed and opened again).
absl::Status Mlx5Device::check_health() {
  if (stopped_) return why_stopped_;
  const uint32_t syndrome = bar_->read<HEALTH_SYNDROME>().get<HEALTH_SYNDROME::SYNDROME>();
  if (syndrome == 0) return absl::OkStatus();
  stopped_ = true;
  ++events_["health_syndromes"];
  why_stopped_ = absl::UnavailableError(absl::StrFormat(
      "%s: firmware health syndrome %#x (%s): the device has stopped (no traffic); close and "
      "reopen it", name(), syndrome, health_syndrome_name(static_cast<uint8_t>(syndrome))));
  return why_stopped_;
}

// PRM "Event Queue Entry", CQ error (syndrome CQ_OVERRUN or access
// violation): the CQ reports nothing more. A send queue is remade with a new
// CQ; a receive queue cannot be (TIRs name it) and says so in stats().
void Mlx5Device::cq_error(uint32_t cqn) {
  for (SendQueue& q : tx_) {
    if (q.cqn() == cqn) return void(q.recreate());  // a failure shows in q.broken()
  }
  for (ReceiveQueue& q : rx_) {
    if (q.cqn() == cqn) return q.cq_overrun();
  }
  ++events_["unknown_cq_errors"];
}

// Events (digest §5): an entry is software's when its owner bit is the parity
// of this pass; then the consumer index goes back through the UAR.
void Mlx5Device::poll_events() {
  const uint32_t before = eq_cc_;
  std::vector<uint32_t> failed_cqs;
  int64_t pages = 0;  // asked for (> 0) or offered back (< 0)
  for (;; ++eq_cc_) {
    LayoutRef<Eqe> e(eq_.descriptor(eq_cc_ & eq_.mask()));
    if (e.get<Eqe::OWNER>() != eq_.wrap_bit(eq_cc_)) break;
    dma_read_barrier();
    switch (e.get<Eqe::TYPE>()) {
      case kEventPortChange: link_known_ = false, ++events_["port_change_events"]; break;
      case kEventCqError:
        ++events_["cq_error_events"];
        if (e.get<Eqe::CQ_SYNDROME>() == kCqSyndromeOverrun) ++events_["cq_overruns"];
        failed_cqs.push_back(e.get<Eqe::CQN>());
        break;
      case kEventWqCatastrophic: ++events_["wq_catastrophic_events"]; break;
      case kEventPageRequest:
        ++events_["page_requests"];
        pages += static_cast<int32_t>(e.get<Eqe::NUM_PAGES>());
        break;
      default: ++events_["internal_error_events"]; break;
    }
  }
  if (eq_cc_ - before >= kEqEntries) link_known_ = false;  // full: events may have been lost
  if (eq_cc_ != before) {
    bar_->write(RegisterValue<UAR_EQ_DOORBELL>()
                    .set<UAR_EQ_DOORBELL::EQN>(eqn_)
                    .set<UAR_EQ_DOORBELL::CONSUMER_INDEX>(eq_cc_ & 0xFFFFFF), uar_);
  }
  for (uint32_t cqn : failed_cqs) cq_error(cqn);
  if (pages != 0) {
    const int32_t n = static_cast<int32_t>(std::clamp<int64_t>(pages, INT32_MIN, INT32_MAX));
    if (absl::Status s = hca_->answer_page_request(n); !s.ok()) {
      ++events_["page_request_failures"];
      if (page_error_.ok()) page_error_ = s;
    }
  }
}

// PAOS oper_status and PTYS eth_proto_oper (digest §7), asked again after a
// port change event, while the link is down, a second after the last look,
// and every time once the EQ has missed an event.
LinkStatus Mlx5Device::link() {
  if (hca_ == nullptr || !check_health().ok()) return {};
  poll_events();
  const absl::Time now = fn_->now();
  if (link_known_ && link_.up && !events_stalled_ && now - link_checked_ < kLinkRecheck) return link_;
  auto paos = port_register<PAOS>(kRegisterRead, [](LayoutRef<PAOS>) {});
  auto ptys = port_register<PTYS>(kRegisterRead, [](LayoutRef<PTYS> r) {
    r.set<PTYS::PROTO_MASK>(kProtoEthernet);
  });
  if (!paos.ok() || !ptys.ok()) return {};
  LinkStatus fresh;
  if (paos->get<PAOS::OPER_STATUS>() == kPortUp) {
    fresh.up = true;
    const uint32_t oper = ptys->get<PTYS::ETH_PROTO_OPER>();
    for (const PtysSpeed& s : kPtysSpeeds) {
      if (oper & (1u << s.bit)) fresh.speed_mbps = s.mbps;
    }
  }
  if (link_known_ && fresh.up != link_.up) {  // the port changed: where is its event?
    poll_events();
    if (link_known_ && !events_stalled_) events_stalled_ = true, ++events_["eq_stalls"];
  }
  link_ = fresh;
  link_known_ = true;
  link_checked_ = now;
  return link_;
}

absl::StatusOr<DeviceStats> Mlx5Device::stats() {
  if (absl::Status s = check_health(); !s.ok()) return s;
  poll_events();
  if (!page_error_.ok()) return std::exchange(page_error_, absl::OkStatus());  // said once
  for (const ReceiveQueue& q : rx_) {
    if (!q.broken().ok()) return q.broken();
  }
  for (const SendQueue& q : tx_) {
    if (!q.broken().ok()) return q.broken();
  }
  auto out = cmdq().run<QUERY_VPORT_COUNTER>();
  if (!out.ok()) return out.status();
  DeviceStats s;
  auto be64 = [&](uint32_t off) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | out->bytes()[off + i];
    return v;
  };
  for (const VportCounter& c : kVportCounters) {
    s.counters[std::string(c.name) + "_packets"] = be64(c.offset);
    s.counters[std::string(c.name) + "_octets"] = be64(c.offset + 8);
  }
  for (const auto& [name, n] : events_) s.counters[name] = n;
  for (ReceiveQueue& q : rx_) s.rx.push_back(q.stats), s.counters["rq_recoveries"] += q.recoveries;
  for (SendQueue& q : tx_) s.tx.push_back(q.stats), s.counters["sq_recoveries"] += q.recoveries;
  return s;
}

}  // namespace

bool supports(PciId id) {
  return id.vendor == kVendor && (id.device == kConnectX4 || id.device == kConnectX4Lx ||
                                  id.device == kConnectX5 || id.device == kConnectX5Ex);
}

absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config) {
  if (absl::Status s = validate(config, kLimits); !s.ok()) return s;
  if (!supports(fn->id())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %04x:%04x is not a ConnectX-4, 4 Lx or 5", fn->name(), fn->id().vendor, fn->id().device));
  }
  auto dev = std::make_unique<Mlx5Device>(std::move(fn), config);
  if (absl::Status s = dev->open(); !s.ok()) return s;  // closing undoes what was made
  return dev;
}

namespace {
const bool kRegistered = register_driver({"mlx5", supports, open});
}  // namespace

}  // namespace safenic::mlx5
