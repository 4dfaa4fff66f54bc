// mlx5 commands: one short declaration each, carrying everything known about
// the command: its opcode and name (PRM "Command Reference"; the DESTROY_ and
// DEALLOC_ opcodes as Linux's mlx5_ifc.h has them), its input and output
// layout (offsets after the PRM; docs/connectx.md §4; every field checked
// against Linux's mlx5_ifc.h by tests/fidelity), and for a command that makes
// an object, the command that undoes it (UndoneBy). `Commands` at the end
// lists them all once: the names in error messages (command_name()), the
// driver's clean-up at close (run_undo(), nic/mlx5/cmd.h) and the model's
// size checks and dispatch (sim/mlx5/model.cc) are derived from it. The
// generic mechanism is nic/mlx5/cmd.h.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "nic/mlx5/layout.h"

namespace safenic::mlx5 {

// A command's name as the PRM spells it, as a template argument.
template <size_t N>
struct CommandName {
  constexpr CommandName(const char (&name)[N]) { std::copy_n(name, N, text); }
  char text[N];
};

template <uint16_t Opcode, CommandName Name>
struct Command {
  static constexpr uint16_t kOpcode = Opcode;
  static constexpr std::string_view kName = Name.text;
  static constexpr uint16_t kUndoOpMod = 0;  // the op_mod it is run with as an undo
};

// What close() undoes: an object `number` made by a creating command, undone
// by the command with `opcode`; flow entries and groups name their `table`.
struct Undo {
  uint16_t opcode;
  uint32_t number;
  uint32_t table = 0;
};

// A layout of N bytes with no fields beyond the command header.
template <size_t N>
struct Plain : Layout<Plain<N>, N, ByteOrder::kBig> {};
// The header and one object number at 0x08 (bits 0..Hi): ALLOC_* outputs,
// CREATE_* outputs, DESTROY_* and DEALLOC_* inputs.
template <size_t N, unsigned Hi = 23>
struct Numbered : Layout<Numbered<N, Hi>, N, ByteOrder::kBig> {
  using NUMBER = LayoutField<Numbered, 0x08, uint32_t, 0, Hi>;
};
// A DESTROY_* or DEALLOC_* command: the object number in, nothing out.
struct DestroysNumbered {};  // what the model's destroy() recognizes them by
template <uint16_t Opcode, CommandName Name, unsigned Hi = 23>
struct Destroy : Command<Opcode, Name>, DestroysNumbered {
  using In = Numbered<0x10, Hi>;
  using Out = Plain<0x10>;
  static void undo_input(LayoutRef<In> in, const Undo& u) {
    in.template set<typename In::NUMBER>(u.number);
  }
};

struct ENABLE_HCA : Command<0x104, "ENABLE_HCA"> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> {
    using FUNCTION_ID = Field<0x08, uint32_t, 0, 15>;
  };
  using Out = Plain<0x0C>;
};
struct DISABLE_HCA : Command<0x105, "DISABLE_HCA"> {
  using In = ENABLE_HCA::In;
  using Out = Plain<0x0C>;
};
struct QUERY_ISSI : Command<0x10A, "QUERY_ISSI"> {
  using In = Plain<0x10>;
  struct Out : Layout<Out, 0x70, ByteOrder::kBig> {
    using CURRENT_ISSI = Field<0x08, uint32_t, 0, 15>;
    using SUPPORTED_ISSI_DW0 = Field<0x6C, uint32_t>;  // bit n: ISSI n
  };
};
struct SET_ISSI : Command<0x10B, "SET_ISSI"> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> {
    using CURRENT_ISSI = Field<0x08, uint32_t, 0, 15>;
  };
  using Out = Plain<0x10>;
};
// op_mod: kPagesBoot, kPagesInit, kPagesRegular
struct QUERY_PAGES : Command<0x107, "QUERY_PAGES"> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> {
    using FUNCTION_ID = Field<0x08, uint32_t, 0, 15>;
  };
  struct Out : Layout<Out, 0x10, ByteOrder::kBig> {
    using NUM_PAGES = Field<0x0C, uint32_t>;  // signed
  };
};
// op_mod: kManageGive (pas follow the input), kManageTake (pas come back after
// the output; run with extra output room via execute()).
struct MANAGE_PAGES : Command<0x108, "MANAGE_PAGES"> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> {
    using FUNCTION_ID = Field<0x08, uint32_t, 0, 15>;
    using INPUT_NUM_ENTRIES = Field<0x0C, uint32_t>;
  };
  struct Out : Layout<Out, 0x10, ByteOrder::kBig> {
    using OUTPUT_NUM_ENTRIES = Field<0x08, uint32_t>;
  };
  static constexpr uint32_t kPas = 0x10;      // BE64 page addresses, in input and output
  static constexpr uint32_t kMaxPages = 512;  // per command, as illumos does
};
// op_mod: (capability type << 1) | (0 maximum, 1 current); type 0 general.
struct QUERY_HCA_CAP : Command<0x100, "QUERY_HCA_CAP"> {
  using In = Plain<0x10>;
  struct Out : Layout<Out, 0x1010, ByteOrder::kBig> {
    // General device capabilities, at 0x10 + the capability offset.
    using LOG_MAX_CQ_SZ = Field<0x10 + 0x18, uint32_t, 16, 23>;
    using LOG_MAX_EQ_SZ = Field<0x10 + 0x1C, uint32_t, 24, 31>;
    using PORT_TYPE = Field<0x10 + 0x34, uint32_t, 8, 9>;  // 1: Ethernet
    using LOG_MAX_WQ_SZ = Field<0x10 + 0x78, uint32_t, 0, 4>;
    // PRM "HCA Capabilities" (cmd_hca_cap bit 0x3FB): unicast addresses a
    // NIC vport's allowed list holds.
    using LOG_MAX_CURRENT_UC_LIST = Field<0x10 + 0x7C, uint32_t, 0, 4>;
    // Ethernet offload capabilities (capability type 1), at 0x10 + the offset
    // (PRM "per_protocol_networking_offload_caps"): where the minimum inline
    // mode comes from (0 L2, 1 the vport context, 2 none needed), whether
    // the enhanced multi-packet send WQE is there, and csum_cap: the device
    // checks and inserts IP, TCP and UDP checksums (the CQE's l3_ok, l4_ok).
    using ETH_CSUM_CAP = Field<0x10 + 0x00, uint32_t, 31, 31>;
    using ETH_WQE_INLINE_MODE = Field<0x10 + 0x00, uint32_t, 12, 13>;
    using ETH_ENHANCED_MULTI_PKT_SEND_WQE = Field<0x10 + 0x00, uint32_t, 5, 5>;
  };
};
inline constexpr uint16_t kCapGeneral = 0, kCapEthernet = 1;
inline constexpr uint32_t kInlineModeL2 = 0, kInlineModeVportContext = 1, kInlineModeNone = 2;
// The input grew from 0x10 to 0x20 bytes (sw_owner_id at 0x10, zero here).
struct INIT_HCA : Command<0x102, "INIT_HCA"> {
  using In = Plain<0x20>;
  using Out = Plain<0x10>;
};
struct TEARDOWN_HCA : Command<0x103, "TEARDOWN_HCA"> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> {
    using PROFILE = Field<0x08, uint32_t, 0, 15>;
  };
  using Out = Plain<0x10>;
};

