// Trapped MMIO: loads and stores on a trapped region reach the device with
// their offset, width and value, and loads put the device's value in the
// destination register; what the handler cannot emulate ends the program with
// the offset and the instruction bytes. Last, safenic's own ixgbe driver runs
// unchanged on MappedBars whose pages trap into two 82599 models.
#include "sim/trap/mmio_trap.h"

#include <cpuid.h>
#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/ixgbe/ixgbe.h"
#include "nic/mapped_bar.h"
#include "sim/harness/frames.h"
#include "sim/ixgbe/model.h"
#include "sim/simulated_function.h"

namespace safenic::sim {
namespace {

using ::testing::HasSubstr;

// Remembers every access; reads return `next_read`.
struct RecordingDevice final : TrappedMmio::Device {
  struct Access {
    bool write;
    uint64_t offset;
    unsigned width;
    uint64_t value;
    bool operator==(const Access&) const = default;
  };
  uint64_t read(uint64_t offset, unsigned width) override {
    accesses.push_back({false, offset, width, 0});
    return next_read;
  }
  void write(uint64_t offset, unsigned width, uint64_t value) override {
    accesses.push_back({true, offset, width, value});
  }
  std::vector<Access> accesses;
  uint64_t next_read = 0;
};

class MmioTrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TrappedMmio::create(8192, device_, "test BAR");
    ASSERT_TRUE(t.ok()) << t.status();
    trap_ = *std::move(t);
    base_ = static_cast<uint8_t*>(trap_->base());
  }
  RecordingDevice device_;
  std::unique_ptr<TrappedMmio> trap_;
  uint8_t* base_ = nullptr;
};

TEST_F(MmioTrapTest, VolatileStoresOfEachWidthReachTheDevice) {
  *reinterpret_cast<volatile uint8_t*>(base_ + 0x11) = 0xA5;
  *reinterpret_cast<volatile uint16_t*>(base_ + 0x22) = 0xBEEF;
  *reinterpret_cast<volatile uint32_t*>(base_ + 0x1004) = 0xDEADBEEF;
  *reinterpret_cast<volatile uint64_t*>(base_ + 0x1FF8) = 0x0123456789ABCDEF;
  using A = RecordingDevice::Access;
  EXPECT_THAT(device_.accesses,
              ::testing::ElementsAre(A{true, 0x11, 1, 0xA5}, A{true, 0x22, 2, 0xBEEF},
                                     A{true, 0x1004, 4, 0xDEADBEEF},
                                     A{true, 0x1FF8, 8, 0x0123456789ABCDEF}));
  EXPECT_EQ(trap_->traps(), 4u);
}

TEST_F(MmioTrapTest, VolatileLoadsOfEachWidthGetTheDevicesValue) {
  device_.next_read = 0x1122334455667788;
  EXPECT_EQ(*reinterpret_cast<volatile uint8_t*>(base_ + 1), 0x88);
  EXPECT_EQ(*reinterpret_cast<volatile uint16_t*>(base_ + 2), 0x7788);
  EXPECT_EQ(*reinterpret_cast<volatile uint32_t*>(base_ + 4), 0x55667788u);
  EXPECT_EQ(*reinterpret_cast<volatile uint64_t*>(base_ + 8), 0x1122334455667788u);
  ASSERT_EQ(device_.accesses.size(), 4u);
  EXPECT_EQ(device_.accesses[2].offset, 4u);
  EXPECT_EQ(device_.accesses[2].width, 4u);
  EXPECT_FALSE(device_.accesses[2].write);
}

