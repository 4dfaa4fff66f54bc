// Hostile virtio-net device: the fuzzer writes the used side of the rings —
// split used elements (ids, lengths) and the used index (any jump), packed
// descriptors (flags, ids, lengths) — between rx_batch/tx_batch calls, while
// the model also serves the rings honestly (frames from the wire, TX kicks).
// The driver must stay inside its memory (ASan), never hand over a packet
// longer than its buffer, always return, and give every buffer back.
//
// Input: <u8> flags (bit 0: packed ring, bit 1: MRG_RXBUF, bit 2: EVENT_IDX),
// then operations:
//   0: used write on queue <u8>&1 (rx, tx): split: element <u8> := {<u32> id, <u32> len};
//      packed: descriptor <u8> := {<u32> len, <u16> id, <u16> flags}
//   1: split: used idx += <u16>; packed: descriptor <u8> flags := <u16>
//   2: rx_batch; <u8> odd: keep the packets a while
//   3: tx_batch of <u8> packets of <u16> bytes
//   4: a <u8>-byte frame arrives from the wire
//   5: drop the kept packets
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "mem/mempool.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/virtio_net.h"
#include "sim/harness/frames.h"
#include "sim/simulated_function.h"
#include "sim/virtio/model.h"
#include "tests/fuzz/device_steps.h"
#include "tests/fuzz/fuzz_input.h"

namespace safenic {
namespace {

using virtio::feature::bit;
namespace f = virtio::feature;

int run(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t flags = in.u8();
  const bool packed = flags & 1;
  sim::SimContext ctx;
  sim::TesterPort wire(/*keep_frames=*/false);
  MempoolPtr app;
  {
    sim::VirtioNetConfig mc;
    mc.queue_size = 64;
    mc.features = sim::default_virtio_features(false);
    if (!packed) mc.features &= ~bit(f::kRingPacked);
    if (!(flags & 2)) mc.features &= ~bit(f::kMrgRxbuf);
    if (!(flags & 4)) mc.features &= ~bit(f::kEventIdx);
    auto model = std::make_shared<sim::VirtioNetModel>(ctx, mc);
    sim::connect(model->port(), wire);
    DeviceConfig config;
    config.rx_ring_size = config.tx_ring_size = 64;
    config.buffers_per_rx_queue = 160;
    auto dev = virtio::open(std::make_unique<sim::SimulatedFunction>(model, ctx, "fuzz"), config);
    FUZZ_CHECK(dev.ok());
    // The device's view of queues 0 (rx) and 1 (tx): its used side.
    sim::SimulatedBar device_bar(*model, 4, *ctx.log);
    Bar& bar = device_bar;
    struct Ring {
      absl::Span<uint8_t> mem;
      uint16_t size;
    } rings[2];
    for (uint16_t q = 0; q < 2; ++q) {
      bar.write(RegisterValue<virtio::QUEUE_SELECT>(q));
      const uint16_t qsize = bar.read<virtio::QUEUE_SIZE>().raw();
      const uint64_t area =
          packed ? bar.read<virtio::QUEUE_DESC>().raw() : bar.read<virtio::QUEUE_DEVICE>().raw();
      const size_t bytes = packed ? 16u * qsize : virtio::split_used_bytes(qsize);
      auto mem = ctx.iommu->translate(area, bytes, "fuzz");
      FUZZ_CHECK(mem.ok());
      rings[q] = {*mem, qsize};
    }
    app = *(*dev)->create_mempool({.buffers = 256, .tag = "fuzz app"});
    Batch<64> kept;
    sim::UdpFlow flow;
    flow.dst_mac = (*dev)->mac();
    for (int step = 0; step < 512 && !in.empty(); ++step) {
      switch (in.u8() % 6) {
        case 0: {
          const Ring& r = rings[in.u8() & 1];
          const uint32_t i = in.u8() % r.size;
          if (packed) {
            in.bytes(&r.mem[16 * i + 8], 8);  // len, id, flags
          } else {
            in.bytes(&r.mem[4 + 8 * i], 8);  // id, len
          }
          break;
        }
        case 1: {
          const Ring& r = rings[in.u8() & 1];
          if (packed) {
            const uint32_t i = in.u8() % r.size;
            in.bytes(&r.mem[16 * i + 14], 2);
          } else {
            uint16_t idx;
            std::memcpy(&idx, &r.mem[2], 2);
            idx = static_cast<uint16_t>(idx + in.u16());
            std::memcpy(&r.mem[2], &idx, 2);
          }
          break;
        }
        case 2: receive_fuzzed(in, **dev, 0, kept); break;
        case 3: send_fuzzed_batch(in, *app, **dev); break;
        case 4: {
          const size_t len = 14 + in.u8() * 8;
          std::vector<uint8_t> frame = sim::udp_frame(len < 60 ? 60 : len, flow, step);
          wire.send(frame);
          break;
        }
        case 5: kept.clear(); break;
      }
    }
    kept.clear();
  }  // the device closes (reset): rings and RX pools go
  fuzz::check_nothing_left(app, ctx);
  return 0;
}

}  // namespace
}  // namespace safenic

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return safenic::run(data, size);
}
