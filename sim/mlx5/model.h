// A behavioural ConnectX-4 / 4 Lx / 5: the initialization segment and the
// command interface (entries, mailbox chains, ownership, delivery status),
// with the firmware's page accounting: it asks for pages at the boot, init and
// regular stages, refuses INIT_HCA until it has them, and returns them at
// teardown. Strict: malformed entries get the delivery status the PRM defines,
// and everything it reads or writes goes through the checked IOMMU.
// (Queues, flow steering and the data path: issue #5, next step.)
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "nic/mlx5/layout.h"
#include "sim/model.h"

namespace safenic::sim {

struct ConnectXProfile {
  uint16_t device_id;
  int32_t boot_pages, init_pages, regular_pages;
  uint32_t log_max_cq_size, log_max_eq_size, log_max_wq_size;
  static ConnectXProfile cx4() { return {mlx5::kConnectX4, 32, 96, 16, 22, 22, 16}; }
  static ConnectXProfile cx4lx() { return {mlx5::kConnectX4Lx, 24, 64, 8, 22, 22, 16}; }
  static ConnectXProfile cx5() { return {mlx5::kConnectX5, 64, 256, 32, 22, 22, 16}; }
};

class ConnectXModel final : public DeviceModel {
 public:
  ConnectXModel(SimContext ctx, ConnectXProfile profile = ConnectXProfile::cx5());

  PciId id() const override { return {mlx5::kVendor, profile_.device_id}; }
  size_t bar_size(int bar) const override { return bar == 0 ? mlx5::kBar0Size : 0; }
  uint64_t mmio_read(int bar, uint32_t offset, unsigned width) override;
  void mmio_write(int bar, uint32_t offset, unsigned width, uint64_t value) override;

  // Faults: the next command (of `opcode`, or any when 0) fails with
  // `status`/`syndrome`; commands stop completing; firmware stays
  // initializing; a health syndrome.
  void fail_next_command(uint16_t opcode, mlx5::CmdStatus status, uint32_t syndrome);
  void stop_completing(bool stop) { stop_completing_ = stop; }
  // The next command completes with this delivery status (as if garbled).
  void fail_next_delivery(mlx5::Delivery d) { fail_delivery_ = d; }
  void stay_initializing(bool stay) { stay_initializing_ = stay; }
  void set_health_syndrome(uint8_t s) { health_syndrome_ = s; }

  size_t pages_held() const { return pages_.size(); }
  bool enabled() const { return enabled_; }
  bool initialized() const { return initialized_; }
  uint64_t commands() const { return commands_; }

 private:
  void doorbell(uint32_t slots);
  void execute(uint32_t slot);
  // Gathers `len` bytes: the inline part, then the mailbox chain at `mailbox`.
  mlx5::Delivery gather(uint8_t* entry, std::vector<uint8_t>* in);
  mlx5::Delivery scatter(uint8_t* entry, const std::vector<uint8_t>& out);
  // The command's output (header first); status in the header.
  std::vector<uint8_t> run(const std::vector<uint8_t>& in, size_t out_size);
  std::vector<uint8_t> manage_pages(uint16_t op_mod, const std::vector<uint8_t>& in, size_t out_size);

  SimContext ctx_;
  ConnectXProfile profile_;
  uint64_t cmdq_ = 0;
  uint32_t cmdq_addr_h_ = 0;
  bool enabled_ = false, initialized_ = false, torn_down_ = false;
  uint16_t issi_ = 0;
  int32_t owed_[4] = {};  // pages still asked for per stage (index = op_mod)
  std::set<uint64_t> pages_;
  bool stop_completing_ = false, stay_initializing_ = false;
  uint8_t health_syndrome_ = 0;
  struct Failure {
    uint16_t opcode;
    mlx5::CmdStatus status;
    uint32_t syndrome;
  };
  std::optional<Failure> fail_next_;
  std::optional<mlx5::Delivery> fail_delivery_;
  uint64_t commands_ = 0;
};

}  // namespace safenic::sim
