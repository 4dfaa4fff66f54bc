// The vhost-user front-end behind a virtio-net PCI function (see function.h).
#include "nic/vhost_user/function.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/arena.h"
#include "mem/status.h"
#include "nic/bar.h"
#include "nic/open.h"
#include "nic/vhost_user/frontend.h"
#include "nic/vhost_user/protocol.h"
#include "nic/virtio/spec.h"

namespace safenic::vhost_user {
namespace internal {

MacAddress mac_from(const std::string& name) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  // Locally administered (bit 1), unicast (bit 0 clear).
  return MacAddress{{0x02, 0x5a, 0xfe, static_cast<uint8_t>(h >> 16), static_cast<uint8_t>(h >> 8),
                     static_cast<uint8_t>(h)}};
}

absl::Status VhostUserFunction::connect() {
  // vhost-user.rst "Session start": SET_OWNER, then the features.
  SAFENIC_RETURN_IF_ERROR(channel_.send(Message::header_only(Request::kSetOwner)));
  SAFENIC_ASSIGN_OR_RETURN(auto features, call(Message::header_only(Request::kGetFeatures)));
  SAFENIC_ASSIGN_OR_RETURN(auto f, features.as_u64());
  backend_features_ = f;
  if (!(backend_features_ & bit(feature::kVersion1))) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the vhost-user back-end does not offer VIRTIO_F_VERSION_1 (features %#x); "
        "safenic's vhost-user front-end presents a modern virtio device",
        name_, backend_features_));
  }
  if (protocol_features()) {
    SAFENIC_ASSIGN_OR_RETURN(auto pf, call(Message::header_only(Request::kGetProtocolFeatures)));
    SAFENIC_ASSIGN_OR_RETURN(auto offered, pf.as_u64());
    protocol_features_ = offered & kWantedProtocol;
    if (absl::Status s =
            channel_.send(Message::u64(Request::kSetProtocolFeatures, protocol_features_));
        !s.ok()) {
      return s;
    }
    reply_ack_ = protocol_features_ & (uint64_t{1} << protocol_feature::kReplyAck);
    if (protocol_features_ & (uint64_t{1} << protocol_feature::kMq)) {
      // vhost-user.rst "Multiple queue support": how many queues the back-end has.
      SAFENIC_ASSIGN_OR_RETURN(auto num, call(Message::header_only(Request::kGetQueueNum)));
      SAFENIC_ASSIGN_OR_RETURN(auto n, num.as_u64());
      max_pairs_ = static_cast<uint16_t>(std::clamp<uint64_t>(n, 1, kMaxQueuePairs));
    }
  }
  reset_registers();  // the queue count is known now
  return sync();
}

absl::StatusOr<uint32_t> VhostUserFunction::config_read32(uint32_t off) {
  // PCI configuration space (PCI 3.0 §6.1) with the virtio vendor
  // capabilities (virtio 1.2 §4.1.4) chained from 0x40.
  auto cap = [](uint8_t next, uint8_t len, uint8_t type, uint32_t offset, uint32_t length,
                uint32_t word) -> uint32_t {
    switch (word) {
      case 0: return kCapVendor | next << 8 | len << 16 | uint32_t{type} << 24;
      case 1: return kBarIndex;
      case 2: return offset;
      case 3: return length;
      default: return kNotifyMultiplier;
    }
  };
  switch (off) {
    case 0x00: return uint32_t{kVendor} | uint32_t{kModernNetDevice} << 16;
    case 0x04: return 1u << 20 | 0x2;     // status: capability list; command: memory
    case 0x08: return 0x02000000 | 0x01;  // class: Ethernet controller; revision 1
    case 0x2C: return uint32_t{kVendor} | 0x1100u << 16;  // subsystem
    case 0x34: return 0x40;                               // capabilities pointer
  }
  if (off >= 0x40 && off < 0x50)
    return cap(0x50, 16, cap::kCommonCfg, kCommonOff, kCommonCfgSize, (off - 0x40) / 4);
  if (off >= 0x50 && off < 0x64)
    return cap(0x64, 20, cap::kNotifyCfg, kNotifyOff, queues() * kNotifyMultiplier,
               (off - 0x50) / 4);
  if (off >= 0x64 && off < 0x74) return cap(0x74, 16, cap::kIsrCfg, kIsrOff, 4, (off - 0x64) / 4);
  if (off >= 0x74 && off < 0x84)
    return cap(0, 16, cap::kDeviceCfg, kDeviceOff, 0x10, (off - 0x74) / 4);
  if (off >= 0x1000 || off % 4 != 0) {
    return absl::OutOfRangeError(absl::StrFormat("%s: config space read at %#x", name_, off));
  }
  return 0;
}

