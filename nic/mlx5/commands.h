// mlx5 commands: one short declaration each: opcode, input and output layout
// (offsets from shared/docs/connectx-digest.md §4, after the PRM's command
// reference). The generic mechanism is nic/mlx5/cmd.h.
#pragma once

#include <cstdint>

#include "nic/mlx5/layout.h"

namespace safenic::mlx5 {

template <uint16_t Opcode>
struct Command {
  static constexpr uint16_t kOpcode = Opcode;
};
// A layout of N bytes with no fields beyond the command header.
template <size_t N>
struct Plain : Layout<Plain<N>, N, ByteOrder::kBig> {};

struct ENABLE_HCA : Command<op::kEnableHca> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> { using FUNCTION_ID = Field<0x08, uint32_t, 0, 15>; };
  using Out = Plain<0x10>;
};
struct DISABLE_HCA : Command<op::kDisableHca> {
  using In = ENABLE_HCA::In;
  using Out = Plain<0x10>;
};
struct QUERY_ISSI : Command<op::kQueryIssi> {
  using In = Plain<0x10>;
  struct Out : Layout<Out, 0x70, ByteOrder::kBig> {
    using CURRENT_ISSI = Field<0x08, uint32_t, 0, 15>;
    using SUPPORTED_ISSI_DW0 = Field<0x6C, uint32_t>;  // bit n: ISSI n
  };
};
struct SET_ISSI : Command<op::kSetIssi> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> { using CURRENT_ISSI = Field<0x08, uint32_t, 0, 15>; };
  using Out = Plain<0x10>;
};
struct QUERY_PAGES : Command<op::kQueryPages> {  // op_mod: kPagesBoot, kPagesInit, kPagesRegular
  struct In : Layout<In, 0x10, ByteOrder::kBig> { using FUNCTION_ID = Field<0x08, uint32_t, 0, 15>; };
  struct Out : Layout<Out, 0x10, ByteOrder::kBig> { using NUM_PAGES = Field<0x0C, uint32_t>; };  // signed
};
// op_mod: kManageGive (pas follow the input), kManageTake (pas come back after
// the output; run with extra output room via execute()).
struct MANAGE_PAGES : Command<op::kManagePages> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> {
    using FUNCTION_ID = Field<0x08, uint32_t, 0, 15>;
    using INPUT_NUM_ENTRIES = Field<0x0C, uint32_t>;
  };
  struct Out : Layout<Out, 0x10, ByteOrder::kBig> { using OUTPUT_NUM_ENTRIES = Field<0x08, uint32_t>; };
  static constexpr uint32_t kPas = 0x10;      // BE64 page addresses, in input and output
  static constexpr uint32_t kMaxPages = 512;  // per command, as illumos does
};
// op_mod: (capability type << 1) | (0 maximum, 1 current); type 0 general.
struct QUERY_HCA_CAP : Command<op::kQueryHcaCap> {
  using In = Plain<0x10>;
  struct Out : Layout<Out, 0x1010, ByteOrder::kBig> {
    // General device capabilities, at 0x10 + the capability offset.
    using LOG_MAX_CQ_SZ = Field<0x10 + 0x18, uint32_t, 16, 23>;
    using LOG_MAX_EQ_SZ = Field<0x10 + 0x1C, uint32_t, 24, 31>;
    using PORT_TYPE = Field<0x10 + 0x34, uint32_t, 8, 9>;  // 1: Ethernet
    using LOG_MAX_WQ_SZ = Field<0x10 + 0x78, uint32_t, 0, 4>;
  };
};
struct INIT_HCA : Command<op::kInitHca> {
  using In = Plain<0x10>;
  using Out = Plain<0x10>;
};
struct TEARDOWN_HCA : Command<op::kTeardownHca> {
  struct In : Layout<In, 0x10, ByteOrder::kBig> { using PROFILE = Field<0x08, uint32_t, 0, 15>; };
  using Out = Plain<0x10>;
};

}  // namespace safenic::mlx5
