#include "tests/testdev/nic_driver.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/open.h"
#include "nic/ring.h"
#include "tests/testdev/nic_layout.h"

namespace safenic::testnic {
namespace {

constexpr DeviceLimits kLimits = {"testnic", 1, 1, 2, kMaxRing};

class TestNicDevice final : public Device {
 public:
  TestNicDevice(std::unique_ptr<PciFunction> fn, const DeviceConfig& config)
      : Device(1, 1), fn_(std::move(fn)), config_(config) {
    watch_removal(fn_->removal_requested());
  }
  ~TestNicDevice() override {
    if (bar_ != nullptr)
      bar_->write(RegisterValue<CTRL>().set<CTRL::RESET>());  // the device lets go first
    rx_.release_packets();
    tx_.release_packets();
  }

  absl::Status open() {
    SAFENIC_ASSIGN_OR_RETURN(bar_, fn_->bar(0));
    bar_->write(RegisterValue<CTRL>().set<CTRL::RESET>());
    const uint32_t lo = bar_->read<MAC_LO>().raw(), hi = bar_->read<MAC_HI>().get<MAC_HI::BYTES>();
    for (int i = 0; i < 4; ++i) mac_.bytes[i] = static_cast<uint8_t>(lo >> (8 * i));
    for (int i = 0; i < 2; ++i) mac_.bytes[4 + i] = static_cast<uint8_t>(hi >> (8 * i));
    SAFENIC_ASSIGN_OR_RETURN(
        rx_, DescriptorRing::create(fn_->dma(), config_.rx_ring_size, Desc::kSize, name() + " rx"));
    SAFENIC_ASSIGN_OR_RETURN(
        tx_, DescriptorRing::create(fn_->dma(), config_.tx_ring_size, Desc::kSize, name() + " tx"));
    SAFENIC_ASSIGN_OR_RETURN(pool_, Mempool::create({.buffers = config_.buffers_per_rx_queue,
                                                     .tag = name() + " rx pool"},
                                                    fn_->dma()));
    // Every RX descriptor gets a buffer; the device owns those from HEAD up
    // to TAIL, so the one at TAIL waits (TAIL == HEAD would mean none).
    for (uint32_t i = 0; i < rx_.size(); ++i) {
      if (!post(i)) {
        return absl::ResourceExhaustedError(
            absl::StrFormat("%s: %d RX buffers for a ring of %d; raise buffers_per_rx_queue",
                            name(), config_.buffers_per_rx_queue, rx_.size()));
      }
    }
    bar_->write(RegisterValue<RX::BASE>(rx_.iova()));
    bar_->write(RegisterValue<RX::SIZE>(rx_.size()));
    bar_->write(RegisterValue<TX::BASE>(tx_.iova()));
    bar_->write(RegisterValue<TX::SIZE>(tx_.size()));
    set_ctrl(config_.promiscuous);
    bar_->write(RegisterValue<RX::TAIL>(rx_.size() - 1));
    return absl::OkStatus();
  }

  absl::string_view driver() const override { return "testnic"; }
  std::string name() const override { return fn_->name(); }
  MacAddress mac() const override { return mac_; }
  LinkStatus link() override {
    const bool up = bar_->read<STATUS>().is_set<STATUS::LINK_UP>();
    return {up, up ? 10000u : 0u};
  }
  absl::StatusOr<DeviceStats> stats() override {
    DeviceStats s;
    s.rx = {rx_stats_};
    s.tx = {tx_stats_};
    s.counters["RX_FRAMES"] = bar_->read<RX_FRAMES>().raw();
    s.counters["RX_NO_DESCRIPTOR"] = bar_->read<RX_NO_DESCRIPTOR>().raw();
    s.counters["RX_FILTERED"] = bar_->read<RX_FILTERED>().raw();
    s.counters["TX_FRAMES"] = bar_->read<TX_FRAMES>().raw();
    s.rx[0].drops = s.counters["RX_NO_DESCRIPTOR"];
    return s;
  }
  DeviceCapabilities capabilities() const override { return {}; }
  absl::Status set_promiscuous(bool on) override {
    set_ctrl(on);
    return absl::OkStatus();
  }

