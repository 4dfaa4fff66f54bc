// The guest half of tests/vm/vm_test.sh: runs inside a QEMU virtual machine
// (a real Linux kernel, a real emulated IOMMU) against QEMU's virtio-net.
//
//   guest expect-error NAME DEVICE TEXT [memlock]
//                               opening fails with a message containing TEXT
//                               (memlock: as an unprivileged user with a 64 KiB
//                               locked-memory limit)
//   guest hold DEVICE SECONDS   keeps the device open (its IOMMU group busy)
//   guest unplug DEVICE         traffic until the host unplugs the device: a
//                               clear Status, every file descriptor given back
//   guest kernel-bound DEVICE   the device is still bound to virtio-pci:
//                               opening it must fail and say how to unbind it
//   guest traffic DEVICE N [unbind]
//                               open the device (bound to vfio-pci: VFIO; bound
//                               to nothing: sysfs), send N frames to the
//                               host-side peer (which echoes each with the MAC
//                               addresses swapped) and receive them all back,
//                               intact
//
// Each check prints one line "GUEST-RESULT <name> ok|FAIL <details>" that the
// host side looks for on the console.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "mem/mempool.h"
#include "nic/open.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/virtio_net.h"

namespace {

int result(const std::string& name, bool ok, const std::string& details) {
  std::printf("GUEST-RESULT %s %s %s\n", name.c_str(), ok ? "ok" : "FAIL", details.c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

int kernel_bound(const std::string& address) {
  auto dev = safenic::open_device(address);
  const std::string message(dev.status().message());
  const bool ok = !dev.ok() && message.find("unbind") != std::string::npos &&
                  message.find("virtio-pci") != std::string::npos;
  return result("kernel-bound", ok,
                ok ? "refused, naming virtio-pci and how to unbind it"
                   : "got: " + (dev.ok() ? std::string("opened") : message));
}

// Frames to the peer: to 02:00:00:00:00:01 from the NIC, a local ethertype,
// then the sequence number and a pattern derived from it.
constexpr uint8_t kPeer[6] = {0x02, 0, 0, 0, 0, 0x01};
constexpr size_t kFrameSize = 128;

void fill(uint8_t* f, const safenic::MacAddress& mac, uint32_t seq) {
  std::memcpy(f, kPeer, 6);
  std::memcpy(f + 6, mac.bytes.data(), 6);
  f[12] = 0x88, f[13] = 0xb5;
  std::memcpy(f + 14, &seq, 4);
  for (size_t i = 18; i < kFrameSize; ++i) f[i] = static_cast<uint8_t>(seq * 31 + i);
}

// An echoed frame: MACs swapped, everything else as sent.
bool intact(const safenic::Packet& p, const safenic::MacAddress& mac, uint32_t* seq) {
  if (p.size() < kFrameSize) return false;
  const uint8_t* f = p.data();
  std::memcpy(seq, f + 14, 4);
  uint8_t want[kFrameSize];
  fill(want, mac, *seq);
  return std::memcmp(f, want + 6, 6) == 0 && std::memcmp(f + 6, want, 6) == 0 &&
         std::memcmp(f + 12, want + 12, kFrameSize - 12) == 0;
}

// `unbind`: the device is still bound to its kernel driver; safenic unbinds
// it (DeviceConfig::unbind_kernel_driver).
int traffic(const std::string& address, uint32_t frames, bool unbind) {
  safenic::DeviceConfig config{.rx_queues = 1, .tx_queues = 1};
  config.unbind_kernel_driver = unbind;
  auto dev = safenic::open_device(address, config);
  if (!dev.ok()) return result("open", false, std::string(dev.status().message()));
  safenic::Device& nic = **dev;
  namespace feature = safenic::virtio::feature;
  const uint64_t features = safenic::virtio::negotiated_features(nic);
  result("open", true,
         absl::StrFormat("%s opened by the %s driver, MAC %s, %s ring, features %#x", nic.name(),
                         nic.driver(), nic.mac().to_string(),
                         features & feature::bit(feature::kRingPacked) ? "packed" : "split",
                         features));
  if (absl::Status s = nic.wait_for_link(absl::Seconds(10)); !s.ok()) {
    return result("link", false, std::string(s.message()));
  }
  auto pool = nic.create_mempool({.buffers = 512});
  if (!pool.ok()) return result("mempool", false, std::string(pool.status().message()));

  uint32_t sent = 0, received = 0, damaged = 0;
  std::string seen(frames, '\0');
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  safenic::Batch<32> out, in;
  while (received < frames && absl::Now() < deadline) {
    while (sent < frames && sent - received < 64 && !out.full()) {
      safenic::Packet p = (*pool)->alloc();
      if (!p.resize(kFrameSize).ok()) return result("traffic", false, "resize");
      fill(p.data(), nic.mac(), sent++);
      out.push(std::move(p));
    }
    auto tx = nic.tx_batch(0, out);
    if (!tx.ok()) return result("traffic", false, std::string(tx.status().message()));
    auto rx = nic.rx_batch(0, in);
    if (!rx.ok()) return result("traffic", false, std::string(rx.status().message()));
    for (const safenic::Packet& p : in) {
      uint32_t seq = 0;
      if (!intact(p, nic.mac(), &seq) || seq >= frames || seen[seq]) {
        ++damaged;
        continue;
      }
      seen[seq] = 1;
      ++received;
    }
    in.clear();
  }
  auto stats = nic.stats();
  return result(
      "traffic", received == frames && damaged == 0,
      absl::StrFormat("sent %d, received %d back intact, %d damaged or unexpected%s", sent,
                      received, damaged,
                      stats.ok() ? absl::StrFormat(", rx drops %d", stats->rx_total().drops) : ""));
}

// Opening must fail with a message containing `want`. With `memlock`, as a
// user without privileges whose locked-memory limit is 64 KiB (VFIO pins
// what it maps against it).
int expect_error(const std::string& name, const std::string& address, const std::string& want,
                 bool memlock) {
  if (memlock) {
    const rlimit small = {64 << 10, 64 << 10};
    if (setrlimit(RLIMIT_MEMLOCK, &small) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
      return result(name, false, std::string("cannot drop privileges: ") + std::strerror(errno));
    }
  }
  auto dev = safenic::open_device(address, {.rx_queues = 1, .tx_queues = 1});
  const std::string message(dev.status().message());
  const bool ok = !dev.ok() && message.find(want) != std::string::npos;
  return result(name, ok, dev.ok() ? "opened" : message);
}

size_t open_fds() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) (void)e, ++n;
  return n;
}

// Traffic until the device is taken away (the host unplugs it once this
// prints "GUEST: traffic running"): a batch must then fail with a clear
// Status, and closing the device must give back every file descriptor.
int unplug(const std::string& address) {
  const size_t fds_before = open_fds();
  auto dev = safenic::open_device(address, {.rx_queues = 1, .tx_queues = 1});
  if (!dev.ok()) return result("unplug", false, std::string(dev.status().message()));
  safenic::Device& nic = **dev;
  if (absl::Status s = nic.wait_for_link(absl::Seconds(10)); !s.ok()) {
    return result("unplug", false, std::string(s.message()));
  }
  auto pool = nic.create_mempool({.buffers = 512});
  if (!pool.ok()) return result("unplug", false, std::string(pool.status().message()));
  uint32_t seq = 0, received = 0;
  bool announced = false;
  absl::Status error;
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  {
    safenic::Batch<32> out, in;
    while (error.ok() && absl::Now() < deadline) {
      while (!out.full() && seq - received < 64) {
        safenic::Packet p = (*pool)->alloc();
        if (!p.resize(kFrameSize).ok()) break;
        fill(p.data(), nic.mac(), seq++);
        out.push(std::move(p));
      }
      auto tx = nic.tx_batch(0, out);
      if (!tx.ok()) error = tx.status();
      auto rx = error.ok() ? nic.rx_batch(0, in) : absl::StatusOr<size_t>(0);
      if (!rx.ok()) error = rx.status();
      received += static_cast<uint32_t>(in.size());
      if (received >= seq) received = seq;  // (frames lost on the way do not stall the loop)
      in.clear();
      if (!announced && received >= 200) {
        std::printf("GUEST: traffic running\n");
        std::fflush(stdout);
        announced = true;
      }
    }
  }  // the batches' packets go home
  dev->reset();
  pool->reset();
  const size_t fds_after = open_fds();
  const bool ok = !error.ok() &&
                  error.message().find("asks for the device back") != std::string::npos &&
                  fds_after == fds_before;
  return result("unplug", ok,
                absl::StrFormat("after %d frames: %s; file descriptors %d before, %d after closing",
                                received, error.ok() ? "no error within 40 s" : error.ToString(),
                                fds_before, fds_after));
}

// Holds the device open (its IOMMU group busy) for `seconds`.
int hold(const std::string& address, int seconds) {
  auto dev = safenic::open_device(address, {.rx_queues = 1, .tx_queues = 1});
  if (!dev.ok()) return result("hold", false, std::string(dev.status().message()));
  std::printf("GUEST: holding %s\n", address.c_str());
  std::fflush(stdout);
  absl::SleepFor(absl::Seconds(seconds));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 2 ? argv[1] : "";
  if (what == "kernel-bound") return kernel_bound(argv[2]);
  if (what == "traffic" && argc > 3) {
    return traffic(argv[2], std::stoul(argv[3]), argc > 4 && std::string(argv[4]) == "unbind");
  }
  if (what == "expect-error" && argc > 4) {
    return expect_error(argv[2], argv[3], argv[4], argc > 5 && std::string(argv[5]) == "memlock");
  }
  if (what == "hold" && argc > 3) return hold(argv[2], std::stoi(argv[3]));
  if (what == "unplug") return unplug(argv[2]);
  std::fprintf(stderr,
               "usage: guest kernel-bound ADDRESS | traffic ADDRESS FRAMES [unbind] | "
               "expect-error NAME ADDRESS TEXT [memlock] | "
               "hold ADDRESS SECONDS\n");
  return 2;
}
