// mlx5 data-path structures in host memory, shared by the driver and the
// ConnectX model: send and receive work queue entries, completion queue
// entries, event queue entries and doorbell records. Sources: PRM "Work
// Queues", "Completion Queues", "Event Queues", as docs/connectx.md §5 summarizes them
// (Linux include/linux/mlx5/qp.h and device.h give the same offsets:
// mlx5_wqe_ctrl_seg, mlx5_wqe_eth_seg, mlx5_wqe_data_seg, mlx5_cqe64,
// mlx5_err_cqe, mlx5_eqe). Everything is big-endian.
#pragma once

#include <cstdint>

#include "nic/layout.h"

namespace safenic::mlx5 {

// Send WQE, one 64-byte basic block (docs/connectx.md §5): control segment at 0x00,
// Ethernet segment at 0x10 whose inline headers start at 0x1E, then data
// segments at the next 16-byte boundary (0x30 for up to 18 inline bytes).
struct SendWqe : Layout<SendWqe, 64, ByteOrder::kBig> {
  using CTRL0 = Field<0x00, uint32_t>;
  using OPCODE = Field<0x00, uint32_t, 0, 7>;
  using WQE_INDEX = Field<0x00, uint32_t, 8, 23>;
  using CTRL1 = Field<0x04, uint32_t>;
  using DS = Field<0x04, uint32_t, 0, 5>;  // WQE size in 16-byte units
  using SQN = Field<0x04, uint32_t, 8, 31>;
  using CTRL2 = Field<0x08, uint32_t>;
  using CE = Field<0x08, uint32_t, 2, 3>;  // 2: a CQE for this WQE
  using ETH3 =
      Field<0x1C, uint32_t>;  // Ethernet segment +0x0C: inline_hdr_sz[31:16], 2 header bytes
  using INLINE_HDR_SZ = Field<0x1C, uint32_t, 16, 31>;
  static constexpr uint32_t kInlineStart = 0x1E;
};
inline constexpr uint32_t kOpcodeNop = 0x00, kOpcodeSend = 0x0A;
inline constexpr uint32_t kCeAlways = 2;
inline constexpr uint32_t kWqeBasicBlock = 64;
// The driver inlines the Ethernet header and a VLAN tag, as Linux does
// (MLX5E_MIN_INLINE); with the data segment that is ds = 4, one basic block.
inline constexpr uint32_t kInlineHeader = 18;
inline constexpr uint32_t kSendDataSegment = 0x30;
// min_wqe_inline_mode 1 (L2): at least the Ethernet header inline.
inline constexpr uint32_t kMinInlineL2 = 14;
// A WQE takes ds / 4 basic blocks, rounded up; ds is 6 bits (at most 63).
inline constexpr uint32_t kMaxWqeBlocks = 16;

// Enhanced multi-packet send WQE (PRM "Send WQE", opcode ENHANCED_MPSW 0x29,
// opmod 0; the TX MPWQE of Linux mlx5e and the eMPW path of DPDK's mlx5 PMD
// post it on ConnectX-5): a control segment, an Ethernet segment with no
// inline header, then one data segment per frame, so ds = 2 + frames and one
// CQE (when asked) completes every frame in it. Only devices whose Ethernet
// offload capabilities say enhanced_multi_pkt_send_wqe take it; the driver
// uses it when the vport requires no inline headers (min_wqe_inline_mode 0).
inline constexpr uint32_t kOpcodeEnhancedMpsw = 0x29;
inline constexpr uint32_t kEmpwFirstSegment = 0x20;  // the first frame's data segment
// Frames per WQE (DPDK's MLX5_EMPW_MAX_PACKETS): 34 segments, 9 basic blocks.
inline constexpr uint32_t kEmpwMaxFrames = 32;
// byte_count bit 31 in a data segment of such a WQE: the frame's bytes follow
// inline (DPDK MLX5_ETH_WQE_DATA_INLINE). The driver never sets it.
inline constexpr uint32_t kDataInline = 1u << 31;

// Data segment (scatter/gather entry): send WQEs and receive WQEs (a cyclic
// RQ's WQE is one data segment, stride 16).
struct DataSegment : Layout<DataSegment, 16, ByteOrder::kBig> {
  using BYTE_COUNT = Field<0x00, uint32_t>;
  using LKEY = Field<0x04, uint32_t>;
  using ADDR = Field<0x08, uint64_t>;
};

// Completion queue entry, 64 bytes (docs/connectx.md §5).
struct Cqe : Layout<Cqe, 64, ByteOrder::kBig> {
  using RSS_HASH_RESULT = Field<0x0C, uint32_t>;
  // What the RSS hash covered (Linux's CQE_RSS_HTYPE_*): the IP addresses
  // [3:2] (1 IPv4, 2 IPv6), the L4 ports [7:6] (1 TCP, 2 UDP); 0: no hash.
  using RSS_HASH_TYPE = Field<0x10, uint8_t>;
  using RSS_HTYPE_IP = Field<0x10, uint8_t, 2, 3>;
  using RSS_HTYPE_L4 = Field<0x10, uint8_t, 6, 7>;
  using HDS_IP_EXT = Field<0x1C, uint8_t>;  // kL2Ok | kL3Ok | kL4Ok
  // The headers the device parsed (PRM CQE l4_hdr_type, l3_hdr_type; Linux's
  // mlx5_cqe64.l4_l3_hdr_type, rdma-core's l4_hdr_type_etc).
  using L4_L3_HDR_TYPE = Field<0x1D, uint8_t>;
  using CHECKSUM_INFO = Field<0x1C, uint16_t>;     // hds_ip_ext, then l4_l3_hdr_type
  using L4_HDR_TYPE = Field<0x1D, uint8_t, 4, 6>;  // kL4Hdr*
  using L3_HDR_TYPE = Field<0x1D, uint8_t, 2, 3>;  // kL3Hdr*
  using BYTE_CNT = Field<0x2C, uint32_t>;
  using SYNDROME = Field<0x37, uint8_t>;
  using SOP_DROP_QPN = Field<0x38, uint32_t>;  // send CQEs: WQE opcode[31:24], sqn
  using WQE_COUNTER = Field<0x3C, uint16_t>;
  using TAIL = Field<0x3C, uint32_t>;  // wqe_counter[31:16] signature[15:8] op_own[7:0]
  using OP_OWN = Field<0x3F, uint8_t>;
  using OPCODE = Field<0x3F, uint8_t, 4, 7>;
  using OWNER = Field<0x3F, uint8_t, 0, 0>;
};
inline constexpr uint8_t kCqeReq = 0x0, kCqeRespSend = 0x2, kCqeReqErr = 0xD, kCqeRespErr = 0xE,
                         kCqeInvalid = 0xF;
// Initial op_own: invalid opcode, owner 1 (software owns entries whose owner
// bit equals its pass over the ring: 0 on the first).
inline constexpr uint8_t kCqeInitial = 0xF1;
inline constexpr uint8_t kL2Ok = 1, kL3Ok = 2, kL4Ok = 4;
inline constexpr uint8_t kL3HdrNone = 0, kL3HdrIpv6 = 1, kL3HdrIpv4 = 2;
inline constexpr uint8_t kRssHtypeIpv4 = 1, kRssHtypeTcp = 1, kRssHtypeUdp = 2;
inline constexpr uint8_t kL4HdrNone = 0, kL4HdrTcpNoAck = 1, kL4HdrUdp = 2, kL4HdrTcpAckNoData = 3,
                         kL4HdrTcpAckAndData = 4;
// Error CQE syndromes (docs/connectx.md §5).
inline constexpr uint8_t kSyndromeLocalLength = 0x1, kSyndromeLocalQpOperation = 0x2,
                         kSyndromeLocalProtection = 0x4, kSyndromeWrFlushed = 0x5;

// Event queue entry, 64 bytes: type, subtype, 28 data bytes from 0x20, owner.
struct Eqe : Layout<Eqe, 64, ByteOrder::kBig> {
  using TYPE = Field<0x00, uint32_t, 16, 23>;
  using SUB_TYPE = Field<0x00, uint32_t, 0, 7>;
  using CQN = Field<0x20, uint32_t, 0, 23>;     // CQ error: data + 0
  using CQ_SYNDROME = Field<0x2B, uint8_t>;     // CQ error: data + 0x0B
  using PORT = Field<0x28, uint32_t, 28, 31>;   // port change: data + 8
  using CMD_VECTOR = Field<0x20, uint32_t>;     // command completion: data + 0, a bit per entry
  using PAGE_FUNCTION = Field<0x22, uint16_t>;  // page request: data + 2, function_id
  using NUM_PAGES = Field<0x24, uint32_t>;      // page request: data + 4, signed (< 0: give back)
  using OWNER = Field<0x3F, uint8_t, 0, 0>;
};
inline constexpr uint32_t kEventCqError = 0x04, kEventWqCatastrophic = 0x05,
                          kEventInternalError = 0x08, kEventPortChange = 0x09, kEventCommand = 0x0A,
                          kEventPageRequest = 0x0B;
inline constexpr uint32_t kPortChangeDown = 1, kPortChangeActive = 4;
inline constexpr uint8_t kCqSyndromeOverrun = 1;

// Doorbell records in host memory (docs/connectx.md §5): a work queue's counters (the
// RQ's at +0, the SQ's at +4; low 16 bits), a CQ's consumer index.
struct WqDoorbell : Layout<WqDoorbell, 8, ByteOrder::kBig> {
  using RECEIVE_COUNTER = Field<0x00, uint32_t>;
  using SEND_COUNTER = Field<0x04, uint32_t>;
};
struct CqDoorbell : Layout<CqDoorbell, 8, ByteOrder::kBig> {
  using UPDATE_CI = Field<0x00, uint32_t, 0, 23>;
  using WORD0 = Field<0x00, uint32_t>;  // update_ci, the reserved bits 0 (one store, as Linux does)
};
inline constexpr uint32_t kDoorbellRecordSize = 64;  // one cache line each

}  // namespace safenic::mlx5
