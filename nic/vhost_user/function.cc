// The vhost-user front-end behind a virtio-net PCI function (see function.h).
#include "nic/vhost_user/function.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/arena.h"
#include "nic/bar.h"
#include "nic/open.h"
#include "nic/virtio/spec.h"
#include "nic/vhost_user/protocol.h"

namespace safenic::vhost_user {
namespace {

using namespace ::safenic::virtio;  // the virtio interface definition
using feature::bit;

// The presented PCI function. Modern layout (virtio 1.2 §4.1.4): one memory
// BAR holding the four structures, as QEMU lays them out.
constexpr int kBarIndex = 4;
constexpr uint32_t kBarSize = 0x4000;
constexpr uint32_t kCommonOff = 0x0000, kIsrOff = 0x1000, kDeviceOff = 0x2000,
                   kNotifyOff = 0x3000, kNotifyMultiplier = 4;
// One queue pair: receiveq 0, transmitq 1 (no control queue, so no MQ).
constexpr uint16_t kQueues = 2;
constexpr uint16_t kMaxQueueSize = 32768;  // §2.6 / §2.8: the largest a ring may be

// Features the back-end implements on its own, passed through to the driver.
// The control queue (and with it MQ, CTRL_RX, ...) would need the front-end
// to serve it, and MTU/MAC/STATUS config fields that vhost-user back-ends do
// not provide; IOMMU_PLATFORM would need IOTLB messages.
constexpr uint64_t kForwarded =
    bit(feature::kCsum) | bit(feature::kGuestCsum) | 0x7FC0 /* GSO bits 6-14 */ |
    bit(feature::kMrgRxbuf) | bit(feature::kAnyLayout) | bit(feature::kIndirectDesc) |
    bit(feature::kEventIdx) | bit(feature::kVersion1) | bit(feature::kRingPacked) |
    bit(feature::kInOrder);
// Served by the front-end itself from its synthesized device configuration.
constexpr uint64_t kSynthesized = bit(feature::kMac) | bit(feature::kStatus);
// Protocol features safenic uses when the back-end has them.
constexpr uint64_t kWantedProtocol = uint64_t{1} << protocol_feature::kReplyAck;

// The arena's one mapping: IOVA = guest physical address in the mem table.
class GuestPhysicalMapper final : public IovaMapper {
 public:
  absl::StatusOr<uint64_t> map(void*, size_t, absl::string_view) override {
    return kGuestPhysBase;
  }
  void unmap(uint64_t, size_t) override {}
  absl::string_view name() const override { return "vhost-user guest physical"; }
};

MacAddress mac_from(const std::string& name) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  // Locally administered (bit 1), unicast (bit 0 clear).
  return MacAddress{{0x02, 0x5a, 0xfe, static_cast<uint8_t>(h >> 16),
                     static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h)}};
}

class VhostUserFunction final : public PciFunction {
 public:
  VhostUserFunction(Channel channel, std::string name, const Options& options,
                    std::shared_ptr<DmaArena> arena)
      : channel_(std::move(channel)), name_(std::move(name)), options_(options),
        arena_(arena), dma_(std::move(arena)), bar_(*this),
        mac_(options.mac ? *options.mac : mac_from(name_)) {
    reset_registers();
  }
  ~VhostUserFunction() override {
    for (uint16_t q = 0; q < kQueues; ++q) stop(q);
  }

  absl::Status connect();

  std::string name() const override { return name_; }
  PciId id() const override { return {kVendor, kModernNetDevice}; }
  absl::StatusOr<Bar*> bar(int index) override {
    if (index != kBarIndex) {
      return absl::NotFoundError(absl::StrFormat("%s has no BAR%d (only BAR%d)", name_, index,
                                                 kBarIndex));
    }
    return &bar_;
  }
  absl::StatusOr<uint32_t> config_read32(uint32_t offset) override;
  const DmaAllocator& dma() const override { return dma_; }

