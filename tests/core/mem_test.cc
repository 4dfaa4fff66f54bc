// mem/: DmaRegion, DmaArena, Mempool, Packet, Batch.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/arena.h"
#include "mem/batch.h"
#include "mem/dma_region.h"
#include "mem/mempool.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

// Counts map/unmap calls, so tests see regions die.
class CountingMapper final : public IovaMapper {
 public:
  absl::StatusOr<uint64_t> map(void* va, size_t len, absl::string_view) override {
    ++live;
    return reinterpret_cast<uint64_t>(va) ^ (uint64_t{1} << 60);
  }
  void unmap(uint64_t, size_t) override { --live; }
  absl::string_view name() const override { return "counting"; }
  int live = 0;
};

// Keeps at most `max` bytes contiguous per map() (as PagemapMapper does one
// hugepage), each mapping at a distant IOVA, and records the mappings.
class ChunkedMapper final : public IovaMapper {
 public:
  explicit ChunkedMapper(size_t max) : max_(max) {}
  absl::StatusOr<uint64_t> map(void* va, size_t len, absl::string_view) override {
    if (len > max_) return absl::FailedPreconditionError("longer than one chunk");
    const uint64_t iova = (uint64_t{mappings.size()} + 1) << 32;
    mappings.push_back({iova, len});
    return iova;
  }
  void unmap(uint64_t, size_t) override {}
  absl::string_view name() const override { return "chunked"; }
  size_t max_region_size() const override { return max_; }
  std::vector<std::pair<uint64_t, size_t>> mappings;

 private:
  size_t max_;
};

// A pool larger than its mapper keeps contiguous is split into regions of
// whole buffers: every buffer's bytes are inside one mapping, at the IOVA
// that mapping gives them.
TEST(Mempool, APoolLargerThanTheMapperKeepsContiguousSpansRegionsOfWholeBuffers) {
  auto mapper = std::make_shared<ChunkedMapper>(8192);
  auto pool = Mempool::create({.buffers = 10, .data_room = 1920, .tag = "chunks"},
                              DmaAllocator(Backing::kAnonymous, mapper));
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_EQ((*pool)->stride(), 2048u);     // 128 headroom + 1920
  EXPECT_EQ((*pool)->region_count(), 3u);  // 4 + 4 + 2 buffers
  ASSERT_EQ(mapper->mappings.size(), 3u);
  Batch<16> all;
  ASSERT_EQ((*pool)->alloc_bulk(all, 10), 10u);
  std::set<uint64_t> iovas;
  for (const Packet& p : all) {
    const uint64_t start = p.iova() - (*pool)->headroom();
    bool inside = false;
    for (const auto& [iova, len] : mapper->mappings) {
      inside |= start >= iova && start + (*pool)->stride() <= iova + len;
    }
    EXPECT_TRUE(inside) << "buffer at IOVA " << start << " is not inside one mapping";
    iovas.insert(start);
    // The IOVA is the one its region's mapping gives its bytes.
    bool matches = false;
    for (size_t r = 0; r < (*pool)->region_count(); ++r) {
      const DmaRegion& region = (*pool)->region(r);
      if (region.contains(p.data() - (*pool)->headroom(), (*pool)->stride())) {
        matches = region.iova_of(p.data()) == p.iova();
      }
    }
    EXPECT_TRUE(matches);
  }
  EXPECT_EQ(iovas.size(), 10u);
  auto too_big = Mempool::create({.buffers = 2, .data_room = 9000, .tag = "jumbo"},
                                 DmaAllocator(Backing::kAnonymous, mapper));
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_big.status().message()), HasSubstr("does not fit"));
}

DmaAllocator counting_allocator(std::shared_ptr<CountingMapper>& mapper) {
  mapper = std::make_shared<CountingMapper>();
  return DmaAllocator(Backing::kAnonymous, mapper);
}

