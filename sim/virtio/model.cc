#include "sim/virtio/model.h"

#include <bit>

#include <cstring>

#include "absl/strings/str_format.h"
#include "nic/device.h"
#include "nic/rss.h"
#include "sim/checksum.h"
#include "sim/toeplitz.h"

namespace safenic::sim {

using namespace ::safenic::virtio;  // the shared interface definition
using feature::bit;

uint64_t default_virtio_features(bool legacy) {
  uint64_t f = bit(feature::kMac) | bit(feature::kStatus) | bit(feature::kCtrlVq) |
               bit(feature::kCtrlRx) | bit(feature::kMq) | bit(feature::kMrgRxbuf) |
               bit(feature::kEventIdx) | bit(feature::kMtu) | bit(feature::kCsum) |
               bit(feature::kGuestCsum);
  // ACCESS_PLATFORM: the device reaches memory through an IOMMU (sim::Iommu),
  // as QEMU's does with iommu_platform=on (virtio 1.2 §6.2, device requirements of the reserved
  // feature bits).
  return legacy ? f | bit(feature::kAnyLayout)
                : f | bit(feature::kVersion1) | bit(feature::kRingPacked) | bit(feature::kInOrder) |
                      bit(feature::kAccessPlatform);
}

uint64_t split_ring_virtio_features() {
  return default_virtio_features(false) & ~bit(feature::kRingPacked);
}

VirtioNetModel::VirtioNetModel(SimContext ctx, VirtioNetConfig config)
    : ctx_(std::move(ctx)), config_(config), port_(*this) {
  if (config_.features == 0) config_.features = default_virtio_features(config_.legacy);
  if (!(config_.features & bit(feature::kMq))) config_.max_queue_pairs = 1;
  buffer_.reserve(16 * 1024);
  reset();
}

void VirtioNetModel::suppress_notifications(Vq& vq, bool wanted) {
  const bool event_idx = driver_features_ & bit(feature::kEventIdx);
  if (packed()) {
    auto ev = ctx_.iommu->translate(vq.device, 4, "virtio device event suppression write");
    if (!ev.ok()) return;
    LayoutRef<PackedEvent> e(ev->data());
    if (!wanted) {
      e.set<PackedEvent::FLAGS>(kEventDisable);
    } else if (event_idx) {
      e.set<PackedEvent::DESC>(vq.next | (vq.wrap ? 0x8000 : 0))
          .set<PackedEvent::FLAGS>(kEventDesc);
    } else {
      e.set<PackedEvent::FLAGS>(kEventEnable);
    }
    return;
  }
  auto used = ctx_.iommu->translate(vq.device, split_used_bytes(vq.size), "virtio used ring write");
  if (!used.ok()) return;
  const RingRef<UsedRing> u(used->data(), vq.size);
  if (event_idx) {
    // avail_event: notify me when you make entry `last_avail` available (or, for RX, never soon).
    const uint16_t event = wanted ? vq.last_avail : static_cast<uint16_t>(vq.last_avail + 0x8000);
    u.trailer().set<UsedTrailer::AVAIL_EVENT>(event);
  } else {
    u.header().set<UsedHeader::FLAGS>(wanted ? 0 : kUsedNoNotify);
  }
}

// The next available buffer's descriptor chain (§2.7.5 / §2.8.6).
bool VirtioNetModel::pop(Vq& vq, Chain* chain) {
  chain->count = 0;
  if (!packed()) {
    auto avail =
        ctx_.iommu->translate(vq.driver, split_avail_bytes(vq.size), "virtio avail ring read");
    if (!avail.ok()) return false;
    const RingRef<AvailRing> ring(avail->data(), vq.size);
    const uint16_t idx = ring.header().get<AvailHeader::IDX>();
    if (idx == vq.last_avail) return false;
    if (static_cast<uint16_t>(idx - vq.last_avail) > vq.size) {
      fail(
          absl::StrFormat("avail idx %d is more than %d ahead of %d", idx, vq.size, vq.last_avail));
      return false;
    }
    dma_read_barrier();
    const uint16_t head = ring.entry(vq.last_avail % vq.size).get<AvailEntry::ID>();
    ++vq.last_avail;
    chain->id = head;
    uint16_t id = head;
    // §2.7.5: with IN_ORDER the driver uses descriptors in ring order, each
    // chain's NEXT x + 1 (0 after the table's last). A buffer out of that
    // order is reported; then the device takes the head the available ring
    // names, as devices that read the available ring do (QEMU's among them):
    // DPDK's control queue starts every command at descriptor 0 (docs/fidelity.md).
    if (in_order() && head != vq.next_desc) {
      ctx_.log->report(
          absl::StrFormat("virtio-net: IN_ORDER: queue %d's buffer made available at descriptor "
                          "%d; ring order says %d",
                          &vq - vqs_.data(), head, vq.next_desc));
    }
    for (;;) {
      if (id >= vq.size || chain->count == chain->segs.size()) {
        fail(absl::StrFormat("descriptor chain from %d: index %d out of range or too long", head,
                             id));
        return false;
      }
      auto d = ctx_.iommu->translate(vq.desc + SplitDesc::kSize * id, SplitDesc::kSize,
                                     "virtio descriptor read");
      if (!d.ok()) return false;
      LayoutRef<SplitDesc> desc(d->data());
      const uint16_t flags = desc.get<SplitDesc::FLAGS>();
      if (flags & kDescIndirect) {
        fail("indirect descriptor without VIRTIO_F_INDIRECT_DESC");
        return false;
      }
      chain->segs[chain->count++] = {desc.get<SplitDesc::ADDR>(), desc.get<SplitDesc::LEN>(),
                                     static_cast<bool>(flags & kDescWrite)};
      if (!(flags & kDescNext)) break;
      const uint16_t next = desc.get<SplitDesc::NEXT>();
      if (in_order() && next != (id + 1) % vq.size) {
        fail(absl::StrFormat("IN_ORDER: descriptor %d chains to %d, not %d", id, next,
                             (id + 1) % vq.size));
        return false;
      }
      id = next;
    }
    vq.next_desc = static_cast<uint16_t>((id + 1) % vq.size);
    chain->descriptors = static_cast<uint16_t>(chain->count);
    return true;
  }
  for (uint16_t pos = vq.next;;) {
    auto d = ctx_.iommu->translate(vq.desc + PackedDesc::kSize * pos, PackedDesc::kSize,
                                   "virtio packed descriptor read");
    if (!d.ok()) return false;
    LayoutRef<PackedDesc> desc(d->data());
    const uint16_t flags = desc.get<PackedDesc::FLAGS>();
    const bool wrap = vq.wrap ^ (pos < vq.next);  // past the ring's end the counter flipped
    if (static_cast<bool>(flags & kPackedAvail) != wrap ||
        static_cast<bool>(flags & kPackedUsed) == wrap) {
      if (chain->count != 0)
        fail("packed descriptor chain ends in a descriptor that is not available");
      return false;
    }
    dma_read_barrier();
    if (chain->count == chain->segs.size()) {
      fail("packed descriptor chain too long");
      return false;
    }
    chain->segs[chain->count++] = {desc.get<PackedDesc::ADDR>(), desc.get<PackedDesc::LEN>(),
                                   static_cast<bool>(flags & kDescWrite)};
    chain->id = desc.get<PackedDesc::ID>();
    pos = static_cast<uint16_t>((pos + 1) % vq.size);
    if (!(flags & kDescNext)) break;
  }
  if (chain->id >= vq.size) {
    fail(absl::StrFormat("packed buffer id %d out of range", chain->id));
    return false;
  }
  chain->descriptors = static_cast<uint16_t>(chain->count);
  vq.next += chain->descriptors;
  if (vq.next >= vq.size) vq.next -= vq.size, vq.wrap = !vq.wrap;
  return true;
}

// Returns a buffer with `written` bytes written (§2.7.8 / §2.8.9); with
// IN_ORDER, a batch of buffers under one element naming its last (§2.7.9:
// the element at the batch's last slot, used idx forward by the batch;
// §2.8.8: the descriptor at the batch's first slot, skipping the rest).
void VirtioNetModel::push(Vq& vq, const Chain& chain, uint32_t written, uint16_t buffers,
                          uint16_t descriptors) {
  if (descriptors == 0) descriptors = chain.descriptors;
  // Injected faults: an id that was never made available (out of range), a
  // length this buffer cannot hold (one byte more than its device-writable
  // bytes, or beyond any buffer), or none at all.
  uint32_t id = chain.id;
  if (fault(VirtioFault::kBadUsedId)) id = vq.size + faults_->next() % 1024;
  if (fault(VirtioFault::kBadUsedLen)) {
    uint32_t writable = 0;
    for (size_t i = 0; i < chain.count; ++i)
      writable += chain.segs[i].write ? chain.segs[i].len : 0;
    switch (faults_->fired(VirtioFault::kBadUsedLen) % 3) {  // each in turn, this one first
      case 0: written = 0; break;
      case 1: written = writable + 1; break;
      default: written = 64 * 1024 + static_cast<uint32_t>(faults_->next() % 4096);
    }
  }
  if (!packed()) {
    auto used =
        ctx_.iommu->translate(vq.device, split_used_bytes(vq.size), "virtio used ring write");
    if (!used.ok()) return;
    const RingRef<UsedRing> ring(used->data(), vq.size);
    vq.used_idx = static_cast<uint16_t>(vq.used_idx + buffers);
    ring.entry(static_cast<uint16_t>(vq.used_idx - 1) % vq.size)
        .set<UsedElem::ID>(id)
        .set<UsedElem::LEN>(written);
    dma_write_barrier();
    ring.header().set<UsedHeader::IDX>(vq.used_idx);
    return;
  }
  auto d = ctx_.iommu->translate(vq.desc + PackedDesc::kSize * vq.used_next, PackedDesc::kSize,
                                 "virtio packed used write");
  if (!d.ok()) return;
  LayoutRef<PackedDesc> desc(d->data());
  desc.set<PackedDesc::ID>(static_cast<uint16_t>(id)).set<PackedDesc::LEN>(written);
  dma_write_barrier();
  desc.set<PackedDesc::FLAGS>(vq.used_wrap ? kPackedAvail | kPackedUsed : 0);
  vq.used_next += descriptors;
  if (vq.used_next >= vq.size) vq.used_next -= vq.size, vq.used_wrap = !vq.used_wrap;
}

void VirtioNetModel::notify(uint16_t q) {
  if (q >= vqs_.size() || !vqs_[q].enabled) {
    return fail(absl::StrFormat("notification for queue %d, which is not enabled", q));
  }
  // §4.1.5.1.3 (legacy interface): a transitional device lets a legacy
  // driver use its queues before DRIVER_OK; a modern driver may not (§3.1.1).
  if (!usable()) return fail(absl::StrFormat("queue %d notified before DRIVER_OK", q));
  if (fault(VirtioFault::kNeedsReset)) status_ |= status::kDeviceNeedsReset;  // an internal error
  ++vqs_[q].kicks;
  if (is_control(q)) return control();
  if (q % 2 == 1) transmit(q);
}

// §5.1.6.2: each TX buffer is a net header and a frame, all device-readable.
void VirtioNetModel::transmit(uint16_t q) {
  Vq& vq = vqs_[q];
  const size_t hs = hdr_size();
  const bool mtu_negotiated = driver_features_ & bit(feature::kMtu);
  Chain chain, last;
  uint16_t batch = 0, batch_descriptors = 0;  // IN_ORDER: used, not yet returned
  while (!(status_ & status::kDeviceNeedsReset) && pop(vq, &chain)) {
    buffer_.clear();
    bool ok = true;
    for (size_t i = 0; i < chain.count && ok; ++i) {
      const Seg& s = chain.segs[i];
      if (s.write) {
        fail(
            absl::StrFormat("TX queue %d buffer %d has a device-writable descriptor", q, chain.id));
        return;
      }
      if (buffer_.size() + s.len > 16 * 1024) ok = false;
      auto mem = ok ? ctx_.iommu->translate(s.addr, s.len, "virtio TX packet read")
                    : absl::StatusOr<absl::Span<uint8_t>>(absl::OutOfRangeError("too long"));
      if (!mem.ok())
        ok = false;
      else
        buffer_.insert(buffer_.end(), mem->begin(), mem->end());
    }
    const auto frame = absl::MakeSpan(buffer_).subspan(std::min(buffer_.size(), hs));
    if (ok && buffer_.size() > hs && (mtu_negotiated ? !oversize(frame) : true)) {
      if (complete_tx_checksum(q, chain.id, frame)) port_.transmit(frame);
    } else if (ok && buffer_.size() > hs) {
      // §5.1.4.2: the driver MUST NOT send more than mtu and the header.
      ctx_.log->report(absl::StrFormat(
          "virtio-net: TX queue %d buffer %d: a %d-byte frame, longer than the negotiated mtu %d "
          "allows; not sent",
          q, chain.id, frame.size(), config_.mtu));
      ++tx_oversize_;
    } else if (ok) {
      fail(absl::StrFormat("TX buffer %d of %d bytes is shorter than the %d-byte header", chain.id,
                           buffer_.size(), hs));
    }
    if (!in_order()) {
      push(vq, chain, 0);
      continue;
    }
    ++batch, batch_descriptors = static_cast<uint16_t>(batch_descriptors + chain.descriptors);
    last.id = chain.id;
  }
  if (batch != 0) push(vq, last, 0, batch, batch_descriptors);
  suppress_notifications(vq, true);  // EVENT_IDX: the next kick after what we consumed
}

bool VirtioNetModel::complete_tx_checksum(uint16_t q, uint16_t id, absl::Span<uint8_t> frame) {
  const LayoutRef<NetHdr> h(buffer_.data());
  const uint8_t flags = h.get<NetHdr::FLAGS>();
  // §5.1.6.2.1: a driver MUST NOT set DATA_VALID; the device ignores it.
  if (flags & NetHdr::DATA_VALID::kMask) {
    ctx_.log->report(absl::StrFormat(
        "virtio-net: TX queue %d buffer %d: DATA_VALID set in a transmit header (§5.1.6.2.1: "
        "the driver MUST NOT)",
        q, id));
  }
  if (!(flags & NetHdr::NEEDS_CSUM::kMask)) return true;
  // The driver MAY set NEEDS_CSUM only with VIRTIO_NET_F_CSUM negotiated.
  if (!(driver_features_ & bit(feature::kCsum))) {
    ctx_.log->report(absl::StrFormat(
        "virtio-net: TX queue %d buffer %d: NEEDS_CSUM without VIRTIO_NET_F_CSUM negotiated "
        "(§5.1.6.2.1); not sent",
        q, id));
    return void(++tx_bad_checksum_), false;
  }
  const size_t start = h.get<NetHdr::CSUM_START>(), offset = h.get<NetHdr::CSUM_OFFSET>();
  if (start + offset + 2 > frame.size()) {
    ctx_.log->report(absl::StrFormat(
        "virtio-net: TX queue %d buffer %d: csum_start %d and csum_offset %d point past the "
        "%d-byte frame; not sent",
        q, id, start, offset, frame.size()));
    return void(++tx_bad_checksum_), false;
  }
  uint8_t* const field = frame.data() + start + offset;
  // Strict: where the frame is TCP or UDP over IP with the request at its
  // checksum, the field must hold the pseudo-header's sum (§5.1.6.2.1), or
  // the checksum the device completes is wrong. Sent as asked all the same.
  const ChecksumCheck c = check_checksums(frame);
  if (c.l4_at != 0 && c.l4_at == start && c.l4_checksum_at() == start + offset) {
    const uint16_t held = static_cast<uint16_t>(field[0] << 8 | field[1]);
    if (held != c.pseudo) {
      ctx_.log->report(absl::StrFormat(
          "virtio-net: TX queue %d buffer %d: the checksum field holds 0x%04x, not the "
          "pseudo-header's sum 0x%04x (§5.1.6.2.1: the driver MUST set it); the checksum sent is "
          "wrong",
          q, id, held, c.pseudo));
    }
  }
  complete_checksum(frame.data(), frame.size(), start, start + offset);
  return true;
}

// §5.1.6.5: class, command and data (readable), then the ack byte (writable).
void VirtioNetModel::control() {
  Vq& vq = vqs_[control_index()];
  Chain chain;
  while (pop(vq, &chain)) {
    buffer_.clear();
    const Seg* ack = nullptr;
    for (size_t i = 0; i < chain.count; ++i) {
      const Seg& s = chain.segs[i];
      if (s.write) {
        ack = &s;
        continue;
      }
      auto mem = ctx_.iommu->translate(s.addr, s.len, "virtio control read");
      if (mem.ok()) buffer_.insert(buffer_.end(), mem->begin(), mem->end());
    }
    if (ack == nullptr || ack->len < 1 || buffer_.size() < 2) {
      fail("control command without class, command and an ack byte");
      push(vq, chain, 0);
      continue;
    }
    uint8_t result = kCtrlErr;
    const uint8_t cls = buffer_[0], cmd = buffer_[1];
    if (cls == kCtrlRx && (cmd == kCtrlRxPromisc || cmd == kCtrlRxAllmulti) &&
        buffer_.size() == 3 && (config_.features & bit(feature::kCtrlRx))) {
      if (cmd == kCtrlRxPromisc) promiscuous_ = buffer_[2] != 0;
      result = kCtrlOk;
    } else if (cls == kCtrlMq && cmd == kCtrlMqVqPairsSet && buffer_.size() == 4) {
      const uint16_t pairs = buffer_[2] | buffer_[3] << 8;
      if (pairs >= 1 && pairs <= config_.max_queue_pairs) active_pairs_ = pairs, result = kCtrlOk;
    }
    (void)ctx_.iommu->write(ack->addr, {&result, 1}, "virtio control ack write");
    push(vq, chain, 1);
  }
}

// §5.1.6.3/4: a frame from the wire into the next buffer of the receive queue
// its flow hashes to, behind a net header.
void VirtioNetModel::receive(absl::Span<const uint8_t> frame) {
  if ((status_ & status::kDriverOk) && fault(VirtioFault::kNeedsReset)) {
    status_ |= status::kDeviceNeedsReset;
  }
  if (!usable() || (status_ & status::kDeviceNeedsReset) || frame.size() < 14) {
    return void(++rx_dropped_);
  }
  // §5.1.4.1: with VIRTIO_NET_F_MTU the device passes no frame longer than
  // mtu and its Ethernet header; §5.1.6.3.1: without it (and without
  // GUEST_TSO4/TSO6/UFO, which this model does not offer) a driver's receive
  // buffers need hold only 1514 frame bytes. Longer frames are dropped.
  if (oversize(frame)) return void(++rx_oversize_);
  const bool unicast = !(frame[0] & 1);
  if (unicast && !promiscuous_ && std::memcmp(frame.data(), config_.mac.bytes.data(), 6) != 0) {
    return void(++rx_filtered_);
  }
  uint32_t pair = 0;
  if (active_pairs_ > 1 && frame.size() >= 34 && frame[12] == 0x08 && frame[13] == 0x00) {
    uint8_t input[12];
    std::memcpy(input, &frame[26], 8);
    std::memcpy(input + 8, &frame[34], frame.size() >= 38 ? 4 : 0);
    pair = toeplitz_hash(kRssKey, {input, frame.size() >= 38 ? 12u : 8u}) % active_pairs_;
  }
  Vq& vq = vqs_[2 * pair];
  Chain chain;
  if (!vq.enabled || !pop(vq, &chain)) return void(++rx_dropped_);
  uint8_t hdr[12] = {};
  hdr[10] = 1;  // num_buffers
  if (driver_features_ & bit(feature::kGuestCsum)) {
    rx_copy_.assign(frame.begin(), frame.end());
    rx_checksum_header(rx_copy_, hdr);
    frame = rx_copy_;
  }
  const uint32_t hs = hdr_size();
  uint32_t done = 0;  // bytes of header + frame written
  const uint32_t total = hs + static_cast<uint32_t>(frame.size());
  for (size_t i = 0; i < chain.count && done < total; ++i) {
    const Seg& s = chain.segs[i];
    if (!s.write) {
      fail(absl::StrFormat("RX buffer %d has a device-readable descriptor", chain.id));
      return;
    }
    const uint32_t n = std::min(s.len, total - done);
    auto mem = ctx_.iommu->translate(s.addr, n, "virtio RX packet write");
    if (!mem.ok()) return;
    uint32_t k = 0;
    if (done < hs) {  // the header, then the frame
      k = std::min(n, hs - done);
      std::memcpy(mem->data(), hdr + done, k);
    }
    std::memcpy(mem->data() + k, frame.data() + (done + k - hs), n - k);
    done += n;
  }
  if (done < total) {
    fail(absl::StrFormat("RX buffer %d holds %d bytes; the frame needs %d (no MRG_RXBUF)", chain.id,
                         done, total));
  }
  if (!packed() || !in_order() || config_.rx_in_order_batch <= 1) return push(vq, chain, done);
  // §2.8.8: a buffer used completely may wait to be reported with the next.
  uint32_t room = 0;
  for (size_t i = 0; i < chain.count; ++i) room += chain.segs[i].len;
  vq.held += 1;
  vq.held_descriptors = static_cast<uint16_t>(vq.held_descriptors + chain.descriptors);
  vq.held_last_id = chain.id, vq.held_last_len = done;
  if (done < room || vq.held >= config_.rx_in_order_batch) report_held(vq);
}

void VirtioNetModel::rx_checksum_header(std::vector<uint8_t>& frame, uint8_t* hdr) {
  LayoutRef<NetHdr> h(hdr);
  const ChecksumCheck c = check_checksums(frame);
  if (fault(VirtioFault::kBadChecksumStart)) {
    h.set<NetHdr::FLAGS>(NetHdr::NEEDS_CSUM::kMask)
        .set<NetHdr::CSUM_START>(static_cast<uint16_t>(frame.size() - 1))
        .set<NetHdr::CSUM_OFFSET>(16);
    return;
  }
  if (!c.l4 || !c.l4_ok) return;  // not checked, or wrong: flags 0 (§5.1.6.4)
  if (!config_.rx_partial_checksums) {
    h.set<NetHdr::FLAGS>(NetHdr::DATA_VALID::kMask);
    return;
  }
  // As a local sender's frame: the field holds the pseudo-header's sum.
  const size_t at = c.l4_checksum_at();
  frame[at] = static_cast<uint8_t>(c.pseudo >> 8), frame[at + 1] = static_cast<uint8_t>(c.pseudo);
  h.set<NetHdr::FLAGS>(NetHdr::NEEDS_CSUM::kMask)
      .set<NetHdr::CSUM_START>(static_cast<uint16_t>(c.l4_at))
      .set<NetHdr::CSUM_OFFSET>(static_cast<uint16_t>(at - c.l4_at));
}

bool VirtioNetModel::oversize(absl::Span<const uint8_t> frame) const {
  if (!(driver_features_ & bit(feature::kMtu))) return frame.size() > kMaxFrameWithoutOffloads;
  // "mtu plus low level ethernet header length": the header with room for
  // one 802.1Q tag (docs/offloads.md, "Frame sizes").
  return frame.size() > max_frame_length(config_.mtu);
}

// One used descriptor for the held buffers, at the first one's slot, naming
// the last (§2.8.8).
void VirtioNetModel::report_held(Vq& vq) {
  if (vq.held == 0) return;
  Chain last;
  last.id = vq.held_last_id;
  push(vq, last, vq.held_last_len, vq.held, vq.held_descriptors);
  vq.held = vq.held_descriptors = 0;
}

void VirtioNetModel::progress() {
  for (uint16_t q = 0; q < vqs_.size(); q += 2) {  // the receive queues
    if (!is_control(q)) report_held(vqs_[q]);
  }
}

std::map<std::string, uint64_t> VirtioNetModel::dropped_frames() const {
  std::map<std::string, uint64_t> out;
  add_drops(out, "rx_no_buffer", rx_dropped_);
  add_drops(out, "rx_filtered", rx_filtered_);
  add_drops(out, "rx_oversize", rx_oversize_);
  add_drops(out, "tx_oversize", tx_oversize_);
  add_drops(out, "tx_bad_checksum", tx_bad_checksum_);
  return out;
}

}  // namespace safenic::sim
