// Prints every ConnectX definition in nic/mlx5/ (layouts, fields, sizes,
// opcodes, statuses, syndromes, WQE/CQE/EQE constants, states) with the name
// Linux's mlx5 headers give the same thing, for tests/fidelity/check_mlx5.py
// to compare. One line per item, tab-separated:
//
//   field  <safenic name>  <bit offset>  <width>  <Linux reference>
//   size   <safenic name>  <bytes>                <Linux reference>
//   value  <safenic name>  <value>                <Linux reference>
//   cover  <safenic name>  <values, comma-separated>  <Linux constant prefix>
//   speed  <PTYS bit>      <Mb/s>
//
// Bit offsets count from the most significant bit of a layout's first byte,
// as mlx5_ifc.h does (all ConnectX layouts are big-endian). Linux references:
//   ifc:<struct>.<member>...      a member of mlx5_ifc_<struct>_bits
//   ifc:<path>+<bit>:<width>      part of one (bits from its start)
//   ifc-offset:<path>             where that member starts, in bytes
//   ifc-bytes:<path>              its size in bytes
//   c:<struct>.<member>           a member of a C struct (device.h, qp.h, ...)
//   c:<path>&<MASK>               the bits of MASK within that big-endian member
//   c-offset:, c-bytes:           as for ifc
//   k:<NAME>                      an enum value or #define
// A new definition in nic/mlx5/ needs a line here (the checker fails on any
// declaration it finds no line for), or an entry in mlx5_allowed.txt saying
// why Linux has no counterpart.
#include <cstdint>
#include <cstdio>
#include <string>

#include "nic/mlx5/cmd.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/layout.h"
#include "nic/mlx5/wqe.h"

