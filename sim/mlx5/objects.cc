// The ConnectX model's object commands (docs/connectx.md §4, §6): each CREATE_*
// checks its parameters and references and makes an object in its initial
// state; DESTROY_* refuses objects still in use (RESOURCE_BUSY), so a driver
// must tear down in reverse order; MODIFY_SQ/RQ follow the PRM state machine
// (RST -> RDY, RDY -> ERR/RST, ERR -> RST).
#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/str_format.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/wqe.h"
#include "sim/mlx5/model.h"

namespace safenic::sim {

using namespace ::safenic::mlx5;  // the shared layouts

namespace {

uint32_t be32(const std::vector<uint8_t>& b, size_t off) {
  return uint32_t{b[off]} << 24 | b[off + 1] << 16 | b[off + 2] << 8 | b[off + 3];
}
uint64_t be64(const std::vector<uint8_t>& b, size_t off) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | b[off + i];
  return v;
}
bool pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// The outer-header bits this model's parser fills in (datapath.cc): smac,
// ethertype, dmac, first_vid, ip_protocol, cvlan_tag, ip_version, ports and
// IPv4 addresses. Criteria on other bits (first_prio, svlan_tag, ...) could
// not match as hardware does, so the model refuses them.
const std::array<uint8_t, OuterHeaders::kSize>& parsed_bits() {
  static const auto bits = [] {
    std::array<uint8_t, OuterHeaders::kSize> b{};
    std::memset(b.data(), 0xFF, 6);  // smac
    using H = OuterHeaders;
    LayoutRef<H>(b.data())
        .set<H::ETHERTYPE>(0xFFFF)
        .set<H::DMAC_47_16>(~0u)
        .set<H::DMAC_15_0>(0xFFFF)
        .set<H::FIRST_VID>(0xFFF)
        .set<H::IP_PROTOCOL>(0xFF)
        .set<H::CVLAN_TAG>(1)
        .set<H::IP_VERSION>(0xF)
        .set<H::TCP_SPORT>(0xFFFF)
        .set<H::TCP_DPORT>(0xFFFF)
        .set<H::UDP_SPORT>(0xFFFF)
        .set<H::UDP_DPORT>(0xFFFF)
        .set<H::SRC_IPV4>(~0u)
        .set<H::DST_IPV4>(~0u);
    return b;
  }();
  return bits;
}
// Bytes [from, to) of a command's input are all zero.
bool zero(const std::vector<uint8_t>& in, size_t from, size_t to) {
  return std::all_of(in.begin() + from, in.begin() + to, [](uint8_t b) { return b == 0; });
}

// Reads a queue's page list: `bytes` of queue in pages of 4 KiB << log_page,
// each page-aligned, from kPas. Returns false when the list is short or bad.
bool read_pages(const std::vector<uint8_t>& in, uint32_t log_page, uint64_t bytes, cx::Pages* p) {
  p->set_log_page(12 + log_page);
  const uint64_t page = uint64_t{1} << p->log_page;
  const uint64_t n = (bytes + page - 1) / page;
  if (in.size() < kPas + 8 * n) return false;
  for (uint64_t i = 0; i < n; ++i) {
    p->pas.push_back(be64(in, kPas + 8 * i));
    if (p->pas.back() % page != 0) return false;
  }
  return true;
}

}  // namespace

std::optional<uint8_t> ConnectXModel::wq_state(uint32_t n) const {
  auto it = objects_.wqs.find(n);
  if (it == objects_.wqs.end()) return std::nullopt;
  return it->second.state;
}

namespace {
// ALLOC_* and CREATE_* outputs: the new object's number.
void number_out(std::vector<uint8_t>& out, uint32_t n) {
  LayoutRef<Numbered<0x10>>(out.data()).set<Numbered<0x10>::NUMBER>(n);
}
}  // namespace

