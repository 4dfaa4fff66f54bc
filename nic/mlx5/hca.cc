#include "nic/mlx5/hca.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/mlx5/commands.h"

namespace safenic::mlx5 {
namespace {
// The most pages one QUERY_PAGES stage may ask for (256 MiB; ConnectX-4/5
// ask for a few hundred to a few thousand): a larger count is a firmware fault.
constexpr int32_t kMaxFirmwarePages = 65536;
}  // namespace

absl::StatusOr<std::unique_ptr<Hca>> Hca::open(PciFunction& fn,
                                               std::function<void(const std::string&)> trace) {
  SAFENIC_ASSIGN_OR_RETURN(auto bar, fn.bar(0));
  if (bar->size() < kBar0Size) {
    return absl::FailedPreconditionError(absl::StrFormat("%s: BAR0 is %d bytes; a ConnectX has %d",
                                                         fn.name(), bar->size(), kBar0Size));
  }
  std::unique_ptr<Hca> hca(new Hca(fn));
  SAFENIC_ASSIGN_OR_RETURN(auto cmdq, CommandQueue::create(fn, *bar));
  hca->cmdq_ = std::move(cmdq);
  if (trace) hca->cmdq_->set_trace(std::move(trace));
  SAFENIC_RETURN_IF_ERROR(hca->bring_up());
  return hca;
}

absl::Status Hca::bring_up() {
  CommandQueue& c = *cmdq_;
  if (auto r = c.run<ENABLE_HCA>(); !r.ok()) return r.status();
  enabled_ = true;
  // ISSI 1 when the firmware has it (QUERY_ISSI may be BAD_OP: then ISSI 0).
  if (auto issi = c.run<QUERY_ISSI>(); issi.ok()) {
    if (issi->get<QUERY_ISSI::Out::SUPPORTED_ISSI_DW0>() & 2) {
      SAFENIC_RETURN_IF_ERROR(c.run<SET_ISSI>(
          0, [](LayoutRef<SET_ISSI::In> in, uint8_t*) { in.set<SET_ISSI::In::CURRENT_ISSI>(1); }));
    }
  }
  SAFENIC_RETURN_IF_ERROR(give_pages(kPagesBoot));
  auto cap = c.run<QUERY_HCA_CAP>(kCapGeneral << 1 | 1);  // general capabilities, current
  if (!cap.ok()) return cap.status();
  caps_.log_max_cq_size = cap->get<QUERY_HCA_CAP::Out::LOG_MAX_CQ_SZ>();
  caps_.log_max_eq_size = cap->get<QUERY_HCA_CAP::Out::LOG_MAX_EQ_SZ>();
  caps_.log_max_wq_size = cap->get<QUERY_HCA_CAP::Out::LOG_MAX_WQ_SZ>();
  caps_.log_max_uc_list = cap->get<QUERY_HCA_CAP::Out::LOG_MAX_CURRENT_UC_LIST>();
  caps_.ethernet = cap->get<QUERY_HCA_CAP::Out::PORT_TYPE>() == 1;
  if (!caps_.ethernet) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the port is not in Ethernet mode (InfiniBand?); set LINK_TYPE_P1=2 with mlxconfig",
        fn_.name()));
  }
  auto eth = c.run<QUERY_HCA_CAP>(kCapEthernet << 1 | 1);  // Ethernet offloads, current
  if (!eth.ok()) return eth.status();
  caps_.enhanced_mpw = eth->get<QUERY_HCA_CAP::Out::ETH_ENHANCED_MULTI_PKT_SEND_WQE>() == 1;
  caps_.wqe_inline_mode = eth->get<QUERY_HCA_CAP::Out::ETH_WQE_INLINE_MODE>();
  caps_.csum = eth->get<QUERY_HCA_CAP::Out::ETH_CSUM_CAP>() == 1;
  SAFENIC_RETURN_IF_ERROR(give_pages(kPagesInit));
  if (auto r = c.run<INIT_HCA>(); !r.ok()) return r.status();
  initialized_ = true;
  return give_pages(kPagesRegular);
}

