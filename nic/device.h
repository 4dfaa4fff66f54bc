// Device: the API every safenic driver offers (ixgbe, virtio, mlx5).
//
//   auto dev = safenic::open_device("sim:82599");     // nic/open.h
//   safenic::Batch<32> batch;
//   size_t n = *dev->rx_batch(0, batch);              // receive up to 32
//   dev->tx_batch(0, batch);                          // unsent ones stay
//
// rx_batch/tx_batch fail only for a queue index that does not exist and once
// the platform asks for the device back (a hot unplug: close the device); the
// fast path allocates nothing, takes no locks and writes one doorbell per batch.
#pragma once

#include "mem/cxx20.h"  // first: a clear message when not built as C++20

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mem/batch.h"
#include "mem/mempool.h"
#include "mem/offloads.h"
#include "nic/mac_address.h"

namespace safenic {

// What a device can do for packets besides moving them (issue #22): asked for
// in DeviceConfig::offloads, listed by Device::capabilities(). Per packet,
// the results are in Packet::offloads() (mem/offloads.h).
enum class Offload : uint32_t {
  // Receive: verdicts on the IPv4 header checksum and the TCP/UDP checksum
  // (RxFlag: kRxIpChecksumGood/Bad, kRxL4ChecksumGood/Bad).
  kRxChecksum = 1 << 0,
  // Transmit: the TCP and UDP checksums (over IPv4 and IPv6) filled in as
  // each packet asks (TxFlag kTxTcpChecksum, kTxUdpChecksum): DPDK's
  // TCP_CKSUM and UDP_CKSUM offloads.
  kTxL4Checksum = 1 << 1,
  // Transmit: the IPv4 header checksum filled in as each packet asks (TxFlag
  // kTxIpChecksum): DPDK's IPV4_CKSUM. virtio-net has no such offload.
  kTxIpv4Checksum = 1 << 3,
  // Receive: the device's RSS (Toeplitz) hash of each frame it hashed, in
  // offloads().rss_hash with RxFlag kRxRssHash (DPDK's RSS_HASH offload).
  // The key is kRssKey (nic/rss.h), whatever the number of queues.
  kRxRssHash = 1 << 2,
};
// A set of Offloads.
class OffloadSet {
 public:
  constexpr OffloadSet() = default;
  constexpr OffloadSet(std::initializer_list<Offload> offloads) {
    for (Offload o : offloads) bits_ |= static_cast<uint32_t>(o);
  }
  constexpr bool has(Offload o) const { return (bits_ & static_cast<uint32_t>(o)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  // The offloads in this set and not in `other`.
  constexpr OffloadSet without(OffloadSet other) const { return OffloadSet(bits_ & ~other.bits_); }
  // "rx-checksum, ..." ("none" when empty), for messages.
  std::string to_string() const;
  friend constexpr bool operator==(OffloadSet, OffloadSet) = default;
  // The TxFlag checksum bits a packet may ask for with these offloads.
  constexpr uint16_t tx_checksum_flags() const {
    return (has(Offload::kTxIpv4Checksum) ? kTxIpChecksum : 0) |
           (has(Offload::kTxL4Checksum) ? kTxTcpChecksum | kTxUdpChecksum : 0);
  }

 private:
  constexpr explicit OffloadSet(uint32_t bits) : bits_(bits) {}
  uint32_t bits_ = 0;
};

// Frame sizes for an MTU (docs/offloads.md, "Frame sizes"). The longest
// frame a driver sends, without the FCS: the Ethernet header (14 bytes, IEEE
// 802.3 §3.1.1), one 802.1Q tag (4, IEEE 802.1Q §9.3) and `mtu` bytes of
// payload. What each device receives is in the doc; no more than this.
constexpr uint32_t kEthernetHeader = 14, kVlanTag = 4;
constexpr uint32_t kDefaultMtu = 1500;  // Ethernet's (IEEE 802.3), DeviceConfig's default
constexpr uint32_t max_frame_length(uint32_t mtu) { return mtu + kEthernetHeader + kVlanTag; }
// Whether a driver may send a frame of `len` bytes: 1 to `max_frame`
// (max_frame_length() of the MTU). One compare: 0 wraps around.
constexpr bool sendable(uint32_t len, uint32_t max_frame) { return len - 1 < max_frame; }
// The receive buffer a driver posts for an MTU: room for the longest frame,
// rounded up to 1 KiB (the 82599's SRRCTL.BSIZEPACKET unit), 2048 bytes for
// the default MTU as before.
constexpr uint32_t rx_buffer_size(uint32_t mtu) {
  return (max_frame_length(mtu) + 1023) / 1024 * 1024;
}
// The largest MTU safenic's drivers offer (the jumbo frame; the
// 82599 and ConnectX take more).
constexpr uint32_t kJumboMtu = 9000;

// What a driver and its device can do, for DeviceConfig to ask within.
struct DeviceCapabilities {
  OffloadSet offloads = {};
  uint32_t max_mtu = kDefaultMtu;  // the largest DeviceConfig::mtu
};

struct DeviceConfig {
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  uint32_t rx_ring_size = 512;  // descriptors per queue
  uint32_t tx_ring_size = 512;
  uint32_t buffers_per_rx_queue = 2048;  // each RX queue's own mempool
  bool promiscuous = false;
  // PCI devices (nic/pci): a device bound to a kernel driver (ixgbe,
  // virtio-pci, ...) is an error unless this is set; then safenic unbinds it,
  // and the kernel loses the interface until it is bound again.
  bool unbind_kernel_driver = false;
  // PCI devices through VFIO: DMA memory in 2 MiB hugepages (what real
  // devices want: fewer IOTLB misses), or, false, in 4 KiB pages, which need
  // no reserved hugepages (DPDK's --no-huge). The sysfs path needs hugepages.
  bool hugepages = true;
  // The largest IP packet a frame carries (the Ethernet payload), from 68 to
  // capabilities().max_mtu.
  uint32_t mtu = kDefaultMtu;
  // Offloads to enable; each must be in capabilities().offloads.
  OffloadSet offloads = {};
};

// What a driver accepts in a DeviceConfig; validate() says what to change.
struct DeviceLimits {
  const char* driver;
  uint16_t max_rx_queues, max_tx_queues;
  uint32_t min_ring, max_ring;  // ring sizes are powers of two in [min, max]
  DeviceCapabilities capabilities = {};
};
absl::Status validate(const DeviceConfig& config, const DeviceLimits& limits);
// The part of validate() drivers whose capabilities depend on the device
// (virtio's offered features) call on their own: the MTU and the offloads.
absl::Status validate_offloads(const DeviceConfig& config, const DeviceCapabilities& capabilities,
                               absl::string_view driver);

struct LinkStatus {
  bool up = false;
  uint32_t speed_mbps = 0;  // 0 when down
};

struct QueueStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t drops = 0;   // RX: no buffer posted; TX: none defined (unsent stay with the caller)
  uint64_t errors = 0;  // frames the device reported in error
  QueueStats& operator+=(const QueueStats& o) {
    packets += o.packets, bytes += o.bytes, drops += o.drops, errors += o.errors;
    return *this;
  }
};

struct DeviceStats {
  std::vector<QueueStats> rx;  // per queue
  std::vector<QueueStats> tx;
  // The device's own counters by datasheet name (e.g. GPRC, MPC), totals since open.
  std::map<std::string, uint64_t> counters;
  QueueStats rx_total() const;
  QueueStats tx_total() const;
};

// Frames for `mac` (a unicast address), on 802.1Q VLAN `vlan` or, without
// one, untagged, go to RX queue `rx_queue`, ahead of RSS and promiscuous mode.
struct MacFilter {
  MacAddress mac;
  std::optional<uint16_t> vlan;  // 0..4095
  uint16_t rx_queue = 0;
};
// What add_mac_filter returns; never reused while the device is open.
struct FilterId {
  uint32_t value = 0;
  friend bool operator==(FilterId, FilterId) = default;
};

class Device {
 public:
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  virtual absl::string_view driver() const = 0;  // "ixgbe", "virtio", "mlx5"
  virtual std::string name() const = 0;          // the device spec it was opened with
  virtual MacAddress mac() const = 0;
  virtual LinkStatus link() = 0;
  // Polls link() until it is up; DeadlineExceeded (saying what to check) when
  // it is not up after `timeout`.
  absl::Status wait_for_link(absl::Duration timeout);

