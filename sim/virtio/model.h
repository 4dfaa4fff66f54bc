// A behavioural virtio-net device (virtio 1.2 §5.1) on either PCI transport
// (legacy I/O BAR, or modern capabilities + memory BAR) and either ring format
// (split, packed), with a configurable feature offer. It is strict: a driver
// that breaks the status sequence, accepts features it was not offered, or
// hands over malformed descriptor chains gets a reported violation and
// DEVICE_NEEDS_RESET (§2.1.1). With VIRTIO_F_IN_ORDER (offered by default on
// the modern transport; leave it out of `features` to test without) it uses
// buffers in order, writes one used element per TX batch (§2.7.9, §2.8.8),
// and reports a split-ring driver that does not use descriptors in ring order
// (§2.7.5).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "nic/mac_address.h"
#include "nic/virtio/spec.h"
#include "sim/model.h"
#include "sim/virtio/faults.h"
#include "sim/wires/wire.h"

namespace safenic::sim {

struct VirtioNetConfig {
  bool legacy = false;  // transitional 0x1000 with an I/O BAR0; else modern 0x1041
  // Features offered; the default suits the transport (set in the constructor
  // when left 0).
  uint64_t features = 0;
  uint64_t refuse = 0;  // FEATURES_OK is refused when the driver accepts any of these
  uint16_t max_queue_pairs = 4;
  uint16_t queue_size = 256;
  MacAddress mac{{0x02, 0x00, 0x00, 0x00, 0x1a, 0xf4}};
  // Packed ring with IN_ORDER (§2.8.8): a received frame that fills its
  // buffer may be reported later, together with the next frames, by one used
  // descriptor naming the batch's last buffer; up to this many buffers per
  // descriptor (1: one descriptor per buffer). A frame that does not fill its
  // buffer ends the batch; progress() ends any batch still open.
  uint16_t rx_in_order_batch = 1;
  // The mtu VIRTIO_NET_F_MTU offers (§5.1.4; in the default features), as
  // QEMU's host_mtu property sets it.
  uint16_t mtu = 9000;
  // With VIRTIO_NET_F_GUEST_CSUM: a received TCP/UDP frame whose checksum is
  // right comes as a partially checksummed one (§5.1.6.4: NEEDS_CSUM, the
  // field holding the pseudo-header's sum), as a device delivers a frame from
  // a local sender that never computed the checksum (QEMU guest to guest);
  // false: with DATA_VALID, the frame as it came.
  bool rx_partial_checksums = false;
};

uint64_t default_virtio_features(bool legacy);
// The modern device's features without VIRTIO_F_RING_PACKED: a driver gets
// the split ring.
uint64_t split_ring_virtio_features();

class VirtioNetModel final : public DeviceModel {
 public:
  static constexpr const char* kShortName = "virtio";  // NIC names: sim:virtio#0
  VirtioNetModel(SimContext ctx, VirtioNetConfig config = {});

  PciId id() const override;
  size_t bar_size(int bar) const override;
  uint64_t mmio_read(int bar, uint32_t offset, unsigned width) override;
  void mmio_write(int bar, uint32_t offset, unsigned width, uint64_t value) override;
  void progress() override;
  // The driver may use the queues and has enabled the first receive queue
  // (progress() reports held receive batches).
  bool receiving() override {
    return usable() && !vqs_.empty() && vqs_[0].enabled && port_.connected();
  }
  uint32_t config_read32(uint32_t offset) const override;

  Port& port() { return port_; }
  // Fault: the device hits an internal error and needs a reset (§2.1.2).
  void set_needs_reset() { status_ |= virtio::status::kDeviceNeedsReset; }
  uint8_t status() const { return status_; }
  uint64_t accepted_features() const { return driver_features_; }
  bool promiscuous() const { return promiscuous_; }
  uint16_t active_pairs() const { return active_pairs_; }
  uint64_t rx_dropped() const { return rx_dropped_; }    // no buffer posted
  uint64_t rx_filtered() const { return rx_filtered_; }  // unicast for another address
  // Frames longer than the negotiated features let the device deliver
  // (§5.1.6.3: 1514 bytes without GUEST_TSO4/6/UFO or MTU).
  uint64_t rx_oversize() const { return rx_oversize_; }
  static constexpr size_t kMaxFrameWithoutOffloads = 1514;
  // Whether `frame` is longer than the negotiated features allow (§5.1.4.1,
  // §5.1.6.3.1): with VIRTIO_NET_F_MTU, mtu bytes plus an Ethernet header
  // with a tag (18); without it, 1514 bytes.
  bool oversize(absl::Span<const uint8_t> frame) const;
  // rx_no_buffer, rx_filtered, rx_oversize, tx_oversize, tx_bad_checksum:
  // virtio-net has no counters.
  std::map<std::string, uint64_t> dropped_frames() const override;
  uint64_t kicks(uint16_t q) const { return q < vqs_.size() ? vqs_[q].kicks : 0; }
  // Fault injection (sim/faults.h; the README's "Fault injection" table): kNeedsReset (at a
  // notification or an arriving frame), kRefuseFeatures (at FEATURES_OK),
  // kBadUsedId and kBadUsedLen (at each used element), kBadChecksumStart (at a
  // received frame, with GUEST_CSUM). Null: none.
  void set_faults(std::shared_ptr<VirtioFaultPlan> plan) { faults_ = std::move(plan); }