 private:
  struct Vring {
    uint16_t size = kMaxQueueSize;
    uint64_t desc = 0, driver = 0, device = 0;
    bool enabled = false;  // the driver set QUEUE_ENABLE
    bool started = false;  // the back-end has it
    int kick = -1;         // eventfd the back-end waits on
  };

  // The BAR: every access goes to the front-end.
  class FrontendBar final : public Bar {
   public:
    explicit FrontendBar(VhostUserFunction& f) : f_(f) {}
    uint8_t read8(uint32_t off) override { return static_cast<uint8_t>(f_.read(off, 1)); }
    uint16_t read16(uint32_t off) override { return static_cast<uint16_t>(f_.read(off, 2)); }
    uint32_t read32(uint32_t off) override { return static_cast<uint32_t>(f_.read(off, 4)); }
    uint64_t read64(uint32_t off) override { return f_.read(off, 8); }
    void write8(uint32_t off, uint8_t v) override { f_.write(off, 1, v); }
    void write16(uint32_t off, uint16_t v) override {
      // The fast path: a queue notification is one eventfd write.
      if (ABSL_PREDICT_TRUE(off - kNotifyOff < kQueues * kNotifyMultiplier)) {
        return f_.notify((off - kNotifyOff) / kNotifyMultiplier, v);
      }
      f_.write(off, 2, v);
    }
    void write32(uint32_t off, uint32_t v) override { f_.write(off, 4, v); }
    void write64(uint32_t off, uint64_t v) override { f_.write(off, 8, v); }
    size_t size() const override { return kBarSize; }

   private:
    VhostUserFunction& f_;
  };

  uint64_t presented_features() const {
    return (backend_features_ & kForwarded & ~options_.withheld_features) | kSynthesized;
  }
  bool protocol_features() const {
    return backend_features_ & (uint64_t{1} << kFeatureProtocolFeatures);
  }

  uint64_t read(uint32_t off, unsigned width);
  void write(uint32_t off, unsigned width, uint64_t v);
  uint64_t common_read(uint32_t off, unsigned width);
  void common_write(uint32_t off, unsigned width, uint64_t v);
  uint8_t device_config(uint32_t off);
  void notify(uint32_t q, uint16_t value) {
    const Vring& vr = vrings_[q];
    if (ABSL_PREDICT_FALSE(!vr.started || value != q)) return;
    const uint64_t one = 1;
    // Non-blocking: a full counter (EAGAIN) already means "look at the ring".
    [[maybe_unused]] ssize_t n = ::write(vr.kick, &one, sizeof one);
  }

  void write_status(uint8_t v);
  void reset_registers();
  bool accept_features();
  bool start(uint16_t q);
  void stop(uint16_t q);
  // Front-end VA of [iova, iova + len) in the arena, or 0.
  uint64_t user_address(uint64_t iova, uint64_t len) const;

  // One request: with REPLY_ACK the back-end acknowledges it (0 = success).
  absl::Status request(Message m, absl::Span<const int> fds = {});
  // A request the back-end answers with a message of the same type.
  absl::StatusOr<Message> call(const Message& m);
  // Makes sure the back-end has processed everything sent so far.
  absl::Status sync();
  // Records why the device failed and says so on stderr: the driver sees only
  // the status bits, not this reason.
  void fail(const absl::Status& s);

  Channel channel_;
  std::string name_;
  Options options_;
  std::shared_ptr<DmaArena> arena_;
  DmaAllocator dma_;
  FrontendBar bar_;
  MacAddress mac_;
  uint64_t backend_features_ = 0;
  uint64_t protocol_features_ = 0;  // negotiated
  bool reply_ack_ = false;
  bool mem_table_sent_ = false;
  // The virtio registers.
  uint8_t status_ = 0;
  uint32_t device_feature_select_ = 0, driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  uint16_t queue_select_ = 0;
  std::array<Vring, kQueues> vrings_;
};

