// What //examples:echo answers, frame by frame: ARP, ICMP echo and UDP
// replies checked field by field (checksums recomputed here, independently),
// what it ignores, what it counts as bad, and that no truncated or random
// frame makes it read out of bounds (run under --config=asan).
#include "examples/echo_responder.h"

#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace safenic::examples {
namespace {

const MacAddress kOurMac{{0x02, 0, 0, 0, 0x82, 0x01}};
const MacAddress kPeerMac{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
constexpr uint32_t kOurIp = 0x0a630002;   // 10.99.0.2
constexpr uint32_t kPeerIp = 0x0a630001;  // 10.99.0.1
const EchoConfig kConfig{kOurMac, kOurIp, 7};

using Frame = std::vector<uint8_t>;

void put16(Frame& f, size_t at, uint16_t v) { f[at] = uint8_t(v >> 8), f[at + 1] = uint8_t(v); }
void put32(Frame& f, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + i] = uint8_t(v >> (24 - 8 * i));
}
uint16_t get16(const Frame& f, size_t at) { return uint16_t(f[at] << 8 | f[at + 1]); }
uint32_t get32(const Frame& f, size_t at) {
  return uint32_t{f[at]} << 24 | uint32_t{f[at + 1]} << 16 | uint32_t{f[at + 2]} << 8 | f[at + 3];
}
// RFC 1071, written out again here rather than taken from the code under test.
uint16_t inet_checksum(const uint8_t* p, size_t n, uint64_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
  if (n % 2) sum += uint32_t(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}
uint16_t udp_checksum(const Frame& f) {  // over pseudo-header and datagram, as sent
  const size_t udp_len = get16(f, 38);
  uint64_t sum = get16(f, 26) + get16(f, 28) + get16(f, 30) + get16(f, 32) + 17 + udp_len;
  return inet_checksum(f.data() + 34, udp_len, sum);
}

void ethernet(Frame& f, const MacAddress& dst, const MacAddress& src, uint16_t type) {
  std::memcpy(f.data(), dst.bytes.data(), 6);
  std::memcpy(f.data() + 6, src.bytes.data(), 6);
  put16(f, 12, type);
}

Frame arp_request(uint32_t target, size_t size = 60) {
  Frame f(size);
  ethernet(f, MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, kPeerMac, 0x0806);
  put16(f, 14, 1), put16(f, 16, 0x0800), f[18] = 6, f[19] = 4, put16(f, 20, 1);
  std::memcpy(f.data() + 22, kPeerMac.bytes.data(), 6);
  put32(f, 28, kPeerIp);
  put32(f, 38, target);
  return f;
}

// An IPv4 packet (20-byte header) with `l4` as payload, padded to 60 bytes.
Frame ipv4(uint8_t proto, const Frame& l4, uint32_t dst = kOurIp) {
  Frame f(std::max<size_t>(60, 34 + l4.size()));
  ethernet(f, kOurMac, kPeerMac, 0x0800);
  f[14] = 0x45, put16(f, 16, uint16_t(20 + l4.size())), put16(f, 18, 0x1234);
  put16(f, 20, 0x4000);  // DF
  f[22] = 64, f[23] = proto;
  put32(f, 26, kPeerIp), put32(f, 30, dst);
  put16(f, 24, inet_checksum(f.data() + 14, 20));
  std::memcpy(f.data() + 34, l4.data(), l4.size());
  return f;
}

Frame icmp_echo(size_t payload = 56, uint32_t dst = kOurIp) {
  Frame m(8 + payload);
  m[0] = 8, put16(m, 4, 0xbeef), put16(m, 6, 3);
  for (size_t i = 8; i < m.size(); ++i) m[i] = uint8_t(i * 3);
  put16(m, 2, inet_checksum(m.data(), m.size()));
  return ipv4(1, m, dst);
}

Frame udp(uint16_t dst_port, const std::string& payload, bool with_checksum = true) {
  Frame d(8 + payload.size());
  put16(d, 0, 40000), put16(d, 2, dst_port), put16(d, 4, uint16_t(d.size()));
  std::memcpy(d.data() + 8, payload.data(), payload.size());
  Frame f = ipv4(17, d);
  if (with_checksum) {
    uint16_t c = udp_checksum(f);
    put16(f, 40, c == 0 ? 0xffff : c);
  }
  return f;
}

Verdict answer(Frame& f, size_t* size) {
  return examples::answer(kConfig, absl::MakeSpan(f), size);
}

TEST(EchoResponder, AnswersAnArpRequestForItsAddress) {
  Frame f = arp_request(kOurIp);
  size_t size = 0;
  ASSERT_EQ(answer(f, &size), Verdict::kArpReply);
  EXPECT_EQ(size, 42u);
  EXPECT_EQ(Frame(f.begin(), f.begin() + 6), Frame(kPeerMac.bytes.begin(), kPeerMac.bytes.end()));
  EXPECT_EQ(Frame(f.begin() + 6, f.begin() + 12),
            Frame(kOurMac.bytes.begin(), kOurMac.bytes.end()));
  EXPECT_EQ(get16(f, 12), 0x0806);
  EXPECT_EQ(get16(f, 20), 2);  // reply
  EXPECT_EQ(Frame(f.begin() + 22, f.begin() + 28),
            Frame(kOurMac.bytes.begin(), kOurMac.bytes.end()));
  EXPECT_EQ(get32(f, 28), kOurIp);
  EXPECT_EQ(Frame(f.begin() + 32, f.begin() + 38),
            Frame(kPeerMac.bytes.begin(), kPeerMac.bytes.end()));
  EXPECT_EQ(get32(f, 38), kPeerIp);
}

TEST(EchoResponder, IgnoresArpForOthersAndRejectsMalformedArp) {
  size_t size = 0;
  Frame other = arp_request(0x0a630003);
  EXPECT_EQ(answer(other, &size), Verdict::kIgnored);
  Frame reply = arp_request(kOurIp);
  put16(reply, 20, 2);
  EXPECT_EQ(answer(reply, &size), Verdict::kIgnored);
  Frame bad = arp_request(kOurIp);
  bad[18] = 8;  // hardware address length
  EXPECT_EQ(answer(bad, &size), Verdict::kBad);
  Frame unpadded = arp_request(kOurIp, 42);  // as the kernel writes it, before any padding
  EXPECT_EQ(answer(unpadded, &size), Verdict::kArpReply);
}

TEST(EchoResponder, AnswersPingWithAValidEchoReply) {
  Frame f = icmp_echo(56);
  const Frame request = f;
  size_t size = 0;
  ASSERT_EQ(answer(f, &size), Verdict::kIcmpReply);
  EXPECT_EQ(size, 14u + 20 + 64);
  EXPECT_EQ(Frame(f.begin(), f.begin() + 6), Frame(request.begin() + 6, request.begin() + 12));
  EXPECT_EQ(get32(f, 26), kOurIp);
  EXPECT_EQ(get32(f, 30), kPeerIp);
  EXPECT_EQ(inet_checksum(f.data() + 14, 20), 0);  // IP header checksum valid
  EXPECT_EQ(f[34], 0);                             // echo reply
  EXPECT_EQ(inet_checksum(f.data() + 34, 64), 0);  // ICMP checksum valid
  EXPECT_EQ(get16(f, 38), 0xbeef);                 // identifier and sequence kept
  EXPECT_EQ(Frame(f.begin() + 42, f.begin() + 98),
            Frame(request.begin() + 42, request.begin() + 98));
}

TEST(EchoResponder, SmallPingsLoseTheirPaddingInTheReply) {
  Frame f = icmp_echo(0);  // 42 bytes of headers, padded to 60
  ASSERT_EQ(f.size(), 60u);
  size_t size = 0;
  ASSERT_EQ(answer(f, &size), Verdict::kIcmpReply);
  EXPECT_EQ(size, 42u);
}

TEST(EchoResponder, EchoesUdpToItsPortWithAValidChecksum) {
  for (bool with_checksum : {true, false}) {
    Frame f = udp(7, "hello, safenic", with_checksum);
    const Frame request = f;
    size_t size = 0;
    ASSERT_EQ(answer(f, &size), Verdict::kUdpReply);
    EXPECT_EQ(size, 14u + 20 + 8 + 14);
    EXPECT_EQ(get16(f, 34), 7);      // from the echo port
    EXPECT_EQ(get16(f, 36), 40000);  // back to the sender's
    EXPECT_EQ(get32(f, 26), kOurIp);
    EXPECT_EQ(get32(f, 30), kPeerIp);
    EXPECT_EQ(inet_checksum(f.data() + 14, 20), 0);
    if (with_checksum) {
      EXPECT_EQ(udp_checksum(f), 0);  // over the reply's own pseudo-header
    } else {
      EXPECT_EQ(get16(f, 40), 0);
    }
    EXPECT_EQ(std::string(f.begin() + 42, f.begin() + 56), "hello, safenic");
  }
}

TEST(EchoResponder, IgnoresWhatIsNotForItAndCountsBrokenPacketsAsBad) {
  size_t size = 0;
  Frame other_port = udp(9, "x");
  EXPECT_EQ(answer(other_port, &size), Verdict::kIgnored);
  Frame other_ip = icmp_echo(8, 0x0a630009);
  EXPECT_EQ(answer(other_ip, &size), Verdict::kIgnored);
  Frame fragment = icmp_echo(8);
  put16(fragment, 20, 0x2000);  // more fragments
  put16(fragment, 24, 0), put16(fragment, 24, inet_checksum(fragment.data() + 14, 20));
  EXPECT_EQ(answer(fragment, &size), Verdict::kIgnored);
  Frame reply = icmp_echo(8);
  reply[34] = 0, put16(reply, 36, 0), put16(reply, 36, inet_checksum(reply.data() + 34, 16));
  EXPECT_EQ(answer(reply, &size), Verdict::kIgnored);
  Frame ipv6(60);
  ethernet(ipv6, kOurMac, kPeerMac, 0x86dd);
  EXPECT_EQ(answer(ipv6, &size), Verdict::kIgnored);

  Frame bad_ip_sum = icmp_echo(8);
  bad_ip_sum[24] ^= 1;
  EXPECT_EQ(answer(bad_ip_sum, &size), Verdict::kBad);
  Frame bad_icmp_sum = icmp_echo(8);
  bad_icmp_sum[40] ^= 1;
  EXPECT_EQ(answer(bad_icmp_sum, &size), Verdict::kBad);
  Frame bad_udp_sum = udp(7, "payload");
  bad_udp_sum[45] ^= 1;
  EXPECT_EQ(answer(bad_udp_sum, &size), Verdict::kBad);
  Frame long_udp = udp(7, "payload", false);
  put16(long_udp, 38, 200);  // longer than the IP packet
  EXPECT_EQ(answer(long_udp, &size), Verdict::kBad);
  Frame long_ip = icmp_echo(8);
  put16(long_ip, 16, 1000), put16(long_ip, 24, 0);
  put16(long_ip, 24, inet_checksum(long_ip.data() + 14, 20));
  EXPECT_EQ(answer(long_ip, &size), Verdict::kBad);
  Frame ihl = icmp_echo(8);
  ihl[14] = 0x44;  // header shorter than 20 bytes
  EXPECT_EQ(answer(ihl, &size), Verdict::kBad);
  Frame runt(13, 0);
  EXPECT_EQ(answer(runt, &size), Verdict::kBad);
}

// Each prefix of each valid frame, in a heap buffer of exactly that size so
// that AddressSanitizer sees any read past it.
TEST(EchoResponder, NoTruncationIsAnsweredOrReadPastItsEnd) {
  const std::vector<Frame> valid = {arp_request(kOurIp, 42), icmp_echo(56), icmp_echo(0),
                                    udp(7, std::string(100, 'u'))};
  for (const Frame& full : valid) {
    size_t needed = 0;
    Frame copy = full;
    ASSERT_NE(answer(copy, &needed), Verdict::kIgnored);
    for (size_t n = 0; n < needed; ++n) {
      Frame cut(full.begin(), full.begin() + n);
      size_t size = 0;
      EXPECT_EQ(answer(cut, &size), Verdict::kBad) << "prefix of " << n << " of " << needed;
    }
  }
}

TEST(EchoResponder, RandomFramesNeverCrashAndRepliesFitTheirFrames) {
  std::mt19937 rng(7);
  int replies = 0;
  for (int i = 0; i < 200000; ++i) {
    Frame f(rng() % 120);
    for (uint8_t& b : f) b = uint8_t(rng());
    // Steer most frames past the first checks so the deeper ones get exercised.
    if (f.size() >= 14 && rng() % 4 != 0) put16(f, 12, rng() % 2 ? 0x0800 : 0x0806);
    if (f.size() >= 34 && get16(f, 12) == 0x0800 && rng() % 2) {
      f[14] = uint8_t(0x40 | (rng() % 3 == 0 ? rng() % 16 : 5));
      f[23] = rng() % 2 ? 1 : 17;
      put32(f, 30, kOurIp);
      put16(f, 20, 0);
      put16(f, 16, uint16_t(rng() % 2 ? f.size() - 14 : rng() % 200));
      put16(f, 24, 0), put16(f, 24, inet_checksum(f.data() + 14, 20));
    }
    size_t size = 0;
    const Verdict v = answer(f, &size);
    if (v == Verdict::kArpReply || v == Verdict::kIcmpReply || v == Verdict::kUdpReply) {
      ++replies;
      EXPECT_LE(size, f.size());
      EXPECT_GE(size, 42u);
    }
  }
  RecordProperty("replies", replies);
}

}  // namespace
}  // namespace safenic::examples