// The forms a compiler may pick, spelled out: immediates (sign-extended for
// 64 bits), high-byte and REX registers, movzx/movsx, SIB addressing.
TEST_F(MmioTrapTest, EveryDecodedFormIsEmulated) {
  uint8_t* p = base_;
  asm volatile("movl $0xdeadbeef, 0x40(%0)" : : "r"(p) : "memory");
  asm volatile("movq $-2, 0x48(%0)" : : "r"(p) : "memory");
  asm volatile("movw $0x1234, 0x50(%0)" : : "r"(p) : "memory");
  asm volatile("movb $0x5a, 0x52(%0)" : : "r"(p) : "memory");
  asm volatile("movb %%ah, 0x53(%0)" : : "r"(p), "a"(uint64_t{0xC3D4}) : "memory");
  register uint64_t r11 asm("r11") = 0xFEEDFACECAFEF00D;
  asm volatile("movq %%r11, 0x58(%0)" : : "r"(p), "r"(r11) : "memory");
  const uint64_t index = 4;
  asm volatile("movl %%ecx, 0x60(%0,%1,8)" : : "r"(p), "r"(index), "c"(uint64_t{7}) : "memory");
  using A = RecordingDevice::Access;
  EXPECT_THAT(device_.accesses,
              ::testing::ElementsAre(A{true, 0x40, 4, 0xDEADBEEF},
                                     A{true, 0x48, 8, 0xFFFFFFFFFFFFFFFE}, A{true, 0x50, 2, 0x1234},
                                     A{true, 0x52, 1, 0x5A}, A{true, 0x53, 1, 0xC3},
                                     A{true, 0x58, 8, 0xFEEDFACECAFEF00D}, A{true, 0x80, 4, 7}));

  device_.next_read = 0xF0E1D2C3B4A59687;
  uint64_t out = 0xFFFFFFFFFFFFFFFF;
  asm volatile("movzbl 0x10(%1), %k0" : "+r"(out) : "r"(p));
  EXPECT_EQ(out, 0x87u);  // zero-extended, bits 63:32 cleared
  out = 0;
  asm volatile("movsbq 0x10(%1), %0" : "=r"(out) : "r"(p));
  EXPECT_EQ(out, 0xFFFFFFFFFFFFFF87u);
  out = 0xAAAAAAAAAAAAAAAA;
  asm volatile("movw 0x10(%1), %w0" : "+r"(out) : "r"(p));
  EXPECT_EQ(out, 0xAAAAAAAAAAAA9687u);  // a 16-bit destination keeps the rest
  uint64_t rax = 0x1111111111111111;
  asm volatile("movb 0x10(%1), %%ah" : "+a"(rax) : "r"(p));
  EXPECT_EQ(rax, 0x1111111111118711u);
  register uint64_t r14 asm("r14") = 0xFFFFFFFFFFFFFFFF;
  asm volatile("movl 0x10(%1), %%r14d" : "+r"(r14) : "r"(p));
  const uint64_t loaded = r14;
  EXPECT_EQ(loaded, 0xB4A59687u);
}

// DPDK's doorbell store on CPUs with MOVDIRI (CPUID.(EAX=7,ECX=0):ECX[27]).
// Without the feature the instruction would not run at all: skipped.
TEST_F(MmioTrapTest, DirectStoresAreEmulated) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) {
    GTEST_SKIP() << "this CPU has no MOVDIRI";
  }
  uint8_t* p = base_;
  asm volatile("movdiri %%eax, 0x18(%0)" : : "r"(p), "a"(uint64_t{0xFFFFFFFF00000123}) : "memory");
  register uint64_t r9 asm("r9") = 0x0123456789ABCDEF;
  asm volatile("movdiri %%r9, 0x20(%0)" : : "r"(p), "r"(r9) : "memory");
  using A = RecordingDevice::Access;
  EXPECT_THAT(device_.accesses, ::testing::ElementsAre(A{true, 0x18, 4, 0x123},
                                                       A{true, 0x20, 8, 0x0123456789ABCDEF}));
}

TEST_F(MmioTrapTest, AnInstructionItCannotEmulateEndsTheProgramNamingOffsetAndBytes) {
  uint8_t* p = base_;
  EXPECT_EXIT(asm volatile("lock addl $1, 0x124(%0)"
                           :
                           : "r"(p)
                           : "memory"),
              ::testing::ExitedWithCode(1), "offset 0x124 of test BAR.*bytes f0 83");
  EXPECT_EXIT(asm volatile("movdqu 0x200(%0), %%xmm0"
                           :
                           : "r"(p)
                           : "xmm0", "memory"),
              ::testing::ExitedWithCode(1), "offset 0x200 of test BAR.*bytes f3 0f 6f");
}

TEST_F(MmioTrapTest, FaultsElsewhereStayFaults) {
  // Outside any trapped region (a page just freed): the program dies as it would have.
  EXPECT_DEATH(
      {
        void* gone = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *static_cast<volatile int*>(gone) = 1;
      },
      "");
}

TEST(MmioTrapRegionsTest, DestroyedRegionsAreUnmappedAndTheirSlotsReused) {
  RecordingDevice device;
  for (int i = 0; i < 200; ++i) {  // more than the table holds at once
    auto t = TrappedMmio::create(4096, device, "short-lived");
    ASSERT_TRUE(t.ok()) << t.status();
    *static_cast<volatile uint32_t*>((*t)->base()) = static_cast<uint32_t>(i);
  }
  EXPECT_EQ(device.accesses.size(), 200u);
  EXPECT_EQ(device.accesses.back().value, 199u);
}

