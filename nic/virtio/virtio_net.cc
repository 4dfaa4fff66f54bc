// virtio-net driver. Initialization follows the virtio 1.2 specification
// §3.1.1 (and §3.1.2 for legacy devices); the net device is §5.1.
#include "nic/virtio/virtio_net.h"

#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/batch.h"
#include "mem/status.h"
#include "nic/checksum.h"
#include "nic/open.h"
#include "nic/virtio/negotiation.h"
#include "nic/virtio/net_header.h"
#include "nic/virtio/queue.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/transport.h"

namespace safenic::virtio {
namespace {

using detail::ask_for_checksum;
using detail::kRxChecksumError;
using detail::negotiate;
using detail::offered_offloads;
using detail::rx_checksum_flags;
using detail::wanted_features;
using feature::bit;

// transmit() frees sent buffers when the ring has less room than the batch
// needs plus this much.
constexpr size_t kTxFreeSlack = 32;

// What the driver can do where the device offers it: checksum verdicts with
// VIRTIO_NET_F_GUEST_CSUM, TCP/UDP checksum insertion with VIRTIO_NET_F_CSUM
// (§5.1.3; virtio has no IPv4 header checksum offload), MTUs up to 9000 with
// VIRTIO_NET_F_MTU (§5.1.4).
constexpr DeviceCapabilities kCapabilities{
    .offloads = {Offload::kRxChecksum, Offload::kTxL4Checksum}, .max_mtu = kJumboMtu};

// State every queue type shares; the fast paths are in VirtioNet<Queue>.

class VirtioNetBase : public Device {
 public:
  VirtioNetBase(std::unique_ptr<PciFunction> fn, std::unique_ptr<Transport> transport,
                uint64_t features, const DeviceConfig& config)
      : Device(config.rx_queues, config.tx_queues),
        fn_(std::move(fn)),
        transport_(std::move(transport)),
        features_(features),
        config_(config),
        hdr_size_(net_hdr_size(features)),
        max_frame_(max_frame_length(config.mtu)),
        two_segments_(!(features & (bit(feature::kVersion1) | bit(feature::kAnyLayout)))) {
    watch_removal(fn_->removal_requested());
  }
  absl::string_view driver() const override { return "virtio"; }
  std::string name() const override { return fn_->name(); }
  MacAddress mac() const override { return mac_; }
  LinkStatus link() override {
    if (needs_reset()) return {};
    if ((features_ & bit(feature::kStatus)) &&
        !(transport_->config16(kConfigStatus) & kNetStatusLinkUp)) {
      return {};
    }
    return {true, 10000};  // virtio has no speed without SPEED_DUPLEX: nominal 10G
  }
  // §2.1.2: the device met an error it cannot recover from by itself; it
  // uses no queue until the driver resets it (close and open the device).
  bool needs_reset() {
    return transport_->status() & (status::kDeviceNeedsReset | status::kFailed);
  }
  uint64_t features() const { return features_; }
  // What the device offered (§3.1.1 step 4): capabilities() lists its offloads.
  void set_offered(uint64_t offered) { offered_ = offered; }

 protected:
  const DmaAllocator& dma() const override { return fn_->dma(); }
  absl::Time now() override { return fn_->now(); }
  void sleep(absl::Duration d) override { fn_->sleep(d); }

  std::unique_ptr<PciFunction> fn_;
  std::unique_ptr<Transport> transport_;
  uint64_t features_;
  uint64_t offered_ = 0;
  DeviceConfig config_;
  uint32_t hdr_size_;
  uint32_t max_frame_;  // the longest frame sent: max_frame_length(config_.mtu)
  // The device's VIRTIO_NET_F_MTU mtu (at most 9000), when an MTU over 1500
  // was asked for.
  uint32_t max_mtu_ = kDefaultMtu;
  bool two_segments_;  // legacy without ANY_LAYOUT: header in its own descriptor
  // The TxFlag checksum bits packets may ask for (Offload::kTxL4Checksum).
  const uint16_t tx_checksums_ = config_.offloads.tx_checksum_flags();
  MacAddress mac_;
};

template <typename Queue>
class VirtioNet final : public VirtioNetBase {
 public:
  using VirtioNetBase::VirtioNetBase;
  ~VirtioNet() override;
  absl::Status init();
  absl::StatusOr<DeviceStats> stats() override;
  absl::Status set_promiscuous(bool on) override;
  DeviceCapabilities capabilities() const override {
    return {.offloads = offered_offloads(offered_), .max_mtu = max_mtu_};
  }

