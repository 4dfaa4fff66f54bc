// Forwarding through a driver between two simulated NICs of one kind (82599s
// with ixgbe, virtio-net devices with virtio, ConnectX-5s with mlx5): a traffic source injects
// `batch` frames into NIC 0, the loop receives them there and sends them on
// NIC 1, whose wire ends in a counter. Reported per forwarded packet, in ns and
// TSC cycles, at batch sizes 1, 8, 32, 64. The time includes the models' work;
// bench/attribute.sh separates the driver's share with callgrind.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "bench/cycles.h"
#include "benchmark/benchmark.h"
#include "mem/batch.h"
#include "nic/device.h"
#include "sim/harness/testbed.h"
#include "sim/mlx5/model.h"
#include "sim/virtio/model.h"

namespace safenic {
namespace {

template <typename T>
T must(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", v.status().ToString().c_str());
    std::abort();
  }
  return *std::move(v);
}

// Kept out of line so callgrind can attribute the driver's work: these two
// calls are all the driver does per batch.
__attribute__((noinline)) size_t forward_batch(Device& in, Device& out, PacketBatch& batch) {
  const size_t n = *in.rx_batch(0, batch);
  (void)out.tx_batch(0, batch);
  batch.clear();  // whatever the TX ring had no room for
  return n;
}

enum class Kind { kIxgbe, kVirtio, kMlx5, kMlx5Cx4Lx };

template <Kind kKind>
void BM_Forward(benchmark::State& state) {
  const size_t batch_size = static_cast<size_t>(state.range(0));
  sim::Testbed bed;
  bed.context().iommu->set_buffer_tracking(false);  // as on hardware
  DeviceConfig config;
  config.promiscuous = true;
  auto add = [&] {
    return kKind == Kind::kVirtio ? bed.add("virtio", config)
           : kKind == Kind::kMlx5 ? bed.add("cx5", config)
           : kKind == Kind::kMlx5Cx4Lx
               ? bed.add<sim::ConnectXModel>(sim::ConnectXProfile::cx4lx(), config)
               : bed.add("82599", config);
  };
  auto in = must(add());
  auto out = must(add());
  sim::TrafficSource source(60, {});
  sim::TesterPort sink(/*keep_frames=*/false);
  sim::connect(source, bed.port(0));
  sim::connect(bed.port(1), sink);
  if (!in->wait_for_link(absl::Seconds(1)).ok() || !out->wait_for_link(absl::Seconds(1)).ok()) {
    state.SkipWithError("link down");
    return;
  }
  Batch<64> batch(batch_size);
  uint64_t forwarded = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = bench::rdtsc();
  for (auto _ : state) {
    source.inject(batch_size);
    forwarded += forward_batch(*in, *out, batch);
  }
  const uint64_t c1 = bench::rdtsc();
  const std::chrono::duration<double, std::nano> ns = std::chrono::steady_clock::now() - t0;
  if (sink.received() != forwarded || forwarded != state.iterations() * batch_size) {
    state.SkipWithError("frames were lost");
  }
  state.SetItemsProcessed(static_cast<int64_t>(forwarded));
  state.counters["ns/pkt"] = ns.count() / forwarded;
  state.counters["cycles/pkt"] = static_cast<double>(c1 - c0) / forwarded;
  state.counters["tsc_ghz"] = bench::tsc_ghz();
}
void BM_ForwardIxgbe(benchmark::State& state) { BM_Forward<Kind::kIxgbe>(state); }
void BM_ForwardVirtio(benchmark::State& state) { BM_Forward<Kind::kVirtio>(state); }
void BM_ForwardMlx5(benchmark::State& state) { BM_Forward<Kind::kMlx5>(state); }
// ConnectX-4 Lx: one SEND WQE per frame with the L2 header inline.
void BM_ForwardMlx5Cx4Lx(benchmark::State& state) { BM_Forward<Kind::kMlx5Cx4Lx>(state); }
BENCHMARK(BM_ForwardIxgbe)->Arg(1)->Arg(8)->Arg(32)->Arg(64);
BENCHMARK(BM_ForwardVirtio)->Arg(1)->Arg(8)->Arg(32)->Arg(64);
BENCHMARK(BM_ForwardMlx5)->Arg(1)->Arg(8)->Arg(32)->Arg(64);
BENCHMARK(BM_ForwardMlx5Cx4Lx)->Arg(1)->Arg(8)->Arg(32)->Arg(64);

}  // namespace
}  // namespace safenic
