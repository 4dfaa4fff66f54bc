// fwd: forwards packets both ways between two ports, like ixy-fwd, and prints
// the rate of each direction every second.
//
//   ./bazelw run //examples:fwd                       # two simulated 82599s
//   ./bazelw run //examples:fwd -- --dev0=0000:03:00.0 --dev1=0000:03:00.1 --seconds=0
//   ./bazelw run //examples:fwd -- --pcap=$PWD/traffic.pcap    # replay a capture
//   ./bazelw run //examples:fwd -- --mtu=9000 --frame_size=9014  # jumbo frames
//
// Each simulated port (sim:KIND, any registered kind, sim/catalog.h; with no spec,
// sim:82599) has a traffic source cabled to it; what one forwards reaches the
// other's source. A source sends generated UDP frames, or with --pcap the
// frames of a capture file, over and over. Forwarding nothing while sources
// were attached is an error.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/attributes.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/common.h"
#include "nic/open.h"
#include "sim/catalog.h"
#include "sim/harness/testbed.h"
#include "sim/wires/pcap.h"

ABSL_FLAG(std::string, dev0, "", "device spec of port 0 (empty: sim:82599); see the usage above");
ABSL_FLAG(std::string, dev1, "", "device spec of port 1 (empty: sim:82599)");
ABSL_FLAG(double, seconds, 5, "stop after this many seconds (0: only at Ctrl-C)");
ABSL_FLAG(uint64_t, packets, 0, "stop after forwarding this many packets (0: no limit)");
ABSL_FLAG(int, batch, 32, "packets per rx_batch/tx_batch call (1-256)");
ABSL_FLAG(int, tx_first, 0,
          "first send this many 60-byte frames out of each port (0-256), as testpmd's `start "
          "tx_first`: with a cable between the two ports they then go round and round");
ABSL_FLAG(bool, no_huge, false,
          "PCI devices through VFIO: DMA memory in 4 KiB pages, no hugepages needed (as DPDK's "
          "--no-huge)");
ABSL_FLAG(std::string, pcap, "",
          "simulated ports only: the traffic sources replay this pcap file (looping) "
          "instead of generating UDP frames");
ABSL_FLAG(uint32_t, mtu, 1500, "both ports' MTU: 68 to 9000 (jumbo frames above 1500)");
ABSL_FLAG(uint32_t, frame_size, 60,
          "simulated ports: the generated UDP frames' size, 60 to the MTU + 14 bytes");