 protected:
  size_t receive(uint16_t q, PacketBatch& batch) override {
    return ABSL_PREDICT_TRUE(!config_.offloads.has(Offload::kRxChecksum))
               ? receive_in<false>(q, batch)
               : receive_out_of_line<true>(q, batch);
  }
  size_t transmit(uint16_t q, PacketBatch& batch) override {
    return ABSL_PREDICT_TRUE(tx_checksums_ == 0) ? transmit_in<false>(q, batch)
                                                 : transmit_out_of_line<true>(q, batch);
  }
  size_t reclaim(uint16_t q) override { return tx_[q].vq->free_used(); }

 private:
  // A fresh RX buffer's segment (as the pool hands it out), the same for
  // every buffer of the pool: from the net header at the end of the headroom
  // (`offset` from the buffer's IOVA) to the end of the data room.
  struct RxSegment {
    uint64_t offset = 0;
    uint32_t len = 0;
    Segment operator()(const Packet& p) const { return {p.buffer_iova() + offset, len, true}; }
  };
  struct RxQueue {
    std::optional<Queue> vq;
    MempoolPtr pool;
    QueueStats stats;
    RxSegment segment;
  };
  struct TxQueue {
    std::optional<Queue> vq;
    QueueStats stats;
  };
  // The loops, with and without the checksum offloads; those with them out
  // of line, so that the plain ones keep their registers.
  template <bool kChecksums>
  ABSL_ATTRIBUTE_ALWAYS_INLINE inline size_t receive_in(uint16_t q, PacketBatch& batch);
  template <bool kChecksums>
  ABSL_ATTRIBUTE_NOINLINE size_t receive_out_of_line(uint16_t q, PacketBatch& batch) {
    return receive_in<kChecksums>(q, batch);
  }
  template <bool kChecksums>
  ABSL_ATTRIBUTE_ALWAYS_INLINE inline size_t transmit_in(uint16_t q, PacketBatch& batch);
  template <bool kChecksums>
  ABSL_ATTRIBUTE_NOINLINE size_t transmit_out_of_line(uint16_t q, PacketBatch& batch) {
    return transmit_in<kChecksums>(q, batch);
  }
  absl::StatusOr<Queue> make_queue(uint16_t index, absl::string_view what);
  void post_rx(RxQueue& rq);
  // Writes the net header into the headroom right in front of a frame to
  // send: the buffer's segment covers both. Without kChecksums it is all
  // zero (§5.1.6.2: flags 0, GSO_NONE) and the packet is not changed (the
  // queue frees it once sent). With them, a packet asking for its TCP or UDP
  // checksum (checksum_request(), `allowed` the TxFlags enabled) gets
  // NEEDS_CSUM, csum_start at its L4 header and csum_offset at the checksum
  // field, which it must hold the pseudo-header's sum in (§5.1.6.2.1).
  // False (and the packet dropped) when there is nothing to send, more than
  // the MTU allows (`max_frame`, §5.1.4.2), no headroom for the header, or a
  // checksum request the frame cannot carry.
  template <bool kChecksums>
  static bool prepare_tx(Packet& p, uint32_t hdr, uint32_t max_frame, uint16_t allowed,
                         Segment& s) {
    const size_t len = p.size();
    if (ABSL_PREDICT_FALSE(!sendable(static_cast<uint32_t>(len), max_frame) ||
                           p.headroom() < hdr)) {
      p.reset();
      return false;
    }
    uint8_t* const data = p.data();
    s = {p.iova() - hdr, static_cast<uint32_t>(len + hdr), false};
    // hdr is 10 or 12: two constant-size stores cover it exactly (after the
    // loads above: byte stores may alias the packet, which would reload it).
    static_assert(NetHdr::kSize == 12);
    std::memset(data - hdr, 0, 8);
    std::memset(data - 4, 0, 4);
    if constexpr (kChecksums) {
      const std::optional<ChecksumRequest> r = checksum_request(p, allowed);
      if (!r) {
        p.reset();
        return false;
      }
      if (r->l4_proto != 0) {
        prepare_checksum_fields(p, *r);
        ask_for_checksum(LayoutRef<NetHdr>(data - hdr), *r);
      }
    }
    return true;
  }
  void kick(Queue& vq, uint16_t index) {
    if (vq.publish()) transport_->notify(index);
  }
  absl::Status control(uint8_t cls, uint8_t cmd, std::initializer_list<uint8_t> data);

