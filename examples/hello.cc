// hello: the README's API tour, compiled and run. Opens a simulated 82599
// (a loopback plug in its port), sends one frame and receives it back.
//
//   ./bazelw run //examples:hello
#include <cstdio>
#include <cstring>

#include "mem/mempool.h"
#include "mem/status.h"
#include "nic/open.h"

absl::Status hello() {
  // "sim:82599", "0000:03:00.0", "vhost-user:/run/vu.sock": one spec format.
  auto dev = safenic::open_device("sim:82599", {.rx_queues = 1, .tx_queues = 1});
  if (!dev.ok()) return dev.status();  // says what went wrong and what to do
  safenic::Device& nic = **dev;
  SAFENIC_RETURN_IF_ERROR(nic.wait_for_link(absl::Seconds(10)));

  auto pool = nic.create_mempool({.buffers = 1024});  // memory the device can DMA
  if (!pool.ok()) return pool.status();
  safenic::Packet frame = (*pool)->alloc();
  SAFENIC_RETURN_IF_ERROR(frame.resize(60));
  std::memset(frame.data(), 0xff, 6);                        // to: broadcast
  std::memcpy(frame.data() + 6, nic.mac().bytes.data(), 6);  // from: us
  std::memcpy(frame.data() + 12, "\x88\xb5hello", 7);        // a local ethertype

  safenic::Batch<32> batch;  // fixed capacity, on the stack
  batch.push(std::move(frame));
  auto sent = nic.tx_batch(0, batch);  // sent packets leave the batch
  if (!sent.ok()) return sent.status();
  auto received = nic.rx_batch(0, batch);  // appends what arrived
  if (!received.ok()) return received.status();
  for (safenic::Packet& p : batch) {
    std::printf("hello: %s received %zu bytes: \"%.5s\"\n", nic.name().c_str(), p.size(),
                reinterpret_cast<const char*>(p.data() + 14));
  }
  batch.clear();  // dropping packets returns their buffers
  return *received == 1 ? absl::OkStatus() : absl::DataLossError("the frame did not come back");
}

int main() {
  absl::Status s = hello();
  if (!s.ok()) std::fprintf(stderr, "hello: %s\n", s.ToString().c_str());
  return s.ok() ? 0 : 1;
}