ConnectXModel::Result ConnectXModel::execute(ALLOC_UAR, Io& io) {
  uint32_t u = kFirstUar;
  while (objects_.uars.count(u) != 0) ++u;
  if (u >= kUarPages) return {CmdStatus::kNoResources, 0x101};
  objects_.uars.insert(u);
  number_out(io.out, u);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(ALLOC_PD, Io& io) {
  const uint32_t pd = new_id(0);
  objects_.pds.insert(pd);
  number_out(io.out, pd);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(ALLOC_TRANSPORT_DOMAIN, Io& io) {
  const uint32_t td = new_id(0);
  objects_.tds.insert(td);
  number_out(io.out, td);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(QUERY_SPECIAL_CONTEXTS, Io& io) {
  LayoutRef<QUERY_SPECIAL_CONTEXTS::Out>(io.out.data())
      .set<QUERY_SPECIAL_CONTEXTS::Out::RESD_LKEY>(kModelResdLkey)
      .set<QUERY_SPECIAL_CONTEXTS::Out::NULL_MKEY>(kModelNullMkey);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(CREATE_SQ, Io& io) {
  return create_wq<CREATE_SQ>(io, true);
}
ConnectXModel::Result ConnectXModel::execute(CREATE_RQ, Io& io) {
  return create_wq<CREATE_RQ>(io, false);
}
ConnectXModel::Result ConnectXModel::execute(MODIFY_SQ, Io& io) {
  return modify_wq<MODIFY_SQ>(io, true);
}
ConnectXModel::Result ConnectXModel::execute(MODIFY_RQ, Io& io) {
  return modify_wq<MODIFY_RQ>(io, false);
}

ConnectXModel::Result ConnectXModel::execute(CREATE_TIS, Io& io) {
  auto in = LayoutView<CREATE_TIS::In>(io.in.data());
  const uint32_t td = in.get<CREATE_TIS::In::TRANSPORT_DOMAIN>();
  if (objects_.tds.count(td) == 0) return {CmdStatus::kBadResource, 0x111};
  const uint32_t tisn = new_id(0x1000);
  objects_.tises[tisn] = td;
  number_out(io.out, tisn);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(SET_FLOW_TABLE_ROOT, Io& io) {
  auto in = LayoutView<TableIn>(io.in.data());
  if (in.get<TableIn::TABLE_TYPE>() != kTableNicRx) return {CmdStatus::kBadParam, 0x121};
  if (io.op_mod == kRootDisconnect) return objects_.root.reset(), Result{};
  const uint32_t id = in.get<TableIn::TABLE_ID>();
  if (io.op_mod != 0) return {CmdStatus::kBadParam, 0x122};
  if (objects_.tables.count(id) == 0) return {CmdStatus::kBadResource, 0x123};
  objects_.root = id;
  return {};
}

ConnectXModel::Result ConnectXModel::execute(DELETE_FLOW_TABLE_ENTRY, Io& io) {
  auto in = LayoutView<TableIn>(io.in.data());
  auto t = objects_.tables.find(in.get<TableIn::TABLE_ID>());
  if (t == objects_.tables.end()) return {CmdStatus::kBadResource, 0x124};
  if (t->second.entries.erase(in.get<TableIn::FLOW_INDEX>()) == 0) {
    return {CmdStatus::kBadParam, 0x125};
  }
  t->second.entries_changed();
  return {};
}

ConnectXModel::Result ConnectXModel::execute(CREATE_EQ, Io& io) {
  using In = CREATE_EQ::In;
  auto in = LayoutView<In>(io.in.data());
  cx::Eq eq;
  eq.log_size = in.get<In::LOG_EQ_SIZE>();
  eq.uar = in.get<In::UAR_PAGE>();
  eq.events = in.get<In::EVENT_BITMASK>();
  if (eq.log_size < 1 || eq.log_size > profile_.log_max_eq_size)
    return {CmdStatus::kBadParam, 0x201};
  if (objects_.uars.count(eq.uar) == 0) return {CmdStatus::kBadResource, 0x202};
  if (!read_pages(io.in, in.get<In::LOG_PAGE_SIZE>(), uint64_t{64} << eq.log_size, &eq.mem)) {
    return {CmdStatus::kBadParam, 0x203};
  }
  uint32_t eqn = 1;
  while (objects_.eqs.count(eqn) != 0) ++eqn;
  if (eqn > 0xFF) return {CmdStatus::kNoResources, 0x204};
  objects_.eqs[eqn] = std::move(eq);
  LayoutRef<CREATE_EQ::Out>(io.out.data()).set<CREATE_EQ::Out::NUMBER>(eqn);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(CREATE_CQ, Io& io) {
  using In = CREATE_CQ::In;
  auto in = LayoutView<In>(io.in.data());
  cx::Cq cq;
  cq.log_size = in.get<In::LOG_CQ_SIZE>();
  cq.uar = in.get<In::UAR_PAGE>();
  cq.eqn = in.get<In::C_EQN>();
  cq.dbr = in.get<In::DBR_ADDR>();
  cq.oi = in.get<In::OI>() != 0;
  if (in.get<In::CQE_SZ>() != 0) return {CmdStatus::kBadParam, 0x211};  // 64-byte CQEs only
  if (cq.log_size > profile_.log_max_cq_size) return {CmdStatus::kBadParam, 0x212};
  if (objects_.uars.count(cq.uar) == 0) return {CmdStatus::kBadResource, 0x213};
  if (objects_.eqs.count(cq.eqn) == 0) return {CmdStatus::kBadResource, 0x214};
  if (cq.dbr == 0 || cq.dbr % 8 != 0) return {CmdStatus::kBadParam, 0x215};
  if (!read_pages(io.in, in.get<In::LOG_PAGE_SIZE>(), uint64_t{64} << cq.log_size, &cq.mem)) {
    return {CmdStatus::kBadParam, 0x216};
  }
  const uint32_t cqn = new_id(0x400);
  objects_.cqs[cqn] = std::move(cq);
  LayoutRef<CREATE_CQ::Out>(io.out.data()).set<CREATE_CQ::Out::NUMBER>(cqn);
  return {};
}

template <typename Cmd>
ConnectXModel::Result ConnectXModel::create_wq(Io& io, bool send) {
  using In = typename Cmd::In;
  auto in = LayoutView<In>(io.in.data());
  cx::Wq wq;
  wq.send = send;
  wq.state = static_cast<uint8_t>(in.template get<typename In::STATE>());
  wq.cqn = in.template get<typename In::CQN>();
  wq.pd = in.template get<typename In::PD>();
  wq.uar = in.template get<typename In::UAR_PAGE>();
  wq.dbr = in.template get<typename In::DBR_ADDR>();
  wq.log_stride = in.template get<typename In::LOG_WQ_STRIDE>();
  wq.log_size = in.template get<typename In::LOG_WQ_SZ>();
  wq.rlkey = in.template get<typename In::RLKEY>() != 0;
  wq.flush_in_error = in.template get<typename In::FLUSH_IN_ERROR_EN>() != 0;
  if (in.template get<typename In::WQ_TYPE>() != kWqCyclic) return {CmdStatus::kBadParam, 0x221};
  if (wq.state != kRst) return {CmdStatus::kBadParam, 0x222};  // created in RST
  if (objects_.cqs.count(wq.cqn) == 0) return {CmdStatus::kBadResource, 0x223};
  if (objects_.pds.count(wq.pd) == 0) return {CmdStatus::kBadResource, 0x224};
  if (wq.log_size > profile_.log_max_wq_size) return {CmdStatus::kBadParam, 0x225};
  if (wq.dbr == 0 || wq.dbr % 8 != 0) return {CmdStatus::kBadParam, 0x226};
  if constexpr (std::is_same_v<Cmd, CREATE_SQ>) {
    wq.tis = in.template get<typename In::TIS_NUM_0>();
    wq.min_inline = in.template get<typename In::MIN_WQE_INLINE_MODE>();
    if (in.template get<typename In::TIS_LST_SZ>() != 1) return {CmdStatus::kBadParam, 0x227};
    if (objects_.tises.count(wq.tis) == 0) return {CmdStatus::kBadResource, 0x228};
    if (objects_.uars.count(wq.uar) == 0) return {CmdStatus::kBadResource, 0x229};
    if (wq.log_stride != 6) return {CmdStatus::kBadParam, 0x22A};  // 64-byte basic blocks
  } else {
    if (in.template get<typename In::MEM_RQ_TYPE>() != 0) return {CmdStatus::kBadParam, 0x22B};
    if (wq.log_stride < 4 || wq.log_stride > 10) return {CmdStatus::kBadParam, 0x22C};
  }
  const uint64_t bytes = uint64_t{1} << (wq.log_stride + wq.log_size);
  if (!read_pages(io.in, in.template get<typename In::LOG_WQ_PG_SZ>(), bytes, &wq.mem)) {
    return {CmdStatus::kBadParam, 0x22D};
  }
  const uint32_t n = new_id(0x800);
  objects_.wqs[n] = std::move(wq);
  LayoutRef<typename Cmd::Out>(io.out.data()).template set<typename Cmd::Out::NUMBER>(n);
  return {};
}

// PRM "SQ/RQ state machine": RST -> RDY; RDY -> RDY, ERR or RST; ERR -> RST.
// Going to RST resets the hardware counter: the queue starts again at WQE 0.
template <typename Cmd>
ConnectXModel::Result ConnectXModel::modify_wq(Io& io, bool send) {
  using In = typename Cmd::In;
  auto in = LayoutView<In>(io.in.data());
  auto it = objects_.wqs.find(in.template get<typename In::NUMBER>());
  if (it == objects_.wqs.end() || it->second.send != send) return {CmdStatus::kBadResource, 0x231};
  cx::Wq& wq = it->second;
  const uint32_t from = in.template get<typename In::CURRENT_STATE>();
  const uint32_t to = in.template get<typename In::NEXT_STATE>();
  if (from != wq.state) return {CmdStatus::kBadResState, 0x232};  // not in that state
  const bool legal = (from == kRst && to == kRdy) ||
                     (from == kRdy && (to == kRdy || to == kErr || to == kRst)) ||
                     (from == kErr && to == kRst);
  if (!legal) return {CmdStatus::kBadResState, 0x233};
  if (to == kRst) wq.counter = wq.posted = 0;
  wq.state = static_cast<uint8_t>(to);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(CREATE_TIR, Io& io) {
  using In = CREATE_TIR::In;
  auto in = LayoutView<In>(io.in.data());
  cx::Tir tir;
  tir.indirect = in.get<In::DISP_TYPE>() == 1;
  tir.td = in.get<In::TRANSPORT_DOMAIN>();
  if (in.get<In::DISP_TYPE>() > 1) return {CmdStatus::kBadParam, 0x241};
  if (objects_.tds.count(tir.td) == 0) return {CmdStatus::kBadResource, 0x242};
  if (!tir.indirect) {
    tir.rqn = in.get<In::INLINE_RQN>();
    auto rq = objects_.wqs.find(tir.rqn);
    if (rq == objects_.wqs.end() || rq->second.send) return {CmdStatus::kBadResource, 0x243};
  } else {
    tir.rqt = in.get<In::INDIRECT_TABLE>();
    tir.l3 = in.get<In::L3_PROT_TYPE>();
    tir.l4 = in.get<In::L4_PROT_TYPE>();
    tir.fields = in.get<In::SELECTED_FIELDS>();
    if (objects_.rqts.count(tir.rqt) == 0) return {CmdStatus::kBadResource, 0x244};
    if (in.get<In::RX_HASH_FN>() != kHashToeplitz) return {CmdStatus::kBadParam, 0x245};
    if (tir.l3 != 0) return {CmdStatus::kBadParam, 0x246};  // the model hashes IPv4
    if ((tir.fields & ~0xFu) != 0) return {CmdStatus::kBadParam, 0x247};
    std::memcpy(tir.key, io.in.data() + CREATE_TIR::kToeplitzKey, CREATE_TIR::kKeySize);
  }
  const uint32_t tirn = new_id(0x2000);
  objects_.tirs[tirn] = tir;
  LayoutRef<CREATE_TIR::Out>(io.out.data()).set<CREATE_TIR::Out::NUMBER>(tirn);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(CREATE_RQT, Io& io) {
  using In = CREATE_RQT::In;
  auto in = LayoutView<In>(io.in.data());
  const uint32_t max = in.get<In::RQT_MAX_SIZE>(), actual = in.get<In::RQT_ACTUAL_SIZE>();
  if (!pow2(actual) || actual > max) return {CmdStatus::kBadParam, 0x251};
  if (io.in.size() < CREATE_RQT::kRqNum + 4 * size_t{actual})
    return {CmdStatus::kBadInputLength, 0x252};
  std::vector<uint32_t> rqs;
  for (uint32_t i = 0; i < actual; ++i) {
    const uint32_t rqn = be32(io.in, CREATE_RQT::kRqNum + 4 * i) & 0xFFFFFF;
    auto rq = objects_.wqs.find(rqn);
    if (rq == objects_.wqs.end() || rq->second.send) return {CmdStatus::kBadResource, 0x253};
    rqs.push_back(rqn);
  }
  const uint32_t rqtn = new_id(0x3000);
  objects_.rqts[rqtn] = std::move(rqs);
  LayoutRef<CREATE_RQT::Out>(io.out.data()).set<CREATE_RQT::Out::NUMBER>(rqtn);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(CREATE_FLOW_TABLE, Io& io) {
  using In = CREATE_FLOW_TABLE::In;
  auto in = LayoutView<In>(io.in.data());
  cx::FlowTable t;
  t.type = in.get<In::TABLE_TYPE>();
  t.level = in.get<In::LEVEL>();
  t.log_size = in.get<In::LOG_SIZE>();
  if (t.type != kTableNicRx) return {CmdStatus::kBadParam, 0x261};  // the model has NIC RX
  if (t.log_size > 16 || t.level > 63) return {CmdStatus::kBadParam, 0x262};
  const uint32_t id = new_id(0x4000);
  objects_.tables[id] = std::move(t);
  LayoutRef<CREATE_FLOW_TABLE::Out>(io.out.data()).set<CREATE_FLOW_TABLE::Out::NUMBER>(id);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(CREATE_FLOW_GROUP, Io& io) {
  using In = CREATE_FLOW_GROUP::In;
  auto in = LayoutView<In>(io.in.data());
  auto t = objects_.tables.find(in.get<In::TABLE_ID>());
  if (t == objects_.tables.end() || in.get<In::TABLE_TYPE>() != t->second.type) {
    return {CmdStatus::kBadResource, 0x271};
  }
  cx::FlowGroup g;
  g.start = in.get<In::START_FLOW_INDEX>();
  g.end = in.get<In::END_FLOW_INDEX>();
  const uint32_t enable = in.get<In::MATCH_CRITERIA_ENABLE>();
  if (g.start > g.end || g.end >= (1u << t->second.log_size)) return {CmdStatus::kBadParam, 0x272};
  for (const auto& [id, other] : t->second.groups) {
    if (g.start <= other.end && other.start <= g.end) return {CmdStatus::kBadParam, 0x273};
  }
  if ((enable & ~kMatchOuterHeaders) != 0) return {CmdStatus::kBadParam, 0x274};  // outer only
  constexpr size_t kOuter = CREATE_FLOW_GROUP::kMatchCriteria, kEnd = kOuter + OuterHeaders::kSize;
  if (!zero(io.in, enable != 0 ? kEnd : kOuter, In::kSize)) {
    return {CmdStatus::kBadParam, 0x275};  // criteria where match_criteria_enable has none
  }
  for (size_t i = 0; i < OuterHeaders::kSize; ++i) {
    if (io.in[kOuter + i] & ~parsed_bits()[i]) return {CmdStatus::kBadParam, 0x276};
  }
  std::memcpy(g.criteria, io.in.data() + kOuter, 64);
  const uint32_t gid = new_id(0x5000);
  t->second.groups[gid] = g;
  LayoutRef<CREATE_FLOW_GROUP::Out>(io.out.data()).set<CREATE_FLOW_GROUP::Out::NUMBER>(gid);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(SET_FLOW_TABLE_ENTRY, Io& io) {
  using In = SET_FLOW_TABLE_ENTRY::In;
  auto in = LayoutView<In>(io.in.data());
  auto t = objects_.tables.find(in.get<In::TABLE_ID>());
  if (t == objects_.tables.end()) return {CmdStatus::kBadResource, 0x281};
  if (io.op_mod != 0) return {CmdStatus::kBadParam, 0x282};  // new entries only
  cx::FlowEntry e;
  const uint32_t index = in.get<In::FLOW_INDEX>();
  e.group = in.get<In::GROUP_ID>();
  e.action = in.get<In::ACTION>();
  auto g = t->second.groups.find(e.group);
  if (g == t->second.groups.end()) return {CmdStatus::kBadResource, 0x283};
  if (index < g->second.start || index > g->second.end) return {CmdStatus::kBadParam, 0x284};
  if (t->second.entries.count(index) != 0) return {CmdStatus::kBadParam, 0x285};
  std::memcpy(e.value, io.in.data() + SET_FLOW_TABLE_ENTRY::kMatchValue, 64);
  std::memcpy(e.mask, g->second.criteria, 64);
  for (int i = 0; i < 8; ++i) {
    if (e.value[i] & ~e.mask[i]) return {CmdStatus::kBadParam, 0x286};  // beyond the criteria
  }
  constexpr size_t kValueEnd = SET_FLOW_TABLE_ENTRY::kMatchValue + 0x200;  // fte_match_param
  if (!zero(io.in, SET_FLOW_TABLE_ENTRY::kMatchValue + 64, kValueEnd)) {
    return {CmdStatus::kBadParam, 0x28D};  // values beyond the outer headers: no criteria there
  }
  const uint32_t n = in.get<In::DESTINATION_LIST_SIZE>();
  if (e.action == kActionForward) {
    if (n == 0 || io.in.size() < SET_FLOW_TABLE_ENTRY::kDestinations + 8 * size_t{n}) {
      return {CmdStatus::kBadParam, 0x287};
    }
    for (uint32_t i = 0; i < n; ++i) {
      LayoutView<FlowDestination> d(io.in.data() + SET_FLOW_TABLE_ENTRY::kDestinations + 8 * i);
      const uint32_t type = d.get<FlowDestination::TYPE>(), id = d.get<FlowDestination::ID>();
      if (type == kDestTir) {
        if (objects_.tirs.count(id) == 0) return {CmdStatus::kBadResource, 0x288};
      } else if (type == kDestFlowTable) {
        auto next = objects_.tables.find(id);
        if (next == objects_.tables.end()) return {CmdStatus::kBadResource, 0x289};
        if (next->second.level <= t->second.level) return {CmdStatus::kBadParam, 0x28A};
      } else {
        return {CmdStatus::kBadParam, 0x28B};
      }
      e.dests.emplace_back(type, id);
    }
  } else if (e.action != kActionDrop || n != 0) {
    return {CmdStatus::kBadParam, 0x28C};
  }
  e.index_matched_words();
  t->second.entries[index] = std::move(e);
  t->second.entries_changed();
  return {};
}

// DESTROY_* / DEALLOC_*: the object must exist (BAD_RESOURCE) and nothing may
// still refer to it (RESOURCE_BUSY).
ConnectXModel::Result ConnectXModel::destroy(uint16_t opcode, Io& io) {
  cx::Objects& o = objects_;
  o.forget_lookups();
  const uint32_t n = LayoutView<Numbered<0x10>>(io.in.data()).get<Numbered<0x10>::NUMBER>();
  const Result missing{CmdStatus::kBadResource, 0x300u | (opcode & 0xFF)};
  const Result busy{CmdStatus::kResourceBusy, 0x400u | (opcode & 0xFF)};
  auto any_wq = [&](auto pred) {
    for (const auto& [id, wq] : o.wqs) {
      if (pred(wq)) return true;
    }
    return false;
  };
  auto any_entry_to = [&](uint32_t type, uint32_t id) {
    for (const auto& [tid, t] : o.tables) {
      for (const auto& [i, e] : t.entries) {
        for (const auto& d : e.dests) {
          if (d.first == type && d.second == id) return true;
        }
      }
    }
    return false;
  };
  switch (opcode) {
    case DEALLOC_UAR::kOpcode: {
      if (o.uars.count(n) == 0) return missing;
      bool used = any_wq([&](const cx::Wq& w) { return w.send && w.uar == n; });
      for (const auto& [id, eq] : o.eqs) used |= eq.uar == n;
      for (const auto& [id, cq] : o.cqs) used |= cq.uar == n;
      if (used) return busy;
      o.uars.erase(n);
      return {};
    }
    case DEALLOC_PD::kOpcode:
      if (o.pds.count(n) == 0) return missing;
      if (any_wq([&](const cx::Wq& w) { return w.pd == n; })) return busy;
      o.pds.erase(n);
      return {};
    case DEALLOC_TRANSPORT_DOMAIN::kOpcode: {
      if (o.tds.count(n) == 0) return missing;
      bool used = false;
      for (const auto& [id, td] : o.tises) used |= td == n;
      for (const auto& [id, tir] : o.tirs) used |= tir.td == n;
      if (used) return busy;
      o.tds.erase(n);
      return {};
    }
    case DESTROY_EQ::kOpcode: {
      const uint32_t eqn = n & 0xFF;
      if (o.eqs.count(eqn) == 0) return missing;
      for (const auto& [id, cq] : o.cqs) {
        if (cq.eqn == eqn) return busy;
      }
      o.eqs.erase(eqn);
      return {};
    }
    case DESTROY_CQ::kOpcode:
      if (o.cqs.count(n) == 0) return missing;
      if (any_wq([&](const cx::Wq& w) { return w.cqn == n; })) return busy;
      o.cqs.erase(n);
      return {};
    case DESTROY_SQ::kOpcode:
    case DESTROY_RQ::kOpcode: {
      auto it = o.wqs.find(n);
      if (it == o.wqs.end() || it->second.send != (opcode == DESTROY_SQ::kOpcode)) return missing;
      bool used = false;
      for (const auto& [id, tir] : o.tirs) used |= !tir.indirect && tir.rqn == n;
      for (const auto& [id, rqs] : o.rqts) {
        for (uint32_t rq : rqs) used |= rq == n;
      }
      if (used) return busy;
      o.wqs.erase(it);
      return {};
    }
    case DESTROY_TIS::kOpcode:
      if (o.tises.count(n) == 0) return missing;
      if (any_wq([&](const cx::Wq& w) { return w.send && w.tis == n; })) return busy;
      o.tises.erase(n);
      return {};
    case DESTROY_TIR::kOpcode:
      if (o.tirs.count(n) == 0) return missing;
      if (any_entry_to(kDestTir, n)) return busy;
      o.tirs.erase(n);
      return {};
    case DESTROY_RQT::kOpcode: {
      if (o.rqts.count(n) == 0) return missing;
      for (const auto& [id, tir] : o.tirs) {
        if (tir.indirect && tir.rqt == n) return busy;
      }
      o.rqts.erase(n);
      return {};
    }
    case DESTROY_FLOW_TABLE::kOpcode: {
      const uint32_t id = LayoutView<TableIn>(io.in.data()).get<TableIn::TABLE_ID>();
      auto t = o.tables.find(id);
      if (t == o.tables.end()) return missing;
      if (o.root == id || !t->second.groups.empty() || any_entry_to(kDestFlowTable, id))
        return busy;
      o.tables.erase(t);
      return {};
    }
    case DESTROY_FLOW_GROUP::kOpcode: {
      auto in = LayoutView<TableIn>(io.in.data());
      auto t = o.tables.find(in.get<TableIn::TABLE_ID>());
      if (t == o.tables.end()) return missing;
      const uint32_t gid = in.get<TableIn::GROUP_ID>();
      if (t->second.groups.count(gid) == 0) return missing;
      for (const auto& [i, e] : t->second.entries) {
        if (e.group == gid) return busy;
      }
      t->second.groups.erase(gid);
      return {};
    }
  }
  return {CmdStatus::kBadOp, opcode};
}

}  // namespace safenic::sim