  std::vector<RxQueue> rx_;
  std::vector<TxQueue> tx_;
  std::optional<Queue> ctrl_;
  uint16_t ctrl_index_ = 0;
  MempoolPtr ctrl_pool_;
};

template <typename Queue>
absl::StatusOr<Queue> VirtioNet<Queue>::make_queue(uint16_t index, absl::string_view what) {
  const uint16_t max = transport_->queue_max(index);
  if (max == 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: the device has no virtqueue %d (%s)", name(), index, what));
  }
  // Modern devices take any size up to their maximum; legacy ones only theirs.
  uint16_t size = max;
  if (transport_->modern()) {
    const uint32_t want = what == "rx" ? config_.rx_ring_size : config_.tx_ring_size;
    while (size > want && size > 2) size /= 2;
  }
  if ((size & (size - 1)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: virtqueue %d has size %d; safenic needs a power of two", name(), index, size));
  }
  const std::string tag = absl::StrFormat("%s vq%d (%s)", name(), index, what);
  const bool event_idx = features_ & bit(feature::kEventIdx);
  const bool in_order = features_ & bit(feature::kInOrder);
  SAFENIC_ASSIGN_OR_RETURN(auto vq, [&] {
    if constexpr (std::is_same_v<Queue, SplitQueue>) {
      return SplitQueue::create(fn_->dma(), size, !transport_->modern(), event_idx, in_order, tag);
    } else {
      return PackedQueue::create(fn_->dma(), size, event_idx, in_order, tag);
    }
  }());
  vq.disable_interrupts();
  SAFENIC_RETURN_IF_ERROR(transport_->setup_queue(index, size, vq.addresses()));
  return vq;
}

// §3.1.1 steps 7-8: queues, then DRIVER_OK; then RX buffers and control.
template <typename Queue>
absl::Status VirtioNet<Queue>::init() {
  if (features_ & bit(feature::kMac)) {
    for (uint32_t i = 0; i < 6; ++i) mac_.bytes[i] = transport_->config8(kConfigMac + i);
  } else {
    mac_ = MacAddress{{0x02, 0x00, 0x00, 0x5a, 0xfe, 0x01}};  // locally administered
  }
  // The offloads asked for need their features offered (and so accepted).
  if (const OffloadSet missing = config_.offloads.without(offered_offloads(offered_));
      !missing.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s cannot offload %s: the device does not offer %s (it can: %s; see "
        "Device::capabilities())",
        name(), missing.to_string(),
        missing.has(Offload::kRxChecksum) ? "VIRTIO_NET_F_GUEST_CSUM" : "VIRTIO_NET_F_CSUM",
        offered_offloads(offered_).to_string()));
  }
  // §5.1.4: the device's mtu with VIRTIO_NET_F_MTU; without it, nothing
  // beyond the 1514-byte frames of §5.1.6.3.1.
  const bool has_mtu = features_ & bit(feature::kMtu);
  const uint32_t device_mtu = has_mtu ? transport_->config16(kConfigMtu) : kDefaultMtu;
  max_mtu_ = std::min(device_mtu, kJumboMtu);
  if (config_.mtu > max_mtu_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: MTU %d; this device takes at most %d%s", name(), config_.mtu, max_mtu_,
        has_mtu ? " (its VIRTIO_NET_F_MTU mtu)" : " (it does not offer VIRTIO_NET_F_MTU)"));
  }
  // §5.1.4.2: receive buffers for the largest frame the device may pass.
  const uint32_t rx_buffer = rx_buffer_size(std::max(config_.mtu, device_mtu));
  const uint16_t pairs = config_.rx_queues;
  uint16_t max_pairs = 1;
  if (features_ & bit(feature::kMq)) max_pairs = transport_->config16(kConfigMaxPairs);
  if (pairs > max_pairs) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: %d queue pairs requested; the device offers %d%s", name(), pairs,
                        max_pairs, features_ & bit(feature::kMq) ? "" : " (no VIRTIO_NET_F_MQ)"));
  }
  rx_.resize(pairs);
  tx_.resize(pairs);
  for (uint16_t i = 0; i < pairs; ++i) {
    SAFENIC_ASSIGN_OR_RETURN(auto rxq, make_queue(2 * i, "rx"));
    rx_[i].vq.emplace(std::move(rxq));
    SAFENIC_ASSIGN_OR_RETURN(auto txq, make_queue(2 * i + 1, "tx"));
    tx_[i].vq.emplace(std::move(txq));
    MempoolConfig pc;
    pc.buffers = std::max<uint32_t>(config_.buffers_per_rx_queue, 2u * rx_[i].vq->size());
    pc.data_room = rx_buffer;
    pc.tag = absl::StrFormat("%s rx%d buffers", name(), i);
    SAFENIC_ASSIGN_OR_RETURN(auto pool, Mempool::create(pc, fn_->dma()));
    rx_[i].segment = {pool->headroom() - hdr_size_, pool->data_room() + hdr_size_};
    rx_[i].pool = std::move(pool);
  }
  if (features_ & bit(feature::kCtrlVq)) {
    ctrl_index_ = static_cast<uint16_t>(2 * max_pairs);
    SAFENIC_ASSIGN_OR_RETURN(auto cq, make_queue(ctrl_index_, "control"));
    ctrl_.emplace(std::move(cq));
    SAFENIC_ASSIGN_OR_RETURN(
        auto pool,
        Mempool::create({.buffers = 8, .data_room = 64, .headroom = 0, .tag = name() + " control"},
                        fn_->dma()));
    ctrl_pool_ = std::move(pool);
  }
  transport_->set_status(transport_->status() | status::kDriverOk);
  if (transport_->status() & status::kDeviceNeedsReset) {
    return absl::InternalError(absl::StrFormat(
        "%s: the device needs a reset right after DRIVER_OK; it rejected the set-up", name()));
  }
  for (RxQueue& rq : rx_) post_rx(rq);
  for (uint16_t i = 0; i < pairs; ++i) kick(*rx_[i].vq, 2 * i);
  if (pairs > 1) {
    if (absl::Status s = control(kCtrlMq, kCtrlMqVqPairsSet,
                                 {static_cast<uint8_t>(pairs), static_cast<uint8_t>(pairs >> 8)});
        !s.ok()) {
      return s;
    }
  }
  return config_.promiscuous ? set_promiscuous(true) : absl::OkStatus();
}

