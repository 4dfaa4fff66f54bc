// mlx5: the ConnectX-4/4 Lx/5 driver behind the device API. open() brings
// the HCA up (nic/mlx5/hca.cc), then makes, in the order of docs/connectx.md §4: a
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
// its fast path (nic/mlx5/queues.cc); in nic/mlx5/events.cc, link() and
// stats() read the health
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
#include "mem/status.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/device.h"
#include "nic/mlx5/hca.h"
#include "nic/mlx5/queues.h"
#include "nic/mlx5/wqe.h"
#include "nic/open.h"

namespace safenic::mlx5 {
namespace detail {

// Checksum verdicts where the device reports csum_cap, the RSS hash; MTUs
// up to 9000 where the port allows them.
constexpr DeviceCapabilities kCapabilities = {
    .offloads = {Offload::kRxChecksum, Offload::kRxRssHash}, .max_mtu = kJumboMtu};
constexpr DeviceLimits kLimits = {"mlx5", kMaxQueues, kMaxQueues, 64, 8192, kCapabilities};

DeviceCapabilities Mlx5Device::capabilities() const {
  DeviceCapabilities c = kLimits.capabilities;
  if (hca_ == nullptr || !hca_->caps().csum)
    c.offloads = c.offloads.without({Offload::kRxChecksum});
  return c;
}

absl::Status Mlx5Device::open() {
  auto none = [](auto, uint8_t*) {};
  SAFENIC_ASSIGN_OR_RETURN(auto hca, Hca::open(*fn_));
  hca_ = std::move(hca);
  bar_ = *fn_->bar(0);
  const Capabilities& caps = hca_->caps();
  if (config_.offloads.has(Offload::kRxChecksum) && !caps.csum) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s cannot offload rx-checksum: the device's Ethernet capabilities do not report "
        "csum_cap; leave it out of DeviceConfig::offloads and check checksums in software",
        name()));
  }
  const uint32_t largest = std::max(config_.rx_ring_size, config_.tx_ring_size);
  const uint32_t log_max = std::min({caps.log_max_wq_size, caps.log_max_cq_size, kMaxLogQueue});
  if (largest > (1u << log_max)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: rings of %d entries; this device's queues hold at most 2^%d", name(),
                        largest, log_max));
  }
  SAFENIC_ASSIGN_OR_RETURN(uar_, make<ALLOC_UAR>(none));
  if (uar_ >= kUarPages) {  // its doorbells would be outside BAR0
    return absl::DataLossError(
        absl::StrFormat("%s: ALLOC_UAR returned UAR page %d; BAR0 has %d pages. Reset the device",
                        name(), uar_, kUarPages));
  }
  SAFENIC_RETURN_IF_ERROR(create_eq());
  SAFENIC_ASSIGN_OR_RETURN(pd_, make<ALLOC_PD>(none));
  SAFENIC_ASSIGN_OR_RETURN(td_, make<ALLOC_TRANSPORT_DOMAIN>(none));
  SAFENIC_ASSIGN_OR_RETURN(auto special, cmdq().run<QUERY_SPECIAL_CONTEXTS>());
  lkey_ = special.get<QUERY_SPECIAL_CONTEXTS::Out::RESD_LKEY>();
  SAFENIC_ASSIGN_OR_RETURN(auto vport, cmdq().run<QUERY_NIC_VPORT_CONTEXT>());
  using V = QUERY_NIC_VPORT_CONTEXT::Out;
  const uint64_t mac = uint64_t{vport.get<V::MAC_47_32>()} << 32 | vport.get<V::MAC_31_0>();
  for (int i = 0; i < 6; ++i) mac_.bytes[i] = static_cast<uint8_t>(mac >> (40 - 8 * i));
  // Ethernet caps wqe_inline_mode: L2 always, or whatever the vport says, or none.
  min_inline_ = caps.wqe_inline_mode == kInlineModeL2     ? 1
                : caps.wqe_inline_mode == kInlineModeNone ? 0
                                                          : vport.get<V::MIN_WQE_INLINE_MODE>();
  // The port and vport MTU (docs/connectx.md): DeviceConfig::mtu, if the
  // port allows it.
  SAFENIC_ASSIGN_OR_RETURN(auto pmtu, port_register<PMTU>(kRegisterRead, [](LayoutRef<PMTU>) {}));
  const uint32_t hw_mtu = config_.mtu + kHwMtuOverhead;
  if (hw_mtu > pmtu.get<PMTU::MAX_MTU>()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: MTU %d; this port takes at most %d (PMTU.max_mtu %d counts %d bytes of headers)",
        name(), config_.mtu, pmtu.get<PMTU::MAX_MTU>() - kHwMtuOverhead, pmtu.get<PMTU::MAX_MTU>(),
        kHwMtuOverhead));
  }
  SAFENIC_RETURN_IF_ERROR(port_register<PMTU>(
      kRegisterWrite, [&](LayoutRef<PMTU> r) { r.set<PMTU::ADMIN_MTU>(hw_mtu); }));
  SAFENIC_RETURN_IF_ERROR(set_vport(kSelectMtu, hw_mtu, false));
  SAFENIC_RETURN_IF_ERROR(
      cmdq().run<QUERY_VPORT_COUNTER>(0, [](LayoutRef<QUERY_VPORT_COUNTER::In> in, uint8_t*) {
        in.set<QUERY_VPORT_COUNTER::In::CLEAR>(1);  // counters from zero at open
      }));
  SAFENIC_ASSIGN_OR_RETURN(tis_, make<CREATE_TIS>([&](LayoutRef<CREATE_TIS::In> in, uint8_t*) {
                             in.set<CREATE_TIS::In::TRANSPORT_DOMAIN>(td_);
                           }));
  const QueueContext qc{.cmdq = &cmdq(),
                        .fn = fn_.get(),
                        .bar = bar_,
                        .undo = &undo_,
                        .uar = uar_,
                        .eqn = eqn_,
                        .pd = pd_,
                        .tis = tis_,
                        .lkey = lkey_,
                        .min_inline = min_inline_,
                        .enhanced_mpw = enhanced_mpw(),
                        .mtu = config_.mtu,
                        .rx_checksums = config_.offloads.has(Offload::kRxChecksum),
                        .rx_rss_hash = config_.offloads.has(Offload::kRxRssHash)};
  for (uint32_t q = 0; q < tx_.size(); ++q) {
    absl::Status s = tx_[q].create(qc, config_.tx_ring_size, absl::StrFormat("%s tx%d", name(), q));
    if (!s.ok()) return s;
  }
  for (uint32_t q = 0; q < rx_.size(); ++q) {
    absl::Status s = rx_[q].create(qc, config_.rx_ring_size, config_.buffers_per_rx_queue,
                                   absl::StrFormat("%s rx%d", name(), q));
    if (!s.ok()) return s;
  }
  SAFENIC_RETURN_IF_ERROR(create_steering());
  SAFENIC_RETURN_IF_ERROR(set_promiscuous(config_.promiscuous));
  // The port up (PAOS admin status, as Linux and Snabb do); down at close.
  SAFENIC_RETURN_IF_ERROR(port_register<PAOS>(kRegisterWrite, [](LayoutRef<PAOS> r) {
    r.set<PAOS::ADMIN_STATUS>(kPortUp).set<PAOS::ASE>(1);
  }));
  port_up_ = true;
  return absl::OkStatus();
}