 protected:
  // Takes the finished descriptors from rx_next_, gives each a new buffer,
  // and moves TAIL once: to the last one given a buffer, which waits there.
  size_t receive(uint16_t, PacketBatch& batch) override {
    size_t n = 0;
    const uint32_t first = rx_next_;
    while (batch.room() > 0) {
      LayoutRef<Desc> d(rx_.descriptor(rx_next_));
      if (!d.is_set<Desc::DONE>()) break;
      dma_read_barrier();
      const bool error = d.is_set<Desc::ERROR>();
      const uint32_t len = d.get<Desc::LEN>();
      Packet frame = std::move(rx_.slot(rx_next_));
      if (!post(rx_next_)) {  // no buffer to put back: the frame waits
        rx_.slot(rx_next_) = std::move(frame);
        break;
      }
      if (error || !frame.resize(len).ok()) {
        ++rx_stats_.errors;  // its buffer goes back to the pool
      } else {
        ++rx_stats_.packets;
        rx_stats_.bytes += len;
        batch.push(std::move(frame));
        ++n;
      }
      rx_next_ = rx_.next(rx_next_);
    }
    if (rx_next_ != first) {
      dma_write_barrier();
      bar_->write(RegisterValue<RX::TAIL>(rx_.advance(rx_next_, rx_.size() - 1)));
    }
    return n;
  }

  size_t transmit(uint16_t queue, PacketBatch& batch) override {
    if (tx_.distance(tx_clean_, tx_tail_) + batch.size() >= tx_.size()) reclaim(queue);
    size_t n = 0;
    for (Packet& p : batch) {
      if (tx_.distance(tx_clean_, tx_tail_) + 1 >= tx_.size()) break;  // one stays empty
      LayoutRef<Desc>(tx_.descriptor(tx_tail_))
          .set<Desc::ADDR>(p.iova())
          .set<Desc::LEN>(static_cast<uint32_t>(p.size()))
          .set<Desc::DONE, 0>()
          .set<Desc::ERROR, 0>();
      tx_stats_.bytes += p.size();
      tx_.slot(tx_tail_) = std::move(p);
      tx_tail_ = tx_.next(tx_tail_);
      ++n;
    }
    if (n != 0) {
      tx_stats_.packets += n;
      dma_write_barrier();
      bar_->write(RegisterValue<TX::TAIL>(tx_tail_));
      batch.erase_front(n);
    }
    return n;
  }

  size_t reclaim(uint16_t) override {
    size_t n = 0;
    for (; tx_clean_ != tx_tail_; tx_clean_ = tx_.next(tx_clean_), ++n) {
      LayoutRef<Desc> d(tx_.descriptor(tx_clean_));
      if (!d.is_set<Desc::DONE>()) break;
      if (d.is_set<Desc::ERROR>()) ++tx_stats_.errors;
      tx_.slot(tx_clean_).reset();
    }
    return n;
  }

  const DmaAllocator& dma() const override { return fn_->dma(); }
  absl::Time now() override { return fn_->now(); }
  void sleep(absl::Duration d) override { fn_->sleep(d); }

 private:
  // Gives RX descriptor i a fresh buffer; false when the pool is empty.
  bool post(uint32_t i) {
    Packet p = pool_->alloc();
    if (!p) return false;
    LayoutRef<Desc>(rx_.descriptor(i))
        .set<Desc::ADDR>(p.iova())
        .set<Desc::LEN>(static_cast<uint32_t>(p.capacity()))
        .set<Desc::DONE, 0>()
        .set<Desc::ERROR, 0>();
    rx_.slot(i) = std::move(p);
    return true;
  }
  void set_ctrl(bool promiscuous) {
    bar_->write(RegisterValue<CTRL>().set<CTRL::ENABLE>().set<CTRL::PROMISC>(promiscuous ? 1 : 0));
  }

  std::unique_ptr<PciFunction> fn_;
  DeviceConfig config_;
  Bar* bar_ = nullptr;
  MacAddress mac_;
  DescriptorRing rx_, tx_;
  MempoolPtr pool_;
  uint32_t rx_next_ = 0;  // the next RX descriptor to look at
  // TX: tx_clean_ is the oldest descriptor not reclaimed, tx_tail_ the next free.
  uint32_t tx_clean_ = 0, tx_tail_ = 0;
  QueueStats rx_stats_, tx_stats_;
};

// The one device this driver takes.
constexpr SupportedDevice kDevices[] = {{{kVendor, kDevice}, "testnic (made up, tests/testdev)"}};

}  // namespace

absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config) {
  SAFENIC_RETURN_IF_ERROR(validate(config, kLimits));
  if (!takes(kDevices, fn->id())) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %04x:%04x is not a testnic", fn->name(),
                                                      fn->id().vendor, fn->id().device));
  }
  auto dev = std::make_unique<TestNicDevice>(std::move(fn), config);
  SAFENIC_RETURN_IF_ERROR(dev->open());
  return dev;
}

namespace {
const bool kRegistered = register_driver({"testnic", "made-up test NICs", kDevices, open});
}  // namespace

}  // namespace safenic::testnic
