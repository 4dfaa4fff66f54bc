// The virtio-net model's transport (virtio 1.2 §4.1, virtio over PCI): its
// PCI identity and configuration space, the legacy registers in I/O BAR 0 or
// the modern structures in memory BAR 4 (common configuration, notifications,
// ISR, device configuration), the device status and a queue's enabling. The
// rings and the frames are in model.cc.
#include "sim/virtio/model.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_format.h"

namespace safenic::sim {

using namespace ::safenic::virtio;  // the shared interface definition
using feature::bit;

namespace {
// Modern layout: one memory BAR (BAR4) holding the four structures.
constexpr int kModernBar = 4;
constexpr uint32_t kModernBarSize = 0x4000;
constexpr uint32_t kCommonOff = 0x0000, kIsrOff = 0x1000, kDeviceOff = 0x2000, kNotifyOff = 0x3000,
                   kNotifyMultiplier = 4;
}  // namespace

PciId VirtioNetModel::id() const {
  return {kVendor, config_.legacy ? kLegacyNetDevice : kModernNetDevice};
}

size_t VirtioNetModel::bar_size(int bar) const {
  // Legacy: the registers and the net config the offered features imply,
  // rounded up to a power of two, as QEMU sizes it (32 bytes with MQ).
  if (config_.legacy) {
    const uint32_t config = config_.features & bit(feature::kMtu)  ? 12
                            : config_.features & bit(feature::kMq) ? 10
                                                                   : 8;
    return bar == 0 ? std::bit_ceil(kLegacyConfig + config) : 0;
  }
  return bar == kModernBar ? kModernBarSize : 0;
}

// PCI configuration space: ids, the capability list (modern only).
uint32_t VirtioNetModel::config_read32(uint32_t off) const {
  auto cap = [](uint8_t next, uint8_t len, uint8_t type, uint32_t offset, uint32_t length,
                uint32_t word) -> uint32_t {
    switch (word) {
      case 0: return kCapVendor | next << 8 | len << 16 | uint32_t{type} << 24;
      case 1: return kModernBar;
      case 2: return offset;
      case 3: return length;
      default: return kNotifyMultiplier;
    }
  };
  if (off == 0x00) return uint32_t{id().vendor} | uint32_t{id().device} << 16;
  // Class code: network controller, Ethernet (PCI Code and ID Assignment
  // spec, 02h/00h). Revision: a transitional device's is 0 (§4.1.2.3,
  // "Legacy Interfaces: A Note on PCI Device Discovery"); a modern one's 1
  // or higher (§4.1.2.1).
  if (off == 0x08) return 0x020000u << 8 | (config_.legacy ? 0 : 1);
  if (config_.legacy) {
    // The legacy registers in BAR0, which is I/O space (§4.1.4.8, "Legacy
    // Interfaces: A Note on PCI Device Layout"; bit 0 of a BAR says I/O,
    // PCI Local Bus spec 3.0, 6.2.5.1); the subsystem device id is the
    // virtio device id, 1 for network (§4.1.2.3), which is how a legacy
    // driver tells the device type.
    if (off == 0x10) return 0x1;
    if (off == 0x2C) return uint32_t{kVendor} | uint32_t{kVirtioNetDeviceId} << 16;
    return 0;
  }
  if (off == 0x04) return 1u << 20;  // status: capability list
  if (off == 0x34) return 0x40;
  const uint32_t w = (off % 16) / 4;
  if (off >= 0x40 && off < 0x50)
    return cap(0x50, 16, cap::kCommonCfg, kCommonOff, kCommonCfgSize, w);
  if (off >= 0x50 && off < 0x64)
    return cap(0x64, 20, cap::kNotifyCfg, kNotifyOff, 0x1000, (off - 0x50) / 4);
  if (off >= 0x64 && off < 0x74) return cap(0x74, 16, cap::kIsrCfg, kIsrOff, 4, (off - 0x64) / 4);
  if (off >= 0x74 && off < 0x84)
    return cap(0, 16, cap::kDeviceCfg, kDeviceOff, 0x10, (off - 0x74) / 4);
  return 0;
}

void VirtioNetModel::reset() {
  status_ = 0;
  driver_features_ = 0;
  features_written_ = false;
  promiscuous_ = false;
  active_pairs_ = 1;
  const bool ctrl = config_.features & bit(feature::kCtrlVq);
  vqs_.assign(2 * config_.max_queue_pairs + (ctrl ? 1 : 0), Vq{});
  for (Vq& vq : vqs_) vq.size = config_.queue_size;
}

void VirtioNetModel::fail(const std::string& what) {
  ctx_.log->report("virtio-net: " + what);
  status_ |= status::kDeviceNeedsReset;
}

// §3.1.1: status bits are set one step at a time; only a reset clears them.
void VirtioNetModel::write_status(uint8_t v) {
  if (v == 0) return reset();
  const uint8_t added = v & ~status_;
  if ((status_ & ~v) & ~status::kDeviceNeedsReset) {
    // §2.1.2: the driver MUST NOT clear a status bit. Reported; then the
    // device stores the value, as common devices do (QEMU's among them):
    // DEVICE_NEEDS_RESET here would hang a legacy driver, which cannot see it.
    ctx_.log->report(
        absl::StrFormat("virtio-net: status %#x clears bits of %#x without a reset", v, status_));
    status_ = v;
    return;
  }
  auto needs = [&](uint8_t bit_, uint8_t before, const char* what) {
    if ((added & bit_) && !(v & before)) {
      fail(absl::StrFormat("status %s set before %s", what,
                           before == status::kAcknowledge ? "ACKNOWLEDGE"
                           : before == status::kDriver    ? "DRIVER"
                                                          : "FEATURES_OK"));
      return false;
    }
    return true;
  };
  if (!needs(status::kDriver, status::kAcknowledge, "DRIVER")) return;
  if (!needs(status::kFeaturesOk, status::kDriver, "FEATURES_OK")) return;
  if (!config_.legacy && !needs(status::kDriverOk, status::kFeaturesOk, "DRIVER_OK")) return;
  status_ = v;
  if (added & status::kFeaturesOk) {
    if (config_.legacy) {
      status_ &= ~status::kFeaturesOk;
    } else if (driver_features_ & ~config_.features) {
      status_ &= ~status::kFeaturesOk;
      fail(absl::StrFormat("driver accepted features %#x that were not offered",
                           driver_features_ & ~config_.features));
    } else if ((driver_features_ & config_.refuse) || fault(VirtioFault::kRefuseFeatures)) {
      status_ &= ~status::kFeaturesOk;  // refused, as a device may (§3.1.1 step 6)
    } else if ((config_.features & bit(feature::kAccessPlatform)) &&
               !(driver_features_ & bit(feature::kAccessPlatform))) {
      // §6.2: a device behind an IOMMU MAY fail to operate further if the driver
      // does not accept ACCESS_PLATFORM; QEMU's refuses FEATURES_OK.
      status_ &= ~status::kFeaturesOk;
    }
  }
}

// A read of `width` bytes of the device configuration: its bytes in
// little-endian order (§4.1.3.1, and the legacy interface on a little-endian
// machine, §4.1.4.8). DPDK reads a legacy device's mac as 4 + 2 bytes.
uint64_t VirtioNetModel::device_config(uint32_t off, unsigned width) const {
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i) v |= uint64_t{device_config_byte(off + i)} << (8 * i);
  return v;
}