uint64_t VhostUserFunction::read(uint32_t off, unsigned width) {
  if (off < kIsrOff) return common_read(off - kCommonOff, width);
  if (off >= kDeviceOff && off < kNotifyOff) {
    uint64_t v = 0;
    for (unsigned i = 0; i < width; ++i)
      v |= uint64_t{device_config(off - kDeviceOff + i)} << (8 * i);
    return v;
  }
  return 0;  // ISR (safenic polls) and the notify area read as 0
}

void VhostUserFunction::write(uint32_t off, unsigned width, uint64_t v) {
  if (off < kIsrOff) return common_write(off - kCommonOff, width, v);
  if (off - kNotifyOff < kMaxQueues * kNotifyMultiplier && width == 2) {
    return notify((off - kNotifyOff) / kNotifyMultiplier, static_cast<uint16_t>(v));
  }
  // Device configuration is read-only for virtio-net; other writes go nowhere.
}

uint8_t VhostUserFunction::device_config(uint32_t off) {
  // §5.1.4: mac, status (LINK_UP while the back-end is connected), max pairs.
  if (off < 6) return mac_.bytes[off];
  if (off == kConfigStatus) return channel_.connected() ? kNetStatusLinkUp : 0;
  if (off == kConfigMaxPairs) return static_cast<uint8_t>(max_pairs_);  // le16
  if (off == kConfigMaxPairs + 1) return static_cast<uint8_t>(max_pairs_ >> 8);
  return 0;
}

uint64_t VhostUserFunction::common_read(uint32_t off, unsigned width) {
  const Vring* vr = queue_select_ < queues() ? &vrings_[queue_select_] : nullptr;
  auto half = [&](uint32_t base, uint64_t v) -> uint64_t {
    return off == base ? (width == 8 ? v : static_cast<uint32_t>(v)) : v >> 32;
  };
  switch (off) {
    case DEVICE_FEATURE_SELECT::offset(): return device_feature_select_;
    case DEVICE_FEATURE::offset():
      return device_feature_select_ < 2
                 ? static_cast<uint32_t>(presented_features() >> (32 * device_feature_select_))
                 : 0;
    case DRIVER_FEATURE_SELECT::offset(): return driver_feature_select_;
    case DRIVER_FEATURE::offset():
      return driver_feature_select_ < 2
                 ? static_cast<uint32_t>(driver_features_ >> (32 * driver_feature_select_))
                 : 0;
    case MSIX_CONFIG::offset():
    case QUEUE_MSIX_VECTOR::offset(): return 0xFFFF;  // NO_VECTOR
    case NUM_QUEUES::offset(): return queues();
    case DEVICE_STATUS::offset(): return status_;
    case CONFIG_GENERATION::offset(): return 0;
    case QUEUE_SELECT::offset(): return queue_select_;
    case QUEUE_SIZE::offset(): return vr ? vr->size : 0;
    case QUEUE_ENABLE::offset(): return vr ? vr->enabled : 0;
    case QUEUE_NOTIFY_OFF::offset(): return queue_select_;
    case QUEUE_DESC::offset():
    case QUEUE_DESC::offset() + 4: return vr ? half(QUEUE_DESC::offset(), vr->desc) : 0;
    case QUEUE_DRIVER::offset():
    case QUEUE_DRIVER::offset() + 4: return vr ? half(QUEUE_DRIVER::offset(), vr->driver) : 0;
    case QUEUE_DEVICE::offset():
    case QUEUE_DEVICE::offset() + 4: return vr ? half(QUEUE_DEVICE::offset(), vr->device) : 0;
  }
  return 0;
}

