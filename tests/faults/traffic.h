// Traffic for the fault tests: numbered UDP frames from a tester port into a
// device, and from an application pool out of it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gtest/gtest.h"
#include "mem/batch.h"
#include "mem/mempool.h"
#include "nic/device.h"
#include "sim/harness/frames.h"
#include "sim/wires/wire.h"

namespace safenic::faults {

// Sends n 100-byte frames addressed to `dev` from `tester`, numbered from
// `seq`; returns how many `dev` delivered (each checked whole).
inline size_t receive(sim::TesterPort& tester, Device& dev, size_t n, uint64_t seq = 0) {
  sim::UdpFlow flow;
  flow.dst_mac = dev.mac();
  for (size_t i = 0; i < n; ++i) tester.send(sim::udp_frame(100, flow, seq + i));
  Batch<64> in;
  const size_t got = *dev.rx_batch(0, in);
  for (Packet& p : in) {
    EXPECT_LE(p.size(), p.capacity());
    EXPECT_EQ(p.size(), 100u);
  }
  return got;
}

// Sends n 80-byte frames from `pool`, numbered from `seq`, on queue 0;
// returns how many the driver took (the rest go back to the pool).
inline size_t transmit(Mempool& pool, Device& dev, size_t n, uint64_t seq = 0) {
  Batch<64> out;
  for (size_t i = 0; i < n; ++i) {
    Packet p = pool.alloc();
    EXPECT_TRUE(p.resize(80).ok());
    sim::write_udp_frame(p.bytes(), {}, seq + i);
    out.push(std::move(p));
  }
  return *dev.tx_batch(0, out);
}

}  // namespace safenic::faults
