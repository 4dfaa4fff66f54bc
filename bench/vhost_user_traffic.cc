// safenic's virtio driver as a vhost-user front-end, sending or receiving as
// fast as it can for a while: one side of bench/virtio_dpdk_bench.sh, which
// runs DPDK's virtio-user PMD in the same place for comparison. The rate is
// measured by the back-end (the same testpmd for both front-ends); this
// program prints its own count as a cross-check.
//
//   vhost_user_traffic --socket=/tmp/vu.sock --mode=tx|rx [--ring=split|packed]
//                      [--seconds=10] [--burst=32] [--size=64] [--hugepages]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <x86intrin.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "mem/batch.h"
#include "nic/open.h"
#include "nic/vhost_user/function.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/virtio_net.h"
#include "sim/harness/frames.h"

namespace safenic {
namespace {

struct Args {
  std::string socket;
  bool tx = true;
  bool packed = true;
  bool hugepages = false;
  int seconds = 10;
  int burst = 32;
  int size = 64;
};

int fail(const std::string& what) {
  std::fprintf(stderr, "vhost_user_traffic: %s\n", what.c_str());
  return 1;
}

int run(const Args& a) {
  vhost_user::Options options;
  if (!a.packed) options.withheld_features = virtio::feature::bit(virtio::feature::kRingPacked);
  if (a.hugepages) options.backing = Backing::kHugepage2M;
  auto fn = vhost_user::open_function(a.socket, options);
  if (!fn.ok()) return fail(fn.status().ToString());
  DeviceConfig config;
  config.rx_ring_size = config.tx_ring_size = 1024;
  config.buffers_per_rx_queue = 4096;
  auto dev = open_device(*std::move(fn), config);
  if (!dev.ok()) return fail(dev.status().ToString());
  Device& nic = **dev;
  if (absl::Status s = nic.wait_for_link(absl::Seconds(5)); !s.ok()) return fail(s.ToString());
  const bool packed =
      virtio::negotiated_features(nic) & virtio::feature::bit(virtio::feature::kRingPacked);
  auto pool = nic.create_mempool({.buffers = 8192, .tag = "tx"});
  if (!pool.ok()) return fail(pool.status().ToString());
  if (static_cast<size_t>(a.size) > (*pool)->data_room())
    return fail("--size: larger than a buffer");
  // The frame testpmd's txonly sends: Ethernet, IPv4 and UDP headers (42
  // bytes, copied into every packet as txonly does), then zeros.
  sim::UdpFlow flow;
  flow.dst_mac = MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  flow.src_mac = nic.mac();
  const std::vector<uint8_t> frame = sim::udp_frame(static_cast<size_t>(a.size), flow, 0);
  constexpr size_t kHeaders = 14 + 20 + 8;
  const absl::Duration duration = absl::Seconds(a.seconds);
  Batch<64> batch(static_cast<size_t>(a.burst));
  uint64_t packets = 0;
  // The loop is testpmd's txonly or rxonly forwarding loop, done with
  // safenic, and timed as testpmd's --record-core-cycles times its own:
  // TX every call (fresh packets, headers written, sent, unsent ones
  // freed), RX the calls that received something (received, freed).
  uint64_t iterations = 0, idle = 0, busy_cycles = 0;
  const absl::Time start = absl::Now();
  const uint64_t start_tsc = __rdtsc();
  const absl::Time end = start + duration;
  for (absl::Time now = start; now < end; ++iterations) {
    const uint64_t t0 = __rdtsc();
    size_t moved;
    if (a.tx) {
      (*pool)->alloc_bulk(batch, static_cast<size_t>(a.burst));
      for (Packet& p : batch) {
        (void)p.resize(frame.size());
        std::memcpy(p.data(), frame.data(), kHeaders);
      }
      moved = *nic.tx_batch(0, batch);
      batch.clear();  // unsent: freed, as txonly does
    } else {
      moved = *nic.rx_batch(0, batch);
      batch.clear();
    }
    if (a.tx || moved != 0) busy_cycles += __rdtsc() - t0;
    packets += moved;
    idle += moved == 0;
    if ((iterations & 1023) == 0) now = absl::Now();
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double tsc_hz = static_cast<double>(__rdtsc() - start_tsc) / seconds;
  std::printf("safenic %s %s: %llu packets in %.2f s = %.2f Mpps (own count)\n", a.tx ? "tx" : "rx",
              packed ? "packed" : "split", static_cast<unsigned long long>(packets), seconds,
              packets / seconds / 1e6);
  // Who limits the rate: a front-end that keeps up finds most calls idle or
  // short of a full burst; one that does not finds full bursts every time.
  std::printf("calls %llu, idle %.1f%%, %.1f packets per busy call (burst %d)\n",
              static_cast<unsigned long long>(iterations), 100.0 * idle / iterations,
              static_cast<double>(packets) / std::max<uint64_t>(iterations - idle, 1), a.burst);
  // The same line as testpmd's, for bench/virtio_dpdk_bench.sh.
  std::printf("CPU cycles/packet=%.2f at %.0f MHz Clock\n",
              static_cast<double>(busy_cycles) / std::max<uint64_t>(packets, 1), tsc_hz / 1e6);
  return 0;
}

}  // namespace
}  // namespace safenic

int main(int argc, char** argv) {
  safenic::Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* key) -> const char* {
      return absl::StartsWith(arg, key) ? argv[i] + std::strlen(key) : nullptr;
    };
    if (const char* v = value("--socket=")) {
      a.socket = v;
    } else if (const char* v = value("--mode=")) {
      a.tx = std::strcmp(v, "rx") != 0;
    } else if (const char* v = value("--ring=")) {
      a.packed = std::strcmp(v, "split") != 0;
    } else if (const char* v = value("--seconds=")) {
      if (!absl::SimpleAtoi(v, &a.seconds)) return safenic::fail("bad --seconds");
    } else if (const char* v = value("--burst=")) {
      if (!absl::SimpleAtoi(v, &a.burst) || a.burst < 1 || a.burst > 64)
        return safenic::fail("--burst: 1-64");
    } else if (const char* v = value("--size=")) {
      if (!absl::SimpleAtoi(v, &a.size) || a.size < 60) return safenic::fail("--size: at least 60");
    } else if (arg == "--hugepages") {
      a.hugepages = true;
    } else {
      return safenic::fail("unknown argument " + arg +
                           "; use --socket=PATH --mode=tx|rx [--ring=split|packed] "
                           "[--seconds=N] [--burst=N] [--size=N] [--hugepages]");
    }
  }
  if (a.socket.empty()) return safenic::fail("--socket=PATH is required");
  return safenic::run(a);
}
