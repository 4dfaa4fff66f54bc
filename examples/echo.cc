// echo: a small network service on the Device API. It answers ARP requests
// for its IPv4 address and ICMP echo requests (so ping works), and sends UDP
// datagrams to --udp_port back to where they came from. It prints what it did
// every second.
//
//   sudo ./bazel-bin/examples/echo --tap=safenic0       # a simulated 82599 on a TAP
//   sudo ip addr add 10.99.0.1/24 dev safenic0 && sudo ip link set safenic0 up
//   ping 10.99.0.2
//
// By default the NIC is a simulated 82599 whose cable is a Linux TAP
// interface (creating one needs CAP_NET_ADMIN), so the kernel's own stack,
// ping and sockets talk to the driver. --dev=SPEC runs it on another device
// instead. --capture=FILE writes every frame on the simulated cable to a
// pcap file for Wireshark. Stops at Ctrl-C (or SIGTERM) or after --seconds.
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "examples/common.h"
#include "examples/echo_responder.h"
#include "nic/open.h"
#include "sim/catalog.h"
#include "sim/harness/testbed.h"
#include "sim/wires/pcap.h"
#include "sim/wires/tap.h"

ABSL_FLAG(std::string, dev, "", "device spec (empty: a simulated 82599 cabled to a TAP)");
ABSL_FLAG(std::string, tap, "safenic0", "TAP interface for the simulated NIC's cable");
ABSL_FLAG(std::string, ip, "10.99.0.2", "IPv4 address to answer ARP, ping and UDP for");
ABSL_FLAG(int, udp_port, 7, "UDP port whose datagrams are echoed (1-65535)");
ABSL_FLAG(std::string, capture, "", "also write the simulated cable's frames to this pcap file");
ABSL_FLAG(double, seconds, 0, "stop after this many seconds (0: only at Ctrl-C)");
ABSL_FLAG(bool, quiet, false, "print only the summary at the end, not every second");

