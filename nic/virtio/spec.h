// virtio-net: the one definition of the device interface shared by the virtio
// driver and the virtio model. Virtio 1.2 specification (§ numbers below);
// "legacy" items are from its legacy-interface sections.
#pragma once

#include <cstdint>

#include "nic/layout.h"
#include "nic/register.h"

namespace safenic::virtio {

// §4.1.2 PCI device discovery: vendor 0x1AF4; network device transitional
// (legacy-capable) id 0x1000, modern id 0x1040 + 1.
inline constexpr uint16_t kVendor = 0x1AF4;
inline constexpr uint16_t kLegacyNetDevice = 0x1000;
inline constexpr uint16_t kModernNetDevice = 0x1041;
// §5 Device Types: the network device's virtio device id (a transitional
// device's PCI subsystem device id, §4.1.2.3).
inline constexpr uint16_t kVirtioNetDeviceId = 1;

// §2.1 Device status field.
namespace status {
inline constexpr uint8_t kAcknowledge = 1;
inline constexpr uint8_t kDriver = 2;
inline constexpr uint8_t kDriverOk = 4;
inline constexpr uint8_t kFeaturesOk = 8;
inline constexpr uint8_t kDeviceNeedsReset = 64;
inline constexpr uint8_t kFailed = 128;
}  // namespace status

// Feature bits: §5.1.3 (network device) and §6 (reserved/transport).
namespace feature {
inline constexpr int kCsum = 0;
inline constexpr int kGuestCsum = 1;
inline constexpr int kMtu = 3;
inline constexpr int kMac = 5;
inline constexpr int kMrgRxbuf = 15;
inline constexpr int kStatus = 16;
inline constexpr int kCtrlVq = 17;
inline constexpr int kCtrlRx = 18;
inline constexpr int kMq = 22;
inline constexpr int kAnyLayout = 27;  // legacy only
inline constexpr int kIndirectDesc = 28;
inline constexpr int kEventIdx = 29;
inline constexpr int kVersion1 = 32;
inline constexpr int kAccessPlatform = 33;
inline constexpr int kRingPacked = 34;
inline constexpr int kInOrder = 35;
constexpr uint64_t bit(int f) { return uint64_t{1} << f; }
}  // namespace feature

// §5.1.4 Device configuration layout (both transports; legacy puts it at
// offset 20 of the I/O BAR).
inline constexpr uint32_t kConfigMac = 0;       // 6 bytes
inline constexpr uint32_t kConfigStatus = 6;    // le16, VIRTIO_NET_S_LINK_UP = 1
inline constexpr uint32_t kConfigMaxPairs = 8;  // le16
inline constexpr uint32_t kConfigMtu = 10;      // le16, with VIRTIO_NET_F_MTU
inline constexpr uint16_t kNetStatusLinkUp = 1;

// §4.1.4.8 Legacy interface: the I/O BAR0 registers.
struct LEGACY_HOST_FEATURES : Register<LEGACY_HOST_FEATURES, uint32_t, Access::kReadOnly, 0x00> {};
struct LEGACY_GUEST_FEATURES : Register<LEGACY_GUEST_FEATURES, uint32_t, Access::kReadWrite, 0x04> {
};
struct LEGACY_QUEUE_PFN : Register<LEGACY_QUEUE_PFN, uint32_t, Access::kReadWrite, 0x08> {};
struct LEGACY_QUEUE_NUM : Register<LEGACY_QUEUE_NUM, uint16_t, Access::kReadOnly, 0x0C> {};
struct LEGACY_QUEUE_SEL : Register<LEGACY_QUEUE_SEL, uint16_t, Access::kReadWrite, 0x0E> {};
struct LEGACY_QUEUE_NOTIFY : Register<LEGACY_QUEUE_NOTIFY, uint16_t, Access::kReadWrite, 0x10> {};
struct LEGACY_STATUS : Register<LEGACY_STATUS, uint8_t, Access::kReadWrite, 0x12> {};
struct LEGACY_ISR : Register<LEGACY_ISR, uint8_t, Access::kClearOnRead, 0x13> {};
inline constexpr uint32_t kLegacyConfig = 0x14;  // device config without MSI-X
// The smallest legacy BAR0 a driver can use: the registers above and the net
// config's mac and status (§5.1.4; max_virtqueue_pairs and mtu follow only
// when MQ or MTU is offered). QEMU's is 32 bytes: 20 + 8, rounded up to a
// power of two (found on a real kernel by tests/vm; the driver required 64).
inline constexpr uint32_t kLegacyMinBarSize = kLegacyConfig + 8;
inline constexpr uint32_t kLegacyQueueAlign = 4096;  // §2.7 legacy: used ring alignment

// §4.1.4 Virtio structure PCI capabilities: vendor-specific (0x09).
inline constexpr uint8_t kCapVendor = 0x09;
namespace cap {
inline constexpr uint8_t kCommonCfg = 1;
inline constexpr uint8_t kNotifyCfg = 2;
inline constexpr uint8_t kIsrCfg = 3;
inline constexpr uint8_t kDeviceCfg = 4;
// struct virtio_pci_cap: cap_vndr 0, cap_next 1, cap_len 2, cfg_type 3,
// bar 4, id 5, offset le32 8, length le32 12; notify adds
// notify_off_multiplier le32 at 16.
}  // namespace cap

// §4.1.4.3 Common configuration structure (offsets in its region).
struct DEVICE_FEATURE_SELECT : Register<DEVICE_FEATURE_SELECT, uint32_t, Access::kReadWrite, 0x00> {
};
struct DEVICE_FEATURE : Register<DEVICE_FEATURE, uint32_t, Access::kReadOnly, 0x04> {};
struct DRIVER_FEATURE_SELECT : Register<DRIVER_FEATURE_SELECT, uint32_t, Access::kReadWrite, 0x08> {
};
struct DRIVER_FEATURE : Register<DRIVER_FEATURE, uint32_t, Access::kReadWrite, 0x0C> {};
struct MSIX_CONFIG : Register<MSIX_CONFIG, uint16_t, Access::kReadWrite, 0x10> {};
struct NUM_QUEUES : Register<NUM_QUEUES, uint16_t, Access::kReadOnly, 0x12> {};
struct DEVICE_STATUS : Register<DEVICE_STATUS, uint8_t, Access::kReadWrite, 0x14> {};
struct CONFIG_GENERATION : Register<CONFIG_GENERATION, uint8_t, Access::kReadOnly, 0x15> {};
struct QUEUE_SELECT : Register<QUEUE_SELECT, uint16_t, Access::kReadWrite, 0x16> {};
struct QUEUE_SIZE : Register<QUEUE_SIZE, uint16_t, Access::kReadWrite, 0x18> {};
struct QUEUE_MSIX_VECTOR : Register<QUEUE_MSIX_VECTOR, uint16_t, Access::kReadWrite, 0x1A> {};
struct QUEUE_ENABLE : Register<QUEUE_ENABLE, uint16_t, Access::kReadWrite, 0x1C> {};
struct QUEUE_NOTIFY_OFF : Register<QUEUE_NOTIFY_OFF, uint16_t, Access::kReadOnly, 0x1E> {};
struct QUEUE_DESC : Register<QUEUE_DESC, uint64_t, Access::kReadWrite, 0x20> {};
struct QUEUE_DRIVER : Register<QUEUE_DRIVER, uint64_t, Access::kReadWrite, 0x28> {};
struct QUEUE_DEVICE : Register<QUEUE_DEVICE, uint64_t, Access::kReadWrite, 0x30> {};
inline constexpr uint32_t kCommonCfgSize = 0x38;
// §4.1.4.4 notification: a 16-bit write of the queue index at
// queue_notify_off * notify_off_multiplier in the notify region.
struct QUEUE_NOTIFY : RegisterArray<QUEUE_NOTIFY, uint16_t, Access::kWriteOnly, 1> {
  static constexpr uint32_t offset(uint32_t) { return 0; }
};

// §2.7.5 Split virtqueue descriptor, 16 bytes (little-endian with VERSION_1;
// legacy devices use guest order, which is little-endian on every host safenic
// supports).
struct SplitDesc : Layout<SplitDesc, 16, ByteOrder::kLittle> {
  using ADDR = Field<0, uint64_t>;
  using LEN = Field<8, uint32_t>;
  using FLAGS = Field<12, uint16_t>;
  using NEXT = Field<14, uint16_t>;
};
inline constexpr uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;

// §2.7.6 The Virtqueue Available Ring (the driver area): flags and idx, then
// ring[queue size] of descriptor chain heads, then used_event (read by the
// device only with VIRTIO_F_EVENT_IDX, but always part of the area).
struct AvailHeader : Layout<AvailHeader, 4, ByteOrder::kLittle> {
  using FLAGS = Field<0, uint16_t>;
  using IDX = Field<2, uint16_t>;  // where the driver puts the next entry (free-running)
};
struct AvailEntry : Layout<AvailEntry, 2, ByteOrder::kLittle> {
  using ID = Field<0, uint16_t>;  // head of a descriptor chain
};
struct AvailTrailer : Layout<AvailTrailer, 2, ByteOrder::kLittle> {
  using USED_EVENT = Field<0, uint16_t>;  // §2.7.10: interrupt me when used idx passes this
};
using AvailRing = RingLayout<AvailHeader, AvailEntry, AvailTrailer>;
inline constexpr uint16_t kAvailNoInterrupt = 1;  // AvailHeader::FLAGS

// §2.7.8 The Virtqueue Used Ring (the device area): flags and idx, then
// ring[queue size] of used elements, then avail_event.
struct UsedHeader : Layout<UsedHeader, 4, ByteOrder::kLittle> {
  using FLAGS = Field<0, uint16_t>;
  using IDX = Field<2, uint16_t>;
};
struct UsedElem : Layout<UsedElem, 8, ByteOrder::kLittle> {
  using ID = Field<0, uint32_t>;   // head of the chain used (le32, though ids fit in 16 bits)
  using LEN = Field<4, uint32_t>;  // bytes the device wrote into the buffer
};
struct UsedTrailer : Layout<UsedTrailer, 2, ByteOrder::kLittle> {
  using AVAIL_EVENT = Field<0, uint16_t>;  // §2.7.10: notify me when avail idx passes this
};
using UsedRing = RingLayout<UsedHeader, UsedElem, UsedTrailer>;
inline constexpr uint16_t kUsedNoNotify = 1;  // UsedHeader::FLAGS

// The three areas' sizes for a split queue of n entries.
constexpr uint64_t split_desc_bytes(uint32_t n) { return uint64_t{SplitDesc::kSize} * n; }
constexpr uint64_t split_avail_bytes(uint32_t n) { return AvailRing::bytes(n); }
constexpr uint64_t split_used_bytes(uint32_t n) { return UsedRing::bytes(n); }
// §2.7.10.1 event index: notify when new_idx passed event_idx.
constexpr bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event_idx - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

// §2.8.13 Packed virtqueue descriptor, 16 bytes.
struct PackedDesc : Layout<PackedDesc, 16, ByteOrder::kLittle> {
  using ADDR = Field<0, uint64_t>;
  using LEN = Field<8, uint32_t>;
  using ID = Field<12, uint16_t>;
  using FLAGS = Field<14, uint16_t>;
};
inline constexpr uint16_t kPackedAvail = 1 << 7, kPackedUsed = 1 << 15;
// §2.8.14 event suppression structure: desc (le16: offset [14:0], wrap [15]),
// flags (le16: 0 enable, 1 disable, 2 desc).
struct PackedEvent : Layout<PackedEvent, 4, ByteOrder::kLittle> {
  using DESC = Field<0, uint16_t>;
  using FLAGS = Field<2, uint16_t>;
};
inline constexpr uint16_t kEventEnable = 0, kEventDisable = 1, kEventDesc = 2;

// §5.1.6 struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size,
// csum_start, csum_offset, num_buffers (with VERSION_1 or MRG_RXBUF).
struct NetHdr : Layout<NetHdr, 12, ByteOrder::kLittle> {
  using FLAGS = Field<0, uint8_t>;
  // §5.1.6 flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, the L4 checksum is to be
  // completed from csum_start to the end, into csum_start + csum_offset
  // (TX with VIRTIO_NET_F_CSUM; RX with GUEST_CSUM, §5.1.6.4);
  // VIRTIO_NET_HDR_F_DATA_VALID, the device validated the checksum (RX with
  // GUEST_CSUM only: a driver MUST NOT set it, §5.1.6.2.1).
  using NEEDS_CSUM = Bit<0, uint8_t, 0>;
  using DATA_VALID = Bit<0, uint8_t, 1>;
  using GSO_TYPE = Field<1, uint8_t>;
  using HDR_LEN = Field<2, uint16_t>;
  using GSO_SIZE = Field<4, uint16_t>;
  using CSUM_START = Field<6, uint16_t>;
  using CSUM_OFFSET = Field<8, uint16_t>;
  using NUM_BUFFERS = Field<10, uint16_t>;
};
// The header's size: 12 bytes with VERSION_1 or MRG_RXBUF, else 10.
constexpr uint32_t net_hdr_size(uint64_t features) {
  return (features & (feature::bit(feature::kVersion1) | feature::bit(feature::kMrgRxbuf))) ? 12
                                                                                            : 10;
}

// §5.1.6.5 control virtqueue: {class u8, command u8, data..., ack u8}.
inline constexpr uint8_t kCtrlRx = 0, kCtrlRxPromisc = 0, kCtrlRxAllmulti = 1;
inline constexpr uint8_t kCtrlMq = 4, kCtrlMqVqPairsSet = 0;
inline constexpr uint8_t kCtrlOk = 0, kCtrlErr = 1;

}  // namespace safenic::virtio
