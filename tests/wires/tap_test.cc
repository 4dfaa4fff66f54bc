// TapPort against the real Linux stack, in a network namespace of its own
// (unshare(CLONE_NEWNET): nothing outside the test process sees it, and it
// goes away with the process). Frames go both ways through the kernel: an
// ARP request the kernel sends, our ARP reply, then the UDP datagram the
// kernel held back for it. Skips, saying why, where namespaces or
// /dev/net/tun are not permitted.
#include "sim/wires/tap.h"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/harness/frames.h"

namespace safenic::sim {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kKernelIp = 0x0a630101;  // 10.99.1.1, the kernel's side
constexpr uint32_t kPeerIp = 0x0a630102;    // 10.99.1.2, the simulated side
const MacAddress kPeerMac{{0x02, 0, 0, 0, 0x82, 0x01}};

// Runs the whole test binary in a fresh network namespace (once).
const char* enter_namespace() {
  static const std::string* reason = [] {
    if (::unshare(CLONE_NEWNET) != 0) {
      return new std::string("cannot create a network namespace (unshare(CLONE_NEWNET): " +
                             std::string(std::strerror(errno)) + "); run as root");
    }
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
      return new std::string("/dev/net/tun is not there or not permitted");
    }
    return new std::string();
  }();
  return reason->empty() ? nullptr : reason->c_str();
}

#define SKIP_WITHOUT_NAMESPACE()                             \
  if (const char* why = enter_namespace(); why != nullptr) { \
    GTEST_SKIP() << "SKIPPED: " << why;                      \
  }

int ifflags(const std::string& name, int set = 0) {
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int flags = -1;
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    if (set != 0) {
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | set);
      if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
        ADD_FAILURE() << "SIOCSIFFLAGS: " << std::strerror(errno);
    }
    flags = ifr.ifr_flags;
  }
  ::close(s);
  return flags;
}

void set_address(const std::string& name, uint32_t ip, uint32_t mask) {
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(ip);
  EXPECT_EQ(::ioctl(s, SIOCSIFADDR, &ifr), 0) << std::strerror(errno);
  sin->sin_addr.s_addr = htonl(mask);
  EXPECT_EQ(::ioctl(s, SIOCSIFNETMASK, &ifr), 0) << std::strerror(errno);
  ::close(s);
}

// The kernel's receive counter for an interface (/proc/net/dev follows our namespace).
uint64_t kernel_rx_packets(const std::string& name) {
  std::ifstream in("/proc/self/net/dev");
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = absl::StrSplit(line, absl::ByAnyChar(" :"), absl::SkipEmpty());
    if (f.size() > 2 && f[0] == name) return std::stoull(f[2]);
  }
  return ~uint64_t{0};
}

// Waits up to 3 s for the interface's operational state (IFF_RUNNING: up
// with carrier) to become `running`; the kernel updates it asynchronously.
bool await_running(const std::string& name, bool running) {
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  while (((ifflags(name) & IFF_RUNNING) != 0) != running && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  return ((ifflags(name) & IFF_RUNNING) != 0) == running;
}

// Polls until the peer has received a frame of `ethertype`, for up to 3 s.
const std::vector<uint8_t>* await(TapPort& tap, TesterPort& peer, uint16_t ethertype) {
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  size_t seen = 0;
  while (absl::Now() < deadline) {
    tap.wait(absl::Milliseconds(100));
    tap.poll();
    for (; seen < peer.frames().size(); ++seen) {
      const auto& f = peer.frames()[seen];
      if (f.size() >= 14 && (f[12] << 8 | f[13]) == ethertype) return &f;
    }
  }
  return nullptr;
}

TEST(TapPortTest, ANameTooLongForLinuxIsRefusedUpFront) {
  auto tap = TapPort::open("a-name-of-sixteen");
  EXPECT_EQ(tap.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tap.status().message()), HasSubstr("at most 15"));
}

TEST(TapPortTest, WithoutCapNetAdminTheErrorSaysWhatToDo) {
  SKIP_WITHOUT_NAMESPACE();
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child drops CAP_NET_ADMIN, then tries
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &hdr, data) != 0) ::_exit(3);
    data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
    if (::syscall(SYS_capset, &hdr, data) != 0) ::_exit(3);
    auto tap = TapPort::open("snperm0");
    const std::string message(tap.status().message());
    (void)!::write(out[1], message.data(), message.size());
    ::_exit(tap.status().code() == absl::StatusCode::kPermissionDenied ? 0 : 1);
  }
  ::close(out[1]);
  std::string message(512, '\0');
  const ssize_t n = ::read(out[0], message.data(), message.size());
  message.resize(n > 0 ? static_cast<size_t>(n) : 0);
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_NE(WEXITSTATUS(status), 3) << "could not drop CAP_NET_ADMIN";
  EXPECT_EQ(WEXITSTATUS(status), 0) << message;
  EXPECT_THAT(message, HasSubstr("cannot create TAP interface 'snperm0'"));
  EXPECT_THAT(message, HasSubstr("need CAP_NET_ADMIN: run as root"));
}

