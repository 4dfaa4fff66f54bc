// The ConnectX model's data path (docs/connectx.md §5-§6): send WQEs when the UAR
// doorbell rings, receive WQEs when a frame arrives from the wire, NIC RX
// steering (vport filter, flow tables, TIRs, Toeplitz RSS over an RQT), CQEs
// with the owner bit of their pass, events in subscribed EQs. A WQE with a
// wrong lkey or a buffer the IOMMU refuses gets an error CQE and moves its
// queue to ERR, the WQEs after it flushed, as hardware does.
#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/wqe.h"
#include "sim/checksum.h"
#include "sim/mlx5/model.h"
#include "sim/toeplitz.h"

namespace safenic::sim {

using namespace ::safenic::mlx5;  // the shared layouts

namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// Whether the 6-byte MAC addresses at a and b are equal (in two loads each:
// cheaper per frame than a call to memcmp).
bool same_mac(const uint8_t* a, const uint8_t* b) {
  uint32_t a4, b4;
  uint16_t a2, b2;
  std::memcpy(&a4, a, 4);
  std::memcpy(&b4, b, 4);
  std::memcpy(&a2, a + 4, 2);
  std::memcpy(&b2, b + 4, 2);
  return ((a4 ^ b4) | static_cast<uint32_t>(a2 ^ b2)) == 0;
}
uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// The CQE's checksum information (Cqe::CHECKSUM_INFO: hds_ip_ext, then
// l4_l3_hdr_type) for a frame: the L3 header the device parsed (IPv4 or
// IPv6) and l3_ok when nothing in it is wrong (an IPv4 header's checksum;
// IPv6 has none); the TCP or UDP header it parsed (not in a fragment, whose
// L4 checksum covers other frames too) and l4_ok when its checksum is right
// or, UDP over IPv4, absent. Each judged on its own (docs/offloads.md).
uint16_t checksum_info(absl::Span<const uint8_t> f) {
  const ChecksumCheck c = check_checksums(f);
  uint8_t ok = kL2Ok, types = 0;
  if (c.ipv4) {
    types = Cqe::L3_HDR_TYPE::insert(types, kL3HdrIpv4);
    if (c.ipv4_ok) ok |= kL3Ok;
  } else if (c.l4_at != 0) {  // IPv6 (check_checksums parses no other L3)
    types = Cqe::L3_HDR_TYPE::insert(types, kL3HdrIpv6);
    ok |= kL3Ok;
  }
  if (c.l4_at != 0) {
    uint8_t l4 = kL4HdrUdp;
    if (!c.udp) {  // TCP: by its ACK flag and whether it carries data
      const uint8_t* const tcp = f.data() + c.l4_at;
      const size_t header = static_cast<size_t>(tcp[12] >> 4) * 4;
      l4 = !(tcp[13] & 0x10)    ? kL4HdrTcpNoAck
           : c.l4_len <= header ? kL4HdrTcpAckNoData
                                : kL4HdrTcpAckAndData;
    }
    types = Cqe::L4_HDR_TYPE::insert(types, l4);
    if ((c.l4 && c.l4_ok) || c.udp_zero) ok |= kL4Ok;
  }
  return static_cast<uint16_t>(ok << 8 | types);
}

// The frame's outer headers as fte_match_set_lyr_2_4 (what flow groups match
// on) and the CQE checksum information (checksum_info()).
uint16_t parse(absl::Span<const uint8_t> f, LayoutValue<OuterHeaders>& h) {
  h.set<OuterHeaders::SMAC_47_16>(be32(f.data() + 6))
      .set<OuterHeaders::SMAC_15_0>(be16(f.data() + 10));
  h.set<OuterHeaders::DMAC_47_16>(be32(f.data())).set<OuterHeaders::DMAC_15_0>(be16(f.data() + 4));
  size_t l3 = 14;
  uint16_t type = be16(f.data() + 12);
  if (type == 0x8100 && f.size() >= 18) {
    h.set<OuterHeaders::CVLAN_TAG>(1).set<OuterHeaders::FIRST_VID>(be16(f.data() + 14) & 0xFFF);
    type = be16(f.data() + 16);
    l3 = 18;
  }
  h.set<OuterHeaders::ETHERTYPE>(type);
  const uint16_t info = checksum_info(f);
  if (type != 0x0800 || f.size() < l3 + 20 || (f[l3] >> 4) != 4) return info;
  const uint8_t* ip = f.data() + l3;
  const size_t ihl = (ip[0] & 0xF) * 4u;
  const uint8_t proto = ip[9];
  h.set<OuterHeaders::IP_VERSION>(4).set<OuterHeaders::IP_PROTOCOL>(proto);
  h.set<OuterHeaders::SRC_IPV4>(be32(ip + 12)).set<OuterHeaders::DST_IPV4>(be32(ip + 16));
  const bool first_fragment = (be16(ip + 6) & 0x1FFF) == 0;
  if (ihl >= 20 && first_fragment && (proto == 6 || proto == 17) && f.size() >= l3 + ihl + 8) {
    const uint8_t* p = ip + ihl;
    if (proto == 6) {
      h.set<OuterHeaders::TCP_SPORT>(be16(p)).set<OuterHeaders::TCP_DPORT>(be16(p + 2));
    } else {
      h.set<OuterHeaders::UDP_SPORT>(be16(p)).set<OuterHeaders::UDP_DPORT>(be16(p + 2));
    }
  }
  return info;
}

}  // namespace

