#include "nic/virtio/transport.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/bar.h"
#include "nic/virtio/spec.h"

namespace safenic::virtio {
namespace {

class LegacyTransport final : public Transport {
 public:
  explicit LegacyTransport(Bar& bar) : bar_(bar) {}
  bool modern() const override { return false; }
  uint8_t status() override { return bar_.read<LEGACY_STATUS>().raw(); }
  void set_status(uint8_t s) override { bar_.write(RegisterValue<LEGACY_STATUS>(s)); }
  uint64_t device_features() override { return bar_.read<LEGACY_HOST_FEATURES>().raw(); }
  void set_driver_features(uint64_t f) override {
    bar_.write(RegisterValue<LEGACY_GUEST_FEATURES>(static_cast<uint32_t>(f)));
  }
  uint16_t queue_max(uint16_t q) override {
    bar_.write(RegisterValue<LEGACY_QUEUE_SEL>(q));
    return bar_.read<LEGACY_QUEUE_NUM>().raw();
  }
  absl::Status setup_queue(uint16_t q, uint16_t size, const QueueAddresses& a) override {
    const uint16_t max = queue_max(q);
    if (size != max || a.desc % kLegacyQueueAlign != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("legacy virtio queue %d: size %d (device: %d) or unaligned ring %#x", q,
                          size, max, a.desc));
    }
    bar_.write(RegisterValue<LEGACY_QUEUE_PFN>(static_cast<uint32_t>(a.desc / kLegacyQueueAlign)));
    return absl::OkStatus();
  }
  void notify(uint16_t q) override { bar_.write(RegisterValue<LEGACY_QUEUE_NOTIFY>(q)); }
  uint8_t config8(uint32_t off) override { return bar_.read8(kLegacyConfig + off); }

 private:
  Bar& bar_;
};

class ModernTransport final : public Transport {
 public:
  ModernTransport(std::unique_ptr<BarWindow> common, std::unique_ptr<BarWindow> notify,
                  uint32_t multiplier, std::unique_ptr<BarWindow> device)
      : common_window_(std::move(common)),
        notify_window_(std::move(notify)),
        device_window_(std::move(device)),
        common_(*common_window_),
        notify_bar_(notify_window_->underlying()),
        multiplier_(multiplier),
        device_(*device_window_) {}
  bool modern() const override { return true; }
  uint8_t status() override { return common_.read<DEVICE_STATUS>().raw(); }
  void set_status(uint8_t s) override { common_.write(RegisterValue<DEVICE_STATUS>(s)); }
  uint64_t device_features() override {
    uint64_t f = 0;
    for (uint32_t sel = 0; sel < 2; ++sel) {
      common_.write(RegisterValue<DEVICE_FEATURE_SELECT>(sel));
      f |= uint64_t{common_.read<DEVICE_FEATURE>().raw()} << (32 * sel);
    }
    return f;
  }
  void set_driver_features(uint64_t f) override {
    for (uint32_t sel = 0; sel < 2; ++sel) {
      common_.write(RegisterValue<DRIVER_FEATURE_SELECT>(sel));
      common_.write(RegisterValue<DRIVER_FEATURE>(static_cast<uint32_t>(f >> (32 * sel))));
    }
  }
  uint16_t queue_max(uint16_t q) override {
    if (q >= common_.read<NUM_QUEUES>().raw()) return 0;
    common_.write(RegisterValue<QUEUE_SELECT>(q));
    return common_.read<QUEUE_SIZE>().raw();
  }
  absl::Status setup_queue(uint16_t q, uint16_t size, const QueueAddresses& a) override {
    common_.write(RegisterValue<QUEUE_SELECT>(q));
    common_.write(RegisterValue<QUEUE_SIZE>(size));
    write_halves<QUEUE_DESC>(a.desc);
    write_halves<QUEUE_DRIVER>(a.driver);
    write_halves<QUEUE_DEVICE>(a.device);
    // §4.1.4.4: the queue's notification address, checked against the
    // notify region once; notify() then writes the BAR directly.
    const uint64_t off = uint64_t{common_.read<QUEUE_NOTIFY_OFF>().raw()} * multiplier_;
    if (off + 2 > notify_window_->size()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "virtqueue %d: notification offset %#x lies outside the device's %#x-byte notify "
          "region; the device's capabilities are inconsistent",
          q, off, notify_window_->size()));
    }
    if (q >= notify_offs_.size()) notify_offs_.resize(q + 1);
    notify_offs_[q] = notify_window_->base() + static_cast<uint32_t>(off);
    common_.write(RegisterValue<QUEUE_ENABLE>(1));
    return absl::OkStatus();
  }
  void notify(uint16_t q) override { notify_bar_.write16(notify_offs_[q], q); }
  uint8_t config8(uint32_t off) override { return device_.read8(off); }

 private:
  // §4.1.3.1: the driver MUST access a 64-bit field with 32-bit accesses; it
  // writes the low half, then the high (as Linux's and DPDK's drivers do).
  template <typename R>
  void write_halves(uint64_t v) {
    static_assert(sizeof(typename R::Word) == 8, "a 64-bit common configuration field");
    common_.write32(R::offset(), static_cast<uint32_t>(v));
    common_.write32(R::offset() + 4, static_cast<uint32_t>(v >> 32));
  }

  std::unique_ptr<BarWindow> common_window_, notify_window_, device_window_;
  Bar& common_;
  Bar& notify_bar_;  // the BAR under the notify window: offsets are absolute
  uint32_t multiplier_;
  Bar& device_;
  std::vector<uint32_t> notify_offs_;  // per queue, in notify_bar_
};

