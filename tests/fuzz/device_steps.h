// Steps every driver harness takes, whatever the device wrote.
#pragma once

#include "mem/batch.h"
#include "mem/mempool.h"
#include "nic/device.h"
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

}  // namespace safenic::fuzz
