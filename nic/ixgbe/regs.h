// Intel 82599 registers: the one definition shared by the ixgbe driver and the
// 82599 model. Intel 82599 10 GbE Controller Datasheet rev 3.3 (§ numbers
// below); offsets as in its register summary (§8.1.3).
#pragma once

#include <cstdint>

#include "nic/register.h"

namespace safenic::ixgbe {

using A = Access;

// Queue-indexed receive registers: queues 0-63 at 0x01000 + 0x40n, 64-127 at
// 0x0D000 + 0x40(n - 64) (§8.2.3.8).
constexpr uint32_t rx_queue_reg(uint32_t base, uint32_t n) {
  return n < 64 ? 0x01000 + base + 0x40 * n : 0x0D000 + base + 0x40 * (n - 64);
}
// Registers with a legacy array for queues 0-15 (SRRCTL, DCA_RXCTRL).
constexpr uint32_t rx_queue_reg16(uint32_t legacy, uint32_t base, uint32_t n) {
  return n < 16 ? legacy + 4 * n : rx_queue_reg(base, n);
}

inline constexpr uint32_t kQueues = 128;  // 82599: 128 RX and 128 TX queues
inline constexpr uint32_t kBar0Size = 512 * 1024;

// §8.2.3.1 General control.
struct CTRL : Register<CTRL, uint32_t, A::kReadWrite, 0x00000> {
  using LRST = Field<3>;  // link reset, self-clearing
  using RST = Field<26>;  // device reset, self-clearing
};
struct STATUS : Register<STATUS, uint32_t, A::kReadOnly, 0x00008> {
  using LAN_ID = Field<2, 3>;
  using LINK_UP = Field<7>;
};
struct CTRL_EXT : Register<CTRL_EXT, uint32_t, A::kReadWrite, 0x00018> {
  using NS_DIS = Field<16>;  // no-snoop disable
};
// §8.2.3.2.1 EEPROM/Flash control. Besides EERD, software may drive the
// EEPROM's SPI pins itself: EE_REQ, wait for EE_GNT, then clock (SK) bits in
// on DI and out on DO with the chip selected (CS low).
struct EEC : Register<EEC, uint32_t, A::kReadWrite, 0x10010> {
  using SK = Field<0>;  // clock
  using CS = Field<1>;  // chip select (active low)
  using DI = Field<2>;  // data to the EEPROM
  using DO = Field<3, 3, A::kReadOnly>;  // data from the EEPROM
  using REQ = Field<6>;
  using GNT = Field<7, 7, A::kReadOnly>;
  using PRES = Field<8, 8, A::kReadOnly>;
  using ARD = Field<9, 9, A::kReadOnly>;  // EEPROM auto-read done
  using ADDR_SIZE = Field<10, 10, A::kReadOnly>;  // 1: 16-bit SPI addresses
  using SIZE = Field<11, 14, A::kReadOnly>;  // 2^(SIZE + 6) words
};
// The SPI EEPROM's instructions a driver sends through EEC (standard SPI
// serial EEPROMs): read status (bit 0: a write in progress), read data.
inline constexpr uint8_t kSpiReadStatus = 0x05, kSpiRead = 0x03;
// EEPROM Read Register (EERD): software writes a word address with START;
// the device puts the word in DATA and sets DONE.
struct EERD : Register<EERD, uint32_t, A::kReadWrite, 0x10014> {
  using START = Field<0>;
  using DONE = Field<1, 1, A::kReadOnly>;
  using ADDR = Field<2, 15>;
  using DATA = Field<16, 31, A::kReadOnly>;
};
// The EEPROM's checksum word: words 0x00-0x3F, and the sections the pointers
// in words 0x03-0x0E point to, add up to 0xBABA (the datasheet's "Checksum
// Word Calculation").
inline constexpr uint16_t kEepromChecksumWord = 0x3F, kEepromSum = 0xBABA;

// Software/firmware synchronization (the datasheet's "Software Semaphore
// Register", "Firmware Semaphore Register", "Software-Firmware
// Synchronization"): a driver takes SWSM.SMBI (reading it sets it; it was
// free if the read showed 0), then SWSM.SWESMBI (it holds it if the bit reads
// back set), then marks the resource it uses in SW_FW_SYNC, and undoes all.
struct SWSM : Register<SWSM, uint32_t, A::kReadWrite, 0x10140> {
  using SMBI = Field<0>;     // software semaphore: set by the read that finds it free
  using SWESMBI = Field<1>;  // software/firmware semaphore
};
struct FWSM : Register<FWSM, uint32_t, A::kReadOnly, 0x10148> {};  // no firmware: 0
struct SW_FW_SYNC : Register<SW_FW_SYNC, uint32_t, A::kReadWrite, 0x10160> {
  using SW = Field<0, 4>;  // EEPROM, PHY 0, PHY 1, MAC CSR, flash: software's
  using FW = Field<5, 9, A::kReadOnly>;  // the same, firmware's
};
// I2C Control (I2CCTL): software bit-bangs the SFP+ cage's I2C bus (the
// module's SFF-8472 EEPROM) with the clock and data outputs and reads the
// lines back. The lines are open-drain with pull-ups: each reads what is
// driven unless a device on the bus pulls it low.
struct I2CCTL : Register<I2CCTL, uint32_t, A::kReadWrite, 0x00028> {
  using CLK_IN = Field<0, 0, A::kReadOnly>;
  using CLK_OUT = Field<1>;
  using DATA_IN = Field<2, 2, A::kReadOnly>;
  using DATA_OUT = Field<3>;
};
// Function Active and Power State: read-only, 0 without manageability.
struct FACTPS : Register<FACTPS, uint32_t, A::kReadOnly, 0x10150> {};

// The receive security (MACsec/IPsec) block: a driver stops it (RX_DIS) and
// waits for it to drain (SECRXSTAT.SECRX_RDY) before changing RX set-up.
struct SECRXCTRL : Register<SECRXCTRL, uint32_t, A::kReadWrite, 0x08D00> {
  using SECRX_DIS = Field<0>;
  using RX_DIS = Field<1>;
};
struct SECRXSTAT : Register<SECRXSTAT, uint32_t, A::kReadOnly, 0x08D04> {
  using SECRX_RDY = Field<0>;
};

// §8.2.3.5 Interrupts (safenic polls; it masks them all).
struct EICR : Register<EICR, uint32_t, A::kWrite1ToClear, 0x00800> {};
// EIMS: writing 1 enables an interrupt cause, 0 changes nothing; EIMC: writing
// 1 disables one. Reading EIMS shows the enabled causes.
struct EIMS : Register<EIMS, uint32_t, A::kWrite1ToSet, 0x00880> {};
struct EIMC : Register<EIMC, uint32_t, A::kWriteOnly, 0x00888> {
  using CAUSES = Field<0, 30>;
};

// §8.2.3.7 Receive filters.
struct FCTRL : Register<FCTRL, uint32_t, A::kReadWrite, 0x05080> {
  using SBP = Field<1>;   // store bad packets (with RXE in the write-back)
  using MPE = Field<8>;   // multicast promiscuous
  using UPE = Field<9>;   // unicast promiscuous
  using BAM = Field<10>;  // accept broadcast
};
// Receive checksum control: PCSD (packet checksum disable) makes the second
// dword of an RX write-back the RSS hash; clear, it holds the fragment
// checksum and the IP identification (§7.1.6.2).
struct RXCSUM : Register<RXCSUM, uint32_t, A::kReadWrite, 0x05000> {
  using PCSD = Field<13>;
};
// Receive address low/high: entries 0-15 at 0x05400 + 8n, the rest at 0x0A200 + 8n.
struct RAL : RegisterArray<RAL, uint32_t, A::kReadWrite, 128> {
  static constexpr uint32_t offset(uint32_t n) { return (n < 16 ? 0x05400 : 0x0A200) + 8 * n; }
};
struct RAH : RegisterArray<RAH, uint32_t, A::kReadWrite, 128> {
  static constexpr uint32_t offset(uint32_t n) { return (n < 16 ? 0x05404 : 0x0A204) + 8 * n; }
  using RAH_BYTES = Field<0, 15>;  // MAC bytes 4 and 5
  using AV = Field<31>;            // address valid
};
// §8.2.3.7.12 Multiple receive queues command: MRQE [3:0] (1 = RSS), hash
// field enables [31:16].
struct MRQC : Register<MRQC, uint32_t, A::kReadWrite, 0x05818> {
  using MRQE = Field<0, 3>;
  using TCP_IPV4 = Field<16>;
  using IPV4 = Field<17>;
  using UDP_IPV4 = Field<22>;
};
// RSS redirection table: 32 registers of four 8-bit entries (queue in [3:0]).
struct RETA : RegisterArray<RETA, uint32_t, A::kReadWrite, 32> {
  static constexpr uint32_t offset(uint32_t n) { return 0x05C00 + 4 * n; }
};
// RSS random key: 40 bytes in 10 registers, byte 4n in [7:0] of RSSRK(n).
struct RSSRK : RegisterArray<RSSRK, uint32_t, A::kReadWrite, 10> {
  static constexpr uint32_t offset(uint32_t n) { return 0x05C80 + 4 * n; }
};

// §8.2.3.8 Receive DMA.
struct RDBAL : RegisterArray<RDBAL, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return rx_queue_reg(0x00, n); }
};
struct RDBAH : RegisterArray<RDBAH, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return rx_queue_reg(0x04, n); }
};
struct RDLEN : RegisterArray<RDLEN, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return rx_queue_reg(0x08, n); }
};
struct RDH : RegisterArray<RDH, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return rx_queue_reg(0x10, n); }
};
struct RDT : RegisterArray<RDT, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return rx_queue_reg(0x18, n); }
};
struct RXDCTL : RegisterArray<RXDCTL, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return rx_queue_reg(0x28, n); }
  using ENABLE = Field<25>;
};
struct SRRCTL : RegisterArray<SRRCTL, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return rx_queue_reg16(0x02100, 0x14, n); }
  using BSIZEPACKET = Field<0, 4>;  // receive buffer size, 1 KiB units
  using DESCTYPE = Field<25, 27>;   // 1 = advanced, one buffer
  using DROP_EN = Field<28>;        // drop when no descriptor is free
};
struct DCA_RXCTRL : RegisterArray<DCA_RXCTRL, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return rx_queue_reg16(0x02200, 0x0C, n); }
  using RESERVED_12 = Field<12>;  // resets to 1; §4.6.7 says software clears it
};
struct RDRXCTL : Register<RDRXCTL, uint32_t, A::kReadWrite, 0x02F00> {
  using CRCSTRIP = Field<1>;
  using DMAIDONE = Field<3, 3, A::kReadOnly>;
};
struct RXCTRL : Register<RXCTRL, uint32_t, A::kReadWrite, 0x03000> {
  using RXEN = Field<0>;
};
// Packet buffer sizes, KiB in [19:10].
struct RXPBSIZE : RegisterArray<RXPBSIZE, uint32_t, A::kReadWrite, 8> {
  static constexpr uint32_t offset(uint32_t n) { return 0x03C00 + 4 * n; }
  using SIZE_KB = Field<10, 19>;
};