// An EQE in every EQ subscribed to `type` (PRM "Event Queue Entry"). A stalled
// EQ (kEqStall) takes no more.
void ConnectXModel::post_event(uint32_t type, uint32_t sub_type, uint32_t cqn, uint8_t syndrome) {
  post_event_data(type, sub_type, [&](LayoutRef<Eqe> e) {
    if (type == kEventCqError) e.set<Eqe::CQN>(cqn).set<Eqe::CQ_SYNDROME>(syndrome);
    if (type == kEventPortChange) e.set<Eqe::PORT>(1);
  });
}

void ConnectXModel::post_event_data(uint32_t type, uint32_t sub_type,
                                    absl::FunctionRef<void(LayoutRef<Eqe>)> data) {
  if (fault(ConnectXFault::kEqStall)) eq_stalled_ = true;
  if (eq_stalled_) return void(++drops_.eq_stalled);
  for (auto& [eqn, eq] : objects_.eqs) {
    if (((eq.events >> type) & 1) == 0) continue;
    const uint32_t size = 1u << eq.log_size;
    if (((eq.pi - eq.ci) & 0xFFFFFF) >= size) {  // software has not consumed: dropped
      ++drops_.eq_full;
      continue;
    }
    const uint64_t iova = eq.mem.at(uint64_t{eq.pi & (size - 1)} * 64);
    auto mem = ctx_.iommu->translate(iova, 64, "ConnectX EQE write");
    if (!mem.ok()) continue;
    std::memset(mem->data(), 0, 63);
    LayoutRef<Eqe> e(mem->data());
    e.set<Eqe::TYPE>(type).set<Eqe::SUB_TYPE>(sub_type);
    data(e);
    dma_write_barrier();
    e.set<Eqe::OWNER>((eq.pi >> eq.log_size) & 1);
    if (writes_ != nullptr) writes_->eqe(eqn, eq.pi & (size - 1), iova, mem->data());
    ++eq.pi;
  }
}

// A CQE at the CQ's producer index, op_own last, its owner bit the parity of
// the pass (docs/connectx.md §5). Without overrun-ignore, a full CQ (by the consumer
// index in the doorbell record) is an overrun: a CQ error event (PRM "Event
// Queue Entry", CQ error, syndrome CQ_OVERRUN), no more CQEs. kCqOverrun makes
// the CQ count as full.
bool ConnectXModel::cq_has_room(uint32_t cqn, cx::Cq& cq) {
  const uint32_t size = 1u << cq.log_size;
  auto overrun = [&] {
    cq.overrun = true;
    post_event(kEventCqError, 0, cqn, kCqSyndromeOverrun);
    return false;
  };
  if (fault(ConnectXFault::kCqOverrun)) return overrun();
  if (!cq.oi && ((cq.pi - cq.ci) & 0xFFFFFF) >= size) {
    uint8_t* const db =
        cq_dbr_window_.get(*ctx_.iommu, cq.dbr, 8, "ConnectX CQ doorbell record read");
    if (db == nullptr) return false;
    cq.ci = LayoutRef<CqDoorbell>(db).get<CqDoorbell::UPDATE_CI>();
    if (((cq.pi - cq.ci) & 0xFFFFFF) >= size) {
      ctx_.log->report(absl::StrFormat(
          "ConnectX: CQ %#x overrun: %d CQEs written, the consumer index is %d (size %d)", cqn,
          cq.pi & 0xFFFFFF, cq.ci, size));
      return overrun();
    }
  }
  return true;
}

