// pktgen: sends 60-byte UDP frames carrying a sequence number (or, with
// --pcap, the frames of a capture file, over and over) as fast as the device
// takes them, and prints the rate every second.
//
//   ./bazelw run //examples:pktgen                    # a simulated 82599
//   ./bazelw run //examples:pktgen -- --dev=0000:03:00.0 --seconds=0
//   ./bazelw run //examples:pktgen -- --pcap=$PWD/in.pcap --capture=$PWD/out.pcap
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/common.h"
#include "mem/mempool.h"
#include "nic/open.h"
#include "sim/catalog.h"
#include "sim/harness/frames.h"
#include "sim/harness/testbed.h"
#include "sim/wires/pcap.h"

ABSL_FLAG(std::string, dev, "", "device spec (empty: a simulated 82599 cabled to a counter)");
ABSL_FLAG(double, seconds, 5, "stop after this many seconds (0: only at Ctrl-C)");
ABSL_FLAG(uint64_t, packets, 0, "stop after sending this many packets (0: no limit)");
ABSL_FLAG(int, batch, 32, "packets per tx_batch call (1-256)");
ABSL_FLAG(int, size, 60, "frame size in bytes without FCS (60 to the MTU + 14)");
ABSL_FLAG(uint32_t, mtu, 1500, "the device's MTU: 68 to 9000 (jumbo frames above 1500)");
ABSL_FLAG(std::string, pcap, "",
          "send the frames of this pcap file, in order and looping, instead of UDP frames "
          "(--size is then ignored)");
ABSL_FLAG(std::string, capture, "",
          "simulated device only: write every frame on its wire to this pcap file");