TEST(DmaRegion, AllocatesZeroedPageRoundedMemoryWithAnIova) {
  std::shared_ptr<CountingMapper> mapper;
  DmaAllocator dma = counting_allocator(mapper);
  auto r = dma.allocate(100, "test");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 4096u);
  EXPECT_NE(r->iova(), reinterpret_cast<uint64_t>(r->data()));
  EXPECT_EQ(r->iova_of(r->data() + 10), r->iova() + 10);
  EXPECT_GE(r->fd(), 0);
  for (size_t i = 0; i < r->size(); ++i) ASSERT_EQ(r->data()[i], 0);
  EXPECT_TRUE(r->contains(r->data() + 4000, 96));
  EXPECT_FALSE(r->contains(r->data() + 4000, 97));
  EXPECT_EQ(mapper->live, 1);
}

TEST(DmaRegion, MoveTransfersOwnershipAndDestructionUnmaps) {
  std::shared_ptr<CountingMapper> mapper;
  DmaAllocator dma = counting_allocator(mapper);
  {
    DmaRegion a = *dma.allocate(4096, "a");
    uint8_t* p = a.data();
    DmaRegion b = std::move(a);
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(b.data(), p);
    EXPECT_EQ(mapper->live, 1);
    b = *dma.allocate(8192, "b");  // the first region dies here
    EXPECT_EQ(mapper->live, 1);
  }
  EXPECT_EQ(mapper->live, 0);
}

TEST(DmaRegion, RejectsZeroBytes) {
  auto r = DmaRegion::allocate(0, Backing::kAnonymous, std::make_shared<IdentityMapper>(), "zero");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

long meminfo(const char* key) {
  FILE* f = std::fopen("/proc/meminfo", "re");
  char line[128];
  long v = -1;
  while (f != nullptr && std::fgets(line, sizeof line, f) != nullptr) {
    if (absl::StartsWith(line, key)) std::sscanf(line + std::strlen(key), " %ld", &v);
  }
  if (f != nullptr) std::fclose(f);
  return v;
}

// .ci/run reserves a few hugepages (vm.nr_hugepages) when it may.
TEST(DmaRegion, HugepageRegionsAreAlignedAndSized) {
  if (meminfo("HugePages_Free:") < 2) {
    GTEST_SKIP() << "fewer than 2 free 2 MiB hugepages; reserve some with "
                    "`echo 8 > /proc/sys/vm/nr_hugepages`";
  }
  auto r = DmaRegion::allocate(3 << 20, Backing::kHugepage2M, std::make_shared<IdentityMapper>(),
                               "huge");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 4u << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(r->data()) % kHugepageSize, 0u);
  r->data()[r->size() - 1] = 1;
}

TEST(DmaRegion, TooFewHugepagesIsAnErrorThatSaysHowToReserveThem) {
  const size_t pages = meminfo("HugePages_Total:") + 4;
  auto r = DmaRegion::allocate(pages * kHugepageSize, Backing::kHugepage2M,
                               std::make_shared<IdentityMapper>(), "huge");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("/proc/sys/vm/nr_hugepages"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("2 MiB hugepage"));
}

TEST(PagemapMapper, TranslatesALockedPageOrSaysWhy) {
  auto r = DmaRegion::allocate(4096, Backing::kAnonymous, std::make_shared<IdentityMapper>(), "pm");
  ASSERT_TRUE(r.ok());
  r->data()[0] = 1;  // resident
  auto pa = PagemapMapper::physical_address(r->data() + 123);
  if (!pa.ok()) {
    EXPECT_THAT(std::string(pa.status().message()), HasSubstr("root"));
    GTEST_SKIP() << "pagemap not permitted here: " << pa.status();
  }
  EXPECT_EQ(*pa % 4096, 123u);
  EXPECT_NE(*pa, reinterpret_cast<uintptr_t>(r->data() + 123));
}

// ---- DmaArena: slices of one shared mapping ----------------------------------