void ConnectXModel::post_cqe(const CqeSlot& slot, uint8_t opcode) {
  cx::Cq& cq = *slot.cq;
  dma_write_barrier();
  LayoutRef<Cqe>(slot.mem).set<Cqe::OP_OWN>(
      static_cast<uint8_t>(opcode << 4 | ((cq.pi >> cq.log_size) & 1)));
  if (writes_ != nullptr)
    writes_->cqe(slot.cqn, cq.pi & ((1u << cq.log_size) - 1), slot.iova, slot.mem);
  ++cq.pi;
}

bool ConnectXModel::write_cqe(uint32_t cqn, absl::FunctionRef<uint8_t(LayoutRef<Cqe>)> fill) {
  const CqeSlot slot = claim_cqe(cqn);
  if (!slot) return false;
  post_cqe(slot, fill(LayoutRef<Cqe>(slot.mem)));
  return true;
}

void ConnectXModel::fail_wq(uint32_t n, cx::Wq& wq, uint16_t until, uint8_t syndrome,
                            uint32_t blocks) {
  const uint16_t c = wq.counter;
  wq.counter = static_cast<uint16_t>(c + blocks);
  wq.state = kErr;
  if (wq.send) {
    ++vport_counters_[kVportCounters[1].offset / 8];  // transmit_errors
  }
  const uint32_t frames = wq.send ? wqe_frames() : 1;  // a receive WQE fails on its frame
  (wq.send ? drops_.tx_failed : drops_.rx_failed) += frames;
  if (!write_cqe(wq.cqn, [&](LayoutRef<Cqe> e) {
        e.set<Cqe::SYNDROME>(syndrome).set<Cqe::SOP_DROP_QPN>(n).set<Cqe::WQE_COUNTER>(c);
        return wq.send ? kCqeReqErr : kCqeRespErr;
      })) {
    drops_.no_cqe += frames;
  }
  flush_wq(n, wq, until);
}

void ConnectXModel::flush_wq(uint32_t n, cx::Wq& wq, uint16_t until) {
  if (!wq.flush_in_error) return void(wq.counter = until);
  while (wq.counter != until) {
    const uint16_t c = wq.counter;
    // A send WQE's size is in its control segment: one CQE per WQE.
    const uint32_t read = wq.send ? read_send_wqe(wq, c) : 0, blocks = std::max(1u, read);
    const uint32_t frames = read != 0 ? wqe_frames() : 0;  // a receive WQE holds none yet
    drops_.tx_flushed += frames;
    wq.counter =
        static_cast<uint16_t>(std::min<uint32_t>(blocks, static_cast<uint16_t>(until - c)) + c);
    if (!write_cqe(wq.cqn, [&](LayoutRef<Cqe> e) {
          e.set<Cqe::SYNDROME>(kSyndromeWrFlushed)
              .set<Cqe::SOP_DROP_QPN>(n)
              .set<Cqe::WQE_COUNTER>(c);
          return wq.send ? kCqeReqErr : kCqeRespErr;
        })) {
      drops_.no_cqe += frames;
    }
  }
}

void ConnectXModel::uar_write(uint32_t off, unsigned width, uint64_t value) {
  const uint32_t uar = off / kPageSize, reg = off % kPageSize;
  if (!initialized_ || objects_.uars.count(uar) == 0) {
    ctx_.log->report(
        absl::StrFormat("ConnectX: write to UAR page %d, which is not allocated", uar));
    return;
  }
  if ((reg == 0x800 || reg == 0x900) && width == 8) return send_doorbell(uar, value);
  if ((reg == 0x40 || reg == 0x48) && width == 4) {  // EQ consumer index (+0x40 also arms)
    const uint32_t v = from_order<ByteOrder::kBig>(static_cast<uint32_t>(value));
    auto eq = objects_.eqs.find(v >> 24);
    if (eq == objects_.eqs.end() || eq->second.uar != uar) {
      ctx_.log->report(
          absl::StrFormat("ConnectX: EQ doorbell for EQ %d, not an EQ of UAR %d", v >> 24, uar));
      return;
    }
    eq->second.ci = v & 0xFFFFFF;
    return;
  }
  if (reg == 0x20 && width == 8) return;  // CQ arm: the model raises no interrupts
  ctx_.log->report(absl::StrFormat(
      "ConnectX: %d-byte write of %#x to UAR %d offset %#x, which is not a doorbell", width, value,
      uar, reg));
}