// §8.2.3.9 Transmit DMA.
struct TDBAL : RegisterArray<TDBAL, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return 0x06000 + 0x40 * n; }
};
struct TDBAH : RegisterArray<TDBAH, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return 0x06004 + 0x40 * n; }
};
struct TDLEN : RegisterArray<TDLEN, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return 0x06008 + 0x40 * n; }
};
struct TDH : RegisterArray<TDH, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return 0x06010 + 0x40 * n; }
};
struct TDT : RegisterArray<TDT, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return 0x06018 + 0x40 * n; }
};
struct TXDCTL : RegisterArray<TXDCTL, uint32_t, A::kReadWrite, kQueues> {
  static constexpr uint32_t offset(uint32_t n) { return 0x06028 + 0x40 * n; }
  using PTHRESH = Field<0, 6>;
  using HTHRESH = Field<8, 14>;
  using WTHRESH = Field<16, 22>;
  using ENABLE = Field<25>;
};
struct DMATXCTL : Register<DMATXCTL, uint32_t, A::kReadWrite, 0x04A80> {
  using TE = Field<0>;  // transmit enable
};
struct DTXMXSZRQ : Register<DTXMXSZRQ, uint32_t, A::kReadWrite, 0x08100> {
  using MAX_BYTES_NUM_REQ = Field<0, 11>;
};
struct RTTDCS : Register<RTTDCS, uint32_t, A::kReadWrite, 0x04900> {
  using ARBDIS = Field<6>;  // DCB arbiter disable
};
struct TXPBSIZE : RegisterArray<TXPBSIZE, uint32_t, A::kReadWrite, 8> {
  static constexpr uint32_t offset(uint32_t n) { return 0x0CC00 + 4 * n; }
  using SIZE_KB = Field<10, 19>;
};

