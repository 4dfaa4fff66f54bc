// ixgbe: the Intel 82599 driver's data path, after ixy's: one doorbell per
// batch, RS on every TX descriptor, TX buffers cleaned 32 at a time; with the
// checksum offloads (docs/offloads.md). Bring-up is in device.cc.
#include <algorithm>
#include <optional>

#include "nic/checksum.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/ixgbe/device.h"
#include "nic/ixgbe/regs.h"

namespace safenic::ixgbe::detail {
namespace {

// A frame of one buffer is sent only if sendable() (nic/device.h): the
// MTU's longest frame is far below the data descriptor's DTALEN limit
// (§7.2.3.2.4).
static_assert(max_frame_length(kJumboMtu) <= TxRead::DTALEN::kMax);

// §7.2.3.2.4: one data descriptor holding a whole frame of `len` bytes at
// `iova`, FCS inserted, DD written back; `olinfo` its OLINFO_STATUS word.
inline void write_data_descriptor(uint8_t* d, uint64_t iova, uint32_t len, uint32_t olinfo) {
  LayoutRef<TxRead>(d)
      .set<TxRead::BUFFER_ADDR>(iova)
      .set<TxRead::CMD_TYPE_LEN>(len | TxRead::DTYP::insert(0, TxRead::DTYP::kData) |
                                 TxRead::EOP::kMask | TxRead::IFCS::kMask | TxRead::RS::kMask |
                                 TxRead::DEXT::kMask)
      .set<TxRead::OLINFO_STATUS>(olinfo);
}

// What a context descriptor for request `r` holds (§7.2.3.2.3), as one
// number to compare with the queue's loaded one; never 0.
uint32_t context_key(const ChecksumRequest& r) {
  return uint32_t{r.l2} | uint32_t{r.l3} << 8 | uint32_t{r.ipv4} << 24 |
         uint32_t{r.l4_proto == 6} << 25 | 1u << 31;
}

// A known 82599 erratum: L4E on a UDP datagram may mean it has no checksum
// (field 0, which IPv4 allows: RFC 768) rather than a wrong one. Only then is
// the frame read, to tell which.
bool udp_without_checksum(const Packet& p) {
  const absl::Span<const uint8_t> f = p.bytes();
  auto be16 = [&](size_t at) { return static_cast<uint16_t>(f[at] << 8 | f[at + 1]); };
  if (f.size() < 14) return false;
  size_t l3 = 14;
  uint16_t type = be16(12);
  if (type == 0x8100 && f.size() >= 18) type = be16(16), l3 = 18;
  if (type != 0x0800 || f.size() < l3 + 20) return false;
  const size_t l4 = l3 + size_t{f[l3] & 0xFu} * 4;
  return f.size() >= l4 + 8 && be16(l4 + 6) == 0;
}

// §7.1.6.2: a write-back's checksum bits as RxFlags. The error bits count only
// with their "computed" bits; a UDP L4E, only when the datagram has a checksum.
uint8_t checksum_flags(uint32_t status, const Packet& p) {
  uint8_t flags = 0;
  if (status & RxWriteBack::IPCS::kMask) {
    flags |= (status & RxWriteBack::IPE::kMask) ? kRxIpChecksumBad : kRxIpChecksumGood;
  }
  if (status & RxWriteBack::L4CS::kMask) {
    if (!(status & RxWriteBack::L4E::kMask)) {
      flags |= kRxL4ChecksumGood;
    } else if (!(status & RxWriteBack::UDPCS::kMask) || !udp_without_checksum(p)) {
      flags |= kRxL4ChecksumBad;
    }
  }
  return flags;
}
}  // namespace

size_t IxgbeDevice::receive(uint16_t queue, PacketBatch& batch) {
  if (ABSL_PREDICT_TRUE(!rx_offloads_)) return receive_in<false, false>(queue, batch);
  const bool checksums = config_.offloads.has(Offload::kRxChecksum);
  if (config_.offloads.has(Offload::kRxRssHash)) {
    return checksums ? receive_out_of_line<true, true>(queue, batch)
                     : receive_out_of_line<false, true>(queue, batch);
  }
  return receive_out_of_line<true, false>(queue, batch);
}

template <bool kChecksums, bool kHash>
size_t IxgbeDevice::receive_out_of_line(uint16_t queue, PacketBatch& batch) {
  return receive_in<kChecksums, kHash>(queue, batch);
}

size_t IxgbeDevice::transmit(uint16_t queue, PacketBatch& batch) {
  return tx_checksums_ != 0 ? transmit_checksums(queue, batch) : transmit_plain(queue, batch);
}

size_t IxgbeDevice::reclaim(uint16_t queue) {
  TxQueue& tq = tx_[queue];
  const uint32_t before = tq.clean;
  clean_tx(tq, tq.ring.size());  // as if the whole ring were wanted: every done descriptor
  return tq.ring.distance(before, tq.clean);
}

// The RX fast path: no MMIO but the one RDT write per batch. It counts the
// frames the device has written back, takes that many fresh buffers from the
// pool at once (into the batch), and swaps each with its descriptor's frame.
template <bool kChecksums, bool kHash>
size_t IxgbeDevice::receive_in(uint16_t q, PacketBatch& batch) {
  RxQueue& rq = rx_[q];
  uint8_t* const descriptors = rq.ring.descriptors();
  Packet* const slots = rq.ring.slots();
  const uint32_t mask = rq.ring.mask();
  uint8_t* const ring_end = descriptors + (size_t{mask} + 1) * kDescriptorSize;
  auto next = [&](uint8_t* d) {
    d += kDescriptorSize;
    return ABSL_PREDICT_FALSE(d == ring_end) ? descriptors : d;
  };
  // Counts the write-backs with DD set (a pointer walk: this is per packet).
  const size_t room = std::min<size_t>(batch.room(), mask);
  uint8_t* const first = descriptors + size_t{rq.next} * kDescriptorSize;
  size_t ready = 0;
  for (uint8_t* d = first; ready < room && LayoutRef<RxWriteBack>(d).is_set<RxWriteBack::DD>();
       d = next(d)) {
    ++ready;
  }
  if (ready == 0) return 0;
  dma_read_barrier();                                  // the rest of each write-back after its DD
  const size_t n = rq.pool->alloc_bulk(batch, ready);  // frames beyond n wait for buffers
  Packet* const out = batch.end() - n;
  uint32_t i = rq.next;
  uint8_t* d = first;
  uint64_t bytes = 0;
  size_t dropped = 0;
  bool discarding = rq.discarding;
  for (size_t k = 0; k < n; ++k, i = (i + 1) & mask, d = next(d)) {
    LayoutRef<RxWriteBack> wb(d);
    const uint32_t status = wb.get<RxWriteBack::STATUS_ERROR>();
    constexpr uint32_t kCheck = RxWriteBack::EOP::kMask | RxWriteBack::RXE::kMask;
    slots[i].swap(out[k]);  // the fresh buffer takes the descriptor, the frame goes up
    if (ABSL_PREDICT_TRUE((status & kCheck) == RxWriteBack::EOP::kMask && !discarding &&
                          out[k].try_resize(wb.get<RxWriteBack::LENGTH>()))) {
      bytes += out[k].size();
      if constexpr (kChecksums || kHash) {
        uint8_t rx = 0;
        if constexpr (kChecksums) rx = checksum_flags(status, out[k]);
        // §7.1.6.2: with RXCSUM.PCSD the second dword is the hash, valid
        // when RSS_TYPE says which fields the device hashed (0: none).
        if (kHash && wb.get<RxWriteBack::RSS_TYPE>() != 0) {
          out[k].offloads().rss_hash = wb.get<RxWriteBack::RSS_HASH>();
          rx |= kRxRssHash;
        }
        out[k].offloads().rx = rx;
      }
    } else {
      // A frame in error, longer than one buffer, or with an impossible
      // length: drop all of it and count it once.
      discarding = !(status & RxWriteBack::EOP::kMask);
      rq.stats.errors += !discarding;
      out[k].reset();
      ++dropped;
    }
    LayoutRef<RxRead>(d)
        .set<RxRead::PKT_ADDR>(slots[i].iova())
        .set<RxRead::HDR_ADDR>(0);  // also clears DD
  }
  if (n == 0) return 0;
  rq.discarding = discarding;
  rq.next = i;
  bar_.write(RegisterValue<RDT>((i - 1) & mask), q);  // trails the last one processed
  if (ABSL_PREDICT_FALSE(dropped != 0)) batch.compact();
  rq.stats.packets += n - dropped;
  rq.stats.bytes += bytes;
  return n - dropped;
}

// Frees the buffers of sent packets, 32 descriptors at a time, checking DD of
// each group's last descriptor only; when that leaves less room than `wanted`,
// it also frees a trailing partial group one descriptor at a time.
void IxgbeDevice::clean_tx(TxQueue& tq, size_t wanted) {
  DescriptorRing& ring = tq.ring;
  auto done = [&](uint32_t i) {
    // A context descriptor's slot holds no packet and gets no write-back;
    // the data descriptor right after it (posted with it) does.
    if (ABSL_PREDICT_FALSE(ring.slot(i).empty())) i = ring.next(i);
    return LayoutRef<TxWriteBack>(ring.descriptor(i)).is_set<TxWriteBack::DD>();
  };
  while (ring.distance(tq.clean, tq.tail) >= kTxCleanBatch) {
    const uint32_t last = ring.advance(tq.clean, kTxCleanBatch - 1);
    if (!done(last)) break;
    if (last > tq.clean) {
      Packet::reset_all({&ring.slot(tq.clean), kTxCleanBatch});
    } else {  // the group wraps around the end of the ring
      Packet::reset_all({&ring.slot(tq.clean), ring.size() - tq.clean});
      Packet::reset_all({&ring.slot(0), last + 1});
    }
    tq.clean = ring.next(last);
  }
  while (ring.size() - 1 - ring.distance(tq.clean, tq.tail) < wanted && tq.clean != tq.tail &&
         done(tq.clean)) {
    ring.slot(tq.clean).reset();
    tq.clean = ring.next(tq.clean);
  }
}

// The TX fast path: descriptors for as many packets as fit, one TDT write.
size_t IxgbeDevice::transmit_plain(uint16_t q, PacketBatch& batch) {
  TxQueue& tq = tx_[q];
  clean_tx(tq, batch.size());
  uint8_t* const descriptors = tq.ring.descriptors();
  Packet* const slots = tq.ring.slots();
  const uint32_t mask = tq.ring.mask();
  const uint32_t free_slots = mask - tq.ring.distance(tq.clean, tq.tail);
  const size_t n = std::min<size_t>(batch.size(), free_slots);
  Packet* const packets = batch.begin();
  const uint32_t max_frame = max_frame_;
  uint32_t tail = tq.tail;
  uint64_t bytes = 0;
  for (size_t k = 0; k < n; ++k) {
    Packet& p = packets[k];
    const uint32_t len = static_cast<uint32_t>(p.size());
    if (ABSL_PREDICT_FALSE(!sendable(len, max_frame))) {  // 0 or longer than the MTU allows
      ++tq.stats.errors;                                  // nothing to send: dropped and counted
      p.reset();
      continue;
    }
    write_data_descriptor(descriptors + size_t{tail} * kDescriptorSize, p.iova(), len,
                          TxRead::PAYLEN::insert(0, len));
    slots[tail].swap(p);  // the slot was cleaned: p is left empty
    tail = (tail + 1) & mask;
    bytes += len;
  }
  batch.erase_front_emptied(n);  // each was moved into a slot or dropped
  const uint32_t posted = tq.ring.distance(tq.tail, tail);
  if (posted != 0) {
    tq.tail = tail;
    bar_.write(RegisterValue<TDT>(tail), q);
  }
  tq.stats.packets += posted;
  tq.stats.bytes += bytes;
  return n;
}

// transmit() with a checksum offload (Offload::kTxL4Checksum, kTxIpv4Checksum): a packet asking for
// checksums goes with a context descriptor in front (§7.2.3.2.3) when its header layout is not the
// one context 0 holds, so it may take two slots; the context's slot holds no packet. The frame is
// prepared as the device expects it (prepare_checksum_fields(); docs/offloads.md), and a request
// that the frame or the context cannot carry, or that asks for a checksum whose offload is not
// enabled, drops the packet, counted in errors.
size_t IxgbeDevice::transmit_checksums(uint16_t q, PacketBatch& batch) {
  TxQueue& tq = tx_[q];
  clean_tx(tq, 2 * batch.size());
  DescriptorRing& ring = tq.ring;
  uint8_t* const descriptors = ring.descriptors();
  uint32_t free_slots = ring.mask() - ring.distance(tq.clean, tq.tail);
  uint32_t tail = tq.tail;
  uint64_t bytes = 0;
  uint32_t packets = 0;
  size_t k = 0;
  for (; k < batch.size(); ++k) {
    Packet& p = batch[k];
    const uint32_t len = static_cast<uint32_t>(p.size());
    const std::optional<ChecksumRequest> r = checksum_request(p, tx_checksums_);
    // MACLEN is 7 bits (§7.2.3.2.3).
    if (!sendable(len, max_frame_) || !r || r->l2 > TxContext::MACLEN::kMax) {
      ++tq.stats.errors;
      p.reset();
      continue;
    }
    const bool offload = r->ip_checksum || r->l4_proto != 0;
    const uint32_t key = offload ? context_key(*r) : 0;
    const bool new_context = offload && key != tq.context;
    if (free_slots < 1u + new_context) break;
    if (new_context) {
      LayoutRef<TxContext>(descriptors + size_t{tail} * kDescriptorSize)
          .set<TxContext::VLAN_MACIP_LENS>(TxContext::IPLEN::insert(0, r->l3) |
                                           TxContext::MACLEN::insert(0, r->l2))
          .set<TxContext::SEQNUM_SEED>(0)
          .set<TxContext::TYPE_TUCMD_MLHL>(
              (r->ipv4 ? TxContext::TUCMD_IPV4::kMask : 0) |
              TxContext::L4T::insert(
                  0, r->l4_proto == 6 ? TxContext::L4T::kTcp : TxContext::L4T::kUdp) |
              TxContext::DTYP::insert(0, TxRead::DTYP::kContext) | TxContext::DEXT::kMask)
          .set<TxContext::MSS_L4LEN_IDX>(TxContext::IDX::insert(0, 0));
      tq.context = key;
      tail = ring.next(tail);
      --free_slots;
    }
    uint32_t olinfo = TxRead::PAYLEN::insert(0, len);
    if (offload) {
      prepare_checksum_fields(p, *r);
      olinfo |= TxRead::CC::kMask | TxRead::IDX::insert(0, 0) |
                (r->ip_checksum ? TxRead::IXSM::kMask : 0) |
                (r->l4_proto != 0 ? TxRead::TXSM::kMask : 0);
    }
    write_data_descriptor(descriptors + size_t{tail} * kDescriptorSize, p.iova(), len, olinfo);
    ring.slot(tail).swap(p);
    tail = ring.next(tail);
    --free_slots;
    ++packets;
    bytes += len;
  }
  batch.erase_front_emptied(k);
  if (tail != tq.tail) {
    tq.tail = tail;
    bar_.write(RegisterValue<TDT>(tail), q);
  }
  tq.stats.packets += packets;
  tq.stats.bytes += bytes;
  return k;
}

}  // namespace safenic::ixgbe::detail
