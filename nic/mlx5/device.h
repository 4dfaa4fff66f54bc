// The mlx5 Device's declaration, shared by its two halves: device.cc (bring-up,
// steering, MAC filters, teardown) and events.cc (events, health, link,
// statistics). Internal to the driver: users include nic/mlx5/mlx5.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mem/status.h"
#include "nic/device.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/hca.h"
#include "nic/mlx5/queues.h"
#include "nic/mlx5/wqe.h"
#include "nic/pci_function.h"
#include "nic/rss.h"

namespace safenic::mlx5::detail {

constexpr uint32_t kMaxQueues = 64;
constexpr uint32_t kEqEntries = 64;
constexpr uint32_t kRqtSize = 128;  // RSS buckets, dealt round-robin to the RQs
constexpr absl::Duration kLinkRecheck = absl::Seconds(1);  // events or not, look again
constexpr uint32_t kMaxLogQueue = 24;                      // CQ and WQ counters are 24 bits wide
constexpr uint64_t kEvents = uint64_t{1} << kEventCqError | uint64_t{1} << kEventWqCatastrophic |
                             uint64_t{1} << kEventInternalError | uint64_t{1} << kEventPortChange |
                             uint64_t{1} << kEventPageRequest;
// The root table: [0, 64) MAC filters (a group on the destination MAC,
// cvlan_tag and first_vid), [64] our MAC, [65] broadcast (a group on the
// destination MAC), [66] anything (promiscuous).
constexpr uint32_t kMaxFilters = 64, kPromiscIndex = kMaxFilters + 2, kLogRootSize = 7;
constexpr MacAddress kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

using Headers = absl::FunctionRef<void(LayoutRef<OuterHeaders>)>;
inline void no_headers(LayoutRef<OuterHeaders>) {}
struct Dest {
  uint32_t type, id;
};
inline void set_dmac(LayoutRef<OuterHeaders> h, const MacAddress& m) {
  const auto& b = m.bytes;
  h.set<OuterHeaders::DMAC_47_16>(uint32_t{b[0]} << 24 | b[1] << 16 | b[2] << 8 | b[3])
      .set<OuterHeaders::DMAC_15_0>(b[4] << 8 | b[5]);
}

class Mlx5Device final : public Device {
 public:
  Mlx5Device(std::unique_ptr<PciFunction> fn, const DeviceConfig& config)
      : Device(config.rx_queues, config.tx_queues),
        fn_(std::move(fn)),
        config_(config),
        rx_(config.rx_queues),
        tx_(config.tx_queues) {
    watch_removal(fn_->removal_requested());
  }
  ~Mlx5Device() override { close(); }

  absl::Status open();
  absl::string_view driver() const override { return "mlx5"; }
  std::string name() const override { return fn_->name(); }
  MacAddress mac() const override { return mac_; }
  LinkStatus link() override;
  absl::StatusOr<DeviceStats> stats() override;
  absl::Status set_promiscuous(bool on) override;
  DeviceCapabilities capabilities() const override;

 protected:
  size_t receive(uint16_t queue, PacketBatch& batch) override {
    return ABSL_PREDICT_FALSE(stopped_) ? 0 : rx_[queue].receive(batch);
  }
  size_t transmit(uint16_t queue, PacketBatch& batch) override {
    return ABSL_PREDICT_FALSE(stopped_) ? 0 : tx_[queue].transmit(batch);
  }
  size_t reclaim(uint16_t queue) override {
    return ABSL_PREDICT_FALSE(stopped_) ? 0 : tx_[queue].reclaim();
  }
  const DmaAllocator& dma() const override { return fn_->dma(); }
  uint32_t max_mac_filters() const override { return kMaxFilters; }
  absl::Status install_mac_filter(const MacFilter& f, uint32_t slot) override;
  absl::Status uninstall_mac_filter(uint32_t slot) override;
  absl::Time now() override { return fn_->now(); }
  void sleep(absl::Duration d) override { fn_->sleep(d); }

