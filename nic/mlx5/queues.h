// mlx5 queues, driver side (docs/connectx.md §4-§6): a completion queue, and a send or
// receive work queue over it. Each lives in a DescriptorRing whose extra
// bytes hold its doorbell record. Queues are created in RST and moved to RDY
// by command; the fast paths post WQEs, poll CQEs by their owner bit, and
// write the doorbell record (RX) or ring the UAR doorbell (TX) once a batch.
// A WQE that fails (error CQE; the hardware moves the queue to ERR and flushes
// the rest) is counted, its buffer accounted, and the queue is brought back
// (ERR -> RST -> RDY) before it is used again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "mem/batch.h"
#include "mem/mempool.h"
#include "nic/device.h"
#include "nic/mlx5/cmd.h"
#include "nic/mlx5/wqe.h"
#include "nic/pci_function.h"
#include "nic/ring.h"

namespace safenic::mlx5 {

// What the queues of one device share.
struct QueueContext {
  CommandQueue* cmdq;
  PciFunction* fn;
  Bar* bar;
  std::vector<Undo>* undo;
  uint32_t uar, eqn, pd, tis, lkey, min_inline;
  bool enhanced_mpw;  // send with ENHANCED_MPSW WQEs (wqe.h)
  uint32_t mtu;       // DeviceConfig::mtu: the longest frame sent, the receive buffers' size
  bool rx_checksums;  // Offload::kRxChecksum: verdicts from each CQE
  bool rx_rss_hash;   // Offload::kRxRssHash: each CQE's hash, where it has one
};

// Writes the page list (pas) of `ring`'s descriptors: one 4 KiB page each.
void put_pas(uint8_t* command, const DescriptorRing& ring);

// Undoes an object now (run_undo) and takes it off the undo list.
absl::Status undo_now(const QueueContext& c, const Undo& undo);

class CompletionQueue {
 public:
  absl::Status create(const QueueContext& c, uint32_t entries, const std::string& tag);
  void update_ci() const;  // the consumer counter into the doorbell record
  // Whether the CQE at counter `at` is software's (its owner bit is the
  // parity of the pass); peek(): the one at the consumer counter.
  bool owned(uint32_t at) const {
    const uint8_t* e = ring.descriptors() + size_t{at & ring.mask()} * 64;
    return ((LayoutView<Cqe>(e).get<Cqe::OP_OWN>() ^ (at >> log2_size)) & 1) == 0;
  }
  bool peek() const { return owned(cc); }
  uint32_t cqn = 0;
  uint32_t cc = 0;  // consumer counter
  uint32_t log2_size = 0;
  uint8_t* dbr = nullptr;  // the doorbell record (ring.extra())
  DescriptorRing ring;
};

class SendQueue {
 public:
  absl::Status create(const QueueContext& c, uint32_t entries, const std::string& tag);
  size_t transmit(PacketBatch& batch);
  // Frees the buffers of completed WQEs.
  void clean();
  // Asks for the completions saved up (a NOP WQE with a CQE), frees what is
  // complete, and says how many frames that freed.
  size_t reclaim();
  void release() { ring_.release_packets(); }
  uint32_t cqn() const { return cq_.cqn; }
  // After a CQ overrun (the CQ has stopped): the SQ and its CQ destroyed and
  // made again, the buffers they held back to their pools.
  absl::Status recreate();
  // Not OK once the queue cannot be brought back (say why, what to do).
  const absl::Status& broken() const { return broken_; }
  QueueStats stats;
  uint64_t recoveries = 0;
  uint64_t unconfirmed = 0;  // frames freed by recreate() with no completion (sent or not)