TEST(DmaArena, SlicesAreZeroedAlignedAndShareTheArenasMemfd) {
  auto mapper = std::make_shared<CountingMapper>();
  auto arena = DmaArena::create(1 << 20, Backing::kAnonymous, mapper, "arena");
  ASSERT_TRUE(arena.ok()) << arena.status();
  EXPECT_EQ(mapper->live, 1);  // mapped once, as a whole
  DmaAllocator dma(*arena);
  EXPECT_EQ(dma.arena(), *arena);
  auto a = dma.allocate(100, "a");
  auto b = dma.allocate(5000, "b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(mapper->live, 1);  // slices map nothing
  const DmaRegion& whole = (*arena)->region();
  EXPECT_EQ(a->size(), 4096u);
  EXPECT_EQ(b->size(), 8192u);
  for (const DmaRegion* r : {&*a, &*b}) {
    EXPECT_EQ(r->fd(), whole.fd());
    EXPECT_EQ(r->fd_offset() % DmaArena::kSliceAlignment, 0u);
    EXPECT_EQ(r->data(), whole.data() + r->fd_offset());
    EXPECT_EQ(r->iova(), whole.iova() + r->fd_offset());
    EXPECT_TRUE(whole.contains(r->data(), r->size()));
    EXPECT_EQ(r->tag(), r == &*a ? "a" : "b");
  }
  EXPECT_FALSE(a->contains(b->data(), 1));
  EXPECT_EQ((*arena)->bytes_in_use(), 12288u);
  EXPECT_EQ((*arena)->slices_in_use(), 2u);
  // What the device would see through the shared memfd.
  b->data()[7] = 0x5a;
  uint8_t seen = 0;
  ASSERT_EQ(pread(b->fd(), &seen, 1, static_cast<off_t>(b->fd_offset() + 7)), 1);
  EXPECT_EQ(seen, 0x5a);
}

TEST(DmaArena, FreedRangesAreReusedZeroedAndMerged) {
  auto arena =
      *DmaArena::create(64 << 10, Backing::kAnonymous, std::make_shared<IdentityMapper>(), "arena");
  DmaAllocator dma(arena);
  std::vector<DmaRegion> slices;
  for (int i = 0; i < 16; ++i) {
    auto r = dma.allocate(4096, "page");
    ASSERT_TRUE(r.ok()) << r.status();
    std::memset(r->data(), 0xff, r->size());
    slices.push_back(*std::move(r));
  }
  EXPECT_EQ(dma.allocate(1, "17th").status().code(), absl::StatusCode::kResourceExhausted);
  // Free every other page, then the rest in a scattered order: the pieces
  // must merge back into one, or the full-size allocation below fails.
  for (int i = 0; i < 16; i += 2) slices[i] = DmaRegion();
  EXPECT_EQ(arena->slices_in_use(), 8u);
  EXPECT_EQ(dma.allocate(8192, "two pages").status().code(), absl::StatusCode::kResourceExhausted);
  auto one = dma.allocate(4096, "reused");
  ASSERT_TRUE(one.ok());
  for (size_t i = 0; i < one->size(); ++i) ASSERT_EQ(one->data()[i], 0) << i;
  one = DmaRegion();
  for (int i : {15, 1, 7, 3, 13, 5, 11, 9}) slices[i] = DmaRegion();
  EXPECT_EQ(arena->bytes_in_use(), 0u);
  auto all = dma.allocate(64 << 10, "all");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->data(), arena->region().data());
}

