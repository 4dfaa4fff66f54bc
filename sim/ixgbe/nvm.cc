// The 82599 model's non-volatile memory side: the EEPROM image and the two
// ways software reads it (EERD, and the SPI pins in EEC), as Linux's and
// DPDK's drivers do at init.

#include <algorithm>
#include <iterator>

#include "absl/strings/str_format.h"
#include "nic/ixgbe/regs.h"
#include "sim/ixgbe/model.h"

namespace safenic::sim {

using namespace ::safenic::ixgbe;

// The EEPROM: blank but valid (no pointed-to sections, so its checksum
// word makes words 0x00-0x3F add up to 0xBABA), with a firmware module
// (pointer in word 0x0F, outside the checksum) whose pass-through patch
// configuration block gives patch version 6: Linux's and DPDK's drivers
// refuse an SFP 82599 whose EEPROM has none ("pre-production adapter").
// And the SFP+ module initialization list an SFP board's image carries: word
// 0x2B points to it; after a header word, (module type, sequence pointer)
// pairs up to 0xFFFF; a sequence is a header word, then CORECTL values up to
// 0xFFFF. The drivers look up the module they identified on I2C (types as
// Linux and DPDK number them: 3 and 4 are a passive DA cable on port 0 and 1)
// and write its sequence to CORECTL before restarting the link in SFI mode.
// This model has no analog front end to tune: the DA cable's sequence is
// empty.
void Ixgbe82599::fill_eeprom() {
  eeprom_.fill(0);
  constexpr uint16_t kFirmwareModule = 0x100, kPassThroughPatch = 0x120;
  eeprom_[0x0F] = kFirmwareModule;
  eeprom_[kFirmwareModule + 0x4] = kPassThroughPatch;
  eeprom_[kPassThroughPatch + 0x7] = 0x6;
  constexpr uint16_t kSfpInitList = 0x140, kDaCableSequence = 0x150;
  constexpr uint16_t kDaCablePort0 = 3, kDaCablePort1 = 4, kEnd = 0xFFFF;
  eeprom_[kSfpInitPointerWord] = kSfpInitList;
  const uint16_t list[] = {0,   kDaCablePort0, kDaCableSequence, kDaCablePort1, kDaCableSequence,
                           kEnd};
  std::copy(std::begin(list), std::end(list), &eeprom_[kSfpInitList]);
  eeprom_[kDaCableSequence + 1] = kEnd;
  uint16_t sum = 0;
  for (uint32_t w = 0; w < kEepromChecksumWord; ++w) sum = static_cast<uint16_t>(sum + eeprom_[w]);
  eeprom_[kEepromChecksumWord] = static_cast<uint16_t>(kEepromSum - sum);
}

uint16_t Ixgbe82599::eeprom_word(uint32_t address) const {
  return address < eeprom_.size() ? eeprom_[address] : 0xFFFF;
}

// EERD: a read of one EEPROM word, done at once: the word, DONE, the address.
void Ixgbe82599::eerd_read() {
  const RegisterValue<EERD> r = regs_.get<EERD>();
  if (!r.is_set<EERD::START>()) return;
  const uint32_t address = r.get<EERD::ADDR>();
  if (address >= eeprom_.size()) {
    ctx_.log->report(absl::StrFormat("82599: EERD read of EEPROM word %#x; the EEPROM has %d words",
                                     address, eeprom_.size()));
  }
  regs_.raw<EERD>() = EERD::ADDR::insert(0, address) | EERD::DONE::kMask |
                      EERD::DATA::insert(0, eeprom_word(address));
}

// The SPI EEPROM behind EEC's pins: while selected (CS low), each rising
// clock edge takes a bit from DI (instruction, then address) or presents the
// next bit of the answer on DO, most significant bit first. A read streams
// bytes from the byte address on (each word low byte first).
void Ixgbe82599::spi_pins(uint32_t eec) {
  const RegisterValue<EEC> pins(eec);
  const bool selected = !pins.is_set<EEC::CS>(), clock = pins.is_set<EEC::SK>();
  if (!selected) {
    spi_ = {};  // deselected: the next selection starts a new instruction
    spi_.clock = clock;
    return;
  }
  const bool rising = clock && !spi_.clock;
  spi_.clock = clock;
  if (!rising) return;
  switch (spi_.phase) {
    case Spi::kInstruction:
    case Spi::kAddress:
      spi_.shift = spi_.shift << 1 | pins.is_set<EEC::DI>();
      if (++spi_.bits < (spi_.phase == Spi::kInstruction ? 8u : 16u)) break;
      if (spi_.phase == Spi::kAddress) {
        spi_.address = spi_.shift & 0xFFFF;
        spi_.phase = Spi::kData;
      } else if (spi_.shift == kSpiRead) {
        spi_.phase = Spi::kAddress;
      } else if (spi_.shift == kSpiReadStatus) {
        spi_.phase = Spi::kStatus;  // 0: no write in progress
      } else {
        ctx_.log->report(absl::StrFormat(
            "82599: SPI EEPROM instruction %#04x through EEC; this model's EEPROM reads (0x03) and "
            "reads its status (0x05)",
            spi_.shift));
        spi_.phase = Spi::kIgnore;
      }
      spi_.bits = 0;
      spi_.shift = 0;
      break;
    case Spi::kData: {  // the bit this edge presents
      const uint32_t address = spi_.address + spi_.bits / 8;
      const uint16_t word = eeprom_word(address / 2);
      const uint8_t byte = static_cast<uint8_t>(address % 2 == 0 ? word : word >> 8);
      regs_.set_field<EEC::DO>((byte >> (7 - spi_.bits % 8)) & 1);
      ++spi_.bits;
      break;
    }
    case Spi::kStatus: regs_.set_field<EEC::DO>(0); break;
    case Spi::kIgnore: break;
  }
}

}  // namespace safenic::sim