// The EQ: 64 entries, owner bits 1 (not yet written), docs/connectx.md §5.
absl::Status Mlx5Device::create_eq() {
  SAFENIC_ASSIGN_OR_RETURN(
      auto ring, DescriptorRing::create(fn_->dma(), kEqEntries, 64, name() + " eq", 0, false));
  eq_ = std::move(ring);
  for (uint32_t i = 0; i < kEqEntries; ++i) LayoutRef<Eqe>(eq_.descriptor(i)).set<Eqe::OWNER>(1);
  using In = CREATE_EQ::In;
  SAFENIC_ASSIGN_OR_RETURN(eqn_, make<CREATE_EQ>(
                                     [&](LayoutRef<In> in, uint8_t* raw) {
                                       in.set<In::LOG_EQ_SIZE>(eq_.log2_size())
                                           .set<In::UAR_PAGE>(uar_)
                                           .set<In::LOG_PAGE_SIZE>(0)
                                           .set<In::EVENT_BITMASK>(kEvents);
                                       put_pas(raw, eq_);
                                     },
                                     8 * size_t{(eq_.bytes() + kPageSize - 1) / kPageSize}));
  return absl::OkStatus();
}

absl::Status Mlx5Device::set_vport(uint32_t select, uint32_t mtu, bool promisc) {
  using In = MODIFY_NIC_VPORT_CONTEXT::In;
  return cmdq()
      .run<MODIFY_NIC_VPORT_CONTEXT>(0,
                                     [&](LayoutRef<In> in, uint8_t*) {
                                       in.set<In::FIELD_SELECT>(select)
                                           .set<In::MTU>(mtu)
                                           .set<In::PROMISC_UC>(promisc)
                                           .set<In::PROMISC_MC>(promisc)
                                           .set<In::PROMISC_ALL>(promisc);
                                     })
      .status();
}

