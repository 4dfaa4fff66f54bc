// The mlx5 receive queue: a cyclic RQ of one-segment WQEs and its CQ, the
// receive fast path with its offload variants, and recovery after a failed WQE.
#include <algorithm>
#include <array>

#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/queues.h"
#include "nic/mlx5/wq_commands.h"
#include "nic/mlx5/wqe.h"

namespace safenic::mlx5 {

absl::Status ReceiveQueue::create(const QueueContext& c, uint32_t entries, uint32_t buffers,
                                  const std::string& tag) {
  c_ = c;
  loop_ = static_cast<uint8_t>(c.rx_checksums | c.rx_rss_hash << 1);
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
  switch (loop_) {
    case 0: return receive_in<false, false>(batch);
    case 1: return receive_out_of_line<true, false>(batch);
    case 2: return receive_out_of_line<false, true>(batch);
    default: return receive_out_of_line<true, true>(batch);
  }
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
