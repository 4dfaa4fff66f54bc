#include "nic/mlx5/cmd.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/mlx5/commands.h"

namespace safenic::mlx5 {
namespace {

constexpr uint32_t kMailboxes = 64;  // 32 for inputs, 32 for outputs: 16 KiB each way
constexpr uint32_t kHalf = kMailboxes / 2;
constexpr absl::Duration kCommandTimeout = absl::Seconds(5);  // illumos waits 5 s

const char* delivery_name(uint8_t d) {
  switch (static_cast<Delivery>(d)) {
    case Delivery::kOk: return "ok";
    case Delivery::kSignatureError: return "signature error";
    case Delivery::kTokenError: return "token error";
    case Delivery::kBadBlockNumber: return "bad block number";
    case Delivery::kBadOutputPointer: return "bad output pointer";
    case Delivery::kBadInputPointer: return "bad input pointer";
    case Delivery::kInternalError: return "internal error";
    case Delivery::kInputLengthError: return "input length error";
    case Delivery::kOutputLengthError: return "output length error";
    case Delivery::kReservedNotZero: return "reserved field not zero";
    case Delivery::kBadCommandType: return "bad command type";
  }
  return "unknown";
}

void hexdump(std::string* s, absl::Span<const uint8_t> b) {
  for (size_t i = 0; i < b.size(); i += 16) {
    absl::StrAppendFormat(s, "  %04x:", i);
    for (size_t k = i; k < i + 16 && k < b.size(); k += 4) {
      uint32_t w = 0;
      for (size_t j = k; j < k + 4; ++j) w = w << 8 | (j < b.size() ? b[j] : 0);
      absl::StrAppendFormat(s, " %08x", w);
    }
    s->push_back('\n');
  }
}

}  // namespace

std::string command_name(uint16_t opcode) {
  std::string name = absl::StrFormat("opcode %#x", opcode);
  for_each_command(Commands{}, [&](auto cmd) {
    if (decltype(cmd)::kOpcode != opcode) return false;
    name = decltype(cmd)::kName;
    return true;
  });
  return name;
}

std::string status_name(uint8_t status) {
  switch (static_cast<CmdStatus>(status)) {
    case CmdStatus::kOk: return "OK";
    case CmdStatus::kInternalError: return "INTERNAL_ERR";
    case CmdStatus::kBadOp: return "BAD_OP";
    case CmdStatus::kBadParam: return "BAD_PARAM";
    case CmdStatus::kBadSysState: return "BAD_SYS_STATE";
    case CmdStatus::kBadResource: return "BAD_RESOURCE";
    case CmdStatus::kResourceBusy: return "RESOURCE_BUSY";
    case CmdStatus::kExceedLimit: return "EXCEED_LIM";
    case CmdStatus::kBadResState: return "BAD_RES_STATE";
    case CmdStatus::kBadIndex: return "BAD_INDEX";
    case CmdStatus::kNoResources: return "NO_RESOURCES";
    case CmdStatus::kBadQpState: return "BAD_QP_STATE";
    case CmdStatus::kBadPacket: return "BAD_PKT";
    case CmdStatus::kBadSizeOutstandingCqes: return "BAD_SIZE_OUTS_CQES";
    case CmdStatus::kBadInputLength: return "BAD_INPUT_LEN";
    case CmdStatus::kBadOutputLength: return "BAD_OUTPUT_LEN";
  }
  return absl::StrFormat("status %#x", status);
}

// PRM "Health Buffer": the syndrome's name and what it means.
const char* health_syndrome_name(uint8_t syndrome) {
  switch (static_cast<HealthSyndrome>(syndrome)) {
    case HealthSyndrome::kFwInternalErr: return "FW_INTERNAL_ERR: firmware internal error";
    case HealthSyndrome::kDeadIrisc: return "DEAD_IRISC: an internal processor stopped";
    case HealthSyndrome::kHwFatalErr: return "HW_FATAL_ERR: fatal hardware error";
    case HealthSyndrome::kFwCrcErr: return "FW_CRC_ERR: firmware image CRC error";
    case HealthSyndrome::kIcmFetchPciErr: return "ICM_FETCH_PCI_ERR: PCI error fetching ICM";
    case HealthSyndrome::kIcmPageErr: return "ICM_PAGE_ERR: bad ICM page";
    case HealthSyndrome::kAsynchronousEqBufOverrun:
      return "ASYNCHRONOUS_EQ_BUF_OVERRUN: an asynchronous EQ overran";
    case HealthSyndrome::kEqInErr: return "EQ_IN_ERR: an EQ is in error";
    case HealthSyndrome::kEqInv: return "EQ_INV: an invalid EQ was referenced";
    case HealthSyndrome::kFfserErr: return "FFSER_ERR: FFSER error";
    case HealthSyndrome::kHighTempErr: return "HIGH_TEMP_ERR: the device is too hot";
  }
  return "unknown syndrome";
}

absl::StatusOr<std::unique_ptr<CommandQueue>> CommandQueue::create(PciFunction& fn, Bar& bar) {
  const auto rev = bar.read<CMDIF_REV_FW_SUB>();
  if (rev.raw() == 0xFFFFFFFF) {
    return absl::UnavailableError(absl::StrFormat(
        "%s: the initialization segment reads all ones; the device is gone or not powered",
        fn.name()));
  }
  if (rev.get<CMDIF_REV_FW_SUB::CMD_INTERFACE_REV>() != kCmdInterfaceRev) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: command interface revision %d; safenic speaks revision %d (update the firmware)",
        fn.name(), rev.get<CMDIF_REV_FW_SUB::CMD_INTERFACE_REV>(), kCmdInterfaceRev));
  }
  auto queue = fn.dma().allocate(kPageSize, fn.name() + " command queue");  // 4 KiB aligned
  if (!queue.ok()) return queue.status();
  SAFENIC_ASSIGN_OR_RETURN(auto mailboxes,
                           fn.dma().allocate(kMailboxes * kMailboxAlign, fn.name() + " mailboxes"));
  const uint64_t iova = queue->iova();
  bar.write(RegisterValue<CMDQ_ADDR_H>(static_cast<uint32_t>(iova >> 32)));
  bar.write(
      RegisterValue<CMDQ_ADDR_L_SZ>().set<CMDQ_ADDR_L_SZ::CMDQ_ADDR_L>((iova >> 12) & 0xFFFFF));
  const absl::Time deadline = fn.now() + absl::Seconds(10);
  while (bar.read<INITIALIZING>().is_set<INITIALIZING::BUSY>()) {
    if (fn.now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "%s: firmware still initializing after 10 s (INITIALIZING set); check the health "
          "buffer and firmware version",
          fn.name()));
    }
    fn.sleep(absl::Milliseconds(1));
  }
  return std::unique_ptr<CommandQueue>(
      new CommandQueue(fn, bar, *std::move(queue), std::move(mailboxes)));
}