// --- Objects (docs/connectx.md §4; PRM "Command Reference"; offsets checked against
// rdma-core providers/mlx5/mlx5_ifc.h and DPDK mlx5_prm.h). ---

// ALLOC_*: nothing in, the object number out.
template <uint16_t Opcode, CommandName Name, typename Dealloc>
struct Alloc : Command<Opcode, Name> {
  using In = Plain<0x10>;
  using Out = Numbered<0x10>;
  using UndoneBy = Dealloc;
};
using DEALLOC_UAR = Destroy<0x803, "DEALLOC_UAR">;
using ALLOC_UAR = Alloc<0x802, "ALLOC_UAR", DEALLOC_UAR>;
using DEALLOC_PD = Destroy<0x801, "DEALLOC_PD">;
using ALLOC_PD = Alloc<0x800, "ALLOC_PD", DEALLOC_PD>;
using DEALLOC_TRANSPORT_DOMAIN = Destroy<0x817, "DEALLOC_TRANSPORT_DOMAIN">;
using ALLOC_TRANSPORT_DOMAIN = Alloc<0x816, "ALLOC_TRANSPORT_DOMAIN", DEALLOC_TRANSPORT_DOMAIN>;

// PRM "Memory Keys" (docs/connectx.md §6): the reserved lkey for physical (IOVA) addressing.
struct QUERY_SPECIAL_CONTEXTS : Command<0x203, "QUERY_SPECIAL_CONTEXTS"> {
  using In = Plain<0x10>;
  struct Out : Layout<Out, 0x20, ByteOrder::kBig> {
    using RESD_LKEY = Field<0x0C, uint32_t>;
    using NULL_MKEY = Field<0x10, uint32_t>;
  };
};

