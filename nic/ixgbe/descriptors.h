// Intel 82599 advanced descriptors (datasheet rev 3.3 §7.1.6, §7.2.3.2.4),
// little-endian, 16 bytes. Shared by the ixgbe driver and the 82599 model.
#pragma once

#include <cstdint>

#include "nic/layout.h"

namespace safenic::ixgbe {

inline constexpr uint32_t kDescriptorSize = 16;

// §7.1.6.1 Advanced receive descriptor, read format (driver to device).
struct RxRead : Layout<RxRead, 16, ByteOrder::kLittle> {
  using PKT_ADDR = Field<0, uint64_t>;
  using HDR_ADDR = Field<8, uint64_t>;  // overlaps STATUS: writing 0 clears DD
};
// §7.1.6.2 Advanced receive descriptor, write-back format (device to driver).
struct RxWriteBack : Layout<RxWriteBack, 16, ByteOrder::kLittle> {
  using RSS_TYPE = Field<0, uint32_t, 0, 3>;
  using RSS_HASH = Field<4, uint32_t>;
  using STATUS_ERROR = Field<8, uint32_t>;  // the whole word, read once
  using DD = Bit<8, uint32_t, 0>;           // descriptor done: written last
  using EOP = Bit<8, uint32_t, 1>;          // end of packet
  using RXE = Bit<8, uint32_t, 29>;         // frame had an RX error (CRC, size)
  using LENGTH = Field<12, uint16_t>;
  using VLAN = Field<14, uint16_t>;
};
// §7.2.3.2.4 Advanced transmit data descriptor, read format.
struct TxRead : Layout<TxRead, 16, ByteOrder::kLittle> {
  using BUFFER_ADDR = Field<0, uint64_t>;
  using CMD_TYPE_LEN = Field<8, uint32_t>;
  using DTALEN = Field<8, uint32_t, 0, 15>;
  using DTYP = Field<8, uint32_t, 20, 23>;  // 3 = data descriptor
  using EOP = Bit<8, uint32_t, 24>;
  using IFCS = Bit<8, uint32_t, 25>;        // insert FCS
  using RS = Bit<8, uint32_t, 27>;          // report status (write DD)
  using DEXT = Bit<8, uint32_t, 29>;        // advanced format
  using OLINFO_STATUS = Field<12, uint32_t>;  // the whole word, written once
  using PAYLEN = Field<12, uint32_t, 14, 31>;
};
// §7.2.3.2.4 write-back: DD in the status word at byte 12.
struct TxWriteBack : Layout<TxWriteBack, 16, ByteOrder::kLittle> {
  using STATUS = Field<12, uint32_t>;
  using DD = Bit<12, uint32_t, 0>;
};
inline constexpr uint32_t kDtypData = 3;

}  // namespace safenic::ixgbe