uint8_t VirtioNetModel::device_config_byte(uint32_t off) const {
  const uint16_t link = port_.connected() ? kNetStatusLinkUp : 0;
  if (off < 6) return config_.mac.bytes[off];
  if (off == kConfigStatus || off == kConfigStatus + 1)
    return static_cast<uint8_t>(link >> (8 * (off - kConfigStatus)));
  if (off == kConfigMaxPairs || off == kConfigMaxPairs + 1) {
    return static_cast<uint8_t>(config_.max_queue_pairs >> (8 * (off - kConfigMaxPairs)));
  }
  if ((off == kConfigMtu || off == kConfigMtu + 1) && (config_.features & bit(feature::kMtu))) {
    return static_cast<uint8_t>(config_.mtu >> (8 * (off - kConfigMtu)));
  }
  return 0;
}

uint64_t VirtioNetModel::mmio_read(int bar, uint32_t off, unsigned width) {
  if (config_.legacy) {
    switch (off) {
      case LEGACY_HOST_FEATURES::offset(): return static_cast<uint32_t>(config_.features);
      case LEGACY_GUEST_FEATURES::offset(): return static_cast<uint32_t>(driver_features_);
      case LEGACY_QUEUE_PFN::offset():
        return queue_select_ < vqs_.size() ? vqs_[queue_select_].desc / kLegacyQueueAlign : 0;
      case LEGACY_QUEUE_NUM::offset(): return queue_select_ < vqs_.size() ? config_.queue_size : 0;
      case LEGACY_QUEUE_SEL::offset(): return queue_select_;
      case LEGACY_QUEUE_NOTIFY::offset(): return legacy_queue_notify_;  // read-write (§4.1.4.8)
      case LEGACY_STATUS::offset(): return status_;
      case LEGACY_ISR::offset(): return 0;
    }
    if (off >= kLegacyConfig) return device_config(off - kLegacyConfig, width);
    ctx_.log->report(absl::StrFormat("virtio-net: legacy read at unknown offset %#x", off));
    return 0;
  }
  if (off < kIsrOff) return common_read(off - kCommonOff, width);
  if (off >= kDeviceOff && off < kNotifyOff) return device_config(off - kDeviceOff, width);
  if (off == kIsrOff) return 0;
  ctx_.log->report(
      absl::StrFormat("virtio-net: read of %d bytes at BAR%d offset %#x", width, bar, off));
  return 0;
}

