// The 82599 model's non-volatile memory, shared-resource and board
// registers, as Linux's and DPDK's drivers use them at init (sim/ixgbe/nvm.cc,
// sfp.cc, stored_registers.cc): EERD, the SPI EEPROM behind EEC's pins, the
// semaphores, the SFP+ module on I2C and its pins, link set-up from reset,
// the registers the model keeps without acting on them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/ixgbe/regs.h"
#include "sim/ixgbe/model.h"
#include "sim/wires/wire.h"

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
  for (uint32_t w = 0; w <= ixgbe::kEepromChecksumWord; ++w)
    sum = static_cast<uint16_t>(sum + eerd(w));
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
  EXPECT_EQ(spi(eec, ixgbe::kSpiReadStatus, 8, 8), 0u);      // ready
  write(ixgbe::EEC::offset(), eec | ixgbe::EEC::CS::kMask);  // standby
  write(ixgbe::EEC::offset(), eec);
  spi(eec, ixgbe::kSpiRead, 8, 0);
  const uint32_t bytes = spi(eec, 2 * module + 2 * 0x4, 16, 32);  // words module+4 and module+5
  const uint32_t next = eerd(module + 0x5);
  EXPECT_EQ(bytes,
            (patch & 0xFFu) << 24 | uint32_t(patch) >> 8 << 16 | (next & 0xFF) << 8 | next >> 8);
  write(ixgbe::EEC::offset(), (eec | ixgbe::EEC::CS::kMask) & ~ixgbe::EEC::REQ::kMask);
  EXPECT_FALSE(read(ixgbe::EEC::offset()) & ixgbe::EEC::GNT::kMask);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();

  // What this EEPROM does not do is said so.
  write(ixgbe::EEC::offset(), eec);  // select again
  spi(eec, 0x06, 8, 0);              // WREN
  EXPECT_THAT(
      ctx_.log->to_string(),
      HasSubstr("SPI EEPROM instruction 0x06 through EEC; this model's EEPROM reads (0x03) and "
                "reads its status (0x05)"));
  eerd(5000);
  EXPECT_THAT(ctx_.log->to_string(),
              HasSubstr("EERD read of EEPROM word 0x1388; the EEPROM has 1024 words"));
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

// The SFP+ module's serial ID over I2C, bit-banged through I2CCTL as a
// driver does (UM10204: START, address 0xA0 and the byte offset, repeated
// START, address 0xA1, the byte, no acknowledge, STOP), each line change one
// register write and the data line read back on the clock's high half.
class I2cMaster {
 public:
  explicit I2cMaster(sim::Ixgbe82599& model) : model_(model) {}
  // The byte at `offset` of the A0h page; nullopt when an address or offset
  // byte gets no acknowledge.
  std::optional<uint8_t> read(uint8_t offset, uint8_t device = 0xA0) {
    start();
    if (!send(device) || !send(offset)) return stop(), std::nullopt;
    start();
    if (!send(device | 1)) return stop(), std::nullopt;
    uint8_t byte = 0;
    for (int i = 0; i < 8; ++i) byte = static_cast<uint8_t>(byte << 1 | pulse());
    set_data(true);  // no acknowledge: the last byte
    pulse();
    stop();
    return byte;
  }
  // A sequential read (UM10204 §3.1.10): `n` bytes from `offset`, the
  // master acknowledging each but the last.
  std::vector<uint8_t> read_sequence(uint8_t offset, int n) {
    start();
    if (!send(0xA0) || !send(offset)) return stop(), std::vector<uint8_t>{};
    start();
    if (!send(0xA1)) return stop(), std::vector<uint8_t>{};
    std::vector<uint8_t> bytes;
    for (int k = 0; k < n; ++k) {
      uint8_t byte = 0;
      for (int i = 0; i < 8; ++i) byte = static_cast<uint8_t>(byte << 1 | pulse());
      bytes.push_back(byte);
      set_data(k + 1 == n);  // acknowledge (low) but after the last
      pulse();
      set_data(true);  // released: the device drives the next byte
    }
    stop();
    return bytes;
  }
  bool data_in() { return lines() & ixgbe::I2CCTL::DATA_IN::kMask; }

