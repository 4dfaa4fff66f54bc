// A project's own code using safenic from outside safenic's repository
// (tests/consumer/run.sh builds it with Bazel, CMake and pkg-config): opens a
// simulated 82599, which has a loopback plug in its port, sends eight frames
// to itself and receives them back.
#include <cstdio>
#include <cstring>

#include "mem/mempool.h"
#include "nic/open.h"
#include "nic/version.h"

int main() {
  auto dev = safenic::open_device("sim:82599", {.rx_queues = 1, .tx_queues = 1});
  if (!dev.ok()) {
    std::fprintf(stderr, "consumer: %s\n", dev.status().ToString().c_str());
    return 1;
  }
  safenic::Device& nic = **dev;
  if (absl::Status s = nic.wait_for_link(absl::Seconds(10)); !s.ok()) {
    std::fprintf(stderr, "consumer: %s\n", s.ToString().c_str());
    return 1;
  }
  auto pool = nic.create_mempool({.buffers = 256});
  if (!pool.ok()) return 1;
  safenic::Batch<32> batch;
  for (int i = 0; i < 8; ++i) {
    safenic::Packet p = (*pool)->alloc();
    if (!p.resize(60).ok()) return 1;
    std::memcpy(p.data(), nic.mac().bytes.data(), 6);      // to: itself
    std::memcpy(p.data() + 6, nic.mac().bytes.data(), 6);  // from: itself
    std::memcpy(p.data() + 12, "\x88\xb5", 2);             // a local ethertype
    p.data()[14] = static_cast<uint8_t>(i);
    batch.push(std::move(p));
  }
  auto sent = nic.tx_batch(0, batch);
  auto received = nic.rx_batch(0, batch);
  if (!sent.ok() || !received.ok()) return 1;
  std::printf("consumer: safenic %s, %s sent %zu frames and received %zu\n", safenic::kVersion,
              nic.name().c_str(), *sent, *received);
  return *sent == 8 && *received == 8 ? 0 : 1;
}
