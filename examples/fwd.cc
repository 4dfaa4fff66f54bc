// fwd: forwards packets both ways between two ports, like ixy-fwd, and prints
// the rate of each direction every second.
//
//   ./bazelw run //examples:fwd                       # two simulated 82599s
//   ./bazelw run //examples:fwd -- --dev0=0000:03:00.0 --dev1=0000:03:00.1 --seconds=0
//   ./bazelw run //examples:fwd -- --pcap=$PWD/traffic.pcap    # replay a capture
//
// With no device specs, two simulated 82599s each have a traffic source
// cabled to them; what one forwards reaches the other's source. A source sends
// generated UDP frames, or with --pcap the frames of a capture file, over and
// over.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common.h"
#include "nic/open.h"
#include "sim/pcap.h"
#include "sim/testbed.h"

ABSL_FLAG(std::string, dev0, "", "device spec of port 0 (empty: a simulated 82599)");
ABSL_FLAG(std::string, dev1, "", "device spec of port 1 (empty: a simulated 82599)");
ABSL_FLAG(double, seconds, 5, "stop after this many seconds (0: only at Ctrl-C)");
ABSL_FLAG(uint64_t, packets, 0, "stop after forwarding this many packets (0: no limit)");
ABSL_FLAG(int, batch, 32, "packets per rx_batch/tx_batch call (1-256)");
ABSL_FLAG(std::string, pcap, "",
          "simulated ports only: the traffic sources replay this pcap file (looping) "
          "instead of generating 60-byte UDP frames");

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
uint64_t forward(Port& in, Port& out, PacketBatch& batch) {
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
  const bool simulated = absl::GetFlag(FLAGS_dev0).empty() && absl::GetFlag(FLAGS_dev1).empty();
  const std::string pcap = absl::GetFlag(FLAGS_pcap);
  if (!pcap.empty() && !simulated) {
    std::fprintf(stderr, "fwd: --pcap feeds simulated ports; drop --dev0/--dev1 or --pcap\n");
    return 2;
  }
  sim::Testbed bed;
  Source source[2];
  if (pcap.empty()) {
    for (Source& s : source) s.udp = std::make_unique<sim::TrafficSource>(60, sim::UdpFlow{});
  } else {
    auto file = sim::PcapFile::read(pcap);
    if (!file.ok()) {
      std::fprintf(stderr, "fwd: %s\n", std::string(file.status().message()).c_str());
      return 1;
    }
    if (file->empty()) {
      std::fprintf(stderr, "fwd: %s holds no whole Ethernet frames to replay\n", pcap.c_str());
      return 1;
    }
    source[0].pcap = std::make_unique<sim::PcapReplay>(*file, /*loop=*/true);
    source[1].pcap = std::make_unique<sim::PcapReplay>(*std::move(file), /*loop=*/true);
  }
  Port port[2];
  DeviceConfig config;
  config.promiscuous = true;  // forward whatever arrives, like ixy-fwd
  for (int i = 0; i < 2; ++i) {
    const std::string spec = i == 0 ? absl::GetFlag(FLAGS_dev0) : absl::GetFlag(FLAGS_dev1);
    auto dev = simulated ? bed.add_82599(config) : open_device(spec, config);
    if (!dev.ok()) {
      std::fprintf(stderr, "fwd: port %d: %s\n", i, std::string(dev.status().message()).c_str());
      return 1;
    }
    port[i].dev = *std::move(dev);
  }
  if (simulated) {
    sim::connect(source[0].port(), bed.port(0));
    sim::connect(source[1].port(), bed.port(1));
    if (pcap.empty()) {
      std::printf("fwd: two simulated 82599s, each cabled to a traffic source of 60-byte frames\n");
    } else {
      std::printf("fwd: two simulated 82599s, each cabled to a replay of %s (%zu frames, looping)\n",
                  pcap.c_str(), source[0].pcap->file().size());
    }
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

  Batch<256> batch(batch_size);
  RunLimit limit(absl::GetFlag(FLAGS_seconds), absl::GetFlag(FLAGS_packets));
  QueueStats before[2] = {port[0].dev->stats()->rx_total(), port[1].dev->stats()->rx_total()};
  absl::Time last = absl::Now();
  uint64_t forwarded = 0;
  for (uint64_t iteration = 0; !limit.done(forwarded); ++iteration) {
    if (simulated) {
      source[0].inject(batch_size);
      source[1].inject(batch_size);
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
  if (simulated) {
    std::printf("sources: %llu of %llu frames from source 0 reached source 1; "
                "%llu of %llu from source 1 reached source 0\n",
                (unsigned long long)source[1].received(), (unsigned long long)source[0].sent(),
                (unsigned long long)source[0].received(), (unsigned long long)source[1].sent());
  }
  std::printf("fwd: forwarded %llu packets\n", (unsigned long long)forwarded);
  return 0;
}

}  // namespace
}  // namespace safenic::examples

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return safenic::examples::run();
}