TEST(DmaArena, ExhaustionSaysWhatIsFreeAndWhatToDo) {
  auto arena = *DmaArena::create(16 << 10, Backing::kAnonymous, std::make_shared<IdentityMapper>(),
                                 "small arena");
  DmaAllocator dma(arena);
  DmaRegion keep = *dma.allocate(12 << 10, "rings");
  auto r = dma.allocate(8 << 10, "pool");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("small arena"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("'pool'"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("larger arena"));
  EXPECT_EQ(dma.allocate(0, "none").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dma.allocate(1 << 30, "huge").status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(DmaArena, SlicesKeepTheArenaAliveAndItUnmapsOnceAfterTheLast) {
  auto mapper = std::make_shared<CountingMapper>();
  DmaRegion slice;
  MempoolPtr pool;
  {
    auto arena = *DmaArena::create(1 << 20, Backing::kAnonymous, mapper, "arena");
    DmaAllocator dma(arena);
    slice = *dma.allocate(4096, "ring");
    pool = *Mempool::create({.buffers = 64, .tag = "pool"}, dma);
    EXPECT_EQ(pool->region().arena(), arena);
    EXPECT_EQ(arena->slices_in_use(), 2u);
  }
  // The arena's owner is gone; its slices still work.
  Packet p = pool->alloc();
  ASSERT_TRUE(p.resize(60).ok());
  std::memset(p.data(), 1, 60);
  slice.data()[4095] = 1;
  EXPECT_EQ(mapper->live, 1);
  p.reset();
  pool.reset();
  EXPECT_EQ(mapper->live, 1);
  DmaRegion moved = std::move(slice);
  EXPECT_TRUE(slice.empty());
  moved = DmaRegion();  // the last slice: the arena goes, unmapped once
  EXPECT_EQ(mapper->live, 0);
}

class MempoolTest : public ::testing::Test {
 protected:
  MempoolPtr make_pool(uint32_t buffers, uint32_t data_room = 2048) {
    MempoolConfig c;
    c.buffers = buffers;
    c.data_room = data_room;
    c.tag = "test-pool";
    auto pool = Mempool::create(c, dma_);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return *std::move(pool);
  }
  std::shared_ptr<CountingMapper> mapper_;
  DmaAllocator dma_ = counting_allocator(mapper_);
};

TEST_F(MempoolTest, GeometryAndIovas) {
  MempoolPtr pool = make_pool(8, 2000);
  EXPECT_EQ(pool->stride(), (128u + 2000 + 63) / 64 * 64);
  Packet a = pool->alloc();
  Packet b = pool->alloc();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a.headroom(), 128u);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.capacity(), pool->stride() - 128);
  EXPECT_EQ(a.iova(), pool->region().iova_of(a.data()));
  EXPECT_EQ(a.iova() % 64, 0u);
  EXPECT_EQ(b.data() - a.data(), static_cast<ptrdiff_t>(pool->stride()));
}

TEST_F(MempoolTest, ExhaustionIsCountedAndDroppingPacketsReturnsThem) {
  MempoolPtr pool = make_pool(4);
  {
    Packet p[4];
    for (auto& x : p) x = pool->alloc();
    EXPECT_EQ(pool->in_use(), 4u);
    EXPECT_TRUE(pool->alloc().empty());
    EXPECT_EQ(pool->alloc_failures(), 1u);
    p[1].reset();
    EXPECT_TRUE(p[1].empty());
    EXPECT_EQ(pool->in_use(), 3u);
  }
  EXPECT_EQ(pool->in_use(), 0u);
  EXPECT_EQ(pool->available(), 4u);
}

TEST_F(MempoolTest, PacketsAreMoveOnlyAndMoveAssignmentFreesTheOldBuffer) {
  static_assert(!std::is_copy_constructible_v<Packet>);
  static_assert(!std::is_copy_assignable_v<Packet>);
  static_assert(std::is_nothrow_move_constructible_v<Packet>);
  MempoolPtr pool = make_pool(4);
  Packet a = pool->alloc();
  uint8_t* data = a.data();
  Packet b = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(pool->in_use(), 1u);
  Packet c = pool->alloc();
  b = std::move(c);  // b's old buffer goes home
  EXPECT_EQ(pool->in_use(), 1u);
  b = std::move(b);  // self-move keeps the buffer
  EXPECT_EQ(pool->in_use(), 1u);
  EXPECT_FALSE(b.empty());
}

TEST_F(MempoolTest, ResizePrependTrimAreCheckedAndChangeNothingOnError) {
  MempoolPtr pool = make_pool(2, 256);
  Packet p = pool->alloc();
  ASSERT_TRUE(p.resize(60).ok());
  std::memset(p.data(), 0xab, 60);
  auto too_long = p.resize(p.capacity() + 1);
  EXPECT_EQ(too_long.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(too_long.message()), HasSubstr("test-pool"));
  EXPECT_EQ(p.size(), 60u);
  ASSERT_TRUE(p.prepend(12).ok());
  EXPECT_EQ(p.size(), 72u);
  EXPECT_EQ(p.headroom(), 116u);
  EXPECT_FALSE(p.prepend(117).ok());
  ASSERT_TRUE(p.trim_front(12).ok());
  EXPECT_EQ(p.data()[0], 0xab);
  EXPECT_FALSE(p.trim_front(61).ok());
  EXPECT_EQ(p.size(), 60u);
  EXPECT_FALSE(p.try_resize(p.capacity() + 1));  // the fast-path form: same check
  EXPECT_EQ(p.size(), 60u);
  EXPECT_TRUE(p.try_resize(p.capacity()));
  EXPECT_EQ(p.size(), p.capacity());
}

TEST_F(MempoolTest, CloneCopiesIntoANewBufferOrFailsClearly) {
  MempoolPtr pool = make_pool(2);
  MempoolPtr tiny = make_pool(1, 64);
  Packet p = pool->alloc();
  ASSERT_TRUE(p.resize(100).ok());
  for (int i = 0; i < 100; ++i) p.data()[i] = static_cast<uint8_t>(i);
  auto c = p.clone();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(c->data(), p.data());
  EXPECT_EQ(c->size(), 100u);
  EXPECT_EQ(std::memcmp(c->data(), p.data(), 100), 0);
  auto none_left = p.clone();
  EXPECT_EQ(none_left.status().code(), absl::StatusCode::kResourceExhausted);
  auto too_big = p.clone(*tiny);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(tiny->in_use(), 0u);
}

TEST_F(MempoolTest, RejectsBadConfigs) {
  MempoolConfig c;
  c.buffers = 0;
  EXPECT_EQ(Mempool::create(c, dma_).status().code(), absl::StatusCode::kInvalidArgument);
  c.buffers = 1;
  c.data_room = 1;
  EXPECT_EQ(Mempool::create(c, dma_).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MempoolTest, ReleasingThePoolWithPacketsOutIsSafe) {
  Packet survivor;
  {
    MempoolPtr pool = make_pool(4);
    survivor = pool->alloc();
    ASSERT_TRUE(survivor.resize(10).ok());
    survivor.data()[9] = 7;
  }  // the handle goes; the pool (and its region) must live on
  EXPECT_EQ(mapper_->live, 1);
  EXPECT_EQ(survivor.data()[9], 7);
  EXPECT_EQ(survivor.pool().in_use(), 1u);
  survivor.reset();  // last buffer home: pool and region go (ASan checks)
  EXPECT_EQ(mapper_->live, 0);
}

TEST_F(MempoolTest, BulkAllocFillsABatchUpToItsRoom) {
  MempoolPtr pool = make_pool(40);
  Batch<32> batch;
  EXPECT_EQ(pool->alloc_bulk(batch, 10), 10u);
  EXPECT_EQ(pool->alloc_bulk(batch, 64), 22u);  // capped by the batch
  EXPECT_TRUE(batch.full());
  EXPECT_EQ(pool->in_use(), 32u);
  for (Packet& p : batch) {
    EXPECT_EQ(p.size(), 0u);
    EXPECT_EQ(p.headroom(), 128u);
  }
  Batch<32> more;
  EXPECT_EQ(pool->alloc_bulk(more, 32), 8u);  // capped by the pool
  EXPECT_EQ(pool->alloc_failures(), 1u);
  batch.clear();
  more.clear();
  EXPECT_EQ(pool->in_use(), 0u);
}

// The ring-refill form: fresh packets straight into scattered slots (a
// ring's free ids, here every third slot backwards), each reported once it
// is in place; capped by the pool; a held slot stops debug builds.
TEST_F(MempoolTest, AllocEachFillsTheSlotsItIsGivenAndReportsEach) {
  MempoolPtr pool = make_pool(4);
  Packet slots[12];
  auto slot_of = [&](size_t i) -> Packet& { return slots[11 - 3 * i]; };
  std::vector<std::pair<size_t, uint64_t>> filled;
  EXPECT_EQ(pool->alloc_each(3, slot_of,
                             [&](size_t i, const Packet& p) {
                               EXPECT_EQ(&p, &slot_of(i));
                               filled.emplace_back(i, p.buffer_iova());
                             }),
            3u);
  ASSERT_EQ(filled.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Packet& p = slot_of(i);
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(p.size(), 0u);
    EXPECT_EQ(p.headroom(), 128u);
    EXPECT_EQ(filled[i], std::make_pair(i, p.buffer_iova()));
  }
  EXPECT_TRUE(slots[10].empty());  // only the slots given
  EXPECT_EQ(pool->in_use(), 3u);
  Packet rest[4];
  EXPECT_EQ(pool->alloc_bulk(rest, 4), 1u);  // capped by the pool
  EXPECT_EQ(pool->alloc_failures(), 1u);
  EXPECT_FALSE(rest[0].empty());
  EXPECT_TRUE(rest[1].empty());
  rest[0].reset();
#ifndef NDEBUG
  // A slot still holding a packet would leak it: debug builds stop there.
  EXPECT_DEATH(pool->alloc_bulk(&slots[11], 1), "alloc into a held packet");
#endif
  for (Packet& p : slots) p.reset();
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST_F(MempoolTest, BatchPushPopEraseFront) {
  MempoolPtr pool = make_pool(8);
  Batch<4> b;
  for (int i = 0; i < 4; ++i) {
    Packet p = pool->alloc();
    ASSERT_TRUE(p.resize(i + 1).ok());
    ASSERT_TRUE(b.push(std::move(p)));
  }
  Packet extra = pool->alloc();
  EXPECT_FALSE(b.push(extra));  // full: the caller keeps it
  EXPECT_FALSE(extra.empty());
  Packet first = std::move(b[0]);  // as a driver takes what it sends
  b.erase_front(2);                // slot 0 moved out, slot 1 dropped
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].size(), 3u);
  EXPECT_EQ(b[1].size(), 4u);
  EXPECT_EQ(pool->in_use(), 4u);  // first, extra, two in the batch
  Packet last = b.pop();
  EXPECT_EQ(last.size(), 4u);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_TRUE(Batch<2>().pop().empty());
}

TEST_F(MempoolTest, EraseFrontEmptiedKeepsTheRestAndChecksInDebugBuilds) {
  MempoolPtr pool = make_pool(8);
  Batch<4> b;
  for (int i = 0; i < 3; ++i) {
    Packet p = pool->alloc();
    ASSERT_TRUE(p.resize(i + 1).ok());
    ASSERT_TRUE(b.push(std::move(p)));
  }
  Packet taken = std::move(b[0]);  // as a driver moves a packet into its ring
  b.erase_front_emptied(1);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].size(), 2u);
  EXPECT_EQ(b[1].size(), 3u);
  EXPECT_EQ(pool->in_use(), 3u);
