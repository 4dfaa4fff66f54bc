// Per-packet offload metadata (issue #22): what the device found on receive
// and, as the transmit offloads land, what a packet asks of the device. Like
// DPDK's mbuf fields (ol_flags, tx_offload, vlan_tci, hash), in 16 bytes of
// the buffer's metadata. A fresh packet has its flags (and the tag and
// segment size) zero: it asks for nothing and reports nothing checked; the
// header lengths and the hash mean something only with a flag that says so.
//
//   dev->rx_batch(0, batch);                  // DeviceConfig::offloads has kRxChecksum
//   if (batch[0].offloads().rx & kRxL4ChecksumBad) ...
//
// The fields marked "reserved" are not read by any driver yet.
#pragma once

#include <cstddef>
#include <cstdint>

namespace safenic {

// PacketOffloads::rx: what the device found on receive. Neither Good nor Bad:
// not checked (not IP, not TCP/UDP, a fragment, or the offload is off).
enum RxFlag : uint8_t {
  kRxIpChecksumGood = 1 << 0,  // IPv4 header checksum verified
  kRxIpChecksumBad = 1 << 1,
  kRxL4ChecksumGood = 1 << 2,  // TCP or UDP checksum verified (IPv4 or IPv6)
  kRxL4ChecksumBad = 1 << 3,
};

struct PacketOffloads {
  // Cleared in a fresh packet (Mempool clears these 8 bytes together with
  // the packet's length and headroom, in one 16-byte store).
  uint16_t tx = 0;  // reserved: transmit requests (checksums, segmentation, tag)
  uint8_t rx = 0;   // RxFlag bits
  uint8_t reserved = 0;
  uint16_t vlan_tci = 0;  // reserved: the tag to insert, or the one stripped
  uint16_t tso_mss = 0;   // reserved: TCP segment size
  // Meaningful only with a flag that says so.
  uint8_t l2_len = 0;     // reserved: Ethernet header bytes
  uint8_t l4_len = 0;     // reserved: TCP header bytes
  uint16_t l3_len = 0;    // reserved: IP header bytes
  uint32_t rss_hash = 0;  // reserved: the RSS hash
};
static_assert(sizeof(PacketOffloads) == 16);
static_assert(offsetof(PacketOffloads, l2_len) == 8, "the first 8 bytes are the cleared ones");

}  // namespace safenic
