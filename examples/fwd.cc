// fwd: forwards packets both ways between two ports, like ixy-fwd, and prints
// the rate of each direction every second.
//
//   ./bazelw run //examples:fwd                       # two simulated 82599s
//   ./bazelw run //examples:fwd -- --dev0=0000:03:00.0 --dev1=0000:03:00.1 --seconds=0
//
// With no device specs, two simulated 82599s each have a traffic source
// cabled to them; what one forwards reaches the other's source.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common.h"
#include "nic/open.h"
#include "sim/testbed.h"

ABSL_FLAG(std::string, dev0, "", "device spec of port 0 (empty: a simulated 82599)");
ABSL_FLAG(std::string, dev1, "", "device spec of port 1 (empty: a simulated 82599)");
ABSL_FLAG(double, seconds, 5, "stop after this many seconds (0: only at Ctrl-C)");
ABSL_FLAG(uint64_t, packets, 0, "stop after forwarding this many packets (0: no limit)");
ABSL_FLAG(int, batch, 32, "packets per rx_batch/tx_batch call (1-256)");

namespace safenic::examples {
namespace {

struct Port {
  std::unique_ptr<Device> dev;
  uint64_t tx_dropped = 0;  // forwarded packets the TX ring had no room for
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
  sim::Testbed bed;
  sim::TrafficSource source0(60, {}), source1(60, {});
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
    sim::connect(source0, bed.port(0));
    sim::connect(source1, bed.port(1));
    std::printf("fwd: two simulated 82599s, each cabled to a traffic source of 60-byte frames\n");
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
      source0.inject(batch_size);
      source1.inject(batch_size);
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
                (unsigned long long)source1.received(), (unsigned long long)source0.sent(),
                (unsigned long long)source0.received(), (unsigned long long)source1.sent());
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