// Links `count` mailboxes from `first` into a chain; returns the first's IOVA.
uint64_t CommandQueue::chain(uint32_t first, uint32_t count, uint8_t token) {
  for (uint32_t b = 0; b < count; ++b) {
    LayoutRef<Mailbox>(mailbox(first + b))
        .set<Mailbox::NEXT>(b + 1 < count ? mailbox_iova(first + b + 1) : 0)
        .set<Mailbox::BLOCK_NUMBER>(b)
        .set<Mailbox::TOKEN>(token);
  }
  return count == 0 ? 0 : mailbox_iova(first);
}

absl::StatusOr<std::vector<uint8_t>> CommandQueue::execute(absl::Span<const uint8_t> in,
                                                           size_t out_size) {
  const uint16_t opcode = LayoutView<CmdIn>(in.data()).get<CmdIn::OPCODE>();
  const std::string name = command_name(opcode);
  const auto blocks = [](size_t n) {
    return static_cast<uint32_t>(
        n <= kCmdInline ? 0 : (n - kCmdInline + kMailboxData - 1) / kMailboxData);
  };
  if (in.size() < 8 || out_size < 8 || blocks(in.size()) > kHalf || blocks(out_size) > kHalf) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %d input and %d output bytes; commands carry 8 to %d", name, in.size(),
                        out_size, kCmdInline + kHalf * kMailboxData));
  }
  uint8_t* entry = queue_.data();  // slot 0: one command at a time
  LayoutRef<CmdEntry> e(entry);
  if (!timed_out_.empty()) {
    if (e.is_set<CmdEntry::OWNER>()) {
      return absl::UnavailableError(absl::StrFormat(
          "%s: not sent: %s got no completion and the device still owns the command entry; "
          "close and reopen the device",
          name, timed_out_));
    }
    timed_out_.clear();  // completed late: the entry is ours again
  }
  if (trace_) {
    std::string s = absl::StrFormat("mlx5 command %s input (%d bytes):\n", name, in.size());
    hexdump(&s, in);
    trace_(s);
  }
  token_ = static_cast<uint8_t>(token_ % 255 + 1);  // never 0
  std::memset(mailboxes_.data(), 0, mailboxes_.size());
  for (size_t off = kCmdInline; off < in.size(); off += kMailboxData) {
    const size_t n = std::min<size_t>(kMailboxData, in.size() - off);
    std::memcpy(mailbox(static_cast<uint32_t>((off - kCmdInline) / kMailboxData)), in.data() + off,
                n);
  }
  std::memset(entry, 0, CmdEntry::kSize);
  std::memcpy(entry + kCmdInlineIn, in.data(), std::min<size_t>(in.size(), kCmdInline));
  e.set<CmdEntry::TYPE>(kCmdTypePcie)
      .set<CmdEntry::INPUT_LENGTH>(in.size())
      .set<CmdEntry::INPUT_MAILBOX>(chain(0, blocks(in.size()), token_))
      .set<CmdEntry::OUTPUT_MAILBOX>(chain(kHalf, blocks(out_size), token_))
      .set<CmdEntry::OUTPUT_LENGTH>(out_size)
      .set<CmdEntry::TOKEN>(token_);
  dma_write_barrier();
  e.set<CmdEntry::OWNER, 1>();
  bar_.write(RegisterValue<CMD_DBELL>(1));  // slot 0
  ++commands_;
  const absl::Time deadline = fn_.now() + kCommandTimeout;
  while (e.is_set<CmdEntry::OWNER>()) {
    if (fn_.now() >= deadline) {
      timed_out_ = name;
      const uint32_t health = bar_.read<HEALTH_SYNDROME>().get<HEALTH_SYNDROME::SYNDROME>();
      return absl::DeadlineExceededError(absl::StrFormat(
          "%s: no completion within %s (the device still owns the command entry)%s; close and "
          "reopen the device",
          name, absl::FormatDuration(kCommandTimeout),
          health == 0 ? std::string()
                      : absl::StrFormat(": health syndrome %#x (%s)", health,
                                        health_syndrome_name(static_cast<uint8_t>(health)))));
    }
    fn_.sleep(absl::Microseconds(100));
  }
  dma_read_barrier();
  if (const uint8_t d = e.get<CmdEntry::STATUS>(); d != 0) {
    return absl::InternalError(
        absl::StrFormat("%s: the device could not take the command: delivery status %#x (%s)", name,
                        d, delivery_name(d)));
  }
  std::vector<uint8_t> out(out_size, 0);
  std::memcpy(out.data(), entry + kCmdInlineOut, std::min<size_t>(out_size, kCmdInline));
  for (size_t off = kCmdInline; off < out_size; off += kMailboxData) {
    const size_t n = std::min<size_t>(kMailboxData, out_size - off);
    std::memcpy(out.data() + off,
                mailbox(kHalf + static_cast<uint32_t>((off - kCmdInline) / kMailboxData)), n);
  }
  if (trace_) {
    std::string s = absl::StrFormat("mlx5 command %s output (%d bytes):\n", name, out.size());
    hexdump(&s, out);
    trace_(s);
  }
  LayoutRef<CmdOut> header(out.data());
  if (const uint8_t status = header.get<CmdOut::STATUS>(); status != 0) {
    return absl::FailedPreconditionError(absl::StrFormat("%s failed: status %s (%#x), syndrome %#x",
                                                         name, status_name(status), status,
                                                         header.get<CmdOut::SYNDROME>()));
  }
  return out;
}

absl::Status run_undo(CommandQueue& cmdq, const Undo& u) {
  absl::Status status = absl::InvalidArgumentError(
      absl::StrFormat("%s does not undo anything (no command in nic/mlx5/commands.h says it does)",
                      command_name(u.opcode)));
  for_each_command(Commands{}, [&](auto cmd) {
    using Cmd = decltype(cmd);
    if constexpr (requires(LayoutRef<typename Cmd::In> in) { Cmd::undo_input(in, u); }) {
      if (Cmd::kOpcode != u.opcode) return false;
      status = cmdq.run<Cmd>(Cmd::kUndoOpMod, [&](LayoutRef<typename Cmd::In> in,
                                                  uint8_t*) { Cmd::undo_input(in, u); })
                   .status();
      return true;
    }
    return false;
  });
  return status;
}

}  // namespace safenic::mlx5
