#include "nic/mlx5/queues.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/wq_commands.h"
#include "nic/mlx5/wqe.h"

namespace safenic::mlx5 {

void put_pas(uint8_t* command, const DescriptorRing& ring) {
  for (uint32_t i = 0; i < (ring.bytes() + kPageSize - 1) / kPageSize; ++i) {
    LayoutRef<Plain<8>>(command + kPas + 8 * i)
        .set<Plain<8>::Field<0, uint64_t>>(ring.iova() + uint64_t{i} * kPageSize);
  }
}

absl::Status undo_now(const QueueContext& c, const Undo& undo) {
  SAFENIC_RETURN_IF_ERROR(run_undo(*c.cmdq, undo));
  std::erase_if(*c.undo,
                [&](const Undo& u) { return u.opcode == undo.opcode && u.number == undo.number; });
  return absl::OkStatus();
}

absl::Status CompletionQueue::create(const QueueContext& c, uint32_t entries,
                                     const std::string& tag) {
  SAFENIC_ASSIGN_OR_RETURN(
      ring, DescriptorRing::create(c.fn->dma(), entries, kCqe, tag, kDoorbellRecordSize, false));
  log2_size = ring.log2_size();
  dbr = ring.extra();
  for (uint32_t i = 0; i < entries; ++i) {  // invalid, owner 1: not yet written
    LayoutRef<Cqe>(ring.descriptor(i)).set<Cqe::OP_OWN>(kCqeInitial);
  }
  auto out = c.cmdq->run<CREATE_CQ>(
      0,
      [&](LayoutRef<CREATE_CQ::In> in, uint8_t* raw) {
        using In = CREATE_CQ::In;
        in.set<In::LOG_CQ_SIZE>(ring.log2_size())
            .set<In::UAR_PAGE>(c.uar)
            .set<In::C_EQN>(c.eqn)
            .set<In::LOG_PAGE_SIZE>(0)
            .set<In::DBR_ADDR>(ring.extra_iova());
        put_pas(raw, ring);
      },
      pas_bytes(ring));
  if (!out.ok()) return out.status();
  cqn = out->get<CREATE_CQ::Out::NUMBER>();
  c.undo->push_back(undo_of<CREATE_CQ>(cqn));
  return absl::OkStatus();
}

void CompletionQueue::update_ci() const {
  LayoutRef<CqDoorbell>(dbr).set<CqDoorbell::WORD0>(cc & 0xFFFFFF);
}

absl::Status SendQueue::create(const QueueContext& c, uint32_t entries, const std::string& tag) {
  c_ = c;
  tag_ = tag;
  SAFENIC_RETURN_IF_ERROR(cq_.create(c, entries, tag + " cq"));
  SAFENIC_ASSIGN_OR_RETURN(ring_, DescriptorRing::create(c.fn->dma(), entries, kWqeBasicBlock, tag,
                                                         kDoorbellRecordSize));
  dbr_ = ring_.extra();
  auto out = c.cmdq->run<CREATE_SQ>(
      0,
      [&](LayoutRef<CREATE_SQ::In> in, uint8_t* raw) {
        using In = CREATE_SQ::In;
        in.set<In::RLKEY>(1)
            .set<In::FLUSH_IN_ERROR_EN>(1)
            .set<In::MIN_WQE_INLINE_MODE>(c.min_inline)
            .set<In::STATE>(kRst)
            .set<In::TIS_LST_SZ>(1)
            .set<In::TIS_NUM_0>(c.tis);
        set_wq(in, raw, c, cq_.cqn, ring_, 6);  // 64-byte basic blocks
      },
      pas_bytes(ring_));
  if (!out.ok()) return out.status();
  sqn_ = out->get<CREATE_SQ::Out::NUMBER>();
  c.undo->push_back(undo_of<CREATE_SQ>(sqn_));
  ask_every_ = std::min(kCompletionEvery, entries / 2);
  if (c.enhanced_mpw) {
    records_.assign(entries, WqeRecord{});
  } else {
    for (uint32_t i = 0; i < entries; ++i) {  // what every SEND WQE of this SQ has
      LayoutRef<DataSegment>(ring_.descriptor(i) + kSendDataSegment).set<DataSegment::LKEY>(c.lkey);
    }
  }
  return modify<MODIFY_SQ>(*c.cmdq, sqn_, kRst, kRdy);
}

// Completions: each CQE completes every WQE up to the one it names (the
// driver asks for one CQE per batch), and the frames in them. An error or
// flush CQE is for its WQE only (the device moved the SQ to ERR there): its
// frames are counted as errors (the device does not say which of an
// ENHANCED_MPSW WQE's frames went out); the WQEs before it were sent.
void SendQueue::clean() {
  uint8_t* const cqes = cq_.ring.descriptors();
  Packet* const slots = ring_.slots();
  const uint32_t mask = ring_.mask(), before = cq_.cc;
  uint32_t cc = before, ci = ci_, fci = fci_;
  for (;; ++cc) {
    const LayoutView<Cqe> e(cqes + size_t{cc & mask} * kCqe);  // the CQ is as large as the SQ
    if (!cq_.owned(cc)) break;
    dma_read_barrier();
    const uint32_t start = ci + ((e.get<Cqe::WQE_COUNTER>() - ci) & 0xFFFF);
    if (ABSL_PREDICT_FALSE(start - ci >= pi_ - ci)) {  // names a WQE never posted
      ++stats.errors;
      continue;
    }
    // SEND: a frame a block (a NOP's block holds none).
    uint32_t end = start + 1, frames_end = fci + (end - ci), frames = !slots[start & mask].empty();
    if (c_.enhanced_mpw) {
      const WqeRecord& r = records_[start & mask];
      if (ABSL_PREDICT_FALSE(r.start != start)) {  // not the first block of a WQE
        ++stats.errors;
        continue;
      }
      end = start + r.blocks;
      frames_end = r.frames_end;
      frames = r.frames;
    }
    if (ABSL_PREDICT_FALSE(e.get<Cqe::OPCODE>() != kCqeReq)) {
      stats.errors += frames;  // the WQE it names failed or was flushed
      failed_ = true;
    }
    const uint32_t from = fci & mask, to = frames_end & mask;
    if (from < to) {
      Packet::reset_all({slots + from, to - from});
    } else if (frames_end != fci) {  // wraps
      Packet::reset_all({slots + from, mask + 1 - from});
      Packet::reset_all({slots, to});
    }
    ci = end;
    fci = frames_end;
  }
  ci_ = ci;
  fci_ = fci;
  if (cc != before) {
    cq_.cc = cc;
    cq_.update_ci();
  }
}

// Completion moderation (DPDK's MLX5_TX_COMP_THRESH): a CQE is asked for
// once kCompletionEvery frames (half the ring, if smaller) went without one,
// so small batches do not each cost a CQE; at most that many frames wait
// for their buffers to come back (an empty tx_batch asks for them).
inline void SendQueue::ring(uint8_t* last, uint32_t ctrl0, uint32_t ctrl1, uint32_t pi, bool ask) {
  LayoutRef<SendWqe>(last).set<SendWqe::CTRL2>(ask ? SendWqe::CE::insert(0, kCeAlways) : 0);
  dma_write_barrier();  // WQEs before the record
  LayoutRef<WqDoorbell>(dbr_).set<WqDoorbell::SEND_COUNTER>(pi & 0xFFFF);
  dma_write_barrier();  // the record before the doorbell
  c_.bar->write(RegisterValue<UAR_SEND_DOORBELL>(uint64_t{ctrl0} << 32 | ctrl1), c_.uar);
  pi_ = pi;
}

// One SEND WQE per frame (ds 4: control, Ethernet segment with 18 header
// bytes inline, one data segment), a CQE for the last only, the doorbell
// record, then one UAR doorbell.
inline size_t SendQueue::transmit_send(PacketBatch& batch) {
  uint8_t* const wqes = ring_.descriptors();
  Packet* const slots = ring_.slots();
  const uint32_t mask = ring_.mask();
  const size_t n = std::min<size_t>(batch.size(), ring_.size() - (pi_ - ci_));
  Packet* const packets = batch.begin();
  const uint32_t start = pi_, ctrl1_full = SendWqe::SQN::insert(4, sqn_);
  uint32_t pi = start, ctrl0 = 0, ctrl1 = 0;
  uint8_t* w = nullptr;
  uint64_t bytes = 0;
  const uint32_t max_send = max_frame_length(c_.mtu);
  for (Packet* p = packets; p != packets + n; ++p) {
    const uint32_t len = static_cast<uint32_t>(p->size());
    if (ABSL_PREDICT_FALSE(len - kMinInlineL2 > max_send - kMinInlineL2)) {
      ++stats.errors;  // shorter than an Ethernet header or longer than the MTU: dropped, counted
      p->reset();
      continue;
    }
    const uint8_t* const d = p->data();
    const uint64_t iova = p->iova();
    w = wqes + size_t{pi & mask} * kWqeBasicBlock;
    ctrl0 = SendWqe::WQE_INDEX::insert(kOpcodeSend, pi & 0xFFFF);
    ctrl1 = ctrl1_full;
    if (ABSL_PREDICT_TRUE(len > kInlineHeader)) {
      std::memcpy(w + SendWqe::kInlineStart + 2, d + 2, kInlineHeader - 2);
      LayoutRef<DataSegment>(w + kSendDataSegment)
          .set<DataSegment::BYTE_COUNT>(len - kInlineHeader)
          .set<DataSegment::ADDR>(iova + kInlineHeader);
    } else {  // all of it inline, no data segment
      std::memcpy(w + SendWqe::kInlineStart + 2, d + 2, len - 2);
      ctrl1 = SendWqe::DS::insert(ctrl1, 3);
    }
    LayoutRef<SendWqe>(w)
        .set<SendWqe::CTRL0>(ctrl0)
        .set<SendWqe::CTRL1>(ctrl1)
        .set<SendWqe::CTRL2>(0)
        .set<SendWqe::ETH3>(std::min(len, kInlineHeader) << 16 | uint32_t{d[0]} << 8 | d[1]);
    slots[pi & mask].swap(*p);  // the slot was cleaned: p is left empty
    ++pi;
    bytes += len;
  }
  batch.erase_front_emptied(n);  // each was moved into a slot or dropped
  if (w != nullptr) {
    stats.packets += pi - start;
    stats.bytes += bytes;
    fpi_ += pi - start;
    ring(w, ctrl0, ctrl1, pi, asks(pi - start));
  }
  return n;
}

// ENHANCED_MPSW: up to kEmpwMaxFrames frames per WQE, a 16-byte data segment
// each (no inline bytes: the vport requires none), so the per-frame work is
// one segment. A WQE never runs past the ring's end (it is cut there), so
// the segments are written without wrap checks. The frames go into the slots
// by frame counter; records_ says which frames each WQE completes.
inline size_t SendQueue::transmit_empw(PacketBatch& batch) {
  uint8_t* const blocks = ring_.descriptors();
  Packet* const slots = ring_.slots();
  const uint32_t mask = ring_.mask(), size = mask + 1;
  // Free frame slots and free blocks (a WQE of k frames takes at most k
  // blocks; a NOP takes a block and no frame).
  const size_t n =
      std::min<size_t>(batch.size(), std::min(size - (fpi_ - fci_), size - (pi_ - ci_)));
  Packet* p = batch.begin();
  Packet* const end = p + n;
  const uint32_t start = fpi_, lkey = c_.lkey, ctrl1_sqn = SendWqe::SQN::insert(0, sqn_);
  const uint32_t max_send = max_frame_length(c_.mtu);
  uint32_t pi = pi_, fpi = start, ctrl0 = 0, ctrl1 = 0;
  uint8_t* last = nullptr;
  uint64_t bytes = 0;
  while (p != end) {
    const uint32_t at = pi & mask;
    uint8_t* const w = blocks + size_t{at} * kWqeBasicBlock;
    // Segments to the ring's end, slots to the slots' end.
    const uint32_t room = std::min({kEmpwMaxFrames, (size - at) * 4 - 2, size - (fpi & mask)});
    Packet* const stop = p + std::min<size_t>(room, end - p);
    uint8_t* seg = w + kEmpwFirstSegment;
    Packet* slot = slots + (fpi & mask);
    const uint32_t first = fpi;
    for (; p != stop; ++p) {
      const uint32_t len = static_cast<uint32_t>(p->size());
      if (ABSL_PREDICT_FALSE(len - kMinInlineL2 > max_send - kMinInlineL2)) {
        ++stats.errors;  // shorter than an Ethernet header or longer than the MTU: dropped, counted
        p->reset();
        continue;
      }
      LayoutRef<DataSegment>(seg)
          .set<DataSegment::BYTE_COUNT>(len)
          .set<DataSegment::LKEY>(lkey)
          .set<DataSegment::ADDR>(p->iova());
      (slot++)->swap(*p);  // the slot was cleaned: p is left empty
      bytes += len;
      seg += 16;
    }
    fpi += static_cast<uint32_t>(slot - (slots + (first & mask)));
    const uint32_t frames = fpi - first;
    if (frames == 0) continue;  // every one dropped
    const uint32_t ds = 2 + frames, wqe_blocks = (ds + 3) / 4;
    ctrl0 = SendWqe::WQE_INDEX::insert(kOpcodeEnhancedMpsw, pi & 0xFFFF);
    ctrl1 = ctrl1_sqn | ds;
    LayoutRef<SendWqe>(w).set<SendWqe::CTRL0>(ctrl0).set<SendWqe::CTRL1>(ctrl1).set<SendWqe::CTRL2>(
        0);
    std::memset(w + 0x0C, 0, 4 + 16);  // immediate; the Ethernet segment: no offloads, no inline
    records_[at] = {pi, wqe_blocks, fpi, frames};
    last = w;
    pi += wqe_blocks;
  }
  batch.erase_front_emptied(n);  // each was moved into a slot or dropped
  if (last != nullptr) {
    stats.packets += fpi - start;
    stats.bytes += bytes;
    fpi_ = fpi;
    ring(last, ctrl0, ctrl1, pi, asks(fpi - start));
  }
  return n;
}

size_t SendQueue::transmit(PacketBatch& batch) {
  if (cq_.peek()) clean();
  if (ABSL_PREDICT_FALSE(failed_)) recover();
  if (ABSL_PREDICT_FALSE(failed_)) return 0;
  if (batch.empty()) {  // the application asks for its buffers back
    if (unasked_ != 0) ask_completion();
    return 0;
  }
  return c_.enhanced_mpw ? transmit_empw(batch) : transmit_send(batch);
}

size_t SendQueue::reclaim() {
  auto held = [&] {  // frames the queue holds (not a fast path: one look at each slot)
    const Packet* slots = ring_.slots();
    return static_cast<size_t>(
        std::count_if(slots, slots + ring_.size(), [](const Packet& p) { return !p.empty(); }));
  };
  const size_t before = held();
  if (unasked_ != 0) {
    ask_completion();  // cleans too
  } else {
    clean();
  }
  return before - held();
}

// A NOP WQE with a CQE asked: completes the frames posted without one.
void SendQueue::ask_completion() {
  if (pi_ - ci_ == ring_.size()) return;  // full: the CQEs asked for already free it
  const uint32_t at = pi_ & ring_.mask();
  const uint32_t ctrl0 = SendWqe::WQE_INDEX::insert(kOpcodeNop, pi_ & 0xFFFF);
  const uint32_t ctrl1 = SendWqe::SQN::insert(1, sqn_);
  LayoutRef<SendWqe>(ring_.descriptor(at)).set<SendWqe::CTRL0>(ctrl0).set<SendWqe::CTRL1>(ctrl1);
  if (c_.enhanced_mpw)
    records_[at] = {pi_, 1, fpi_, 0};
  else
    ++fpi_;  // a slot a block under SEND: this one stays empty
  unasked_ = 0;
  ring(ring_.descriptor(at), ctrl0, ctrl1, pi_ + 1, true);
  clean();  // (on the model it has completed already)
}

// ERR -> RST -> RDY once every WQE has completed (flushed); the queue starts
// again at WQE 0 (Linux mlx5e does the same in its TX error recovery).
void SendQueue::recover() {
  if (pi_ != ci_ || !broken_.ok()) return;  // flush CQEs still to come, or given up
  absl::Status s = reset_to_ready<MODIFY_SQ>(*c_.cmdq, sqn_, [&] {
    reset_counters();
    LayoutRef<WqDoorbell>(ring_.extra()).set<WqDoorbell::SEND_COUNTER>(0);
  });
  if (!s.ok()) return void(broken_ = cannot_recover(tag_, s));
  failed_ = false;
  ++recoveries;
}

void SendQueue::reset_counters() {
  pi_ = ci_ = fpi_ = fci_ = unasked_ = 0;
  std::fill(records_.begin(), records_.end(), WqeRecord{});  // none may name the new WQEs
}

absl::Status SendQueue::recreate() {
  // The CQEs the device wrote before the CQ overran are still in the ring:
  // take them first (sent frames complete, failed and flushed ones count as
  // errors); only the frames after them are left without a word.
  clean();
  absl::Status s = undo_now(c_, undo_of<CREATE_SQ>(sqn_));
  if (s.ok()) s = undo_now(c_, undo_of<CREATE_CQ>(cq_.cqn));
  if (s.ok()) {
    unconfirmed += fpi_ - fci_;  // no CQE will say whether they went out
    ring_.release_packets();     // the device reads them no more
    reset_counters();
    failed_ = false;
    cq_.cc = 0;
    broken_ = absl::OkStatus();
    s = create(c_, ring_.size(), tag_);
  }
  if (!s.ok()) {
    failed_ = true;  // takes nothing more
    broken_ = absl::Status(s.code(), absl::StrFormat("%s: cannot be remade after a CQ error (%s); "
                                                     "close and reopen the device",
                                                     tag_, s.message()));
    return broken_;
  }
  ++recoveries;
  return absl::OkStatus();
}

}  // namespace safenic::mlx5
