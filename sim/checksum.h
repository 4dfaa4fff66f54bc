// The models' checksum checks and insertions (IPv4 header, TCP/UDP, the
// 82599's fragment checksum), on the one's complement sum the drivers use
// too (nic/checksum.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "nic/checksum.h"

namespace safenic::sim {

using ::safenic::ones_complement_sum;

// What a receiving NIC can find out about a frame's checksums: the IPv4
// header's (RFC 791) and the TCP (RFC 9293) or UDP (RFC 768) one over its
// pseudo-header, for IPv4 and for IPv6 without extension headers (RFC 8200
// §8.1), behind an optional 802.1Q tag. An IPv4 fragment's L4 checksum is
// not checked, nor an L4 segment longer than the frame holds. Each model
// reports the result in its own descriptor bits.
struct ChecksumCheck {
  bool ipv4 = false;      // an IPv4 header was checked
  bool ipv4_ok = false;   //   and its checksum is right
  bool l4 = false;        // a TCP or UDP checksum was checked
  bool l4_ok = false;     //   and it is right
  bool udp = false;       // the L4 header is UDP
  bool udp_zero = false;  // UDP over IPv4 without a checksum (field 0; l4 stays false)
  // Where a TCP or UDP header was found whole (l4, udp_zero or neither: a
  // fragment has none): its offset in the frame, 0 if none, and the sum of
  // its pseudo-header (addresses, protocol, L4 length), folded, not
  // complemented: what a NIC completing the checksum expects in the field.
  size_t l4_at = 0;
  size_t l4_len = 0;  // the L4 segment's bytes, as the IP header gives them
  uint16_t pseudo = 0;
  size_t l4_checksum_at() const { return l4_at + (udp ? 6 : 16); }
};
inline ChecksumCheck check_checksums(absl::Span<const uint8_t> frame) {
  ChecksumCheck c;
  const uint8_t* const f = frame.data();
  auto be16 = [](const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); };
  if (frame.size() < 14) return c;
  size_t l3 = 14;
  uint16_t type = be16(f + 12);
  if (type == 0x8100 && frame.size() >= 18) type = be16(f + 16), l3 = 18;
  const uint8_t* const ip = f + l3;
  const size_t room = frame.size() - l3;
  uint8_t proto = 0;
  size_t l4 = 0, l4_len = 0;
  uint32_t pseudo = 0;  // the pseudo-header's sum, less the L4 length
  if (type == 0x0800 && room >= 20 && (ip[0] >> 4) == 4) {
    const size_t ihl = size_t{ip[0] & 0xFu} * 4, total = be16(ip + 2);
    if (ihl < 20 || ihl > room) return c;
    c.ipv4 = true;
    c.ipv4_ok = ones_complement_sum(ip, ihl) == 0xFFFF;
    // A fragment (MF set or an offset): its L4 checksum covers the whole
    // datagram, which no one frame holds.
    if ((be16(ip + 6) & 0x3FFF) != 0 || total < ihl) return c;
    proto = ip[9];
    l4 = l3 + ihl;
    l4_len = total - ihl;
    pseudo = ones_complement_sum(ip + 12, 8);
  } else if (type == 0x86DD && room >= 40 && (ip[0] >> 4) == 6) {
    proto = ip[6];  // extension headers (0, 43, 44, 60, ...) are not followed
    l4 = l3 + 40;
    l4_len = be16(ip + 4);
    pseudo = ones_complement_sum(ip + 8, 32);
  }
  if ((proto != 6 && proto != 17) || l4_len > frame.size() - l4 || l4_len < (proto == 6 ? 20 : 8)) {
    return c;
  }
  c.udp = proto == 17;
  c.l4_at = l4;
  c.l4_len = l4_len;
  uint32_t folded = pseudo + proto + static_cast<uint32_t>(l4_len);
  while (folded >> 16) folded = (folded & 0xFFFF) + (folded >> 16);
  c.pseudo = static_cast<uint16_t>(folded);
  if (c.udp && c.ipv4 && be16(f + l4 + 6) == 0) {
    c.udp_zero = true;
    return c;
  }
  c.l4 = true;
  c.l4_ok =
      ones_complement_sum(f + l4, l4_len, pseudo + proto + static_cast<uint32_t>(l4_len)) == 0xFFFF;
  return c;
}

}  // namespace safenic::sim
