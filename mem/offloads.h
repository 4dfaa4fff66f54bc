// Per-packet offload metadata (issue #22): what the device found on receive
// and what a packet asks of the device on transmit. Like
// DPDK's mbuf fields (ol_flags, tx_offload, vlan_tci, hash), in 16 bytes of
// the buffer's metadata. A fresh packet has its flags (and the tag and
// segment size) zero: it asks for nothing and reports nothing checked; the
// header lengths and the hash mean something only with a flag that says so.
//
//   dev->rx_batch(0, batch);                  // DeviceConfig::offloads has kRxChecksum
//   if (batch[0].offloads().rx & kRxL4ChecksumBad) ...
//
//   PacketOffloads& o = p.offloads();         // Ethernet, IPv4, UDP; both TX checksum offloads on
//   o.tx = kTxIpv4 | kTxIpChecksum | kTxUdpChecksum;
//   o.l2_len = 14, o.l3_len = 20;
//   dev->tx_batch(0, batch);                  // the NIC fills in both checksums
//
// A driver reads `tx` only with a transmit checksum offload enabled
// (Offload::kTxL4Checksum, kTxIpv4Checksum); a packet whose request it cannot
// carry out (a header past the frame, flags that contradict each other, a
// checksum whose offload is not enabled) is not sent: counted in its queue's
// errors.
// The fields marked "reserved" are not read by any driver yet.
#pragma once

#include <cstddef>
#include <cstdint>

namespace safenic {

// PacketOffloads::tx: what to do on transmit. The checksum fields' old values
// do not matter: the driver prepares them.
enum TxFlag : uint16_t {
  kTxIpv4 = 1 << 0,         // the L3 header is IPv4: l2_len, l3_len say where and how long
  kTxIpv6 = 1 << 1,         // the L3 header is IPv6 (l3_len 40: no extension headers)
  kTxIpChecksum = 1 << 2,   // insert the IPv4 header checksum (with kTxIpv4)
  kTxTcpChecksum = 1 << 3,  // insert the TCP checksum, right after the L3 header
  kTxUdpChecksum = 1 << 4,  // insert the UDP checksum, right after the L3 header
};

// PacketOffloads::rx: what the device found on receive. Neither Good nor Bad:
// not checked (not IP, not TCP/UDP, a fragment, or the offload is off).
enum RxFlag : uint8_t {
  kRxIpChecksumGood = 1 << 0,  // IPv4 header checksum verified
  kRxIpChecksumBad = 1 << 1,
  kRxL4ChecksumGood = 1 << 2,  // TCP or UDP checksum verified (IPv4 or IPv6)
  kRxL4ChecksumBad = 1 << 3,
  kRxRssHash = 1 << 4,  // rss_hash holds the device's RSS hash of the frame
};

struct PacketOffloads {
  // Cleared in a fresh packet (Mempool clears these 8 bytes together with
  // the packet's length and headroom, in one 16-byte store).
  uint16_t tx = 0;  // TxFlag bits
  uint8_t rx = 0;   // RxFlag bits
  uint8_t reserved = 0;
  uint16_t vlan_tci = 0;  // reserved: the tag to insert, or the one stripped
  uint16_t tso_mss = 0;   // reserved: TCP segment size
  // Meaningful only with a flag that says so.
  uint8_t l2_len = 0;     // TX: Ethernet header bytes (14; 18 with an 802.1Q tag)
  uint8_t l4_len = 0;     // reserved: TCP header bytes
  uint16_t l3_len = 0;    // TX: IP header bytes (20 to 60 for IPv4; 40 for IPv6)
  uint32_t rss_hash = 0;  // RX, with kRxRssHash: the RSS hash
};
static_assert(sizeof(PacketOffloads) == 16);
static_assert(offsetof(PacketOffloads, l2_len) == 8, "the first 8 bytes are the cleared ones");

}  // namespace safenic
