// Hostile ConnectX: the fuzzer decides what the device writes — command
// outputs (status, syndrome, any output word: QUERY_PAGES counts, object
// numbers, capabilities, MANAGE_PAGES lists) and delivery statuses, and any
// bytes of any CQE and EQE (byte counts, opcodes, owner bits, WQE counters,
// event types, CQNs) between driver calls — while the model also serves the
// device honestly (frames from the wire, send doorbells, seeded faults). The
// driver must stay inside its memory (ASan), never hand over a packet longer
// than its buffer, always return (libFuzzer -timeout), and give every buffer
// back when closed, whether or not open succeeded.
//
// Input: <u8> flags (bit 0: two RX queues with RSS; bits 1-5: seeded faults:
// bad lkeys, CQ overruns, an EQ stall, a health syndrome, a command timeout),
// <u8> n, then n command tamperings of 8 bytes:
//   {<u16> command index (0: the first the driver sends), <u8> kind, <u8> offset, <u32> value}
//   kind % 4: 0 status := value[7:0], syndrome := value; 1 delivery status := value % 0x7F;
//             2 output word at 4 * offset := value; 3 output byte at offset := value[7:0]
// then operations, one byte each plus operands:
//   0: a frame of 60 + <u8> * 8 bytes arrives from the wire
//   1: rx_batch on queue <u8> % queues; <u8> odd: keep the packets
//   2: tx_batch of <u8> % 80 packets of <u16> bytes
//   3: CQ <u8> (of those seen), entry <u8>: <u8> offset, 4 bytes written there
//   4: EQ entry <u8>: <u8> offset, 4 bytes written there
//   5: stats() and link()
//   6: drop the kept packets
//   7: one simulated second passes
//   8: the cable is pulled (<u8> odd) or plugged back
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "mem/mempool.h"
#include "nic/mlx5/mlx5.h"
#include "sim/harness/frames.h"
#include "sim/mlx5/faults.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"
#include "tests/fuzz/device_steps.h"
#include "tests/fuzz/fuzz_input.h"

namespace safenic {
namespace {

constexpr uint32_t kRing = 64;   // entries of every CQ (the driver's rings) and of the EQ
constexpr uint32_t kEntry = 64;  // CQE and EQE size
constexpr size_t kMaxTamperings = 16;

// The device's writes as the fuzzer wants them.
class Hostile final : public sim::DeviceWrites {
 public:
  struct Tamper {
    uint16_t index;
    uint8_t kind, offset;
    uint32_t value;
  };
  explicit Hostile(std::vector<Tamper> t) : tamper_(std::move(t)) {}

  void command(uint16_t, std::vector<uint8_t>& out, mlx5::Delivery& delivery) override {
    for (const Tamper& t : tamper_) {
      if (t.index != commands_) continue;
      switch (t.kind % 4) {
        case 0:
          out[0] = static_cast<uint8_t>(t.value);
          for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(t.value >> (24 - 8 * i));
          break;
        case 1: delivery = static_cast<mlx5::Delivery>(t.value % 0x7F); break;
        case 2:
          for (size_t i = 0; i < 4 && 4u * t.offset + i < out.size(); ++i) {
            out[4u * t.offset + i] = static_cast<uint8_t>(t.value >> (24 - 8 * i));
          }
          break;
        case 3:
          if (t.offset < out.size()) out[t.offset] = static_cast<uint8_t>(t.value);
          break;
      }
    }
    ++commands_;
  }
  // Each ring fits one 4 KiB page: entry 0 is `index` entries before this one.
  void cqe(uint32_t cqn, uint32_t index, uint64_t iova, uint8_t*) override {
    cqs_[cqn] = iova - uint64_t{index} * kEntry;
  }
  void eqe(uint32_t, uint32_t index, uint64_t iova, uint8_t*) override {
    eq_ = iova - uint64_t{index} * kEntry;
    eq_known_ = true;
  }

  // Writes 4 fuzzed bytes into entry `i` of a ring at bus address `base`
  // (memory the driver gave the device; if it is gone, the IOMMU refuses).
  static void write(sim::Iommu& iommu, uint64_t base, fuzz::Input& in) {
    const uint32_t i = in.u8() % kRing, off = in.u8() % (kEntry - 3);
    uint8_t value[4];
    in.bytes(value, 4);
    (void)iommu.write(base + uint64_t{i} * kEntry + off, value, "fuzz");
  }
  const std::map<uint32_t, uint64_t>& cqs() const { return cqs_; }
  const uint64_t* eq() const { return eq_known_ ? &eq_ : nullptr; }

