// "testnic": a made-up one-queue Ethernet NIC, the fourth NIC family, kept
// entirely in this folder to show (and test) that a NIC needs no edit
// outside its own folders: its layout here, its model (nic_model.*) and
// kind (nic_kind.cc), its driver (nic_driver.*), its tests (nic_test.cc).
// There is no datasheet: this file is it. Its model and driver share it.
//
// BAR0 (4 KiB), 32-bit little-endian registers. One RX and one TX ring of
// 16-byte descriptors; the device owns the descriptors from HEAD up to (not
// including) TAIL, and moves HEAD as it finishes them.
#pragma once

#include <cstdint>

#include "nic/layout.h"
#include "nic/register.h"

namespace safenic::testnic {

inline constexpr uint16_t kVendor = 0x1234, kDevice = 0x4E49;
inline constexpr uint32_t kBarSize = 4096;
inline constexpr uint32_t kMaxFrame = 1514;  // no FCS; no jumbo frames
inline constexpr uint32_t kMaxRing = 4096;   // descriptors per ring, a power of two

struct CTRL : Register<CTRL, uint32_t, Access::kReadWrite, 0x00> {
  using ENABLE = Field<0>;   // rings run; frames are received
  using RESET = Field<1>;    // self-clearing: back to the reset state, rings forgotten
  using PROMISC = Field<2>;  // take frames for any destination, not just MAC and broadcast
};
struct STATUS : Register<STATUS, uint32_t, Access::kReadOnly, 0x04> {
  using LINK_UP = Field<0>;  // a cable is plugged in (10 Gb/s)
};
struct MAC_LO : Register<MAC_LO, uint32_t, Access::kReadOnly, 0x08> {};  // bytes 0..3
struct MAC_HI : Register<MAC_HI, uint32_t, Access::kReadOnly, 0x0C> {    // bytes 4..5
  using BYTES = Field<0, 15>;
};

// One ring's registers, RX at 0x10 and TX at 0x30.
template <typename Self, uint32_t Base>
struct RingRegisters {
  // IOVA, 16-byte aligned
  struct BASE : Register<BASE, uint64_t, Access::kReadWrite, Base + 0x00> {};
  struct SIZE : Register<SIZE, uint32_t, Access::kReadWrite, Base + 0x08> {};  // a power of two
  struct TAIL : Register<TAIL, uint32_t, Access::kReadWrite, Base + 0x0C> {};  // the driver's
  struct HEAD : Register<HEAD, uint32_t, Access::kReadOnly, Base + 0x10> {};   // the device's
};
struct RX : RingRegisters<RX, 0x10> {};
struct TX : RingRegisters<TX, 0x30> {};

// Counters since reset.
struct RX_FRAMES : Register<RX_FRAMES, uint32_t, Access::kReadOnly, 0x50> {};
struct RX_NO_DESCRIPTOR : Register<RX_NO_DESCRIPTOR, uint32_t, Access::kReadOnly, 0x54> {};
struct RX_FILTERED : Register<RX_FILTERED, uint32_t, Access::kReadOnly, 0x58> {};
struct TX_FRAMES : Register<TX_FRAMES, uint32_t, Access::kReadOnly, 0x5C> {};

// A descriptor. RX: the driver writes ADDR and LEN (the buffer's size); the
// device writes the frame, then LEN (the frame's length), then DONE. TX: the
// driver writes ADDR and LEN (the frame's); the device writes DONE once the
// frame is sent, or ERROR with DONE when it refused the descriptor.
struct Desc : Layout<Desc, 16, ByteOrder::kLittle> {
  using ADDR = Field<0, uint64_t>;
  using LEN = Field<8, uint32_t, 0, 15>;
  using DONE = Bit<12, uint32_t, 0>;
  using ERROR = Bit<12, uint32_t, 1>;
};

}  // namespace safenic::testnic
