// nic/virtio/spec.h against Linux's virtio UAPI headers (linux-libc-dev:
// <linux/virtio_config.h>, virtio_net.h, virtio_pci.h, virtio_ring.h), which
// Linux, QEMU and DPDK's virtio code are built against. Each definition safenic
// shares between driver and model is compared with Linux's at compile time
// (a difference does not build, naming the definition); virtio_ring.h, whose
// inline functions are C only, through linux_virtio_ring.c at run time.
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
// virtio_net.h names a member `class`: a C++ keyword.
#define class class_
#include <linux/virtio_net.h>
#undef class

#include <cstddef>
#include <cstdint>

#include "gtest/gtest.h"
#include "nic/virtio/spec.h"
#include "sim/virtio/model.h"
#include "tests/fidelity/linux_virtio_ring.h"

namespace safenic::virtio {
namespace {

// A field of a little-endian layout at Offset, Bytes wide, whole words.
template <typename F>
constexpr bool at(size_t offset, size_t bytes) {
  return F::kOffset == offset && F::kLo == 0 && F::kWidth == bytes * 8 &&
         sizeof(typename F::Word) == bytes;
}
template <typename R>
constexpr bool reg_at(size_t offset, size_t bytes) {
  return R::offset() == offset && sizeof(typename R::Word) == bytes;
}

// §4.1.2 PCI device discovery.
static_assert(kModernNetDevice == 0x1040 + VIRTIO_ID_NET);
static_assert(kLegacyNetDevice == 0x1000 + VIRTIO_ID_NET - 1);  // transitional ids start at 0x1000
static_assert(kVirtioNetDeviceId == VIRTIO_ID_NET);

// §2.1 Device status.
static_assert(status::kAcknowledge == VIRTIO_CONFIG_S_ACKNOWLEDGE);
static_assert(status::kDriver == VIRTIO_CONFIG_S_DRIVER);
static_assert(status::kDriverOk == VIRTIO_CONFIG_S_DRIVER_OK);
static_assert(status::kFeaturesOk == VIRTIO_CONFIG_S_FEATURES_OK);
static_assert(status::kDeviceNeedsReset == VIRTIO_CONFIG_S_NEEDS_RESET);
static_assert(status::kFailed == VIRTIO_CONFIG_S_FAILED);

// §5.1.3 and §6 feature bits.
static_assert(feature::kCsum == VIRTIO_NET_F_CSUM);
static_assert(feature::kGuestCsum == VIRTIO_NET_F_GUEST_CSUM);
static_assert(feature::kMtu == VIRTIO_NET_F_MTU);
static_assert(feature::kMac == VIRTIO_NET_F_MAC);
static_assert(feature::kMrgRxbuf == VIRTIO_NET_F_MRG_RXBUF);
static_assert(feature::kStatus == VIRTIO_NET_F_STATUS);
static_assert(feature::kCtrlVq == VIRTIO_NET_F_CTRL_VQ);
static_assert(feature::kCtrlRx == VIRTIO_NET_F_CTRL_RX);
static_assert(feature::kMq == VIRTIO_NET_F_MQ);
static_assert(feature::kAnyLayout == VIRTIO_F_ANY_LAYOUT);
// (VIRTIO_RING_F_INDIRECT_DESC and _EVENT_IDX are in virtio_ring.h: below.)
static_assert(feature::kVersion1 == VIRTIO_F_VERSION_1);
static_assert(feature::kAccessPlatform == VIRTIO_F_ACCESS_PLATFORM);
static_assert(feature::kRingPacked == VIRTIO_F_RING_PACKED);
static_assert(feature::kInOrder == VIRTIO_F_IN_ORDER);

// §5.1.4 device configuration.
static_assert(kConfigMac == offsetof(virtio_net_config, mac));
static_assert(kConfigStatus == offsetof(virtio_net_config, status));
static_assert(kConfigMaxPairs == offsetof(virtio_net_config, max_virtqueue_pairs));
static_assert(kNetStatusLinkUp == VIRTIO_NET_S_LINK_UP);

// §4.1.4.8 legacy I/O registers.
static_assert(reg_at<LEGACY_HOST_FEATURES>(VIRTIO_PCI_HOST_FEATURES, 4));
static_assert(reg_at<LEGACY_GUEST_FEATURES>(VIRTIO_PCI_GUEST_FEATURES, 4));
static_assert(reg_at<LEGACY_QUEUE_PFN>(VIRTIO_PCI_QUEUE_PFN, 4));
static_assert(reg_at<LEGACY_QUEUE_NUM>(VIRTIO_PCI_QUEUE_NUM, 2));
static_assert(reg_at<LEGACY_QUEUE_SEL>(VIRTIO_PCI_QUEUE_SEL, 2));
static_assert(reg_at<LEGACY_QUEUE_NOTIFY>(VIRTIO_PCI_QUEUE_NOTIFY, 2));
static_assert(reg_at<LEGACY_STATUS>(VIRTIO_PCI_STATUS, 1));
static_assert(reg_at<LEGACY_ISR>(VIRTIO_PCI_ISR, 1));
static_assert(kLegacyConfig == VIRTIO_PCI_CONFIG_OFF(0));  // without MSI-X
static_assert(kLegacyQueueAlign == VIRTIO_PCI_VRING_ALIGN);
// The legacy register layout says which registers a driver may read: Queue
// Notify is read-write (§4.1.4.8), so a read must not be refused.
static_assert(is_readable(LEGACY_QUEUE_NOTIFY::kAccess));

// §4.1.4 capabilities.
static_assert(kCapVendor == PCI_CAP_ID_VNDR);
static_assert(cap::kCommonCfg == VIRTIO_PCI_CAP_COMMON_CFG);
static_assert(cap::kNotifyCfg == VIRTIO_PCI_CAP_NOTIFY_CFG);
static_assert(cap::kIsrCfg == VIRTIO_PCI_CAP_ISR_CFG);
static_assert(cap::kDeviceCfg == VIRTIO_PCI_CAP_DEVICE_CFG);

// §4.1.4.3 common configuration.
static_assert(reg_at<DEVICE_FEATURE_SELECT>(offsetof(virtio_pci_common_cfg, device_feature_select),
                                            4));
static_assert(reg_at<DEVICE_FEATURE>(offsetof(virtio_pci_common_cfg, device_feature), 4));
static_assert(reg_at<DRIVER_FEATURE_SELECT>(offsetof(virtio_pci_common_cfg, guest_feature_select),
                                            4));
static_assert(reg_at<DRIVER_FEATURE>(offsetof(virtio_pci_common_cfg, guest_feature), 4));
static_assert(reg_at<MSIX_CONFIG>(offsetof(virtio_pci_common_cfg, msix_config), 2));
static_assert(reg_at<NUM_QUEUES>(offsetof(virtio_pci_common_cfg, num_queues), 2));
static_assert(reg_at<DEVICE_STATUS>(offsetof(virtio_pci_common_cfg, device_status), 1));
static_assert(reg_at<CONFIG_GENERATION>(offsetof(virtio_pci_common_cfg, config_generation), 1));
static_assert(reg_at<QUEUE_SELECT>(offsetof(virtio_pci_common_cfg, queue_select), 2));
static_assert(reg_at<QUEUE_SIZE>(offsetof(virtio_pci_common_cfg, queue_size), 2));
static_assert(reg_at<QUEUE_MSIX_VECTOR>(offsetof(virtio_pci_common_cfg, queue_msix_vector), 2));
static_assert(reg_at<QUEUE_ENABLE>(offsetof(virtio_pci_common_cfg, queue_enable), 2));
static_assert(reg_at<QUEUE_NOTIFY_OFF>(offsetof(virtio_pci_common_cfg, queue_notify_off), 2));
// 64-bit addresses as lo/hi pairs: lo at the register's offset, hi after it.
static_assert(reg_at<QUEUE_DESC>(offsetof(virtio_pci_common_cfg, queue_desc_lo), 8));
static_assert(offsetof(virtio_pci_common_cfg, queue_desc_hi) == QUEUE_DESC::offset() + 4);
static_assert(reg_at<QUEUE_DRIVER>(offsetof(virtio_pci_common_cfg, queue_avail_lo), 8));
static_assert(offsetof(virtio_pci_common_cfg, queue_avail_hi) == QUEUE_DRIVER::offset() + 4);
static_assert(reg_at<QUEUE_DEVICE>(offsetof(virtio_pci_common_cfg, queue_used_lo), 8));
static_assert(offsetof(virtio_pci_common_cfg, queue_used_hi) == QUEUE_DEVICE::offset() + 4);
static_assert(kCommonCfgSize == sizeof(virtio_pci_common_cfg));
static_assert(VIRTIO_PCI_COMMON_Q_USEDHI + 4 == kCommonCfgSize);

// §5.1.6 the net header.
static_assert(NetHdr::kSize == sizeof(virtio_net_hdr_mrg_rxbuf));
static_assert(at<NetHdr::FLAGS>(offsetof(virtio_net_hdr, flags), 1));
static_assert(NetHdr::NEEDS_CSUM::kMask == VIRTIO_NET_HDR_F_NEEDS_CSUM);
static_assert(NetHdr::DATA_VALID::kMask == VIRTIO_NET_HDR_F_DATA_VALID);
static_assert(at<NetHdr::GSO_TYPE>(offsetof(virtio_net_hdr, gso_type), 1));
static_assert(at<NetHdr::HDR_LEN>(offsetof(virtio_net_hdr, hdr_len), 2));
static_assert(at<NetHdr::GSO_SIZE>(offsetof(virtio_net_hdr, gso_size), 2));
static_assert(at<NetHdr::CSUM_START>(offsetof(virtio_net_hdr, csum_start), 2));
static_assert(at<NetHdr::CSUM_OFFSET>(offsetof(virtio_net_hdr, csum_offset), 2));
static_assert(at<NetHdr::NUM_BUFFERS>(offsetof(virtio_net_hdr_mrg_rxbuf, num_buffers), 2));
static_assert(net_hdr_size(0) == sizeof(virtio_net_hdr));
static_assert(net_hdr_size(feature::bit(feature::kVersion1)) == sizeof(virtio_net_hdr_v1));
static_assert(net_hdr_size(feature::bit(feature::kMrgRxbuf)) == sizeof(virtio_net_hdr_mrg_rxbuf));

// §5.1.6.5 control virtqueue.
static_assert(kCtrlRx == VIRTIO_NET_CTRL_RX);
static_assert(kCtrlRxPromisc == VIRTIO_NET_CTRL_RX_PROMISC);
static_assert(kCtrlRxAllmulti == VIRTIO_NET_CTRL_RX_ALLMULTI);
static_assert(kCtrlMq == VIRTIO_NET_CTRL_MQ);
static_assert(kCtrlMqVqPairsSet == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
static_assert(kCtrlOk == VIRTIO_NET_OK);
static_assert(kCtrlErr == VIRTIO_NET_ERR);

// <linux/virtio_ring.h>: §2.7.5 split descriptors, §2.7.6 avail ring, §2.7.8
// used ring, §2.8.13 packed descriptors, §2.8.14 event suppression.
template <typename F>
bool field_at(uint32_t offset, uint32_t bytes) {
  return at<F>(offset, bytes);
}

// The model's configuration space as Linux's virtio_pci driver probes it
// (drivers/virtio/virtio_pci_legacy_dev.c, vp_legacy_probe: a transitional
// device's revision is VIRTIO_PCI_ABI_VERSION, its device type the subsystem
// device id, its registers an I/O BAR 0; virtio_pci_modern_dev.c for the
// modern one's revision), read with <linux/pci_regs.h>'s offsets. DPDK's uio
// path found the legacy model saying memory (it then mapped the BAR).
TEST(VirtioUapi, TheModelsConfigSpaceIsWhatLinuxsVirtioPciProbes) {
  auto byte = [](const sim::VirtioNetModel& m, uint32_t off) {
    return (m.config_read32(off & ~3u) >> (8 * (off & 3))) & 0xFF;
  };
  auto word = [](const sim::VirtioNetModel& m, uint32_t off) {
    return (m.config_read32(off & ~3u) >> (8 * (off & 3))) & 0xFFFF;
  };
  sim::VirtioNetConfig legacy_config;
  legacy_config.legacy = true;
  const sim::VirtioNetModel legacy(sim::SimContext{}, legacy_config);
  EXPECT_EQ(byte(legacy, PCI_REVISION_ID), VIRTIO_PCI_ABI_VERSION);
  EXPECT_EQ(word(legacy, PCI_SUBSYSTEM_ID), VIRTIO_ID_NET);
  EXPECT_EQ(legacy.config_read32(PCI_BASE_ADDRESS_0) & PCI_BASE_ADDRESS_SPACE,
            PCI_BASE_ADDRESS_SPACE_IO);
  constexpr uint32_t kEthernet =
      0x0200;  // class 02h, subclass 00h (PCI Code and ID Assignment spec; not in the UAPI)
  EXPECT_EQ(word(legacy, PCI_CLASS_DEVICE), kEthernet);
  const sim::VirtioNetModel modern(sim::SimContext{}, sim::VirtioNetConfig{});
  EXPECT_GE(byte(modern, PCI_REVISION_ID), 1u);
  EXPECT_EQ(word(modern, PCI_CLASS_DEVICE), kEthernet);
  EXPECT_EQ(modern.config_read32(PCI_BASE_ADDRESS_0) & PCI_BASE_ADDRESS_SPACE, 0u)
      << "its BARs are memory";
}

TEST(VirtioUapi, RingLayoutsAndFlagsAreLinuxs) {
  const LinuxVirtioRing& l = kLinuxVirtioRing;
  EXPECT_EQ(uint32_t{feature::kIndirectDesc}, l.ring_f_indirect_desc);
  EXPECT_EQ(uint32_t{feature::kEventIdx}, l.ring_f_event_idx);
  EXPECT_EQ(SplitDesc::kSize, l.desc_size);
  EXPECT_TRUE(field_at<SplitDesc::ADDR>(l.desc_addr, 8));
  EXPECT_TRUE(field_at<SplitDesc::LEN>(l.desc_len, 4));
  EXPECT_TRUE(field_at<SplitDesc::FLAGS>(l.desc_flags, 2));
  EXPECT_TRUE(field_at<SplitDesc::NEXT>(l.desc_next, 2));
  EXPECT_EQ(kDescNext, l.desc_f_next);
  EXPECT_EQ(kDescWrite, l.desc_f_write);
  EXPECT_EQ(kDescIndirect, l.desc_f_indirect);
  EXPECT_EQ(kAvailNoInterrupt, l.avail_f_no_interrupt);
  EXPECT_EQ(kUsedNoNotify, l.used_f_no_notify);
  EXPECT_EQ(split_used_bytes(1) - split_used_bytes(0), l.used_elem_size);
  EXPECT_TRUE(field_at<AvailHeader::FLAGS>(l.avail_flags, 2));
  EXPECT_TRUE(field_at<AvailHeader::IDX>(l.avail_idx, 2));
  EXPECT_EQ(AvailRing::entry_offset(0), l.avail_ring);
  EXPECT_EQ(AvailEntry::kSize, l.avail_entry_size);
  EXPECT_TRUE(field_at<UsedHeader::FLAGS>(l.used_flags, 2));
  EXPECT_TRUE(field_at<UsedHeader::IDX>(l.used_idx, 2));
  EXPECT_EQ(UsedRing::entry_offset(0), l.used_ring);
  EXPECT_EQ(UsedElem::kSize, l.used_elem_size);
  EXPECT_TRUE(field_at<UsedElem::ID>(l.used_elem_id, 4));
  EXPECT_TRUE(field_at<UsedElem::LEN>(l.used_elem_len, 4));
  EXPECT_EQ(PackedDesc::kSize, l.packed_desc_size);
  EXPECT_TRUE(field_at<PackedDesc::ADDR>(l.packed_desc_addr, 8));
  EXPECT_TRUE(field_at<PackedDesc::LEN>(l.packed_desc_len, 4));
  EXPECT_TRUE(field_at<PackedDesc::ID>(l.packed_desc_id, 2));
  EXPECT_TRUE(field_at<PackedDesc::FLAGS>(l.packed_desc_flags, 2));
  EXPECT_EQ(kPackedAvail, l.packed_desc_f_avail);
  EXPECT_EQ(kPackedUsed, l.packed_desc_f_used);
  EXPECT_EQ(PackedEvent::kSize, l.packed_event_size);
  EXPECT_TRUE(field_at<PackedEvent::DESC>(l.packed_event_off_wrap, 2));
  EXPECT_TRUE(field_at<PackedEvent::FLAGS>(l.packed_event_flags, 2));
  EXPECT_EQ(kEventEnable, l.packed_event_flag_enable);
  EXPECT_EQ(kEventDisable, l.packed_event_flag_disable);
  EXPECT_EQ(kEventDesc, l.packed_event_flag_desc);
}

// What static_assert cannot compare: functions. The split ring's sizes and
// the event-index rule against Linux's own vring_size() and
// vring_need_event(), over every queue size and a sweep of indices.
TEST(VirtioUapi, SplitRingSizesAreLinuxsVringSize) {
  for (unsigned n = 1; n <= 32768; n *= 2) {
    // Legacy layout (§2.7 legacy interfaces): descriptors, the avail ring,
    // padding to the alignment, the used ring.
    const uint64_t avail_end = split_desc_bytes(n) + split_avail_bytes(n);
    const uint64_t used_start =
        (avail_end + kLegacyQueueAlign - 1) / kLegacyQueueAlign * kLegacyQueueAlign;
    EXPECT_EQ(used_start + split_used_bytes(n), linux_vring_size(n, kLegacyQueueAlign))
        << "queue size " << n;
  }
}

// The event index words follow the rings (§2.7.10): where Linux's
// vring_used_event() and vring_avail_event() find them, for every size.
TEST(VirtioUapi, EventIndexWordsAreWhereLinuxFindsThem) {
  EXPECT_TRUE(field_at<AvailTrailer::USED_EVENT>(0, 2));
  EXPECT_TRUE(field_at<UsedTrailer::AVAIL_EVENT>(0, 2));
  alignas(8) static uint8_t ring[UsedRing::bytes(16384)];
  const auto offset = [](const uint8_t* p) { return static_cast<uint32_t>(p - ring); };
  for (unsigned n = 1; n <= 16384; n *= 2) {
    EXPECT_EQ(offset(RingRef<AvailRing>(ring, n).trailer().data()), linux_used_event_offset(n))
        << "queue size " << n;
    EXPECT_EQ(offset(RingRef<UsedRing>(ring, n).trailer().data()), linux_avail_event_offset(n))
        << "queue size " << n;
  }
}

TEST(VirtioUapi, NeedEventIsLinuxsVringNeedEvent) {
  for (uint32_t event = 0; event < 0x10000; event += 251) {
    for (uint32_t old_idx = 0; old_idx < 0x10000; old_idx += 257) {
      for (uint32_t step : {0u, 1u, 2u, 255u, 32768u, 65535u}) {
        const auto e = static_cast<uint16_t>(event), o = static_cast<uint16_t>(old_idx),
                   n = static_cast<uint16_t>(old_idx + step);
        ASSERT_EQ(need_event(e, n, o), linux_vring_need_event(e, n, o) != 0)
            << "event " << e << " new " << n << " old " << o;
      }
    }
  }
}

}  // namespace
}  // namespace safenic::virtio