// Physical address lists (pas) follow the fixed input at 0x110, 8 bytes each.
inline constexpr uint32_t kPas = 0x110;

// EQ context at 0x10; event_bitmask bit n enables event type n (docs/connectx.md §4).
using DESTROY_EQ = Destroy<0x302, "DESTROY_EQ", 7>;
struct CREATE_EQ : Command<0x301, "CREATE_EQ"> {
  struct In : Layout<In, kPas, ByteOrder::kBig> {
    using OI = Field<0x10, uint32_t, 17, 17>;
    using LOG_EQ_SIZE = Field<0x1C, uint32_t, 24, 28>;
    using UAR_PAGE = Field<0x1C, uint32_t, 0, 23>;
    using LOG_PAGE_SIZE = Field<0x28, uint32_t, 24, 28>;  // 4 KiB << n
    using EVENT_BITMASK = Field<0x58, uint64_t>;          // event types 0-63 of the 256-bit mask
  };
  using Out = Numbered<0x10, 7>;
  using UndoneBy = DESTROY_EQ;
};

// CQ context at 0x10 (docs/connectx.md §4).
using DESTROY_CQ = Destroy<0x401, "DESTROY_CQ">;
struct CREATE_CQ : Command<0x400, "CREATE_CQ"> {
  struct In : Layout<In, kPas, ByteOrder::kBig> {
    using CQE_SZ = Field<0x10, uint32_t, 21, 23>;  // 0: 64 bytes
    using OI = Field<0x10, uint32_t, 17, 17>;      // overrun ignore
    using LOG_CQ_SIZE = Field<0x1C, uint32_t, 24, 28>;
    using UAR_PAGE = Field<0x1C, uint32_t, 0, 23>;
    using C_EQN = Field<0x24, uint32_t>;  // c_eqn_or_apu_element
    using LOG_PAGE_SIZE = Field<0x28, uint32_t, 24, 28>;
    using DBR_ADDR = Field<0x48, uint64_t>;
  };
  using Out = Numbered<0x10>;
  using UndoneBy = DESTROY_CQ;
};

// The work queue context, at 0x50 of CREATE_SQ and CREATE_RQ (docs/connectx.md §4).
template <typename Self>
struct WqIn : Layout<Self, kPas, ByteOrder::kBig> {
  using STATE = LayoutField<Self, 0x20, uint32_t, 20, 23>;
  using CQN = LayoutField<Self, 0x28, uint32_t, 0, 23>;
  using WQ_TYPE = LayoutField<Self, 0x50, uint32_t, 28, 31>;  // 1: cyclic
  using PD = LayoutField<Self, 0x58, uint32_t, 0, 23>;
  using UAR_PAGE = LayoutField<Self, 0x5C, uint32_t, 0, 23>;
  using DBR_ADDR = LayoutField<Self, 0x60, uint64_t, 0, 63>;
  using LOG_WQ_STRIDE = LayoutField<Self, 0x70, uint32_t, 16, 19>;
  using LOG_WQ_PG_SZ = LayoutField<Self, 0x70, uint32_t, 8, 12>;  // 4 KiB << n
  using LOG_WQ_SZ = LayoutField<Self, 0x70, uint32_t, 0, 4>;
};
enum WqState : uint8_t { kRst = 0, kRdy = 1, kErr = 3 };
inline constexpr uint32_t kWqCyclic = 1;

