// "dmacopy": a tiny made-up DMA engine used to test the MMIO/DMA seam end to
// end. Its layout is shared by its model and its driver, as for a real NIC.
// BAR0 (4 KiB):
#pragma once

#include <cstdint>

#include "nic/layout.h"
#include "nic/register.h"

namespace safenic::testdev {

inline constexpr uint16_t kVendor = 0x1234, kDevice = 0xD0A1;
inline constexpr uint32_t kMagic = 0x5AFE0001;

struct ID : Register<ID, uint32_t, Access::kReadOnly, 0x00> {};
struct CTRL : Register<CTRL, uint32_t, Access::kReadWrite, 0x04> {
  using ENABLE = Field<0>;
  using RESET = Field<1>;  // self-clearing
};
struct RING_BASE : Register<RING_BASE, uint64_t, Access::kReadWrite, 0x08> {};
struct RING_SIZE : Register<RING_SIZE, uint32_t, Access::kReadWrite, 0x10> {};
struct TAIL : Register<TAIL, uint32_t, Access::kWriteOnly, 0x14> {};  // doorbell
struct HEAD : Register<HEAD, uint32_t, Access::kReadOnly, 0x18> {};
struct ERRORS : Register<ERRORS, uint32_t, Access::kClearOnRead, 0x1C> {};
// A big-endian register, as ConnectX has them.
struct BE_SCRATCH : Register<BE_SCRATCH, uint32_t, Access::kReadWrite, 0x20, ByteOrder::kBig> {
  using HIGH = Field<16, 31>;
  using LOW = Field<0, 15>;
};
inline constexpr uint32_t kBarSize = 4096;

// Copy descriptor, 32 bytes, little-endian.
struct CopyDesc : Layout<CopyDesc, 32, ByteOrder::kLittle> {
  using SRC = Field<0, uint64_t>;
  using DST = Field<8, uint64_t>;
  using LEN = Field<16, uint32_t>;
  using DONE = Bit<20, uint32_t, 0>;   // written by the device, last
  using ERROR = Bit<20, uint32_t, 1>;  // the copy faulted
};

}  // namespace safenic::testdev