// QUERY_PAGES for `stage`, then MANAGE_PAGES give, in commands of at most 512.
absl::Status Hca::give_pages(uint16_t stage) {
  SAFENIC_ASSIGN_OR_RETURN(auto q, cmdq_->run<QUERY_PAGES>(stage));
  const int32_t wanted = static_cast<int32_t>(q.get<QUERY_PAGES::Out::NUM_PAGES>());
  if (wanted > kMaxFirmwarePages) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: QUERY_PAGES: the firmware asks for %d pages at stage %d; safenic gives at most %d "
        "(%d MiB) per stage. Reset the device; if it asks again, check its firmware",
        fn_.name(), wanted, stage, kMaxFirmwarePages, kMaxFirmwarePages / 256));
  }
  for (int32_t left = wanted; left > 0;) {  // counts <= 0 ask for nothing (Snabb)
    const uint32_t n = std::min<uint32_t>(left, MANAGE_PAGES::kMaxPages);
    SAFENIC_ASSIGN_OR_RETURN(
        auto memory, fn_.dma().allocate(size_t{n} * kPageSize, fn_.name() + " firmware pages"));
    const uint64_t base = memory.iova();
    SAFENIC_RETURN_IF_ERROR(cmdq_->run<MANAGE_PAGES>(
        kManageGive,
        [&](LayoutRef<MANAGE_PAGES::In> in, uint8_t* raw) {
          in.set<MANAGE_PAGES::In::INPUT_NUM_ENTRIES>(n);
          for (uint32_t i = 0; i < n; ++i) {
            LayoutRef<Plain<8>> pa(raw + MANAGE_PAGES::kPas + 8 * i);
            pa.set<Plain<8>::Field<0, uint64_t>>(base + uint64_t{i} * kPageSize);
          }
        },
        8 * size_t{n}));
    blocks_.push_back({std::move(memory), std::vector<bool>(n, true), n});
    pages_out_ += n;
    left -= n;
  }
  return absl::OkStatus();
}

// MANAGE_PAGES take until the firmware has nothing left; each page returned
// is matched to the block it came from.
absl::Status Hca::take_pages(size_t most) {
  while (pages_out_ > 0 && most > 0) {
    const uint32_t n =
        static_cast<uint32_t>(std::min<size_t>({pages_out_, MANAGE_PAGES::kMaxPages, most}));
    std::vector<uint8_t> in(MANAGE_PAGES::In::kSize, 0);
    LayoutRef<MANAGE_PAGES::In>(in.data()).set<MANAGE_PAGES::In::INPUT_NUM_ENTRIES>(n);
    LayoutRef<CmdIn>(in.data())
        .set<CmdIn::OPCODE>(MANAGE_PAGES::kOpcode)
        .set<CmdIn::OP_MOD>(kManageTake);
    SAFENIC_ASSIGN_OR_RETURN(auto out, cmdq_->execute(in, MANAGE_PAGES::kPas + 8 * size_t{n}));
    const uint32_t got =
        LayoutRef<MANAGE_PAGES::Out>(out.data()).get<MANAGE_PAGES::Out::OUTPUT_NUM_ENTRIES>();
    if (got == 0 || got > n) {
      return absl::DataLossError(absl::StrFormat(
          "%s: MANAGE_PAGES returned %d pages of %d still held; their memory stays reserved",
          fn_.name(), got, pages_out_));
    }
    for (uint32_t i = 0; i < got; ++i) {
      uint64_t pa = 0;
      for (int b = 0; b < 8; ++b) pa = pa << 8 | (out)[MANAGE_PAGES::kPas + 8 * i + b];
      bool known = false;
      for (PageBlock& block : blocks_) {
        const uint64_t base = block.memory.iova();
        if (pa < base || pa >= base + block.memory.size() || (pa - base) % kPageSize != 0) continue;
        const size_t page = (pa - base) / kPageSize;
        if (!block.held[page]) break;  // returned before: the firmware's list is wrong
        block.held[page] = false;
        --block.out, --pages_out_, known = true;
        break;
      }
      if (!known) {  // the pages it still holds stay allocated
        return absl::DataLossError(absl::StrFormat(
            "%s: MANAGE_PAGES returned page %#x, which safenic never gave or already has back",
            fn_.name(), pa));
      }
    }
    std::erase_if(blocks_, [](const PageBlock& b) { return b.out == 0; });
    most -= got;
  }
  return absl::OkStatus();
}

absl::Status Hca::answer_page_request(int32_t n) {
  if (n > 0) return give_pages(kPagesRegular);
  const size_t back = n < 0 ? static_cast<size_t>(-int64_t{n}) : 0;
  if (back > pages_out_) {
    return absl::DataLossError(absl::StrFormat(
        "%s: the firmware offers %d pages back but holds %d; their memory stays reserved",
        fn_.name(), back, pages_out_));
  }
  return take_pages(back);
}

absl::Status Hca::teardown() {
  absl::Status first;
  auto keep = [&](absl::Status s) {
    if (first.ok() && !s.ok()) first = s;
  };
  if (initialized_) {
    keep(cmdq_
             ->run<TEARDOWN_HCA>(0,
                                 [](LayoutRef<TEARDOWN_HCA::In> in, uint8_t*) {
                                   in.set<TEARDOWN_HCA::In::PROFILE>(0);  // graceful
                                 })
             .status());
    initialized_ = false;
  }
  if (enabled_) {
    keep(take_pages());
    keep(cmdq_->run<DISABLE_HCA>().status());
    enabled_ = false;
  }
  return first;
}

Hca::~Hca() {
  if (enabled_) (void)teardown();
  // Blocks the firmware did not return stay allocated until here; on real
  // hardware the function is reset by then (DISABLE_HCA).
}

}  // namespace safenic::mlx5