absl::StatusOr<uint32_t> Mlx5Device::create_tir(bool indirect, uint32_t target, uint32_t l4,
                                                uint32_t fields) {
  using In = CREATE_TIR::In;
  return make<CREATE_TIR>([&](LayoutRef<In> in, uint8_t* raw) {
    in.set<In::TRANSPORT_DOMAIN>(td_).set<In::DISP_TYPE>(indirect);
    if (!indirect) return void(in.set<In::INLINE_RQN>(target));
    in.set<In::INDIRECT_TABLE>(target)
        .set<In::RX_HASH_FN>(kHashToeplitz)
        .set<In::L3_PROT_TYPE>(0)
        .set<In::L4_PROT_TYPE>(l4)
        .set<In::SELECTED_FIELDS>(fields);
    std::memcpy(raw + CREATE_TIR::kToeplitzKey, kRssKey, sizeof kRssKey);
  });
}

absl::StatusOr<uint32_t> Mlx5Device::create_table(uint32_t level, uint32_t log_size) {
  using In = CREATE_FLOW_TABLE::In;
  return make<CREATE_FLOW_TABLE>([&](LayoutRef<In> in, uint8_t*) {
    in.set<In::TABLE_TYPE>(kTableNicRx).set<In::LEVEL>(level).set<In::LOG_SIZE>(log_size);
  });
}

absl::StatusOr<uint32_t> Mlx5Device::create_group(uint32_t table, uint32_t start, uint32_t end,
                                                  Headers criteria) {
  using In = CREATE_FLOW_GROUP::In;
  return make<CREATE_FLOW_GROUP>(
      [&](LayoutRef<In> in, uint8_t* raw) {
        in.set<In::TABLE_TYPE>(kTableNicRx)
            .set<In::TABLE_ID>(table)
            .set<In::START_FLOW_INDEX>(start)
            .set<In::END_FLOW_INDEX>(end)
            .set<In::MATCH_CRITERIA_ENABLE>(kMatchOuterHeaders);
        criteria(LayoutRef<OuterHeaders>(raw + CREATE_FLOW_GROUP::kMatchCriteria));
      },
      0, table);
}

absl::Status Mlx5Device::set_entry(uint32_t table, uint32_t group, uint32_t index, Dest dest,
                                   Headers value) {
  using In = SET_FLOW_TABLE_ENTRY::In;
  auto r = cmdq().run<SET_FLOW_TABLE_ENTRY>(
      0,
      [&](LayoutRef<In> in, uint8_t* raw) {
        in.set<In::TABLE_TYPE>(kTableNicRx)
            .set<In::TABLE_ID>(table)
            .set<In::FLOW_INDEX>(index)
            .set<In::GROUP_ID>(group)
            .set<In::ACTION>(kActionForward)
            .set<In::DESTINATION_LIST_SIZE>(1);
        value(LayoutRef<OuterHeaders>(raw + SET_FLOW_TABLE_ENTRY::kMatchValue));
        LayoutRef<FlowDestination>(raw + SET_FLOW_TABLE_ENTRY::kDestinations)
            .set<FlowDestination::TYPE>(dest.type)
            .set<FlowDestination::ID>(dest.id);
      },
      FlowDestination::kSize);
  if (!r.ok()) return r.status();
  undo_.push_back(undo_of<SET_FLOW_TABLE_ENTRY>(index, table));
  return absl::OkStatus();
}

