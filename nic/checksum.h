// RFC 1071 one's complement sums: what IPv4, TCP and UDP checksums are made
// of. The drivers use it for the pseudo-header sums a NIC's transmit
// checksum offload starts from; the models for the checksums they check and
// insert (sim/checksum.h).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "mem/offloads.h"
#include "mem/packet.h"

namespace safenic {

// The one's complement sum of `n` bytes read as big-endian 16-bit words (an
// odd last byte padded with a zero byte), plus `initial` (a sum of such
// words below 2^31, e.g. a pseudo-header's), folded to 16 bits and not complemented: a
// correct checksum over the covered bytes sums to 0xFFFF. Eight bytes per
// step: the sum does not depend on the byte order it is taken in (RFC 1071
// §2(B)), so it is taken in the host's and swapped once at the end.
inline uint16_t ones_complement_sum(const uint8_t* p, size_t n, uint32_t initial = 0) {
  uint64_t acc = 0;
  auto add = [&acc](uint64_t w) {
    acc += w;
    acc += acc < w;  // the end-around carry
  };
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    add(w);
  }
  // The tail starts at an even offset, so its pieces keep the word pairing.
  if (n & 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    add(w);
    p += 4;
  }
  if (n & 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    add(w);
    p += 2;
  }
  if (n & 1) {
    const uint8_t last[2] = {*p, 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    add(w);
  }
  // 2^32 and 2^16 are 1 modulo 0xFFFF: folding keeps the sum.
  acc = (acc & 0xFFFFFFFF) + (acc >> 32);
  acc = (acc & 0xFFFFFFFF) + (acc >> 32);
  acc = (acc & 0xFFFF) + (acc >> 16);
  acc = (acc & 0xFFFF) + (acc >> 16);
  uint32_t sum = static_cast<uint16_t>(acc);
  if constexpr (std::endian::native == std::endian::little) {
    sum = static_cast<uint16_t>(sum << 8 | sum >> 8);
  }
  sum += initial;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// A packet's transmit checksum request (PacketOffloads::tx, l2_len, l3_len),
// checked against its frame: where the headers are and what to insert.
struct ChecksumRequest {
  uint16_t l2 = 0, l3 = 0;  // header lengths: Ethernet (with tags), IP
  bool ipv4 = false;        // else IPv6
  bool ip_checksum = false;
  uint8_t l4_proto = 0;  // 6 TCP, 17 UDP, 0 no L4 checksum
  uint32_t l4_len = 0;   // the L4 segment's bytes, as the IP header gives them
  // Offset of the L4 checksum field in the frame.
  size_t l4_checksum_at() const { return size_t{l2} + l3 + (l4_proto == 6 ? 16 : 6); }
};
// Nothing asked (no checksum flag): an empty request. A request the frame
// cannot carry (contradicting flags, header lengths past the frame or unlike
// its IP header) or a checksum not in `allowed` (the TxFlag checksum bits of
// the enabled offloads: OffloadSet::tx_checksum_flags()): nullopt.
inline std::optional<ChecksumRequest> checksum_request(const Packet& p, uint16_t allowed) {
  const PacketOffloads& o = p.offloads();
  const uint16_t tx = o.tx;
  if (!(tx & (kTxIpChecksum | kTxTcpChecksum | kTxUdpChecksum))) return ChecksumRequest{};
  if (tx & (kTxIpChecksum | kTxTcpChecksum | kTxUdpChecksum) & ~allowed) return std::nullopt;
  ChecksumRequest r;
  r.ipv4 = tx & kTxIpv4;
  r.ip_checksum = tx & kTxIpChecksum;
  r.l2 = o.l2_len, r.l3 = o.l3_len;
  if (r.ipv4 == bool(tx & kTxIpv6)) return std::nullopt;  // IPv4 or IPv6: one of them
  if (r.ip_checksum && !r.ipv4) return std::nullopt;      // IPv6 has no header checksum
  if ((tx & kTxTcpChecksum) && (tx & kTxUdpChecksum)) return std::nullopt;
  r.l4_proto = tx & kTxTcpChecksum ? 6 : tx & kTxUdpChecksum ? 17 : 0;
  const size_t size = p.size();
  if (r.l2 < 14 || size < size_t{r.l2} + r.l3) return std::nullopt;
  const uint8_t* ip = p.data() + r.l2;
  auto be16 = [](const uint8_t* b) { return static_cast<uint32_t>(b[0] << 8 | b[1]); };
  uint32_t ip_bytes;  // the IP packet's length as its header says
  if (r.ipv4) {
    if (r.l3 < 20 || r.l3 > 60 || (ip[0] >> 4) != 4 || size_t{ip[0] & 0xFu} * 4 != r.l3) {
      return std::nullopt;
    }
    ip_bytes = be16(ip + 2);
  } else {
    if (r.l3 != 40 || (ip[0] >> 4) != 6) return std::nullopt;
    ip_bytes = 40 + be16(ip + 4);
  }
  if (ip_bytes < r.l3 || ip_bytes > size - r.l2) return std::nullopt;
  r.l4_len = ip_bytes - r.l3;
  if (r.l4_proto != 0 && r.l4_len < (r.l4_proto == 6 ? 20u : 8u)) return std::nullopt;
  return r;
}

// Completes a partial checksum, as virtio's NEEDS_CSUM asks (virtio 1.2
// §5.1.6.2, §5.1.6.4): the one's complement sum of frame[start, size), the
// field at `field` included (it holds the pseudo-header's sum), complemented
// into that field. 0 is written as 0xFFFF, the same one's complement number:
// a UDP checksum of 0 would mean "none" (RFC 768). The caller checks that
// start <= field and field + 2 <= size.
inline void complete_checksum(uint8_t* frame, size_t size, size_t start, size_t field) {
  const uint16_t sum = static_cast<uint16_t>(~ones_complement_sum(frame + start, size - start));
  const uint16_t checksum = sum == 0 ? 0xFFFF : sum;
  frame[field] = static_cast<uint8_t>(checksum >> 8);
  frame[field + 1] = static_cast<uint8_t>(checksum);
}

// Prepares the frame for a NIC that inserts the checksums r asks for and
// starts the L4 sum from the checksum field (the 82599: docs/offloads.md;
// virtio's NEEDS_CSUM): the IPv4 header checksum field 0, the L4 checksum
// field the sum of the pseudo-header (RFC 768, RFC 9293 §3.1, RFC 8200
// §8.1), not complemented.
inline void prepare_checksum_fields(Packet& p, const ChecksumRequest& r) {
  uint8_t* const ip = p.data() + r.l2;
  if (r.ip_checksum) ip[10] = 0, ip[11] = 0;
  if (r.l4_proto == 0) return;
  const uint16_t addresses =
      r.ipv4 ? ones_complement_sum(ip + 12, 8) : ones_complement_sum(ip + 8, 32);
  uint32_t sum = uint32_t{addresses} + r.l4_proto + (r.l4_len >> 16) + (r.l4_len & 0xFFFF);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  uint8_t* const field = p.data() + r.l4_checksum_at();
  field[0] = static_cast<uint8_t>(sum >> 8), field[1] = static_cast<uint8_t>(sum);
}

}  // namespace safenic