 private:
  CommandQueue& cmdq() { return hca_->cmdq(); }
  // Runs a CREATE_*/ALLOC_* command; the object is undone (Cmd::UndoneBy) at close.
  template <typename Cmd, typename Fill>
  absl::StatusOr<uint32_t> make(Fill fill, size_t extra_in = 0, uint32_t table = 0);
  template <typename Reg>
  absl::StatusOr<Output<Reg>> port_register(uint16_t op_mod,
                                            absl::FunctionRef<void(LayoutRef<Reg>)> fill);
  absl::Status create_eq();
  absl::Status set_vport(uint32_t select, uint32_t mtu, bool promisc);
  absl::StatusOr<uint32_t> create_tir(bool indirect, uint32_t target, uint32_t l4, uint32_t fields);
  absl::StatusOr<uint32_t> create_table(uint32_t level, uint32_t log_size);
  absl::StatusOr<uint32_t> create_group(uint32_t table, uint32_t start, uint32_t end,
                                        Headers criteria);
  absl::Status set_entry(uint32_t table, uint32_t group, uint32_t index, Dest dest, Headers value);
  absl::Status create_steering();
  absl::Status delete_root_entry(uint32_t index);
  absl::Status set_allowed_list(const MacAddress* adding);
  absl::Status check_health();
  void poll_events();
  void cq_error(uint32_t cqn);
  void close();

  std::unique_ptr<PciFunction> fn_;
  DeviceConfig config_;
  std::unique_ptr<Hca> hca_;
  Bar* bar_ = nullptr;
  std::vector<Undo> undo_;  // what close() undoes, in reverse
  bool port_up_ = false;    // PAOS set the port up: close() sets it down
  // ENHANCED_MPSW when the device has it and the vport needs no inline headers.
  bool enhanced_mpw() const { return hca_->caps().enhanced_mpw && min_inline_ == 0; }
  uint32_t uar_ = 0, eqn_ = 0, pd_ = 0, td_ = 0, tis_ = 0, lkey_ = 0, min_inline_ = 0;
  DescriptorRing eq_;
  uint32_t eq_cc_ = 0;
  MacAddress mac_;
  LinkStatus link_;
  bool link_known_ = false;
  bool events_stalled_ = false;  // the EQ missed a port change: link() polls
  absl::Time link_checked_;
  bool stopped_ = false;  // the firmware reported a fatal error: no data path
  absl::Status why_stopped_;
  uint32_t root_ = 0, wildcard_group_ = 0, filter_group_ = 0;
  std::vector<uint32_t> queue_tir_;  // a direct TIR per RX queue, made for its first filter
  Dest dest_{};                      // where the root table's entries forward to
  bool promisc_entry_ = false;
  std::map<std::string, uint64_t> events_;
  absl::Status page_error_;  // a page request that failed, for the next stats()
  std::vector<ReceiveQueue> rx_;
  std::vector<SendQueue> tx_;
};

template <typename Cmd, typename Fill>
absl::StatusOr<uint32_t> Mlx5Device::make(Fill fill, size_t extra_in, uint32_t table) {
  SAFENIC_ASSIGN_OR_RETURN(auto out, cmdq().run<Cmd>(0, fill, extra_in));
  const uint32_t n = out.template get<typename Cmd::Out::NUMBER>();
  undo_.push_back(undo_of<Cmd>(n, table));
  return n;
}

template <typename Reg>
absl::StatusOr<Output<Reg>> Mlx5Device::port_register(
    uint16_t op_mod, absl::FunctionRef<void(LayoutRef<Reg>)> fill) {
  return cmdq().run<RegisterAccess<Reg>>(op_mod, [&](LayoutRef<Reg> r, uint8_t*) {
    r.template set<typename Reg::REGISTER_ID>(Reg::kId).template set<typename Reg::LOCAL_PORT>(1);
    fill(r);
  });
}

}  // namespace safenic::mlx5::detail
