// The mlx5 command interface, driver side: one small generic mechanism
// (PRM "Command Interface"; docs/connectx.md §3). A command is its input bytes (the
// 8-byte header first) and the size of its output; inputs and outputs beyond
// the 16 inline bytes travel in chains of mailboxes. Every failure becomes a
// Status naming the command, its delivery or output status and syndrome.
//
// Typed commands are short declarations (nic/mlx5/commands.h):
//   auto out = cmdq.run<QUERY_PAGES>(kPagesBoot, [](auto in) { in.template set<...>(0); });
//   int32_t n = out->get<QUERY_PAGES::Out::NUM_PAGES>();
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "mem/dma_region.h"
#include "mem/status.h"
#include "nic/bar.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/layout.h"
#include "nic/pci_function.h"

namespace safenic::mlx5 {

// "QUERY_PAGES", or "opcode 0x123".
std::string command_name(uint16_t opcode);
std::string status_name(uint8_t status);
// PRM "Health Buffer" health_syndrome, e.g. "firmware internal error".
const char* health_syndrome_name(uint8_t syndrome);

// A command's output, read through its layout.
template <typename Out>
class Output {
 public:
  explicit Output(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  template <typename F>
  typename F::Word get() const {
    return LayoutView<Out>(bytes_.data()).template get<F>();
  }
  absl::Span<const uint8_t> bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

class CommandQueue {
 public:
  // Brings the command queue up (docs/connectx.md §2: address high, then low; then wait
  // until `initializing` clears).
  static absl::StatusOr<std::unique_ptr<CommandQueue>> create(PciFunction& fn, Bar& bar);

  // Every command's input and output, hexdumped, to `sink` (the golden-trace
  // technique: command streams can be diffed).
  void set_trace(std::function<void(const std::string&)> sink) { trace_ = std::move(sink); }

  // The mechanism: `in` starts with the command header; returns `out_size`
  // output bytes (header first) when the command succeeded. A command that
  // gets no completion in 5 s is DeadlineExceeded; until the device hands its
  // entry back, later commands are Unavailable without being sent (the device
  // may still write the entry).
  absl::StatusOr<std::vector<uint8_t>> execute(absl::Span<const uint8_t> in, size_t out_size);

  // A typed command: `fill(LayoutRef<Cmd::In>)` sets the input fields;
  // `extra_in` bytes follow Cmd::In (variable-length lists).
  template <typename Cmd, typename Fill>
  absl::StatusOr<Output<typename Cmd::Out>> run(uint16_t op_mod, Fill fill, size_t extra_in = 0) {
    std::vector<uint8_t> in(Cmd::In::kSize + extra_in, 0);
    LayoutRef<CmdIn>(in.data())
        .template set<CmdIn::OPCODE>(Cmd::kOpcode)
        .template set<CmdIn::OP_MOD>(op_mod);
    fill(LayoutRef<typename Cmd::In>(in.data()), in.data());
    SAFENIC_ASSIGN_OR_RETURN(auto out, execute(in, Cmd::Out::kSize));
    return Output<typename Cmd::Out>(std::move(out));
  }
  template <typename Cmd>
  absl::StatusOr<Output<typename Cmd::Out>> run(uint16_t op_mod = 0) {
    return run<Cmd>(op_mod, [](auto, uint8_t*) {});
  }

  uint64_t commands() const { return commands_; }

 private:
  CommandQueue(PciFunction& fn, Bar& bar, DmaRegion queue, DmaRegion mailboxes)
      : fn_(fn), bar_(bar), queue_(std::move(queue)), mailboxes_(std::move(mailboxes)) {}
  // Mailbox i of the pool: inputs use the first half, outputs the second.
  uint8_t* mailbox(uint32_t i) const { return mailboxes_.data() + size_t{i} * kMailboxAlign; }
  uint64_t mailbox_iova(uint32_t i) const {
    return mailboxes_.iova() + uint64_t{i} * kMailboxAlign;
  }
  uint64_t chain(uint32_t first, uint32_t count, uint8_t token);

  PciFunction& fn_;
  Bar& bar_;
  DmaRegion queue_;
  DmaRegion mailboxes_;
  uint8_t token_ = 0;
  uint64_t commands_ = 0;
  std::string timed_out_;  // the command the device never completed, if any
  std::function<void(const std::string&)> trace_;
};

// Undoes what a creating command made: runs the command `u.opcode` names
// (Cmd::UndoneBy of the creating command) on the object. The commands that
// undo, and how each takes the object, are in nic/mlx5/commands.h.
absl::Status run_undo(CommandQueue& cmdq, const Undo& u);

// The record that undoes object `number` (in `table`) made by Cmd.
template <typename Cmd>
Undo undo_of(uint32_t number, uint32_t table = 0) {
  return {Cmd::UndoneBy::kOpcode, number, table};
}

}  // namespace safenic::mlx5