absl::Status VhostUserFunction::connect() {
  // vhost-user.rst "Session start": SET_OWNER, then the features.
  if (absl::Status s = channel_.send(Message::header_only(Request::kSetOwner)); !s.ok()) return s;
  auto features = call(Message::header_only(Request::kGetFeatures));
  if (!features.ok()) return features.status();
  auto f = features->as_u64();
  if (!f.ok()) return f.status();
  backend_features_ = *f;
  if (!(backend_features_ & bit(feature::kVersion1))) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the vhost-user back-end does not offer VIRTIO_F_VERSION_1 (features %#x); "
        "safenic's vhost-user front-end presents a modern virtio device",
        name_, backend_features_));
  }
  if (protocol_features()) {
    auto pf = call(Message::header_only(Request::kGetProtocolFeatures));
    if (!pf.ok()) return pf.status();
    auto offered = pf->as_u64();
    if (!offered.ok()) return offered.status();
    protocol_features_ = *offered & kWantedProtocol;
    if (absl::Status s = channel_.send(
            Message::u64(Request::kSetProtocolFeatures, protocol_features_));
        !s.ok()) {
      return s;
    }
    reply_ack_ = protocol_features_ & (uint64_t{1} << protocol_feature::kReplyAck);
  }
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
    case 0x04: return 1u << 20 | 0x2;             // status: capability list; command: memory
    case 0x08: return 0x02000000 | 0x01;          // class: Ethernet controller; revision 1
    case 0x2C: return uint32_t{kVendor} | 0x1100u << 16;  // subsystem
    case 0x34: return 0x40;                       // capabilities pointer
  }
  if (off >= 0x40 && off < 0x50) return cap(0x50, 16, cap::kCommonCfg, kCommonOff, kCommonCfgSize, (off - 0x40) / 4);
  if (off >= 0x50 && off < 0x64) return cap(0x64, 20, cap::kNotifyCfg, kNotifyOff, kQueues * kNotifyMultiplier, (off - 0x50) / 4);
  if (off >= 0x64 && off < 0x74) return cap(0x74, 16, cap::kIsrCfg, kIsrOff, 4, (off - 0x64) / 4);
  if (off >= 0x74 && off < 0x84) return cap(0, 16, cap::kDeviceCfg, kDeviceOff, 0x10, (off - 0x74) / 4);
  if (off >= 0x1000 || off % 4 != 0) {
    return absl::OutOfRangeError(absl::StrFormat("%s: config space read at %#x", name_, off));
  }
  return 0;
}

uint64_t VhostUserFunction::read(uint32_t off, unsigned width) {
  if (off < kIsrOff) return common_read(off - kCommonOff, width);
  if (off >= kDeviceOff && off < kNotifyOff) {
    uint64_t v = 0;
    for (unsigned i = 0; i < width; ++i) v |= uint64_t{device_config(off - kDeviceOff + i)} << (8 * i);
    return v;
  }
  return 0;  // ISR (safenic polls) and the notify area read as 0
}

void VhostUserFunction::write(uint32_t off, unsigned width, uint64_t v) {
  if (off < kIsrOff) return common_write(off - kCommonOff, width, v);
  if (off - kNotifyOff < kQueues * kNotifyMultiplier && width == 2) {
    return notify((off - kNotifyOff) / kNotifyMultiplier, static_cast<uint16_t>(v));
  }
  // Device configuration is read-only for virtio-net; other writes go nowhere.
}

uint8_t VhostUserFunction::device_config(uint32_t off) {
  // §5.1.4: mac, status (LINK_UP while the back-end is connected), max pairs.
  if (off < 6) return mac_.bytes[off];
  if (off == kConfigStatus) return channel_.connected() ? kNetStatusLinkUp : 0;
  if (off == kConfigMaxPairs) return 1;
  return 0;
}

