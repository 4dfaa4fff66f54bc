// The MMIO/DMA seam end to end: one driver (tests/testdev) on a simulated
// device and on a memory-backed MappedBar; the IOMMU's checks and reports.
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/mempool.h"
#include "nic/mapped_bar.h"
#include "sim/iommu.h"
#include "sim/simulated_function.h"
#include "tests/testdev/driver.h"
#include "tests/testdev/model.h"

namespace safenic {
namespace {

using testdev::DmaCopyDriver;
using testdev::DmaCopyModel;
using ::testing::AllOf;
using ::testing::HasSubstr;

class SimulatedSeam : public ::testing::Test {
 protected:
  SimulatedSeam()
      : model_(std::make_shared<DmaCopyModel>(ctx_)), fn_(model_, ctx_, "sim:dmacopy#0") {}

  MempoolPtr pool(const DmaAllocator& dma, const char* tag) {
    MempoolConfig c;
    c.buffers = 16;
    c.data_room = 512;
    c.tag = tag;
    return *Mempool::create(c, dma);
  }
  Packet filled(Mempool& p, size_t len, uint8_t seed) {
    Packet pkt = p.alloc();
    EXPECT_TRUE(pkt.resize(len).ok());
    for (size_t i = 0; i < len; ++i) pkt.data()[i] = static_cast<uint8_t>(seed + i);
    return pkt;
  }

  sim::SimContext ctx_;
  std::shared_ptr<DmaCopyModel> model_;
  sim::SimulatedFunction fn_;
};

TEST_F(SimulatedSeam, DriverCopiesThroughTheModel) {
  auto drv = DmaCopyDriver::open(fn_, 8);
  ASSERT_TRUE(drv.ok()) << drv.status();
  MempoolPtr p = pool(fn_.dma(), "pool");
  for (int round = 0; round < 20; ++round) {  // wraps the 8-entry ring
    Packet src = filled(*p, 100 + round, static_cast<uint8_t>(round));
    Packet dst = p->alloc();
    const uint32_t i = (*drv)->copy(src, dst);
    ASSERT_TRUE((*drv)->done(i));  // the doorbell did the work, synchronously
    EXPECT_FALSE((*drv)->failed(i));
    ASSERT_EQ(dst.size(), src.size());
    EXPECT_EQ(std::memcmp(dst.data(), src.data(), src.size()), 0);
  }
  EXPECT_EQ(model_->copies(), 20u);
  EXPECT_EQ((*drv)->bar().read<testdev::ERRORS>().raw(), 0u);
  EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string();
}

TEST_F(SimulatedSeam, MemoryTheDeviceCannotReachIsAFaultNotACopy) {
  auto drv = DmaCopyDriver::open(fn_, 8);
  ASSERT_TRUE(drv.ok());
  MempoolPtr reachable = pool(fn_.dma(), "reachable");
  // A pool this device's IOMMU never mapped, whose "IOVAs" are virtual
  // addresses: the classic driver bug of writing a pointer into a descriptor.
  MempoolPtr unreachable =
      pool(DmaAllocator(Backing::kAnonymous, std::make_shared<IdentityMapper>()), "elsewhere");
  Packet src = filled(*reachable, 64, 1);
  Packet dst = unreachable->alloc();
  std::memset(dst.data(), 0xEE, 64);
  const uint32_t i = (*drv)->copy(src, dst);
  EXPECT_TRUE((*drv)->done(i));
  EXPECT_TRUE((*drv)->failed(i));
  EXPECT_EQ(dst.data()[0], 0xEE);  // nothing was written
  EXPECT_EQ((*drv)->bar().read<testdev::ERRORS>().raw(), 1u);
  EXPECT_EQ((*drv)->bar().read<testdev::ERRORS>().raw(), 0u);  // clear on read
  ASSERT_EQ(ctx_.log->size(), 1u);
  EXPECT_THAT(ctx_.log->entries()[0], AllOf(HasSubstr("copy destination write of 64 bytes"),
                                            HasSubstr(absl::StrFormat("%#x", dst.iova())),
                                            HasSubstr("outside every live DMA region")));
}

TEST_F(SimulatedSeam, BadMmioIsReportedAndReadsAllOnes) {
  Bar& bar = **fn_.bar(0);
  EXPECT_EQ(bar.read32(testdev::kBarSize), 0xFFFFFFFFu);
  EXPECT_EQ(bar.read32(0x2), 0xFFFFFFFFu);
  bar.write32(0x100, 1);  // inside the BAR but unmodelled
  ASSERT_EQ(ctx_.log->size(), 3u);
  EXPECT_THAT(ctx_.log->entries()[0], HasSubstr("outside the BAR"));
  EXPECT_THAT(ctx_.log->entries()[1], HasSubstr("misaligned"));
  EXPECT_THAT(ctx_.log->entries()[2], HasSubstr("unmodelled register 0x100"));
  EXPECT_FALSE(fn_.bar(1).ok());
}

TEST_F(SimulatedSeam, DoorbellOnADisabledDeviceIsAViolation) {
  Bar& bar = **fn_.bar(0);
  bar.write(RegisterValue<testdev::TAIL>(1));
  ASSERT_EQ(ctx_.log->size(), 1u);
  EXPECT_THAT(ctx_.log->entries()[0], HasSubstr("disabled"));
}

// A PciFunction whose BAR0 is plain memory: no device reacts, so the test can
// see exactly what the unchanged driver wrote where, as a real BAR would get it.
class MemoryFunction final : public PciFunction {
 public:
  MemoryFunction() : bar_(regs_, sizeof regs_) {
    std::memset(regs_, 0, sizeof regs_);
    uint32_t magic = testdev::kMagic;
    std::memcpy(regs_ + testdev::ID::offset(), &magic, 4);
  }
  std::string name() const override { return "memory"; }
  PciId id() const override { return {testdev::kVendor, testdev::kDevice}; }
  absl::StatusOr<Bar*> bar(int) override { return &bar_; }
  absl::StatusOr<uint32_t> config_read32(uint32_t) override { return 0; }
  const DmaAllocator& dma() const override { return dma_; }
  alignas(64) uint8_t regs_[testdev::kBarSize];