// §8.2.3.22 MAC.
struct HLREG0 : Register<HLREG0, uint32_t, A::kReadWrite, 0x04240> {
  using TXCRCEN = Field<0>;
  using RXCRCSTRP = Field<1>;
  using JUMBOEN = Field<2>;  // frames up to MAXFRS.MFS; else 1518
  using TXPADEN = Field<10>;
  using RXLNGTHERREN = Field<27>;  // count length-field mismatches in RLEC
};
// §8.2.3.22 MAXFRS: the largest frame received, from the destination address
// through the CRC, when HLREG0.JUMBOEN is set (without it the limit is 1518);
// a VLAN tag may add 4 bytes. Reset 1518.
struct MAXFRS : Register<MAXFRS, uint32_t, A::kReadWrite, 0x04268> {
  using MFS = Field<16, 31>;
};
inline constexpr uint32_t kMaxFrameStandard = 1518, kMinFrame = 64;  // with the CRC
struct AUTOC : Register<AUTOC, uint32_t, A::kReadWrite, 0x042A0> {
  using PMA_PMD_10G = Field<7, 8>;  // 0 = XAUI
  using AN_RESTART = Field<12>;     // self-clearing
  using LMS = Field<13, 15>;        // link mode select; 3 = 10G serial
};
struct LINKS : Register<LINKS, uint32_t, A::kReadOnly, 0x042A4> {
  using LINK_SPEED = Field<28, 29>;  // 1 = 100 Mb/s, 2 = 1 Gb/s, 3 = 10 Gb/s
  using LINK_UP = Field<30>;
};