template <typename Queue>
VirtioNet<Queue>::~VirtioNet() {
  transport_->set_status(0);  // reset: the device stops using every queue (§2.1)
  for (RxQueue& rq : rx_) {
    if (rq.vq) rq.vq->release_packets();
  }
  for (TxQueue& tq : tx_) {
    if (tq.vq) tq.vq->release_packets();
  }
  if (ctrl_) ctrl_->release_packets();
}

// Fills the RX queue: each buffer has the net header in the packet's headroom,
// right before where the frame lands.
template <typename Queue>
void VirtioNet<Queue>::post_rx(RxQueue& rq) {
  Queue& vq = *rq.vq;
  if (two_segments_) {
    while (vq.room() >= 2) {
      Packet p = rq.pool->alloc();
      if (p.empty()) return;  // more once buffers come back
      const uint64_t iova = p.iova();
      vq.add(p, {{iova - hdr_size_, hdr_size_, true},
                 {iova, static_cast<uint32_t>(p.capacity()), true}});
    }
    return;
  }
  vq.fill(*rq.pool, rq.segment);  // a copy: its fields stay in registers
}

template <typename Queue>
template <bool kChecksums>
size_t VirtioNet<Queue>::receive_in(uint16_t q, PacketBatch& batch) {
  RxQueue& rq = rx_[q];
  Queue& vq = *rq.vq;
  // The pool's data room: the segment each buffer offered, less the header.
  const uint32_t hdr = hdr_size_, max_frame = rq.segment.len - hdr;
  uint64_t bytes = 0, errors = 0;
  const size_t n = vq.take_used(batch.tail(), batch.room(), [&](Packet& p, uint32_t written) {
    // The header first (§5.1.6.4), then the frame: the length used is what
    // the device wrote into the buffer (§2.7.8), so at most the data room we
    // offered; written < hdr wraps around to a length no buffer holds.
    const uint32_t frame = written - hdr;
    if (ABSL_PREDICT_TRUE(frame <= max_frame)) {
      p.resize_within_data_room(frame);
      if constexpr (kChecksums) {
        const int flags = rx_checksum_flags(p, hdr);
        if (ABSL_PREDICT_FALSE(flags == kRxChecksumError)) {
          ++errors;  // a checksum the driver cannot complete: the frame is not whole
          return false;
        }
        p.offloads().rx = static_cast<uint8_t>(flags);
      }
      bytes += frame;
      return true;
    }
    if (written == kUsedCompletely) {  // the whole buffer (§2.8.8)
      p.try_resize(p.capacity());
      bytes += p.size();
      return true;
    }
    ++errors;  // an impossible length
    return false;
  });
  batch.grow(n);
  if (vq.room() != 0) {
    post_rx(rq);
    kick(vq, 2 * q);
  }
  rq.stats.packets += n;
  rq.stats.bytes += bytes;
  rq.stats.errors += errors;
  return n;
}