 private:
  MappedBar bar_;
  DmaAllocator dma_{Backing::kAnonymous, std::make_shared<IdentityMapper>()};
};

TEST(MappedSeam, TheSameDriverWritesTheRegistersAtTheirOffsets) {
  MemoryFunction fn;
  auto drv = DmaCopyDriver::open(fn, 16);
  ASSERT_TRUE(drv.ok()) << drv.status();
  uint64_t base;
  uint32_t size, ctrl;
  std::memcpy(&base, fn.regs_ + testdev::RING_BASE::offset(), 8);
  std::memcpy(&size, fn.regs_ + testdev::RING_SIZE::offset(), 4);
  std::memcpy(&ctrl, fn.regs_ + testdev::CTRL::offset(), 4);
  EXPECT_NE(base, 0u);
  EXPECT_EQ(size, 16u);
  EXPECT_EQ(ctrl, 3u);  // RESET stays set in plain memory (no device clears it) | ENABLE

  // Big-endian registers reach the bus most significant byte first.
  Bar& bar = (*drv)->bar();
  bar.write(RegisterValue<testdev::BE_SCRATCH>()
                .set<testdev::BE_SCRATCH::HIGH>(0x1122)
                .set<testdev::BE_SCRATCH::LOW>(0x3344));
  const uint8_t* be = fn.regs_ + testdev::BE_SCRATCH::offset();
  EXPECT_EQ(be[0], 0x11);
  EXPECT_EQ(be[3], 0x44);
  EXPECT_EQ(bar.read<testdev::BE_SCRATCH>().get<testdev::BE_SCRATCH::LOW>(), 0x3344u);
}

TEST(MappedSeam, TheDriverRejectsAWrongDevice) {
  MemoryFunction fn;
  std::memset(fn.regs_, 0xFF, 4);  // a vanished device reads all ones
  auto drv = DmaCopyDriver::open(fn, 16);
  EXPECT_EQ(drv.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(drv.status().message()), HasSubstr("0xffffffff"));
}

// The IOMMU on its own.
class IommuTest : public ::testing::Test {
 protected:
  std::shared_ptr<sim::ViolationLog> log_ = std::make_shared<sim::ViolationLog>();
  std::shared_ptr<sim::Iommu> iommu_ = std::make_shared<sim::Iommu>(log_);
};

TEST_F(IommuTest, TranslatesInsideRegionsOnly) {
  DmaRegion a = *DmaRegion::allocate(4096, Backing::kAnonymous, iommu_, "a");
  DmaRegion b = *DmaRegion::allocate(8192, Backing::kAnonymous, iommu_, "b");
  EXPECT_NE(a.iova(), reinterpret_cast<uint64_t>(a.data()));
  EXPECT_GT(b.iova(), a.iova() + a.size());  // a guard gap between them
  auto first = iommu_->translate(a.iova(), 4096, "t");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->data(), a.data());
  auto inside_b = iommu_->translate(b.iova() + 8000, 192, "t");
  ASSERT_TRUE(inside_b.ok());
  EXPECT_EQ(inside_b->data(), b.data() + 8000);
  EXPECT_TRUE(log_->empty());

