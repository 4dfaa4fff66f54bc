// What //examples:echo answers, as a function over one frame's bytes: ARP
// requests for its IPv4 address, ICMP echo requests, and UDP datagrams to one
// port. Replies are built in place (the received buffer becomes the reply).
//
// Every field is read only after a length check: a short or inconsistent
// frame is kBad, a well-formed one that is not for us is kIgnored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/types/span.h"
#include "nic/mac_address.h"

namespace safenic::examples {

struct EchoConfig {
  MacAddress mac;
  uint32_t ip = 0;  // host order: 10.99.0.2 is 0x0a630002
  uint16_t udp_port = 7;
};

enum class Verdict { kArpReply, kIcmpReply, kUdpReply, kIgnored, kBad };

namespace echo_internal {

inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8), p[1] = uint8_t(v); }

// The one's complement sum (RFC 1071) of `n` bytes, folded to 16 bits.
inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (; n >= 2; p += 2, n -= 2) sum += get16(p);
  if (n == 1) sum += uint32_t{p[0]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
inline uint16_t checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  return static_cast<uint16_t>(~sum16(p, n, sum));
}

inline void swap_bytes(uint8_t* a, uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i) std::swap(a[i], b[i]);
}

inline constexpr size_t kEth = 14;

// ARP over Ethernet for IPv4 (RFC 826): 28 bytes after the Ethernet header.
inline Verdict answer_arp(const EchoConfig& cfg, absl::Span<uint8_t> f, size_t* reply_size) {
  if (f.size() < kEth + 28) return Verdict::kBad;
  uint8_t* a = f.data() + kEth;
  if (get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4) return Verdict::kBad;
  if (get16(a + 6) != 1 || get32(a + 24) != cfg.ip)
    return Verdict::kIgnored;  // not a request for us
  uint8_t* sha = a + 8;
  uint8_t* spa = a + 14;
  uint8_t* tha = a + 18;
  uint8_t* tpa = a + 24;
  put16(a + 6, 2);  // reply
  std::memcpy(tha, sha, 6);
  std::memcpy(sha, cfg.mac.bytes.data(), 6);
  swap_bytes(spa, tpa, 4);  // the target address was ours
  std::memcpy(f.data(), tha, 6);
  std::memcpy(f.data() + 6, cfg.mac.bytes.data(), 6);
  *reply_size = kEth + 28;
  return Verdict::kArpReply;
}

inline Verdict answer_ipv4(const EchoConfig& cfg, absl::Span<uint8_t> f, size_t* reply_size) {
  if (f.size() < kEth + 20) return Verdict::kBad;
  uint8_t* ip = f.data() + kEth;
  const size_t ihl = size_t{ip[0] & 0xfu} * 4;
  const size_t total = get16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || kEth + total > f.size()) return Verdict::kBad;
  if (checksum(ip, ihl) != 0) return Verdict::kBad;
  if (get32(ip + 16) != cfg.ip) return Verdict::kIgnored;
  if ((get16(ip + 6) & 0x3fff) != 0) return Verdict::kIgnored;  // a fragment: not reassembled
  uint8_t* l4 = ip + ihl;
  const size_t l4_size = total - ihl;
  Verdict verdict;
  if (ip[9] == 1) {  // ICMP
    if (l4_size < 8) return Verdict::kBad;
    if (checksum(l4, l4_size) != 0) return Verdict::kBad;
    if (l4[0] != 8 || l4[1] != 0) return Verdict::kIgnored;  // only echo requests
    l4[0] = 0;                                               // echo reply
    put16(l4 + 2, 0);
    put16(l4 + 2, checksum(l4, l4_size));
    verdict = Verdict::kIcmpReply;
  } else if (ip[9] == 17) {  // UDP
    if (l4_size < 8) return Verdict::kBad;
    const size_t udp_len = get16(l4 + 4);
    if (udp_len < 8 || udp_len > l4_size) return Verdict::kBad;
    if (get16(l4 + 6) != 0) {               // 0: sent without a checksum
      uint32_t pseudo = sum16(ip + 12, 8);  // source and destination address
      pseudo += 17 + udp_len;
      if (checksum(l4, udp_len, pseudo) != 0) return Verdict::kBad;
    }
    if (get16(l4 + 2) != cfg.udp_port) return Verdict::kIgnored;
    // Swapping addresses and ports leaves the UDP checksum as it is.
    swap_bytes(l4, l4 + 2, 2);
    verdict = Verdict::kUdpReply;
  } else {
    return Verdict::kIgnored;
  }
  swap_bytes(ip + 12, ip + 16, 4);
  ip[8] = 64;  // TTL
  put16(ip + 10, 0);
  put16(ip + 10, checksum(ip, ihl));
  swap_bytes(f.data(), f.data() + 6, 6);
  std::memcpy(f.data() + 6, cfg.mac.bytes.data(), 6);
  *reply_size = kEth + total;  // without the padding the request may have had
  return verdict;
}

}  // namespace echo_internal

// Answers `frame` in place when it asks for an answer; *reply_size is then
// the reply's length (at most frame.size()).
inline Verdict answer(const EchoConfig& cfg, absl::Span<uint8_t> frame, size_t* reply_size) {
  using namespace echo_internal;
  if (frame.size() < kEth) return Verdict::kBad;
  switch (get16(frame.data() + 12)) {
    case 0x0806: return answer_arp(cfg, frame, reply_size);
    case 0x0800: return answer_ipv4(cfg, frame, reply_size);
    default: return Verdict::kIgnored;
  }
}

}  // namespace safenic::examples
