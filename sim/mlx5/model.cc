#include "sim/mlx5/model.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "absl/strings/str_format.h"
#include "nic/mlx5/commands.h"

namespace safenic::sim {

using namespace ::safenic::mlx5;  // the shared layouts

namespace {
constexpr uint16_t kFwMajor = 16, kFwMinor = 35, kFwSubminor = 1012;
constexpr uint32_t kLogCmdqSize = 5, kLogCmdqStride = 6;  // 32 entries of 64 bytes

}  // namespace

ConnectXModel::ConnectXModel(SimContext ctx, ConnectXProfile profile)
    : ctx_(std::move(ctx)), profile_(profile), port_(*this) {
  port_state_.mac = profile_.mac;
  owed_[kPagesBoot] = profile_.boot_pages;
  owed_[kPagesInit] = profile_.init_pages;
  owed_[kPagesRegular] = profile_.regular_pages;
}

void ConnectXModel::fail_next_command(uint16_t opcode, CmdStatus status, uint32_t syndrome,
                                      uint32_t skip) {
  fail_next_ = Failure{opcode, status, syndrome};
  skip_failures_ = skip;
}

// The initialization segment is big-endian: values travel byte-swapped.
uint64_t ConnectXModel::mmio_read(int, uint32_t off, unsigned width) {
  uint32_t v = 0;
  if (width != 4) {
    ctx_.log->report(
        absl::StrFormat("ConnectX: %d-byte read of the initialization segment at %#x", width, off));
    return 0;
  }
  switch (off) {
    case FW_REV::offset(): v = kFwMajor | uint32_t{kFwMinor} << 16; break;
    case CMDIF_REV_FW_SUB::offset(): v = kFwSubminor | kCmdInterfaceRev << 16; break;
    case CMDQ_ADDR_H::offset(): v = cmdq_addr_h_; break;
    case CMDQ_ADDR_L_SZ::offset():
      v = static_cast<uint32_t>(cmdq_) | kLogCmdqSize << 4 | kLogCmdqStride;
      break;
    case INITIALIZING::offset(): v = (stay_initializing_ || cmdq_ == 0) ? 1u << 31 : 0; break;
    case HEALTH_SYNDROME::offset():
      // Read-only fields: the device composes the word (drivers cannot set them).
      v = HEALTH_SYNDROME::SYNDROME::insert(
          HEALTH_SYNDROME::EXT_SYNDROME::insert(0, health_ext_syndrome_), health_syndrome_);
      break;
    case INTERNAL_TIMER_H::offset():
      v = static_cast<uint32_t>(absl::ToUnixNanos(ctx_.clock->now()) >> 32);
      break;
    case INTERNAL_TIMER_L::offset():
      v = static_cast<uint32_t>(absl::ToUnixNanos(ctx_.clock->now()));
      break;
    default: ctx_.log->report(absl::StrFormat("ConnectX: read of unmodelled offset %#x", off));
  }
  return to_order<ByteOrder::kBig>(v);
}

void ConnectXModel::mmio_write(int, uint32_t off, unsigned width, uint64_t value) {
  if (off >= kFirstUar * kPageSize) return uar_write(off, width, value);
  const uint32_t v = from_order<ByteOrder::kBig>(static_cast<uint32_t>(value));
  if (width != 4) {
    ctx_.log->report(absl::StrFormat("ConnectX: %d-byte write at %#x", width, off));
    return;
  }
  switch (off) {
    case CMDQ_ADDR_H::offset(): cmdq_addr_h_ = v; return;
    case CMDQ_ADDR_L_SZ::offset():
      cmdq_ = uint64_t{cmdq_addr_h_} << 32 | (v & 0xFFFFF000u);
      if (((v >> 8) & 7) == 7) {
        ctx_.log->report(
            "ConnectX: nic_interface 7 (software reset) written; ENABLE_HCA would hang "
            "(docs/connectx.md §8)");
      }
      return;
    case CMD_DBELL::offset():
      if (cmdq_ == 0) {
        ctx_.log->report("ConnectX: command doorbell before the command queue address was set");
        return;
      }
      return doorbell(v);
  }
  ctx_.log->report(
      absl::StrFormat("ConnectX: write of %#x to read-only or unmodelled offset %#x", v, off));
}

void ConnectXModel::doorbell(uint32_t slots) {
  for (uint32_t slot = 0; slot < (1u << kLogCmdqSize); ++slot) {
    if (slots & (1u << slot)) execute(slot);
  }
}

// PRM "Command Queue Entry": validate, gather the input, run, scatter the
// output, then hand the entry back by clearing the owner bit.
// A hung or dead firmware (a timeout fault, a health syndrome) never hands
// the entry back: the owner bit stays 1.
void ConnectXModel::execute(uint32_t slot) {
  if (stop_completing_ || fatal()) return;
  auto mem = ctx_.iommu->translate(cmdq_ + slot * CmdEntry::kSize, CmdEntry::kSize,
                                   "ConnectX command entry read");
  if (!mem.ok()) return;
  uint8_t* entry = mem->data();
  LayoutRef<CmdEntry> e(entry);
  if (!e.is_set<CmdEntry::OWNER>()) {
    ctx_.log->report(
        absl::StrFormat("ConnectX: doorbell for command slot %d that software still owns", slot));
    return;
  }
  const uint16_t opcode = static_cast<uint16_t>(entry[kCmdInlineIn] << 8 | entry[kCmdInlineIn + 1]);
  if (command_fault(ConnectXFault::kCommandTimeout, opcode)) return void(stop_completing_ = true);
  ++commands_;
  dma_read_barrier();
  Delivery d = Delivery::kOk;
  std::vector<uint8_t> in, out;
  if (e.get<CmdEntry::TYPE>() != kCmdTypePcie) {
    d = Delivery::kBadCommandType;
  } else if (e.get<CmdEntry::INPUT_LENGTH>() < 8) {
    d = Delivery::kInputLengthError;
  } else if (e.get<CmdEntry::OUTPUT_LENGTH>() < 8) {
    d = Delivery::kOutputLengthError;
  } else {
    d = gather(entry, &in);
  }
  if (fail_delivery_) d = *fail_delivery_, fail_delivery_.reset();
  if (d == Delivery::kOk) {
    out = run(in, e.get<CmdEntry::OUTPUT_LENGTH>());
    if (writes_ != nullptr) writes_->command(opcode, out, d);
    if (d == Delivery::kOk) d = scatter(entry, out);
  }
  e.set<CmdEntry::STATUS>(static_cast<uint8_t>(d));
  dma_write_barrier();
  e.set<CmdEntry::OWNER>(0);
  // PRM "Command Interface": an EQ subscribed to command completion gets an
  // EQE whose vector names the entry.
  if (subscribed(kEventCommand)) {
    post_event_data(kEventCommand, 0,
                    [&](LayoutRef<Eqe> ev) { ev.set<Eqe::CMD_VECTOR>(1u << slot); });
  }
}

void ConnectXModel::request_pages(int32_t n) {
  if (n > 0) owed_[kPagesRegular] += n;
  if (n < 0) returnable_ += static_cast<uint32_t>(-n);
  post_event_data(kEventPageRequest, 0, [&](LayoutRef<Eqe> e) {
    e.set<Eqe::PAGE_FUNCTION>(0).set<Eqe::NUM_PAGES>(static_cast<uint32_t>(n));
  });
}

bool ConnectXModel::subscribed(uint32_t type) const {
  for (const auto& [eqn, eq] : objects_.eqs) {
    if ((eq.events >> type) & 1) return true;
  }
  return false;
}

Delivery ConnectXModel::gather(uint8_t* entry, std::vector<uint8_t>* in) {
  LayoutRef<CmdEntry> e(entry);
  const uint32_t len = e.get<CmdEntry::INPUT_LENGTH>();
  in->assign(len, 0);
  std::memcpy(in->data(), entry + kCmdInlineIn, std::min<uint32_t>(len, kCmdInline));
  uint64_t next = e.get<CmdEntry::INPUT_MAILBOX>();
  for (uint32_t off = kCmdInline, block = 0; off < len; off += kMailboxData, ++block) {
    if (next == 0 || next % kMailboxAlign != 0) return Delivery::kBadInputPointer;
    auto mb = ctx_.iommu->translate(next, Mailbox::kSize, "ConnectX input mailbox read");
    if (!mb.ok()) return Delivery::kBadInputPointer;
    LayoutRef<Mailbox> m(mb->data());
    if (m.get<Mailbox::BLOCK_NUMBER>() != block) return Delivery::kBadBlockNumber;
    if (m.get<Mailbox::TOKEN>() != e.get<CmdEntry::TOKEN>()) return Delivery::kTokenError;
    std::memcpy(in->data() + off, mb->data(), std::min<uint32_t>(kMailboxData, len - off));
    next = m.get<Mailbox::NEXT>();
  }
  return Delivery::kOk;
}

Delivery ConnectXModel::scatter(uint8_t* entry, const std::vector<uint8_t>& out) {
  LayoutRef<CmdEntry> e(entry);
  std::memcpy(entry + kCmdInlineOut, out.data(), std::min<size_t>(out.size(), kCmdInline));
  uint64_t next = e.get<CmdEntry::OUTPUT_MAILBOX>();
  for (size_t off = kCmdInline, block = 0; off < out.size(); off += kMailboxData, ++block) {
    if (next == 0 || next % kMailboxAlign != 0) return Delivery::kBadOutputPointer;
    auto mb = ctx_.iommu->translate(next, Mailbox::kSize, "ConnectX output mailbox write");
    if (!mb.ok()) return Delivery::kBadOutputPointer;
    LayoutRef<Mailbox> m(mb->data());
    if (m.get<Mailbox::BLOCK_NUMBER>() != block) return Delivery::kBadBlockNumber;
    if (m.get<Mailbox::TOKEN>() != e.get<CmdEntry::TOKEN>()) return Delivery::kTokenError;
    std::memcpy(mb->data(), out.data() + off, std::min<size_t>(kMailboxData, out.size() - off));
    next = m.get<Mailbox::NEXT>();
  }
  return Delivery::kOk;
}

// The commands that work before INIT_HCA (PRM "Initialization"): those that
// bring the HCA up and down. Any other is BAD_SYS_STATE until then.
template <typename Cmd>
constexpr bool kBeforeInit =
    std::is_same_v<Cmd, ENABLE_HCA> || std::is_same_v<Cmd, DISABLE_HCA> ||
    std::is_same_v<Cmd, QUERY_ISSI> || std::is_same_v<Cmd, SET_ISSI> ||
    std::is_same_v<Cmd, QUERY_PAGES> || std::is_same_v<Cmd, MANAGE_PAGES> ||
    std::is_same_v<Cmd, QUERY_HCA_CAP> || std::is_same_v<Cmd, INIT_HCA> ||
    std::is_same_v<Cmd, TEARDOWN_HCA>;

// Dispatch, derived from the command list (nic/mlx5/commands.h): a command's
// fixed input and output sizes first (shorter buffers are BAD_INPUT_LEN /
// BAD_OUTPUT_LEN before anything else is looked at), then the HCA's state,
// then the model's execute() for that command. An opcode not in the list is
// BAD_OP.
ConnectXModel::Result ConnectXModel::dispatch(uint16_t opcode, Io& io) {
  Result r{CmdStatus::kBadOp, opcode};
  for_each_command(Commands{}, [&](auto cmd) {
    using Cmd = decltype(cmd);
    if (Cmd::kOpcode != opcode) return false;
    if (io.in.size() < Cmd::In::kSize) {
      r = {CmdStatus::kBadInputLength, 0x50};
    } else if (io.out.size() < Cmd::Out::kSize) {
      r = {CmdStatus::kBadOutputLength, 0x51};
    } else if (!enabled_ && !std::is_same_v<Cmd, ENABLE_HCA>) {
      r = {CmdStatus::kBadSysState, 0x1};
    } else if (!initialized_ && !kBeforeInit<Cmd>) {
      r = {CmdStatus::kBadSysState, 0xA};  // INIT_HCA first
    } else {
      r = execute(cmd, io);
    }
    return true;
  });
  return r;
}

std::vector<uint8_t> ConnectXModel::run(const std::vector<uint8_t>& in, size_t out_size) {
  std::vector<uint8_t> out(out_size, 0);  // the caller checked: both hold a header
  const uint16_t opcode = static_cast<uint16_t>(LayoutView<CmdIn>(in.data()).get<CmdIn::OPCODE>());
  const uint16_t op_mod = static_cast<uint16_t>(LayoutView<CmdIn>(in.data()).get<CmdIn::OP_MOD>());
  ++by_opcode_[opcode];
  auto fail = [&](CmdStatus s, uint32_t syndrome) {
    LayoutRef<CmdOut>(out.data())
        .set<CmdOut::STATUS>(static_cast<uint8_t>(s))
        .set<CmdOut::SYNDROME>(syndrome);
    return out;
  };
  if (fail_next_ && (fail_next_->opcode == 0 || fail_next_->opcode == opcode) &&
      skip_failures_-- == 0) {
    const Failure f = *fail_next_;
    fail_next_.reset();
    return fail(f.status, f.syndrome);
  }
  if (command_fault(ConnectXFault::kCommandFailure, opcode)) {
    return fail(static_cast<CmdStatus>(faults_->command_status), faults_->command_syndrome);
  }
  Io io{in, out, op_mod};
  const Result r = dispatch(opcode, io);
  if (r.status != CmdStatus::kOk) return fail(r.status, r.syndrome);
  return out;
}

// --- The HCA's life (PRM "Initialization"; docs/connectx.md §2). ---

ConnectXModel::Result ConnectXModel::execute(ENABLE_HCA, Io&) {
  enabled_ = true;
  return {};
}

ConnectXModel::Result ConnectXModel::execute(DISABLE_HCA, Io&) {
  if (initialized_) return {CmdStatus::kBadSysState, 0x2};  // TEARDOWN_HCA first
  enabled_ = false;
  return {};
}

ConnectXModel::Result ConnectXModel::execute(QUERY_ISSI, Io& io) {
  LayoutRef<QUERY_ISSI::Out>(io.out.data())
      .set<QUERY_ISSI::Out::CURRENT_ISSI>(issi_)
      .set<QUERY_ISSI::Out::SUPPORTED_ISSI_DW0>(0x3);  // ISSI 0 and 1
  return {};
}

ConnectXModel::Result ConnectXModel::execute(SET_ISSI, Io& io) {
  const uint32_t issi = LayoutView<SET_ISSI::In>(io.in.data()).get<SET_ISSI::In::CURRENT_ISSI>();
  if (issi > 1) return {CmdStatus::kBadParam, 0x4};
  issi_ = static_cast<uint16_t>(issi);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(QUERY_PAGES, Io& io) {
  if (io.op_mod < kPagesBoot || io.op_mod > kPagesRegular) return {CmdStatus::kBadParam, 0x5};
  LayoutRef<QUERY_PAGES::Out>(io.out.data())
      .set<QUERY_PAGES::Out::NUM_PAGES>(static_cast<uint32_t>(owed_[io.op_mod]));
  return {};
}

ConnectXModel::Result ConnectXModel::execute(QUERY_HCA_CAP, Io& io) {
  using Out = QUERY_HCA_CAP::Out;
  auto out = LayoutRef<Out>(io.out.data());
  if ((io.op_mod >> 1) == kCapEthernet) {  // the vport context says the inline mode
    out.set<Out::ETH_CSUM_CAP>(profile_.csum_cap)
        .set<Out::ETH_WQE_INLINE_MODE>(kInlineModeVportContext)
        .set<Out::ETH_ENHANCED_MULTI_PKT_SEND_WQE>(profile_.enhanced_mpw);
    return {};
  }
  if ((io.op_mod >> 1) != kCapGeneral) return {CmdStatus::kBadParam, 0x14};
  out.set<Out::LOG_MAX_CQ_SZ>(profile_.log_max_cq_size)
      .set<Out::LOG_MAX_EQ_SZ>(profile_.log_max_eq_size)
      .set<Out::PORT_TYPE>(1)  // Ethernet
      .set<Out::LOG_MAX_WQ_SZ>(profile_.log_max_wq_size)
      .set<Out::LOG_MAX_CURRENT_UC_LIST>(profile_.log_max_uc_list);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(INIT_HCA, Io&) {
  if (initialized_) return {CmdStatus::kBadSysState, 0x7};
  if (owed_[kPagesBoot] > 0 || owed_[kPagesInit] > 0) {
    return {CmdStatus::kBadSysState, 0x8};  // the firmware lacks its pages
  }
  initialized_ = true;
  update_link();
  return {};
}

ConnectXModel::Result ConnectXModel::execute(TEARDOWN_HCA, Io&) {
  if (!initialized_) return {CmdStatus::kBadSysState, 0x9};
  initialized_ = false;
  torn_down_ = true;
  objects_at_teardown_ = objects_.count();  // the firmware forgets them all
  objects_ = cx::Objects{};
  if (profile_.teardown_resets_vport) {
    port_state_.allowed_uc.clear();
    port_state_.promisc_uc = port_state_.promisc_mc = port_state_.promisc_all = false;
  }
  update_link();
  return {};
}

// MANAGE_PAGES give: every page must be 4 KiB aligned, reachable, and new;
// take: returns pages once the HCA is torn down (or never initialized), and
// while running those a page request offered back.
ConnectXModel::Result ConnectXModel::execute(MANAGE_PAGES, Io& io) {
  const uint32_t n =
      LayoutView<MANAGE_PAGES::In>(io.in.data()).get<MANAGE_PAGES::In::INPUT_NUM_ENTRIES>();
  auto page = [](const uint8_t* at) {
    return LayoutView<Plain<8>>(at).get<Plain<8>::Field<0, uint64_t>>();
  };
  if (io.op_mod == kManageGive) {
    if (io.in.size() < MANAGE_PAGES::kPas + 8 * size_t{n})
      return {CmdStatus::kBadInputLength, 0x10};
    std::vector<uint64_t> given;
    for (uint32_t i = 0; i < n; ++i) {
      const uint64_t pa = page(io.in.data() + MANAGE_PAGES::kPas + 8 * i);
      if (pa % kPageSize != 0 || pages_.count(pa) != 0 ||
          !ctx_.iommu->translate(pa, kPageSize, "ConnectX firmware page").ok()) {
        return {CmdStatus::kBadParam, 0x11};
      }
      given.push_back(pa);
    }
    pages_.insert(given.begin(), given.end());
    int32_t left = static_cast<int32_t>(n);
    for (uint16_t stage : {kPagesBoot, kPagesInit, kPagesRegular}) {  // the oldest request first
      const int32_t settle = std::min(owed_[stage], left);
      if (settle > 0) owed_[stage] -= settle, left -= settle;
    }
    return {};
  }
  if (io.op_mod == kManageTake) {
    // Pages in use: only those offered back by a page request, until teardown.
    if (initialized_ && n > returnable_) return {CmdStatus::kBadSysState, 0x12};
    const size_t room = (io.out.size() - MANAGE_PAGES::kPas) / 8;  // the output holds kPas
    uint32_t k = 0;
    for (auto it = pages_.begin(); it != pages_.end() && k < std::min<size_t>(n, room);) {
      LayoutRef<Plain<8>>(io.out.data() + MANAGE_PAGES::kPas + 8 * k++)
          .set<Plain<8>::Field<0, uint64_t>>(*it);
      it = pages_.erase(it);
    }
    LayoutRef<MANAGE_PAGES::Out>(io.out.data()).set<MANAGE_PAGES::Out::OUTPUT_NUM_ENTRIES>(k);
    if (initialized_) returnable_ -= k;
    return {};
  }
  return {CmdStatus::kBadParam, 0x13};
}

std::map<std::string, uint64_t> ConnectXModel::dropped_frames() const {
  std::map<std::string, uint64_t> out;
  add_drops(out, "link_down", drops_.link_down);  // both ways
  add_drops(out, "rx_vport_filter", drops_.vport_filter);
  add_drops(out, "rx_no_steering", drops_.no_steering);
  add_drops(out, "rx_rq_not_ready", drops_.rq_not_ready);
  add_drops(out, "rx_no_wqe", drops_.no_wqe);
  add_drops(out, "rx_oversize", drops_.oversize);
  add_drops(out, "rx_fatal", drops_.fatal);
  add_drops(out, "rx_failed", drops_.rx_failed);
  add_drops(out, "tx_failed", drops_.tx_failed);
  add_drops(out, "tx_flushed", drops_.tx_flushed);
  return out;
}

}  // namespace safenic::sim