  auto overrun = iommu_->translate(a.iova() + 4000, 100, "rx write");
  EXPECT_EQ(overrun.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(
      std::string(overrun.status().message()),
      AllOf(HasSubstr("rx write of 100 bytes"), HasSubstr(absl::StrFormat("%#x", a.iova() + 4000)),
            HasSubstr("nearest region 'a'"), HasSubstr("4 bytes past its end")));
  auto gap = iommu_->translate(a.iova() + 4096 + 16, 4, "tx read");
  EXPECT_FALSE(gap.ok());
  EXPECT_THAT(std::string(gap.status().message()), HasSubstr("nearest region"));
  EXPECT_FALSE(iommu_->translate(0x1000, 4, "low").ok());
  EXPECT_EQ(log_->size(), 3u);
  EXPECT_EQ(iommu_->live_regions(), 2u);
}

TEST_F(IommuTest, DmaIntoAFreedRegionIsReportedAsUseAfterFree) {
  uint64_t old;
  {
    DmaRegion r = *DmaRegion::allocate(4096, Backing::kAnonymous, iommu_, "rx ring");
    old = r.iova();
    uint8_t byte = 1;
    EXPECT_TRUE(iommu_->write(old, {&byte, 1}, "w").ok());
  }
  EXPECT_EQ(iommu_->live_regions(), 0u);
  uint8_t byte = 0;
  auto s = iommu_->write(old + 8, {&byte, 1}, "descriptor write-back");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), AllOf(HasSubstr("'rx ring'"), HasSubstr("use after free")));
}

TEST_F(IommuTest, ReadAndWriteCopyThroughTheMapping) {
  DmaRegion r = *DmaRegion::allocate(4096, Backing::kAnonymous, iommu_, "r");
  const uint8_t in[4] = {1, 2, 3, 4};
  ASSERT_TRUE(iommu_->write(r.iova() + 10, in, "w").ok());
  EXPECT_EQ(r.data()[12], 3);
  uint8_t out[4] = {};
  ASSERT_TRUE(iommu_->read(r.iova() + 10, absl::MakeSpan(out), "r").ok());
  EXPECT_EQ(out[3], 4);
  EXPECT_FALSE(iommu_->read(r.iova() + 4094, absl::MakeSpan(out), "r").ok());
}