// A frame from the wire: port MTU, the vport's address filter (its address,
// its allowed unicast list, broadcast, promiscuous bits), then the NIC RX flow
// tables from the root (first matching entry in index order; no match: a
// counted drop).
void ConnectXModel::receive_burst(absl::Span<const absl::Span<const uint8_t>> frames) {
  for (const absl::Span<const uint8_t> frame : frames) receive(frame);
}

void ConnectXModel::receive(absl::Span<const uint8_t> frame) {
  if (fatal()) return void(++drops_.fatal);
  if (!link_up()) return void(++drops_.link_down);
  const cx::PortState& p = port_state_;
  if (frame.size() < 14 || frame.size() + 4 > p.receive_mtu) {  // the MTU counts the FCS
    ++vport_counters_[kVportCounters[0].offset / 8];            // received_errors
    return void(++drops_.oversize);
  }
  const bool multicast = frame[0] & 1;
  const auto listed = [&](const MacAddress& m) { return same_mac(frame.data(), m.bytes.data()); };
  const bool accept = listed(p.mac) ||
                      std::any_of(p.allowed_uc.begin(), p.allowed_uc.end(), listed) ||
                      same_mac(frame.data(), kBroadcast) || p.promisc_all ||
                      (multicast ? p.promisc_mc : p.promisc_uc);
  if (!accept) return void(++drops_.vport_filter);
  count(true, frame);
  LayoutValue<OuterHeaders> headers;
  const uint16_t flags = parse(frame, headers);
  if (!objects_.root) return void(++drops_.no_steering);
  uint32_t table = *objects_.root;
  for (int level = 0; level < 64; ++level) {
    const cx::FlowTable* t = objects_.table(table);
    if (t == nullptr) return void(++drops_.no_steering);  // (destroying a table in use is refused)
    const cx::FlowEntry* hit = nullptr;
    for (const cx::FlowEntry* e : t->in_order) {
      if (e->matches(headers.data())) {
        hit = e;
        break;
      }
    }
    if (hit == nullptr || hit->action != kActionForward) return void(++drops_.no_steering);
    std::optional<uint32_t> next;
    for (const auto& [type, id] : hit->dests) {
      if (type == kDestTir) {
        deliver(id, frame, headers, flags);
      } else {
        next = id;
      }
    }
    if (!next) return;
    table = *next;  // always a higher level: no loops
  }
}

void ConnectXModel::deliver(uint32_t tirn, absl::Span<const uint8_t> frame,
                            const LayoutValue<OuterHeaders>& h, uint16_t flags) {
  const cx::Tir& tir = *objects_.tir(tirn);  // an entry's TIR cannot be destroyed
  if (!tir.indirect) return deliver_to_rq(tir.rqn, frame, 0, flags, 0);
  const uint32_t hash = rss_hash(tir, h);
  const std::vector<uint32_t>& rqs = objects_.rqts.at(tir.rqt);
  // What the hash covered, for the CQE's rss_hash_type (IPv4 only here).
  uint8_t type = 0;
  if (tir.fields & (kHashSrcIp | kHashDstIp)) type = Cqe::RSS_HTYPE_IP::insert(type, kRssHtypeIpv4);
  if (tir.fields & (kHashSport | kHashDport)) {
    type = Cqe::RSS_HTYPE_L4::insert(type, tir.l4 == 1 ? kRssHtypeUdp : kRssHtypeTcp);
  }
  deliver_to_rq(rqs[hash & (rqs.size() - 1)], frame, hash, flags, type);
}

// Toeplitz over the TIR's selected fields in the RSS order: addresses, then
// ports. (Out of line: a direct TIR's path stays small.)
uint32_t ConnectXModel::rss_hash(const cx::Tir& tir, const LayoutValue<OuterHeaders>& h) {
  uint8_t input[12];
  size_t n = 0;
  auto put = [&](uint32_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) input[n++] = static_cast<uint8_t>(v >> (8 * i));
  };
  const bool udp = tir.l4 == 1;
  if (tir.fields & kHashSrcIp) put(h.get<OuterHeaders::SRC_IPV4>(), 4);
  if (tir.fields & kHashDstIp) put(h.get<OuterHeaders::DST_IPV4>(), 4);
  if (tir.fields & kHashSport)
    put(udp ? h.get<OuterHeaders::UDP_SPORT>() : h.get<OuterHeaders::TCP_SPORT>(), 2);
  if (tir.fields & kHashDport)
    put(udp ? h.get<OuterHeaders::UDP_DPORT>() : h.get<OuterHeaders::TCP_DPORT>(), 2);
  return toeplitz_hash(tir.key, {input, n});
}