uint64_t VhostUserFunction::common_read(uint32_t off, unsigned width) {
  const Vring* vr = queue_select_ < kQueues ? &vrings_[queue_select_] : nullptr;
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
    case MSIX_CONFIG::offset(): case QUEUE_MSIX_VECTOR::offset(): return 0xFFFF;  // NO_VECTOR
    case NUM_QUEUES::offset(): return kQueues;
    case DEVICE_STATUS::offset(): return status_;
    case CONFIG_GENERATION::offset(): return 0;
    case QUEUE_SELECT::offset(): return queue_select_;
    case QUEUE_SIZE::offset(): return vr ? vr->size : 0;
    case QUEUE_ENABLE::offset(): return vr ? vr->enabled : 0;
    case QUEUE_NOTIFY_OFF::offset(): return queue_select_;
    case QUEUE_DESC::offset(): case QUEUE_DESC::offset() + 4: return vr ? half(QUEUE_DESC::offset(), vr->desc) : 0;
    case QUEUE_DRIVER::offset(): case QUEUE_DRIVER::offset() + 4: return vr ? half(QUEUE_DRIVER::offset(), vr->driver) : 0;
    case QUEUE_DEVICE::offset(): case QUEUE_DEVICE::offset() + 4: return vr ? half(QUEUE_DEVICE::offset(), vr->device) : 0;
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
    case MSIX_CONFIG::offset(): case QUEUE_MSIX_VECTOR::offset(): return;
  }
  if (queue_select_ >= kQueues) return;
  Vring& vr = vrings_[queue_select_];
  if (vr.started) return;  // §4.1.4.3: fixed while the queue is enabled
  switch (off) {
    case QUEUE_SIZE::offset(): vr.size = static_cast<uint16_t>(v); return;
    case QUEUE_DESC::offset(): case QUEUE_DESC::offset() + 4: return set(vr.desc, QUEUE_DESC::offset());
    case QUEUE_DRIVER::offset(): case QUEUE_DRIVER::offset() + 4: return set(vr.driver, QUEUE_DRIVER::offset());
    case QUEUE_DEVICE::offset(): case QUEUE_DEVICE::offset() + 4: return set(vr.device, QUEUE_DEVICE::offset());
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
}