void VhostUserFunction::common_write(uint32_t off, unsigned width, uint64_t v) {
  // 64-bit queue addresses may come as one access or as two 32-bit halves.
  auto set = [&](uint64_t& field, uint32_t base) {
    if (width == 8) {
      field = v;
    } else if (off == base) {
      field = (field & ~uint64_t{0xFFFFFFFF}) | static_cast<uint32_t>(v);
    } else {
      field = (field & 0xFFFFFFFF) | v << 32;
    }
  };
  switch (off) {
    case DEVICE_FEATURE_SELECT::offset(): device_feature_select_ = static_cast<uint32_t>(v); return;
    case DRIVER_FEATURE_SELECT::offset(): driver_feature_select_ = static_cast<uint32_t>(v); return;
    case DRIVER_FEATURE::offset():
      if (driver_feature_select_ < 2 && !(status_ & status::kFeaturesOk)) {
        const int shift = 32 * driver_feature_select_;
        driver_features_ = (driver_features_ & ~(uint64_t{0xFFFFFFFF} << shift)) |
                           (uint64_t{static_cast<uint32_t>(v)} << shift);
      }
      return;
    case DEVICE_STATUS::offset(): return write_status(static_cast<uint8_t>(v));
    case QUEUE_SELECT::offset(): queue_select_ = static_cast<uint16_t>(v); return;
    case MSIX_CONFIG::offset():
    case QUEUE_MSIX_VECTOR::offset(): return;
  }
  if (queue_select_ >= queues()) return;
  Vring& vr = vrings_[queue_select_];
  if (vr.started) return;  // §4.1.4.3: fixed while the queue is enabled
  switch (off) {
    case QUEUE_SIZE::offset(): vr.size = static_cast<uint16_t>(v); return;
    case QUEUE_DESC::offset():
    case QUEUE_DESC::offset() + 4: return set(vr.desc, QUEUE_DESC::offset());
    case QUEUE_DRIVER::offset():
    case QUEUE_DRIVER::offset() + 4: return set(vr.driver, QUEUE_DRIVER::offset());
    case QUEUE_DEVICE::offset():
    case QUEUE_DEVICE::offset() + 4: return set(vr.device, QUEUE_DEVICE::offset());
    case QUEUE_ENABLE::offset():
      if (v != 1) return;
      vr.enabled = true;
      // After DRIVER_OK a queue goes to the back-end at once; before, with
      // the others at DRIVER_OK.
      if ((status_ & status::kDriverOk) && !start(queue_select_)) {
        status_ |= status::kDeviceNeedsReset;
      }
      return;
  }
}

void VhostUserFunction::reset_registers() {
  status_ = 0;
  driver_features_ = 0;
  device_feature_select_ = driver_feature_select_ = 0;
  queue_select_ = 0;
  for (Vring& vr : vrings_) {
    const int kick = vr.kick;
    vr = Vring{};
    vr.kick = kick;
  }
  active_pairs_ = 1;
  place_control_queue(false);  // until FEATURES_OK says whether MQ is on
}

// §5.1.2: the control queue follows the data queues: index 2 * max pairs
// with MQ, else 2. Its maximum size is its own (QEMU's is 64 too).
void VhostUserFunction::place_control_queue(bool mq) {
  vrings_[control_index_].size = kMaxQueueSize;
  control_index_ = mq ? 2 * max_pairs_ : 2;
  vrings_[control_index_].size = kControlQueueSize;
}

// §3.1.1: the driver sets status bits one step at a time; 0 resets.
void VhostUserFunction::write_status(uint8_t v) {
  if (v == 0) {
    for (uint16_t q = 0; q < kMaxQueues; ++q) stop(q);  // the back-end lets go of the rings
    reset_registers();
    return;
  }
  const uint8_t added = v & ~status_;
  status_ = v | (status_ & status::kDeviceNeedsReset);
  if ((added & status::kFeaturesOk) && !accept_features()) status_ &= ~status::kFeaturesOk;
  if (added & status::kDriverOk) {
    if (!(status_ & status::kFeaturesOk)) {
      fail(absl::FailedPreconditionError("DRIVER_OK without FEATURES_OK"));
      status_ |= status::kDeviceNeedsReset;
      return;
    }
    for (uint16_t q = 0; q < queues(); ++q) {
      if (vrings_[q].enabled && !vrings_[q].started && !start(q)) {
        status_ |= status::kDeviceNeedsReset;
        return;
      }
    }
  }
}