 private:
  std::vector<Tamper> tamper_;
  uint32_t commands_ = 0;
  std::map<uint32_t, uint64_t> cqs_;  // CQ number -> bus address of entry 0
  uint64_t eq_ = 0;
  bool eq_known_ = false;
};

int run(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t flags = in.u8();
  std::vector<Hostile::Tamper> tamper(std::min<size_t>(in.u8(), kMaxTamperings));
  for (Hostile::Tamper& t : tamper) t = {in.u16(), in.u8(), in.u8(), in.u32()};
  Hostile hostile(std::move(tamper));
  auto plan = std::make_shared<sim::ConnectXFaultPlan>(flags);
  if (flags & 2) plan->random(sim::ConnectXFault::kBadLkey, 16);
  if (flags & 4) plan->random(sim::ConnectXFault::kCqOverrun, 64);
  if (flags & 8) plan->random(sim::ConnectXFault::kEqStall, 8, 0, 1);
  if (flags & 16) plan->random(sim::ConnectXFault::kHealthSyndrome, 512, 0, 1);
  if (flags & 32) plan->random(sim::ConnectXFault::kCommandTimeout, 128, 0, 1);

  sim::SimContext ctx;
  sim::TesterPort wire(/*keep_frames=*/false);
  MempoolPtr app = *Mempool::create({.buffers = 256, .tag = "fuzz app"},
                                    DmaAllocator(Backing::kAnonymous, ctx.iommu));
  {
    auto model = std::make_shared<sim::ConnectXModel>(ctx);
    model->set_faults(plan);
    model->set_device_writes(&hostile);
    sim::connect(model->port(), wire);
    DeviceConfig config;
    config.rx_queues = flags & 1 ? 2 : 1;
    config.rx_ring_size = config.tx_ring_size = kRing;
    config.buffers_per_rx_queue = 2 * kRing;
    auto dev = mlx5::open(std::make_unique<sim::SimulatedFunction>(model, ctx, "fuzz"), config);
    if (!dev.ok()) {  // a hostile device may refuse to open: clearly, and leaving nothing
      FUZZ_CHECK(!dev.status().message().empty());
      model.reset();
      app.reset();
      FUZZ_CHECK(ctx.iommu->live_regions() == 0);
      return 0;
    }
    Device& d = **dev;
    Batch<64> kept;
    sim::UdpFlow flow;
    flow.dst_mac = d.mac();
    for (int step = 0; step < 512 && !in.empty(); ++step) {
      switch (in.u8() % 9) {
        case 0: {
          flow.src_port = static_cast<uint16_t>(step);  // RSS spreads them
          wire.send(sim::udp_frame(60 + in.u8() * 8u, flow, step));
          break;
        }
        case 1: {
          const uint16_t q = in.u8() % d.rx_queues();
          fuzz::receive_fuzzed(in, d, q, kept);
          break;
        }
        case 2: fuzz::send_fuzzed_batch(in, *app, d); break;
        case 3: {
          const auto& cqs = hostile.cqs();
          const uint8_t pick = in.u8();
          if (cqs.empty()) break;
          auto it = cqs.begin();
          std::advance(it, pick % cqs.size());
          Hostile::write(*ctx.iommu, it->second, in);
          break;
        }
        case 4:
          if (hostile.eq() != nullptr) Hostile::write(*ctx.iommu, *hostile.eq(), in);
          break;
        case 5: {
          auto stats = d.stats();
          FUZZ_CHECK(stats.ok() || !stats.status().message().empty());
          const LinkStatus link = d.link();
          FUZZ_CHECK(link.up || link.speed_mbps == 0);
          break;
        }
        case 6: kept.clear(); break;
        case 7: ctx.clock->advance(absl::Seconds(1)); break;
        case 8:
          if (in.u8() & 1) {
            sim::disconnect(model->port());
          } else {
            sim::connect(model->port(), wire);
          }
          break;
      }
    }
    kept.clear();
  }  // the device closes: rings, RX pools and firmware pages go
  fuzz::check_nothing_left(app, ctx);
  return 0;
}

}  // namespace
}  // namespace safenic

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return safenic::run(data, size);
}