// SQ and RQ contexts at 0x20 (docs/connectx.md §4).
using DESTROY_SQ = Destroy<0x906, "DESTROY_SQ">;
using DESTROY_RQ = Destroy<0x90A, "DESTROY_RQ">;
struct CREATE_SQ : Command<0x904, "CREATE_SQ"> {
  struct In : WqIn<In> {  // SQ context at 0x20
    using RLKEY = Field<0x20, uint32_t, 31, 31>;
    using FLUSH_IN_ERROR_EN = Field<0x20, uint32_t, 28, 28>;
    using MIN_WQE_INLINE_MODE = Field<0x20, uint32_t, 24, 26>;  // 1: L2
    using TIS_LST_SZ = Field<0x40, uint32_t, 16, 31>;
    using TIS_NUM_0 = Field<0x4C, uint32_t, 0, 23>;
  };
  using Out = Numbered<0x10>;
  using UndoneBy = DESTROY_SQ;
};
struct CREATE_RQ : Command<0x908, "CREATE_RQ"> {
  struct In : WqIn<In> {  // RQ context at 0x20
    using RLKEY = Field<0x20, uint32_t, 31, 31>;
    using VSD = Field<0x20, uint32_t, 28, 28>;  // VLAN strip disable
    using MEM_RQ_TYPE = Field<0x20, uint32_t, 24, 27>;
    using FLUSH_IN_ERROR_EN = Field<0x20, uint32_t, 18, 18>;
  };
  using Out = Numbered<0x10>;
  using UndoneBy = DESTROY_RQ;
};
// MODIFY_SQ / MODIFY_RQ: current state and number at 0x08, the new state in
// the context at 0x20.
struct ModifyWqIn : Layout<ModifyWqIn, kPas, ByteOrder::kBig> {
  using CURRENT_STATE = Field<0x08, uint32_t, 28, 31>;
  using NUMBER = Field<0x08, uint32_t, 0, 23>;
  using NEXT_STATE = Field<0x20, uint32_t, 20, 23>;
};
template <uint16_t Opcode, CommandName Name>
struct ModifyWq : Command<Opcode, Name> {
  using In = ModifyWqIn;
  using Out = Plain<0x10>;
};
using MODIFY_SQ = ModifyWq<0x905, "MODIFY_SQ">;
using MODIFY_RQ = ModifyWq<0x909, "MODIFY_RQ">;

// TIS context at 0x20 (docs/connectx.md §4).
using DESTROY_TIS = Destroy<0x914, "DESTROY_TIS">;
struct CREATE_TIS : Command<0x912, "CREATE_TIS"> {
  struct In : Layout<In, 0xC0, ByteOrder::kBig> {  // TIS context at 0x20
    using TRANSPORT_DOMAIN = Field<0x44, uint32_t, 0, 23>;
  };
  using Out = Numbered<0x10>;
  using UndoneBy = DESTROY_TIS;
};

// TIR context at 0x20: direct (one RQ) or indirect (an RQT, Toeplitz hash;
// selected fields as docs/connectx.md §4 lists them).
using DESTROY_TIR = Destroy<0x902, "DESTROY_TIR">;
struct CREATE_TIR : Command<0x900, "CREATE_TIR"> {
  struct In : Layout<In, kPas, ByteOrder::kBig> {
    using DISP_TYPE = Field<0x24, uint32_t, 28, 31>;  // 0 direct, 1 indirect
    using INLINE_RQN = Field<0x3C, uint32_t, 0, 23>;
    using INDIRECT_TABLE = Field<0x40, uint32_t, 0, 23>;
    using RX_HASH_FN = Field<0x44, uint32_t, 28, 31>;  // 2: Toeplitz
    using TRANSPORT_DOMAIN = Field<0x44, uint32_t, 0, 23>;
    using L3_PROT_TYPE = Field<0x70, uint32_t, 31, 31>;    // 0: IPv4
    using L4_PROT_TYPE = Field<0x70, uint32_t, 30, 30>;    // 0 TCP, 1 UDP
    using SELECTED_FIELDS = Field<0x70, uint32_t, 0, 29>;  // kHash*
  };
  static constexpr uint32_t kToeplitzKey = 0x48, kKeySize = 40;
  using Out = Numbered<0x10>;
  using UndoneBy = DESTROY_TIR;
};
inline constexpr uint32_t kHashSrcIp = 1, kHashDstIp = 2, kHashSport = 4, kHashDport = 8;
inline constexpr uint32_t kHashToeplitz = 2;

// RQT context at 0x20; rq_num[i] (24 bits each) from 0x110 (docs/connectx.md §4).
using DESTROY_RQT = Destroy<0x918, "DESTROY_RQT">;
struct CREATE_RQT : Command<0x916, "CREATE_RQT"> {
  struct In : Layout<In, kPas, ByteOrder::kBig> {
    using RQT_MAX_SIZE = Field<0x34, uint32_t, 0, 15>;
    using RQT_ACTUAL_SIZE = Field<0x38, uint32_t, 0, 15>;
  };
  static constexpr uint32_t kRqNum = 0x110;
  using Out = Numbered<0x10>;
  using UndoneBy = DESTROY_RQT;
};

// --- NIC RX flow steering (docs/connectx.md §4; Linux fs_cmd.c). ---
inline constexpr uint32_t kTableNicRx = 0;
inline constexpr uint32_t kActionDrop = 2, kActionForward = 4;
inline constexpr uint32_t kDestFlowTable = 1, kDestTir = 2;
inline constexpr uint32_t kMatchOuterHeaders = 1;  // match_criteria_enable bit 0