template <typename Queue>
template <bool kChecksums>
size_t VirtioNet<Queue>::transmit_in(uint16_t q, PacketBatch& batch) {
  TxQueue& tq = tx_[q];
  Queue& vq = *tq.vq;
  // Sent buffers go home in bulk, once the ring runs short of room (cf.
  // DPDK's tx_free_thresh): fewer looks at the ring the device writes.
  if (vq.room() < batch.size() + kTxFreeSlack) vq.free_used();
  const uint32_t hdr = hdr_size_, max_frame = max_frame_;
  const uint16_t allowed = tx_checksums_;
  uint64_t bytes = 0, errors = 0;
  size_t k;
  if (ABSL_PREDICT_FALSE(two_segments_)) {
    for (k = 0; k < batch.size() && vq.room() >= 2; ++k) {
      Packet& p = batch[k];
      const size_t len = p.size();
      Segment s;
      if (!prepare_tx<kChecksums>(p, hdr, max_frame, allowed, s)) {
        ++errors;
        continue;
      }
      vq.add(p, {{s.iova, hdr, false}, {s.iova + hdr, static_cast<uint32_t>(len), false}});
      bytes += len;
    }
  } else {
    k = vq.add_all(
        batch.begin(), std::min<size_t>(batch.size(), vq.room()),
        [&, hdr, max_frame, allowed](Packet& p, Segment& s) {  // in registers
          if (ABSL_PREDICT_FALSE(!prepare_tx<kChecksums>(p, hdr, max_frame, allowed, s))) {
            ++errors;
            return false;
          }
          bytes += s.len - hdr;
          return true;
        });
  }
  batch.erase_front_emptied(k);  // each went into the ring or was dropped
  const uint64_t sent = k - errors;
  if (sent != 0) kick(vq, 2 * q + 1);
  tq.stats.packets += sent;
  tq.stats.bytes += bytes;
  tq.stats.errors += errors;
  return k;
}

// §5.1.6.5: {class, command, data...} read by the device, then one ack byte
// it writes.
template <typename Queue>
absl::Status VirtioNet<Queue>::control(uint8_t cls, uint8_t cmd,
                                       std::initializer_list<uint8_t> data) {
  if (!ctrl_) {
    return absl::UnimplementedError(
        absl::StrFormat("%s: the device has no control queue (VIRTIO_NET_F_CTRL_VQ)", name()));
  }
  Packet p = ctrl_pool_->alloc();
  const uint32_t len = static_cast<uint32_t>(2 + data.size());
  if (p.empty() || !p.resize(len + 1).ok()) {
    return absl::ResourceExhaustedError(absl::StrFormat("%s: no control buffer", name()));
  }
  p.data()[0] = cls;
  p.data()[1] = cmd;
  std::memcpy(p.data() + 2, data.begin(), data.size());
  p.data()[len] = 0xFF;
  uint8_t* ack = p.data() + len;
  const uint64_t iova = p.iova();
  ctrl_->add(p, {{iova, len, false}, {iova + len, 1, true}});
  kick(*ctrl_, ctrl_index_);
  const absl::Time deadline = fn_->now() + absl::Seconds(1);
  Packet back;
  uint32_t written;
  while (!ctrl_->next_used(back, &written)) {
    if (fn_->now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "%s: control command class %d command %d got no answer within 1s", name(), cls, cmd));
    }
    fn_->sleep(absl::Milliseconds(1));
  }
  if (*ack != kCtrlOk) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: the device refused control command class %d command %d (ack %d)",
                        name(), cls, cmd, *ack));
  }
  return absl::OkStatus();
}