namespace safenic::mlx5 {
namespace {

// A layout field: bits [kLo, kHi] of the big-endian word at kOffset.
template <typename F>
void field(const char* name, const char* ref) {
  constexpr unsigned word_bits = sizeof(typename F::Word) * 8;
  constexpr unsigned hi = F::kLo + F::kWidth - 1;
  std::printf("field\t%s\t%zu\t%u\t%s\n", name, F::kOffset * 8 + (word_bits - 1 - hi), F::kWidth,
              ref);
}
// A register field: the same within the register's big-endian dword.
template <typename R, typename F>
void reg_field(const char* name, const char* ref) {
  constexpr unsigned hi = F::kLo + F::kWidth - 1;
  std::printf("field\t%s\t%u\t%u\t%s\n", name, R::offset() * 8 + (31 - hi), F::kWidth, ref);
}
// A whole register: its dword.
template <typename R>
void reg(const char* name, const char* ref) {
  std::printf("field\t%s\t%u\t32\t%s\n", name, R::offset() * 8, ref);
}
template <typename L>
void size(const char* name, const char* ref) {
  std::printf("size\t%s\t%zu\t%s\n", name, L::kSize, ref);
}
void value(const char* name, uint64_t v, const char* ref) {
  std::printf("value\t%s\t%llu\t%s\n", name, static_cast<unsigned long long>(v), ref);
}
// The values 0..255 that `named` gives a name of its own, against every value
// Linux defines with `prefix`.
template <typename Named>
void cover(const char* name, Named named, const char* prefix) {
  std::string values;
  for (unsigned v = 0; v < 256; ++v) {
    if (!named(v)) continue;
    if (!values.empty()) values += ",";
    values += std::to_string(v);
  }
  std::printf("cover\t%s\t%s\t%s\n", name, values.c_str(), prefix);
}

#define FIELD(F, ref) field<F>(#F, ref)
#define REG_FIELD(R, F, ref) reg_field<R, R::F>(#R "::" #F, ref)
#define REG(R, ref) reg<R>(#R, ref)
#define SIZE(L, ref) size<L>(#L, ref)
#define VALUE(v, ref) value(#v, static_cast<uint64_t>(v), ref)

void initialization_segment() {
  REG_FIELD(FW_REV, MAJOR, "ifc:initial_seg.fw_rev_major");
  REG_FIELD(FW_REV, MINOR, "ifc:initial_seg.fw_rev_minor");
  REG_FIELD(CMDIF_REV_FW_SUB, FW_REV_SUBMINOR, "ifc:initial_seg.fw_rev_subminor");
  REG_FIELD(CMDIF_REV_FW_SUB, CMD_INTERFACE_REV, "ifc:initial_seg.cmd_interface_rev");
  REG(CMDQ_ADDR_H, "ifc:initial_seg.cmdq_phy_addr_63_32");
  REG_FIELD(CMDQ_ADDR_L_SZ, LOG_CMDQ_STRIDE, "ifc:initial_seg.log_cmdq_stride");
  REG_FIELD(CMDQ_ADDR_L_SZ, LOG_CMDQ_SIZE, "ifc:initial_seg.log_cmdq_size");
  REG_FIELD(CMDQ_ADDR_L_SZ, NIC_INTERFACE, "ifc:initial_seg.nic_interface");
  REG_FIELD(CMDQ_ADDR_L_SZ, CMDQ_ADDR_L, "ifc:initial_seg.cmdq_phy_addr_31_12");
  REG(CMD_DBELL, "ifc:initial_seg.command_doorbell_vector");
  REG_FIELD(INITIALIZING, NIC_INTERFACE_SUPPORTED, "ifc:initial_seg.nic_interface_supported");
  REG_FIELD(INITIALIZING, BUSY, "ifc:initial_seg.initializing");
  REG_FIELD(HEALTH_SYNDROME, SYNDROME, "ifc:initial_seg.health_buffer.synd");
  REG_FIELD(HEALTH_SYNDROME, EXT_SYNDROME, "ifc:initial_seg.health_buffer.ext_synd");
  REG(INTERNAL_TIMER_H, "c:mlx5_init_seg.internal_timer_h");
  REG(INTERNAL_TIMER_L, "c:mlx5_init_seg.internal_timer_l");
  VALUE(kHealthBuffer, "ifc-offset:initial_seg.health_buffer");
  VALUE(HealthSyndrome::kFwInternalErr, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_FW_INTERNAL_ERR");
  VALUE(HealthSyndrome::kDeadIrisc, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_DEAD_IRISC");
  VALUE(HealthSyndrome::kHwFatalErr, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_HW_FATAL_ERR");
  VALUE(HealthSyndrome::kFwCrcErr, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_FW_CRC_ERR");
  VALUE(HealthSyndrome::kIcmFetchPciErr, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_ICM_FETCH_PCI_ERR");
  VALUE(HealthSyndrome::kIcmPageErr, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_ICM_PAGE_ERR");
  VALUE(HealthSyndrome::kAsynchronousEqBufOverrun,
        "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_ASYNCHRONOUS_EQ_BUF_OVERRUN");
  VALUE(HealthSyndrome::kEqInErr, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_EQ_IN_ERR");
  VALUE(HealthSyndrome::kEqInv, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_EQ_INV");
  VALUE(HealthSyndrome::kFfserErr, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_FFSER_ERR");
  VALUE(HealthSyndrome::kHighTempErr, "k:MLX5_INITIAL_SEG_HEALTH_SYNDROME_HIGH_TEMP_ERR");
  cover(
      "health_syndrome_name",
      [](unsigned v) { return std::string(health_syndrome_name(v)) != "unknown syndrome"; },
      "MLX5_INITIAL_SEG_HEALTH_SYNDROME_");
  VALUE(kVendor, "k:PCI_VENDOR_ID_MELLANOX");
  VALUE(kPageSize, "k:MLX5_ADAPTER_PAGE_SIZE");
}

void command_interface() {
  SIZE(CmdEntry, "ifc-bytes:cmd_queue_entry");
  FIELD(CmdEntry::TYPE, "ifc:cmd_queue_entry.type");
  FIELD(CmdEntry::INPUT_LENGTH, "ifc:cmd_queue_entry.input_length");
  FIELD(CmdEntry::INPUT_MAILBOX, "ifc:cmd_queue_entry+64:64");
  FIELD(CmdEntry::OUTPUT_MAILBOX, "ifc:cmd_queue_entry+384:64");
  FIELD(CmdEntry::OUTPUT_LENGTH, "ifc:cmd_queue_entry.output_length");
  FIELD(CmdEntry::TOKEN, "ifc:cmd_queue_entry.token");
  FIELD(CmdEntry::SIGNATURE, "ifc:cmd_queue_entry.signature");
  FIELD(CmdEntry::OWNER, "ifc:cmd_queue_entry.ownership");
  FIELD(CmdEntry::STATUS, "ifc:cmd_queue_entry.status");
  VALUE(kCmdTypePcie, "k:MLX5_PCI_CMD_XPORT");
  VALUE(kCmdInlineIn, "ifc-offset:cmd_queue_entry.command_input_inline_data");
  VALUE(kCmdInlineOut, "ifc-offset:cmd_queue_entry.command_output_inline_data");
  VALUE(kCmdInline, "ifc-bytes:cmd_queue_entry.command_input_inline_data");
  SIZE(Mailbox, "ifc-bytes:cmd_if_box");
  FIELD(Mailbox::NEXT, "ifc:cmd_if_box+4480:64");
  FIELD(Mailbox::BLOCK_NUMBER, "ifc:cmd_if_box.block_number");
  FIELD(Mailbox::TOKEN, "ifc:cmd_if_box.token");
  FIELD(Mailbox::CTRL_SIGNATURE, "ifc:cmd_if_box.ctrl_signature");
  FIELD(Mailbox::SIGNATURE, "ifc:cmd_if_box.signature");
  VALUE(kMailboxData, "k:MLX5_CMD_DATA_BLOCK_SIZE");
  FIELD(CmdIn::OPCODE, "ifc:query_hca_cap_in.opcode");
  FIELD(CmdIn::OP_MOD, "ifc:query_hca_cap_in.op_mod");
  SIZE(CmdIn, "ifc-offset:query_hca_cap_in.other_function");
  FIELD(CmdOut::STATUS, "ifc:query_hca_cap_out.status");
  FIELD(CmdOut::SYNDROME, "ifc:query_hca_cap_out.syndrome");
  SIZE(CmdOut, "ifc-offset:manage_pages_out.output_num_entries");
  VALUE(CmdStatus::kOk, "k:MLX5_CMD_STAT_OK");
  VALUE(CmdStatus::kInternalError, "k:MLX5_CMD_STAT_INT_ERR");
  VALUE(CmdStatus::kBadOp, "k:MLX5_CMD_STAT_BAD_OP_ERR");
  VALUE(CmdStatus::kBadParam, "k:MLX5_CMD_STAT_BAD_PARAM_ERR");
  VALUE(CmdStatus::kBadSysState, "k:MLX5_CMD_STAT_BAD_SYS_STATE_ERR");
  VALUE(CmdStatus::kBadResource, "k:MLX5_CMD_STAT_BAD_RES_ERR");
  VALUE(CmdStatus::kResourceBusy, "k:MLX5_CMD_STAT_RES_BUSY");
  VALUE(CmdStatus::kExceedLimit, "k:MLX5_CMD_STAT_LIM_ERR");
  VALUE(CmdStatus::kBadResState, "k:MLX5_CMD_STAT_BAD_RES_STATE_ERR");
  VALUE(CmdStatus::kBadIndex, "k:MLX5_CMD_STAT_IX_ERR");
  VALUE(CmdStatus::kNoResources, "k:MLX5_CMD_STAT_NO_RES_ERR");
  VALUE(CmdStatus::kBadQpState, "k:MLX5_CMD_STAT_BAD_QP_STATE_ERR");
  VALUE(CmdStatus::kBadPacket, "k:MLX5_CMD_STAT_BAD_PKT_ERR");
  VALUE(CmdStatus::kBadSizeOutstandingCqes, "k:MLX5_CMD_STAT_BAD_SIZE_OUTS_CQES_ERR");
  VALUE(CmdStatus::kBadInputLength, "k:MLX5_CMD_STAT_BAD_INP_LEN_ERR");
  VALUE(CmdStatus::kBadOutputLength, "k:MLX5_CMD_STAT_BAD_OUTP_LEN_ERR");
  cover(
      "status_name", [](unsigned v) { return status_name(v).rfind("status ", 0) != 0; },
      "MLX5_CMD_STAT_");
  // Delivery statuses: Linux's cmd.c names them (MLX5_CMD_DELIVERY_STAT_*);
  // they are not in include/linux (mlx5_allowed.txt).
}

// Every command's opcode, from the one list (nic/mlx5/commands.h), against
// Linux's MLX5_CMD_OP_<its name>.
void opcodes() {
  for_each_command(Commands{}, [](auto cmd) {
    using Cmd = decltype(cmd);
    const std::string name(Cmd::kName);
    // The one name Linux shortens.
    const std::string linux_name = name == "ACCESS_REGISTER" ? "ACCESS_REG" : name;
    value((name + "::kOpcode").c_str(), Cmd::kOpcode, ("k:MLX5_CMD_OP_" + linux_name).c_str());
    return false;
  });
  VALUE(kPagesBoot, "k:MLX5_QUERY_PAGES_IN_OP_MOD_BOOT_PAGES");
  VALUE(kPagesInit, "k:MLX5_QUERY_PAGES_IN_OP_MOD_INIT_PAGES");
  VALUE(kPagesRegular, "k:MLX5_QUERY_PAGES_IN_OP_MOD_REGULAR_PAGES");
  VALUE(kManageAllocFail, "k:MLX5_MANAGE_PAGES_IN_OP_MOD_ALLOCATION_FAIL");
  VALUE(kManageGive, "k:MLX5_MANAGE_PAGES_IN_OP_MOD_ALLOCATION_SUCCESS");
  VALUE(kManageTake, "k:MLX5_MANAGE_PAGES_IN_OP_MOD_HCA_RETURN_PAGES");
}

void uar() { VALUE(UAR_SEND_DOORBELL::offset(0), "k:MLX5_BF_OFFSET"); }

// The commands, in commands.h's order.
void hca_commands() {
  SIZE(ENABLE_HCA::In, "ifc-bytes:enable_hca_in");
  FIELD(ENABLE_HCA::In::FUNCTION_ID, "ifc:enable_hca_in.function_id");
  SIZE(ENABLE_HCA::Out, "ifc-bytes:enable_hca_out");
  SIZE(DISABLE_HCA::In, "ifc-bytes:disable_hca_in");
  SIZE(DISABLE_HCA::Out, "ifc-bytes:disable_hca_out");
  SIZE(QUERY_ISSI::In, "ifc-bytes:query_issi_in");
  SIZE(QUERY_ISSI::Out, "ifc-bytes:query_issi_out");
  FIELD(QUERY_ISSI::Out::CURRENT_ISSI, "ifc:query_issi_out.current_issi");
  FIELD(QUERY_ISSI::Out::SUPPORTED_ISSI_DW0, "ifc:query_issi_out.supported_issi_dw0");
  SIZE(SET_ISSI::In, "ifc-bytes:set_issi_in");
  FIELD(SET_ISSI::In::CURRENT_ISSI, "ifc:set_issi_in.current_issi");
  SIZE(SET_ISSI::Out, "ifc-bytes:set_issi_out");
  SIZE(QUERY_PAGES::In, "ifc-bytes:query_pages_in");
  FIELD(QUERY_PAGES::In::FUNCTION_ID, "ifc:query_pages_in.function_id");
  SIZE(QUERY_PAGES::Out, "ifc-bytes:query_pages_out");
  FIELD(QUERY_PAGES::Out::NUM_PAGES, "ifc:query_pages_out.num_pages");
  SIZE(MANAGE_PAGES::In, "ifc-bytes:manage_pages_in");
  FIELD(MANAGE_PAGES::In::FUNCTION_ID, "ifc:manage_pages_in.function_id");
  FIELD(MANAGE_PAGES::In::INPUT_NUM_ENTRIES, "ifc:manage_pages_in.input_num_entries");
  SIZE(MANAGE_PAGES::Out, "ifc-bytes:manage_pages_out");
  FIELD(MANAGE_PAGES::Out::OUTPUT_NUM_ENTRIES, "ifc:manage_pages_out.output_num_entries");
  VALUE(MANAGE_PAGES::kPas, "ifc-offset:manage_pages_in.pas");
  SIZE(QUERY_HCA_CAP::In, "ifc-bytes:query_hca_cap_in");
  SIZE(QUERY_HCA_CAP::Out, "ifc-bytes:query_hca_cap_out");
  FIELD(QUERY_HCA_CAP::Out::LOG_MAX_CQ_SZ,
        "ifc:query_hca_cap_out.capability.cmd_hca_cap.log_max_cq_sz");
  FIELD(QUERY_HCA_CAP::Out::LOG_MAX_EQ_SZ,
        "ifc:query_hca_cap_out.capability.cmd_hca_cap.log_max_eq_sz");
  FIELD(QUERY_HCA_CAP::Out::PORT_TYPE, "ifc:query_hca_cap_out.capability.cmd_hca_cap.port_type");
  FIELD(QUERY_HCA_CAP::Out::LOG_MAX_WQ_SZ,
        "ifc:query_hca_cap_out.capability.cmd_hca_cap.log_max_wq_sz");
  FIELD(QUERY_HCA_CAP::Out::LOG_MAX_CURRENT_UC_LIST,
        "ifc:query_hca_cap_out.capability.cmd_hca_cap.log_max_current_uc_list");
  FIELD(QUERY_HCA_CAP::Out::ETH_CSUM_CAP,
        "ifc:query_hca_cap_out.capability.per_protocol_networking_offload_caps.csum_cap");
  FIELD(QUERY_HCA_CAP::Out::ETH_WQE_INLINE_MODE,
        "ifc:query_hca_cap_out.capability.per_protocol_networking_offload_caps.wqe_inline_mode");
  FIELD(QUERY_HCA_CAP::Out::ETH_ENHANCED_MULTI_PKT_SEND_WQE,
        "ifc:query_hca_cap_out.capability.per_protocol_networking_offload_caps."
        "enhanced_multi_pkt_send_wqe");
  VALUE(kCapGeneral, "k:MLX5_CAP_GENERAL");
  VALUE(kCapEthernet, "k:MLX5_CAP_ETHERNET_OFFLOADS");
  VALUE(kInlineModeL2, "k:MLX5_CAP_INLINE_MODE_L2");
  VALUE(kInlineModeVportContext, "k:MLX5_CAP_INLINE_MODE_VPORT_CONTEXT");
  VALUE(kInlineModeNone, "k:MLX5_CAP_INLINE_MODE_NOT_REQUIRED");
  SIZE(INIT_HCA::In, "ifc-bytes:init_hca_in");
  SIZE(INIT_HCA::Out, "ifc-bytes:init_hca_out");
  SIZE(TEARDOWN_HCA::In, "ifc-bytes:teardown_hca_in");
  FIELD(TEARDOWN_HCA::In::PROFILE, "ifc:teardown_hca_in.profile");
  SIZE(TEARDOWN_HCA::Out, "ifc-bytes:teardown_hca_out");
}

void object_commands() {
  SIZE(ALLOC_UAR::In, "ifc-bytes:alloc_uar_in");
  SIZE(ALLOC_UAR::Out, "ifc-bytes:alloc_uar_out");
  FIELD(ALLOC_UAR::Out::NUMBER, "ifc:alloc_uar_out.uar");
  SIZE(DEALLOC_UAR::In, "ifc-bytes:dealloc_uar_in");
  FIELD(DEALLOC_UAR::In::NUMBER, "ifc:dealloc_uar_in.uar");
  SIZE(DEALLOC_UAR::Out, "ifc-bytes:dealloc_uar_out");
  SIZE(ALLOC_PD::In, "ifc-bytes:alloc_pd_in");
  SIZE(ALLOC_PD::Out, "ifc-bytes:alloc_pd_out");
  FIELD(ALLOC_PD::Out::NUMBER, "ifc:alloc_pd_out.pd");
  SIZE(DEALLOC_PD::In, "ifc-bytes:dealloc_pd_in");
  FIELD(DEALLOC_PD::In::NUMBER, "ifc:dealloc_pd_in.pd");
  SIZE(DEALLOC_PD::Out, "ifc-bytes:dealloc_pd_out");
  SIZE(ALLOC_TRANSPORT_DOMAIN::In, "ifc-bytes:alloc_transport_domain_in");
  SIZE(ALLOC_TRANSPORT_DOMAIN::Out, "ifc-bytes:alloc_transport_domain_out");
  FIELD(ALLOC_TRANSPORT_DOMAIN::Out::NUMBER, "ifc:alloc_transport_domain_out.transport_domain");
  SIZE(DEALLOC_TRANSPORT_DOMAIN::In, "ifc-bytes:dealloc_transport_domain_in");
  FIELD(DEALLOC_TRANSPORT_DOMAIN::In::NUMBER, "ifc:dealloc_transport_domain_in.transport_domain");
  SIZE(DEALLOC_TRANSPORT_DOMAIN::Out, "ifc-bytes:dealloc_transport_domain_out");
  SIZE(QUERY_SPECIAL_CONTEXTS::In, "ifc-bytes:query_special_contexts_in");
  SIZE(QUERY_SPECIAL_CONTEXTS::Out, "ifc-bytes:query_special_contexts_out");
  FIELD(QUERY_SPECIAL_CONTEXTS::Out::RESD_LKEY, "ifc:query_special_contexts_out.resd_lkey");
  FIELD(QUERY_SPECIAL_CONTEXTS::Out::NULL_MKEY, "ifc:query_special_contexts_out.null_mkey");
  VALUE(kPas, "ifc-offset:create_cq_in.pas");

  SIZE(CREATE_EQ::In, "ifc-offset:create_eq_in.pas");
  FIELD(CREATE_EQ::In::OI, "ifc:create_eq_in.eq_context_entry.oi");
  FIELD(CREATE_EQ::In::LOG_EQ_SIZE, "ifc:create_eq_in.eq_context_entry.log_eq_size");
  FIELD(CREATE_EQ::In::UAR_PAGE, "ifc:create_eq_in.eq_context_entry.uar_page");
  FIELD(CREATE_EQ::In::LOG_PAGE_SIZE, "ifc:create_eq_in.eq_context_entry.log_page_size");
  FIELD(CREATE_EQ::In::EVENT_BITMASK, "ifc:create_eq_in.event_bitmask+0:64");
  SIZE(CREATE_EQ::Out, "ifc-bytes:create_eq_out");
  FIELD(CREATE_EQ::Out::NUMBER, "ifc:create_eq_out.eq_number");
  SIZE(DESTROY_EQ::In, "ifc-bytes:destroy_eq_in");
  FIELD(DESTROY_EQ::In::NUMBER, "ifc:destroy_eq_in.eq_number");
  SIZE(DESTROY_EQ::Out, "ifc-bytes:destroy_eq_out");

  SIZE(CREATE_CQ::In, "ifc-offset:create_cq_in.pas");
  FIELD(CREATE_CQ::In::CQE_SZ, "ifc:create_cq_in.cq_context.cqe_sz");
  FIELD(CREATE_CQ::In::OI, "ifc:create_cq_in.cq_context.oi");
  FIELD(CREATE_CQ::In::LOG_CQ_SIZE, "ifc:create_cq_in.cq_context.log_cq_size");
  FIELD(CREATE_CQ::In::UAR_PAGE, "ifc:create_cq_in.cq_context.uar_page");
  FIELD(CREATE_CQ::In::C_EQN, "ifc:create_cq_in.cq_context.c_eqn_or_apu_element");
  FIELD(CREATE_CQ::In::LOG_PAGE_SIZE, "ifc:create_cq_in.cq_context.log_page_size");
  FIELD(CREATE_CQ::In::DBR_ADDR, "ifc:create_cq_in.cq_context.dbr_addr");
  SIZE(CREATE_CQ::Out, "ifc-bytes:create_cq_out");
  FIELD(CREATE_CQ::Out::NUMBER, "ifc:create_cq_out.cqn");
  SIZE(DESTROY_CQ::In, "ifc-bytes:destroy_cq_in");
  FIELD(DESTROY_CQ::In::NUMBER, "ifc:destroy_cq_in.cqn");
  SIZE(DESTROY_CQ::Out, "ifc-bytes:destroy_cq_out");

  SIZE(CREATE_SQ::In, "ifc-offset:create_sq_in.ctx.wq.pas");
  FIELD(CREATE_SQ::In::RLKEY, "ifc:create_sq_in.ctx.rlky");
  FIELD(CREATE_SQ::In::FLUSH_IN_ERROR_EN, "ifc:create_sq_in.ctx.flush_in_error_en");
  FIELD(CREATE_SQ::In::MIN_WQE_INLINE_MODE, "ifc:create_sq_in.ctx.min_wqe_inline_mode");
  FIELD(CREATE_SQ::In::STATE, "ifc:create_sq_in.ctx.state");
  FIELD(CREATE_SQ::In::CQN, "ifc:create_sq_in.ctx.cqn");
  FIELD(CREATE_SQ::In::TIS_LST_SZ, "ifc:create_sq_in.ctx.tis_lst_sz");
  FIELD(CREATE_SQ::In::TIS_NUM_0, "ifc:create_sq_in.ctx.tis_num_0");
  FIELD(CREATE_SQ::In::WQ_TYPE, "ifc:create_sq_in.ctx.wq.wq_type");
  FIELD(CREATE_SQ::In::PD, "ifc:create_sq_in.ctx.wq.pd");
  FIELD(CREATE_SQ::In::UAR_PAGE, "ifc:create_sq_in.ctx.wq.uar_page");
  FIELD(CREATE_SQ::In::DBR_ADDR, "ifc:create_sq_in.ctx.wq.dbr_addr");
  FIELD(CREATE_SQ::In::LOG_WQ_STRIDE, "ifc:create_sq_in.ctx.wq.log_wq_stride");
  FIELD(CREATE_SQ::In::LOG_WQ_PG_SZ, "ifc:create_sq_in.ctx.wq.log_wq_pg_sz");
  FIELD(CREATE_SQ::In::LOG_WQ_SZ, "ifc:create_sq_in.ctx.wq.log_wq_sz");
  SIZE(CREATE_SQ::Out, "ifc-bytes:create_sq_out");
  FIELD(CREATE_SQ::Out::NUMBER, "ifc:create_sq_out.sqn");
  SIZE(CREATE_RQ::In, "ifc-offset:create_rq_in.ctx.wq.pas");
  FIELD(CREATE_RQ::In::RLKEY, "ifc:create_rq_in.ctx.rlky");
  FIELD(CREATE_RQ::In::VSD, "ifc:create_rq_in.ctx.vsd");
  FIELD(CREATE_RQ::In::MEM_RQ_TYPE, "ifc:create_rq_in.ctx.mem_rq_type");
  FIELD(CREATE_RQ::In::FLUSH_IN_ERROR_EN, "ifc:create_rq_in.ctx.flush_in_error_en");
  FIELD(CREATE_RQ::In::STATE, "ifc:create_rq_in.ctx.state");
  FIELD(CREATE_RQ::In::CQN, "ifc:create_rq_in.ctx.cqn");
  FIELD(CREATE_RQ::In::WQ_TYPE, "ifc:create_rq_in.ctx.wq.wq_type");
  FIELD(CREATE_RQ::In::PD, "ifc:create_rq_in.ctx.wq.pd");
  FIELD(CREATE_RQ::In::UAR_PAGE, "ifc:create_rq_in.ctx.wq.uar_page");
  FIELD(CREATE_RQ::In::DBR_ADDR, "ifc:create_rq_in.ctx.wq.dbr_addr");
  FIELD(CREATE_RQ::In::LOG_WQ_STRIDE, "ifc:create_rq_in.ctx.wq.log_wq_stride");
  FIELD(CREATE_RQ::In::LOG_WQ_PG_SZ, "ifc:create_rq_in.ctx.wq.log_wq_pg_sz");
  FIELD(CREATE_RQ::In::LOG_WQ_SZ, "ifc:create_rq_in.ctx.wq.log_wq_sz");
  SIZE(CREATE_RQ::Out, "ifc-bytes:create_rq_out");
  FIELD(CREATE_RQ::Out::NUMBER, "ifc:create_rq_out.rqn");
  VALUE(kRst, "k:MLX5_SQC_STATE_RST");
  VALUE(kRdy, "k:MLX5_SQC_STATE_RDY");
  VALUE(kErr, "k:MLX5_SQC_STATE_ERR");
  VALUE(kRst, "k:MLX5_RQC_STATE_RST");
  VALUE(kRdy, "k:MLX5_RQC_STATE_RDY");
  VALUE(kErr, "k:MLX5_RQC_STATE_ERR");
  VALUE(kWqCyclic, "k:MLX5_WQ_TYPE_CYCLIC");
  SIZE(MODIFY_SQ::In, "ifc-offset:modify_sq_in.ctx.wq.pas");
  FIELD(MODIFY_SQ::In::CURRENT_STATE, "ifc:modify_sq_in.sq_state");
  FIELD(MODIFY_SQ::In::NUMBER, "ifc:modify_sq_in.sqn");
  FIELD(MODIFY_SQ::In::NEXT_STATE, "ifc:modify_sq_in.ctx.state");
  SIZE(MODIFY_SQ::Out, "ifc-bytes:modify_sq_out");
  FIELD(MODIFY_RQ::In::CURRENT_STATE, "ifc:modify_rq_in.rq_state");
  FIELD(MODIFY_RQ::In::NUMBER, "ifc:modify_rq_in.rqn");
  FIELD(MODIFY_RQ::In::NEXT_STATE, "ifc:modify_rq_in.ctx.state");
  SIZE(MODIFY_RQ::Out, "ifc-bytes:modify_rq_out");
  SIZE(DESTROY_SQ::In, "ifc-bytes:destroy_sq_in");
  FIELD(DESTROY_SQ::In::NUMBER, "ifc:destroy_sq_in.sqn");
  SIZE(DESTROY_SQ::Out, "ifc-bytes:destroy_sq_out");
  SIZE(DESTROY_RQ::In, "ifc-bytes:destroy_rq_in");
  FIELD(DESTROY_RQ::In::NUMBER, "ifc:destroy_rq_in.rqn");
  SIZE(DESTROY_RQ::Out, "ifc-bytes:destroy_rq_out");

  SIZE(CREATE_TIS::In, "ifc-bytes:create_tis_in");
  FIELD(CREATE_TIS::In::TRANSPORT_DOMAIN, "ifc:create_tis_in.ctx.transport_domain");
  SIZE(CREATE_TIS::Out, "ifc-bytes:create_tis_out");
  FIELD(CREATE_TIS::Out::NUMBER, "ifc:create_tis_out.tisn");
  SIZE(DESTROY_TIS::In, "ifc-bytes:destroy_tis_in");
  FIELD(DESTROY_TIS::In::NUMBER, "ifc:destroy_tis_in.tisn");

  SIZE(CREATE_TIR::In, "ifc-bytes:create_tir_in");
  FIELD(CREATE_TIR::In::DISP_TYPE, "ifc:create_tir_in.ctx.disp_type");
  FIELD(CREATE_TIR::In::INLINE_RQN, "ifc:create_tir_in.ctx.inline_rqn");
  FIELD(CREATE_TIR::In::INDIRECT_TABLE, "ifc:create_tir_in.ctx.indirect_table");
  FIELD(CREATE_TIR::In::RX_HASH_FN, "ifc:create_tir_in.ctx.rx_hash_fn");
  FIELD(CREATE_TIR::In::TRANSPORT_DOMAIN, "ifc:create_tir_in.ctx.transport_domain");
  FIELD(CREATE_TIR::In::L3_PROT_TYPE,
        "ifc:create_tir_in.ctx.rx_hash_field_selector_outer.l3_prot_type");
  FIELD(CREATE_TIR::In::L4_PROT_TYPE,
        "ifc:create_tir_in.ctx.rx_hash_field_selector_outer.l4_prot_type");
  FIELD(CREATE_TIR::In::SELECTED_FIELDS,
        "ifc:create_tir_in.ctx.rx_hash_field_selector_outer.selected_fields");
  VALUE(CREATE_TIR::kToeplitzKey, "ifc-offset:create_tir_in.ctx.rx_hash_toeplitz_key");
  VALUE(CREATE_TIR::kKeySize, "ifc-bytes:create_tir_in.ctx.rx_hash_toeplitz_key");
  SIZE(CREATE_TIR::Out, "ifc-bytes:create_tir_out");
  FIELD(CREATE_TIR::Out::NUMBER, "ifc:create_tir_out.tirn");
  VALUE(kHashSrcIp, "k:MLX5_HASH_FIELD_SEL_SRC_IP");
  VALUE(kHashDstIp, "k:MLX5_HASH_FIELD_SEL_DST_IP");
  VALUE(kHashSport, "k:MLX5_HASH_FIELD_SEL_L4_SPORT");
  VALUE(kHashDport, "k:MLX5_HASH_FIELD_SEL_L4_DPORT");
  VALUE(kHashToeplitz, "k:MLX5_RX_HASH_FN_TOEPLITZ");
  SIZE(DESTROY_TIR::In, "ifc-bytes:destroy_tir_in");
  FIELD(DESTROY_TIR::In::NUMBER, "ifc:destroy_tir_in.tirn");

  SIZE(CREATE_RQT::In, "ifc-offset:create_rqt_in.rqt_context.rq_num");
  FIELD(CREATE_RQT::In::RQT_MAX_SIZE, "ifc:create_rqt_in.rqt_context.rqt_max_size");
  FIELD(CREATE_RQT::In::RQT_ACTUAL_SIZE, "ifc:create_rqt_in.rqt_context.rqt_actual_size");
  VALUE(CREATE_RQT::kRqNum, "ifc-offset:create_rqt_in.rqt_context.rq_num");
  SIZE(CREATE_RQT::Out, "ifc-bytes:create_rqt_out");
  FIELD(CREATE_RQT::Out::NUMBER, "ifc:create_rqt_out.rqtn");
  SIZE(DESTROY_RQT::In, "ifc-bytes:destroy_rqt_in");
  FIELD(DESTROY_RQT::In::NUMBER, "ifc:destroy_rqt_in.rqtn");
}

void flow_steering() {
  VALUE(kTableNicRx, "k:MLX5_FLOW_TABLE_TYPE_NIC_RX");
  VALUE(kActionDrop, "k:MLX5_FLOW_CONTEXT_ACTION_DROP");
  VALUE(kActionForward, "k:MLX5_FLOW_CONTEXT_ACTION_FWD_DEST");
  VALUE(kDestFlowTable, "k:MLX5_IFC_FLOW_DESTINATION_TYPE_FLOW_TABLE");
  VALUE(kDestTir, "k:MLX5_IFC_FLOW_DESTINATION_TYPE_TIR");
  VALUE(kMatchOuterHeaders, "k:MLX5_MATCH_OUTER_HEADERS");
  SIZE(TableIn, "ifc-bytes:delete_fte_in");
  FIELD(TableIn::TABLE_TYPE, "ifc:delete_fte_in.table_type");
  FIELD(TableIn::TABLE_ID, "ifc:delete_fte_in.table_id");
  FIELD(TableIn::GROUP_ID, "ifc:destroy_flow_group_in.group_id");
  FIELD(TableIn::FLOW_INDEX, "ifc:delete_fte_in.flow_index");
  SIZE(DESTROY_FLOW_TABLE::In, "ifc-bytes:destroy_flow_table_in");
  FIELD(DESTROY_FLOW_TABLE::In::TABLE_TYPE, "ifc:destroy_flow_table_in.table_type");
  FIELD(DESTROY_FLOW_TABLE::In::TABLE_ID, "ifc:destroy_flow_table_in.table_id");
  SIZE(DESTROY_FLOW_TABLE::Out, "ifc-bytes:destroy_flow_table_out");
  SIZE(SET_FLOW_TABLE_ROOT::In, "ifc-bytes:set_flow_table_root_in");
  FIELD(SET_FLOW_TABLE_ROOT::In::TABLE_TYPE, "ifc:set_flow_table_root_in.table_type");
  FIELD(SET_FLOW_TABLE_ROOT::In::TABLE_ID, "ifc:set_flow_table_root_in.table_id");
  SIZE(SET_FLOW_TABLE_ROOT::Out, "ifc-bytes:set_flow_table_root_out");
  SIZE(DESTROY_FLOW_GROUP::In, "ifc-bytes:destroy_flow_group_in");
  FIELD(DESTROY_FLOW_GROUP::In::TABLE_TYPE, "ifc:destroy_flow_group_in.table_type");
  FIELD(DESTROY_FLOW_GROUP::In::TABLE_ID, "ifc:destroy_flow_group_in.table_id");
  FIELD(DESTROY_FLOW_GROUP::In::GROUP_ID, "ifc:destroy_flow_group_in.group_id");
  SIZE(DESTROY_FLOW_GROUP::Out, "ifc-bytes:destroy_flow_group_out");
  SIZE(DELETE_FLOW_TABLE_ENTRY::In, "ifc-bytes:delete_fte_in");
  FIELD(DELETE_FLOW_TABLE_ENTRY::In::FLOW_INDEX, "ifc:delete_fte_in.flow_index");
  SIZE(DELETE_FLOW_TABLE_ENTRY::Out, "ifc-bytes:delete_fte_out");
  SIZE(CREATE_FLOW_TABLE::In, "ifc-bytes:create_flow_table_in");
  FIELD(CREATE_FLOW_TABLE::In::TABLE_TYPE, "ifc:create_flow_table_in.table_type");
  FIELD(CREATE_FLOW_TABLE::In::LEVEL, "ifc:create_flow_table_in.flow_table_context.level");
  FIELD(CREATE_FLOW_TABLE::In::LOG_SIZE, "ifc:create_flow_table_in.flow_table_context.log_size");
  SIZE(CREATE_FLOW_TABLE::Out, "ifc-bytes:create_flow_table_out");
  FIELD(CREATE_FLOW_TABLE::Out::NUMBER, "ifc:create_flow_table_out.table_id");

  SIZE(OuterHeaders, "ifc-bytes:fte_match_set_lyr_2_4");
  FIELD(OuterHeaders::SMAC_47_16, "ifc:fte_match_set_lyr_2_4.smac_47_16");
  FIELD(OuterHeaders::SMAC_15_0, "ifc:fte_match_set_lyr_2_4.smac_15_0");
  FIELD(OuterHeaders::ETHERTYPE, "ifc:fte_match_set_lyr_2_4.ethertype");
  FIELD(OuterHeaders::DMAC_47_16, "ifc:fte_match_set_lyr_2_4.dmac_47_16");
  FIELD(OuterHeaders::DMAC_15_0, "ifc:fte_match_set_lyr_2_4.dmac_15_0");
  FIELD(OuterHeaders::FIRST_VID, "ifc:fte_match_set_lyr_2_4.first_vid");
  FIELD(OuterHeaders::IP_PROTOCOL, "ifc:fte_match_set_lyr_2_4.ip_protocol");
  FIELD(OuterHeaders::CVLAN_TAG, "ifc:fte_match_set_lyr_2_4.cvlan_tag");
  FIELD(OuterHeaders::IP_VERSION, "ifc:fte_match_set_lyr_2_4.ip_version");
  FIELD(OuterHeaders::TCP_SPORT, "ifc:fte_match_set_lyr_2_4.tcp_sport");
  FIELD(OuterHeaders::TCP_DPORT, "ifc:fte_match_set_lyr_2_4.tcp_dport");
  FIELD(OuterHeaders::UDP_SPORT, "ifc:fte_match_set_lyr_2_4.udp_sport");
  FIELD(OuterHeaders::UDP_DPORT, "ifc:fte_match_set_lyr_2_4.udp_dport");
  FIELD(OuterHeaders::SRC_IPV4, "ifc:fte_match_set_lyr_2_4.src_ipv4_src_ipv6.ipv4_layout.ipv4");
  FIELD(OuterHeaders::DST_IPV4, "ifc:fte_match_set_lyr_2_4.dst_ipv4_dst_ipv6.ipv4_layout.ipv4");

  SIZE(CREATE_FLOW_GROUP::In, "ifc-bytes:create_flow_group_in");
  FIELD(CREATE_FLOW_GROUP::In::TABLE_TYPE, "ifc:create_flow_group_in.table_type");
  FIELD(CREATE_FLOW_GROUP::In::TABLE_ID, "ifc:create_flow_group_in.table_id");
  FIELD(CREATE_FLOW_GROUP::In::START_FLOW_INDEX, "ifc:create_flow_group_in.start_flow_index");
  FIELD(CREATE_FLOW_GROUP::In::END_FLOW_INDEX, "ifc:create_flow_group_in.end_flow_index");
  FIELD(CREATE_FLOW_GROUP::In::MATCH_CRITERIA_ENABLE,
        "ifc:create_flow_group_in.match_criteria_enable");
  VALUE(CREATE_FLOW_GROUP::kMatchCriteria,
        "ifc-offset:create_flow_group_in.match_criteria.outer_headers");
  SIZE(CREATE_FLOW_GROUP::Out, "ifc-bytes:create_flow_group_out");
  FIELD(CREATE_FLOW_GROUP::Out::NUMBER, "ifc:create_flow_group_out.group_id");

  SIZE(SET_FLOW_TABLE_ENTRY::In, "ifc-offset:set_fte_in.flow_context.destination");
  FIELD(SET_FLOW_TABLE_ENTRY::In::TABLE_TYPE, "ifc:set_fte_in.table_type");
  FIELD(SET_FLOW_TABLE_ENTRY::In::TABLE_ID, "ifc:set_fte_in.table_id");
  FIELD(SET_FLOW_TABLE_ENTRY::In::FLOW_INDEX, "ifc:set_fte_in.flow_index");
  FIELD(SET_FLOW_TABLE_ENTRY::In::GROUP_ID, "ifc:set_fte_in.flow_context.group_id");
  FIELD(SET_FLOW_TABLE_ENTRY::In::ACTION, "ifc:set_fte_in.flow_context.action");
  FIELD(SET_FLOW_TABLE_ENTRY::In::DESTINATION_LIST_SIZE,
        "ifc:set_fte_in.flow_context.destination_list_size");
  VALUE(SET_FLOW_TABLE_ENTRY::kMatchValue, "ifc-offset:set_fte_in.flow_context.match_value");
  VALUE(SET_FLOW_TABLE_ENTRY::kDestinations, "ifc-offset:set_fte_in.flow_context.destination");
  SIZE(SET_FLOW_TABLE_ENTRY::Out, "ifc-bytes:set_fte_out");
  SIZE(FlowDestination, "ifc-bytes:dest_format_struct");
  FIELD(FlowDestination::TYPE, "ifc:dest_format_struct.destination_type");
  FIELD(FlowDestination::ID, "ifc:dest_format_struct.destination_id");
}

void vport() {
  SIZE(QUERY_NIC_VPORT_CONTEXT::In, "ifc-bytes:query_nic_vport_context_in");
  SIZE(QUERY_NIC_VPORT_CONTEXT::Out, "ifc-bytes:query_nic_vport_context_out");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::MIN_WQE_INLINE_MODE,
        "ifc:query_nic_vport_context_out.nic_vport_context.min_wqe_inline_mode");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::MTU, "ifc:query_nic_vport_context_out.nic_vport_context.mtu");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::PROMISC_UC,
        "ifc:query_nic_vport_context_out.nic_vport_context.promisc_uc");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::PROMISC_MC,
        "ifc:query_nic_vport_context_out.nic_vport_context.promisc_mc");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::PROMISC_ALL,
        "ifc:query_nic_vport_context_out.nic_vport_context.promisc_all");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::ALLOWED_LIST_TYPE,
        "ifc:query_nic_vport_context_out.nic_vport_context.allowed_list_type");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::ALLOWED_LIST_SIZE,
        "ifc:query_nic_vport_context_out.nic_vport_context.allowed_list_size");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::MAC_47_32,
        "ifc:query_nic_vport_context_out.nic_vport_context.permanent_address.mac_addr_47_32");
  FIELD(QUERY_NIC_VPORT_CONTEXT::Out::MAC_31_0,
        "ifc:query_nic_vport_context_out.nic_vport_context.permanent_address.mac_addr_31_0");
  SIZE(MODIFY_NIC_VPORT_CONTEXT::In, "ifc-bytes:modify_nic_vport_context_in");
  SIZE(MODIFY_NIC_VPORT_CONTEXT::Out, "ifc-bytes:modify_nic_vport_context_out");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::FIELD_SELECT, "ifc:modify_nic_vport_context_in.field_select");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::MIN_WQE_INLINE_MODE,
        "ifc:modify_nic_vport_context_in.nic_vport_context.min_wqe_inline_mode");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::MTU, "ifc:modify_nic_vport_context_in.nic_vport_context.mtu");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::PROMISC_UC,
        "ifc:modify_nic_vport_context_in.nic_vport_context.promisc_uc");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::PROMISC_MC,
        "ifc:modify_nic_vport_context_in.nic_vport_context.promisc_mc");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::PROMISC_ALL,
        "ifc:modify_nic_vport_context_in.nic_vport_context.promisc_all");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::ALLOWED_LIST_TYPE,
        "ifc:modify_nic_vport_context_in.nic_vport_context.allowed_list_type");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::ALLOWED_LIST_SIZE,
        "ifc:modify_nic_vport_context_in.nic_vport_context.allowed_list_size");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::MAC_47_32,
        "ifc:modify_nic_vport_context_in.nic_vport_context.permanent_address.mac_addr_47_32");
  FIELD(MODIFY_NIC_VPORT_CONTEXT::In::MAC_31_0,
        "ifc:modify_nic_vport_context_in.nic_vport_context.permanent_address.mac_addr_31_0");
  // field_select bits: one per field group of the context.
  VALUE(kSelectAddressList, "ifc-bit:modify_nic_vport_context_in.field_select.addresses_list");
  VALUE(kSelectPermanentAddress,
        "ifc-bit:modify_nic_vport_context_in.field_select.permanent_address");
  VALUE(kSelectPromisc, "ifc-bit:modify_nic_vport_context_in.field_select.promisc");
  VALUE(kSelectMtu, "ifc-bit:modify_nic_vport_context_in.field_select.mtu");
  VALUE(kAllowedUnicast, "k:MLX5_NVPRT_LIST_TYPE_UC");
  VALUE(kAllowedList,
        "ifc-offset:modify_nic_vport_context_in.nic_vport_context.current_uc_mac_address");
  SIZE(UcAddress, "ifc-bytes:mac_address_layout");
  FIELD(UcAddress::MAC_47_32, "ifc:mac_address_layout.mac_addr_47_32");
  FIELD(UcAddress::MAC_31_0, "ifc:mac_address_layout.mac_addr_31_0");
  SIZE(QUERY_VPORT_STATE::In, "ifc-bytes:query_vport_state_in");
  SIZE(QUERY_VPORT_STATE::Out, "ifc-bytes:query_vport_state_out");
  FIELD(QUERY_VPORT_STATE::Out::ADMIN_STATE, "ifc:query_vport_state_out.admin_state");
  FIELD(QUERY_VPORT_STATE::Out::STATE, "ifc:query_vport_state_out.state");
  SIZE(QUERY_VPORT_COUNTER::In, "ifc-bytes:query_vport_counter_in");
  FIELD(QUERY_VPORT_COUNTER::In::CLEAR, "ifc:query_vport_counter_in.clear");
  SIZE(QUERY_VPORT_COUNTER::Out, "ifc-bytes:query_vport_counter_out");
  for (const VportCounter& c : kVportCounters) {
    const std::string name = std::string("kVportCounters.") + c.name;
    const std::string ref = std::string("ifc-offset:query_vport_counter_out.") + c.name;
    value(name.c_str(), c.offset, ref.c_str());
  }
}