  uint16_t rx_queues() const { return rx_queues_; }
  uint16_t tx_queues() const { return tx_queues_; }
  // What this driver can do with this device (DeviceConfig::offloads, mtu).
  virtual DeviceCapabilities capabilities() const = 0;

  // Appends up to batch.room() received packets; returns how many.
  absl::StatusOr<size_t> rx_batch(uint16_t queue, PacketBatch& batch) {
    if (ABSL_PREDICT_FALSE(queue >= rx_queues_)) return bad_queue("rx", queue, rx_queues_);
    if (ABSL_PREDICT_FALSE(removal_->load(std::memory_order_relaxed))) return removed();
    return receive(queue, batch);
  }
  // Sends packets from the front of `batch` as long as the ring has room,
  // removes the sent ones and returns how many; unsent packets stay in `batch`.
  absl::StatusOr<size_t> tx_batch(uint16_t queue, PacketBatch& batch) {
    if (ABSL_PREDICT_FALSE(queue >= tx_queues_)) return bad_queue("tx", queue, tx_queues_);
    if (ABSL_PREDICT_FALSE(removal_->load(std::memory_order_relaxed))) return removed();
    return transmit(queue, batch);
  }

  // Returns to their pools, now, the buffers of packets the device has
  // finished sending on `queue`, and says how many. Drivers otherwise take
  // them back lazily, when the ring runs short of room (as DPDK's
  // tx_free_thresh), so after tx_batch a pool's in_use() still counts them.
  // For a leak check while the device is open: after reclaim_tx on every
  // queue, in_use() counts only what the device has not sent yet. (mlx5 asks
  // for the completions it was saving up; on the simulator they arrive at
  // once, on hardware a moment later.)
  absl::StatusOr<size_t> reclaim_tx(uint16_t queue) {
    if (ABSL_PREDICT_FALSE(queue >= tx_queues_)) return bad_queue("tx", queue, tx_queues_);
    return reclaim(queue);
  }

