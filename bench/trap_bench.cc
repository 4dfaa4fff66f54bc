// The cost of one trapped MMIO access (sim/trap/mmio_trap.h): the page fault,
// the kernel's signal delivery, decoding, the device call and sigreturn. A
// program under the simulated-NIC launcher pays it for every register access
// (doorbells, not packets: descriptors and buffers are plain memory).
#include <cstdint>

#include "benchmark/benchmark.h"
#include "sim/trap/mmio_trap.h"

namespace safenic::sim {
namespace {

struct Register final : TrappedMmio::Device {
  uint64_t read(uint64_t, unsigned) override { return value; }
  void write(uint64_t, unsigned, uint64_t v) override { value = v; }
  uint64_t value = 0;
};

void BM_TrappedStore(benchmark::State& state) {
  Register device;
  auto trap = TrappedMmio::create(4096, device, "bench");
  volatile uint32_t* reg = static_cast<volatile uint32_t*>((*trap)->base());
  uint32_t i = 0;
  for (auto _ : state) *reg = ++i;
  benchmark::DoNotOptimize(device.value);
}
BENCHMARK(BM_TrappedStore);

void BM_TrappedLoad(benchmark::State& state) {
  Register device;
  auto trap = TrappedMmio::create(4096, device, "bench");
  volatile uint32_t* reg = static_cast<volatile uint32_t*>((*trap)->base());
  for (auto _ : state) benchmark::DoNotOptimize(*reg);
}
BENCHMARK(BM_TrappedLoad);

}  // namespace
}  // namespace safenic::sim