absl::Status Mlx5Device::create_steering() {
  // An entry's match value: IPv4 with protocol `proto`.
  auto ipv4 = [](uint32_t proto) {
    return [proto](LayoutRef<OuterHeaders> h) {
      h.set<OuterHeaders::ETHERTYPE>(0x0800).set<OuterHeaders::IP_PROTOCOL>(proto);
    };
  };
  // A group's match criteria (a mask): the whole ethertype, and the protocol
  // under `proto_mask`. (The value 0x0800 as a mask once let ARP, 0x0806,
  // match the IPv4 entries.)
  auto ipv4_criteria = [](uint32_t proto_mask) {
    return [proto_mask](LayoutRef<OuterHeaders> h) {
      h.set<OuterHeaders::ETHERTYPE>(0xFFFF).set<OuterHeaders::IP_PROTOCOL>(proto_mask);
    };
  };
  auto dmac = [](const MacAddress& m) {
    return [m](LayoutRef<OuterHeaders> h) { set_dmac(h, m); };
  };
  uint32_t any = 0, group = 0;
  SAFENIC_ASSIGN_OR_RETURN(any, create_tir(false, rx_[0].rqn(), 0, 0));
  dest_ = {kDestTir, any};
  queue_tir_.assign(rx_.size(), 0);
  queue_tir_[0] = any;
  // RSS: a second table by traffic type; with one queue too when the hash
  // is asked for (every RQT entry then names queue 0).
  if (rx_.size() > 1 || config_.offloads.has(Offload::kRxRssHash)) {
    uint32_t rqt = 0, tcp = 0, udp = 0, ip = 0, rss = 0;
    SAFENIC_ASSIGN_OR_RETURN(
        rqt,
        make<CREATE_RQT>(
            [&](LayoutRef<CREATE_RQT::In> in, uint8_t* raw) {
              in.set<CREATE_RQT::In::RQT_MAX_SIZE>(kRqtSize).set<CREATE_RQT::In::RQT_ACTUAL_SIZE>(
                  kRqtSize);
              for (uint32_t i = 0; i < kRqtSize; ++i) {
                LayoutRef<Plain<4>>(raw + CREATE_RQT::kRqNum + 4 * i)
                    .set<Plain<4>::Field<0, uint32_t>>(rx_[i % rx_.size()].rqn());
              }
            },
            4 * kRqtSize));
    const uint32_t all = kHashSrcIp | kHashDstIp | kHashSport | kHashDport;
    SAFENIC_ASSIGN_OR_RETURN(tcp, create_tir(true, rqt, 0, all));
    SAFENIC_ASSIGN_OR_RETURN(udp, create_tir(true, rqt, 1, all));
    SAFENIC_ASSIGN_OR_RETURN(ip, create_tir(true, rqt, 0, kHashSrcIp | kHashDstIp));
    SAFENIC_ASSIGN_OR_RETURN(rss, create_table(1, 2));
    SAFENIC_ASSIGN_OR_RETURN(group, create_group(rss, 0, 1, ipv4_criteria(0xFF)));
    SAFENIC_RETURN_IF_ERROR(set_entry(rss, group, 0, {kDestTir, tcp}, ipv4(6)));
    SAFENIC_RETURN_IF_ERROR(set_entry(rss, group, 1, {kDestTir, udp}, ipv4(17)));
    SAFENIC_ASSIGN_OR_RETURN(group, create_group(rss, 2, 2, ipv4_criteria(0)));
    SAFENIC_RETURN_IF_ERROR(set_entry(rss, group, 2, {kDestTir, ip}, ipv4(0)));
    SAFENIC_ASSIGN_OR_RETURN(group, create_group(rss, 3, 3, no_headers));
    SAFENIC_RETURN_IF_ERROR(set_entry(rss, group, 3, {kDestTir, any}, no_headers));
    dest_ = {kDestFlowTable, rss};
  }
  SAFENIC_ASSIGN_OR_RETURN(root_, create_table(0, kLogRootSize));
  SAFENIC_ASSIGN_OR_RETURN(filter_group_,
                           create_group(root_, 0, kMaxFilters - 1, [](LayoutRef<OuterHeaders> h) {
                             set_dmac(h, kBroadcast);
                             h.set<OuterHeaders::CVLAN_TAG>(1).set<OuterHeaders::FIRST_VID>(0xFFF);
                           }));
  SAFENIC_ASSIGN_OR_RETURN(group,
                           create_group(root_, kMaxFilters, kMaxFilters + 1, dmac(kBroadcast)));
  SAFENIC_RETURN_IF_ERROR(set_entry(root_, group, kMaxFilters, dest_, dmac(mac_)));
  SAFENIC_RETURN_IF_ERROR(set_entry(root_, group, kMaxFilters + 1, dest_, dmac(kBroadcast)));
  SAFENIC_ASSIGN_OR_RETURN(wildcard_group_,
                           create_group(root_, kPromiscIndex, kPromiscIndex, no_headers));
  SAFENIC_RETURN_IF_ERROR(cmdq().run<SET_FLOW_TABLE_ROOT>(0, [&](LayoutRef<TableIn> in, uint8_t*) {
    in.set<TableIn::TABLE_TYPE>(kTableNicRx).set<TableIn::TABLE_ID>(root_);
  }));
  undo_.push_back(undo_of<SET_FLOW_TABLE_ROOT>(root_));
  return absl::OkStatus();
}