// Table type and id at 0x10/0x14, as DESTROY_FLOW_TABLE and
// SET_FLOW_TABLE_ROOT (op_mod 1 there: disconnect the root) take them.
struct TableIn : Layout<TableIn, 0x40, ByteOrder::kBig> {
  using TABLE_TYPE = Field<0x10, uint32_t, 24, 31>;
  using TABLE_ID = Field<0x14, uint32_t, 0, 23>;
  using GROUP_ID = Field<0x18, uint32_t>;    // DESTROY_FLOW_GROUP
  using FLOW_INDEX = Field<0x20, uint32_t>;  // DELETE_FLOW_TABLE_ENTRY
};
struct DESTROY_FLOW_TABLE : Command<0x931, "DESTROY_FLOW_TABLE"> {
  using In = TableIn;
  using Out = Plain<0x10>;
  static void undo_input(LayoutRef<In> in, const Undo& u) {
    in.set<In::TABLE_TYPE>(kTableNicRx).set<In::TABLE_ID>(u.number);
  }
};
struct CREATE_FLOW_TABLE : Command<0x930, "CREATE_FLOW_TABLE"> {
  struct In : Layout<In, 0x40, ByteOrder::kBig> {
    using TABLE_TYPE = Field<0x10, uint32_t, 24, 31>;
    using LEVEL = Field<0x18, uint32_t, 16, 23>;
    using LOG_SIZE = Field<0x18, uint32_t, 0, 7>;
  };
  using Out = Numbered<0x10>;
  using UndoneBy = DESTROY_FLOW_TABLE;
};
// Makes a table the NIC RX root; undone by disconnecting the root (op_mod 1).
inline constexpr uint16_t kRootDisconnect = 1;
struct SET_FLOW_TABLE_ROOT : Command<0x92F, "SET_FLOW_TABLE_ROOT"> {
  using In = TableIn;
  using Out = Plain<0x10>;
  using UndoneBy = SET_FLOW_TABLE_ROOT;
  static constexpr uint16_t kUndoOpMod = kRootDisconnect;
  static void undo_input(LayoutRef<In> in, const Undo&) { in.set<In::TABLE_TYPE>(kTableNicRx); }
};
struct DESTROY_FLOW_GROUP : Command<0x934, "DESTROY_FLOW_GROUP"> {
  using In = TableIn;
  using Out = Plain<0x10>;
  static void undo_input(LayoutRef<In> in, const Undo& u) {
    in.set<In::TABLE_TYPE>(kTableNicRx).set<In::TABLE_ID>(u.table).set<In::GROUP_ID>(u.number);
  }
};
struct DELETE_FLOW_TABLE_ENTRY : Command<0x938, "DELETE_FLOW_TABLE_ENTRY"> {
  using In = TableIn;
  using Out = Plain<0x10>;
  static void undo_input(LayoutRef<In> in, const Undo& u) {
    in.set<In::TABLE_TYPE>(kTableNicRx).set<In::TABLE_ID>(u.table).set<In::FLOW_INDEX>(u.number);
  }
};

