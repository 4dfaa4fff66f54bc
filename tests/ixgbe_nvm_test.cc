// The 82599 model's non-volatile memory and shared-resource registers, as
// Linux's and DPDK's drivers use them at init (sim/ixgbe/nvm.cc): EERD, the
// SPI EEPROM behind EEC's pins, the semaphores, the SFP+ cage's I2C lines.
#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/ixgbe/regs.h"
#include "sim/ixgbe/model.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

// The EEPROM interfaces Linux's and DPDK's 82599 drivers use at init (the
// peers' init runs on the model under sim/launcher): EERD reads a word at
// once; the same words come out of the SPI EEPROM bit-banged through EEC's
// pins; words 0x00-0x3F add up to 0xBABA; the firmware module the drivers
// check for is there.
class IxgbeEepromTest : public ::testing::Test {
 protected:
  uint32_t read(uint32_t off) { return static_cast<uint32_t>(model_.mmio_read(0, off, 4)); }
  void write(uint32_t off, uint32_t v) { model_.mmio_write(0, off, 4, v); }
  uint16_t eerd(uint32_t word) {
    write(ixgbe::EERD::offset(), ixgbe::EERD::START::kMask | ixgbe::EERD::ADDR::insert(0, word));
    const uint32_t r = read(ixgbe::EERD::offset());
    EXPECT_TRUE(r & ixgbe::EERD::DONE::kMask);
    return static_cast<uint16_t>(ixgbe::EERD::DATA::extract(r));
  }
  // One SPI clock: DI set, SK up (the EEPROM acts), DO read, SK down.
  bool clock(uint32_t& eec, bool di) {
    eec = di ? eec | ixgbe::EEC::DI::kMask : eec & ~ixgbe::EEC::DI::kMask;
    write(ixgbe::EEC::offset(), eec);
    write(ixgbe::EEC::offset(), eec | ixgbe::EEC::SK::kMask);
    const bool out = read(ixgbe::EEC::offset()) & ixgbe::EEC::DO::kMask;
    write(ixgbe::EEC::offset(), eec);
    return out;
  }
  uint32_t spi(uint32_t& eec, uint32_t value, int out_bits, int in_bits) {
    for (int i = out_bits - 1; i >= 0; --i) clock(eec, (value >> i) & 1);
    uint32_t in = 0;
    for (int i = 0; i < in_bits; ++i) in = in << 1 | clock(eec, false);
    return in;
  }

  sim::SimContext ctx_;
  sim::Ixgbe82599 model_{ctx_};
};

TEST_F(IxgbeEepromTest, EerdAndSpiReadTheSameValidEeprom) {
  uint16_t sum = 0;
  for (uint32_t w = 0; w <= ixgbe::kEepromChecksumWord; ++w) sum = static_cast<uint16_t>(sum + eerd(w));
  EXPECT_EQ(sum, ixgbe::kEepromSum);
  const uint16_t module = eerd(0x0F);
  ASSERT_NE(module, 0);
  ASSERT_NE(module, 0xFFFF);
  const uint16_t patch = eerd(module + 0x4);
  EXPECT_GT(eerd(patch + 0x7), 5);  // the patch version the drivers require

  // The same words through the pins: request, granted, select, READ, a
  // 16-bit byte address (EEC.ADDR_SIZE), then bytes, each word low byte first.
  const uint32_t eec0 = read(ixgbe::EEC::offset());
  EXPECT_TRUE(eec0 & ixgbe::EEC::ADDR_SIZE::kMask);
  EXPECT_EQ(ixgbe::EEC::SIZE::extract(eec0), 4u);  // 2^10 words
  uint32_t eec = eec0 | ixgbe::EEC::REQ::kMask | ixgbe::EEC::CS::kMask;
  write(ixgbe::EEC::offset(), eec);
  EXPECT_TRUE(read(ixgbe::EEC::offset()) & ixgbe::EEC::GNT::kMask);
  eec &= ~ixgbe::EEC::CS::kMask;  // select
  write(ixgbe::EEC::offset(), eec);
  EXPECT_EQ(spi(eec, ixgbe::kSpiReadStatus, 8, 8), 0u);  // ready
  write(ixgbe::EEC::offset(), eec | ixgbe::EEC::CS::kMask);  // standby
  write(ixgbe::EEC::offset(), eec);
  spi(eec, ixgbe::kSpiRead, 8, 0);
  const uint32_t bytes = spi(eec, 2 * module + 2 * 0x4, 16, 32);  // words module+4 and module+5
  const uint32_t next = eerd(module + 0x5);
  EXPECT_EQ(bytes, (patch & 0xFFu) << 24 | uint32_t(patch) >> 8 << 16 | (next & 0xFF) << 8 | next >> 8);
  write(ixgbe::EEC::offset(), (eec | ixgbe::EEC::CS::kMask) & ~ixgbe::EEC::REQ::kMask);
  EXPECT_FALSE(read(ixgbe::EEC::offset()) & ixgbe::EEC::GNT::kMask);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();

  // What this EEPROM does not do is said so.
  write(ixgbe::EEC::offset(), eec);  // select again
  spi(eec, 0x06, 8, 0);              // WREN
  EXPECT_THAT(ctx_.log->to_string(),
              HasSubstr("SPI EEPROM instruction 0x06 through EEC; this model's EEPROM reads (0x03) and "
                        "reads its status (0x05)"));
  eerd(5000);
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("EERD read of EEPROM word 0x1388; the EEPROM has 1024 words"));
}