void VirtioNetModel::mmio_write(int bar, uint32_t off, unsigned width, uint64_t v) {
  if (config_.legacy) {
    switch (off) {
      case LEGACY_GUEST_FEATURES::offset():
        driver_features_ = v & 0xFFFFFFFF;
        if (driver_features_ & ~config_.features) {
          fail(absl::StrFormat("driver accepted features %#x that were not offered",
                               driver_features_ & ~config_.features));
        }
        return;
      case LEGACY_QUEUE_PFN::offset(): {
        if (queue_select_ >= vqs_.size()) return fail("QUEUE_PFN for a queue that does not exist");
        Vq& vq = vqs_[queue_select_];
        vq.desc = uint64_t{static_cast<uint32_t>(v)} * kLegacyQueueAlign;
        vq.driver = vq.desc + split_desc_bytes(vq.size);
        vq.device = (vq.driver + split_avail_bytes(vq.size) + kLegacyQueueAlign - 1) /
                    kLegacyQueueAlign * kLegacyQueueAlign;
        if (v != 0) enable_queue(queue_select_);
        return;
      }
      case LEGACY_QUEUE_SEL::offset(): queue_select_ = static_cast<uint16_t>(v); return;
      case LEGACY_QUEUE_NOTIFY::offset():
        legacy_queue_notify_ = static_cast<uint16_t>(v);
        return notify(legacy_queue_notify_);
      case LEGACY_STATUS::offset(): return write_status(static_cast<uint8_t>(v));
    }
    // §5.1.6.5.2, "Legacy Interface: Setting MAC Address Filtering": without
    // VIRTIO_NET_F_CTRL_MAC_ADDR (never offered here) a legacy driver sets
    // the MAC by writing mac in the configuration space, first byte to last;
    // the device filters on it from then on.
    if (off >= kLegacyConfig && off + width <= kLegacyConfig + 6) {
      for (unsigned i = 0; i < width; ++i)
        config_.mac.bytes[off - kLegacyConfig + i] = static_cast<uint8_t>(v >> (8 * i));
      return;
    }
    ctx_.log->report(
        absl::StrFormat("virtio-net: legacy write at read-only or unknown offset %#x", off));
    return;
  }
  if (off < kIsrOff) return common_write(off - kCommonOff, width, v);
  if (off >= kNotifyOff && off < kNotifyOff + 0x1000 && width == 2) {
    const uint32_t q = (off - kNotifyOff) / kNotifyMultiplier;
    if (q != v)
      fail(absl::StrFormat("notification of queue %d written at queue %d's address", v, q));
    return notify(static_cast<uint16_t>(q));
  }
  ctx_.log->report(
      absl::StrFormat("virtio-net: write of %d bytes at BAR%d offset %#x", width, bar, off));
}

// §4.1.3.1: a driver accesses a 64-bit field (queue_desc, queue_driver,
// queue_device) as two 32-bit halves, each on its own.
const char* VirtioNetModel::wide_field(uint32_t off) {
  switch (off & ~7u) {
    case QUEUE_DESC::offset(): return "queue_desc";
    case QUEUE_DRIVER::offset(): return "queue_driver";
    case QUEUE_DEVICE::offset(): return "queue_device";
  }
  return nullptr;
}

uint64_t VirtioNetModel::Vq::*VirtioNetModel::wide_field_member(uint32_t off) {
  switch (off & ~7u) {
    case QUEUE_DESC::offset(): return &Vq::desc;
    case QUEUE_DRIVER::offset(): return &Vq::driver;
    case QUEUE_DEVICE::offset(): return &Vq::device;
  }
  return nullptr;
}