namespace safenic::examples {
namespace {

absl::StatusOr<uint32_t> parse_ipv4(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  uint32_t ip = 0;
  int octet = 0;
  for (absl::string_view p : parts) {
    if (parts.size() != 4 || p.empty() || p.size() > 3 || !absl::SimpleAtoi(p, &octet) ||
        octet < 0 || octet > 255) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--ip=%s is not an IPv4 address like 10.99.0.2", text));
    }
    ip = ip << 8 | static_cast<uint32_t>(octet);
  }
  return ip;
}

struct Counts {
  uint64_t received = 0, arp = 0, icmp = 0, udp = 0, ignored = 0, bad = 0, tx_full = 0;
  uint64_t replies() const { return arp + icmp + udp; }
};

std::string format(const Counts& c) {
  return absl::StrFormat(
      "received %d, replied %d (arp %d, icmp %d, udp %d), ignored %d, bad %d, TX ring full %d",
      c.received, c.replies(), c.arp, c.icmp, c.udp, c.ignored, c.bad, c.tx_full);
}

Counts operator-(const Counts& a, const Counts& b) {
  return {a.received - b.received, a.arp - b.arp, a.icmp - b.icmp,      a.udp - b.udp,
          a.ignored - b.ignored,   a.bad - b.bad, a.tx_full - b.tx_full};
}

int fail(const absl::Status& s) {
  std::fprintf(stderr, "echo: %s\n", std::string(s.message()).c_str());
  return 1;
}

int run() {
  auto ip = parse_ipv4(absl::GetFlag(FLAGS_ip));
  if (!ip.ok())
    return std::fprintf(stderr, "echo: %s\n", std::string(ip.status().message()).c_str()), 2;
  const int udp_port = absl::GetFlag(FLAGS_udp_port);
  if (udp_port < 1 || udp_port > 65535) {
    std::fprintf(stderr, "echo: --udp_port=%d; use 1 to 65535\n", udp_port);
    return 2;
  }
  const bool simulated = absl::GetFlag(FLAGS_dev).empty();
  if (!simulated && !absl::GetFlag(FLAGS_capture).empty()) {
    std::fprintf(stderr, "echo: --capture works on the simulated cable; drop --dev or --capture\n");
    return 2;
  }

  // The simulated NIC and its cable: NIC - [capture] - TAP.
  sim::Testbed bed;
  std::unique_ptr<sim::TapPort> tap;
  std::unique_ptr<sim::PcapTap> capture;
  DeviceConfig config;
  config.rx_ring_size = 256;
  config.tx_ring_size = 256;
  config.buffers_per_rx_queue = 1024;
  auto opened =
      simulated ? bed.add("82599", config) : open_device(absl::GetFlag(FLAGS_dev), config);
  if (!opened.ok()) return fail(opened.status());
  std::unique_ptr<Device> dev = *std::move(opened);
  if (simulated) {
    auto t = sim::TapPort::open(absl::GetFlag(FLAGS_tap));
    if (!t.ok()) return fail(t.status());
    tap = *std::move(t);
    if (!absl::GetFlag(FLAGS_capture).empty()) {
      auto c = sim::PcapTap::create(user_path(absl::GetFlag(FLAGS_capture)));
      if (!c.ok()) return fail(c.status());
      capture = *std::move(c);
      sim::connect(bed.port(0), capture->a());
      sim::connect(capture->b(), *tap);
    } else {
      sim::connect(bed.port(0), *tap);
    }
  }
  if (absl::Status s = dev->wait_for_link(absl::Seconds(10)); !s.ok()) return fail(s);

  const EchoConfig cfg{dev->mac(), *ip, static_cast<uint16_t>(udp_port)};
  std::printf("echo: %s (%s) MAC %s answers ARP and ping for %s and echoes UDP port %d\n",
              dev->name().c_str(), std::string(dev->driver()).c_str(),
              dev->mac().to_string().c_str(), absl::GetFlag(FLAGS_ip).c_str(), udp_port);
  if (tap) {
    std::printf(
        "echo: cabled to TAP %s%s; give the kernel's side an address, e.g.\n"
        "  ip addr add %d.%d.%d.1/24 dev %s && ip link set %s up\n",
        tap->name().c_str(),
        capture ? absl::StrFormat(" through a capture to %s", capture->writer().path()).c_str()
                : "",
        *ip >> 24, (*ip >> 16) & 255, (*ip >> 8) & 255, tap->name().c_str(), tap->name().c_str());
  }
  std::fflush(stdout);

  std::signal(SIGTERM, [](int) { g_interrupted = true; });
  if (!valid_seconds(absl::GetFlag(FLAGS_seconds), "echo")) return 2;
  RunLimit limit(absl::GetFlag(FLAGS_seconds), 0);
  const bool quiet = absl::GetFlag(FLAGS_quiet);
  Batch<64> rx, tx;
  Counts counts, last_counts;
  absl::Time last = absl::Now();
  while (!limit.done(0)) {
    const size_t from_kernel = tap ? tap->poll() : 0;
    auto n = dev->rx_batch(0, rx);
    const size_t received = n.ok() ? *n : 0;
    counts.received += received;
    for (Packet& p : rx) {
      size_t reply_size = 0;
      switch (answer(cfg, p.bytes(), &reply_size)) {
        case Verdict::kArpReply: ++counts.arp; break;
        case Verdict::kIcmpReply: ++counts.icmp; break;
        case Verdict::kUdpReply: ++counts.udp; break;
        case Verdict::kIgnored: ++counts.ignored; continue;
        case Verdict::kBad: ++counts.bad; continue;
      }
      if (!p.resize(reply_size).ok()) continue;  // never larger: cannot fail
      tx.push(std::move(p));
    }
    rx.clear();  // what was not answered goes back to its pool
    if (!tx.empty()) {
      (void)dev->tx_batch(0, tx);
      counts.tx_full += tx.size();
      tx.clear();
    }
    const absl::Time now = absl::Now();
    if (now - last >= absl::Seconds(1)) {
      if (!quiet) std::printf("echo: last second: %s\n", format(counts - last_counts).c_str());
      std::fflush(stdout);
      if (capture) (void)capture->flush();  // a live reader (a FIFO into Wireshark) sees it now
      last_counts = counts, last = now;
    }
    // Idle with a TAP: sleep until the kernel sends something (a real device
    // is polled without pause, as poll-mode drivers are).
    if (tap && from_kernel == 0 && received == 0) tap->wait(absl::Milliseconds(50));
  }
  std::printf("echo: total: %s\n", format(counts).c_str());
  if (tap) {
    std::printf("echo: TAP %s: %llu frames from the kernel, %llu to it, %llu refused\n",
                tap->name().c_str(), (unsigned long long)tap->from_kernel(),
                (unsigned long long)tap->to_kernel(), (unsigned long long)tap->write_errors());
  }
  if (capture) {
    absl::Status s = capture->close();
    if (!s.ok()) return fail(s);
    std::printf("echo: wrote %llu frames to %s\n", (unsigned long long)capture->frames(),
                capture->writer().path().c_str());
  }
  return 0;
}

}  // namespace
}  // namespace safenic::examples

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "answers ARP requests and ICMP echo requests (ping) on one port; see --help for the flags.\n"
      "A device spec is a PCI address (0000:03:00.0), vhost-user:/path/to.sock, or a simulated\n"
      "NIC:\n" +
      safenic::sim::kinds_help());
  absl::ParseCommandLine(argc, argv);
  return safenic::examples::run();
}