// A DmaWindow answers as the IOMMU would: inside its region, the memory;
// outside it, or once the region is unmapped, or once the region's pool
// buffers are tracked, it asks the IOMMU again (which reports what is wrong).
TEST_F(IommuTest, DmaWindowsCheckEveryAccessAndForgetUnmappedRegions) {
  sim::DmaWindow window;
  uint64_t old;
  {
    DmaRegion a = *DmaRegion::allocate(4096, Backing::kAnonymous, iommu_, "ring");
    DmaRegion b = *DmaRegion::allocate(4096, Backing::kAnonymous, iommu_, "other");
    old = a.iova();
    EXPECT_EQ(window.get(*iommu_, a.iova() + 16, 16, "read"), a.data() + 16);
    EXPECT_EQ(window.get(*iommu_, a.iova() + 4080, 16, "read"), a.data() + 4080);  // cached
    EXPECT_EQ(window.get(*iommu_, a.iova() + 4081, 16, "overrun"), nullptr);       // by one byte
    EXPECT_EQ(iommu_->dma(a.iova() + 4081, 16, "overrun"), nullptr);
    EXPECT_EQ(iommu_->dma(a.iova() + 4080, 16, "read"), a.data() + 4080);
    EXPECT_EQ(window.get(*iommu_, a.iova() - 8, 8, "underrun"), nullptr);
    EXPECT_EQ(window.get(*iommu_, b.iova(), 8, "read"), b.data());  // another region
    EXPECT_EQ(log_->size(), 3u);
    EXPECT_EQ(window.get(*iommu_, a.iova(), 8, "read"), a.data());
  }
  EXPECT_EQ(window.get(*iommu_, old, 8, "read after unmap"), nullptr);
  EXPECT_EQ(log_->size(), 4u);
  EXPECT_THAT(log_->to_string(), HasSubstr("use after free"));
}

TEST_F(IommuTest, DmaWindowsDoNotSkipTheBufferChecksOfATrackedPool) {
  DmaRegion pool = *DmaRegion::allocate(4 * 2048, Backing::kAnonymous, iommu_, "pool");
  sim::DmaWindow window;
  EXPECT_EQ(window.get(*iommu_, pool.iova() + 2048, 64, "rx write"), pool.data() + 2048);
  iommu_->buffer_freed(pool.iova() + 2048, 2048);  // the pool reports buffer 1 free
  EXPECT_EQ(window.get(*iommu_, pool.iova() + 2048, 64, "rx write"), nullptr);
  EXPECT_THAT(log_->to_string(), HasSubstr("use after free"));
  iommu_->buffer_allocated(pool.iova() + 2048, 2048);
  EXPECT_EQ(window.get(*iommu_, pool.iova() + 2048, 64, "rx write"), pool.data() + 2048);
}

// VFIO_IOMMU_MAP_DMA picks the IOVA (DPDK's --iova-mode=va: the virtual
// address): such a region is checked like any other, may not overlap another
// or the IOVA space map() hands out, and is gone once unmapped.
TEST_F(IommuTest, RegionsMappedAtAChosenIovaAreCheckedAsOthers) {
  std::vector<uint8_t> memory(8192);
  const uint64_t iova = reinterpret_cast<uint64_t>(memory.data()) & ~uint64_t{4095};
  ASSERT_TRUE(iommu_->map_at(iova, memory.data(), 4096, "program's memory").ok());
  auto t = iommu_->translate(iova + 100, 16, "t");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->data(), memory.data() + 100);
  sim::DmaWindow window;
  EXPECT_EQ(window.get(*iommu_, iova + 4080, 16, "read"), memory.data() + 4080);
  EXPECT_EQ(window.get(*iommu_, iova + 4081, 16, "overrun"), nullptr);
  EXPECT_EQ(log_->size(), 1u);

  EXPECT_EQ(iommu_->map_at(iova + 4095, memory.data(), 16, "overlap").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(iommu_->map_at(iova - 16, memory.data(), 32, "overlap").code(),
            absl::StatusCode::kAlreadyExists);
  DmaRegion own = *DmaRegion::allocate(4096, Backing::kAnonymous, iommu_, "own");
  EXPECT_THAT(std::string(iommu_->map_at(own.iova() + 8192, memory.data(), 16, "x").message()),
              HasSubstr("overlaps the simulator's own IOVA space"));
  EXPECT_EQ(iommu_->map_at(iova + 4096, memory.data() + 4096, 4096, "next").code(),
            absl::StatusCode::kOk);

  iommu_->unmap(iova, 4096);
  EXPECT_EQ(window.get(*iommu_, iova + 16, 8, "read after unmap"), nullptr);
  EXPECT_THAT(log_->to_string(), HasSubstr("use after free"));
  EXPECT_EQ(iommu_->live_regions(), 2u);  // "next" and "own"
}

}  // namespace
}  // namespace safenic