 private:
  uint32_t lines() {
    return static_cast<uint32_t>(model_.mmio_read(0, ixgbe::I2CCTL::offset(), 4));
  }
  void write() {
    model_.mmio_write(0, ixgbe::I2CCTL::offset(), 4,
                      (clock_ ? ixgbe::I2CCTL::CLK_OUT::kMask : 0) |
                          (data_ ? ixgbe::I2CCTL::DATA_OUT::kMask : 0));
  }
  void set_clock(bool v) { clock_ = v, write(); }
  void set_data(bool v) { data_ = v, write(); }
  bool pulse() {  // one clock: the data line as read while the clock is high
    set_clock(true);
    const bool bit = data_in();
    set_clock(false);
    return bit;
  }
  void start() {
    set_data(true);
    set_clock(true);
    set_data(false);
    set_clock(false);
  }
  void stop() {
    set_data(false);
    set_clock(true);
    set_data(true);
  }
  bool send(uint8_t byte) {
    for (int i = 7; i >= 0; --i) {
      set_data((byte >> i) & 1);
      pulse();
    }
    set_data(true);  // released: the device acknowledges by pulling it low
    return !pulse();
  }

  sim::Ixgbe82599& model_;
  bool clock_ = true, data_ = true;
};

// What Linux's and DPDK's drivers read to identify the module: an SFP
// (identifier 3), a passive copper cable (byte 8, bit 2), the base checksum
// right; sequential bytes come from successive reads.
TEST_F(IxgbeEepromTest, TheSfpModuleIdentifiesItselfOverI2cAsAPassiveCable) {
  I2cMaster i2c(model_);
  EXPECT_EQ(read(ixgbe::I2CCTL::offset()) & 0xF, 0xFu);  // idle: both lines high
  EXPECT_EQ(i2c.read(sim::SfpModule::kIdentifier), 0x03);
  EXPECT_EQ(i2c.read(sim::SfpModule::kCableTechnology), 0x04);
  EXPECT_EQ(i2c.read(sim::SfpModule::kCompliance10G), 0x00);
  uint8_t sum = 0;
  for (int b = 0; b < 63; ++b)
    sum = static_cast<uint8_t>(sum + i2c.read(static_cast<uint8_t>(b)).value());
  EXPECT_EQ(i2c.read(sim::SfpModule::kCcBase), sum);
  std::string vendor;
  for (int b = 0; b < 16; ++b)
    vendor += static_cast<char>(i2c.read(static_cast<uint8_t>(20 + b)).value());
  EXPECT_EQ(vendor, "SAFENIC SIM     ");
  // The same 16 bytes in one sequential read.
  const std::vector<uint8_t> name = i2c.read_sequence(20, 16);
  EXPECT_EQ(std::string(name.begin(), name.end()), vendor);
  EXPECT_TRUE(i2c.data_in());  // released after the STOP
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

// Another address gets no acknowledge: A2h, the diagnostics page, which a
// module without digital diagnostics does not have; the bus still works
// after it. An empty cage answers nothing: the lines read what software
// drives (the pull-ups).
TEST_F(IxgbeEepromTest, OnlyTheModulesAddressIsAcknowledgedAndAnEmptyCageAnswersNothing) {
  I2cMaster i2c(model_);
  EXPECT_EQ(i2c.read(0, 0xA2), std::nullopt);
  EXPECT_EQ(i2c.read(0), 0x03);
  sim::SimContext ctx;
  sim::Ixgbe82599Config config;
  config.sfp_module = false;
  sim::Ixgbe82599 empty(ctx, config);
  I2cMaster nobody(empty);
  EXPECT_EQ(nobody.read(sim::SfpModule::kIdentifier), std::nullopt);
  EXPECT_TRUE(ctx.log->empty()) << ctx.log->to_string();
}

// The SFP+ module initialization list the drivers look up (word 0x2B): a
// passive DA cable on either port (types 3 and 4) has a sequence, empty.
TEST_F(IxgbeEepromTest, TheEepromHasAnSfpInitSequenceForADaCable) {
  const uint16_t list = eerd(ixgbe::kSfpInitPointerWord);
  ASSERT_NE(list, 0);
  ASSERT_NE(list, 0xFFFF);
  std::vector<uint16_t> types;
  for (uint16_t w = static_cast<uint16_t>(list + 1); eerd(w) != 0xFFFF;
       w = static_cast<uint16_t>(w + 2)) {
    types.push_back(eerd(w));
    const uint16_t sequence = eerd(w + 1);
    ASSERT_NE(sequence, 0);
    EXPECT_EQ(eerd(sequence + 1), 0xFFFF);  // no CORECTL writes
  }
  EXPECT_EQ(types, (std::vector<uint16_t>{3, 4}));
}

// Link set-up runs from reset with the EEPROM's AUTOC (10G serial, SFI), as
// on the NIC: with a module and something at the other end the link is up
// after the set-up time without any AN restart. A link mode this model has
// no link in keeps it down until a restart in 10G serial mode.
TEST_F(IxgbeEepromTest, TheLinkComesUpFromResetInTheEepromsLinkMode) {
  using ixgbe::AUTOC;
  using ixgbe::LINKS;
  sim::TesterPort partner;
  sim::connect(model_.port(), partner);
  EXPECT_EQ(AUTOC::LMS::extract(read(AUTOC::offset())), AUTOC::LMS::k10gSerial);
  EXPECT_EQ(ixgbe::AUTOC2::PMA_PMD_10G_SERIAL::extract(read(ixgbe::AUTOC2::offset())),
            ixgbe::AUTOC2::PMA_PMD_10G_SERIAL::kSfi);
  EXPECT_NE(ixgbe::ANLP1::AN_STATE::extract(read(ixgbe::ANLP1::offset())), 0u);
  ctx_.clock->advance(absl::Milliseconds(1));
  model_.progress();
  EXPECT_TRUE(read(LINKS::offset()) & LINKS::LINK_UP::kMask);
  EXPECT_EQ(LINKS::LINK_SPEED::extract(read(LINKS::offset())), 3u);
  // 1 Gb/s without autonegotiation (LMS 0): no link here.
  write(AUTOC::offset(), AUTOC::LMS::insert(read(AUTOC::offset()), AUTOC::LMS::k1gNoAutoneg) |
                             AUTOC::AN_RESTART::kMask);
  ctx_.clock->advance(absl::Milliseconds(10));
  model_.progress();
  EXPECT_FALSE(read(LINKS::offset()) & LINKS::LINK_UP::kMask);
  write(AUTOC::offset(), AUTOC::LMS::insert(read(AUTOC::offset()), AUTOC::LMS::k10gSerial) |
                             AUTOC::AN_RESTART::kMask);
  EXPECT_FALSE(read(LINKS::offset()) & LINKS::LINK_UP::kMask);  // negotiating
  ctx_.clock->advance(absl::Milliseconds(1));
  model_.progress();
  EXPECT_TRUE(read(LINKS::offset()) & LINKS::LINK_UP::kMask);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

// Without a module in the cage there is no link, and the board's
// module-present pin (ESDP.SDP2, an input) says so; with one it reads 1.
// Made an output, SDP2 reads what software drives.
TEST_F(IxgbeEepromTest, AnEmptyCageHasNoLinkAndItsModulePresentPinSaysSo) {
  using ixgbe::ESDP;
  EXPECT_TRUE(read(ESDP::offset()) & ESDP::SDP2::kMask);
  write(ESDP::offset(), ESDP::SDP2_DIR::kMask);  // output, driven low
  EXPECT_FALSE(read(ESDP::offset()) & ESDP::SDP2::kMask);
  sim::SimContext ctx;
  sim::Ixgbe82599Config config;
  config.sfp_module = false;
  sim::Ixgbe82599 empty(ctx, config);
  sim::TesterPort partner;
  sim::connect(empty.port(), partner);
  EXPECT_FALSE(empty.mmio_read(0, ESDP::offset(), 4) & ESDP::SDP2::kMask);
  ctx.clock->advance(absl::Seconds(1));
  empty.progress();
  EXPECT_FALSE(empty.link_up());
  EXPECT_TRUE(ctx.log->empty()) << ctx.log->to_string();
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

// Registers kept without behaviour: settings read back what was written,
// statistics of what the model does not do read 0 and are clear-on-read,
// write-only ones are write-only; an offset nothing declares stays a
// violation.
TEST_F(IxgbeEepromTest, StoredRegistersKeepWhatIsWrittenAndOthersStayViolations) {
  write(ixgbe::FCRTH::offset(3), 0x80001234);
  EXPECT_EQ(read(ixgbe::FCRTH::offset(3)), 0x80001234u);
  write(ixgbe::UTA::offset(127), 0xFFFFFFFF);
  EXPECT_EQ(read(ixgbe::UTA::offset(127)), 0xFFFFFFFFu);
  write(ixgbe::IVAR::offset(0), 0x81);
  EXPECT_EQ(read(ixgbe::IVAR::offset(0)), 0x81u);
  EXPECT_EQ(read(ixgbe::PRC::offset(5)), 0u);
  EXPECT_EQ(read(ixgbe::LSECRXSTATS::offset(16)), 0u);
  write(ixgbe::EIMS_EX::offset(1), 0x3);
  write(ixgbe::EIMS_EX::offset(1), 0x4);  // write 1 to set: adds
  EXPECT_EQ(read(ixgbe::EIMS_EX::offset(1)), 0x7u);
  write(ixgbe::EIMC_EX::offset(1), 0x5);  // clears those
  EXPECT_EQ(read(ixgbe::EIMS_EX::offset(1)), 0x2u);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
  (void)read(ixgbe::EIMC_EX::offset(0));
  (void)read(0x04FFC);
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("read of write-only register EIMC_EX(0)"));
  EXPECT_THAT(ctx_.log->to_string(), HasSubstr("read of unmodelled register 0x04ffc"));
}

}  // namespace
}  // namespace safenic
