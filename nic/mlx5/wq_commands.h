// What the send and receive queues (nic/mlx5/queues.cc, receive_queue.cc)
// share: entry sizes, the work queue context of CREATE_SQ/CREATE_RQ, and the
// MODIFY_SQ/RQ state changes of a recovery (PRM "Work Queues", "SQ/RQ State
// Machine"). Internal to the mlx5 driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/queues.h"

namespace safenic::mlx5 {

inline constexpr uint32_t kCqe = 64, kRecvWqe = 16, kLogRecvWqe = 4;
inline constexpr uint32_t kCompletionEvery = 32;  // frames per CQE asked for, at most

// MODIFY_SQ / MODIFY_RQ from one state to the next.
template <typename Cmd>
absl::Status modify(CommandQueue& cmdq, uint32_t n, WqState from, WqState to) {
  return cmdq
      .run<Cmd>(0,
                [&](LayoutRef<ModifyWqIn> in, uint8_t*) {
                  in.set<ModifyWqIn::NUMBER>(n)
                      .set<ModifyWqIn::CURRENT_STATE>(from)
                      .set<ModifyWqIn::NEXT_STATE>(to);
                })
      .status();
}

// The work queue context both CREATE_SQ and CREATE_RQ carry.
template <typename In>
void set_wq(LayoutRef<In> in, uint8_t* raw, const QueueContext& c, uint32_t cqn,
            const DescriptorRing& ring, uint32_t log_stride) {
  in.template set<typename In::CQN>(cqn)
      .template set<typename In::WQ_TYPE>(kWqCyclic)
      .template set<typename In::PD>(c.pd)
      .template set<typename In::UAR_PAGE>(c.uar)
      .template set<typename In::DBR_ADDR>(ring.extra_iova())
      .template set<typename In::LOG_WQ_STRIDE>(log_stride)
      .template set<typename In::LOG_WQ_PG_SZ>(0)
      .template set<typename In::LOG_WQ_SZ>(ring.log2_size());
  put_pas(raw, ring);
}

// ERR -> RST, or RDY -> RST when the device reported an error but left the
// queue ready (PRM "SQ/RQ State Machine": any state may go to RST), then RDY.
// `at_reset` runs while the queue is in RST (the device reads nothing).
template <typename Cmd, typename AtReset>
absl::Status reset_to_ready(CommandQueue& cmdq, uint32_t n, AtReset at_reset) {
  absl::Status s = modify<Cmd>(cmdq, n, kErr, kRst);
  if (!s.ok() && absl::IsFailedPrecondition(s)) s = modify<Cmd>(cmdq, n, kRdy, kRst);
  if (!s.ok()) return s;
  at_reset();
  return modify<Cmd>(cmdq, n, kRst, kRdy);
}

inline absl::Status cannot_recover(const std::string& tag, const absl::Status& s) {
  return absl::Status(s.code(),
                      absl::StrFormat("%s: cannot be brought back after a failed WQE (%s); "
                                      "close and reopen the device",
                                      tag, s.message()));
}

inline size_t pas_bytes(const DescriptorRing& ring) {
  return 8 * size_t{(ring.bytes() + kPageSize - 1) / kPageSize};
}

}  // namespace safenic::mlx5