// The RQ's receive counter from its doorbell record into rq.posted; false
// (reported) when the record cannot be read or counts more WQEs than the ring holds.
bool ConnectXModel::read_receive_counter(uint32_t rqn, cx::Wq& rq) {
  uint8_t* const db =
      rq_dbr_window_.get(*ctx_.iommu, rq.dbr, 8, "ConnectX RQ doorbell record read");
  if (db == nullptr) return false;
  const uint16_t posted =
      static_cast<uint16_t>(LayoutRef<WqDoorbell>(db).get<WqDoorbell::RECEIVE_COUNTER>());
  const uint16_t available = static_cast<uint16_t>(posted - rq.counter);
  if (available > (1u << rq.log_size)) {
    ctx_.log->report(absl::StrFormat(
        "ConnectX: RQ %#x: its receive counter says %d WQEs posted; its ring holds %d", rqn,
        available, 1u << rq.log_size));
    return false;
  }
  rq.posted = posted;
  return true;
}

// Scatters the frame into the RQ's next WQE (docs/connectx.md §5: data segments with
// the reserved lkey; a null mkey ends the list) and writes its CQE.
void ConnectXModel::deliver_to_rq(uint32_t rqn, absl::Span<const uint8_t> frame, uint32_t hash,
                                  uint16_t flags, uint8_t hash_type) {
  cx::Wq& rq = *objects_.wq(rqn);  // a TIR's or RQT's RQ cannot be destroyed
  if (rq.state != kRdy) return void(++drops_.rq_not_ready);
  const uint32_t size = 1u << rq.log_size, stride = 1u << rq.log_stride;
  // Every WQE known is used: read the doorbell record for more.
  if (rq.posted == rq.counter && !read_receive_counter(rqn, rq)) return;
  if (rq.posted == rq.counter) return void(++drops_.no_wqe);
  const uint16_t c = rq.counter;
  uint8_t* const wqe =
      wq_window_.get(*ctx_.iommu, rq.mem.at(uint64_t{c & (size - 1u)} << rq.log_stride), stride,
                     "ConnectX receive WQE read");
  if (wqe == nullptr) return;
  uint8_t syndrome = 0;
  size_t done = 0;
  for (uint32_t off = 0; off < stride && done < frame.size(); off += 16) {
    LayoutRef<DataSegment> seg(wqe + off);
    uint32_t lkey = seg.get<DataSegment::LKEY>();
    if (lkey == kModelNullMkey) break;  // the end of the scatter list
    uint64_t addr = seg.get<DataSegment::ADDR>();
    if (ABSL_PREDICT_FALSE(injecting())) {
      if (take_fault(WqeFault::kReceiveBadLkey) || fault(ConnectXFault::kBadLkey))
        lkey = ~kModelResdLkey;
      if (take_fault(WqeFault::kReceiveUnmapped)) addr += uint64_t{1} << 44;
    }
    if (!rq.rlkey || lkey != kModelResdLkey) {
      syndrome = kSyndromeLocalProtection;
      break;
    }
    const uint32_t byte_count = seg.get<DataSegment::BYTE_COUNT>();
    const uint64_t cap = byte_count == 0 ? uint64_t{1} << 31 : byte_count;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(cap, frame.size() - done));
    uint8_t* const buf = data_window_.get(*ctx_.iommu, addr, n, "ConnectX receive data write");
    if (buf == nullptr) {
      syndrome = kSyndromeLocalProtection;
      break;
    }
    std::memcpy(buf, frame.data() + done, n);
    done += n;
  }
  if (syndrome == 0 && done < frame.size()) syndrome = kSyndromeLocalLength;
  if (syndrome != 0) {
    read_receive_counter(rqn, rq);  // the flush covers every WQE posted
    return fail_wq(rqn, rq, rq.posted, syndrome);
  }
  rq.counter = static_cast<uint16_t>(c + 1);
  const CqeSlot slot = claim_cqe(rq.cqn);
  if (!slot) return;
  LayoutRef<Cqe> e(slot.mem);
  e.set<Cqe::RSS_HASH_RESULT>(hash).set<Cqe::RSS_HASH_TYPE>(hash_type);
  e.set<Cqe::CHECKSUM_INFO>(flags).set<Cqe::BYTE_CNT>(frame.size());
  e.set<Cqe::SOP_DROP_QPN>(rqn).set<Cqe::WQE_COUNTER>(c);
  post_cqe(slot, kCqeRespSend);
}

}  // namespace safenic::sim