// §8.2.3.23 Statistics: clear on read.
struct CRCERRS : Register<CRCERRS, uint32_t, A::kClearOnRead, 0x04000> {};
// Length errors (HLREG0.RXLNGTHERREN): an 802.3 length field that does not
// match the frame.
struct RLEC : Register<RLEC, uint32_t, A::kClearOnRead, 0x04040> {};
// Undersize (under 64 bytes with the CRC, CRC good) and oversize (over the
// maximum frame size, CRC good) frames: dropped.
struct RUC : Register<RUC, uint32_t, A::kClearOnRead, 0x040A4> {};
struct ROC : Register<ROC, uint32_t, A::kClearOnRead, 0x040AC> {};
struct GPRC : Register<GPRC, uint32_t, A::kClearOnRead, 0x04074> {};
// Good Rx Non-Filtered packets and their octets (36 bits, CRC included):
// good frames of a legal length from the wire, counted before the address
// filter and whether receive is enabled or not. RXNFGPC − GPRC − MPC are the
// good frames the NIC did not take (its filters, RXCTRL.RXEN clear). The
// 82599's description of these was not at hand; the X550 datasheet (333369,
// §8.2.2.17.77-79) gives it for the same registers at the same offsets.
struct RXNFGPC : Register<RXNFGPC, uint32_t, A::kClearOnRead, 0x041B0> {};
struct RXNFGBCL : Register<RXNFGBCL, uint32_t, A::kClearOnRead, 0x041B4> {};
struct RXNFGBCH : Register<RXNFGBCH, uint32_t, A::kClearOnRead, 0x041B8> {};
struct GPTC : Register<GPTC, uint32_t, A::kClearOnRead, 0x04080> {};
struct GORCL : Register<GORCL, uint32_t, A::kClearOnRead, 0x04088> {};
struct GORCH : Register<GORCH, uint32_t, A::kClearOnRead, 0x0408C> {};
struct GOTCL : Register<GOTCL, uint32_t, A::kClearOnRead, 0x04090> {};
struct GOTCH : Register<GOTCH, uint32_t, A::kClearOnRead, 0x04094> {};
struct MPC : RegisterArray<MPC, uint32_t, A::kClearOnRead, 8> {  // missed packets
  static constexpr uint32_t offset(uint32_t n) { return 0x03FA0 + 4 * n; }
};
struct QPRC : RegisterArray<QPRC, uint32_t, A::kClearOnRead, 16> {
  static constexpr uint32_t offset(uint32_t n) { return 0x01030 + 0x40 * n; }
};
struct QPRDC : RegisterArray<QPRDC, uint32_t, A::kClearOnRead, 16> {  // drops (DROP_EN)
  static constexpr uint32_t offset(uint32_t n) { return 0x01430 + 0x40 * n; }
};
struct QPTC : RegisterArray<QPTC, uint32_t, A::kClearOnRead, 16> {
  static constexpr uint32_t offset(uint32_t n) { return 0x08680 + 4 * n; }
};

}  // namespace safenic::ixgbe
