#include "nic/mlx5/queues.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/wqe.h"

namespace safenic::mlx5 {
namespace {

constexpr uint32_t kMaxSend = 9216;  // the largest port MTU's frame
constexpr uint32_t kCqe = 64, kRecvWqe = 16, kLogRecvWqe = 4;

// MODIFY_SQ / MODIFY_RQ from one state to the next.
template <typename Cmd>
absl::Status modify(CommandQueue& cmdq, uint32_t n, WqState from, WqState to) {
  return cmdq.run<Cmd>(0, [&](LayoutRef<ModifyWqIn> in, uint8_t*) {
               in.set<ModifyWqIn::NUMBER>(n).set<ModifyWqIn::CURRENT_STATE>(from)
                   .set<ModifyWqIn::NEXT_STATE>(to);
             }).status();
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
  return absl::Status(s.code(), absl::StrFormat("%s: cannot be brought back after a failed WQE (%s); "
                                                "close and reopen the device", tag, s.message()));
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

absl::Status destroy(const QueueContext& c, uint16_t opcode, uint32_t number) {
  std::vector<uint8_t> in(Numbered<0x10>::kSize, 0);
  LayoutRef<CmdIn>(in.data()).set<CmdIn::OPCODE>(opcode);
  LayoutRef<Numbered<0x10>>(in.data()).set<Numbered<0x10>::NUMBER>(number);
  if (absl::Status s = c.cmdq->execute(in, 0x10).status(); !s.ok()) return s;
  std::erase_if(*c.undo, [&](const Undo& u) { return u.opcode == opcode && u.number == number; });
  return absl::OkStatus();
}

absl::Status CompletionQueue::create(const QueueContext& c, uint32_t entries,
                                     const std::string& tag) {
  auto r = DescriptorRing::create(c.fn->dma(), entries, kCqe, tag, kDoorbellRecordSize, false);
  if (!r.ok()) return r.status();
  ring = *std::move(r);
  for (uint32_t i = 0; i < entries; ++i) {  // invalid, owner 1: not yet written
    LayoutRef<Cqe>(ring.descriptor(i)).set<Cqe::OP_OWN>(kCqeInitial);
  }
  auto out = c.cmdq->run<CREATE_CQ>(0, [&](LayoutRef<CREATE_CQ::In> in, uint8_t* raw) {
    in.set<CREATE_CQ::In::LOG_CQ_SIZE>(ring.log2_size())
        .set<CREATE_CQ::In::UAR_PAGE>(c.uar)
        .set<CREATE_CQ::In::C_EQN>(c.eqn)
        .set<CREATE_CQ::In::LOG_PAGE_SIZE>(0)
        .set<CREATE_CQ::In::DBR_ADDR>(ring.extra_iova());
    put_pas(raw, ring);
  }, pas_bytes(ring));
  if (!out.ok()) return out.status();
  cqn = out->get<CREATE_CQ::Out::NUMBER>();
  c.undo->push_back({op::kDestroyCq, cqn});
  return absl::OkStatus();
}

void CompletionQueue::update_ci() const {
  LayoutRef<CqDoorbell>(ring.extra()).set<CqDoorbell::UPDATE_CI>(cc & 0xFFFFFF);
}

absl::Status SendQueue::create(const QueueContext& c, uint32_t entries, const std::string& tag) {
  c_ = c;
  tag_ = tag;
  if (absl::Status s = cq_.create(c, entries, tag + " cq"); !s.ok()) return s;
  auto r = DescriptorRing::create(c.fn->dma(), entries, kWqeBasicBlock, tag, kDoorbellRecordSize);
  if (!r.ok()) return r.status();
  ring_ = *std::move(r);
  auto out = c.cmdq->run<CREATE_SQ>(0, [&](LayoutRef<CREATE_SQ::In> in, uint8_t* raw) {
    using In = CREATE_SQ::In;
    in.set<In::RLKEY>(1).set<In::FLUSH_IN_ERROR_EN>(1)
        .set<In::MIN_WQE_INLINE_MODE>(c.min_inline)
        .set<In::STATE>(kRst)
        .set<In::TIS_LST_SZ>(1)
        .set<In::TIS_NUM_0>(c.tis);
    set_wq(in, raw, c, cq_.cqn, ring_, 6);  // 64-byte basic blocks
  }, pas_bytes(ring_));
  if (!out.ok()) return out.status();
  sqn_ = out->get<CREATE_SQ::Out::NUMBER>();
  c.undo->push_back({op::kDestroySq, sqn_});
  for (uint32_t i = 0; i < entries; ++i) {  // what every WQE of this SQ has
    LayoutRef<DataSegment>(ring_.descriptor(i) + kSendDataSegment).set<DataSegment::LKEY>(c.lkey);
  }
  return modify<MODIFY_SQ>(*c.cmdq, sqn_, kRst, kRdy);
}

// Completions: each CQE completes every WQE up to its wqe_counter (the driver
// asks for one CQE per batch). An error or flush CQE is for its WQE only (the
// device moved the SQ to ERR there); the WQEs before it were sent.
void SendQueue::clean() {
  uint8_t* const cqes = cq_.ring.descriptors();
  Packet* const slots = ring_.slots();
  const uint32_t mask = ring_.mask(), log = ring_.log2_size(), before = cq_.cc;
  uint32_t cc = before, ci = ci_;
  for (;; ++cc) {
    const LayoutRef<Cqe> e(cqes + size_t{cc & mask} * kCqe);  // the CQ is as large as the SQ
    if (((e.get<Cqe::OP_OWN>() ^ (cc >> log)) & 1) != 0) break;
    dma_read_barrier();
    const uint32_t done = ((e.get<Cqe::WQE_COUNTER>() - ci) & 0xFFFF) + 1;
    if (ABSL_PREDICT_FALSE(done > pi_ - ci)) {  // names a WQE never posted
      ++stats.errors;
      continue;
    }
    if (ABSL_PREDICT_FALSE(e.get<Cqe::OPCODE>() != kCqeReq)) {
      ++stats.errors;  // the WQE it names failed or was flushed; those before it were sent
      failed_ = true;
    }
    const uint32_t from = ci & mask, to = (ci + done) & mask;
    if (from < to) {
      Packet::reset_all({slots + from, to - from});
    } else {  // wraps
      Packet::reset_all({slots + from, mask + 1 - from});
      Packet::reset_all({slots, to});
    }
    ci += done;
  }
  ci_ = ci;
  if (cc != before) {
    cq_.cc = cc;
    cq_.update_ci();
  }
}

// The TX fast path: one WQE per packet (ds 4: control, Ethernet segment with
// 18 header bytes inline, one data segment), a CQE for the last only, the
// doorbell record, then one UAR doorbell.
size_t SendQueue::transmit(PacketBatch& batch) {
  clean();
  if (ABSL_PREDICT_FALSE(failed_)) recover();
  uint8_t* const wqes = ring_.descriptors();
  Packet* const slots = ring_.slots();
  const uint32_t mask = ring_.mask();
  const size_t n = failed_ ? 0 : std::min<size_t>(batch.size(), ring_.size() - (pi_ - ci_));
  Packet* const packets = batch.begin();
  const uint32_t start = pi_, ctrl1_full = SendWqe::SQN::insert(4, sqn_);
  uint32_t pi = start, ctrl0 = 0, ctrl1 = 0;
  uint8_t* w = nullptr;
  uint64_t bytes = 0;
  for (Packet* p = packets; p != packets + n; ++p) {
    const uint32_t len = static_cast<uint32_t>(p->size());
    if (ABSL_PREDICT_FALSE(len - kMinInlineL2 > kMaxSend - kMinInlineL2)) {
      ++stats.errors;  // not an Ethernet frame: dropped and counted
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
    LayoutRef<SendWqe>(w).set<SendWqe::CE>(kCeAlways);
    dma_write_barrier();  // WQEs before the record
    LayoutRef<WqDoorbell>(ring_.extra()).set<WqDoorbell::SEND_COUNTER>(pi & 0xFFFF);
    dma_write_barrier();  // the record before the doorbell
    c_.bar->write(RegisterValue<UAR_SEND_DOORBELL>(uint64_t{ctrl0} << 32 | ctrl1), c_.uar);
    stats.packets += pi - start;
    stats.bytes += bytes;
    pi_ = pi;
  }
  return n;
}

// ERR -> RST -> RDY once every WQE has completed (flushed); the queue starts
// again at WQE 0 (Linux mlx5e does the same in its TX error recovery).
void SendQueue::recover() {
  if (pi_ != ci_ || !broken_.ok()) return;  // flush CQEs still to come, or given up
  absl::Status s = reset_to_ready<MODIFY_SQ>(*c_.cmdq, sqn_, [&] {
    pi_ = ci_ = 0;
    LayoutRef<WqDoorbell>(ring_.extra()).set<WqDoorbell::SEND_COUNTER>(0);
  });
  if (!s.ok()) return void(broken_ = cannot_recover(tag_, s));
  failed_ = false;
  ++recoveries;
}

absl::Status SendQueue::recreate() {
  absl::Status s = destroy(c_, op::kDestroySq, sqn_);
  if (s.ok()) s = destroy(c_, op::kDestroyCq, cq_.cqn);
  if (s.ok()) {
    ring_.release_packets();  // the device reads them no more
    pi_ = ci_ = 0;
    failed_ = false;
    cq_.cc = 0;
    broken_ = absl::OkStatus();
    s = create(c_, ring_.size(), tag_);
  }
  if (!s.ok()) {
    failed_ = true;  // takes nothing more
    broken_ = absl::Status(s.code(), absl::StrFormat("%s: cannot be remade after a CQ error (%s); "
                                                     "close and reopen the device", tag_, s.message()));
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
  pc.tag = tag + " buffers";
  auto pool = Mempool::create(pc, c.fn->dma());
  if (!pool.ok()) return pool.status();
  pool_ = *std::move(pool);
  if (absl::Status s = cq_.create(c, entries, tag + " cq"); !s.ok()) return s;
  auto r = DescriptorRing::create(c.fn->dma(), entries, kRecvWqe, tag, kDoorbellRecordSize);
  if (!r.ok()) return r.status();
  ring_ = *std::move(r);
  for (uint32_t i = 0; i < entries; ++i) {  // one data segment per WQE, every WQE posted
    ring_.slot(i) = pool_->alloc();
    LayoutRef<DataSegment>(ring_.descriptor(i))
        .set<DataSegment::BYTE_COUNT>(ring_.slot(i).capacity())
        .set<DataSegment::LKEY>(c.lkey)
        .set<DataSegment::ADDR>(ring_.slot(i).iova());
  }
  auto out = c.cmdq->run<CREATE_RQ>(0, [&](LayoutRef<CREATE_RQ::In> in, uint8_t* raw) {
    using In = CREATE_RQ::In;
    in.set<In::RLKEY>(1).set<In::VSD>(1).set<In::FLUSH_IN_ERROR_EN>(1).set<In::STATE>(kRst);
    set_wq(in, raw, c, cq_.cqn, ring_, kLogRecvWqe);
  }, pas_bytes(ring_));
  if (!out.ok()) return out.status();
  rqn_ = out->get<CREATE_RQ::Out::NUMBER>();
  c.undo->push_back({op::kDestroyRq, rqn_});
  if (absl::Status s = modify<MODIFY_RQ>(*c.cmdq, rqn_, kRst, kRdy); !s.ok()) return s;
  post_all();
  return absl::OkStatus();
}

void ReceiveQueue::post_all() {
  posted_ = ci_ + ring_.size();
  dma_write_barrier();
  LayoutRef<WqDoorbell>(ring_.extra()).set<WqDoorbell::RECEIVE_COUNTER>(posted_ & 0xFFFF);
}

// The RX fast path: counts the CQEs software owns, takes that many fresh
// buffers at once, swaps each with its WQE's frame and re-posts the WQE with
// the fresh buffer's address; one doorbell record write, no MMIO. (The CQ has
// as many entries as the RQ: one mask serves both.)
size_t ReceiveQueue::receive(PacketBatch& batch) {
  if (ABSL_PREDICT_FALSE(failed_)) recover();
  uint8_t* const cqes = cq_.ring.descriptors();
  const uint32_t mask = ring_.mask(), log = ring_.log2_size(), cc = cq_.cc, ci = ci_;
  const uint32_t room = static_cast<uint32_t>(std::min<size_t>(batch.room(), mask + 1));
  // Counts the CQEs written on this pass (a pointer walk: this is per packet).
  uint8_t* const cq_end = cqes + (size_t{mask} + 1) * kCqe;
  uint8_t* e = cqes + size_t{cc & mask} * kCqe;
  uint32_t owner = (cc >> log) & 1, ready = 0;
  for (; ready < room; ++ready) {
    if (((LayoutRef<Cqe>(e).get<Cqe::OP_OWN>() ^ owner) & 1) != 0) break;  // not yet written
    e += kCqe;
    if (ABSL_PREDICT_FALSE(e == cq_end)) e = cqes, owner ^= 1;
  }
  if (ready == 0) return 0;
  dma_read_barrier();  // the CQEs' bodies after their owner bits
  const uint32_t n = static_cast<uint32_t>(pool_->alloc_bulk(batch, ready));  // the rest wait
  Packet* const out = batch.end() - n;
  Packet* const slots = ring_.slots();
  uint8_t* const wqes = ring_.descriptors();
  uint64_t bytes = 0;
  uint32_t dropped = 0, c = cc, wqe = ci;
  uint32_t expect = wqe << 16 | kCqeRespSend << 4;  // a receive CQE for this WQE
  e = cqes + size_t{cc & mask} * kCqe;
  for (Packet* p = out; p != out + n; ++p, ++c, ++wqe, expect += 1u << 16) {
    const LayoutRef<Cqe> cqe(e);
    const uint32_t i = wqe & mask, tail = cqe.get<Cqe::TAIL>(), len = cqe.get<Cqe::BYTE_CNT>();
    slots[i].swap(*p);  // the fresh buffer takes the WQE, the frame goes up
    LayoutRef<DataSegment>(wqes + size_t{i} * kRecvWqe).set<DataSegment::ADDR>(slots[i].iova());
    if (ABSL_PREDICT_TRUE((tail & 0xFFFF00F0) == expect && p->try_resize(len))) {
      bytes += len;
    } else {
      dropped += reject(cqe, *p);
    }
    e += kCqe;
    if (ABSL_PREDICT_FALSE(e == cq_end)) e = cqes;
  }
  cq_.cc = c;
  ci_ = wqe;
  cq_.update_ci();
  if (ABSL_PREDICT_TRUE(!failed_)) post_all();
  if (ABSL_PREDICT_FALSE(dropped != 0)) batch.compact();
  stats.packets += n - dropped;
  stats.bytes += bytes;
  return n - dropped;
}

// A CQE with nothing to deliver: an error or flush (the RQ is in ERR, the
// WQEs after this one flushed), or one that does not match its WQE or buffer.
uint32_t ReceiveQueue::reject(LayoutRef<Cqe> e, Packet& frame) {
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
      "RQ cannot be remade under the TIRs that name it: close and reopen the device", tag_, cq_.cqn));
}

}  // namespace safenic::mlx5