namespace safenic::examples {
namespace {

int run() {
  const int batch_size = absl::GetFlag(FLAGS_batch);
  const int size = absl::GetFlag(FLAGS_size);
  const uint32_t mtu = absl::GetFlag(FLAGS_mtu);
  const int max_size = static_cast<int>(mtu + kEthernetHeader);
  if (batch_size < 1 || batch_size > 256 || size < 60 || size > max_size) {
    std::fprintf(stderr, "pktgen: use --batch 1 to 256 and --size 60 to %d (the MTU + 14)\n",
                 max_size);
    return 2;
  }
  if (!valid_seconds(absl::GetFlag(FLAGS_seconds), "pktgen")) return 2;
  const bool simulated = absl::GetFlag(FLAGS_dev).empty();
  const std::string capture_path = user_path(absl::GetFlag(FLAGS_capture));
  if (!simulated && !capture_path.empty()) {
    std::fprintf(stderr, "pktgen: --capture records a simulated wire; drop --dev or --capture\n");
    return 2;
  }
  // With --pcap: the frames to send, checked against the buffers' size.
  std::optional<sim::PcapFile> file;
  if (const std::string pcap = user_path(absl::GetFlag(FLAGS_pcap)); !pcap.empty()) {
    auto read = sim::PcapFile::read(pcap);
    if (!read.ok()) {
      std::fprintf(stderr, "pktgen: %s\n", std::string(read.status().message()).c_str());
      return 1;
    }
    file = *std::move(read);
    if (file->empty()) {
      std::fprintf(stderr, "pktgen: %s holds no whole Ethernet frames to send\n", pcap.c_str());
      return 1;
    }
    for (size_t i = 0; i < file->size(); ++i) {
      if (file->frame(i).size() < 14 || file->frame(i).size() > max_frame_length(mtu)) {
        std::fprintf(stderr,
                     "pktgen: frame %zu of %s is %zu bytes; with MTU %u pktgen sends frames of 14 "
                     "to %u bytes (cut others out with editcap, or raise --mtu)\n",
                     i + 1, pcap.c_str(), file->frame(i).size(), mtu, max_frame_length(mtu));
        return 1;
      }
    }
  }
  sim::Testbed bed;
  sim::TesterPort counter(/*keep_frames=*/false);
  std::unique_ptr<sim::PcapTap> capture;
  if (!capture_path.empty()) {
    auto tap = sim::PcapTap::create(capture_path);
    if (!tap.ok()) {
      std::fprintf(stderr, "pktgen: %s\n", std::string(tap.status().message()).c_str());
      return 1;
    }
    capture = *std::move(tap);
  }
  DeviceConfig config;
  config.mtu = mtu;  // out of range: the driver says so
  auto opened =
      simulated ? bed.add("82599", config) : open_device(absl::GetFlag(FLAGS_dev), config);
  if (!opened.ok()) {
    std::fprintf(stderr, "pktgen: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<Device> dev = *std::move(opened);
  if (simulated && capture) {
    sim::connect(bed.port(0), capture->a());
    sim::connect(capture->b(), counter);
  } else if (simulated) {
    sim::connect(bed.port(0), counter);
  }
  if (absl::Status s = dev->wait_for_link(absl::Seconds(10)); !s.ok()) {
    std::fprintf(stderr, "pktgen: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("pktgen: %s (%s) MAC %s, sending %s\n", dev->name().c_str(),
              std::string(dev->driver()).c_str(), dev->mac().to_string().c_str(),
              file ? absl::StrFormat("the %d frames of %s, looping", file->size(),
                                     absl::GetFlag(FLAGS_pcap))
                         .c_str()
                   : absl::StrFormat("%d-byte frames", size).c_str());

  // A pool the device can reach. Every buffer gets the whole frame once, like
  // ixy's pktgen; afterwards only the sequence number changes.
  MempoolConfig pc;
  pc.buffers = 4096;
  pc.data_room = rx_buffer_size(mtu);  // the longest frame the MTU allows
  pc.tag = "pktgen";
  auto pool = dev->create_mempool(pc);
  if (!pool.ok()) {
    std::fprintf(stderr, "pktgen: %s\n", std::string(pool.status().message()).c_str());
    return 1;
  }
  sim::UdpFlow flow;
  flow.src_mac = dev->mac();
  // UdpFlow's ports: to UDP 19, which Wireshark decodes without complaint.
  if (!file) {
    Batch<4096> all;
    (*pool)->alloc_bulk(all, 4096);
    for (Packet& p : all) {
      (void)p.resize(size);
      sim::write_udp_frame(p.bytes(), flow, 0);
    }
  }

  Batch<256> batch(batch_size);
  RunLimit limit(absl::GetFlag(FLAGS_seconds), absl::GetFlag(FLAGS_packets));
  QueueStats before = dev->stats()->tx_total();
  absl::Time last = absl::Now();
  const uint64_t packets = absl::GetFlag(FLAGS_packets);
  uint64_t seq = 0;  // frames prepared; seq - batch.size() of them sent
  size_t next = 0;   // the next frame of the file
  for (uint64_t iteration = 0; !limit.done(seq - batch.size()); ++iteration) {
    // With --packets, no more frames than that: the last batch is cut short.
    const size_t want =
        packets == 0 ? batch.room() : std::min<uint64_t>(batch.room(), packets - seq);
    const size_t fresh = (*pool)->alloc_bulk(batch, want);
    for (size_t i = batch.size() - fresh; i < batch.size(); ++i) {
      if (file) {
        const absl::Span<const uint8_t> f = file->frame(next);
        next = next + 1 == file->size() ? 0 : next + 1;
        (void)batch[i].resize(f.size());  // fits: checked against the buffer size above
        std::memcpy(batch[i].data(), f.data(), f.size());
      } else {
        (void)batch[i].resize(size);
        std::memcpy(batch[i].data() + sim::kUdpHeaders, &seq, sizeof seq);
      }
      ++seq;
    }
    (void)dev->tx_batch(0, batch);  // what does not fit stays for the next round
    if ((iteration & 0xFFF) == 0 && absl::Now() - last >= absl::Seconds(1)) {
      const absl::Time now = absl::Now();
      const QueueStats tx = dev->stats()->tx_total();
      std::printf("[TX] %s\n", format(rate(tx, before, now - last)).c_str());
      std::fflush(stdout);
      before = tx, last = now;
    }
  }
  batch.clear();
  const QueueStats tx = dev->stats()->tx_total();
  std::printf("pktgen: sent %llu packets\n", (unsigned long long)tx.packets);
  if (simulated) {
    std::printf("pktgen: the simulated wire delivered %llu\n",
                (unsigned long long)counter.received());
  }
  if (capture) {
    if (absl::Status s = capture->close(); !s.ok()) {
      std::fprintf(stderr, "pktgen: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf("pktgen: wrote %llu frames to %s\n", (unsigned long long)capture->frames(),
                capture_path.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace safenic::examples

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "sends UDP frames (or a capture's) as fast as a device takes them, and prints the rate.\n\n"
      "  pktgen [--dev=SPEC] [--seconds=N] [--packets=N] [--batch=N] [--size=N] [--pcap=FILE]\n"
      "         [--capture=FILE]\n\n"
      "With no --dev: a simulated 82599 cabled to a counter. A SPEC is a PCI address\n"
      "(0000:03:00.0), vhost-user:/path/to.sock, or a simulated NIC (with a loopback plug):\n" +
      safenic::sim::kinds_help());
  absl::ParseCommandLine(argc, argv);
  return safenic::examples::run();
}
