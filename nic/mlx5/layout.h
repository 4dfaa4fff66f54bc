// ConnectX-4/4 Lx/5 (mlx5): the initialization segment and the command
// interface, shared by the mlx5 driver and the ConnectX model. Sources: the
// Mellanox Adapters Programmer's Reference Manual (PRM), "Initialization
// Segment" and "Command Interface" chapters, as summarized (with peers'
// readings: Linux mlx5_ifc.h, illumos mlxcx_reg.h, Snabb connectx.lua) in
// docs/connectx.md §2-§3. Everything is big-endian.
#pragma once

#include <cstdint>

#include "nic/layout.h"
#include "nic/register.h"

namespace safenic::mlx5 {

inline constexpr uint16_t kVendor = 0x15B3;
inline constexpr uint16_t kConnectX4 = 0x1013, kConnectX4Lx = 0x1015, kConnectX5 = 0x1017,
                          kConnectX5Ex = 0x1019;
inline constexpr uint32_t kBar0Size = 32 * 1024 * 1024;
inline constexpr uint32_t kPageSize = 4096;

// PRM "Initialization Segment" (BAR0 offset 0), big-endian 32-bit words.
using B = ByteOrder;
struct FW_REV : Register<FW_REV, uint32_t, Access::kReadOnly, 0x000, B::kBig> {
  using MAJOR = Field<0, 15>;
  using MINOR = Field<16, 31>;
};
struct CMDIF_REV_FW_SUB : Register<CMDIF_REV_FW_SUB, uint32_t, Access::kReadOnly, 0x004, B::kBig> {
  using FW_REV_SUBMINOR = Field<0, 15>;
  using CMD_INTERFACE_REV = Field<16, 31>;  // 5
};
struct CMDQ_ADDR_H : Register<CMDQ_ADDR_H, uint32_t, Access::kReadWrite, 0x010, B::kBig> {};
struct CMDQ_ADDR_L_SZ : Register<CMDQ_ADDR_L_SZ, uint32_t, Access::kReadWrite, 0x014, B::kBig> {
  using LOG_CMDQ_STRIDE = Field<0, 3, Access::kReadOnly>;
  using LOG_CMDQ_SIZE = Field<4, 7, Access::kReadOnly>;
  using NIC_INTERFACE = Field<8, 9>;  // 0 full driver, 1 disabled, 2 no DRAM NIC
  using CMDQ_ADDR_L = Field<12, 31>;  // address bits 31:12
};
struct CMD_DBELL : Register<CMD_DBELL, uint32_t, Access::kWriteOnly, 0x018, B::kBig> {};
struct INITIALIZING : Register<INITIALIZING, uint32_t, Access::kReadOnly, 0x1FC, B::kBig> {
  using NIC_INTERFACE_SUPPORTED = Field<24, 26>;
  using BUSY = Field<31>;  // "initializing": poll until 0
};
inline constexpr uint32_t kCmdInterfaceRev = 5;
inline constexpr uint32_t kHealthBuffer = 0x200;
// The health buffer's last dword: irisc_index (byte 0x23C), synd (byte 0x23D:
// nonzero is a fatal firmware error, HealthSyndrome), ext_synd (0x23E-0x23F:
// details for the firmware's vendor, never a reason to stop by itself).
struct HEALTH_SYNDROME : Register<HEALTH_SYNDROME, uint32_t, Access::kReadOnly, 0x23C, B::kBig> {
  using SYNDROME = Field<16, 23>;
  using EXT_SYNDROME = Field<0, 15>;
};
// PRM "Health Buffer" syndromes (the values Linux's mlx5_ifc.h enumerates as
// MLX5_INITIAL_SEG_HEALTH_SYNDROME_*).
enum class HealthSyndrome : uint8_t {
  kFwInternalErr = 0x1,
  kDeadIrisc = 0x7,
  kHwFatalErr = 0x8,
  kFwCrcErr = 0x9,
  kIcmFetchPciErr = 0xA,
  kIcmPageErr = 0xB,
  kAsynchronousEqBufOverrun = 0xC,
  kEqInErr = 0xD,
  kEqInv = 0xE,
  kFfserErr = 0xF,
  kHighTempErr = 0x10,
};
struct INTERNAL_TIMER_H : Register<INTERNAL_TIMER_H, uint32_t, Access::kReadOnly, 0x1000, B::kBig> {
};
struct INTERNAL_TIMER_L : Register<INTERNAL_TIMER_L, uint32_t, Access::kReadOnly, 0x1004, B::kBig> {
};

// PRM "Command Queue Entry": 64 bytes.
struct CmdEntry : Layout<CmdEntry, 64, B::kBig> {
  using TYPE = Field<0x00, uint8_t>;  // 7: PCIe command interface
  using INPUT_LENGTH = Field<0x04, uint32_t>;
  using INPUT_MAILBOX = Field<0x08, uint64_t>;
  // 0x10-0x1F: first 16 input bytes; 0x20-0x2F: first 16 output bytes.
  using OUTPUT_MAILBOX = Field<0x30, uint64_t>;
  using OUTPUT_LENGTH = Field<0x38, uint32_t>;
  using TOKEN = Field<0x3C, uint8_t>;
  using SIGNATURE = Field<0x3D, uint8_t>;
  using OWNER = Bit<0x3F, uint8_t, 0>;        // 1: owned by hardware
  using STATUS = Field<0x3F, uint8_t, 1, 7>;  // delivery status
};
inline constexpr uint8_t kCmdTypePcie = 7;
inline constexpr uint32_t kCmdInlineIn = 0x10, kCmdInlineOut = 0x20, kCmdInline = 16;

// PRM "Command Mailbox": 0x240 bytes: 512 data bytes, then the chain.
struct Mailbox : Layout<Mailbox, 0x240, B::kBig> {
  using NEXT = Field<0x230, uint64_t>;  // 0 ends the chain
  using BLOCK_NUMBER = Field<0x238, uint32_t>;
  using TOKEN = Field<0x23D, uint8_t>;
  using CTRL_SIGNATURE = Field<0x23E, uint8_t>;
  using SIGNATURE = Field<0x23F, uint8_t>;
};
inline constexpr uint32_t kMailboxData = 512;
inline constexpr uint32_t kMailboxAlign = 1024;  // Linux's alignment; the PRM asks for 1 KiB

// Delivery status (status_own >> 1), PRM "Command Delivery Status".
enum class Delivery : uint8_t {
  kOk = 0,
  kSignatureError = 1,
  kTokenError = 2,
  kBadBlockNumber = 3,
  kBadOutputPointer = 4,
  kBadInputPointer = 5,
  kInternalError = 6,
  kInputLengthError = 7,
  kOutputLengthError = 8,
  kReservedNotZero = 9,
  kBadCommandType = 0x10,
};

// The header every command's input and output starts with.
struct CmdIn : Layout<CmdIn, 8, B::kBig> {
  using OPCODE = Field<0x00, uint32_t, 16, 31>;
  using OP_MOD = Field<0x04, uint32_t, 0, 15>;
};
struct CmdOut : Layout<CmdOut, 8, B::kBig> {
  using STATUS = Field<0x00, uint32_t, 24, 31>;
  using SYNDROME = Field<0x04, uint32_t>;
};

// Command output status, PRM "Return Status Summary".
enum class CmdStatus : uint8_t {
  kOk = 0,
  kInternalError = 1,
  kBadOp = 2,
  kBadParam = 3,
  kBadSysState = 4,
  kBadResource = 5,
  kResourceBusy = 6,
  kExceedLimit = 8,
  kBadResState = 9,
  kBadIndex = 0xA,
  kNoResources = 0xF,
  kBadQpState = 0x10,
  kBadPacket = 0x30,
  kBadSizeOutstandingCqes = 0x40,
  kBadInputLength = 0x50,
  kBadOutputLength = 0x51,
};

// The commands, each with its opcode: nic/mlx5/commands.h.

// User Access Region pages (docs/connectx.md §4-§5): UAR n is the 4 KiB page at BAR0 +
// n * 4096 (log_uar_page_sz 0). Doorbells are big-endian writes.
inline constexpr uint32_t kUarPages = kBar0Size / kPageSize;
// Send doorbell: the first 8 bytes of the last WQE's control segment, one
// 64-bit write (docs/connectx.md §5; Linux MLX5_BF_OFFSET).
struct UAR_SEND_DOORBELL : StridedRegisterArray<UAR_SEND_DOORBELL, uint64_t, Access::kWriteOnly,
                                                0x800, kPageSize, kUarPages, B::kBig> {};
// EQ consumer index without re-arming (docs/connectx.md §5; Linux eq_update_ci: +0x40
// arms, +0x48 does not).
struct UAR_EQ_DOORBELL : StridedRegisterArray<UAR_EQ_DOORBELL, uint32_t, Access::kWriteOnly, 0x48,
                                              kPageSize, kUarPages, B::kBig> {
  using CONSUMER_INDEX = Field<0, 23>;
  using EQN = Field<24, 31>;
};

// QUERY_PAGES op_mod and MANAGE_PAGES op_mod.
inline constexpr uint16_t kPagesBoot = 1, kPagesInit = 2, kPagesRegular = 3;
inline constexpr uint16_t kManageAllocFail = 0, kManageGive = 1, kManageTake = 2;

}  // namespace safenic::mlx5