template <typename Queue>
absl::Status VirtioNet<Queue>::set_promiscuous(bool on) {
  if (!(features_ & bit(feature::kCtrlRx))) {
    if (!on) return absl::OkStatus();
    return absl::UnimplementedError(absl::StrFormat(
        "%s: the device offers no receive-mode control (VIRTIO_NET_F_CTRL_RX); it decides "
        "what it delivers",
        name()));
  }
  return control(kCtrlRx, kCtrlRxPromisc, {static_cast<uint8_t>(on)});
}

template <typename Queue>
absl::StatusOr<DeviceStats> VirtioNet<Queue>::stats() {
  if (needs_reset()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the device set DEVICE_NEEDS_RESET and stopped; close and reopen it (the counters "
        "so far are lost with it)",
        name()));
  }
  DeviceStats s;
  uint64_t bad = 0;
  for (RxQueue& rq : rx_) {
    s.rx.push_back(rq.stats);
    bad += rq.vq->bad_completions();
  }
  for (TxQueue& tq : tx_) {
    tq.vq->free_used();  // transmit() collects lazily: count what came back so far
    s.tx.push_back(tq.stats);
    bad += tq.vq->bad_completions();
  }
  s.counters["bad_completions"] = bad;
  return s;
}

template <typename Queue>
absl::StatusOr<std::unique_ptr<Device>> finish(std::unique_ptr<PciFunction> fn,
                                               std::unique_ptr<Transport> t, uint64_t features,
                                               const DeviceConfig& config) {
  const uint64_t offered = t->device_features();
  auto dev = std::make_unique<VirtioNet<Queue>>(std::move(fn), std::move(t), features, config);
  dev->set_offered(offered);
  SAFENIC_RETURN_IF_ERROR(dev->init());
  return dev;
}

}  // namespace

// virtio 1.2 §4.1.2.1: the transitional network device and the modern one
// (0x1040 + device type 1).
constexpr SupportedDevice kDevices[] = {
    {{kVendor, kLegacyNetDevice}, "virtio-net (legacy)"},
    {{kVendor, kModernNetDevice}, "virtio-net (modern)"},
};

bool supports(PciId id) { return takes(kDevices, id); }

absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config) {
  if (config.rx_queues != config.tx_queues || config.rx_queues == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "virtio: %d RX and %d TX queues; virtio-net has queue pairs, use equal counts",
        config.rx_queues, config.tx_queues));
  }
  SAFENIC_RETURN_IF_ERROR(validate_offloads(config, kCapabilities, "virtio"));
  SAFENIC_ASSIGN_OR_RETURN(auto t, Transport::open(*fn));
  const bool modern = t->modern();
  // A device may refuse FEATURES_OK for a combination it cannot do: then try
  // once more without the optional ring format (§3.1.1 step 6).
  auto features = negotiate(*fn, *t, wanted_features(config, modern, true));
  if (!features.ok() && modern) {
    features = negotiate(*fn, *t,
                         wanted_features(config, modern, false) & ~bit(feature::kEventIdx) &
                             ~bit(feature::kInOrder));
  }
  if (!features.ok()) {
    t->set_status(t->status() | status::kFailed);
    return features.status();
  }
  if (*features & bit(feature::kRingPacked)) {
    return finish<PackedQueue>(std::move(fn), std::move(t), *features, config);
  }
  return finish<SplitQueue>(std::move(fn), std::move(t), *features, config);
}

uint64_t negotiated_features(const Device& dev) {
  const auto* v = dynamic_cast<const VirtioNetBase*>(&dev);
  return v == nullptr ? 0 : v->features();
}

namespace {
const bool kRegistered = register_driver({"virtio", "virtio-net", kDevices, open});
}  // namespace

}  // namespace safenic::virtio