uint64_t VirtioNetModel::common_read(uint32_t off, unsigned width) {
  const Vq* vq = queue_select_ < vqs_.size() ? &vqs_[queue_select_] : nullptr;
  if (const char* field = wide_field(off); field != nullptr) {
    if (width != 4) {
      fail(absl::StrFormat("%d-byte read of %s; a driver reads a 64-bit field as two 32-bit halves",
                           width, field));
    }
    if (vq == nullptr) return 0;
    const uint64_t v = vq->*wide_field_member(off);
    return off % 8 == 0 ? (width == 8 ? v : v & 0xFFFFFFFF) : v >> 32;
  }
  switch (off) {
    case DEVICE_FEATURE_SELECT::offset(): return device_feature_select_;
    case DEVICE_FEATURE::offset():
      return device_feature_select_ < 2
                 ? static_cast<uint32_t>(config_.features >> (32 * device_feature_select_))
                 : 0;
    case DRIVER_FEATURE_SELECT::offset(): return driver_feature_select_;
    case DRIVER_FEATURE::offset():
      return driver_feature_select_ < 2
                 ? static_cast<uint32_t>(driver_features_ >> (32 * driver_feature_select_))
                 : 0;
    case NUM_QUEUES::offset(): return vqs_.size();
    case DEVICE_STATUS::offset(): return status_;
    case CONFIG_GENERATION::offset(): return 0;
    case QUEUE_SELECT::offset(): return queue_select_;
    case QUEUE_SIZE::offset(): return vq ? vq->size : 0;
    case QUEUE_ENABLE::offset(): return vq ? vq->enabled : 0;
    case QUEUE_NOTIFY_OFF::offset(): return queue_select_;
    case MSIX_CONFIG::offset():
    case QUEUE_MSIX_VECTOR::offset(): return 0xFFFF;  // NO_VECTOR
  }
  ctx_.log->report(absl::StrFormat("virtio-net: common config read at %#x", off));
  return 0;
}

void VirtioNetModel::common_write(uint32_t off, unsigned width, uint64_t v) {
  switch (off) {
    case DEVICE_FEATURE_SELECT::offset(): device_feature_select_ = static_cast<uint32_t>(v); return;
    case DRIVER_FEATURE_SELECT::offset(): driver_feature_select_ = static_cast<uint32_t>(v); return;
    case DRIVER_FEATURE::offset(): {
      if (status_ & status::kFeaturesOk) return fail("driver features written after FEATURES_OK");
      if (driver_feature_select_ >= 2) return;
      const int shift = 32 * driver_feature_select_;
      driver_features_ = (driver_features_ & ~(uint64_t{0xFFFFFFFF} << shift)) | (v << shift);
      return;
    }
    case DEVICE_STATUS::offset(): return write_status(static_cast<uint8_t>(v));
    case QUEUE_SELECT::offset(): queue_select_ = static_cast<uint16_t>(v); return;
    case MSIX_CONFIG::offset():
    case QUEUE_MSIX_VECTOR::offset(): return;
  }
  if (queue_select_ >= vqs_.size())
    return fail(absl::StrFormat("queue %d does not exist", queue_select_));
  if (!(status_ & status::kFeaturesOk)) {
    return fail(absl::StrFormat("queue %d configured before FEATURES_OK", queue_select_));
  }
  Vq& vq = vqs_[queue_select_];
  if (const char* field = wide_field(off); field != nullptr) {
    uint64_t& value = vq.*wide_field_member(off);
    if (width == 8) {
      fail(absl::StrFormat(
          "8-byte write of %s; a driver writes a 64-bit field as two 32-bit halves", field));
      value = v;
    } else if (off % 8 == 0) {
      value = (value & ~uint64_t{0xFFFFFFFF}) | (v & 0xFFFFFFFF);
    } else {
      value = (value & 0xFFFFFFFF) | (v & 0xFFFFFFFF) << 32;
    }
    return;
  }
  switch (off) {
    case QUEUE_SIZE::offset():
      if (v == 0 || v > config_.queue_size || (!packed() && (v & (v - 1)))) {
        return fail(absl::StrFormat("queue %d size %d (maximum %d%s)", queue_select_, v,
                                    config_.queue_size, packed() ? "" : ", a power of two"));
      }
      vq.size = static_cast<uint16_t>(v);
      return;
    case QUEUE_ENABLE::offset():
      if (v == 1) enable_queue(queue_select_);
      return;
  }
  ctx_.log->report(absl::StrFormat("virtio-net: common config write at %#x", off));
}

void VirtioNetModel::enable_queue(uint16_t q) {
  Vq& vq = vqs_[q];
  // §2.7 / §2.8 alignment: descriptors 16, driver area 2 (packed 4), device area 4.
  if (vq.desc % 16 != 0 || vq.driver % (packed() ? 4 : 2) != 0 || vq.device % 4 != 0) {
    return fail(absl::StrFormat("queue %d areas misaligned (%#x, %#x, %#x)", q, vq.desc, vq.driver,
                                vq.device));
  }
  vq.enabled = true;
  vq.last_avail = vq.used_idx = vq.next = vq.used_next = vq.next_desc = 0;
  vq.wrap = vq.used_wrap = true;
  // Kicks only where the device works on them: TX and control queues. RX
  // buffers are looked at when a frame arrives.
  suppress_notifications(vq, is_control(q) || q % 2 == 1);
}

}  // namespace safenic::sim
