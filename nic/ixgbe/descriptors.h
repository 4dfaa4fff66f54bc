// Intel 82599 advanced descriptors (datasheet rev 3.3 §7.1.6, §7.2.3.2),
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
// The first two dwords overwrite PKT_ADDR: the device writes them whole.
struct RxWriteBack : Layout<RxWriteBack, 16, ByteOrder::kLittle> {
  using DWORD0 = Field<0, uint32_t>;
  using RSS_TYPE = Field<0, uint32_t, 0, 3>;      // kRssType*
  using PACKET_TYPE = Field<0, uint32_t, 4, 16>;  // kPacketType* (bits of this field)
  using RSCCNT = Field<0, uint32_t, 17, 20>;      // RSC: frames coalesced
  using HDR_LEN = Field<0, uint32_t, 21, 30>;     // header split: header bytes
  using SPH = Bit<0, uint32_t, 31>;               // header split: header found
  // Second dword: with RXCSUM.PCSD, the RSS hash; without, the fragment
  // checksum and the IPv4 identification.
  using RSS_HASH = Field<4, uint32_t>;
  using FRAGMENT_CHECKSUM = Field<4, uint32_t, 16, 31>;
  using IP_ID = Field<4, uint32_t, 0, 15>;
  using STATUS_ERROR = Field<8, uint32_t>;  // the whole word, read once
  using DD = Bit<8, uint32_t, 0>;           // descriptor done: written last
  using EOP = Bit<8, uint32_t, 1>;          // end of packet
  // Receive checksum offload (§7.1.6.2): which checksums the device computed
  // (UDPCS with L4CS: the L4 header is UDP) and, among the errors, which of
  // those were wrong. The 82599 computes them for every frame it can parse.
  using UDPCS = Bit<8, uint32_t, 4>;  // UDP checksum computed
  using L4CS = Bit<8, uint32_t, 5>;   // TCP or UDP checksum computed
  using IPCS = Bit<8, uint32_t, 6>;   // IPv4 header checksum computed
  using RXE = Bit<8, uint32_t, 29>;   // frame had an RX error (CRC, size)
  using L4E = Bit<8, uint32_t, 30>;   // TCP/UDP checksum error (valid with L4CS)
  using IPE = Bit<8, uint32_t, 31>;   // IPv4 header checksum error (valid with IPCS)
  using LENGTH = Field<12, uint16_t>;
  using VLAN = Field<14, uint16_t>;
};
// §7.2.3.2.4 Advanced transmit data descriptor, read format.
struct TxRead : Layout<TxRead, 16, ByteOrder::kLittle> {
  using BUFFER_ADDR = Field<0, uint64_t>;
  using CMD_TYPE_LEN = Field<8, uint32_t>;
  using DTALEN = Field<8, uint32_t, 0, 15>;
  struct DTYP : Field<8, uint32_t, 20, 23> {  // descriptor type
    enum Value : uint32_t { kContext = 2, kData = 3 };
  };
  using EOP = Bit<8, uint32_t, 24>;
  using IFCS = Bit<8, uint32_t, 25>;          // insert FCS
  using RS = Bit<8, uint32_t, 27>;            // report status (write DD)
  using DEXT = Bit<8, uint32_t, 29>;          // advanced format
  using OLINFO_STATUS = Field<12, uint32_t>;  // the whole word, written once
  // Checksum offload: the context (TxContext) this frame uses, and POPTS,
  // what to insert.
  using IDX = Field<12, uint32_t, 4, 6>;  // context index (0 or 1 on the 82599)
  using CC = Bit<12, uint32_t, 7>;        // check context: use context IDX
  using IXSM = Bit<12, uint32_t, 8>;      // insert the IPv4 header checksum
  using TXSM = Bit<12, uint32_t, 9>;      // insert the TCP/UDP checksum
  using PAYLEN = Field<12, uint32_t, 14, 31>;
};
// §7.2.3.2.3 Advanced transmit context descriptor: where a frame's headers
// are, for the data descriptors that refer to it (CC, IDX). It sends
// nothing and gets no write-back.
struct TxContext : Layout<TxContext, 16, ByteOrder::kLittle> {
  using VLAN_MACIP_LENS = Field<0, uint32_t>;
  using IPLEN = Field<0, uint32_t, 0, 8>;    // IP header bytes
  using MACLEN = Field<0, uint32_t, 9, 15>;  // L2 header bytes (14 to 127)
  using VLAN = Field<0, uint32_t, 16, 31>;   // the tag to insert (with VLE)
  using SEQNUM_SEED = Field<4, uint32_t>;    // unused here: 0
  using TYPE_TUCMD_MLHL = Field<8, uint32_t>;
  using TUCMD_IPV4 = Bit<8, uint32_t, 10>;   // the IP header is IPv4 (else IPv6)
  struct L4T : Field<8, uint32_t, 11, 12> {  // L4 type
    enum Value : uint32_t { kUdp = 0, kTcp = 1, kSctp = 2 };
  };
  using DTYP = Field<8, uint32_t, 20, 23>;  // TxRead::DTYP::kContext
  using DEXT = Bit<8, uint32_t, 29>;
  using MSS_L4LEN_IDX = Field<12, uint32_t>;
  using IDX = Field<12, uint32_t, 4, 6>;     // which of the queue's contexts this is
  using L4LEN = Field<12, uint32_t, 8, 15>;  // TCP header bytes (segmentation)
  using MSS = Field<12, uint32_t, 16, 31>;   // segment size (segmentation)
};
inline constexpr uint32_t kTxContexts = 2;  // per queue
// §7.2.3.2.4 write-back: DD in the status word at byte 12.
struct TxWriteBack : Layout<TxWriteBack, 16, ByteOrder::kLittle> {
  using STATUS = Field<12, uint32_t>;
  using DD = Bit<12, uint32_t, 0>;
};

// RSS type (which fields were hashed), §7.1.6.2.
inline constexpr uint32_t kRssTypeNone = 0, kRssTypeTcpIpv4 = 1, kRssTypeIpv4 = 2,
                          kRssTypeUdpIpv4 = 7;
// Packet type bits (PACKET_TYPE, i.e. from bit 4 of the dword), §7.1.6.2.
inline constexpr uint32_t kPacketTypeIpv4 = 1 << 0, kPacketTypeIpv4Ext = 1 << 1,
                          kPacketTypeIpv6 = 1 << 2, kPacketTypeIpv6Ext = 1 << 3,
                          kPacketTypeTcp = 1 << 4, kPacketTypeUdp = 1 << 5,
                          kPacketTypeSctp = 1 << 6;

}  // namespace safenic::ixgbe