// The software semaphore: the read that finds SMBI clear owns it (and sets
// it); SWESMBI reads back set once written; writing 0 releases both. No
// firmware: SW_FW_SYNC's firmware bits stay clear, FWSM reads 0.
TEST_F(IxgbeEepromTest, TheSoftwareSemaphoreIsTakenByReadingIt) {
  EXPECT_EQ(read(ixgbe::SWSM::offset()) & ixgbe::SWSM::SMBI::kMask, 0u);  // free: now ours
  EXPECT_NE(read(ixgbe::SWSM::offset()) & ixgbe::SWSM::SMBI::kMask, 0u);  // taken
  write(ixgbe::SWSM::offset(), ixgbe::SWSM::SMBI::kMask | ixgbe::SWSM::SWESMBI::kMask);
  EXPECT_NE(read(ixgbe::SWSM::offset()) & ixgbe::SWSM::SWESMBI::kMask, 0u);
  write(ixgbe::SW_FW_SYNC::offset(), 0x3FF);
  EXPECT_EQ(read(ixgbe::SW_FW_SYNC::offset()), 0x1Fu);  // software's bits only
  write(ixgbe::SWSM::offset(), 0);
  EXPECT_EQ(read(ixgbe::SWSM::offset()) & ixgbe::SWSM::SMBI::kMask, 0u);  // free again
  EXPECT_EQ(read(ixgbe::FWSM::offset()), 0u);
  EXPECT_TRUE(read(ixgbe::SECRXSTAT::offset()) & ixgbe::SECRXSTAT::SECRX_RDY::kMask);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

// The SFP+ cage's I2C bus, empty: the lines read what software drives (the
// pull-ups), so a driver's start condition works and its address byte gets
// no acknowledge (the data line stays high on the ninth clock).
TEST_F(IxgbeEepromTest, AnEmptyCagesI2cLinesFollowWhatIsDriven) {
  using ixgbe::I2CCTL;
  EXPECT_EQ(read(I2CCTL::offset()) & 0xF, 0xFu);  // idle: both high
  write(I2CCTL::offset(), I2CCTL::CLK_OUT::kMask);  // data low: a start condition
  EXPECT_EQ(read(I2CCTL::offset()) & (I2CCTL::DATA_IN::kMask | I2CCTL::CLK_IN::kMask), I2CCTL::CLK_IN::kMask);
  write(I2CCTL::offset(), I2CCTL::DATA_OUT::kMask);  // released for the acknowledge, clock low
  write(I2CCTL::offset(), I2CCTL::DATA_OUT::kMask | I2CCTL::CLK_OUT::kMask);
  EXPECT_TRUE(read(I2CCTL::offset()) & I2CCTL::DATA_IN::kMask);  // no module: no acknowledge
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

}  // namespace
}  // namespace safenic