// §3.1.1: the driver sets status bits one step at a time; 0 resets.
void VhostUserFunction::write_status(uint8_t v) {
  if (v == 0) {
    for (uint16_t q = 0; q < kQueues; ++q) stop(q);  // the back-end lets go of the rings
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
    for (uint16_t q = 0; q < kQueues; ++q) {
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
  uint64_t to_backend = driver_features_ & backend_features_ & kForwarded;
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

// vhost-user.rst "Starting and stopping rings": size, base, addresses, kick,
// call, then enable (rings start disabled with PROTOCOL_FEATURES).
bool VhostUserFunction::start(uint16_t q) {
  Vring& vr = vrings_[q];
  const bool packed = driver_features_ & bit(feature::kRingPacked);
  const uint64_t n = vr.size;
  const uint64_t desc = user_address(vr.desc, 16 * n);
  const uint64_t driver = user_address(vr.driver, packed ? 4 : split_avail_bytes(n) + 2);
  const uint64_t device = user_address(vr.device, packed ? 4 : split_used_bytes(n) + 2);
  if (n == 0 || n > kMaxQueueSize || (!packed && (n & (n - 1))) || !desc || !driver || !device) {
    fail(absl::FailedPreconditionError(absl::StrFormat(
        "queue %d: size %d or ring areas (%#x, %#x, %#x) outside the shared memory [%#x, +%#x)",
        q, n, vr.desc, vr.driver, vr.device, arena_->region().iova(), arena_->region().size())));
    return false;
  }
  if (vr.kick < 0) vr.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (vr.kick < 0) {
    fail(absl::ResourceExhaustedError(absl::StrFormat("eventfd: %s", std::strerror(errno))));
    return false;
  }
  // Packed rings (§2.8.1): bit 15 of the base is the wrap counter, initially 1.
  const uint32_t base = packed ? 0x8000 : 0;
  const int kick = vr.kick;
  absl::Status s = request(Message::vring_state(Request::kSetVringNum, q, vr.size));
  if (s.ok()) s = request(Message::vring_state(Request::kSetVringBase, q, base));
  if (s.ok()) s = request(Message::vring_addr({q, 0, desc, device, driver, 0}));
  if (s.ok()) s = request(Message::vring_file(Request::kSetVringKick, q, true), {&kick, 1});
  // No call fd: safenic polls, so the back-end never needs to interrupt it.
  if (s.ok()) s = request(Message::vring_file(Request::kSetVringCall, q, false));
  if (s.ok() && protocol_features()) {
    s = request(Message::vring_state(Request::kSetVringEnable, q, 1));
  }
  if (s.ok()) s = sync();
  if (!s.ok()) {
    fail(s);
    return false;
  }
  vr.started = true;
  return true;
}

void VhostUserFunction::stop(uint16_t q) {
  Vring& vr = vrings_[q];
  if (vr.started && channel_.connected()) {
    // GET_VRING_BASE stops the ring; its answer says the back-end is done with it.
    absl::Status s = protocol_features()
                         ? request(Message::vring_state(Request::kSetVringEnable, q, 0))
                         : absl::OkStatus();
    if (s.ok()) s = call(Message::vring_state(Request::kGetVringBase, q, 0)).status();
    if (!s.ok()) fail(s);
  }
  vr.started = false;
  if (vr.kick >= 0) ::close(vr.kick);
  vr.kick = -1;
}

absl::Status VhostUserFunction::request(Message m, absl::Span<const int> fds) {
  if (reply_ack_) m.set_flags(m.flags() | kFlagNeedReply);
  if (absl::Status s = channel_.send(m, fds); !s.ok()) return s;
  if (!reply_ack_) return absl::OkStatus();
  auto ack = channel_.receive(options_.reply_timeout);
  if (!ack.ok()) return ack.status();
  auto code = ack->as_u64();
  if (ack->request() != m.request() || !(ack->flags() & kFlagReply) || !code.ok()) {
    return absl::DataLossError(absl::StrFormat(
        "vhost-user %s: the back-end answered with %s (flags %#x)", request_name(m.request()),
        request_name(ack->request()), ack->flags()));
  }
  if (*code != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the vhost-user back-end rejected %s (reply %d); its log says why",
        request_name(m.request()), *code));
  }
  return absl::OkStatus();
}

absl::StatusOr<Message> VhostUserFunction::call(const Message& m) {
  if (absl::Status s = channel_.send(m); !s.ok()) return s;
  auto reply = channel_.receive(options_.reply_timeout);
  if (!reply.ok()) return reply.status();
  if (reply->request() != m.request() || !(reply->flags() & kFlagReply)) {
    return absl::DataLossError(absl::StrFormat(
        "vhost-user %s: the back-end answered with %s (flags %#x)", request_name(m.request()),
        request_name(reply->request()), reply->flags()));
  }
  return reply;
}

absl::Status VhostUserFunction::sync() {
  // With REPLY_ACK every request was acknowledged already; without, a
  // request that has an answer proves the ones before it were processed (the
  // back-end drops the connection on a request it cannot handle).
  if (reply_ack_) return absl::OkStatus();
  return call(Message::header_only(Request::kGetFeatures)).status();
}

void VhostUserFunction::fail(const absl::Status& s) {
  std::fprintf(stderr, "safenic: %s: %s\n", name_.c_str(), std::string(s.message()).c_str());
}

absl::StatusOr<std::unique_ptr<PciFunction>> make(Channel channel, std::string name,
                                                  const Options& options) {
  auto arena = DmaArena::create(options.arena_bytes, options.backing,
                                std::make_shared<GuestPhysicalMapper>(), name + " memory");
  if (!arena.ok()) return arena.status();
  auto fn = std::make_unique<VhostUserFunction>(std::move(channel), name, options,
                                                *std::move(arena));
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
  auto channel = Channel::connect(socket_path);
  if (!channel.ok()) return channel.status();
  return make(*std::move(channel), "vhost-user:" + socket_path, options);
}

absl::StatusOr<std::unique_ptr<PciFunction>> open_function_on_socket(int fd, std::string name,
                                                                     const Options& options) {
  return make(Channel(fd), std::move(name), options);
}

}  // namespace safenic::vhost_user