// fte_match_set_lyr_2_4 (PRM "Flow Table Entry Match Parameters"; docs/connectx.md §4
// gives dmac and ethertype, the rest from Linux mlx5_ifc.h): the outer headers
// a flow group matches on; its criteria are a mask of the same shape. An
// 802.1Q tag (TPID 0x8100) sets cvlan_tag and its VID is first_vid; an
// untagged frame has both 0.
struct OuterHeaders : Layout<OuterHeaders, 0x40, ByteOrder::kBig> {
  using SMAC_47_16 = Field<0x00, uint32_t>;
  using SMAC_15_0 = Field<0x04, uint32_t, 16, 31>;
  using ETHERTYPE = Field<0x04, uint32_t, 0, 15>;
  using DMAC_47_16 = Field<0x08, uint32_t>;
  using DMAC_15_0 = Field<0x0C, uint32_t, 16, 31>;
  using FIRST_VID = Field<0x0C, uint32_t, 0, 11>;
  using IP_PROTOCOL = Field<0x10, uint32_t, 24, 31>;
  using CVLAN_TAG = Field<0x10, uint32_t, 15, 15>;
  using IP_VERSION = Field<0x10, uint32_t, 9, 12>;
  using TCP_SPORT = Field<0x14, uint32_t, 16, 31>;
  using TCP_DPORT = Field<0x14, uint32_t, 0, 15>;
  using UDP_SPORT = Field<0x1C, uint32_t, 16, 31>;
  using UDP_DPORT = Field<0x1C, uint32_t, 0, 15>;
  using SRC_IPV4 = Field<0x2C, uint32_t>;
  using DST_IPV4 = Field<0x3C, uint32_t>;
};
struct CREATE_FLOW_GROUP : Command<0x933, "CREATE_FLOW_GROUP"> {
  struct In : Layout<In, 0x400, ByteOrder::kBig> {
    using TABLE_TYPE = Field<0x10, uint32_t, 24, 31>;
    using TABLE_ID = Field<0x14, uint32_t, 0, 23>;
    using START_FLOW_INDEX = Field<0x1C, uint32_t>;
    using END_FLOW_INDEX = Field<0x24, uint32_t>;  // inclusive
    using MATCH_CRITERIA_ENABLE = Field<0x3C, uint32_t, 0, 7>;
  };
  static constexpr uint32_t kMatchCriteria = 0x40;  // OuterHeaders first
  using Out = Numbered<0x10>;
  using UndoneBy = DESTROY_FLOW_GROUP;  // with the table in Undo::table
};
// Flow context at 0x40: match value at 0x80, destinations at 0x340.
struct SET_FLOW_TABLE_ENTRY : Command<0x936, "SET_FLOW_TABLE_ENTRY"> {
  struct In : Layout<In, 0x340, ByteOrder::kBig> {
    using TABLE_TYPE = Field<0x10, uint32_t, 24, 31>;
    using TABLE_ID = Field<0x14, uint32_t, 0, 23>;
    using FLOW_INDEX = Field<0x20, uint32_t>;
    using GROUP_ID = Field<0x44, uint32_t>;
    using ACTION = Field<0x4C, uint32_t, 0, 15>;
    using DESTINATION_LIST_SIZE = Field<0x50, uint32_t, 0, 23>;
  };
  static constexpr uint32_t kMatchValue = 0x80, kDestinations = 0x340;
  using Out = Plain<0x10>;
  using UndoneBy = DELETE_FLOW_TABLE_ENTRY;  // with the table in Undo::table
};
struct FlowDestination : Layout<FlowDestination, 8, ByteOrder::kBig> {
  using TYPE = Field<0x00, uint32_t, 24, 31>;
  using ID = Field<0x00, uint32_t, 0, 23>;
};

// --- The NIC vport (docs/connectx.md §4, §7). ---
// nic_vport_context at Base: QUERY output 0x10, MODIFY input 0x100.
template <typename Self, size_t Base>
struct VportContext : Layout<Self, Base + 0x100, ByteOrder::kBig> {
  using MIN_WQE_INLINE_MODE = LayoutField<Self, Base + 0x00, uint32_t, 24, 26>;
  using MTU = LayoutField<Self, Base + 0x24, uint32_t, 0, 15>;
  using PROMISC_UC = LayoutField<Self, Base + 0xF0, uint32_t, 31, 31>;
  using PROMISC_MC = LayoutField<Self, Base + 0xF0, uint32_t, 30, 30>;
  using PROMISC_ALL = LayoutField<Self, Base + 0xF0, uint32_t, 29, 29>;
  // PRM "NIC Vport Context": the allowed address list (type 0: unicast) of
  // allowed_list_size UcAddress entries at Base + 0x100, after the context.
  using ALLOWED_LIST_TYPE = LayoutField<Self, Base + 0xF0, uint32_t, 24, 26>;
  using ALLOWED_LIST_SIZE = LayoutField<Self, Base + 0xF0, uint32_t, 0, 11>;
  using MAC_47_32 = LayoutField<Self, Base + 0xF4, uint32_t, 0, 15>;
  using MAC_31_0 = LayoutField<Self, Base + 0xF8, uint32_t, 0, 31>;
};
struct QUERY_NIC_VPORT_CONTEXT : Command<0x754, "QUERY_NIC_VPORT_CONTEXT"> {
  using In = Plain<0x10>;
  struct Out : VportContext<Out, 0x10> {};
};
struct MODIFY_NIC_VPORT_CONTEXT : Command<0x755, "MODIFY_NIC_VPORT_CONTEXT"> {
  struct In : VportContext<In, 0x100> {
    using FIELD_SELECT = Field<0x0C, uint32_t>;
  };
  using Out = Plain<0x10>;
};
inline constexpr uint32_t kSelectAddressList = 1u << 2, kSelectPermanentAddress = 1u << 3,
                          kSelectPromisc = 1u << 4, kSelectMtu = 1u << 6;