  // A pool of packet buffers this device can DMA to and from: where packets
  // for tx_batch come from.
  absl::StatusOr<MempoolPtr> create_mempool(const MempoolConfig& config) {
    return Mempool::create(config, dma());
  }

  // Counters since open (hardware counters are accumulated by the driver).
  virtual absl::StatusOr<DeviceStats> stats() = 0;
  virtual absl::Status set_promiscuous(bool on) = 0;

  // MAC/VLAN filters, added and removed at run time (mlx5 only; on others
  // Unimplemented: use promiscuous mode and sort frames in software).
  absl::StatusOr<FilterId> add_mac_filter(const MacFilter& filter);
  absl::Status remove_mac_filter(FilterId id);

 protected:
  // A driver with MAC filters has slots 0..max_mac_filters()-1; the checks
  // above are done, and the filters now in use are mac_filters().
  virtual uint32_t max_mac_filters() const { return 0; }
  virtual absl::Status install_mac_filter(const MacFilter&, uint32_t) { return absl::OkStatus(); }
  virtual absl::Status uninstall_mac_filter(uint32_t) { return absl::OkStatus(); }
  std::vector<MacFilter> mac_filters() const;

  Device(uint16_t rx_queues, uint16_t tx_queues) : rx_queues_(rx_queues), tx_queues_(tx_queues) {}
  // rx_batch and tx_batch fail once `flag` is set (PciFunction::removal_requested()).
  void watch_removal(const std::atomic<bool>& flag) { removal_ = &flag; }
  virtual size_t receive(uint16_t queue, PacketBatch& batch) = 0;
  virtual size_t transmit(uint16_t queue, PacketBatch& batch) = 0;
  virtual size_t reclaim(uint16_t queue) = 0;
  // Where this device's DMA memory comes from (PciFunction::dma()).
  virtual const DmaAllocator& dma() const = 0;
  // The clock wait_for_link uses; drivers forward to PciFunction's.
  virtual absl::Time now() { return absl::Now(); }
  virtual void sleep(absl::Duration d) { absl::SleepFor(d); }

 private:
  absl::Status bad_queue(const char* dir, uint16_t queue, uint16_t count) const;
  absl::Status removed() const;
  absl::Status check(const MacFilter& filter) const;
  absl::Status no_mac_filters() const;

  static constexpr std::atomic<bool> kNeverRemoved{false};
  const std::atomic<bool>* removal_ = &kNeverRemoved;
  uint16_t rx_queues_;
  uint16_t tx_queues_;
  struct Slot {
    MacFilter filter;
    uint32_t slot;
  };
  std::map<uint32_t, Slot> filters_;  // by FilterId
  uint32_t next_filter_id_ = 1;
};

}  // namespace safenic
