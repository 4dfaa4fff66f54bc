// Typed registers and layouts: bit arithmetic, byte order, and sample
// declarations checked against datasheet constants.
#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"
#include "nic/bits.h"
#include "nic/layout.h"
#include "nic/mapped_bar.h"
#include "nic/register.h"

namespace safenic {
namespace {

// Samples in the style drivers use; the constants in the tests below are the
// datasheet's, written out independently of the declarations.
// 82599 datasheet rev 3.3 §8.2.3.1.1 Device Control Register, 0x00000.
struct CTRL : Register<CTRL, uint32_t, Access::kReadWrite, 0x00000> {
  using LRST = Field<3>;
  using RST = Field<26>;
};
// §8.2.3.22.19 Link Status Register, 0x042A4 (read-only).
struct LINKS : Register<LINKS, uint32_t, Access::kReadOnly, 0x042A4> {
  using LINK_SPEED = Field<28, 29>;
  using LINK_UP = Field<30>;
};
// §8.2.3.8.5 Receive Descriptor Tail: queues 0-63 at 0x01018 + 0x40n,
// 64-127 at 0x0D018 + 0x40(n-64).
struct RDT : RegisterArray<RDT, uint32_t, Access::kReadWrite, 128> {
  static constexpr uint32_t offset(uint32_t n) {
    return n < 64 ? 0x01018 + 0x40 * n : 0x0D018 + 0x40 * (n - 64);
  }
  using RDT_TAIL = Field<0, 15>;
};
// §8.2.3.5.4 Extended Interrupt Mask Clear, 0x00888 (write-only).
struct EIMC : Register<EIMC, uint32_t, Access::kWriteOnly, 0x00888> {
  using CAUSE = Field<0, 30>;
};
// §8.2.3.7.1 Filter Control Register, 0x05080.
struct FCTRL : Register<FCTRL, uint32_t, Access::kReadWrite, 0x05080> {
  using MPE = Field<8>;
  using UPE = Field<9>;
  using BAM = Field<10>;
};
// §8.2.3.8.7 Split Receive Control: BSIZEPACKET [4:0] in 1 KiB units,
// DESCTYPE [27:25], DROP_EN bit 28.
struct SRRCTL : RegisterArray<SRRCTL, uint32_t, Access::kReadWrite, 16> {
  static constexpr uint32_t offset(uint32_t n) { return 0x02100 + 4 * n; }
  using BSIZEPACKET = Field<0, 4>;
  using DESCTYPE = Field<25, 27>;
  using DROP_EN = Field<28>;
};
// ConnectX PRM, initialization segment 0x014 (big-endian): cmdq_phy_addr_lo
// [31:12], log_cmdq_size [7:4] and log_cmdq_stride [3:0] read-only.
struct CMDQ_ADDR_LO : Register<CMDQ_ADDR_LO, uint32_t, Access::kReadWrite, 0x014, ByteOrder::kBig> {
  using ADDR = Field<12, 31>;
  using LOG_CMDQ_SIZE = Field<4, 7, Access::kReadOnly>;
  using LOG_CMDQ_STRIDE = Field<0, 3, Access::kReadOnly>;
};

TEST(BitRange, MasksAndLimits) {
  using F = BitRange<uint32_t, 28, 29>;
  EXPECT_EQ(F::kMask, 0x30000000u);
  EXPECT_EQ(F::kMax, 3u);
  EXPECT_EQ((BitRange<uint64_t, 0, 63>::kMax), ~uint64_t{0});
  EXPECT_EQ((BitRange<uint8_t, 7, 7>::kMask), 0x80);
  EXPECT_EQ(F::extract(0xB0000000u), 3u);
  EXPECT_EQ(F::insert(0xFFFFFFFFu, 1), 0xDFFFFFFFu);
  EXPECT_TRUE(F::fits(3));
  EXPECT_FALSE(F::fits(4));
}

TEST(Register, OffsetsAreTheDatasheets) {
  EXPECT_EQ(CTRL::offset(), 0x00000u);
  EXPECT_EQ(LINKS::offset(), 0x042A4u);
  EXPECT_EQ(RDT::offset(0), 0x01018u);
  EXPECT_EQ(RDT::offset(63), 0x01018u + 63 * 0x40);
  EXPECT_EQ(RDT::offset(64), 0x0D018u);
  EXPECT_EQ(RDT::offset(127), 0x0D018u + 63 * 0x40);
  EXPECT_EQ(SRRCTL::offset(3), 0x0210Cu);
  EXPECT_EQ(RDT::kCount, 128u);
}

TEST(Register, FieldValuesAreTheDatasheets) {
  EXPECT_EQ(RegisterValue<CTRL>().set<CTRL::RST>().raw(), 0x04000000u);
  EXPECT_EQ(RegisterValue<CTRL>().set<CTRL::LRST>().raw(), 0x00000008u);
  EXPECT_EQ(RegisterValue<FCTRL>().set<FCTRL::BAM>().raw(), 0x400u);
  EXPECT_EQ(RegisterValue<FCTRL>().set<FCTRL::MPE>().set<FCTRL::UPE>().raw(), 0x300u);
  // Advanced one-buffer descriptors (DESCTYPE 1) = 0x02000000; DROP_EN 0x10000000.
  auto srrctl = RegisterValue<SRRCTL>()
                    .set<SRRCTL::DESCTYPE, 1>()
                    .set<SRRCTL::DROP_EN>()
                    .set<SRRCTL::BSIZEPACKET>(2048 / 1024);
  EXPECT_EQ(srrctl.raw(), 0x12000002u);
  const RegisterValue<LINKS> links(0x70000000u);  // up, 10 Gb/s (3)
  EXPECT_TRUE(links.is_set<LINKS::LINK_UP>());
  EXPECT_EQ(links.get<LINKS::LINK_SPEED>(), 3u);
}

TEST(Register, SetReplacesOnlyItsFieldAndClearClears) {
  RegisterValue<SRRCTL> v(0xFFFFFFFFu);
  v.set<SRRCTL::BSIZEPACKET>(1).clear<SRRCTL::DROP_EN>();
  EXPECT_EQ(v.raw(), 0xEFFFFFE1u);
  v.set<SRRCTL::BSIZEPACKET, 0x1F>();
  EXPECT_EQ(v.get<SRRCTL::BSIZEPACKET>(), 0x1Fu);
}

// A register that packs a table, in the style of the 82599's RETA: four
// 8-bit entries, each's value in its low 4 bits.
struct TABLE : Register<TABLE, uint32_t, Access::kReadWrite, 0x05C00> {
  using ENTRY = FieldArray<0, 4, 8, 4>;
};

TEST(Register, FieldArrayElementsSitAtTheirStride) {
  RegisterValue<TABLE> v(0xF0F0F0F0u);
  v.set<TABLE::ENTRY>(0, 0x1).set<TABLE::ENTRY>(2, 0xA);
  EXPECT_EQ(v.raw(), 0xF0FAF0F1u);  // the bits between elements are left alone
  EXPECT_EQ(v.get<TABLE::ENTRY>(2), 0xAu);
  EXPECT_EQ(v.get<TABLE::ENTRY>(3), 0x0u);
  v.set<TABLE::ENTRY>(3, 0xF);
  EXPECT_EQ(v.raw(), 0xFFFAF0F1u);
  EXPECT_DEATH(v.set<TABLE::ENTRY>(4, 1), "index past the register's field array");
  EXPECT_DEATH(v.set<TABLE::ENTRY>(1, 0x10), "does not fit");
}

// A table of 16 four-bit entries in four registers, packed as TABLE is.
struct TABLES : StridedRegisterArray<TABLES, uint32_t, Access::kReadWrite, 0x10, 4, 4> {
  using ENTRY = FieldArray<0, 4, 8, 4>;
};

TEST(Register, WriteTableFillsWholeRegistersAndZerosTheRestOfTheLast) {
  alignas(4) uint8_t memory[0x20];
  std::memset(memory, 0xAA, sizeof memory);
  MappedBar bar(memory, sizeof memory);
  bar.write_table<TABLES::ENTRY>(6, [](uint32_t e) { return e + 1; });
  EXPECT_EQ(bar.read<TABLES>(0).raw(), 0x04030201u);
  EXPECT_EQ(bar.read<TABLES>(1).raw(), 0x00000605u);
  EXPECT_EQ(bar.read<TABLES>(2).raw(), 0xAAAAAAAAu) << "entries past n: not written";
}

TEST(Register, ConstexprEvaluation) {
  constexpr auto v = RegisterValue<CTRL>().set<CTRL::RST>().set<CTRL::LRST>();
  static_assert(v.raw() == 0x04000008u);
  SUCCEED();
}

// Little-endian descriptor, 82599 §7.1.6.2 (advanced RX write-back): status
// dword at byte 8 (DD bit 0, EOP bit 1), length at bytes 12-13, VLAN at 14-15.
struct RxWriteBack : Layout<RxWriteBack, 16, ByteOrder::kLittle> {
  using DD = Bit<8, uint32_t, 0>;
  using EOP = Bit<8, uint32_t, 1>;
  using ERRORS = Field<8, uint32_t, 20, 31>;
  using LENGTH = Field<12, uint16_t>;
  using VLAN = Field<14, uint16_t>;
};
// Big-endian command entry, ConnectX PRM (command queue entry): type byte at
// 0x00, input_length BE32 at 0x04, input mailbox pointer BE64 at 0x08, owner
// bit 0 of the byte at 0x3F.
struct CmdEntry : Layout<CmdEntry, 64, ByteOrder::kBig> {
  using TYPE = Field<0x00, uint8_t>;
  using INPUT_LENGTH = Field<0x04, uint32_t>;
  using INPUT_MAILBOX = Field<0x08, uint64_t>;
  using OWNER = Bit<0x3F, uint8_t, 0>;
  using DELIVERY_STATUS = Field<0x3F, uint8_t, 1, 7>;
};

TEST(Layout, LittleEndianBytesAreWhereTheDatasheetPutsThem) {
  alignas(16) uint8_t mem[16] = {};
  LayoutRef<RxWriteBack> d(mem);
  d.set<RxWriteBack::LENGTH>(0x0102).set<RxWriteBack::VLAN>(0x0304);
  d.set<RxWriteBack::EOP, 1>().set<RxWriteBack::DD, 1>().set<RxWriteBack::ERRORS>(0x801);
  const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0x10, 0x80, 0x02, 0x01, 0x04, 0x03};
  EXPECT_EQ(std::memcmp(mem, want, 16), 0);
  EXPECT_TRUE(d.is_set<RxWriteBack::DD>());
  EXPECT_EQ(d.get<RxWriteBack::LENGTH>(), 0x0102u);
  EXPECT_EQ(d.get<RxWriteBack::ERRORS>(), 0x801u);
}

TEST(Layout, BigEndianBytesAreWhereThePrmPutsThem) {
  alignas(64) uint8_t mem[64] = {};
  LayoutRef<CmdEntry> e(mem);
  e.set<CmdEntry::TYPE, 7>().set<CmdEntry::INPUT_LENGTH>(0x10203040);
  e.set<CmdEntry::INPUT_MAILBOX>(0x1122334455667788ull);
  e.set<CmdEntry::OWNER, 1>().set<CmdEntry::DELIVERY_STATUS>(3);
  EXPECT_EQ(mem[0], 7);
  EXPECT_EQ(mem[4], 0x10);
  EXPECT_EQ(mem[7], 0x40);
  EXPECT_EQ(mem[8], 0x11);
  EXPECT_EQ(mem[15], 0x88);
  EXPECT_EQ(mem[0x3F], (3 << 1) | 1);
  EXPECT_EQ(e.get<CmdEntry::INPUT_MAILBOX>(), 0x1122334455667788ull);
  EXPECT_EQ(e.get<CmdEntry::DELIVERY_STATUS>(), 3u);
  e.zero();
  EXPECT_EQ(e.get<CmdEntry::INPUT_LENGTH>(), 0u);
}

TEST(ByteOrder, SwapsOnlyBigEndian) {
  EXPECT_EQ(to_order<ByteOrder::kBig>(uint32_t{0x11223344}), 0x44332211u);
  EXPECT_EQ(to_order<ByteOrder::kLittle>(uint32_t{0x11223344}), 0x11223344u);
  EXPECT_EQ(from_order<ByteOrder::kBig>(uint16_t{0x1122}), 0x2211u);
}

}  // namespace
}  // namespace safenic
