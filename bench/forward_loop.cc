// A fixed amount of forwarding for instruction counting (bench/attribute.sh):
// forward_loop KIND BATCH ITERATIONS, KIND one of ixgbe, virtio, mlx5 (a ConnectX-5;
// mlx5-cx4lx a ConnectX-4 Lx) (virtio:
// the model's default offer, so packed rings; virtio-split withholds
// VIRTIO_F_RING_PACKED; a "-no-in-order" suffix withholds VIRTIO_F_IN_ORDER).
// The same set-up and loop as forward_bench, without the simulator's
// buffer-liveness checks (SAFENIC_BUFFER_TRACKING=1 turns them on).
// RX_CHECKSUM=on enables Offload::kRxChecksum on the receiving NIC (the
// frames are UDP over IPv4 without a UDP checksum); TX_CHECKSUM=on enables
// the transmit checksum offloads on the sending one and has every packet ask
// for its IPv4 and UDP checksums (three stores per packet in the loop), or
// for its UDP checksum only on virtio, which cannot insert an IPv4 one.
// RX_RSS_HASH=on enables Offload::kRxRssHash on the receiving NIC.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mem/batch.h"
#include "nic/device.h"
#include "nic/virtio/spec.h"
#include "sim/harness/testbed.h"
#include "sim/mlx5/model.h"
#include "sim/virtio/model.h"

namespace safenic {

// The TxFlags every forwarded packet asks for (TX_CHECKSUM=on); 0: none.
uint16_t tx_checksums = 0;

__attribute__((noinline)) size_t forward_batch(Device& in, Device& out, PacketBatch& batch) {
  const size_t n = *in.rx_batch(0, batch);
  if (tx_checksums) {
    for (Packet& p : batch) {
      PacketOffloads& o = p.offloads();
      o.tx = tx_checksums;
      o.l2_len = 14, o.l3_len = 20;
    }
  }
  (void)out.tx_batch(0, batch);
  batch.clear();
  return n;
}

int run(std::string kind, size_t batch_size, size_t iterations) {
  sim::Testbed bed;
  // Hardware has no buffer-liveness tracking: count the driver as it runs
  // there, unless SAFENIC_BUFFER_TRACKING=1 asks for the simulator's checks.
  const char* tracking = std::getenv("SAFENIC_BUFFER_TRACKING");
  bed.context().iommu->set_buffer_tracking(tracking != nullptr && std::string(tracking) == "1");
  DeviceConfig config;
  config.promiscuous = true;
  const char* rx_checksum = std::getenv("RX_CHECKSUM");
  DeviceConfig in_config = config, out_config = config;
  const char* rss_hash = std::getenv("RX_RSS_HASH");
  const bool checksums = rx_checksum != nullptr && std::string(rx_checksum) == "on";
  const bool hashes = rss_hash != nullptr && std::string(rss_hash) == "on";
  if (checksums && hashes) {
    in_config.offloads = {Offload::kRxChecksum, Offload::kRxRssHash};
  } else if (checksums) {
    in_config.offloads = {Offload::kRxChecksum};
  } else if (hashes) {
    in_config.offloads = {Offload::kRxRssHash};
  }
  const char* tx_checksum = std::getenv("TX_CHECKSUM");
  if (tx_checksum != nullptr && std::string(tx_checksum) == "on") {
    const bool virtio = kind.starts_with("virtio");
    out_config.offloads = virtio ? OffloadSet{Offload::kTxL4Checksum}
                                 : OffloadSet{Offload::kTxL4Checksum, Offload::kTxIpv4Checksum};
    tx_checksums = kTxIpv4 | kTxUdpChecksum | (virtio ? 0 : kTxIpChecksum);
  }
  using virtio::feature::bit;
  sim::VirtioNetConfig packed, split;
  packed.features = sim::default_virtio_features(false);
  const std::string no_in_order = "-no-in-order";
  if (kind.size() > no_in_order.size() && kind.ends_with(no_in_order)) {
    kind.resize(kind.size() - no_in_order.size());
    packed.features &= ~bit(virtio::feature::kInOrder);
  }
  split.features = packed.features & ~bit(virtio::feature::kRingPacked);
  auto add = [&](const DeviceConfig& config) {
    return kind == "virtio"         ? bed.add<sim::VirtioNetModel>(packed, config)
           : kind == "virtio-split" ? bed.add<sim::VirtioNetModel>(split, config)
           : kind == "mlx5"         ? bed.add("cx5", config)
           : kind == "mlx5-cx4lx"
               ? bed.add<sim::ConnectXModel>(sim::ConnectXProfile::cx4lx(), config)
               : bed.add("82599", config);
  };
  auto in = add(in_config);
  auto out = add(out_config);
  if (!in.ok() || !out.ok()) return 1;
  sim::TrafficSource source(60, {});
  sim::TesterPort sink(false);
  sim::connect(source, bed.port(0));
  sim::connect(bed.port(1), sink);
  // Both links: the second NIC negotiates a little later, and nothing in the
  // loop advances simulated time (its frames would all be dropped, link down).
  if (!(*in)->wait_for_link(absl::Seconds(1)).ok()) return 1;
  if (!(*out)->wait_for_link(absl::Seconds(1)).ok()) return 1;
  Batch<64> batch(batch_size);
  size_t forwarded = 0;
  for (size_t i = 0; i < iterations; ++i) {
    source.inject(batch_size);
    forwarded += forward_batch(**in, **out, batch);
  }
  std::printf("forwarded %zu\n", forwarded);
  return forwarded == batch_size * iterations && sink.received() == forwarded ? 0 : 1;
}

}  // namespace safenic

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(
        stderr, "usage: forward_loop ixgbe|virtio|virtio-split|mlx5|mlx5-cx4lx BATCH ITERATIONS\n");
    return 2;
  }
  return safenic::run(argv[1], std::strtoul(argv[2], nullptr, 10),
                      std::strtoul(argv[3], nullptr, 10));
}
