// The 82599 Device's declaration, shared by its two halves: device.cc
// (bring-up, link, statistics, teardown) and datapath.cc (receive, transmit
// and their offloads). Internal to the driver: users include nic/ixgbe/ixgbe.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mem/mempool.h"
#include "nic/device.h"
#include "nic/pci_function.h"
#include "nic/ring.h"

namespace safenic::ixgbe::detail {

constexpr uint32_t kTxCleanBatch = 32;
constexpr uint32_t kMaxRxQueues = 16;  // RSS redirection entries are 4 bits
constexpr uint32_t kMaxTxQueues = 64;

struct RxQueue {
  MempoolPtr pool;  // declared first: outlives the packets in `ring`
  DescriptorRing ring;
  uint32_t next = 0;        // next descriptor to look at
  bool discarding = false;  // dropping the rest of a frame that did not fit
  QueueStats stats;
};

struct TxQueue {
  DescriptorRing ring;
  uint32_t clean = 0;  // oldest descriptor not yet cleaned
  uint32_t tail = 0;   // next descriptor to fill
  QueueStats stats;
  // The checksum offloads: the header layout context 0 holds (context_key()),
  // 0 before the first context descriptor.
  uint32_t context = 0;
};

class IxgbeDevice final : public Device {
 public:
  IxgbeDevice(std::unique_ptr<PciFunction> fn, Bar& bar, const DeviceConfig& config)
      : Device(config.rx_queues, config.tx_queues),
        fn_(std::move(fn)),
        bar_(bar),
        config_(config),
        max_frame_(max_frame_length(config.mtu)),
        rx_(config.rx_queues),
        tx_(config.tx_queues) {
    watch_removal(fn_->removal_requested());
  }
  ~IxgbeDevice() override;

  absl::Status init();
  absl::string_view driver() const override { return "ixgbe"; }
  std::string name() const override { return fn_->name(); }
  MacAddress mac() const override { return mac_; }
  LinkStatus link() override;
  absl::StatusOr<DeviceStats> stats() override;
  absl::Status set_promiscuous(bool on) override;
  DeviceCapabilities capabilities() const override;

 protected:
  // The data path (datapath.cc).
  size_t receive(uint16_t queue, PacketBatch& batch) override;
  size_t transmit(uint16_t queue, PacketBatch& batch) override;
  size_t reclaim(uint16_t queue) override;
  const DmaAllocator& dma() const override { return fn_->dma(); }
  absl::Time now() override { return fn_->now(); }
  void sleep(absl::Duration d) override { fn_->sleep(d); }

 private:
  // Polls until `done()` or `timeout`; the error names what did not happen.
  template <typename Done>
  absl::Status wait_until(Done done, absl::Duration timeout, absl::string_view what);
  absl::Status reset();
  void init_link();
  absl::Status init_rx();
  absl::Status init_tx();
  absl::Status start_rx_queue(uint32_t q);
  absl::Status start_tx_queue(uint32_t q);
  void init_rss();
  void stop();
  // The data path's parts (datapath.cc).
  void clean_tx(TxQueue& tq, size_t wanted);
  // receive(), with or without the checksum verdicts and the RSS hash (one
  // loop each: no per-packet test for an offload that is off). The plain one
  // is inlined into receive(), as when both were one file's internal
  // functions (the call cost 1.1 instructions per packet at batch 32).
  template <bool kChecksums, bool kHash>
  ABSL_ATTRIBUTE_ALWAYS_INLINE inline size_t receive_in(uint16_t queue, PacketBatch& batch);
  // receive_in() out of line: the loops with offloads, each a function of
  // its own, so that none costs the plain loop (or another) its registers.
  template <bool kChecksums, bool kHash>
  ABSL_ATTRIBUTE_NOINLINE size_t receive_out_of_line(uint16_t queue, PacketBatch& batch);
  // transmit() without offloads, and with a transmit checksum offload.
  size_t transmit_plain(uint16_t queue, PacketBatch& batch);
  size_t transmit_checksums(uint16_t queue, PacketBatch& batch);

  std::unique_ptr<PciFunction> fn_;
  Bar& bar_;
  DeviceConfig config_;
  const uint32_t max_frame_;  // the longest frame sent: max_frame_length(config_.mtu)
  const bool rx_offloads_ =
      config_.offloads.has(Offload::kRxChecksum) || config_.offloads.has(Offload::kRxRssHash);
  // The TxFlag checksum bits packets may ask for; none: transmit_plain().
  const uint16_t tx_checksums_ = config_.offloads.tx_checksum_flags();
  MacAddress mac_;
  std::vector<RxQueue> rx_;
  std::vector<TxQueue> tx_;
  std::map<std::string, uint64_t> counters_;
  bool started_ = false;
};

}  // namespace safenic::ixgbe::detail
