// Test traffic: Ethernet/IPv4/UDP frames with a sequence number, for tests,
// traffic sources and examples.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/types/span.h"
#include "nic/mac_address.h"

namespace safenic::sim {

struct UdpFlow {
  MacAddress src_mac{{0x02, 0, 0, 0, 0, 0xa1}};
  MacAddress dst_mac{{0x02, 0, 0, 0, 0, 0xb1}};
  uint32_t src_ip = 0x0a000001;  // 10.0.0.1
  uint32_t dst_ip = 0x0a000002;  // 10.0.0.2
  // To UDP port 19 (chargen: a character generator's traffic), whose
  // Wireshark dissector takes any payload. Not 5678, which decodes as
  // MikroTik MNDP; with a port nothing claims, Wireshark's heuristic
  // dissectors (DCERPC, Pathport) mistake some sequence numbers for theirs
  // and mark those frames malformed (tests/wires/examples_pcap_test.sh).
  uint16_t src_port = 40000;
  uint16_t dst_port = 19;
};

inline constexpr size_t kUdpHeaders = 14 + 20 + 8;

// Writes a frame of `size` bytes (>= 50; shorter spans are left alone) into `out`: headers for
// `flow`, the sequence number in the first 8 payload bytes, then a pattern derived from it.
inline void write_udp_frame(absl::Span<uint8_t> out, const UdpFlow& flow, uint64_t seq) {
  if (out.size() < kUdpHeaders + 8) return;
  uint8_t* f = out.data();
  const size_t size = out.size();
  std::memcpy(f, flow.dst_mac.bytes.data(), 6);
  std::memcpy(f + 6, flow.src_mac.bytes.data(), 6);
  f[12] = 0x08, f[13] = 0x00;  // IPv4
  uint8_t* ip = f + 14;
  const uint16_t ip_len = static_cast<uint16_t>(size - 14);
  const uint8_t hdr[20] = {0x45,
                           0,
                           uint8_t(ip_len >> 8),
                           uint8_t(ip_len),
                           0,
                           0,
                           0x40,
                           0,
                           64,
                           17,
                           0,
                           0,
                           uint8_t(flow.src_ip >> 24),
                           uint8_t(flow.src_ip >> 16),
                           uint8_t(flow.src_ip >> 8),
                           uint8_t(flow.src_ip),
                           uint8_t(flow.dst_ip >> 24),
                           uint8_t(flow.dst_ip >> 16),
                           uint8_t(flow.dst_ip >> 8),
                           uint8_t(flow.dst_ip)};
  std::memcpy(ip, hdr, 20);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += ip[i] << 8 | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<uint8_t>(~sum >> 8), ip[11] = static_cast<uint8_t>(~sum);
  uint8_t* udp = ip + 20;
  const uint16_t udp_len = static_cast<uint16_t>(size - 34);
  // Source port, destination port, length; no checksum.
  const uint8_t uh[8] = {
      uint8_t(flow.src_port >> 8),
      uint8_t(flow.src_port),
      uint8_t(flow.dst_port >> 8),
      uint8_t(flow.dst_port),
      uint8_t(udp_len >> 8),
      uint8_t(udp_len),
      0,
      0,
  };
  std::memcpy(udp, uh, 8);
  uint8_t* payload = udp + 8;
  std::memcpy(payload, &seq, 8);
  for (size_t i = kUdpHeaders + 8; i < size; ++i) f[i] = static_cast<uint8_t>(seq * 7 + i);
}

inline std::vector<uint8_t> udp_frame(size_t size, const UdpFlow& flow, uint64_t seq) {
  std::vector<uint8_t> f(size);
  write_udp_frame(absl::MakeSpan(f), flow, seq);
  return f;
}

// The sequence number of a frame written by write_udp_frame.
inline uint64_t frame_seq(absl::Span<const uint8_t> f) {
  uint64_t seq = 0;
  if (f.size() >= kUdpHeaders + 8) std::memcpy(&seq, f.data() + kUdpHeaders, 8);
  return seq;
}

}  // namespace safenic::sim