TEST(TapPortTest, TheKernelNamesItWhenWeDoNot) {
  SKIP_WITHOUT_NAMESPACE();
  auto tap = TapPort::open();
  ASSERT_TRUE(tap.ok()) << tap.status();
  EXPECT_THAT((*tap)->name(), HasSubstr("tap"));
  EXPECT_GE(ifflags((*tap)->name()), 0);
  const std::string name = (*tap)->name();
  tap->reset();
  EXPECT_EQ(ifflags(name), -1);  // gone with the port
}

TEST(TapPortTest, AnInterfaceOfAnotherKindIsAClearError) {
  SKIP_WITHOUT_NAMESPACE();
  auto tap = TapPort::open("lo");  // exists, and is no TAP
  EXPECT_FALSE(tap.ok());
  EXPECT_THAT(std::string(tap.status().message()), HasSubstr("cannot create TAP interface 'lo'"));
}

TEST(TapPortTest, FramesCrossTheKernelBothWaysAndCarrierFollowsTheCable) {
  SKIP_WITHOUT_NAMESPACE();
  auto opened = TapPort::open("sntap0");
  ASSERT_TRUE(opened.ok()) << opened.status();
  TapPort& tap = **opened;
  EXPECT_EQ(tap.name(), "sntap0");
  ASSERT_GE(ifflags("sntap0", IFF_UP), 0);
  set_address("sntap0", kKernelIp, 0xffffff00);

  // No cable: no carrier.
  EXPECT_TRUE(await_running("sntap0", false)) << "carrier without a cable";
  TesterPort peer;
  connect(peer, tap);
  EXPECT_TRUE(await_running("sntap0", true)) << "carrier did not come up with the cable";

  // Kernel -> peer: a datagram to 10.99.1.2 makes the kernel ask who has it.
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(5678);
  to.sin_addr.s_addr = htonl(kPeerIp);
  const char payload[] = "through the kernel";
  ASSERT_EQ(::sendto(s, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(sizeof payload))
      << std::strerror(errno);
  ::close(s);
  const std::vector<uint8_t>* arp = await(tap, peer, 0x0806);
  ASSERT_NE(arp, nullptr) << "no ARP request from the kernel";
  ASSERT_EQ(arp->size(), 60u);  // 42 bytes from the kernel, padded like a real MAC pads
  const uint8_t* a = arp->data() + 14;
  EXPECT_EQ(a[7], 1);  // request
  EXPECT_EQ(uint32_t{a[24]} << 24 | a[25] << 16 | a[26] << 8 | a[27], kPeerIp);
  EXPECT_EQ(std::vector<uint8_t>(arp->begin() + 42, arp->end()), std::vector<uint8_t>(18, 0));

  // Peer -> kernel: the ARP reply; the kernel then sends the datagram it held.
  std::vector<uint8_t> reply(42);
  std::memcpy(reply.data(), arp->data() + 6, 6);  // to the kernel's MAC
  std::memcpy(reply.data() + 6, kPeerMac.bytes.data(), 6);
  reply[12] = 0x08, reply[13] = 0x06;
  const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 2};
  std::memcpy(reply.data() + 14, hdr, 8);
  std::memcpy(reply.data() + 22, kPeerMac.bytes.data(), 6);
  std::memcpy(reply.data() + 28, a + 24, 4);  // 10.99.1.2 is at kPeerMac
  std::memcpy(reply.data() + 32, a + 8, 10);  // to the asker's MAC and IP
  const uint64_t rx_before = kernel_rx_packets("sntap0");
  peer.send(reply);
  EXPECT_EQ(tap.to_kernel(), 1u);
  EXPECT_EQ(tap.write_errors(), 0u);
  EXPECT_EQ(kernel_rx_packets("sntap0"), rx_before + 1);

  const std::vector<uint8_t>* ip = await(tap, peer, 0x0800);
  ASSERT_NE(ip, nullptr) << "the kernel did not send the datagram after our ARP reply";
  ASSERT_GE(ip->size(), kUdpHeaders + sizeof payload);
  EXPECT_EQ(std::vector<uint8_t>(ip->begin(), ip->begin() + 6),
            std::vector<uint8_t>(kPeerMac.bytes.begin(), kPeerMac.bytes.end()));
  EXPECT_EQ((*ip)[23], 17);
  EXPECT_EQ(std::string(ip->begin() + kUdpHeaders, ip->begin() + kUdpHeaders + sizeof payload),
            std::string(payload, sizeof payload));
  EXPECT_GE(tap.from_kernel(), 2u);
  EXPECT_EQ(tap.read_errors(), 0u);

  // Unplugged: carrier goes.
  disconnect(tap);
  EXPECT_TRUE(await_running("sntap0", false)) << "carrier stayed up without a cable";
}

TEST(TapPortTest, FramesTheKernelRefusesAreCounted) {
  SKIP_WITHOUT_NAMESPACE();
  auto tap = TapPort::open("sntap1");  // left down: the kernel takes nothing
  ASSERT_TRUE(tap.ok()) << tap.status();
  TesterPort peer;
  connect(peer, **tap);
  peer.send(udp_frame(60, {}, 1));
  EXPECT_EQ((*tap)->to_kernel() + (*tap)->write_errors(), 1u);
  EXPECT_EQ((*tap)->poll(), 0u);  // nothing from a down interface, and no blocking
}

}  // namespace
}  // namespace safenic::sim