void port_registers() {
  VALUE(PAOS::kId, "k:MLX5_REG_PAOS");
  SIZE(PAOS, "ifc-bytes:access_register_in+paos_reg");
  FIELD(PAOS::REGISTER_ID, "ifc:access_register_in.register_id");
  FIELD(PAOS::LOCAL_PORT, "ifc:paos_reg.local_port@0x10");
  FIELD(PAOS::ADMIN_STATUS, "ifc:paos_reg.admin_status@0x10");
  FIELD(PAOS::OPER_STATUS, "ifc:paos_reg.oper_status@0x10");
  FIELD(PAOS::ASE, "ifc:paos_reg.ase@0x10");
  VALUE(PTYS::kId, "k:MLX5_REG_PTYS");
  SIZE(PTYS, "ifc-bytes:access_register_in+ptys_reg");
  FIELD(PTYS::PROTO_MASK, "ifc:ptys_reg.proto_mask@0x10");
  FIELD(PTYS::ETH_PROTO_CAPABILITY, "ifc:ptys_reg.eth_proto_capability@0x10");
  FIELD(PTYS::ETH_PROTO_ADMIN, "ifc:ptys_reg.eth_proto_admin@0x10");
  FIELD(PTYS::ETH_PROTO_OPER, "ifc:ptys_reg.eth_proto_oper@0x10");
  VALUE(PMTU::kId, "k:MLX5_REG_PMTU");
  SIZE(PMTU, "ifc-bytes:access_register_in+pmtu_reg");
  FIELD(PMTU::MAX_MTU, "ifc:pmtu_reg.max_mtu@0x10");
  FIELD(PMTU::ADMIN_MTU, "ifc:pmtu_reg.admin_mtu@0x10");
  FIELD(PMTU::OPER_MTU, "ifc:pmtu_reg.oper_mtu@0x10");
  VALUE(kRegisterWrite, "k:MLX5_ACCESS_REGISTER_IN_OP_MOD_WRITE");
  VALUE(kRegisterRead, "k:MLX5_ACCESS_REGISTER_IN_OP_MOD_READ");
  VALUE(kPortUp, "k:MLX5_PORT_UP");
  VALUE(kPortDown, "k:MLX5_PORT_DOWN");
  VALUE(kProtoEthernet, "k:MLX5_PTYS_EN");
  for (unsigned bit = 0; bit < 32; ++bit) {
    uint32_t mbps = 0;
    for (const PtysSpeed& s : kPtysSpeeds) {
      if (s.bit == bit) mbps = s.mbps;
    }
    std::printf("speed\t%u\t%u\n", bit, mbps);
  }
}

