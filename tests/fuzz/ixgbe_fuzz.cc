// Hostile 82599: the fuzzer writes whatever it likes into the driver's RX
// write-back descriptors (status, errors, length, RSS words) and TX
// descriptors (DD), between rx_batch/tx_batch calls, while the model serves
// the TX doorbells. The driver must stay inside its memory (ASan), never hand
// over a packet longer than its buffer, always return (libFuzzer -timeout),
// and give every buffer back when closed.
//
// Input: a sequence of operations, one byte each plus operands:
//   0: RX descriptor <u8 index> := <16 bytes>      (a write-back, any bits)
//   1: rx_batch; <u8> odd: keep the packets (the pool runs dry), else drop them
//   2: TX descriptor <u8 index> status word := <u32> (DD or anything)
//   3: tx_batch of <u8> packets of <u16> bytes each
//   4: drop the kept packets
#include <cstdint>
#include <cstring>
#include <memory>

#include "mem/mempool.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/ixgbe/ixgbe.h"
#include "nic/ixgbe/regs.h"
#include "sim/ixgbe/model.h"
#include "sim/simulated_function.h"
#include "tests/fuzz/device_steps.h"
#include "tests/fuzz/fuzz_input.h"

namespace safenic {
namespace {

int run(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  constexpr uint32_t kRing = 64;
  sim::SimContext ctx;
  MempoolPtr app;
  {
    auto model = std::make_shared<sim::Ixgbe82599>(ctx);
    DeviceConfig config;
    config.rx_ring_size = config.tx_ring_size = kRing;
    config.buffers_per_rx_queue = 2 * kRing;
    auto dev = ixgbe::open(std::make_unique<sim::SimulatedFunction>(model, ctx, "fuzz"), config);
    FUZZ_CHECK(dev.ok());
    // The device's view of the rings.
    sim::SimulatedBar device_bar(*model, 0, *ctx.log);
    Bar& bar = device_bar;
    auto ring = [&](uint64_t lo, uint64_t hi) {
      auto mem = ctx.iommu->translate(hi << 32 | lo, kRing * ixgbe::kDescriptorSize, "fuzz");
      FUZZ_CHECK(mem.ok());
      return *mem;
    };
    const absl::Span<uint8_t> rx =
        ring(bar.read<ixgbe::RDBAL>(0).raw(), bar.read<ixgbe::RDBAH>(0).raw());
    const absl::Span<uint8_t> tx =
        ring(bar.read<ixgbe::TDBAL>(0).raw(), bar.read<ixgbe::TDBAH>(0).raw());
    app = *(*dev)->create_mempool({.buffers = 256, .tag = "fuzz app"});
    Batch<64> kept;
    for (int step = 0; step < 512 && !in.empty(); ++step) {
      switch (in.u8() % 5) {
        case 0: {
          const uint32_t i = in.u8() % kRing;
          in.bytes(&rx[i * ixgbe::kDescriptorSize], ixgbe::kDescriptorSize);
          break;
        }
        case 1: receive_fuzzed(in, **dev, 0, kept); break;
        case 2: {
          const uint32_t i = in.u8() % kRing;
          const uint32_t status = in.u32();
          std::memcpy(&tx[i * ixgbe::kDescriptorSize + 12], &status, 4);
          break;
        }
        case 3: send_fuzzed_batch(in, *app, **dev); break;
        case 4: kept.clear(); break;
      }
    }
    kept.clear();
  }  // the device closes: rings and RX pools go
  fuzz::check_nothing_left(app, ctx);
  return 0;
}

}  // namespace
}  // namespace safenic

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return safenic::run(data, size);
}
