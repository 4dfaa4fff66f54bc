// Hca: an mlx5 device brought up to INIT_HCA and torn down again, with the
// pages the firmware asks for (docs/connectx.md §4 bring-up order, as illumos mlxcx
// does it): command queue, ENABLE_HCA, ISSI, boot pages, capabilities, init
// pages, INIT_HCA, regular pages. Teardown: TEARDOWN_HCA, every page back
// (MANAGE_PAGES take), DISABLE_HCA.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mem/dma_region.h"
#include "nic/mlx5/cmd.h"
#include "nic/pci_function.h"

namespace safenic::mlx5 {

struct Capabilities {
  uint32_t log_max_cq_size = 0;
  uint32_t log_max_eq_size = 0;
  uint32_t log_max_wq_size = 0;
  uint32_t log_max_uc_list = 0;  // the vport's allowed unicast addresses
  bool ethernet = false;
  // Ethernet offloads: where the minimum inline mode comes from
  // (kInlineModeL2/VportContext/None) and the enhanced multi-packet send WQE.
  uint32_t wqe_inline_mode = 0;
  bool enhanced_mpw = false;
  bool csum = false;  // csum_cap: checksum verdicts in CQEs
};

class Hca {
 public:
  static absl::StatusOr<std::unique_ptr<Hca>> open(
      PciFunction& fn, std::function<void(const std::string&)> trace = nullptr);
  // Tears down if teardown() was not called; memory the firmware did not
  // return is kept (never reused while the device may write it).
  ~Hca();
  absl::Status teardown();

  CommandQueue& cmdq() { return *cmdq_; }
  const Capabilities& caps() const { return caps_; }
  size_t pages_given() const { return pages_out_; }
  // A page request event (PRM "Page Request Event"): for n > 0 gives what
  // QUERY_PAGES (regular stage) asks for; for n < 0 takes -n pages back.
  absl::Status answer_page_request(int32_t n);

 private:
  struct PageBlock {
    DmaRegion memory;
    std::vector<bool> held;  // by page: the firmware holds it
    uint32_t out = 0;        // pages of it the firmware holds
  };
  explicit Hca(PciFunction& fn) : fn_(fn) {}
  absl::Status bring_up();
  absl::Status give_pages(uint16_t stage);
  absl::Status take_pages(size_t most = SIZE_MAX);  // or until the firmware has none

  PciFunction& fn_;
  std::unique_ptr<CommandQueue> cmdq_;
  Capabilities caps_;
  std::vector<PageBlock> blocks_;
  size_t pages_out_ = 0;
  bool enabled_ = false, initialized_ = false;
};

}  // namespace safenic::mlx5
