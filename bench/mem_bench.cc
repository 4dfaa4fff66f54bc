// mem/ hot paths: mempool alloc/free and packet handling, per buffer/packet.
//
// DPDK baseline on these machines (docs/dpdk-peer.md, single core,
// -O3, TSC cycles): rte_mempool get 32 + put 32 with the per-core cache:
// 0.6 cycles/object (2.3 without cache); rte_pktmbuf_alloc_bulk(32) +
// rte_pktmbuf_free_bulk(32): 7.7 cycles/packet.
//
// Counters: ns/op (wall clock) and cycles/op (TSC) are per buffer/packet; the
// TSC frequency is printed in the header ("tsc_ghz"): cycles ~= ns * tsc_ghz.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "bench/cycles.h"
#include "benchmark/benchmark.h"
#include "mem/batch.h"
#include "mem/dma_region.h"
#include "mem/iova.h"
#include "mem/mempool.h"

namespace safenic {
namespace {

constexpr size_t kBurst = 32;

MempoolPtr make_pool() {
  auto pool =
      Mempool::create(MempoolConfig{.tag = "bench"},
                      DmaAllocator(Backing::kAnonymous, std::make_shared<IdentityMapper>()));
  if (!pool.ok()) {
    std::fprintf(stderr, "mempool: %s\n", pool.status().ToString().c_str());
    std::abort();
  }
  return *std::move(pool);
}

// Runs body() once per benchmark iteration and reports ns/op and cycles/op,
// an op being one of the `items_per_iter` buffers/packets an iteration handles.
template <typename Body>
void run(benchmark::State& state, size_t items_per_iter, Body body) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = bench::rdtsc();
  for (auto _ : state) body();
  const uint64_t c1 = bench::rdtsc();
  const std::chrono::duration<double, std::nano> ns = std::chrono::steady_clock::now() - t0;
  const double items = static_cast<double>(state.iterations()) * items_per_iter;
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["ns/op"] = ns.count() / items;
  state.counters["cycles/op"] = static_cast<double>(c1 - c0) / items;
}

// 1. One buffer: alloc + free.
void BM_MempoolAllocFree(benchmark::State& state) {
  MempoolPtr pool = make_pool();
  run(state, 1, [&] {
    Packet p = pool->alloc();
    benchmark::DoNotOptimize(p.data());
    p.reset();
  });
}
BENCHMARK(BM_MempoolAllocFree);

// 2. Bulk alloc 32 + free 32, per buffer (cf. DPDK mempool get32+put32).
void BM_MempoolBulk32(benchmark::State& state) {
  MempoolPtr pool = make_pool();
  Batch<kBurst> batch;
  run(state, kBurst, [&] {
    pool->alloc_bulk(batch, kBurst);
    batch.clear();
  });
}
BENCHMARK(BM_MempoolBulk32);

// 3. Packets: bulk alloc 32 (metadata reset) + resize(60) + free, per packet
// (cf. DPDK rte_pktmbuf_alloc_bulk + rte_pktmbuf_free_bulk).
void BM_PacketAllocResizeFree32(benchmark::State& state) {
  MempoolPtr pool = make_pool();
  Batch<kBurst> batch;
  run(state, kBurst, [&] {
    pool->alloc_bulk(batch, kBurst);
    for (Packet& p : batch) {
      if (!p.resize(60).ok()) std::abort();
    }
    batch.clear();
  });
}
BENCHMARK(BM_PacketAllocResizeFree32);

// 4. Moving a Packet from one array of 32 to another, per packet.
void BM_PacketMove32(benchmark::State& state) {
  MempoolPtr pool = make_pool();
  Packet a[kBurst], b[kBurst];
  for (Packet& p : a) p = pool->alloc();
  Packet* src = a;
  Packet* dst = b;
  benchmark::DoNotOptimize(src);  // the arrays escape: moves must reach memory
  benchmark::DoNotOptimize(dst);
  run(state, kBurst, [&] {
    for (size_t i = 0; i < kBurst; ++i) dst[i] = std::move(src[i]);
    benchmark::ClobberMemory();
    std::swap(src, dst);
  });
}
BENCHMARK(BM_PacketMove32);

const bool kTscContext = [] {
  benchmark::AddCustomContext("tsc_ghz", std::to_string(bench::tsc_ghz()));
  return true;
}();

}  // namespace
}  // namespace safenic
