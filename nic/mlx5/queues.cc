#include "nic/mlx5/queues.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/wqe.h"

namespace safenic::mlx5 {
namespace {

constexpr uint32_t kCqe = 64, kRecvWqe = 16, kLogRecvWqe = 4;
constexpr uint32_t kCompletionEvery = 32;  // frames per CQE asked for, at most

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

absl::Status cannot_recover(const std::string& tag, const absl::Status& s) {
  return absl::Status(s.code(),
                      absl::StrFormat("%s: cannot be brought back after a failed WQE (%s); "
                                      "close and reopen the device",
                                      tag, s.message()));
}

size_t pas_bytes(const DescriptorRing& ring) {
  return 8 * size_t{(ring.bytes() + kPageSize - 1) / kPageSize};
}

}  // namespace

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

absl::Status ReceiveQueue::create(const QueueContext& c, uint32_t entries, uint32_t buffers,
                                  const std::string& tag) {
  c_ = c;
  tag_ = tag;
  MempoolConfig pc;
  pc.buffers = buffers;
  pc.data_room = rx_buffer_size(c.mtu);  // a frame the vport MTU admits fits one WQE's buffer
  pc.tag = tag + " buffers";
  SAFENIC_ASSIGN_OR_RETURN(auto pool, Mempool::create(pc, c.fn->dma()));
  pool_ = std::move(pool);
  SAFENIC_RETURN_IF_ERROR(cq_.create(c, entries, tag + " cq"));
  SAFENIC_ASSIGN_OR_RETURN(
      ring_, DescriptorRing::create(c.fn->dma(), entries, kRecvWqe, tag, kDoorbellRecordSize));
  dbr_ = ring_.extra();
  for (uint32_t i = 0; i < entries; ++i) {  // one data segment per WQE, every WQE posted
    ring_.slot(i) = pool_->alloc();
    LayoutRef<DataSegment>(ring_.descriptor(i))
        .set<DataSegment::BYTE_COUNT>(ring_.slot(i).capacity())
        .set<DataSegment::LKEY>(c.lkey)
        .set<DataSegment::ADDR>(ring_.slot(i).iova());
  }
  auto out = c.cmdq->run<CREATE_RQ>(
      0,
      [&](LayoutRef<CREATE_RQ::In> in, uint8_t* raw) {
        using In = CREATE_RQ::In;
        in.set<In::RLKEY>(1).set<In::VSD>(1).set<In::FLUSH_IN_ERROR_EN>(1).set<In::STATE>(kRst);
        set_wq(in, raw, c, cq_.cqn, ring_, kLogRecvWqe);
      },
      pas_bytes(ring_));
  if (!out.ok()) return out.status();
  rqn_ = out->get<CREATE_RQ::Out::NUMBER>();
  c.undo->push_back(undo_of<CREATE_RQ>(rqn_));
  SAFENIC_RETURN_IF_ERROR(modify<MODIFY_RQ>(*c.cmdq, rqn_, kRst, kRdy));
  post_all();
  return absl::OkStatus();
}

void ReceiveQueue::post_all() {
  posted_ = ci_ + ring_.size();
  dma_write_barrier();
  LayoutRef<WqDoorbell>(dbr_).set<WqDoorbell::RECEIVE_COUNTER>(posted_ & 0xFFFF);
}

namespace {

// CQEs from `e` on whose owner bit software owns them, at most `limit` (the
// caller keeps the walk inside the ring).
inline uint32_t count_owned(const uint8_t* e, uint32_t limit, uint32_t owner) {
  const uint8_t* q = e;
  const uint8_t* const stop = e + size_t{limit} * kCqe;
  while (q != stop && ((LayoutView<Cqe>(q).get<Cqe::OP_OWN>() ^ owner) & 1) == 0) {
    q += kCqe;
  }
  return static_cast<uint32_t>((q - e) / kCqe);
}

// A receive CQE's checksum verdicts (PRM "Completion Queue Entry"): the
// IPv4 header's when the device parsed one (l3_hdr_type IPv4), by l3_ok; a
// TCP or UDP one when it parsed that header (l4_hdr_type), by l4_ok. As a
// table over those 7 bits (l4_hdr_type, l3_hdr_type, l4_ok, l3_ok), so that
// the per-packet work is one load and a lookup, no branches.
constexpr size_t verdict_index(uint32_t l4_type, uint32_t l3_type, bool l4_ok, bool l3_ok) {
  return l4_type << 4 | l3_type << 2 | uint32_t{l4_ok} << 1 | uint32_t{l3_ok};
}
constexpr std::array<uint8_t, 128> kVerdicts = [] {
  std::array<uint8_t, 128> t{};
  for (uint32_t l4 = 0; l4 < 8; ++l4) {
    for (uint32_t l3 = 0; l3 < 4; ++l3) {
      for (const bool l4_ok : {false, true}) {
        for (const bool l3_ok : {false, true}) {
          uint8_t v = 0;
          if (l3 == kL3HdrIpv4) v |= l3_ok ? kRxIpChecksumGood : kRxIpChecksumBad;
          if (l4 != kL4HdrNone) v |= l4_ok ? kRxL4ChecksumGood : kRxL4ChecksumBad;
          t[verdict_index(l4, l3, l4_ok, l3_ok)] = v;
        }
      }
    }
  }
  return t;
}();
inline uint8_t checksum_flags(LayoutView<Cqe> cqe) {
  // hds_ip_ext << 8 | l4_l3_hdr_type: the header types at bits 6:2, the
  // ok bits (l4_ok, l3_ok) at 10:9.
  const uint32_t info = cqe.get<Cqe::CHECKSUM_INFO>();
  static_assert(Cqe::L3_HDR_TYPE::kLo == 2 && Cqe::L4_HDR_TYPE::kLo == 4 && kL3Ok == 2 &&
                kL4Ok == 4);
  return kVerdicts[(info >> 2 & 0x1F) << 2 | (info >> 9 & 3)];
}

}  // namespace

// Frames of `k` CQEs from `e` and the WQEs from counter `wqe` (neither
// wrapping) into p[0, k): each fresh buffer in p takes its WQE.
template <bool kChecksums, bool kHash>
inline ReceiveQueue::Totals ReceiveQueue::take_run(Packet* p, uint32_t k, const uint8_t* e,
                                                   uint32_t wqe) {
  Totals t;
  const uint32_t i = wqe & ring_.mask();
  Packet* slot = ring_.slots() + i;
  uint8_t* d = ring_.descriptors() + size_t{i} * kRecvWqe;
  uint32_t expect = wqe << 16 | kCqeRespSend << 4;  // a receive CQE for this WQE
  for (Packet* const stop = p + k; p != stop; ++p, ++slot, e += kCqe, d += kRecvWqe) {
    const LayoutView<Cqe> cqe(e);
    const uint32_t tail = cqe.get<Cqe::TAIL>(), len = cqe.get<Cqe::BYTE_CNT>();
    LayoutRef<DataSegment>(d).set<DataSegment::ADDR>(p->iova());
    slot->swap(*p);  // the fresh buffer takes the WQE, the frame goes up
    if (ABSL_PREDICT_TRUE((tail & 0xFFFF00F0) == expect && p->try_resize(len))) {
      t.bytes += len;
      if constexpr (kChecksums || kHash) {
        uint8_t rx = 0;
        if constexpr (kChecksums) rx = checksum_flags(cqe);
        // The hash where the CQE says what it covered (Linux's mlx5e reads
        // rss_hash_type the same way); frames the direct TIR took have none.
        if constexpr (kHash) {
          if (cqe.get<Cqe::RSS_HASH_TYPE>() != 0) {
            rx |= kRxRssHash;
            p->offloads().rss_hash = cqe.get<Cqe::RSS_HASH_RESULT>();
          }
        }
        p->offloads().rx = rx;
      }
    } else {
      t.dropped += reject(cqe, *p);
    }
    expect += 1u << 16;
  }
  return t;
}

// The RX fast path: counts the CQEs software owns, takes that many fresh
// buffers at once, swaps each with its WQE's frame and re-posts the WQE with
// the fresh buffer's address; one doorbell record write, no MMIO. Usually
// neither the CQEs nor the WQEs of a call wrap: one straight run; otherwise
// runs that end where a ring does (the CQ and the RQ are the same size, but
// their counters differ after a recovery).
template <bool kChecksums, bool kHash>
size_t ReceiveQueue::receive_in(PacketBatch& batch) {
  if (ABSL_PREDICT_FALSE(failed_)) recover();
  const uint8_t* const cqes = cq_.ring.descriptors();
  const uint32_t mask = ring_.mask(), size = mask + 1, cc = cq_.cc, ci = ci_;
  const uint32_t room = static_cast<uint32_t>(std::min<size_t>(batch.room(), size));
  const uint32_t at = cc & mask, owner = (cc >> cq_.log2_size) & 1, run = std::min(room, size - at);
  uint32_t ready = count_owned(cqes + size_t{at} * kCqe, run, owner);
  if (ABSL_PREDICT_FALSE(ready == run && run < room)) {
    ready += count_owned(cqes, room - run, owner ^ 1);  // on from the CQ's start: the next pass
  }
  if (ready == 0) return 0;
  dma_read_barrier();  // the CQEs' bodies after their owner bits
  const uint32_t n = static_cast<uint32_t>(pool_->alloc_bulk(batch, ready));  // the rest wait
  Packet* const out = batch.end() - n;
  const Totals t = ABSL_PREDICT_TRUE(at + n <= size && (ci & mask) + n <= size)
                       ? take_run<kChecksums, kHash>(out, n, cqes + size_t{at} * kCqe, ci)
                       : take_wrapping<kChecksums, kHash>(out, n, cc, ci);
  cq_.cc = cc + n;
  ci_ = ci + n;
  cq_.update_ci();
  if (ABSL_PREDICT_TRUE(!failed_)) post_all();
  if (ABSL_PREDICT_FALSE(t.dropped != 0)) batch.compact();
  stats.packets += n - t.dropped;
  stats.bytes += t.bytes;
  return n - t.dropped;
}

size_t ReceiveQueue::receive(PacketBatch& batch) {
  if (ABSL_PREDICT_TRUE(!c_.rx_checksums && !c_.rx_rss_hash)) {
    return receive_in<false, false>(batch);
  }
  if (c_.rx_rss_hash) {
    return c_.rx_checksums ? receive_out_of_line<true, true>(batch)
                           : receive_out_of_line<false, true>(batch);
  }
  return receive_out_of_line<true, false>(batch);
}

template <bool kChecksums, bool kHash>
size_t ReceiveQueue::receive_out_of_line(PacketBatch& batch) {
  return receive_in<kChecksums, kHash>(batch);
}

template <bool kChecksums, bool kHash>
ReceiveQueue::Totals ReceiveQueue::take_wrapping(Packet* p, uint32_t n, uint32_t c, uint32_t wqe) {
  const uint32_t mask = ring_.mask(), size = mask + 1;
  Totals t;
  for (Packet* const end = p + n; p != end;) {
    const uint32_t ca = c & mask, wa = wqe & mask;
    const uint32_t k = std::min({static_cast<uint32_t>(end - p), size - ca, size - wa});
    const Totals run =
        take_run<kChecksums, kHash>(p, k, cq_.ring.descriptors() + size_t{ca} * kCqe, wqe);
    t.bytes += run.bytes;
    t.dropped += run.dropped;
    p += k;
    c += k;
    wqe += k;
  }
  return t;
}

// A CQE with nothing to deliver: an error or flush (the RQ is in ERR, the
// WQEs after this one flushed), or one that does not match its WQE or buffer.
uint32_t ReceiveQueue::reject(LayoutView<Cqe> e, Packet& frame) {
  if (e.get<Cqe::OPCODE>() == kCqeRespErr) {
    failed_ = true;
    stats.errors += e.get<Cqe::SYNDROME>() != kSyndromeWrFlushed;
  } else {
    ++stats.errors;
  }
  frame.reset();
  return 1;
}

// ERR -> RST -> RDY once every posted WQE has completed (flushed), then
// every WQE posted again from 0 (each still holds a buffer).
void ReceiveQueue::recover() {
  // Flush CQEs still to come (a device that completes more than was posted
  // does not hold recovery up), or given up.
  if (static_cast<int32_t>(posted_ - ci_) > 0 || !broken_.ok()) return;
  absl::Status s = reset_to_ready<MODIFY_RQ>(*c_.cmdq, rqn_, [&] {
    ci_ = 0;
    LayoutRef<WqDoorbell>(ring_.extra()).set<WqDoorbell::RECEIVE_COUNTER>(0);
  });
  if (!s.ok()) return void(broken_ = cannot_recover(tag_, s));
  post_all();
  failed_ = false;
  ++recoveries;
}

void ReceiveQueue::cq_overrun() {
  broken_ = absl::FailedPreconditionError(absl::StrFormat(
      "%s: its CQ %#x overran (CQ error event, syndrome CQ_OVERRUN) and reports nothing more; an "
      "RQ cannot be remade under the TIRs that name it: close and reopen the device",
      tag_, cq_.cqn));
}

}  // namespace safenic::mlx5
