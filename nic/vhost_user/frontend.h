// Internal to nic/vhost_user: the vhost-user front-end behind a virtio-net PCI
// function (function.h), shared by function.cc (registers, configuration,
// status) and rings.cc (rings to the back-end, the control queue, messages).
#pragma once

#include <unistd.h>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "mem/arena.h"
#include "nic/bar.h"
#include "nic/mac_address.h"
#include "nic/pci_function.h"
#include "nic/vhost_user/control_queue.h"
#include "nic/vhost_user/function.h"
#include "nic/vhost_user/protocol.h"
#include "nic/virtio/spec.h"

namespace safenic::vhost_user::internal {

using namespace ::safenic::virtio;  // the virtio interface definition
using feature::bit;

// The presented PCI function. Modern layout (virtio 1.2 §4.1.4): one memory
// BAR holding the four structures, as QEMU lays them out.
constexpr int kBarIndex = 4;
constexpr uint32_t kBarSize = 0x4000;
constexpr uint32_t kCommonOff = 0x0000, kIsrOff = 0x1000, kDeviceOff = 0x2000, kNotifyOff = 0x3000,
                   kNotifyMultiplier = 4;
// §5.1.2: receiveq 2(N-1), transmitq 2(N-1)+1 for pair N, then the control
// queue (which the front-end serves itself). Pairs: as many as the back-end
// has (GET_QUEUE_NUM), up to kMaxQueuePairs.
constexpr uint16_t kMaxQueuePairs = 8;
constexpr uint16_t kMaxQueues = 2 * kMaxQueuePairs + 1;
constexpr uint16_t kMaxQueueSize = 32768;  // §2.6 / §2.8: the largest a ring may be
constexpr uint16_t kControlQueueSize = 64;

// Features the back-end implements on its own, passed through to the driver.
// MTU would need a config field vhost-user back-ends do not provide;
// IOMMU_PLATFORM would need IOTLB messages.
constexpr uint64_t kForwarded = bit(feature::kCsum) | bit(feature::kGuestCsum) |
                                0x7FC0 /* GSO bits 6-14 */ | bit(feature::kMrgRxbuf) |
                                bit(feature::kAnyLayout) | bit(feature::kIndirectDesc) |
                                bit(feature::kEventIdx) | bit(feature::kVersion1) |
                                bit(feature::kRingPacked) | bit(feature::kInOrder);
// Served by the front-end itself: MAC and STATUS from its synthesized device
// configuration, and the control queue with receive-mode commands, as a VMM
// does (the back-end filters nothing). MQ is added when the back-end has more
// than one queue pair; it is also passed on to the back-end.
constexpr uint64_t kSynthesized =
    bit(feature::kMac) | bit(feature::kStatus) | bit(feature::kCtrlVq) | bit(feature::kCtrlRx);
// Protocol features safenic uses when the back-end has them (vhost-user.rst
// "Protocol features"): MQ for GET_QUEUE_NUM and per-ring enabling.
constexpr uint64_t kWantedProtocol =
    uint64_t{1} << protocol_feature::kReplyAck | uint64_t{1} << protocol_feature::kMq;

// A locally administered MAC derived from the socket's name.
MacAddress mac_from(const std::string& name);

class VhostUserFunction final : public PciFunction {
 public:
  VhostUserFunction(Channel channel, std::string name, const Options& options,
                    std::shared_ptr<DmaArena> arena)
      : channel_(std::move(channel)),
        name_(std::move(name)),
        options_(options),
        arena_(arena),
        dma_(std::move(arena)),
        bar_(*this),
        mac_(options.mac ? *options.mac : mac_from(name_)) {
    reset_registers();
  }
  ~VhostUserFunction() override {
    for (uint16_t q = 0; q < kMaxQueues; ++q) stop(q);
  }

  absl::Status connect();

  std::string name() const override { return name_; }
  PciId id() const override { return {kVendor, kModernNetDevice}; }
  absl::StatusOr<Bar*> bar(int index) override {
    if (index != kBarIndex) {
      return absl::NotFoundError(
          absl::StrFormat("%s has no BAR%d (only BAR%d)", name_, index, kBarIndex));
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
      if (ABSL_PREDICT_TRUE(off - kNotifyOff < kMaxQueues * kNotifyMultiplier)) {
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
    return (backend_features_ & kForwarded & ~options_.withheld_features) | kSynthesized |
           (max_pairs_ > 1 ? bit(feature::kMq) : 0);
  }
  uint16_t queues() const { return 2 * max_pairs_ + 1; }
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
    if (ABSL_PREDICT_FALSE(q == control_index_)) return serve_control();
    const uint64_t one = 1;
    // Non-blocking: a full counter (EAGAIN) already means "look at the ring".
    [[maybe_unused]] ssize_t n = ::write(vr.kick, &one, sizeof one);
  }

  void write_status(uint8_t v);
  void reset_registers();
  void place_control_queue(bool mq);
  bool accept_features();
  bool start(uint16_t q);
  bool start_control();
  void stop(uint16_t q);
  // The control queue (§5.1.6.5): answers the driver's commands.
  void serve_control();
  uint8_t control_command(uint8_t cls, uint8_t cmd, absl::Span<const uint8_t> data);
  // §5.1.6.5.5: pairs 1..n take traffic, the others not (SET_VRING_ENABLE).
  absl::Status set_active_pairs(uint16_t n);
  // Whether the back-end should process data queue q now.
  bool active(uint16_t q) const { return q < 2 * active_pairs_; }
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
  std::array<Vring, kMaxQueues> vrings_;
  uint16_t max_pairs_ = 1;      // the back-end's queue pairs (GET_QUEUE_NUM), capped
  uint16_t active_pairs_ = 1;   // §5.1.6.5.5: the first pair until VQ_PAIRS_SET
  uint16_t control_index_ = 2;  // §5.1.2: 2 * max pairs with MQ, else 2
  std::optional<ControlQueue> control_;
};

}  // namespace safenic::vhost_user::internal