// Promiscuous: the vport takes every frame, and the root table's wildcard
// entry forwards what no MAC entry matched.
absl::Status Mlx5Device::set_promiscuous(bool on) {
  SAFENIC_RETURN_IF_ERROR(set_vport(kSelectPromisc, 0, on));
  if (on && !promisc_entry_) {
    if (absl::Status s = set_entry(root_, wildcard_group_, kPromiscIndex, dest_, no_headers);
        !s.ok()) {
      return s;
    }
  } else if (!on && promisc_entry_) {
    SAFENIC_RETURN_IF_ERROR(delete_root_entry(kPromiscIndex));
  }
  promisc_entry_ = on;
  config_.promiscuous = on;
  return absl::OkStatus();
}

absl::Status Mlx5Device::delete_root_entry(uint32_t index) {
  const Undo entry = undo_of<SET_FLOW_TABLE_ENTRY>(index, root_);
  SAFENIC_RETURN_IF_ERROR(run_undo(cmdq(), entry));
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
  return cmdq()
      .run<MODIFY_NIC_VPORT_CONTEXT>(
          0,
          [&](LayoutRef<In> in, uint8_t* raw) {
            in.set<In::FIELD_SELECT>(kSelectAddressList)
                .set<In::ALLOWED_LIST_TYPE>(kAllowedUnicast)
                .set<In::ALLOWED_LIST_SIZE>(list.size());
            for (size_t i = 0; i < list.size(); ++i) {
              const auto& b = list[i].bytes;
              LayoutRef<UcAddress>(raw + kAllowedList + 8 * i)
                  .set<UcAddress::MAC_47_32>(b[0] << 8 | b[1])
                  .set<UcAddress::MAC_31_0>(uint32_t{b[2]} << 24 | b[3] << 16 | b[4] << 8 | b[5]);
            }
          },
          8 * list.size())
      .status();
}

absl::Status Mlx5Device::install_mac_filter(const MacFilter& f, uint32_t slot) {
  SAFENIC_RETURN_IF_ERROR(set_allowed_list(&f.mac));
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
  SAFENIC_RETURN_IF_ERROR(delete_root_entry(slot));
  return set_allowed_list(nullptr);
}

void Mlx5Device::close() {
  if (hca_ == nullptr) return;
  // The vport context outlives the HCA: TEARDOWN_HCA promises no reset of it
  // (PRM "NIC Vport Context"). What this driver changed there goes back to
  // what a fresh function has: no allowed addresses, no promiscuous mode.
  using In = MODIFY_NIC_VPORT_CONTEXT::In;
  (void)cmdq().run<MODIFY_NIC_VPORT_CONTEXT>(0, [](LayoutRef<In> in, uint8_t*) {
    in.set<In::FIELD_SELECT>(kSelectAddressList | kSelectPromisc)
        .set<In::ALLOWED_LIST_TYPE>(kAllowedUnicast)
        .set<In::ALLOWED_LIST_SIZE>(0);
  });
  if (port_up_) {  // the port down again (the last thing open() did)
    (void)port_register<PAOS>(kRegisterWrite, [](LayoutRef<PAOS> r) {
      r.set<PAOS::ADMIN_STATUS>(kPortDown).set<PAOS::ASE>(1);
    });
    port_up_ = false;
  }
  // The HCA teardown ends what fails.
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (void)run_undo(cmdq(), *it);
  undo_.clear();
  (void)hca_->teardown();
  for (ReceiveQueue& q : rx_) q.release();
  for (SendQueue& q : tx_) q.release();
  hca_.reset();
}

}  // namespace detail

// The physical functions this driver takes (nic/mlx5/layout.h: the ids).
constexpr SupportedDevice kDevices[] = {
    {{kVendor, kConnectX4}, "NVIDIA ConnectX-4"},
    {{kVendor, kConnectX4Lx}, "NVIDIA ConnectX-4 Lx"},
    {{kVendor, kConnectX5}, "NVIDIA ConnectX-5"},
    {{kVendor, kConnectX5Ex}, "NVIDIA ConnectX-5 Ex"},
};

bool supports(PciId id) { return takes(kDevices, id); }

absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config) {
  SAFENIC_RETURN_IF_ERROR(validate(config, detail::kLimits));
  if (!supports(fn->id())) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %04x:%04x is not a ConnectX-4, 4 Lx or 5", fn->name(), fn->id().vendor,
                        fn->id().device));
  }
  auto dev = std::make_unique<detail::Mlx5Device>(std::move(fn), config);
  SAFENIC_RETURN_IF_ERROR(dev->open());  // closing undoes what was made
  return dev;
}

namespace {
const bool kRegistered = register_driver({"mlx5", "NVIDIA ConnectX-4/4 Lx/5", kDevices, open});
}  // namespace

}  // namespace safenic::mlx5
