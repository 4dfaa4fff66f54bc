// An SFP+ module in the 82599's cage, as software sees it: the module's
// identification EEPROM (SFF-8472 "Serial ID", the 2-wire address A0h) on
// the I2C bus the 82599 brings out through I2CCTL. The module here is a
// passive direct-attach copper cable (SFP+ DAC), the kind a cable between
// two simulated NICs stands for; Linux's and DPDK's 82599 drivers accept a
// DA cable from any vendor.
#pragma once

#include <array>
#include <cstdint>

namespace safenic::sim {

class SfpModule {
 public:
  SfpModule();

  // The I2C bus after the master changed its lines: the clock it drives and
  // the data it drives (open drain: 1 = released). Returns the data line as
  // it reads back: low when either side pulls it low.
  bool drive(bool clock, bool data);
  // The 256 bytes of the A0h page.
  const std::array<uint8_t, 256>& serial_id() const { return serial_id_; }

  // I2C (NXP UM10204 §3.1): 7-bit address 0x50, written as 0xA0 (write) and
  // 0xA1 (read) with the direction bit.
  static constexpr uint8_t kAddress = 0x50;
  // SFF-8472 Table 4-1 (Serial ID: data fields, address A0h).
  static constexpr uint8_t kIdentifier = 0;        // 0x03: SFP or SFP+
  static constexpr uint8_t kConnector = 2;         // 0x21: copper pigtail
  static constexpr uint8_t kCompliance10G = 3;     // 10G Ethernet compliance codes
  static constexpr uint8_t kCompliance1G = 6;      // Ethernet compliance codes
  static constexpr uint8_t kCableTechnology = 8;   // bit 2: passive cable, bit 3: active
  static constexpr uint8_t kBitRate = 12;          // nominal, in units of 100 MBd
  static constexpr uint8_t kLengthCopper = 18;     // metres
  static constexpr uint8_t kVendorName = 20;       // 16 ASCII bytes, space padded
  static constexpr uint8_t kVendorOui = 37;        // 3 bytes
  static constexpr uint8_t kPartNumber = 40;       // 16 ASCII bytes
  static constexpr uint8_t kCableCompliance = 60;  // passive: bit 0, SFF-8431 appendix E
  static constexpr uint8_t kCcBase = 63;           // low byte of the sum of bytes 0-62
  static constexpr uint8_t kSerialNumber = 68;     // 16 ASCII bytes
  static constexpr uint8_t kDateCode = 84;         // 8 ASCII bytes, YYMMDD + lot
  static constexpr uint8_t kSff8472Compliance = 94;
  static constexpr uint8_t kCcExt = 95;  // low byte of the sum of bytes 64-94
  static constexpr uint8_t kIdentifierSfp = 0x03, kPassiveCable = 0x04;

 private:
  // Where a transfer is, counted in clock pulses of the current byte.
  enum class Phase : uint8_t {
    kIdle,         // not addressed: waits for a START
    kReceive,      // taking a byte from the master (address, offset, data)
    kAcknowledge,  // pulling data low for the ninth pulse
    kTransmit,     // presenting a byte, most significant bit first
    kMasterAck,    // the master's ninth pulse: low to go on, high to stop
  };
  void on_rising_edge(bool data);
  void on_falling_edge();
  void present_bit();

  std::array<uint8_t, 256> serial_id_{};
  Phase phase_ = Phase::kIdle;
  bool clock_ = true, data_ = true;  // the master's lines, last seen
  bool pull_low_ = false;            // the module's side of the data line
  bool addressed_ = false;           // the address byte (first after START) is taken
  bool reading_ = false;             // the address byte said read
  bool master_acked_ = false;
  unsigned bits_ = 0;
  uint8_t shift_ = 0;
  uint8_t pointer_ = 0;  // the next byte a read returns
};

}  // namespace safenic::sim