// A PciFunction whose BARs are MappedBars on trapped pages: the driver makes
// plain volatile accesses, as on hardware, and they reach the model through
// the SimulatedBar's checks.
class TrappedFunction final : public PciFunction {
 public:
  explicit TrappedFunction(std::unique_ptr<SimulatedFunction> sim) : sim_(std::move(sim)) {}
  std::string name() const override { return sim_->name() + " (trapped)"; }
  PciId id() const override { return sim_->id(); }
  absl::StatusOr<Bar*> bar(int index) override {
    if (mapped_[index]) return mapped_[index].get();
    auto inner = sim_->bar(index);
    if (!inner.ok()) return inner.status();
    forward_[index] = std::make_unique<ForwardToBar>(**inner);
    auto trap = TrappedMmio::create((*inner)->size(), *forward_[index], name());
    if (!trap.ok()) return trap.status();
    traps_[index] = *std::move(trap);
    mapped_[index] = std::make_unique<MappedBar>(traps_[index]->base(), (*inner)->size());
    return mapped_[index].get();
  }
  absl::StatusOr<uint32_t> config_read32(uint32_t offset) override {
    return sim_->config_read32(offset);
  }
  const DmaAllocator& dma() const override { return sim_->dma(); }
  absl::Time now() override { return sim_->now(); }
  void sleep(absl::Duration d) override { sim_->sleep(d); }
  uint64_t traps() const { return traps_[0] ? traps_[0]->traps() : 0; }

 private:
  std::unique_ptr<SimulatedFunction> sim_;
  std::array<std::unique_ptr<ForwardToBar>, 6> forward_;
  std::array<std::unique_ptr<TrappedMmio>, 6> traps_;
  std::array<std::unique_ptr<MappedBar>, 6> mapped_;  // destroyed first
};

TEST(TrappedDriverTest, TheIxgbeDriverForwardsThroughTrappedBars) {
  SimContext ctx;
  DeviceConfig config;
  config.rx_ring_size = config.tx_ring_size = 64;
  config.buffers_per_rx_queue = 256;
  std::vector<std::shared_ptr<Ixgbe82599>> models;
  std::vector<TrappedFunction*> functions;
  std::vector<std::unique_ptr<Device>> devs;
  for (uint8_t id = 1; id <= 2; ++id) {
    Ixgbe82599Config mc;
    mc.mac.bytes[5] = id;
    models.push_back(std::make_shared<Ixgbe82599>(ctx, mc));
    auto fn = std::make_unique<TrappedFunction>(
        std::make_unique<SimulatedFunction>(models.back(), ctx, "sim:82599#" + std::to_string(id)));
    functions.push_back(fn.get());
    auto dev = ixgbe::open(std::move(fn), config);
    ASSERT_TRUE(dev.ok()) << dev.status();
    devs.push_back(*std::move(dev));
  }
  connect(models[0]->port(), models[1]->port());
  ASSERT_TRUE(devs[0]->wait_for_link(absl::Seconds(1)).ok());
  ASSERT_TRUE(devs[1]->wait_for_link(absl::Seconds(1)).ok());

  MempoolConfig pc;
  pc.buffers = 256;
  pc.tag = "app";
  MempoolPtr pool = *Mempool::create(pc, DmaAllocator(Backing::kAnonymous, ctx.iommu));
  UdpFlow flow;
  flow.dst_mac = devs[1]->mac();
  size_t received = 0;
  for (int round = 0; round < 10; ++round) {
    Batch<32> out;
    for (int i = 0; i < 10; ++i) {
      Packet p = pool->alloc();
      ASSERT_TRUE(p.resize(60).ok());
      write_udp_frame(p.bytes(), flow, round * 10 + i);
      ASSERT_TRUE(out.push(std::move(p)));
    }
    ASSERT_TRUE(devs[0]->tx_batch(0, out).ok());
    Batch<32> in;
    auto n = devs[1]->rx_batch(0, in);
    ASSERT_TRUE(n.ok()) << n.status();
    received += *n;
  }
  EXPECT_EQ(received, 100u);
  auto stats = devs[1]->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->counters["GPRC"], 100u);
  EXPECT_GT(functions[0]->traps(), 100u);  // init, doorbells, link, statistics
  EXPECT_TRUE(ctx.log->empty()) << ctx.log->to_string();
  devs.clear();
}

}  // namespace
}  // namespace safenic::sim
