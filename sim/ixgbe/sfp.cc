#include "sim/ixgbe/sfp.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace safenic::sim {

namespace {

void put_text(std::array<uint8_t, 256>& page, uint8_t at, size_t width, const char* text) {
  std::memset(&page[at], ' ', width);
  std::memcpy(&page[at], text, std::min(width, std::strlen(text)));
}

uint8_t low_byte_of_sum(const std::array<uint8_t, 256>& page, size_t from, size_t to) {
  return static_cast<uint8_t>(std::accumulate(&page[from], &page[to] + 1, 0u));
}

}  // namespace

// A 1 m passive SFP+ copper cable (SFF-8472 Table 4-1; the codes in its
// Tables 5-1 to 5-3 and 8-3).
SfpModule::SfpModule() {
  serial_id_[kIdentifier] = kIdentifierSfp;
  serial_id_[1] = 0x04;  // extended identifier: function defined by the serial ID only
  serial_id_[kConnector] = 0x21;
  serial_id_[kCableTechnology] = kPassiveCable;
  serial_id_[kBitRate] = 103;  // 10.3 GBd
  serial_id_[kLengthCopper] = 1;
  put_text(serial_id_, kVendorName, 16, "SAFENIC SIM");
  // Vendor OUI 00-00-00: unspecified.
  put_text(serial_id_, kPartNumber, 16, "SIM-DAC-1M");
  put_text(serial_id_, 56, 4, "A");  // revision
  serial_id_[kCableCompliance] = 0x01;
  serial_id_[kCcBase] = low_byte_of_sum(serial_id_, 0, 62);
  put_text(serial_id_, kSerialNumber, 16, "0000000001");
  put_text(serial_id_, kDateCode, 8, "261207");
  serial_id_[kSff8472Compliance] = 0x00;  // no digital diagnostics
  serial_id_[kCcExt] = low_byte_of_sum(serial_id_, 64, 94);
}

// UM10204 §3.1.4: START is data falling while the clock is high, STOP data
// rising while the clock is high; otherwise data changes only while the
// clock is low, and the receiver takes it on the rising edge (§3.1.3).
bool SfpModule::drive(bool clock, bool data) {
  const bool clock_rose = clock && !clock_, clock_fell = !clock && clock_;
  const bool data_changed = data != data_;
  clock_ = clock;
  data_ = data;
  if (clock && !clock_rose && data_changed) {
    if (!data) {  // START (or a repeated START): an address byte follows
      phase_ = Phase::kReceive;
      addressed_ = false;
      bits_ = 0;
    } else {  // STOP
      phase_ = Phase::kIdle;
    }
    pull_low_ = false;
  } else if (clock_rose) {
    on_rising_edge(data && !pull_low_);
  } else if (clock_fell) {
    on_falling_edge();
  }
  return data && !pull_low_;
}

void SfpModule::on_rising_edge(bool data) {
  if (phase_ == Phase::kReceive) {
    shift_ = static_cast<uint8_t>(shift_ << 1 | data);
    ++bits_;
  } else if (phase_ == Phase::kMasterAck) {
    master_acked_ = !data;
  }
}

void SfpModule::on_falling_edge() {
  switch (phase_) {
    case Phase::kIdle: break;
    case Phase::kReceive:
      if (bits_ < 8) break;
      if (!addressed_) {
        addressed_ = true;
        if (shift_ >> 1 != kAddress) {  // another device's address: no acknowledge
          phase_ = Phase::kIdle;
          break;
        }
        reading_ = (shift_ & 1) != 0;
      } else {
        // After the address of a write: the byte offset. Further bytes would
        // be data for the page, which is read-only (SFF-8472 §4): taken and
        // dropped, as a write-protected EEPROM does.
        pointer_ = shift_;
        shift_ = 0;
      }
      phase_ = Phase::kAcknowledge;
      pull_low_ = true;
      break;
    case Phase::kAcknowledge:
      pull_low_ = false;
      bits_ = 0;
      if (reading_) {
        phase_ = Phase::kTransmit;
        present_bit();
      } else {
        phase_ = Phase::kReceive;
      }
      break;
    case Phase::kTransmit:
      if (bits_ < 8) {
        present_bit();
      } else {
        pull_low_ = false;  // the master acknowledges on the ninth pulse
        phase_ = Phase::kMasterAck;
      }
      break;
    case Phase::kMasterAck:
      if (master_acked_) {  // sequential read: the next byte
        ++pointer_;
        bits_ = 0;
        phase_ = Phase::kTransmit;
        present_bit();
      } else {
        phase_ = Phase::kIdle;  // the master ends with a STOP
      }
      break;
  }
}

void SfpModule::present_bit() {
  pull_low_ = ((serial_id_[pointer_] >> (7 - bits_)) & 1) == 0;
  ++bits_;
}

}  // namespace safenic::sim
