// Steps every driver harness takes, whatever the device wrote.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mem/batch.h"
#include "mem/mempool.h"
#include "nic/device.h"
#include "sim/model.h"
#include "tests/fuzz/fuzz_input.h"

namespace safenic::fuzz {

// Sends up to 79 packets of a fuzzed length from `app` on queue 0: the driver
// takes some from the front and leaves the rest with the caller.
inline void send_fuzzed_batch(Input& in, Mempool& app, Device& dev) {
  const size_t n = in.u8() % 80;
  const uint16_t len = in.u16();
  Batch<80> out;
  for (size_t k = 0; k < n; ++k) {
    Packet p = app.alloc();
    if (p.empty()) break;
    (void)p.resize(len % (p.capacity() + 1));
    out.push(std::move(p));
  }
  const size_t before = out.size();
  const size_t sent = *dev.tx_batch(0, out);
  FUZZ_CHECK(sent <= before && out.size() == before - sent);
}

// Receives on `queue`, into `kept` or into a batch dropped at once (the
// input's choice), and checks what the driver handed over: as many packets
// as it says, none empty or longer than its buffer or one RX buffer (2 KiB:
// no frame spans two), every byte readable.
inline void receive_fuzzed(Input& in, Device& dev, uint16_t queue, PacketBatch& kept) {
  Batch<64> got;
  PacketBatch& target = in.u8() & 1 ? kept : static_cast<PacketBatch&>(got);
  const size_t before = target.size();
  const size_t n = *dev.rx_batch(queue, target);
  FUZZ_CHECK(target.size() == before + n);
  for (size_t k = before; k < target.size(); ++k) {
    const Packet& p = target[k];
    FUZZ_CHECK(!p.empty());
    FUZZ_CHECK(p.size() <= p.capacity());
    FUZZ_CHECK(p.size() <= 2048);
    uint8_t sum = 0;
    for (uint8_t b : p.bytes()) sum = static_cast<uint8_t>(sum + b);
    sink = sum;  // every byte handed over is read
  }
}

// After the device has closed: every packet of the application's pool came
// back, and nothing is left mapped in the IOMMU (rings, RX pools, the
// pool itself once released).
inline void check_nothing_left(MempoolPtr& app, const sim::SimContext& ctx) {
  FUZZ_CHECK(app->in_use() == 0);
  app.reset();
  FUZZ_CHECK(ctx.iommu->live_regions() == 0);
}

}  // namespace safenic::fuzz