// FEATURES_OK: the back-end gets the accepted features it implements (plus
// PROTOCOL_FEATURES when it offered them), then the memory table.
bool VhostUserFunction::accept_features() {
  const uint64_t unknown = driver_features_ & ~presented_features();
  if (unknown != 0 || !(driver_features_ & bit(feature::kVersion1))) return false;
  uint64_t to_backend = driver_features_ & backend_features_ & (kForwarded | bit(feature::kMq));
  place_control_queue(driver_features_ & bit(feature::kMq));
  if (protocol_features()) to_backend |= uint64_t{1} << kFeatureProtocolFeatures;
  if (absl::Status s = request(Message::u64(Request::kSetFeatures, to_backend)); !s.ok()) {
    fail(s);
    return false;
  }
  if (!mem_table_sent_) {
    const DmaRegion& mem = arena_->region();
    const MemoryRegion region{mem.iova(), mem.size(), reinterpret_cast<uint64_t>(mem.data()),
                              mem.fd_offset()};
    const int fd = mem.fd();
    if (absl::Status s = request(Message::memory_table({&region, 1}), {&fd, 1}); !s.ok()) {
      fail(s);
      return false;
    }
    mem_table_sent_ = true;
  }
  if (absl::Status s = sync(); !s.ok()) {
    fail(s);
    return false;
  }
  return true;
}

uint64_t VhostUserFunction::user_address(uint64_t iova, uint64_t len) const {
  const DmaRegion& mem = arena_->region();
  if (iova < mem.iova() || len > mem.size() || iova - mem.iova() > mem.size() - len) return 0;
  return reinterpret_cast<uint64_t>(mem.data()) + (iova - mem.iova());
}

}  // namespace internal
namespace {

using internal::VhostUserFunction;

// The arena's one mapping: IOVA = guest physical address in the mem table.
class GuestPhysicalMapper final : public IovaMapper {
 public:
  absl::StatusOr<uint64_t> map(void*, size_t, absl::string_view) override { return kGuestPhysBase; }
  void unmap(uint64_t, size_t) override {}
  absl::string_view name() const override { return "vhost-user guest physical"; }
};

absl::StatusOr<std::unique_ptr<PciFunction>> make(Channel channel, std::string name,
                                                  const Options& options) {
  SAFENIC_ASSIGN_OR_RETURN(
      auto arena, DmaArena::create(options.arena_bytes, options.backing,
                                   std::make_shared<GuestPhysicalMapper>(), name + " memory"));
  auto fn =
      std::make_unique<VhostUserFunction>(std::move(channel), name, options, std::move(arena));
  if (absl::Status s = fn->connect(); !s.ok()) {
    return absl::Status(s.code(), absl::StrFormat("%s: %s", name, s.message()));
  }
  return fn;
}

absl::StatusOr<std::unique_ptr<PciFunction>> provide(const DeviceSpec& spec, const DeviceConfig&) {
  return open_function(spec.target);
}

const bool kRegistered = register_function_provider(DeviceSpec::Kind::kVhostUser, provide);

}  // namespace

absl::StatusOr<std::unique_ptr<PciFunction>> open_function(const std::string& socket_path,
                                                           const Options& options) {
  SAFENIC_ASSIGN_OR_RETURN(auto channel, Channel::connect(socket_path));
  return make(std::move(channel), "vhost-user:" + socket_path, options);
}

absl::StatusOr<std::unique_ptr<PciFunction>> open_function_on_socket(int fd, std::string name,
                                                                     const Options& options) {
  return make(Channel(fd), std::move(name), options);
}

}  // namespace safenic::vhost_user