struct Capability {
  uint8_t bar = 0;
  uint32_t offset = 0, length = 0, multiplier = 0;
  bool found = false;
};

uint8_t config_byte(PciFunction& fn, uint32_t off) {
  auto dword = fn.config_read32(off & ~3u);
  return dword.ok() ? static_cast<uint8_t>(*dword >> (8 * (off & 3))) : 0;
}

uint32_t config_dword(PciFunction& fn, uint32_t off) {
  auto dword = fn.config_read32(off);
  return dword.ok() ? *dword : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Transport>> Transport::open(PciFunction& fn) {
  // PCI 3.0 §6.7: status bit 4 says a capability list starts at 0x34.
  Capability caps[5];
  if (config_dword(fn, 0x04) & (1u << 20)) {
    uint32_t ptr = config_byte(fn, 0x34) & ~3u;
    for (int guard = 0; ptr != 0 && guard < 48; ++guard) {
      if (config_byte(fn, ptr) == kCapVendor) {
        const uint8_t type = config_byte(fn, ptr + 3);
        if (type >= cap::kCommonCfg && type <= cap::kDeviceCfg && !caps[type].found) {
          caps[type] = {config_byte(fn, ptr + 4), config_dword(fn, ptr + 8),
                        config_dword(fn, ptr + 12),
                        type == cap::kNotifyCfg ? config_dword(fn, ptr + 16) : 0, true};
        }
      }
      ptr = config_byte(fn, ptr + 1) & ~3u;
    }
  }
  if (caps[cap::kCommonCfg].found && caps[cap::kNotifyCfg].found && caps[cap::kDeviceCfg].found) {
    auto window = [&](const Capability& c) -> absl::StatusOr<std::unique_ptr<BarWindow>> {
      SAFENIC_ASSIGN_OR_RETURN(auto bar, fn.bar(c.bar));
      if (uint64_t{c.offset} + c.length > bar->size()) {
        return absl::FailedPreconditionError(
            absl::StrFormat("%s: virtio capability [%#x, +%#x) lies outside BAR%d", fn.name(),
                            c.offset, c.length, c.bar));
      }
      return std::make_unique<BarWindow>(*bar, c.offset, c.length);
    };
    SAFENIC_ASSIGN_OR_RETURN(auto common, window(caps[cap::kCommonCfg]));
    SAFENIC_ASSIGN_OR_RETURN(auto notify, window(caps[cap::kNotifyCfg]));
    SAFENIC_ASSIGN_OR_RETURN(auto device, window(caps[cap::kDeviceCfg]));
    return std::unique_ptr<Transport>(new ModernTransport(
        std::move(common), std::move(notify), caps[cap::kNotifyCfg].multiplier, std::move(device)));
  }
  if (fn.id().device != kLegacyNetDevice) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: modern virtio device without its common, notify and device capabilities", fn.name()));
  }
  SAFENIC_ASSIGN_OR_RETURN(auto bar, fn.bar(0));
  if (bar->size() < kLegacyMinBarSize) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: legacy virtio BAR0 is %d bytes; it needs at least %d (registers, MAC, status)",
        fn.name(), bar->size(), kLegacyMinBarSize));
  }
  return std::unique_ptr<Transport>(new LegacyTransport(*bar));
}

}  // namespace safenic::virtio