void work_queues() {
  SIZE(SendWqe, "k:MLX5_SEND_WQE_BB");
  FIELD(SendWqe::CTRL0, "c:mlx5_wqe_ctrl_seg.opmod_idx_opcode");
  FIELD(SendWqe::OPCODE, "c:mlx5_wqe_ctrl_seg.opmod_idx_opcode&MLX5_WQE_CTRL_OPCODE_MASK");
  FIELD(SendWqe::WQE_INDEX, "c:mlx5_wqe_ctrl_seg.opmod_idx_opcode&MLX5_WQE_CTRL_WQE_INDEX_MASK");
  FIELD(SendWqe::CTRL1, "c:mlx5_wqe_ctrl_seg.qpn_ds");
  FIELD(SendWqe::DS, "c:mlx5_wqe_ctrl_seg.qpn_ds&MLX5_WQE_CTRL_DS_MASK");
  FIELD(SendWqe::SQN, "c:mlx5_wqe_ctrl_seg.qpn_ds&MLX5_WQE_CTRL_QPN_MASK");
  FIELD(SendWqe::CTRL2, "c:mlx5_wqe_ctrl_seg+64:32");
  FIELD(SendWqe::CE, "c:mlx5_wqe_ctrl_seg.fm_ce_se&MLX5_WQE_CTRL_CQ_UPDATE_AND_EQE");
  FIELD(SendWqe::ETH3, "c:mlx5_wqe_eth_seg.inline_hdr@0x10");
  FIELD(SendWqe::INLINE_HDR_SZ, "c:mlx5_wqe_eth_seg.inline_hdr.sz@0x10");
  VALUE(SendWqe::kInlineStart, "c-offset:mlx5_wqe_eth_seg.inline_hdr.start@0x10");
  VALUE(kOpcodeNop, "k:MLX5_OPCODE_NOP");
  VALUE(kOpcodeSend, "k:MLX5_OPCODE_SEND");
  VALUE(kOpcodeEnhancedMpsw, "k:MLX5_OPCODE_ENHANCED_MPSW");
  VALUE(kCeAlways << SendWqe::CE::kLo, "k:MLX5_WQE_CTRL_CQ_UPDATE");
  VALUE(kEmpwFirstSegment, "c-bytes:mlx5_wqe_ctrl_seg+mlx5_wqe_eth_seg");
  VALUE(kDataInline, "k:MLX5_INLINE_SEG");
  VALUE(kWqeBasicBlock, "k:MLX5_SEND_WQE_BB");
  SIZE(DataSegment, "c-bytes:mlx5_wqe_data_seg");
  FIELD(DataSegment::BYTE_COUNT, "c:mlx5_wqe_data_seg.byte_count");
  FIELD(DataSegment::LKEY, "c:mlx5_wqe_data_seg.lkey");
  FIELD(DataSegment::ADDR, "c:mlx5_wqe_data_seg.addr");
  VALUE(kMaxWqeBlocks * kWqeBasicBlock / 16 - 1, "k:MLX5_WQE_CTRL_DS_MASK");
}