namespace safenic::examples {
namespace {

struct Port {
  std::unique_ptr<Device> dev;
  uint64_t tx_dropped = 0;  // forwarded packets the TX ring had no room for
};

// A simulated port's traffic source: generated UDP frames or a capture's.
struct Source {
  std::unique_ptr<sim::TrafficSource> udp;
  std::unique_ptr<sim::PcapReplay> pcap;
  sim::Port& port() { return pcap ? static_cast<sim::Port&>(*pcap) : *udp; }
  void inject(size_t n) {
    if (pcap) {
      pcap->replay(n);
    } else {
      udp->inject(n);
    }
  }
  uint64_t sent() const { return pcap ? pcap->sent() : udp->sent(); }
  uint64_t received() const { return pcap ? pcap->received() : udp->received(); }
};

// One direction: receive a batch on `in`, send it on `out`, drop (and count)
// what does not fit.
// Not inlined: bench/dpdk_attribute.sh counts the instructions inside it.
ABSL_ATTRIBUTE_NOINLINE uint64_t forward(Port& in, Port& out, PacketBatch& batch) {
  auto n = in.dev->rx_batch(0, batch);
  if (!n.ok() || *n == 0) return 0;
  (void)out.dev->tx_batch(0, batch);
  out.tx_dropped += batch.size();
  batch.clear();
  return *n;
}

int run() {
  const int batch_size = absl::GetFlag(FLAGS_batch);
  if (batch_size < 1 || batch_size > 256) {
    std::fprintf(stderr, "fwd: --batch=%d; use 1 to 256\n", batch_size);
    return 2;
  }
  if (!valid_seconds(absl::GetFlag(FLAGS_seconds), "fwd")) return 2;
  const uint32_t mtu = absl::GetFlag(FLAGS_mtu);
  const uint32_t frame_size = absl::GetFlag(FLAGS_frame_size);
  if (frame_size < 60 || frame_size > mtu + kEthernetHeader) {
    std::fprintf(stderr, "fwd: --frame_size=%u; use 60 to %u (the MTU + 14)\n", frame_size,
                 mtu + kEthernetHeader);
    return 2;
  }
  // Each port: a simulated NIC (sim:KIND; no spec: sim:82599) cabled to a
  // traffic source of its own, or any other device (then no source).
  std::string specs[2] = {absl::GetFlag(FLAGS_dev0), absl::GetFlag(FLAGS_dev1)};
  const sim::SimulatedKind* kinds[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    if (specs[i].empty()) specs[i] = "sim:82599";
    if (specs[i].rfind("sim:", 0) != 0) continue;
    kinds[i] = sim::find_kind(specs[i].substr(4));
    if (kinds[i] == nullptr) {
      std::fprintf(stderr, "fwd: port %d: no simulated NIC '%s'; the kinds:\n%s", i,
                   specs[i].c_str(), sim::kinds_help().c_str());
      return 1;
    }
  }
  const bool simulated[2] = {kinds[0] != nullptr, kinds[1] != nullptr};
  const std::string pcap = user_path(absl::GetFlag(FLAGS_pcap));
  if (!pcap.empty() && !simulated[0] && !simulated[1]) {
    std::fprintf(stderr,
                 "fwd: --pcap feeds simulated ports; give one a sim: spec, or drop --pcap\n");
    return 2;
  }
  sim::Testbed bed;
  Source source[2];
  std::optional<sim::PcapFile> file;
  if (!pcap.empty()) {
    auto read = sim::PcapFile::read(pcap);
    if (!read.ok()) {
      std::fprintf(stderr, "fwd: %s\n", std::string(read.status().message()).c_str());
      return 1;
    }
    if (read->empty()) {
      std::fprintf(stderr, "fwd: %s holds no whole Ethernet frames to replay\n", pcap.c_str());
      return 1;
    }
    file = *std::move(read);
  }
  Port port[2];
  DeviceConfig config;
  config.promiscuous = true;  // forward whatever arrives, like ixy-fwd
  config.hugepages = !absl::GetFlag(FLAGS_no_huge);
  config.mtu = mtu;  // out of range: the driver says so at open
  for (int i = 0; i < 2; ++i) {
    auto dev = simulated[i] ? bed.add(kinds[i]->name, config) : open_device(specs[i], config);
    if (!dev.ok()) {
      std::fprintf(stderr, "fwd: port %d: %s\n", i, std::string(dev.status().message()).c_str());
      return 1;
    }
    port[i].dev = *std::move(dev);
    if (!simulated[i]) continue;
    if (file) {
      source[i].pcap = std::make_unique<sim::PcapReplay>(*file, /*loop=*/true);
    } else {
      source[i].udp = std::make_unique<sim::TrafficSource>(frame_size, sim::UdpFlow{});
    }
    sim::connect(source[i].port(), bed.port(simulated[0] && i == 1 ? 1 : 0));
    std::printf(
        "fwd: port %d: a simulated %s, cabled to %s\n", i, std::string(kinds[i]->what).c_str(),
        file ? absl::StrFormat("a replay of %s (%zu frames, looping)", pcap, file->size()).c_str()
             : absl::StrFormat("a traffic source of %u-byte frames", frame_size).c_str());
  }
  for (Port& p : port) {
    if (absl::Status s = p.dev->wait_for_link(absl::Seconds(10)); !s.ok()) {
      std::fprintf(stderr, "fwd: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf("fwd: %s (%s) MAC %s, link up at %d Mbit/s\n", p.dev->name().c_str(),
                std::string(p.dev->driver()).c_str(), p.dev->mac().to_string().c_str(),
                p.dev->link().speed_mbps);
  }

  const int tx_first = absl::GetFlag(FLAGS_tx_first);
  if (tx_first < 0 || tx_first > 256) {
    std::fprintf(stderr, "fwd: --tx_first=%d; use 0 to 256\n", tx_first);
    return 2;
  }
  std::vector<MempoolPtr> tx_first_pools;  // kept while their frames go round
  for (int i = 0; i < 2 && tx_first > 0; ++i) {
    auto pool = port[i].dev->create_mempool(
        {.buffers = static_cast<uint32_t>(tx_first), .tag = "fwd tx_first"});
    if (!pool.ok()) {
      std::fprintf(stderr, "fwd: --tx_first: %s\n", std::string(pool.status().message()).c_str());
      return 1;
    }
    sim::UdpFlow flow;
    flow.dst_mac = port[1 - i].dev->mac();
    Batch<256> first(tx_first);
    for (int n = 0; n < tx_first; ++n) {
      Packet p = (*pool)->alloc();
      if (p.empty() || !p.resize(60).ok()) break;
      sim::write_udp_frame(p.bytes(), flow, static_cast<uint64_t>(n));
      (void)first.push(std::move(p));
    }
    auto sent = port[i].dev->tx_batch(0, first);
    if (!sent.ok()) {
      std::fprintf(stderr, "fwd: --tx_first: %s\n", std::string(sent.status().message()).c_str());
      return 1;
    }
    tx_first_pools.push_back(*std::move(pool));
  }

  Batch<256> batch(batch_size);
  RunLimit limit(absl::GetFlag(FLAGS_seconds), absl::GetFlag(FLAGS_packets));
  QueueStats before[2] = {port[0].dev->stats()->rx_total(), port[1].dev->stats()->rx_total()};
  absl::Time last = absl::Now();
  uint64_t forwarded = 0;
  for (uint64_t iteration = 0; !limit.done(forwarded); ++iteration) {
    for (int i = 0; i < 2; ++i) {
      if (simulated[i]) source[i].inject(batch_size);
    }
    forwarded += forward(port[0], port[1], batch);
    forwarded += forward(port[1], port[0], batch);
    if ((iteration & 0xFFF) == 0 && absl::Now() - last >= absl::Seconds(1)) {
      const absl::Time now = absl::Now();
      const QueueStats now0 = port[0].dev->stats()->rx_total();
      const QueueStats now1 = port[1].dev->stats()->rx_total();
      std::printf("[port 0 -> 1] %s   [port 1 -> 0] %s\n",
                  format(rate(now0, before[0], now - last)).c_str(),
                  format(rate(now1, before[1], now - last)).c_str());
      std::fflush(stdout);
      before[0] = now0, before[1] = now1, last = now;
    }
  }
  for (int i = 0; i < 2; ++i) {
    const DeviceStats s = *port[i].dev->stats();
    std::printf("port %d: received %llu, sent %llu, RX drops %llu, TX ring full %llu\n", i,
                (unsigned long long)s.rx_total().packets, (unsigned long long)s.tx_total().packets,
                (unsigned long long)s.rx_total().drops, (unsigned long long)port[i].tx_dropped);
  }
  if (simulated[0] && simulated[1]) {
    std::printf(
        "sources: %llu of %llu frames from source 0 reached source 1; "
        "%llu of %llu from source 1 reached source 0\n",
        (unsigned long long)source[1].received(), (unsigned long long)source[0].sent(),
        (unsigned long long)source[0].received(), (unsigned long long)source[1].sent());
  }
  std::printf("fwd: forwarded %llu packets\n", (unsigned long long)forwarded);
  if (forwarded == 0 && (simulated[0] || simulated[1])) {
    std::fprintf(stderr,
                 "fwd: traffic sources were attached, but nothing was forwarded: the "
                 "ports dropped every frame before a driver saw it (oversize, filtered or no "
                 "buffer; each device's stats() counters say which)\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace safenic::examples

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "forwards packets both ways between two ports and prints the rate each second.\n\n"
      "  fwd [--dev0=SPEC] [--dev1=SPEC] [--seconds=N] [--packets=N] [--batch=N] [--pcap=FILE]\n\n"
      "A SPEC is a PCI address (0000:03:00.0), vhost-user:/path/to.sock, or a simulated NIC,\n"
      "which gets a traffic source of its own (mixed pairs work):\n" +
      safenic::sim::kinds_help());
  absl::ParseCommandLine(argc, argv);
  return safenic::examples::run();
}
