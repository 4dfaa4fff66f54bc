// The cost of the MMIO seam's dispatch: a typed register write through Bar&
// (a virtual call into MappedBar, over ordinary memory here) against a plain
// volatile store. The fast path makes one such write per batch (the doorbell),
// so its cost per packet is this divided by the batch size.
#include <chrono>
#include <cstdint>

#include "bench/cycles.h"
#include "benchmark/benchmark.h"
#include "nic/mapped_bar.h"
#include "nic/register.h"

namespace safenic {
namespace {

struct TAIL : Register<TAIL, uint32_t, Access::kReadWrite, 0x18> {};

template <typename Body>
void run(benchmark::State& state, Body body) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = bench::rdtsc();
  uint32_t i = 0;
  for (auto _ : state) body(i++);
  const uint64_t c1 = bench::rdtsc();
  const std::chrono::duration<double, std::nano> ns = std::chrono::steady_clock::now() - t0;
  const double n = static_cast<double>(state.iterations());
  state.counters["ns/write"] = ns.count() / n;
  state.counters["cycles/write"] = static_cast<double>(c1 - c0) / n;
  state.counters["cycles/pkt@32"] = static_cast<double>(c1 - c0) / n / 32;
}

alignas(64) uint32_t g_registers[64];

void BM_DoorbellThroughBar(benchmark::State& state) {
  MappedBar mapped(g_registers, sizeof g_registers);
  Bar* bar = &mapped;
  benchmark::DoNotOptimize(bar);  // keep the call virtual, as in a driver
  run(state, [&](uint32_t i) { bar->write(RegisterValue<TAIL>(i)); });
}
BENCHMARK(BM_DoorbellThroughBar);

void BM_DoorbellDirectVolatile(benchmark::State& state) {
  volatile uint32_t* tail = &g_registers[TAIL::offset() / 4];
  run(state, [&](uint32_t i) { *tail = i; });
}
BENCHMARK(BM_DoorbellDirectVolatile);

}  // namespace
}  // namespace safenic
