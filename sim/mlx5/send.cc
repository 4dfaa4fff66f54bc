// The ConnectX model's send path (docs/connectx.md §5; PRM "Send WQE"): the UAR
// doorbell names the last WQE posted and the doorbell record's send counter
// says how far to go; each WQE is read from the SQ's ring (ds / 4 basic
// blocks, wrapping at the ring's end) and checked, then its frames go to the
// wire. SEND carries one frame (inline headers, then data segments);
// ENHANCED_MPSW, on devices that report it, one frame per data segment.
#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/wqe.h"
#include "sim/mlx5/model.h"

namespace safenic::sim {

using namespace ::safenic::mlx5;  // the shared layouts

namespace {

constexpr size_t kMaxFrame = 16 * 1024;

uint32_t blocks_of(uint32_t ds) { return std::max(1u, (ds + 3) / 4); }

}  // namespace

// The send doorbell carries the first 8 bytes of the last WQE's control
// segment; the doorbell record's send counter says how far to go, and the
// named WQE must end there.
void ConnectXModel::send_doorbell(uint32_t uar, uint64_t bus_value) {
  if (fatal()) return;
  const uint64_t v = from_order<ByteOrder::kBig>(bus_value);
  const uint32_t dw0 = static_cast<uint32_t>(v >> 32), sqn = static_cast<uint32_t>(v) >> 8;
  auto it = objects_.wqs.find(sqn);
  if (it == objects_.wqs.end() || !it->second.send) {
    ctx_.log->report(
        absl::StrFormat("ConnectX: send doorbell for SQ %#x, which does not exist", sqn));
    return;
  }
  cx::Wq& sq = it->second;
  if (sq.uar != uar) {
    ctx_.log->report(absl::StrFormat("ConnectX: SQ %#x rung on UAR %d; it was created with UAR %d",
                                     sqn, uar, sq.uar));
  }
  uint8_t* const db =
      sq_dbr_window_.get(*ctx_.iommu, sq.dbr, 8, "ConnectX SQ doorbell record read");
  if (db == nullptr) return;
  const uint16_t pi =
      static_cast<uint16_t>(LayoutRef<WqDoorbell>(db).get<WqDoorbell::SEND_COUNTER>());
  const uint16_t index = static_cast<uint16_t>(dw0 >> 8);
  const uint32_t ds = static_cast<uint32_t>(v) & 0x3F;
  if (static_cast<uint16_t>(index + blocks_of(ds)) != pi) {
    ctx_.log->report(absl::StrFormat(
        "ConnectX: SQ %#x doorbell names WQE %d of ds %d, but the doorbell record's send counter "
        "is %d (write the record, then ring with the last WQE)",
        sqn, index, ds, pi));
  }
  if (sq.state == kRst) {
    ctx_.log->report(
        absl::StrFormat("ConnectX: send doorbell for SQ %#x in RST (MODIFY_SQ to RDY first)", sqn));
    return;
  }
  transmit(sqn, sq, pi);
}

uint32_t ConnectXModel::read_send_wqe(const cx::Wq& sq, uint16_t c) {
  const uint32_t size = 1u << sq.log_size;
  auto block = [&](uint32_t i) {
    return send_wq_window_.get(*ctx_.iommu,
                               sq.mem.at(uint64_t{(c + i) & (size - 1u)} * kWqeBasicBlock),
                               kWqeBasicBlock, "ConnectX send WQE read");
  };
  const uint8_t* const first = block(0);
  if (first == nullptr) return 0;
  std::memcpy(wqe_, first, kWqeBasicBlock);
  const uint32_t blocks = std::min(blocks_of(LayoutRef<SendWqe>(wqe_).get<SendWqe::DS>()), size);
  for (uint32_t i = 1; i < blocks; ++i) {
    const uint8_t* const next = block(i);
    if (next == nullptr) return 0;
    std::memcpy(wqe_ + i * kWqeBasicBlock, next, kWqeBasicBlock);
  }
  return blocks;
}

std::string ConnectXModel::check_send_wqe(uint32_t sqn, const cx::Wq& sq, uint16_t c,
                                          uint32_t blocks, uint16_t posted) const {
  LayoutView<SendWqe> w(wqe_);
  const uint32_t opcode = w.get<SendWqe::OPCODE>(), ds = w.get<SendWqe::DS>();
  const uint32_t inline_size = w.get<SendWqe::INLINE_HDR_SZ>();
  if (w.get<SendWqe::WQE_INDEX>() != c || w.get<SendWqe::SQN>() != sqn) {
    return absl::StrFormat("index %d and sqn %#x", w.get<SendWqe::WQE_INDEX>(),
                           w.get<SendWqe::SQN>());
  }
  if (ds < 1) return "ds 0";
  if (blocks > posted) {
    return absl::StrFormat("ds %d takes %d basic blocks, but only %d are posted", ds, blocks,
                           posted);
  }
  if (opcode == kOpcodeNop) return "";
  if (opcode == kOpcodeSend) {
    if (ds < 2 || inline_size < (sq.min_inline ? kMinInlineL2 : 0) ||
        SendWqe::kInlineStart + inline_size > 16 * ds) {
      return absl::StrFormat("%d inline header bytes in %d segments (min_wqe_inline_mode %d)",
                             inline_size, ds, sq.min_inline);
    }
    return "";
  }
  if (opcode == kOpcodeEnhancedMpsw && profile_.enhanced_mpw) {
    if (ds < 3) return absl::StrFormat("ENHANCED_MPSW with ds %d: no data segment", ds);
    if (inline_size != 0)
      return absl::StrFormat("ENHANCED_MPSW with %d inline header bytes", inline_size);
    if (sq.min_inline != 0) {
      return absl::StrFormat(
          "ENHANCED_MPSW on an SQ of min_wqe_inline_mode %d (the model takes no "
          "inline data segments)",
          sq.min_inline);
    }
    return "";
  }
  return absl::StrFormat("opcode %#x (the model implements SEND, NOP%s)", opcode,
                         profile_.enhanced_mpw ? " and ENHANCED_MPSW"
                                               : "; ENHANCED_MPSW only "
                                                 "where the capability says so");
}

// One data segment's bytes, where they lie in host memory (the reserved
// lkey, a live mapping, the frame no longer than the MAC sends with the
// `frame_so_far` bytes before them); a syndrome when it fails.
uint8_t ConnectXModel::read_frame_data(const cx::Wq& sq, LayoutRef<DataSegment> seg,
                                       uint32_t byte_count, size_t frame_so_far,
                                       absl::Span<const uint8_t>& data) {
  uint32_t lkey = seg.get<DataSegment::LKEY>();
  const uint64_t bytes = byte_count == 0 ? uint64_t{1} << 31 : byte_count;
  uint64_t addr = seg.get<DataSegment::ADDR>();
  if (ABSL_PREDICT_FALSE(injecting())) {
    if (take_fault(WqeFault::kSendBadLkey) || fault(ConnectXFault::kBadLkey))
      lkey = ~kModelResdLkey;
    if (take_fault(WqeFault::kSendUnmapped)) addr += uint64_t{1} << 44;
  }
  if (!sq.rlkey || lkey != kModelResdLkey) return kSyndromeLocalProtection;
  if (frame_so_far + bytes > kMaxFrame) return kSyndromeLocalLength;
  const uint8_t* const buf =
      send_data_window_.get(*ctx_.iommu, addr, bytes, "ConnectX send data read");
  if (buf == nullptr) return kSyndromeLocalProtection;
  data = {buf, static_cast<size_t>(bytes)};
  return 0;
}

absl::Span<const uint8_t> ConnectXModel::padded(size_t i, absl::Span<const uint8_t> frame) {
  uint8_t* const out = tx_padded_[i].data();
  std::fill(std::copy(frame.begin(), frame.end(), out), out + kMinFrame, 0);
  return {out, kMinFrame};
}

uint32_t ConnectXModel::wqe_frames() const {
  LayoutView<SendWqe> w(wqe_);
  const uint32_t ds = w.get<SendWqe::DS>(), first = kEmpwFirstSegment / 16;
  switch (w.get<SendWqe::OPCODE>()) {
    case kOpcodeSend: return 1;
    case kOpcodeEnhancedMpsw: return ds > first ? ds - first : 0;
    default: return 0;
  }
}

// A WQE's frames are all read before any goes out, so a failed WQE sent
// nothing (the PRM does not say which frames of a failed ENHANCED_MPSW WQE
// leave; the driver counts them all as errors).
uint8_t ConnectXModel::send_frames(cx::Wq& sq, uint32_t opcode, uint32_t ds) {
  static_assert(SendWqe::DS::kMax < std::tuple_size_v<decltype(tx_frames_)>);
  size_t frames = 0;
  absl::Span<const uint8_t> data;
  if (opcode == kOpcodeSend) {
    const uint32_t inline_size = LayoutRef<SendWqe>(wqe_).get<SendWqe::INLINE_HDR_SZ>();
    tx_frame_.assign(wqe_ + SendWqe::kInlineStart, wqe_ + SendWqe::kInlineStart + inline_size);
    for (uint32_t off = (SendWqe::kInlineStart + inline_size + 15) / 16 * 16; off < 16 * ds;
         off += 16) {
      LayoutRef<DataSegment> seg(wqe_ + off);
      if (uint8_t s =
              read_frame_data(sq, seg, seg.get<DataSegment::BYTE_COUNT>(), tx_frame_.size(), data);
          s != 0) {
        return s;
      }
      tx_frame_.insert(tx_frame_.end(), data.begin(), data.end());
    }
    if (tx_frame_.size() < kMinFrame) tx_frame_.resize(kMinFrame, 0);  // the MAC pads it
    tx_frames_[frames++] = tx_frame_;
  } else {  // ENHANCED_MPSW: a frame per data segment
    for (uint32_t off = kEmpwFirstSegment; off < 16 * ds; off += 16) {
      LayoutRef<DataSegment> seg(wqe_ + off);
      const uint32_t byte_count = seg.get<DataSegment::BYTE_COUNT>();
      if (byte_count & kDataInline) {
        ctx_.log->report(
            "ConnectX: ENHANCED_MPSW inline data segment (the model implements pointers only)");
        return kSyndromeLocalQpOperation;
      }
      if (uint8_t s = read_frame_data(sq, seg, byte_count, 0, data); s != 0) return s;
      if (ABSL_PREDICT_FALSE(data.size() < kMinFrame)) data = padded(frames, data);
      tx_frames_[frames++] = data;
    }
  }
  // The WQE's frames go out as one burst (counted; dropped while the link is
  // down).
  for (size_t i = 0; i < frames; ++i) count(false, tx_frames_[i]);
  if (link_up()) {
    port_.transmit_burst({tx_frames_.data(), frames});
  } else {
    drops_.link_down += frames;
  }
  return 0;
}

void ConnectXModel::transmit(uint32_t sqn, cx::Wq& sq, uint16_t until) {
  const uint32_t size = 1u << sq.log_size;
  if (static_cast<uint16_t>(until - sq.counter) > size) {
    ctx_.log->report(
        absl::StrFormat("ConnectX: SQ %#x: its send counter says %d WQEs posted; its ring holds %d",
                        sqn, static_cast<uint16_t>(until - sq.counter), size));
    return;
  }
  if (sq.state == kErr) return flush_wq(sqn, sq, until);
  while (sq.counter != until) {
    const uint16_t c = sq.counter;
    const uint32_t blocks = read_send_wqe(sq, c);
    if (blocks == 0) return;
    const std::string bad = check_send_wqe(sqn, sq, c, blocks, static_cast<uint16_t>(until - c));
    if (!bad.empty()) {
      ctx_.log->report(absl::StrFormat("ConnectX: SQ %#x WQE %d is malformed: %s", sqn, c, bad));
      return fail_wq(sqn, sq, until, kSyndromeLocalQpOperation,
                     std::min<uint32_t>(blocks, static_cast<uint16_t>(until - c)));
    }
    LayoutRef<SendWqe> w(wqe_);
    const uint32_t opcode = w.get<SendWqe::OPCODE>();
    ++send_wqes_[opcode];
    if (opcode != kOpcodeNop) {
      if (uint8_t s = send_frames(sq, opcode, w.get<SendWqe::DS>()); s != 0) {
        return fail_wq(sqn, sq, until, s, blocks);
      }
    }
    sq.counter = static_cast<uint16_t>(c + blocks);
    if (w.get<SendWqe::CE>() == kCeAlways) {
      if (const CqeSlot slot = claim_cqe(sq.cqn)) {
        LayoutRef<Cqe>(slot.mem)
            .set<Cqe::SOP_DROP_QPN>(opcode << 24 | sqn)
            .set<Cqe::WQE_COUNTER>(c);
        post_cqe(slot, kCqeReq);
      }
    }
  }
}

}  // namespace safenic::sim