void completions_and_events() {
  SIZE(Cqe, "c-bytes:mlx5_cqe64");
  FIELD(Cqe::RSS_HASH_RESULT, "c:mlx5_cqe64.rss_hash_result");
  FIELD(Cqe::RSS_HASH_TYPE, "c:mlx5_cqe64.rss_hash_type");
  FIELD(Cqe::RSS_HTYPE_IP, "c:mlx5_cqe64.rss_hash_type&CQE_RSS_HTYPE_IP");
  FIELD(Cqe::RSS_HTYPE_L4, "c:mlx5_cqe64.rss_hash_type&CQE_RSS_HTYPE_L4");
  FIELD(Cqe::HDS_IP_EXT, "c:mlx5_cqe64.hds_ip_ext");
  FIELD(Cqe::L4_L3_HDR_TYPE, "c:mlx5_cqe64.l4_l3_hdr_type");
  FIELD(Cqe::CHECKSUM_INFO, "c:mlx5_cqe64+224:16");
  FIELD(Cqe::L4_HDR_TYPE, "c:mlx5_cqe64.l4_l3_hdr_type&0x70");
  FIELD(Cqe::BYTE_CNT, "c:mlx5_cqe64.byte_cnt");
  FIELD(Cqe::SYNDROME, "c:mlx5_err_cqe.syndrome");
  FIELD(Cqe::SOP_DROP_QPN, "c:mlx5_cqe64.sop_drop_qpn");
  FIELD(Cqe::WQE_COUNTER, "c:mlx5_cqe64.wqe_counter");
  FIELD(Cqe::TAIL, "c:mlx5_cqe64+480:32");
  FIELD(Cqe::OP_OWN, "c:mlx5_cqe64.op_own");
  FIELD(Cqe::OPCODE, "c:mlx5_cqe64.op_own&0xF0");
  FIELD(Cqe::OWNER, "c:mlx5_cqe64.op_own&MLX5_CQE_OWNER_MASK");
  VALUE(kCqeReq, "k:MLX5_CQE_REQ");
  VALUE(kCqeRespSend, "k:MLX5_CQE_RESP_SEND");
  VALUE(kCqeReqErr, "k:MLX5_CQE_REQ_ERR");
  VALUE(kCqeRespErr, "k:MLX5_CQE_RESP_ERR");
  VALUE(kCqeInvalid, "k:MLX5_CQE_INVALID");
  VALUE(kCqeInitial, "k:MLX5_CQE_INVALID<<4|MLX5_CQE_OWNER_MASK");
  VALUE(kL2Ok, "k:CQE_L2_OK");
  VALUE(kL3Ok, "k:CQE_L3_OK");
  VALUE(kL4Ok, "k:CQE_L4_OK");
  VALUE(kL4HdrNone, "k:CQE_L4_HDR_TYPE_NONE");
  VALUE(kL4HdrTcpNoAck, "k:CQE_L4_HDR_TYPE_TCP_NO_ACK");
  VALUE(kL4HdrUdp, "k:CQE_L4_HDR_TYPE_UDP");
  VALUE(kL4HdrTcpAckNoData, "k:CQE_L4_HDR_TYPE_TCP_ACK_NO_DATA");
  VALUE(kL4HdrTcpAckAndData, "k:CQE_L4_HDR_TYPE_TCP_ACK_AND_DATA");
  VALUE(kSyndromeLocalLength, "k:MLX5_CQE_SYNDROME_LOCAL_LENGTH_ERR");
  VALUE(kSyndromeLocalQpOperation, "k:MLX5_CQE_SYNDROME_LOCAL_QP_OP_ERR");
  VALUE(kSyndromeLocalProtection, "k:MLX5_CQE_SYNDROME_LOCAL_PROT_ERR");
  VALUE(kSyndromeWrFlushed, "k:MLX5_CQE_SYNDROME_WR_FLUSH_ERR");

  SIZE(Eqe, "ifc-bytes:eqe");
  FIELD(Eqe::TYPE, "ifc:eqe.event_type");
  FIELD(Eqe::SUB_TYPE, "ifc:eqe.event_sub_type");
  FIELD(Eqe::CQN, "c:mlx5_eqe.data.cq_err.cqn&0xFFFFFF");  // eq.c masks it so
  FIELD(Eqe::CQ_SYNDROME, "c:mlx5_eqe.data.cq_err.syndrome");
  FIELD(Eqe::PORT, "c:mlx5_eqe.data.port.port&0xF0");
  FIELD(Eqe::CMD_VECTOR, "c:mlx5_eqe.data.cmd.vector");
  FIELD(Eqe::PAGE_FUNCTION, "c:mlx5_eqe.data.req_pages.func_id");
  FIELD(Eqe::NUM_PAGES, "c:mlx5_eqe.data.req_pages.num_pages");
  FIELD(Eqe::OWNER, "ifc:eqe.owner");
  VALUE(kEventCqError, "k:MLX5_EVENT_TYPE_CQ_ERROR");
  VALUE(kEventWqCatastrophic, "k:MLX5_EVENT_TYPE_WQ_CATAS_ERROR");
  VALUE(kEventInternalError, "k:MLX5_EVENT_TYPE_INTERNAL_ERROR");
  VALUE(kEventPortChange, "k:MLX5_EVENT_TYPE_PORT_CHANGE");
  VALUE(kEventCommand, "k:MLX5_EVENT_TYPE_CMD");
  VALUE(kEventPageRequest, "k:MLX5_EVENT_TYPE_PAGE_REQUEST");
  VALUE(kPortChangeDown, "k:MLX5_PORT_CHANGE_SUBTYPE_DOWN");
  VALUE(kPortChangeActive, "k:MLX5_PORT_CHANGE_SUBTYPE_ACTIVE");
  VALUE(kCqSyndromeOverrun, "k:MLX5_CQ_ERROR_SYNDROME_CQ_OVERRUN");

  FIELD(WqDoorbell::RECEIVE_COUNTER, "k:MLX5_RCV_DBR*32:32");
  FIELD(WqDoorbell::SEND_COUNTER, "k:MLX5_SND_DBR*32:32");
}

}  // namespace
}  // namespace safenic::mlx5

int main() {
  using namespace safenic::mlx5;
  initialization_segment();
  command_interface();
  opcodes();
  uar();
  hca_commands();
  object_commands();
  flow_steering();
  vport();
  port_registers();
  work_queues();
  completions_and_events();
  return 0;
}