inline constexpr uint32_t kAllowedUnicast = 0, kAllowedList = 0x200;  // MODIFY input offset
// PRM "mac_address_layout": one entry of the allowed list.
struct UcAddress : Layout<UcAddress, 8, ByteOrder::kBig> {
  using MAC_47_32 = Field<0x00, uint32_t, 0, 15>;
  using MAC_31_0 = Field<0x04, uint32_t>;
};
struct QUERY_VPORT_STATE : Command<0x750, "QUERY_VPORT_STATE"> {
  using In = Plain<0x10>;
  struct Out : Layout<Out, 0x10, ByteOrder::kBig> {
    using ADMIN_STATE = Field<0x0C, uint32_t, 4, 7>;
    using STATE = Field<0x0C, uint32_t, 0, 3>;  // 1: up
  };
};
// Counters: 64-bit packets then octets per group, at these output offsets.
struct QUERY_VPORT_COUNTER : Command<0x770, "QUERY_VPORT_COUNTER"> {
  struct In : Layout<In, 0x20, ByteOrder::kBig> {
    using CLEAR = Field<0x18, uint32_t, 31, 31>;
  };
  using Out = Plain<0x210>;
};
struct VportCounter {
  const char* name;  // the PRM's, with _packets / _octets appended
  uint32_t offset;
};
inline constexpr VportCounter kVportCounters[] = {
    {"received_errors", 0x10},        {"transmit_errors", 0x20},
    {"received_eth_broadcast", 0x70}, {"transmitted_eth_broadcast", 0x80},
    {"received_eth_unicast", 0x90},   {"transmitted_eth_unicast", 0xA0},
    {"received_eth_multicast", 0xB0}, {"transmitted_eth_multicast", 0xC0}};

// --- Port registers through ACCESS_REGISTER (docs/connectx.md §7): one layout is both
// the command's input and its output; the register data starts at 0x10. ---
template <typename Self, uint16_t Id, size_t Size>
struct PortRegister : Layout<Self, 0x10 + Size, ByteOrder::kBig> {
  static constexpr uint16_t kId = Id;
  using REGISTER_ID = LayoutField<Self, 0x08, uint32_t, 0, 15>;
  using LOCAL_PORT = LayoutField<Self, 0x10, uint32_t, 16, 23>;  // 1
};
struct PAOS : PortRegister<PAOS, 0x5006, 0x10> {
  using ADMIN_STATUS = Field<0x10, uint32_t, 8, 11>;  // 1 up, 2 down
  using OPER_STATUS = Field<0x10, uint32_t, 0, 3>;    // 1 up, 2 down
  using ASE = Field<0x14, uint32_t, 31, 31>;          // admin status update enable
};
struct PTYS : PortRegister<PTYS, 0x5004, 0x40> {
  using PROTO_MASK = Field<0x10, uint32_t, 0, 2>;  // 4: Ethernet
  using ETH_PROTO_CAPABILITY = Field<0x1C, uint32_t>;
  using ETH_PROTO_ADMIN = Field<0x28, uint32_t>;
  using ETH_PROTO_OPER = Field<0x34, uint32_t>;
};
struct PMTU : PortRegister<PMTU, 0x5003, 0x10> {
  using MAX_MTU = Field<0x14, uint32_t, 16, 31>;
  using ADMIN_MTU = Field<0x18, uint32_t, 16, 31>;
  using OPER_MTU = Field<0x1C, uint32_t, 16, 31>;
};
// The command reads or writes any register; RegisterAccess<Reg> is it with
// that register's layout.
struct ACCESS_REGISTER : Command<0x805, "ACCESS_REGISTER"> {
  using In = Plain<0x10>;  // the header; the register's data follows
  using Out = Plain<0x10>;
};
template <typename Reg>
struct RegisterAccess : ACCESS_REGISTER {
  using In = Reg;
  using Out = Reg;
};
inline constexpr uint16_t kRegisterWrite = 0, kRegisterRead = 1;
inline constexpr uint32_t kPortUp = 1, kPortDown = 2, kProtoEthernet = 4;
// PTYS eth_proto_oper bits (PRM "PTYS - Port Type and Speed Register",
// Ethernet protocols) and the speed of each link mode.
struct PtysSpeed {
  uint32_t bit;
  uint32_t mbps;
};
inline constexpr PtysSpeed kPtysSpeeds[] = {
    {0, 1000},     // 1000BASE-CX-SGMII
    {1, 1000},     // 1000BASE-KX
    {2, 10000},    // 10GBASE-CX4
    {3, 10000},    // 10GBASE-KX4
    {4, 10000},    // 10GBASE-KR
    {5, 20000},    // 20GBASE-KR2
    {6, 40000},    // 40GBASE-CR4
    {7, 40000},    // 40GBASE-KR4
    {8, 56000},    // 56GBASE-R4
    {12, 10000},   // 10GBASE-CR
    {13, 10000},   // 10GBASE-SR
    {14, 10000},   // 10GBASE-ER/LR
    {15, 40000},   // 40GBASE-SR4
    {16, 40000},   // 40GBASE-LR4/ER4
    {18, 50000},   // 50GBASE-SR2
    {20, 100000},  // 100GBASE-CR4
    {21, 100000},  // 100GBASE-SR4
    {22, 100000},  // 100GBASE-KR4
    {23, 100000},  // 100GBASE-LR4/ER4
    {24, 100},     // 100BASE-TX
    {25, 1000},    // 1000BASE-T
    {26, 10000},   // 10GBASE-T
    {27, 25000},   // 25GBASE-CR
    {28, 25000},   // 25GBASE-KR
    {29, 25000},   // 25GBASE-SR
    {30, 50000},   // 50GBASE-CR2
    {31, 50000},   // 50GBASE-KR2
};
// The hardware MTU counts the Ethernet header, a VLAN tag and the FCS
// (Linux MLX5E_SW2HW_MTU).
inline constexpr uint32_t kHwMtuOverhead = 14 + 4 + 4;