#ifndef NDEBUG
  // A slot still holding a packet would leak it: debug builds stop there.
  EXPECT_DEATH(b.erase_front_emptied(1), "erase_front_emptied of a full slot");
#endif
}

TEST_F(MempoolTest, EraseFrontReturnsRunsFromMixedPoolsAndDeletesAnOrphan) {
  MempoolPtr a = make_pool(4);
  MempoolPtr b = make_pool(4);
  MempoolPtr c = make_pool(2);
  Batch<16> batch;
  Mempool* from[] = {a.get(), a.get(), b.get(), c.get(), a.get(),
                     b.get(), c.get(), b.get(), b.get(), a.get()};
  for (size_t i = 0; i < std::size(from); ++i) {
    Packet p = from[i]->alloc();
    ASSERT_TRUE(p.resize(i + 1).ok());
    ASSERT_TRUE(batch.push(std::move(p)));
  }
  Packet held = std::move(batch[5]);  // moved out, as a driver does
  c.reset();                          // c is orphaned: two packets still out
  EXPECT_EQ(mapper_->live, 3);
  // Runs: a a | b | c (c not yet full) | a | empty | c (c full: deleted) | b
  batch.erase_front(8);
  EXPECT_EQ(mapper_->live, 2);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].size(), 9u);
  EXPECT_EQ(batch[1].size(), 10u);
  EXPECT_EQ(a->in_use(), 1u);
  EXPECT_EQ(b->in_use(), 2u);  // batch[0] and held
  batch.clear();
  held.reset();
  EXPECT_EQ(a->in_use(), 0u);
  EXPECT_EQ(b->in_use(), 0u);
  EXPECT_EQ(a->available(), 4u);
  EXPECT_EQ(b->available(), 4u);
}

TEST_F(MempoolTest, BatchDestructionReturnsEverything) {
  MempoolPtr pool = make_pool(64);
  {
    Batch<64> b;
    pool->alloc_bulk(b, 64);
    EXPECT_EQ(pool->in_use(), 64u);
  }
  EXPECT_EQ(pool->in_use(), 0u);
}

}  // namespace
}  // namespace safenic
