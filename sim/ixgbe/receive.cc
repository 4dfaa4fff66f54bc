// The 82599 model's receive side (§7.1): the MAC's size checks, the address,
// multicast and VLAN filters, RSS, descriptors and write-backs, and the
// receive statistics, from a frame arriving on the wire to its DD bit.

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/ixgbe/regs.h"
#include "sim/checksum.h"
#include "sim/ixgbe/model.h"
#include "sim/toeplitz.h"

namespace safenic::sim {

using namespace ::safenic::ixgbe;  // the shared register and descriptor layouts

namespace {

// §7.1.6.2: what the write-back says of a frame: its packet type (IPv4 or
// IPv6, with options or extension headers, and TCP, UDP or SCTP when the L4
// header is there: not in a fragment after the first), and for IPv4 the
// identification and the fragment checksum, the 16-bit one's complement sum
// of the IP payload (the L4 header and data).
struct Parsed {
  uint32_t packet_type = 0;
  uint16_t ip_id = 0, fragment_checksum = 0;
};
// With `checksum`, the fragment checksum too (RXCSUM.PCSD clear).
Parsed parse(absl::Span<const uint8_t> frame, bool checksum) {
  Parsed p;
  const uint8_t* const f = frame.data();  // every read below is inside frame.size()
  const uint8_t* const end_of_frame = f + frame.size();
  if (frame.size() < 14) return p;
  const uint8_t* l3 = f + 14;
  uint16_t type = uint16_t(f[12] << 8 | f[13]);
  if (type == 0x8100 && frame.size() >= 18) type = uint16_t(f[16] << 8 | f[17]), l3 = f + 18;
  const size_t l3_room = static_cast<size_t>(end_of_frame - l3);
  uint8_t proto = 0;
  const uint8_t* l4 = nullptr;
  const uint8_t* end = nullptr;
  if (type == 0x0800 && l3_room >= 20 && (l3[0] >> 4) == 4) {
    const size_t ihl = size_t{l3[0] & 0xFu} * 4;
    p.packet_type = ihl > 20 ? kPacketTypeIpv4Ext : kPacketTypeIpv4;
    p.ip_id = uint16_t(l3[4] << 8 | l3[5]);
    l4 = l3 + ihl;
    end = l3 + std::min(l3_room, size_t{uint16_t(l3[2] << 8 | l3[3])});
    // A fragment after the first has no L4 header.
    if ((uint16_t(l3[6] << 8 | l3[7]) & 0x1FFF) == 0) proto = l3[9];
  } else if (type == 0x86DD && l3_room >= 40) {
    proto = l3[6];
    const bool ext = proto == 0 || proto == 43 || proto == 44 || proto == 60;
    p.packet_type = ext ? kPacketTypeIpv6Ext : kPacketTypeIpv6;
    l4 = l3 + 40;
    if (ext) proto = 0;  // the L4 header is behind the extension headers: not followed here
  }
  if (proto == 6) p.packet_type |= kPacketTypeTcp;
  if (proto == 17) p.packet_type |= kPacketTypeUdp;
  if (proto == 132) p.packet_type |= kPacketTypeSctp;
  if (checksum && end > l4)
    p.fragment_checksum = ones_complement_sum(l4, static_cast<size_t>(end - l4));
  return p;
}

// §7.1.6.2: the checksum status and error bits of a frame's last write-back.
// An IPv4 UDP datagram without a checksum (field 0) is reported with L4E set:
// a known 82599 erratum ("UDP frames with a 0 checksum can be marked as
// checksum errors", which Linux's and DPDK's ixgbe drivers work around),
// modelled so that a driver which trusts L4E on such frames is caught.
uint32_t checksum_bits(absl::Span<const uint8_t> frame) {
  const ChecksumCheck c = check_checksums(frame);
  uint32_t bits = 0;
  if (c.ipv4) bits |= RxWriteBack::IPCS::kMask | (c.ipv4_ok ? 0 : RxWriteBack::IPE::kMask);
  if (c.l4) bits |= RxWriteBack::L4CS::kMask | (c.l4_ok ? 0 : RxWriteBack::L4E::kMask);
  if (c.udp_zero) bits |= RxWriteBack::L4CS::kMask | RxWriteBack::L4E::kMask;
  if ((c.l4 || c.udp_zero) && c.udp) bits |= RxWriteBack::UDPCS::kMask;
  return bits;
}

}  // namespace

// §7.1.2 filtering: broadcast needs BAM, multicast MPE or its bit in the
// multicast table (with MCSTCTRL.MFE), unicast a valid receive address or
// UPE; then, with VLNCTRL.VFE, a tagged frame needs its VLAN's bit in VFTA.
inline bool Ixgbe82599::accept(absl::Span<const uint8_t> frame) const {
  const RxSettings& s = rx_settings_;
  const uint8_t* const f = frame.data();
  if (s.vlan_filter && (uint16_t(f[12] << 8 | f[13]) == s.vlan_type)) {
    const uint32_t vid = (uint32_t{f[14]} << 8 | f[15]) & 0xFFF;
    if ((regs_.get<VFTA>(vid / 32).raw() >> (vid % 32) & 1) == 0) return false;
  }
  // The destination address in RAL/RAH's byte order (the first byte lowest).
  const uint32_t lo =
      uint32_t{f[0]} | uint32_t{f[1]} << 8 | uint32_t{f[2]} << 16 | uint32_t{f[3]} << 24;
  const uint32_t hi = uint32_t{f[4]} | uint32_t{f[5]} << 8;
  if (lo == 0xFFFFFFFF && hi == 0xFFFF) return s.broadcast;
  if (f[0] & 1) return s.multicast || (s.multicast_table && in_multicast_table(f));
  if (s.unicast) return true;
  const uint64_t address = uint64_t{hi} << 32 | lo;
  for (uint32_t i = 0; i < s.address_count; ++i) {
    if (s.addresses[i] == address) return true;
  }
  return false;
}

// The multicast table's index: 12 bits of the destination address's last
// two bytes, MCSTCTRL.MO choosing which (0: bits 47:36 of the address as the
// wire sends it, 1: 46:35, 2: 45:34, 3: 43:32).
bool Ixgbe82599::in_multicast_table(const uint8_t* destination) const {
  const uint32_t last_two = uint32_t{destination[4]} | uint32_t{destination[5]} << 8;
  static constexpr unsigned kShift[4] = {4, 3, 2, 0};
  const uint32_t index = (last_two >> kShift[rx_settings_.multicast_offset]) & 0xFFF;
  return (regs_.get<MTA>(index / 32).raw() >> (index % 32) & 1) != 0;
}

// §7.1.2.8 RSS: Toeplitz hash of the IPv4 addresses (and TCP/UDP ports when
// enabled), then the redirection table picks the queue.
uint32_t Ixgbe82599::select_queue(absl::Span<const uint8_t> f, uint32_t* hash, uint32_t* rss_type) {
  *hash = 0;
  *rss_type = kRssTypeNone;
  const RegisterValue<MRQC> mrqc = regs_.get<MRQC>();
  if (mrqc.get<MRQC::MRQE>() != MRQC::MRQE::kRss || f.size() < 34 || f[12] != 0x08 || f[13] != 0x00)
    return 0;
  const size_t ihl = (f[14] & 0xF) * 4;
  const uint8_t proto = f[23];
  uint8_t input[12];
  std::memcpy(input, &f[26], 8);  // source and destination address
  size_t n = 8;
  const bool ports = (proto == 6 && mrqc.is_set<MRQC::TCP_IPV4>()) ||
                     (proto == 17 && mrqc.is_set<MRQC::UDP_IPV4>());
  if (ports && f.size() >= 14 + ihl + 4) {
    std::memcpy(input + 8, &f[14 + ihl], 4);
    n = 12;
    *rss_type = proto == 6 ? kRssTypeTcpIpv4 : kRssTypeUdpIpv4;
  } else if (!mrqc.is_set<MRQC::IPV4>()) {
    return 0;
  } else {
    *rss_type = kRssTypeIpv4;
  }
  uint8_t key[RSSRK::kKeyBytes];
  for (uint32_t r = 0; r < RSSRK::kCount; ++r) {
    const RegisterValue<RSSRK> k = regs_.get<RSSRK>(r);
    for (uint32_t i = 0; i < RSSRK::K::kCount; ++i) {
      key[r * RSSRK::K::kCount + i] = static_cast<uint8_t>(k.get<RSSRK::K>(i));
    }
  }
  *hash = toeplitz_hash(key, {input, n});
  // The hash's low 7 bits pick one of the table's 128 entries.
  static_assert(RETA::kEntries == 128);
  const uint32_t entry = *hash % RETA::kEntries;
  return regs_.table_entry<RETA::ENTRY>(entry);
}

// §8.2.3.22 (HLREG0, MAXFRS) and §8.2.3.23 (RUC, ROC, RLEC): the MAC takes
// frames of 64 bytes up to 1518 (MAXFRS.MFS with HLREG0.JUMBOEN; 4 more with a
// VLAN tag), CRC included, and drops and counts the others. The wire carries
// frames without their CRC: 4 bytes are added here.
inline bool Ixgbe82599::size_ok(absl::Span<const uint8_t> frame) {
  const size_t with_crc = frame.size() + 4;
  const uint8_t* const f = frame.data();
  if (with_crc < kMinFrame) return ++regs_.raw<RUC>(), false;
  // frame.size() >= 60 from here: the type/length field is there.
  const size_t type = size_t{f[12]} << 8 | f[13];
  if (with_crc > rx_settings_.max_frame &&
      (type != 0x8100 || with_crc > rx_settings_.max_frame + 4)) {
    return ++regs_.raw<ROC>(), false;
  }
  // An 802.3 frame (type/length under 0x600) whose length field says more
  // than it carries, or (beyond the padding) less: counted, still received.
  const size_t payload = frame.size() - 14;
  if (type < 0x600 && rx_settings_.length_errors &&
      (type > payload || (payload > 46 && type != payload))) {
    ++regs_.raw<RLEC>();
  }
  return true;
}

void Ixgbe82599::receive(absl::Span<const uint8_t> frame) { receive_burst({&frame, 1}); }

// Frames that arrive back to back: each as receive_one() takes it, the
// statistics counters added once at the end (nothing reads them in between).
void Ixgbe82599::receive_burst(absl::Span<const absl::Span<const uint8_t>> frames) {
  IxgbeFaultPlan* const faults = faults_.get();  // null (the usual case): no fault injection
  RxTally tally;
  for (const absl::Span<const uint8_t> frame : frames) receive_one(frame, faults, tally);
  count_rx_queue(tally);
  regs_.raw<RXNFGPC>() += tally.unfiltered;
  add64(regs_.raw<RXNFGBCL>(), regs_.raw<RXNFGBCH>(), tally.unfiltered_bytes);
  regs_.raw<GPRC>() += tally.good;
  add64(regs_.raw<GORCL>(), regs_.raw<GORCH>(), tally.good_bytes);
}

// §7.1: a frame from the wire into the queue's next free descriptors, one
// buffer each; the write-back puts length and status, DD last.
inline void Ixgbe82599::receive_one(absl::Span<const uint8_t> frame, IxgbeFaultPlan* faults,
                                    RxTally& tally) {
  if (faults != nullptr && !removed_) {
    if (faults->fire(IxgbeFault::kSurpriseRemoval)) {
      removed_ = true;
    } else if (faults->fire(IxgbeFault::kLinkFlap)) {
      flap_link();
    }
  }
  if (removed_ || !link_up()) return void(++dropped_link_down_);
  if (!size_ok(frame)) return;
  const RxSettings& settings = rx_settings_;
  const uint64_t with_crc = frame.size() + 4;  // what the byte counters count
  if (!settings.enabled || !accept(frame)) {
    tally.unfiltered_frame(with_crc);
    return void(++dropped_filtered_);
  }
  // §8.2.3.5.1 / §8.2.3.7.1: a frame with a bad CRC is counted in CRCERRS and
  // discarded, unless FCTRL.SBP stores it (with RXE set in its write-back).
  bool crc_error = false;
  if (faults != nullptr && faults->fire(IxgbeFault::kRxCrcError)) {
    ++regs_.raw<CRCERRS>();
    if (!settings.store_bad) return;
    crc_error = true;
  } else {
    tally.unfiltered_frame(with_crc);
  }
  uint32_t hash = 0, rss_type = kRssTypeNone;
  const uint32_t q = settings.rss ? select_queue(frame, &hash, &rss_type) : 0;
  const bool pcsd = settings.hash_in_write_back;
  const Parsed parsed = parse(frame, /*checksum=*/!pcsd);
  // §7.1.6.2: the first two write-back dwords, whole (they overwrite the
  // buffer address). No header split (SRRCTL.DESCTYPE 1) and no RSC: HDR_LEN,
  // SPH and RSCCNT are 0.
  const uint32_t dword0 = RxWriteBack::RSS_TYPE::insert(
      RxWriteBack::PACKET_TYPE::insert(0, parsed.packet_type), rss_type);
  const uint32_t dword1 =
      pcsd ? hash
           : RxWriteBack::FRAGMENT_CHECKSUM::insert(RxWriteBack::IP_ID::insert(0, parsed.ip_id),
                                                    parsed.fragment_checksum);
  Ring& r = rx_[q];
  const RegisterValue<SRRCTL> srrctl = regs_.get<SRRCTL>(q);
  const size_t buf_size = size_t{srrctl.get<SRRCTL::BSIZEPACKET>()} * 1024;
  const uint32_t checksums = checksum_bits(frame);
  const size_t needed = frame.size() <= buf_size ? 1
                        : buf_size == 0          ? 0
                                                 : (frame.size() + buf_size - 1) / buf_size;
  const uint32_t size = r.size(), tail = *r.tail;
  uint32_t head = *r.head;
  const uint32_t free_desc = size == 0 ? 0 : tail >= head ? tail - head : tail + size - head;
  if (!(*r.ctl & RXDCTL::ENABLE::kMask) || needed == 0 || free_desc < needed) {
    ++regs_.raw<MPC>(0);  // §8.2.3.23: missed, no descriptor free
    if (srrctl.is_set<SRRCTL::DROP_EN>()) ++regs_.raw<QPRDC>(regs_.table_entry<RQSMR::Q_MAP>(q));
    return;
  }
  if (srrctl.get<SRRCTL::DESCTYPE>() != SRRCTL::DESCTYPE::kAdvancedOneBuffer) {
    ctx_.log->report(
        absl::StrFormat("82599: RX queue %d receives with SRRCTL.DESCTYPE %d; "
                        "this model implements advanced one-buffer (1)",
                        q, srrctl.get<SRRCTL::DESCTYPE>()));
  }
  const uint64_t base = r.base();
  for (size_t done = 0; done < frame.size();) {
    const size_t chunk = std::min(buf_size, frame.size() - done);
    // A DMA the IOMMU rejects is reported there and writes nothing: the frame is lost.
    uint8_t* const desc = rx_ring_window_.get(
        *ctx_.iommu, dma_address(faults, base + uint64_t{head} * kDescriptorSize), kDescriptorSize,
        "82599 RX descriptor read");
    if (desc == nullptr) return void(++rx_dma_faults_);
    LayoutRef<RxWriteBack> wb(desc);
    const uint64_t addr = LayoutRef<RxRead>(desc).get<RxRead::PKT_ADDR>();
    uint8_t* const buf = rx_buffer_window_.get(*ctx_.iommu, dma_address(faults, addr), chunk,
                                               "82599 RX packet write");
    if (buf == nullptr) return void(++rx_dma_faults_);
    std::memcpy(buf, frame.data() + done, chunk);
    done += chunk;
    wb.set<RxWriteBack::DWORD0>(dword0).set<RxWriteBack::RSS_HASH>(dword1);
    wb.set<RxWriteBack::LENGTH>(chunk).set<RxWriteBack::VLAN>(0);
    dma_write_barrier();  // the status word, with DD, goes last
    const bool eop = done == frame.size();
    wb.set<RxWriteBack::STATUS_ERROR>(RxWriteBack::DD::kMask |
                                      (eop ? RxWriteBack::EOP::kMask | checksums : 0) |
                                      (eop && crc_error ? RxWriteBack::RXE::kMask : 0));
    head = head + 1 >= size ? 0 : head + 1;
    *r.head = head;
  }
  if (crc_error) return;
  tally.good_frame(with_crc);
  if (q != tally.queue) {
    count_rx_queue(tally);
    tally.queue = q;
  }
  ++tally.queue_frames;
  tally.queue_bytes += frame.size();  // QBRC: as written, no FCS
}

// The per-queue receive statistics of the frames a burst put in one queue,
// in the statistics RQSMR maps the queue to.
void Ixgbe82599::count_rx_queue(RxTally& tally) {
  if (tally.queue_frames == 0) return;
  const uint32_t stat = regs_.table_entry<RQSMR::Q_MAP>(tally.queue);
  regs_.raw<QPRC>(stat) += tally.queue_frames;
  add64(regs_.raw<QBRC_L>(stat), regs_.raw<QBRC_H>(stat), tally.queue_bytes);
  tally.queue_frames = 0;
  tally.queue_bytes = 0;
}

}  // namespace safenic::sim