// Every command above, once (the order does not matter).
template <typename... Cmds>
struct CommandList {};
using Commands =
    CommandList<ENABLE_HCA, DISABLE_HCA, QUERY_ISSI, SET_ISSI, QUERY_PAGES, MANAGE_PAGES,
                QUERY_HCA_CAP, INIT_HCA, TEARDOWN_HCA, ALLOC_UAR, DEALLOC_UAR, ALLOC_PD, DEALLOC_PD,
                ALLOC_TRANSPORT_DOMAIN, DEALLOC_TRANSPORT_DOMAIN, QUERY_SPECIAL_CONTEXTS, CREATE_EQ,
                DESTROY_EQ, CREATE_CQ, DESTROY_CQ, CREATE_SQ, MODIFY_SQ, DESTROY_SQ, CREATE_RQ,
                MODIFY_RQ, DESTROY_RQ, CREATE_TIS, DESTROY_TIS, CREATE_TIR, DESTROY_TIR, CREATE_RQT,
                DESTROY_RQT, CREATE_FLOW_TABLE, DESTROY_FLOW_TABLE, SET_FLOW_TABLE_ROOT,
                CREATE_FLOW_GROUP, DESTROY_FLOW_GROUP, SET_FLOW_TABLE_ENTRY,
                DELETE_FLOW_TABLE_ENTRY, QUERY_NIC_VPORT_CONTEXT, MODIFY_NIC_VPORT_CONTEXT,
                QUERY_VPORT_STATE, QUERY_VPORT_COUNTER, ACCESS_REGISTER>;

// Calls f(Cmd{}) for each command of the list, until f returns true; returns
// whether one did.
template <typename... Cmds, typename F>
constexpr bool for_each_command(CommandList<Cmds...>, F&& f) {
  return (f(Cmds{}) || ...);
}

namespace detail {
template <typename... Cmds>
constexpr bool opcodes_unique(CommandList<Cmds...>) {
  constexpr uint16_t ops[] = {Cmds::kOpcode...};
  for (size_t i = 0; i < sizeof...(Cmds); ++i) {
    for (size_t j = i + 1; j < sizeof...(Cmds); ++j) {
      if (ops[i] == ops[j]) return false;
    }
  }
  return true;
}
// A creating command's UndoneBy is in the list and knows how to take the object.
template <typename Cmd, typename... Cmds>
constexpr bool undone_by_a_listed_command(CommandList<Cmds...>) {
  if constexpr (requires { typename Cmd::UndoneBy; }) {
    using U = typename Cmd::UndoneBy;
    return (std::is_same_v<U, Cmds> || ...) &&
           requires(LayoutRef<typename U::In> in, const Undo& u) {
      U::undo_input(in, u);
    };
  }
  return true;
}
template <typename... Cmds>
constexpr bool every_undo_listed(CommandList<Cmds...> list) {
  return (undone_by_a_listed_command<Cmds>(list) && ...);
}
}  // namespace detail
static_assert(detail::opcodes_unique(Commands{}), "two commands share an opcode");
static_assert(detail::every_undo_listed(Commands{}),
              "a command's UndoneBy is not in Commands or has no undo_input");

}  // namespace safenic::mlx5