 private:
  // One WQE per frame (SEND), or a few frames per WQE (ENHANCED_MPSW).
  ABSL_ATTRIBUTE_ALWAYS_INLINE size_t transmit_send(PacketBatch& batch);
  ABSL_ATTRIBUTE_ALWAYS_INLINE size_t transmit_empw(PacketBatch& batch);
  // Rings the doorbell for WQEs up to `pi`, the last at `last` (a CQE asked
  // for it when `ask`).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void ring(uint8_t* last, uint32_t ctrl0, uint32_t ctrl1, uint32_t pi,
                                         bool ask);
  // Whether the batch that posted `frames` asks for a CQE.
  bool asks(uint32_t frames) {
    unasked_ += frames;
    if (unasked_ < ask_every_) return false;
    unasked_ = 0;
    return true;
  }
  void ask_completion();
  void recover();
  void reset_counters();
  QueueContext c_{};
  std::string tag_;
  CompletionQueue cq_;
  DescriptorRing ring_;  // basic blocks; its slots hold the frames by frame counter
  absl::Status broken_;
  uint8_t* dbr_ = nullptr;  // the doorbell record (ring_.extra())
  uint32_t sqn_ = 0;
  uint32_t pi_ = 0, ci_ = 0;    // basic blocks posted, completed
  uint32_t fpi_ = 0, fci_ = 0;  // frames posted, completed (the same as blocks under SEND)
  // ENHANCED_MPSW: what the WQE starting at each block holds (a CQE names a
  // WQE by its first block).
  struct WqeRecord {
    uint32_t start = ~0u, blocks = 0, frames_end = 0, frames = 0;
  };
  std::vector<WqeRecord> records_;
  uint32_t unasked_ = 0;    // frames posted since the last CQE asked for
  uint32_t ask_every_ = 1;  // moderation: ask once this many went without
  bool failed_ = false;     // a WQE failed: recover before posting again
};

class ReceiveQueue {
 public:
  absl::Status create(const QueueContext& c, uint32_t entries, uint32_t buffers,
                      const std::string& tag);
  size_t receive(PacketBatch& batch);
  void release() { ring_.release_packets(); }
  uint32_t rqn() const { return rqn_; }
  uint32_t cqn() const { return cq_.cqn; }
  // After a CQ overrun the RQ cannot be remade under the TIRs that name it.
  void cq_overrun();
  const absl::Status& broken() const { return broken_; }
  QueueStats stats;
  uint64_t recoveries = 0;

 private:
  struct Totals {
    uint64_t bytes = 0;
    uint32_t dropped = 0;
  };
  // The loops, without and with the offloads (those with them out of line:
  // the plain one keeps its registers).
  template <bool kChecksums, bool kHash>
  ABSL_ATTRIBUTE_ALWAYS_INLINE inline size_t receive_in(PacketBatch& batch);
  template <bool kChecksums, bool kHash>
  ABSL_ATTRIBUTE_NOINLINE size_t receive_out_of_line(PacketBatch& batch);
  template <bool kChecksums, bool kHash>
  ABSL_ATTRIBUTE_ALWAYS_INLINE Totals take_run(Packet* p, uint32_t k, const uint8_t* e,
                                               uint32_t wqe);
  template <bool kChecksums, bool kHash>
  ABSL_ATTRIBUTE_NOINLINE Totals take_wrapping(Packet* p, uint32_t n, uint32_t c, uint32_t wqe);
  void recover();
  void post_all();
  ABSL_ATTRIBUTE_NOINLINE uint32_t reject(LayoutView<Cqe> e, Packet& frame);
  QueueContext c_{};
  std::string tag_;
  absl::Status broken_;
  MempoolPtr pool_;  // declared before ring_: outlives the packets in it
  CompletionQueue cq_;
  DescriptorRing ring_;
  uint8_t* dbr_ = nullptr;  // the doorbell record (ring_.extra())
  uint32_t rqn_ = 0;
  uint32_t ci_ = 0;      // WQEs completed (the ring index of the next CQE's WQE)
  uint32_t posted_ = 0;  // the doorbell record's counter
  bool failed_ = false;
  // The receive loop: kChecksums | kHash << 1 (QueueContext's offloads), so
  // that the plain one is chosen by one test per call.
  uint8_t loop_ = 0;
};

}  // namespace safenic::mlx5
