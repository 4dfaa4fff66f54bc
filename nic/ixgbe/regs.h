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
  using SK = Field<0>;                   // clock
  using CS = Field<1>;                   // chip select (active low)
  using DI = Field<2>;                   // data to the EEPROM
  using DO = Field<3, 3, A::kReadOnly>;  // data from the EEPROM
  using REQ = Field<6>;
  using GNT = Field<7, 7, A::kReadOnly>;
  using PRES = Field<8, 8, A::kReadOnly>;
  using ARD = Field<9, 9, A::kReadOnly>;          // EEPROM auto-read done
  using ADDR_SIZE = Field<10, 10, A::kReadOnly>;  // 1: 16-bit SPI addresses
  using SIZE = Field<11, 14, A::kReadOnly>;       // 2^(SIZE + 6) words
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
// The word pointing to an SFP+ board's module initialization lists (sim/ixgbe/nvm.cc).
inline constexpr uint16_t kSfpInitPointerWord = 0x2B;

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
  using SW = Field<0, 4>;                // EEPROM, PHY 0, PHY 1, MAC CSR, flash: software's
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
// §8.2.3.7.12 Multiple receive queues command: MRQE [3:0], hash field
// enables [31:16].
struct MRQC : Register<MRQC, uint32_t, A::kReadWrite, 0x05818> {
  struct MRQE : Field<0, 3> {  // multiple receive queues enable
    enum Value : uint32_t { kNone = 0, kRss = 1 };
  };
  using TCP_IPV4 = Field<16>;
  using IPV4 = Field<17>;
  using UDP_IPV4 = Field<22>;
};
// §7.1.2.8 RSS redirection table: 128 entries, four to a register, each an
// 8-bit entry whose [3:0] is the RX queue (entry 4n + i in RETA(n), bits
// [8i + 3 : 8i]).
struct RETA : StridedRegisterArray<RETA, uint32_t, A::kReadWrite, 0x05C00, 4, 32> {
  using ENTRY = FieldArray<0, 4, 8, 4>;
  static constexpr uint32_t kEntries = kCount * ENTRY::kCount;
};
// RSS random key: 40 bytes in 10 registers, key byte 4n + i in bits
// [8i + 7 : 8i] of RSSRK(n).
struct RSSRK : StridedRegisterArray<RSSRK, uint32_t, A::kReadWrite, 0x05C80, 4, 10> {
  using K = FieldArray<0, 8, 8, 4>;
  static constexpr uint32_t kKeyBytes = kCount * K::kCount;
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
  using BSIZEPACKET = Field<0, 4>;   // receive buffer size, 1 KiB units
  struct DESCTYPE : Field<25, 27> {  // receive descriptor type
    enum Value : uint32_t { kLegacy = 0, kAdvancedOneBuffer = 1 };
  };
  using DROP_EN = Field<28>;  // drop when no descriptor is free
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
struct RXPBSIZE : StridedRegisterArray<RXPBSIZE, uint32_t, A::kReadWrite, 0x03C00, 4, 8> {
  using SIZE_KB = Field<10, 19>;
};

// §8.2.3.9 Transmit DMA.
struct TDBAL : StridedRegisterArray<TDBAL, uint32_t, A::kReadWrite, 0x06000, 0x40, kQueues> {};
struct TDBAH : StridedRegisterArray<TDBAH, uint32_t, A::kReadWrite, 0x06004, 0x40, kQueues> {};
struct TDLEN : StridedRegisterArray<TDLEN, uint32_t, A::kReadWrite, 0x06008, 0x40, kQueues> {};
struct TDH : StridedRegisterArray<TDH, uint32_t, A::kReadWrite, 0x06010, 0x40, kQueues> {};
struct TDT : StridedRegisterArray<TDT, uint32_t, A::kReadWrite, 0x06018, 0x40, kQueues> {};
struct TXDCTL : StridedRegisterArray<TXDCTL, uint32_t, A::kReadWrite, 0x06028, 0x40, kQueues> {
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
struct TXPBSIZE : StridedRegisterArray<TXPBSIZE, uint32_t, A::kReadWrite, 0x0CC00, 4, 8> {
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
  struct PMA_PMD_10G : Field<7, 8> {  // the 10 Gb/s parallel PMA/PMD
    enum Value : uint32_t { kXaui = 0 };
  };
  using AN_RESTART = Field<12>;  // self-clearing
  struct LMS : Field<13, 15> {   // link mode select
    enum Value : uint32_t { k1gNoAutoneg = 0, k10gSerial = 3 };
  };
};
// The 10G serial PMA/PMD behind LMS = 3: 0 = KR, 2 = SFI (an SFP+ board's
// EEPROM loads 2). Bits 31:28 (link disable, PDDM) are the upper control bits.
struct AUTOC2 : Register<AUTOC2, uint32_t, A::kReadWrite, 0x042A8> {
  struct PMA_PMD_10G_SERIAL : Field<16, 17> {
    enum Value : uint32_t { kKr = 0, kSfi = 2 };
  };
  using LINK_DISABLE = Field<28, 29>;
};
// Auto Negotiation Link Partner Link Control Word 1: [19:16] the MAC's
// auto-negotiation state machine, 0 while it has not left its first state
// after a restart (drivers wait for it to move when they restart AN).
struct ANLP1 : Register<ANLP1, uint32_t, A::kReadOnly, 0x042B0> {
  using AN_STATE = Field<16, 19>;
};
// Core Analog Configuration: writes of (register, value) words that tune the
// analog front end for the SFP+ module fitted (the EEPROM's SFP init lists).
struct CORECTL : Register<CORECTL, uint32_t, A::kReadWrite, 0x014F00> {};
// Extended SDP Control: the software-definable pins (SDP0-7 values in [7:0],
// directions in [15:8], 1 = output; an input reads the pin). What the pins
// do is the board's: on Intel's SFP+ boards, which Linux's and DPDK's drivers
// assume, SDP2 is an input that reads 1 while a module is in the cage, and
// SDP3 an output to the module's TX_DISABLE (set: laser off, no link).
struct ESDP : Register<ESDP, uint32_t, A::kReadWrite, 0x00020> {
  using SDP2 = Field<2>;
  using SDP3 = Field<3>;
  using SDP2_DIR = Field<10>;
  using SDP3_DIR = Field<11>;
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
// missed packets
struct MPC : StridedRegisterArray<MPC, uint32_t, A::kClearOnRead, 0x03FA0, 4, 8> {};
struct QPRC : StridedRegisterArray<QPRC, uint32_t, A::kClearOnRead, 0x01030, 0x40, 16> {};
struct QPRDC : StridedRegisterArray<QPRDC, uint32_t, A::kClearOnRead, 0x01430, 0x40,
                                    16> {  // drops (DROP_EN)
};
struct QPTC : StridedRegisterArray<QPTC, uint32_t, A::kClearOnRead, 0x08680, 4, 16> {};
// The 16 per-queue statistics (QPRC, QPRDC, QBRC; QPTC, QBTC) count the
// queues mapped to them (§8.2.3.8 and §8.2.3.9 "Queue Statistic Mapping"):
// RQSMR(n) and TQSM(n) map queues 4n to 4n+3, one 4-bit statistics index per
// byte (Q_MAP). Reset 0: every queue counts in statistics 0 until software
// maps it.
struct RQSMR : StridedRegisterArray<RQSMR, uint32_t, A::kReadWrite, 0x02300, 4, 32> {
  using Q_MAP = FieldArray<0, 4, 8, 4>;
};
struct TQSM : StridedRegisterArray<TQSM, uint32_t, A::kReadWrite, 0x08600, 4, 32> {
  using Q_MAP = FieldArray<0, 4, 8, 4>;
};
// Bytes of the frames QPRC counts (as written to host memory: without the
// CRC when it is stripped) and that QPTC counts; 36 bits in two registers.
struct QBRC_L : StridedRegisterArray<QBRC_L, uint32_t, A::kClearOnRead, 0x01034, 0x40, 16> {};
struct QBRC_H : StridedRegisterArray<QBRC_H, uint32_t, A::kClearOnRead, 0x01038, 0x40, 16> {};
struct QBTC_L : StridedRegisterArray<QBTC_L, uint32_t, A::kClearOnRead, 0x08700, 8, 16> {};
struct QBTC_H : StridedRegisterArray<QBTC_H, uint32_t, A::kClearOnRead, 0x08704, 8, 16> {};
// QPTC read at the 82598's location (0x06030 + 0x40n), as Linux's and DPDK's
// drivers read it on the 82599 too: the same counter (the X550 datasheet,
// which keeps the 82599's register map, lists it as QPTC_ALIAS, §8.2.2.17.87).
struct QPTC_ALIAS : StridedRegisterArray<QPTC_ALIAS, uint32_t, A::kClearOnRead, 0x06030, 0x40, 16> {
};

// §8.2.3.23 Statistics this model keeps at 0: what it does not do (flow
// control frames, management, FCoE, MACsec, flow director) or does not sort
// frames by (size, broadcast/multicast). Clear on read, as the rest.
struct ILLERRC : Register<ILLERRC, uint32_t, A::kClearOnRead, 0x04004> {};  // illegal byte errors
struct ERRBC : Register<ERRBC, uint32_t, A::kClearOnRead, 0x04008> {};      // error bytes
struct MSPDC : Register<MSPDC, uint32_t, A::kClearOnRead, 0x04010> {};  // MAC short packet discards
struct MLFC : Register<MLFC, uint32_t, A::kClearOnRead, 0x04034> {};    // MAC local faults
struct MRFC : Register<MRFC, uint32_t, A::kClearOnRead, 0x04038> {};    // MAC remote faults
// Received frames by size: 64, 65-127, 128-255, 256-511, 512-1023, 1024-max.
struct PRC : StridedRegisterArray<PRC, uint32_t, A::kClearOnRead, 0x0405C, 4, 6> {};
struct BPRC : Register<BPRC, uint32_t, A::kClearOnRead, 0x04078> {};      // broadcast received
struct MPRC : Register<MPRC, uint32_t, A::kClearOnRead, 0x0407C> {};      // multicast received
struct RFC : Register<RFC, uint32_t, A::kClearOnRead, 0x040A8> {};        // fragments
struct RJC : Register<RJC, uint32_t, A::kClearOnRead, 0x040B0> {};        // jabbers
struct MNGPRC : Register<MNGPRC, uint32_t, A::kClearOnRead, 0x040B4> {};  // to manageability
struct MNGPDC : Register<MNGPDC, uint32_t, A::kClearOnRead, 0x040B8> {};
struct MNGPTC : Register<MNGPTC, uint32_t, A::kClearOnRead, 0x0CF90> {};
struct TORL : Register<TORL, uint32_t, A::kClearOnRead, 0x040C0> {};  // total octets received
struct TORH : Register<TORH, uint32_t, A::kClearOnRead, 0x040C4> {};
struct TPR : Register<TPR, uint32_t, A::kClearOnRead, 0x040D0> {};  // total packets received
struct TPT : Register<TPT, uint32_t, A::kClearOnRead, 0x040D4> {};  // total packets sent
// Sent frames by size, as PRC.
struct PTC : StridedRegisterArray<PTC, uint32_t, A::kClearOnRead, 0x040D8, 4, 6> {};
struct MPTC : Register<MPTC, uint32_t, A::kClearOnRead, 0x040F0> {};  // multicast sent
struct BPTC : Register<BPTC, uint32_t, A::kClearOnRead, 0x040F4> {};  // broadcast sent
struct XEC : Register<XEC, uint32_t, A::kClearOnRead, 0x04120> {};    // XSUM (checksum) errors
// Flow control frames sent and received: per priority, and link (802.3x).
struct PXONTXC : StridedRegisterArray<PXONTXC, uint32_t, A::kClearOnRead, 0x03F00, 4, 8> {};
struct PXOFFTXC : StridedRegisterArray<PXOFFTXC, uint32_t, A::kClearOnRead, 0x03F20, 4, 8> {};
struct PXON2OFFCNT : StridedRegisterArray<PXON2OFFCNT, uint32_t, A::kClearOnRead, 0x03240, 4, 8> {};
struct LXONTXC : Register<LXONTXC, uint32_t, A::kClearOnRead, 0x03F60> {};
struct LXOFFTXC : Register<LXOFFTXC, uint32_t, A::kClearOnRead, 0x03F68> {};
struct PXONRXCNT : StridedRegisterArray<PXONRXCNT, uint32_t, A::kClearOnRead, 0x04140, 4, 8> {};
struct PXOFFRXCNT : StridedRegisterArray<PXOFFRXCNT, uint32_t, A::kClearOnRead, 0x04160, 4, 8> {};
struct LXONRXCNT : Register<LXONRXCNT, uint32_t, A::kClearOnRead, 0x041A4> {};
struct LXOFFRXCNT : Register<LXOFFRXCNT, uint32_t, A::kClearOnRead, 0x041A8> {};
// switch security violations
struct SSVPC : Register<SSVPC, uint32_t, A::kClearOnRead, 0x08780> {};
// FCoE.
struct FCCRC : Register<FCCRC, uint32_t, A::kClearOnRead, 0x05118> {};
struct FCOERPDC : Register<FCOERPDC, uint32_t, A::kClearOnRead, 0x0241C> {};
struct FCLAST : Register<FCLAST, uint32_t, A::kClearOnRead, 0x02424> {};
struct FCOEPRC : Register<FCOEPRC, uint32_t, A::kClearOnRead, 0x02428> {};
struct FCOEDWRC : Register<FCOEDWRC, uint32_t, A::kClearOnRead, 0x0242C> {};
struct FCOEPTC : Register<FCOEPTC, uint32_t, A::kClearOnRead, 0x08784> {};
struct FCOEDWTC : Register<FCOEDWTC, uint32_t, A::kClearOnRead, 0x08788> {};
// Flow director: filters added and removed, matches and misses.
struct FDIRUSTAT : Register<FDIRUSTAT, uint32_t, A::kClearOnRead, 0x0EE50> {};
struct FDIRFSTAT : Register<FDIRFSTAT, uint32_t, A::kClearOnRead, 0x0EE54> {};
struct FDIRMATCH : Register<FDIRMATCH, uint32_t, A::kClearOnRead, 0x0EE58> {};
struct FDIRMISS : Register<FDIRMISS, uint32_t, A::kClearOnRead, 0x0EE5C> {};
// MACsec (LinkSec) statistics: transmit 0x08A3C-0x08A4C, receive 0x08F40-0x08F80.
struct LSECTXSTATS : StridedRegisterArray<LSECTXSTATS, uint32_t, A::kClearOnRead, 0x08A3C, 4, 5> {};
struct LSECRXSTATS : StridedRegisterArray<LSECRXSTATS, uint32_t, A::kClearOnRead, 0x08F40, 4, 17> {
};

// §8.2.3.3 Flow control: the thresholds, timers and pause settings. Stored;
// this model sends and honours no pause frames by itself (set_tx_paused()
// stands for a received pause).
struct FCTTV : StridedRegisterArray<FCTTV, uint32_t, A::kReadWrite, 0x03200, 4, 4> {};
struct FCRTL : StridedRegisterArray<FCRTL, uint32_t, A::kReadWrite, 0x03220, 4, 8> {};
struct FCRTH : StridedRegisterArray<FCRTH, uint32_t, A::kReadWrite, 0x03260, 4, 8> {};
struct FCRTV : Register<FCRTV, uint32_t, A::kReadWrite, 0x032A0> {};
struct FCCFG : Register<FCCFG, uint32_t, A::kReadWrite, 0x03D00> {};
struct MFLCN : Register<MFLCN, uint32_t, A::kReadWrite, 0x04294> {};

// §8.2.3.5 Interrupts this model does not raise (safenic polls): stored.
struct GPIE : Register<GPIE, uint32_t, A::kReadWrite, 0x00898> {};
struct IVAR : StridedRegisterArray<IVAR, uint32_t, A::kReadWrite, 0x00900, 4, 64> {};
struct IVAR_MISC : Register<IVAR_MISC, uint32_t, A::kReadWrite, 0x00A00> {};
struct EITR : StridedRegisterArray<EITR, uint32_t, A::kReadWrite, 0x00820, 4, 24> {};
// The extended mask registers for the 64 queue causes: set/read, clear.
struct EIMS_EX : StridedRegisterArray<EIMS_EX, uint32_t, A::kWrite1ToSet, 0x00AA0, 4, 2> {};
struct EIMC_EX : StridedRegisterArray<EIMC_EX, uint32_t, A::kWriteOnly, 0x00AB0, 4, 2> {};

// §8.2.3.1 LED control; §8.2.3.22 MAC registers of the 1 GbE PCS and the
// MDIO interface (no PHY behind it here: stored), manageability control.
struct LEDCTL : Register<LEDCTL, uint32_t, A::kReadWrite, 0x00200> {};
struct PCS1GLCTL : Register<PCS1GLCTL, uint32_t, A::kReadWrite, 0x04208> {};
struct PCS1GANA : Register<PCS1GANA, uint32_t, A::kReadWrite, 0x04218> {};
struct MSCA : Register<MSCA, uint32_t, A::kReadWrite, 0x0425C> {};
struct MSRWD : Register<MSRWD, uint32_t, A::kReadWrite, 0x04260> {};
struct MMNGC : Register<MMNGC, uint32_t, A::kReadWrite, 0x042D0> {};

// §8.2.3.7 Receive filters beside FCTRL and the receive addresses.
struct RFCTL : Register<RFCTL, uint32_t, A::kReadWrite, 0x05008> {};
// VLAN control: VFE enables the VLAN filter table (VFTA).
struct VLNCTRL : Register<VLNCTRL, uint32_t, A::kReadWrite, 0x05088> {
  using VET = Field<0, 15>;  // the VLAN ether type, 0x8100
  using VFE = Field<30>;
};
// Multicast control: MFE enables the multicast table (MTA); MO picks which
// 12 bits of the destination address index it.
struct MCSTCTRL : Register<MCSTCTRL, uint32_t, A::kReadWrite, 0x05090> {
  using MO = Field<0, 1>;
  using MFE = Field<2>;
};
// The multicast table: 4096 bits, bit (hash % 32) of MTA(hash / 32).
struct MTA : StridedRegisterArray<MTA, uint32_t, A::kReadWrite, 0x05200, 4, 128> {};
// The VLAN filter table: bit (vid % 32) of VFTA(vid / 32).
struct VFTA : StridedRegisterArray<VFTA, uint32_t, A::kReadWrite, 0x0A000, 4, 128> {};
// Pool (VMDq) selection of each receive address, the VLAN pool filters and
// the unicast hash table: virtualisation, which this model does not do.
struct MPSAR_LO : StridedRegisterArray<MPSAR_LO, uint32_t, A::kReadWrite, 0x0A600, 8, 128> {};
struct MPSAR_HI : StridedRegisterArray<MPSAR_HI, uint32_t, A::kReadWrite, 0x0A604, 8, 128> {};
struct PFVLVF : StridedRegisterArray<PFVLVF, uint32_t, A::kReadWrite, 0x0F100, 4, 64> {};
struct PFVLVFB : StridedRegisterArray<PFVLVFB, uint32_t, A::kReadWrite, 0x0F200, 4, 128> {};
struct UTA : StridedRegisterArray<UTA, uint32_t, A::kReadWrite, 0x0F400, 4, 128> {};

// §8.2.3.9 Transmit: per-queue DCA control (DCA, and relaxed ordering of
// the queue's DMAs: no effect on a model that orders every DMA), the queue
// selection for the DCB rate limiters, the TX queue mode and the PF's
// VM-to-VM loopback switch.
struct DCA_TXCTRL
    : StridedRegisterArray<DCA_TXCTRL, uint32_t, A::kReadWrite, 0x0600C, 0x40, kQueues> {};
struct RTTDQSEL : Register<RTTDQSEL, uint32_t, A::kReadWrite, 0x04904> {};
struct RTTBCNRC : Register<RTTBCNRC, uint32_t, A::kReadWrite, 0x04984> {};
struct MTQC : Register<MTQC, uint32_t, A::kReadWrite, 0x08120> {};
struct PFDTXGSWC : Register<PFDTXGSWC, uint32_t, A::kReadWrite, 0x08220> {};

}  // namespace safenic::ixgbe