 private:
  struct Vq {
    uint16_t size = 0;
    uint64_t desc = 0, driver = 0, device = 0;
    bool enabled = false;
    uint16_t last_avail = 0, used_idx = 0;  // split
    uint16_t next_desc = 0;                 // split IN_ORDER: the expected head
    uint16_t next = 0, used_next = 0;       // packed
    bool wrap = true, used_wrap = true;     // packed
    uint64_t kicks = 0;
    // RX with rx_in_order_batch: buffers used but not yet reported.
    uint16_t held = 0, held_descriptors = 0, held_last_id = 0;
    uint32_t held_last_len = 0;
  };
  struct Seg {
    uint64_t addr;
    uint32_t len;
    bool write;
  };
  struct Chain {
    uint16_t id = 0;
    uint16_t descriptors = 0;
    std::array<Seg, 8> segs{};
    size_t count = 0;
  };
  class NetPort final : public Port {
   public:
    explicit NetPort(VirtioNetModel& m) : m_(m) {}
    void receive(absl::Span<const uint8_t> frame) override { m_.receive(frame); }
    void receive_burst(absl::Span<const absl::Span<const uint8_t>> frames) override {
      for (const absl::Span<const uint8_t> frame : frames) m_.receive(frame);
    }

   private:
    VirtioNetModel& m_;
  };

  void reset();
  void write_status(uint8_t v);
  void fail(const std::string& what);                    // violation + DEVICE_NEEDS_RESET
  static const char* wide_field(uint32_t off);           // a 64-bit queue field's name, or null
  static uint64_t Vq::*wide_field_member(uint32_t off);  // the 64-bit queue field at off
  uint64_t common_read(uint32_t off, unsigned width);
  void common_write(uint32_t off, unsigned width, uint64_t v);
  uint64_t device_config(uint32_t off, unsigned width) const;
  uint8_t device_config_byte(uint32_t off) const;
  void enable_queue(uint16_t q);
  // §5.1.2: the control queue follows the receive/transmit pairs: after
  // max_virtqueue_pairs of them with MQ negotiated, after one pair without.
  uint16_t control_index() const {
    const bool mq = driver_features_ & virtio::feature::bit(virtio::feature::kMq);
    return static_cast<uint16_t>(2 * (mq ? config_.max_queue_pairs : 1));
  }
  bool is_control(uint16_t q) const {
    return (driver_features_ & virtio::feature::bit(virtio::feature::kCtrlVq)) &&
           q == control_index();
  }
  void notify(uint16_t q);
  // Whether the driver may use the queues: after DRIVER_OK; on the legacy
  // interface once it set DRIVER (legacy drivers may use queues before
  // DRIVER_OK, §4.1.5.1.3's legacy note).
  bool usable() const {
    return (status_ & virtio::status::kDriverOk) ||
           (config_.legacy && (status_ & virtio::status::kDriver));
  }
  bool packed() const {
    return driver_features_ & virtio::feature::bit(virtio::feature::kRingPacked);
  }
  bool pop(Vq& vq, Chain* chain);
  bool in_order() const {
    return driver_features_ & virtio::feature::bit(virtio::feature::kInOrder);
  }
  // Returns `buffers` buffers, `descriptors` descriptors in all, with one used
  // element naming the last (`chain`); more than one only with IN_ORDER.
  void report_held(Vq& vq);
  void push(Vq& vq, const Chain& chain, uint32_t written, uint16_t buffers = 1,
            uint16_t descriptors = 0);
  void suppress_notifications(Vq& vq, bool wanted);
  void transmit(uint16_t q);
  // §5.1.6.2: the header's checksum request carried out on `frame` (TX queue
  // q, buffer id); false (reported) when the frame is not to be sent.
  bool complete_tx_checksum(uint16_t q, uint16_t id, absl::Span<uint8_t> frame);
  // §5.1.6.4: the header's flags (and checksum offsets) for a received frame;
  // with rx_partial_checksums, `frame` (a copy) is made partial.
  void rx_checksum_header(std::vector<uint8_t>& frame, uint8_t* hdr);
  void control();
  void receive(absl::Span<const uint8_t> frame);
  uint32_t hdr_size() const { return virtio::net_hdr_size(driver_features_); }
  bool fault(VirtioFault f) { return faults_ != nullptr && faults_->fire(f); }

  SimContext ctx_;
  VirtioNetConfig config_;
  NetPort port_;
  uint8_t status_ = 0;
  uint64_t driver_features_ = 0;
  bool features_written_ = false;
  uint32_t device_feature_select_ = 0, driver_feature_select_ = 0;
  uint16_t queue_select_ = 0;
  std::vector<Vq> vqs_;  // rx0, tx0, rx1, tx1, ..., control
  bool promiscuous_ = false;
  uint16_t active_pairs_ = 1;
  uint64_t rx_dropped_ = 0;
  uint64_t rx_filtered_ = 0;
  uint64_t rx_oversize_ = 0;
  uint64_t tx_oversize_ = 0;          // frames the driver sent over the negotiated mtu (reported)
  uint64_t tx_bad_checksum_ = 0;      // checksum requests not carried out (reported)
  std::vector<uint8_t> rx_copy_;      // a received frame, changed (rx_partial_checksums)
  uint16_t legacy_queue_notify_ = 0;  // the legacy Queue Notify register, read-write
  std::vector<uint8_t> buffer_;
  std::shared_ptr<VirtioFaultPlan> faults_;
};

}  // namespace safenic::sim
