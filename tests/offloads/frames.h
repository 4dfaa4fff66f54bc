// Frames for the offload tests, and tshark's verdict on their checksums:
// the implementation we did not write that each NIC's checksum offloads are
// checked against (tests/offloads/).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "mem/offloads.h"
#include "nic/checksum.h"

namespace safenic::offload_test {

// A test name for a parameter with a `name` (a sim/catalog.h kind such as
// "virtio-split"): gtest takes letters, digits and underscores.
template <typename Kind>
std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  std::string s = info.param.name;
  for (char& c : s) c = c == '-' ? '_' : c;
  return s;
}

// What a frame carries, and which of its checksums to spoil.
struct FrameSpec {
  const char* name;
  int ip = 4;            // 4, 6, or 0: an ARP frame
  uint8_t proto = 17;    // 17 UDP, 6 TCP
  bool vlan = false;     // an 802.1Q tag in front of the IP header
  bool options = false;  // IPv4 with a 4-byte option (IHL 6)
  bool bad_ip = false;
  bool bad_l4 = false;
  bool udp_zero = false;  // UDP checksum field 0 ("none": IPv4 allows it, IPv6 not)
  bool fragment = false;  // the first fragment of a longer datagram (MF set)
};

inline void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

inline std::vector<uint8_t> build(const FrameSpec& s) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
  if (s.vlan) f.insert(f.end(), {0x81, 0x00, 0x00, 0x05});
  if (s.ip == 0) {  // ARP request (RFC 826)
    f.insert(f.end(), {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1});
    f.resize(f.size() + 20, 0x11);
    f.resize(60, 0);
    return f;
  }
  f.insert(f.end(), {static_cast<uint8_t>(s.ip == 4 ? 0x08 : 0x86),
                     static_cast<uint8_t>(s.ip == 4 ? 0x00 : 0xDD)});
  const size_t l3 = f.size();
  const size_t ip_len = s.ip == 4 ? (s.options ? 24 : 20) : 40;
  const size_t l4_header = s.proto == 6 ? 20 : 8, payload = 37;  // odd: the padded last byte
  const size_t l4_len = l4_header + payload;
  f.resize(l3 + ip_len + l4_len, 0);
  uint8_t* ip = f.data() + l3;
  if (s.ip == 4) {
    ip[0] = static_cast<uint8_t>(0x40 | ip_len / 4);
    put16(f, l3 + 2, static_cast<uint16_t>(ip_len + l4_len));
    put16(f, l3 + 4, 0x1234);                        // identification
    put16(f, l3 + 6, s.fragment ? 0x2000 : 0x4000);  // MF, or DF
    ip[8] = 64;
    ip[9] = s.proto;
    const uint8_t addresses[] = {10, 0, 0, 1, 10, 0, 0, 2};
    std::copy(addresses, addresses + 8, ip + 12);
    if (s.options) ip[20] = 1, ip[21] = 1, ip[22] = 1, ip[23] = 0;  // NOP NOP NOP EOL
  } else {
    ip[0] = 0x60;
    put16(f, l3 + 4, static_cast<uint16_t>(l4_len));
    ip[6] = s.proto;
    ip[7] = 64;
    ip[8] = 0xFE, ip[9] = 0x80, ip[23] = 1;    // fe80::1
    ip[24] = 0xFE, ip[25] = 0x80, ip[39] = 2;  // fe80::2
  }
  const size_t l4 = l3 + ip_len;
  put16(f, l4, 4000);
  put16(f, l4 + 2, 5000);
  if (s.proto == 17) {
    put16(f, l4 + 4, static_cast<uint16_t>(l4_len));
  } else {
    put16(f, l4 + 4, 0x0102), put16(f, l4 + 6, 0x0304);  // sequence number
    f[l4 + 12] = 5 << 4;                                 // data offset
    f[l4 + 13] = 0x18;                                   // PSH ACK
    put16(f, l4 + 14, 8192);                             // window
  }
  for (size_t i = 0; i < payload; ++i) f[l4 + l4_header + i] = static_cast<uint8_t>(i * 7 + 3);
  const size_t csum_at = l4 + (s.proto == 17 ? 6 : 16);
  const uint32_t pseudo =
      s.ip == 4 ? ones_complement_sum(ip + 12, 8) : ones_complement_sum(ip + 8, 32);
  uint16_t l4_sum = static_cast<uint16_t>(~ones_complement_sum(
      f.data() + l4, l4_len, pseudo + s.proto + static_cast<uint32_t>(l4_len)));
  if (s.proto == 17 && l4_sum == 0) l4_sum = 0xFFFF;  // RFC 768: 0 means "none"
  if (s.bad_l4) l4_sum ^= 0x0101;
  if (s.udp_zero) l4_sum = 0;
  put16(f, csum_at, l4_sum);
  if (s.ip == 4) {
    uint16_t ip_sum = static_cast<uint16_t>(~ones_complement_sum(ip, ip_len));
    if (s.bad_ip) ip_sum ^= 0x0101;
    put16(f, l3 + 10, ip_sum);
  }
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

// tshark's verdicts for each frame of `pcap`, as RxFlags: its IPv4, UDP and
// TCP checksum statuses, with checksum validation on. A status is 1 good, 0
// bad, 4 illegal (a UDP checksum of 0 over IPv6: not right either), 2
// unverified, 3 not present (UDP over IPv4 without one), or no value (no
// such header, e.g. a UDP header in a fragment tshark did not reassemble).
inline std::vector<uint8_t> tshark_verdicts(const std::string& pcap) {
  const std::string command =
      "tshark -r '" + pcap +
      "' -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE "
      "-T fields -E separator=, -e ip.checksum.status -e udp.checksum.status "
      "-e tcp.checksum.status 2>/dev/null";
  FILE* out = ::popen(command.c_str(), "r");
  std::vector<uint8_t> verdicts;
  if (out == nullptr) {
    ADD_FAILURE() << "cannot run tshark";
    return verdicts;
  }
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
  EXPECT_EQ(::pclose(out), 0) << "tshark failed (./bazelw installs it): " << text;
  auto good = [](const std::string& v) { return v == "1"; };
  auto bad = [](const std::string& v) { return v == "0" || v == "4"; };
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() != 3) {
      ADD_FAILURE() << "unexpected tshark line: " << line;
      continue;
    }
    uint8_t v = 0;
    if (good(f[0])) v |= kRxIpChecksumGood;
    if (bad(f[0])) v |= kRxIpChecksumBad;
    for (const std::string& l4 : {f[1], f[2]}) {
      if (good(l4)) v |= kRxL4ChecksumGood;
      if (bad(l4)) v |= kRxL4ChecksumBad;
    }
    verdicts.push_back(v);
  }
  return verdicts;
}

inline std::string describe(uint8_t v) {
  std::string s;
  s += v & kRxIpChecksumGood ? "ip good" : v & kRxIpChecksumBad ? "ip bad" : "ip unchecked";
  s += v & kRxL4ChecksumGood ? ", l4 good" : v & kRxL4ChecksumBad ? ", l4 bad" : ", l4 unchecked";
  return s;
}

}  // namespace safenic::offload_test
