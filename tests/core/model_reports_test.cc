// Every violation the simulator reports, triggered by a test (issue #15):
// here those no other test triggers, each at its limit where it has one (an
// index equal to the queue size, a tail equal to the ring size, one byte past
// an area), with the message checked. tests/report_coverage.py lists which
// test checks which report; tests/reports_without_tests.txt the rest.
#include <cstdint>
#include <cstring>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/dma_region.h"
#include "nic/bits.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/ixgbe/ixgbe.h"
#include "nic/ixgbe/regs.h"
#include "nic/mlx5/layout.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/transport.h"
#include "sim/harness/frames.h"
#include "sim/ixgbe/model.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"
#include "sim/virtio/model.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;
using virtio::feature::bit;
namespace f = virtio::feature;
namespace st = virtio::status;

class Reports : public ::testing::Test {
 protected:
  // The one report the test expects (`times` over, as when a register is
  // written in two halves), and nothing else.
  void expect_report(const std::string& text, size_t times = 1) { expect_report({text}, times); }
  void expect_report(std::initializer_list<std::string> texts, size_t times = 1) {
    ASSERT_EQ(ctx_.log->size(), times) << ctx_.log->to_string();
    for (const std::string& e : ctx_.log->entries()) {
      for (const std::string& t : texts) EXPECT_THAT(e, HasSubstr(t));
    }
    ctx_.log->clear();
  }
  void expect_none() { EXPECT_TRUE(ctx_.log->empty()) << ctx_.log->to_string(); }
  uint8_t* mem(uint64_t iova, size_t n) {
    auto m = ctx_.iommu->translate(iova, n, "test");
    EXPECT_TRUE(m.ok());
    return m.ok() ? m->data() : nullptr;
  }

  sim::SimContext ctx_;
};

// ---------------------------------------------------------------------------
// The IOMMU and the MMIO seam.

TEST_F(Reports, UnmappingWhatIsNotMappedIsReported) {
  auto region = *DmaAllocator(Backing::kAnonymous, ctx_.iommu).allocate(4096, "r");
  ctx_.iommu->unmap(region.iova() + 4096, 4096);  // the page after it
  expect_report({"unmap of [", "which is not a mapped region"});
}

TEST_F(Reports, APoolReportingABufferOutsideItsRegionIsReported) {
  auto region = *DmaAllocator(Backing::kAnonymous, ctx_.iommu).allocate(4096, "r");
  ctx_.iommu->buffer_freed(region.iova(), 2048);
  expect_none();
  ctx_.iommu->buffer_freed(region.iova() + 2048 + 64, 2048);  // not on a buffer boundary
  expect_report({"a mempool reported buffer [", "which is not a buffer of a mapped pool region"});
}

TEST_F(Reports, MmioOutsideTheBarOrMisalignedIsReported) {
  auto model = std::make_shared<sim::Ixgbe82599>(ctx_);
  sim::SimulatedFunction fn(model, ctx_, "sim:82599#0");
  Bar& bar = **fn.bar(0);
  (void)bar.read32(static_cast<uint32_t>(bar.size() - 4));  // the last register: fine
  ctx_.log->clear();  // (it is unmodelled; that report is not this test's)
  (void)bar.read32(static_cast<uint32_t>(bar.size()));
  expect_report("MMIO read of 4 bytes at BAR0 offset");
  (void)bar.read32(2);
  expect_report("is misaligned");
}

TEST_F(Reports, DmaOutsideEveryRegionIsReportedOneBytePastTheEnd) {
  auto region = *DmaAllocator(Backing::kAnonymous, ctx_.iommu).allocate(4096, "r");
  EXPECT_TRUE(ctx_.iommu->translate(region.iova(), 4096, "test write").ok());  // all of it: fine
  EXPECT_FALSE(ctx_.iommu->translate(region.iova() + 1, 4096, "test write").ok());
  expect_report({"test write of 4096 bytes at IOVA", "is outside every live DMA region"});
  EXPECT_FALSE(ctx_.iommu->translate(region.iova() + 4096, 1, "test write").ok());
  expect_report("is outside every live DMA region");
}

// ---------------------------------------------------------------------------
// The 82599 model and its register file.

class IxgbeReports : public Reports {
 protected:
  void SetUp() override {
    model_ = std::make_shared<sim::Ixgbe82599>(ctx_);
    DeviceConfig c;
    c.rx_ring_size = c.tx_ring_size = 64;
    c.buffers_per_rx_queue = 128;
    auto dev =
        ixgbe::open(std::make_unique<sim::SimulatedFunction>(model_, ctx_, "sim:82599#0"), c);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *std::move(dev);
    sim::connect(model_->port(), tester_);
    ASSERT_TRUE(dev_->wait_for_link(absl::Seconds(1)).ok());
    expect_none();
  }
  std::shared_ptr<sim::Ixgbe82599> model_;
  std::unique_ptr<Device> dev_;
  sim::TesterPort tester_;
};

TEST_F(IxgbeReports, RegistersAreReadAndWrittenWholeDwords) {
  (void)model_->mmio_read(0, ixgbe::STATUS::offset(), 2);
  expect_report("2-byte read at 0x8; registers are 32-bit");
  model_->mmio_write(0, ixgbe::CTRL_EXT::offset(), 2, 0);
  expect_report("2-byte write at 0x18; registers are 32-bit");
}

TEST_F(IxgbeReports, ReadingAWriteOnlyRegisterIsReported) {
  (void)model_->mmio_read(0, ixgbe::EIMC::offset(), 4);
  expect_report("read of write-only register EIMC");
}

TEST_F(IxgbeReports, ATailEqualToTheRingSizeIsReportedOneBelowIsNot) {
  model_->mmio_write(0, ixgbe::RDT::offset(0), 4, 63);
  expect_none();
  model_->mmio_write(0, ixgbe::RDT::offset(0), 4, 64);
  expect_report("RX tail 64 of queue 0 is beyond its 64-entry ring");
}

// §7.1.9: ring bases are 128-byte aligned; 64 is not enough.
TEST_F(IxgbeReports, ARingBaseAlignedTo64BytesButNot128IsReported) {
  auto ring = *DmaAllocator(Backing::kAnonymous, ctx_.iommu).allocate(4096, "ring");
  model_->mmio_write(0, ixgbe::RDBAL::offset(1), 4, static_cast<uint32_t>(ring.iova() + 64));
  model_->mmio_write(0, ixgbe::RDBAH::offset(1), 4, static_cast<uint32_t>(ring.iova() >> 32));
  model_->mmio_write(0, ixgbe::RDLEN::offset(1), 4, 1024);
  model_->mmio_write(0, ixgbe::RXDCTL::offset(1), 4, ixgbe::RXDCTL::ENABLE::kMask);
  expect_report("RX queue 1 enabled with ring base not 128-byte aligned");
}

TEST_F(IxgbeReports, ReceivingWithAnotherDescriptorTypeIsReported) {
  const uint64_t srrctl = model_->mmio_read(0, ixgbe::SRRCTL::offset(0), 4);
  model_->mmio_write(0, ixgbe::SRRCTL::offset(0), 4,
                     ixgbe::SRRCTL::DESCTYPE::insert(static_cast<uint32_t>(srrctl), 0));
  sim::UdpFlow flow;
  flow.dst_mac = dev_->mac();
  tester_.send(sim::udp_frame(60, flow, 1));
  expect_report(
      "RX queue 0 receives with SRRCTL.DESCTYPE 0; this model implements advanced one-buffer (1)");
}

// DEXT clear: a legacy descriptor, which the model does not take.
TEST_F(IxgbeReports, ATransmitDescriptorThatIsNotAnAdvancedDataDescriptorIsReported) {
  auto buffer = *DmaAllocator(Backing::kAnonymous, ctx_.iommu).allocate(4096, "tx data");
  const uint64_t base = model_->mmio_read(0, ixgbe::TDBAL::offset(0), 4) |
                        model_->mmio_read(0, ixgbe::TDBAH::offset(0), 4) << 32;
  LayoutRef<ixgbe::TxRead>(mem(base, 16))
      .set<ixgbe::TxRead::BUFFER_ADDR>(buffer.iova())
      .set<ixgbe::TxRead::CMD_TYPE_LEN>(60 |
                                        ixgbe::TxRead::DTYP::insert(0, ixgbe::TxRead::DTYP::kData) |
                                        ixgbe::TxRead::EOP::kMask | ixgbe::TxRead::RS::kMask);
  model_->mmio_write(0, ixgbe::TDT::offset(0), 4, 1);
  expect_report(
      "TX queue 0 descriptor 0 is not a valid advanced data descriptor (DEXT 0, DTYP 3, length "
      "60)");
}

// A TX frame of descriptors without EOP growing past 16 KiB.
TEST_F(IxgbeReports, ATransmitFrameOver16KiBIsReported) {
  auto buffer = *DmaAllocator(Backing::kAnonymous, ctx_.iommu).allocate(4096, "tx data");
  const uint64_t base = model_->mmio_read(0, ixgbe::TDBAL::offset(0), 4) |
                        model_->mmio_read(0, ixgbe::TDBAH::offset(0), 4) << 32;
  for (uint32_t i = 0; i < 5; ++i) {  // 4 x 4096 = 16 KiB: the fifth goes over
    LayoutRef<ixgbe::TxRead>(mem(base + 16 * i, 16))
        .set<ixgbe::TxRead::BUFFER_ADDR>(buffer.iova())
        .set<ixgbe::TxRead::CMD_TYPE_LEN>(
            4096 | ixgbe::TxRead::DTYP::insert(0, ixgbe::TxRead::DTYP::kData) |
            ixgbe::TxRead::IFCS::kMask | ixgbe::TxRead::DEXT::kMask | ixgbe::TxRead::RS::kMask |
            (i == 4 ? ixgbe::TxRead::EOP::kMask : 0));
  }
  model_->mmio_write(0, ixgbe::TDT::offset(0), 4, 5);
  expect_report("TX queue 0 frame over 16384 bytes");
}

// Transmit checksum offload by hand (§7.2.3.2.3, §7.2.3.2.4): a context
// descriptor for a context the 82599 does not have, a data descriptor asking
// for checksums with no context loaded, and one whose context does not fit
// its frame.
class IxgbeChecksumReports : public IxgbeReports {
 protected:
  void SetUp() override {
    IxgbeReports::SetUp();
    buffer_ = *DmaAllocator(Backing::kAnonymous, ctx_.iommu).allocate(4096, "tx data");
    base_ = model_->mmio_read(0, ixgbe::TDBAL::offset(0), 4) |
            model_->mmio_read(0, ixgbe::TDBAH::offset(0), 4) << 32;
  }
  void context(uint32_t slot, uint32_t idx, uint32_t maclen, uint32_t iplen) {
    namespace x = ixgbe;
    LayoutRef<x::TxContext>(mem(base_ + 16 * slot, 16))
        .set<x::TxContext::VLAN_MACIP_LENS>(x::TxContext::IPLEN::insert(0, iplen) |
                                            x::TxContext::MACLEN::insert(0, maclen))
        .set<x::TxContext::SEQNUM_SEED>(0)
        .set<x::TxContext::TYPE_TUCMD_MLHL>(
            x::TxContext::TUCMD_IPV4::kMask |
            x::TxContext::DTYP::insert(0, x::TxRead::DTYP::kContext) | x::TxContext::DEXT::kMask)
        .set<x::TxContext::MSS_L4LEN_IDX>(x::TxContext::IDX::insert(0, idx));
  }
  void data(uint32_t slot, uint32_t len, uint32_t olinfo) {
    namespace x = ixgbe;
    LayoutRef<x::TxRead>(mem(base_ + 16 * slot, 16))
        .set<x::TxRead::BUFFER_ADDR>(buffer_.iova())
        .set<x::TxRead::CMD_TYPE_LEN>(len | x::TxRead::DTYP::insert(0, x::TxRead::DTYP::kData) |
                                      x::TxRead::EOP::kMask | x::TxRead::IFCS::kMask |
                                      x::TxRead::RS::kMask | x::TxRead::DEXT::kMask)
        .set<x::TxRead::OLINFO_STATUS>(x::TxRead::PAYLEN::insert(0, len) | olinfo);
  }
  DmaRegion buffer_;
  uint64_t base_ = 0;
};

TEST_F(IxgbeChecksumReports, AContextDescriptorForAThirdContextIsReported) {
  context(0, 1, 14, 20);
  model_->mmio_write(0, ixgbe::TDT::offset(0), 4, 1);
  expect_none();  // context 1 exists
  context(1, 2, 14, 20);
  model_->mmio_write(0, ixgbe::TDT::offset(0), 4, 2);
  expect_report("TX queue 0 context descriptor for context 2; the 82599 has 2 per queue");
}

TEST_F(IxgbeChecksumReports, ChecksumsWithoutALoadedContextAreReported) {
  data(0, 60, ixgbe::TxRead::IXSM::kMask | ixgbe::TxRead::CC::kMask);
  model_->mmio_write(0, ixgbe::TDT::offset(0), 4, 1);
  expect_report(
      "TX queue 0 descriptor 0 asks for checksums (IXSM 1, TXSM 0) without a loaded context (CC "
      "1, IDX 0)");
  EXPECT_EQ(tester_.frames().size(), 0u) << "the frame is not sent";
}

TEST_F(IxgbeChecksumReports, AContextThatDoesNotFitTheFrameIsReported) {
  context(0, 0, 14, 20);
  data(1, 60, ixgbe::TxRead::IXSM::kMask | ixgbe::TxRead::CC::kMask);
  model_->mmio_write(0, ixgbe::TDT::offset(0), 4, 2);
  expect_none();  // 14 + 20 bytes of a 60-byte frame: fine
  context(2, 0, 14, 60);
  data(3, 60, ixgbe::TxRead::IXSM::kMask | ixgbe::TxRead::CC::kMask);
  model_->mmio_write(0, ixgbe::TDT::offset(0), 4, 4);
  expect_report("checksum offload: MACLEN 14 + IPLEN 60 do not fit a 60-byte frame");
  EXPECT_EQ(tester_.frames().size(), 1u) << "only the first frame is sent";
}

// ---------------------------------------------------------------------------
// The virtio model, modern transport, rings written by hand.

class VirtioReports : public Reports {
 protected:
  static constexpr uint16_t kSize = 8;
  void make(uint64_t features, bool legacy = false) {
    sim::VirtioNetConfig mc;
    mc.legacy = legacy;
    model_ = std::make_shared<sim::VirtioNetModel>(ctx_, mc);
    sim::connect(model_->port(), tester_);
    fn_ = std::make_unique<sim::SimulatedFunction>(model_, ctx_, "sim:virtio#0");
    t_ = *virtio::Transport::open(*fn_);
    rings_ = *fn_->dma().allocate(4 * 4096, "rings");
    std::memset(rings_.data(), 0, rings_.size());
    if (legacy) return;
    t_->set_status(0);
    t_->set_status(st::kAcknowledge | st::kDriver);
    // ACCESS_PLATFORM: the model's device sits behind an IOMMU and needs it (virtio 1.2 §6.2).
    t_->set_driver_features(features | bit(f::kAccessPlatform));
    t_->set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  }
  // Queue q's areas: descriptors at +0, driver area at +1024, device area at +2048.
  virtio::QueueAddresses areas(uint16_t q) const {
    const uint64_t b = rings_.iova() + 4096 * q;
    return {b, b + 1024, b + 2048};
  }
  void open_modern(uint64_t features, std::initializer_list<uint16_t> queues = {0, 1}) {
    make(features);
    for (uint16_t q : queues) ASSERT_TRUE(t_->setup_queue(q, kSize, areas(q)).ok());
    t_->set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
    expect_none();
  }
  // Split ring: descriptor i, and `heads` made available.
  void split_desc(uint16_t q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                  uint16_t next = 0) {
    LayoutRef<virtio::SplitDesc>(mem(areas(q).desc + 16 * i, 16))
        .set<virtio::SplitDesc::ADDR>(addr)
        .set<virtio::SplitDesc::LEN>(len)
        .set<virtio::SplitDesc::FLAGS>(flags)
        .set<virtio::SplitDesc::NEXT>(next);
  }
  void split_avail(uint16_t q, std::initializer_list<uint16_t> heads, uint16_t idx) {
    uint8_t* a = mem(areas(q).driver, 4 + 2 * kSize);
    uint16_t k = 0;
    for (uint16_t h : heads) std::memcpy(a + 4 + 2 * (k++ % kSize), &h, 2);
    std::memcpy(a + 2, &idx, 2);
  }
  // Packed ring: descriptor i, available in the first pass.
  void packed_desc(uint16_t q, uint16_t i, uint64_t addr, uint32_t len, uint16_t id,
                   uint16_t flags) {
    LayoutRef<virtio::PackedDesc>(mem(areas(q).desc + 16 * i, 16))
        .set<virtio::PackedDesc::ADDR>(addr)
        .set<virtio::PackedDesc::LEN>(len)
        .set<virtio::PackedDesc::ID>(id)
        .set<virtio::PackedDesc::FLAGS>(flags | virtio::kPackedAvail);
  }
  uint64_t data() const { return rings_.iova() + 3 * 4096; }  // frame bytes live here

  std::shared_ptr<sim::VirtioNetModel> model_;
  std::unique_ptr<sim::SimulatedFunction> fn_;
  std::unique_ptr<virtio::Transport> t_;
  DmaRegion rings_;
  sim::TesterPort tester_;
};

TEST_F(VirtioReports, FeaturesNotOfferedAreReported) {
  make(bit(f::kVersion1) | bit(f::kIndirectDesc));  // INDIRECT_DESC: not offered
  expect_report("driver accepted features 0x10000000 that were not offered");
}

TEST_F(VirtioReports, FeaturesWrittenAfterFeaturesOkAreReported) {
  make(bit(f::kVersion1));
  t_->set_driver_features(bit(f::kVersion1));
  expect_report("driver features written after FEATURES_OK", 2);  // both 32-bit halves
}

TEST_F(VirtioReports, AQueueConfiguredBeforeFeaturesOkIsReported) {
  make(bit(f::kVersion1));
  t_->set_status(0);
  t_->set_status(st::kAcknowledge | st::kDriver);
  (void)t_->setup_queue(0, kSize, areas(0));
  // Each register write: size, the three areas (two 32-bit halves each), enable.
  expect_report("queue 0 configured before FEATURES_OK", 8);
}

TEST_F(VirtioReports, MisalignedQueueAreasAreReported) {
  make(bit(f::kVersion1));
  virtio::QueueAddresses a = areas(0);
  a.desc += 8;  // descriptors are 16-byte aligned (§2.7)
  (void)t_->setup_queue(0, kSize, a);
  expect_report("queue 0 areas misaligned");
}

TEST_F(VirtioReports, CommonConfigurationEndsWhereTheSpecSays) {
  make(bit(f::kVersion1));
  (void)model_->mmio_read(4, virtio::kCommonCfgSize - 4, 4);  // queue_device's high half: the last
  expect_none();
  (void)model_->mmio_read(4, virtio::kCommonCfgSize, 4);
  expect_report("common config read at 0x38");
  model_->mmio_write(4, virtio::kCommonCfgSize, 4, 0);
  expect_report("common config write at 0x38");
}

TEST_F(VirtioReports, AccessesOutsideTheModernStructuresAreReported) {
  make(bit(f::kVersion1));
  (void)model_->mmio_read(4, 0x1004, 1);  // past the 1-byte ISR status
  expect_report("read of 1 bytes at BAR4 offset 0x1004");
  model_->mmio_write(4, 0x1000, 1, 0);  // ISR status is read-only
  expect_report("write of 1 bytes at BAR4 offset 0x1000");
}

TEST_F(VirtioReports, ANotificationAtAnotherQueuesAddressIsReported) {
  open_modern(bit(f::kVersion1));
  model_->mmio_write(4, 0x3000, 2, 1);  // queue 0's notify address, value 1
  expect_report("notification of queue 1 written at queue 0's address");
}

TEST_F(VirtioReports, NotifyingAQueueNotEnabledIsReported) {
  open_modern(bit(f::kVersion1));
  // Queue 3 exists (four pairs offered) but was never set up.
  model_->mmio_write(4, 0x3000 + 3 * 4, 2, 3);
  expect_report("notification for queue 3, which is not enabled");
}

TEST_F(VirtioReports, AnAvailIndexMoreThanARingAheadIsReported) {
  open_modern(bit(f::kVersion1));
  split_avail(1, {}, kSize + 1);
  t_->notify(1);
  expect_report("avail idx 9 is more than 8 ahead of 0");
}

TEST_F(VirtioReports, ADescriptorIndexEqualToTheQueueSizeIsReported) {
  open_modern(bit(f::kVersion1));
  split_avail(1, {kSize}, 1);
  t_->notify(1);
  expect_report("descriptor chain from 8: index 8 out of range or too long");
}

TEST_F(VirtioReports, IndirectDescriptorsWithoutTheFeatureAreReported) {
  open_modern(bit(f::kVersion1));
  split_desc(1, 0, data(), 16, virtio::kDescIndirect);
  split_avail(1, {0}, 1);
  t_->notify(1);
  expect_report("indirect descriptor without VIRTIO_F_INDIRECT_DESC");
}

TEST_F(VirtioReports, InOrderChainsThatSkipADescriptorAreReported) {
  open_modern(bit(f::kVersion1) | bit(f::kInOrder));
  split_desc(1, 0, data(), 12, virtio::kDescNext, 2);  // IN_ORDER: 0 chains to 1
  split_desc(1, 2, data() + 64, 60, 0);
  split_avail(1, {0}, 1);
  t_->notify(1);
  expect_report("IN_ORDER: descriptor 0 chains to 2, not 1");
}

// §2.7.5: with IN_ORDER the driver uses descriptors in ring order (0, 1,
// ...). A buffer at another descriptor is reported, and then served as the
// available ring says (DPDK's control queue does this; docs/fidelity.md).
TEST_F(VirtioReports, InOrderBuffersOutOfRingOrderAreReportedAndStillServed) {
  open_modern(bit(f::kVersion1) | bit(f::kInOrder));
  split_desc(1, 2, data(), 12 + 60, 0);  // header and a 60-byte frame
  split_avail(1, {2}, 1);
  t_->notify(1);
  expect_report("IN_ORDER: queue 1's buffer made available at descriptor 2; ring order says 0");
  EXPECT_EQ(tester_.received(), 1u);
}

TEST_F(VirtioReports, ADeviceWritableTransmitDescriptorIsReported) {
  open_modern(bit(f::kVersion1));
  split_desc(1, 0, data(), 72, virtio::kDescWrite);
  split_avail(1, {0}, 1);
  t_->notify(1);
  expect_report("TX queue 1 buffer 0 has a device-writable descriptor");
}

// virtio 1.2 §5.1.6.2.1: a transmit header's checksum request that breaks
// the rules is reported. Not sent: NEEDS_CSUM without VIRTIO_NET_F_CSUM,
// offsets past the frame. Sent, as a device would, but reported: a checksum
// field not holding the pseudo-header's sum (the checksum sent is wrong),
// DATA_VALID from the driver.
class VirtioChecksumReports : public VirtioReports {
 protected:
  // Buffer `id` (descriptor and slot `id`): a net header with `flags`,
  // csum_start 34 (the UDP header), `offset`, and a 60-byte UDP frame whose
  // checksum field is 0; then a notification.
  void send(uint16_t id, uint8_t flags, uint16_t offset) {
    const uint64_t at = data() + 128 * id;
    uint8_t* const b = mem(at, 12 + 60);
    std::memset(b, 0, 12);
    LayoutRef<virtio::NetHdr>(b)
        .set<virtio::NetHdr::FLAGS>(flags)
        .set<virtio::NetHdr::CSUM_START>(34)
        .set<virtio::NetHdr::CSUM_OFFSET>(offset);
    sim::write_udp_frame({b + 12, 60}, {}, id);
    b[12 + 40] = b[12 + 41] = 0;  // the UDP checksum field
    split_desc(1, id, at, 12 + 60, 0);
    split_avail(1, {id}, static_cast<uint16_t>(id + 1));
    t_->notify(1);
  }
};

TEST_F(VirtioChecksumReports, AFieldWithoutThePseudoHeaderSumIsReportedAndSent) {
  open_modern(bit(f::kVersion1) | bit(f::kCsum));
  send(0, virtio::NetHdr::NEEDS_CSUM::kMask, 6);
  expect_report({"buffer 0: the checksum field holds 0x0000, not the pseudo-header's sum",
                 "(§5.1.6.2.1: the driver MUST set it); the checksum sent is wrong"});
  EXPECT_EQ(tester_.received(), 1u);
}

TEST_F(VirtioChecksumReports, OffsetsPastTheFrameAreReportedAndNotSent) {
  open_modern(bit(f::kVersion1) | bit(f::kCsum));
  send(0, virtio::NetHdr::NEEDS_CSUM::kMask, 25);  // 34 + 25 + 2 > 60
  expect_report(
      "buffer 0: csum_start 34 and csum_offset 25 point past the 60-byte frame; not sent");
  EXPECT_EQ(tester_.received(), 0u);
  EXPECT_EQ(model_->dropped_frames()["tx_bad_checksum"], 1u);
}

TEST_F(VirtioChecksumReports, NeedsCsumWithoutTheFeatureIsReportedAndNotSent) {
  open_modern(bit(f::kVersion1));
  send(0, virtio::NetHdr::NEEDS_CSUM::kMask, 6);
  expect_report("buffer 0: NEEDS_CSUM without VIRTIO_NET_F_CSUM negotiated");
  EXPECT_EQ(tester_.received(), 0u);
}

TEST_F(VirtioChecksumReports, DataValidFromTheDriverIsReported) {
  open_modern(bit(f::kVersion1) | bit(f::kCsum));
  send(0, virtio::NetHdr::DATA_VALID::kMask, 0);
  expect_report("buffer 0: DATA_VALID set in a transmit header");
  EXPECT_EQ(tester_.received(), 1u);
}

// virtio 1.2 §5.1.4.2: with VIRTIO_NET_F_MTU, no frame longer than mtu and
// its Ethernet header (the model allows 18 bytes of it: a tag's room).
TEST_F(VirtioReports, AFrameOverTheNegotiatedMtuIsReportedAndNotSent) {
  open_modern(bit(f::kVersion1) | bit(f::kMtu));
  auto frames = fn_->dma().allocate(16384, "jumbo frames");
  ASSERT_TRUE(frames.ok());
  std::memset(frames->data(), 0, frames->size());
  split_desc(1, 0, frames->iova(), 12 + 9018, 0);  // mtu 9000 + 18: sent
  split_desc(1, 1, frames->iova(), 12 + 9019, 0);
  split_avail(1, {0, 1}, 2);
  t_->notify(1);
  expect_report(
      "TX queue 1 buffer 1: a 9019-byte frame, longer than the negotiated mtu 9000 allows");
  EXPECT_EQ(tester_.received(), 1u);
}

TEST_F(VirtioReports, ATransmitBufferNoLongerThanTheHeaderIsReported) {
  open_modern(bit(f::kVersion1));
  split_desc(1, 0, data(), 13, 0);  // header and one byte: sent
  split_desc(1, 1, data(), 12, 0);  // the header alone
  split_avail(1, {0, 1}, 2);
  t_->notify(1);
  expect_report("TX buffer 1 of 12 bytes is shorter than the 12-byte header");
}

TEST_F(VirtioReports, ADeviceReadableReceiveDescriptorIsReported) {
  open_modern(bit(f::kVersion1));
  split_desc(0, 0, data(), 2048, 0);
  split_avail(0, {0}, 1);
  sim::UdpFlow flow;
  flow.dst_mac = sim::VirtioNetConfig{}.mac;
  tester_.send(sim::udp_frame(60, flow, 1));
  expect_report("RX buffer 0 has a device-readable descriptor");
}

TEST_F(VirtioReports, AReceiveBufferOneByteShortIsReported) {
  open_modern(bit(f::kVersion1));
  split_desc(0, 0, data(), 12 + 60, virtio::kDescWrite);  // exactly enough
  split_desc(0, 1, data() + 128, 12 + 59, virtio::kDescWrite);
  split_avail(0, {0, 1}, 2);
  sim::UdpFlow flow;
  flow.dst_mac = sim::VirtioNetConfig{}.mac;
  tester_.send(sim::udp_frame(60, flow, 1));
  expect_none();
  tester_.send(sim::udp_frame(60, flow, 2));
  expect_report("RX buffer 1 holds 71 bytes; the frame needs 72");
}

TEST_F(VirtioReports, AControlCommandWithoutItsPartsIsReported) {
  sim::VirtioNetConfig mc;
  model_ = std::make_shared<sim::VirtioNetModel>(ctx_, mc);
  fn_ = std::make_unique<sim::SimulatedFunction>(model_, ctx_, "sim:virtio#0");
  t_ = *virtio::Transport::open(*fn_);
  rings_ = *fn_->dma().allocate(4 * 4096, "rings");
  std::memset(rings_.data(), 0, rings_.size());
  t_->set_status(0);
  t_->set_status(st::kAcknowledge | st::kDriver);
  t_->set_driver_features(bit(f::kVersion1) | bit(f::kCtrlVq) | bit(f::kAccessPlatform));
  t_->set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  const uint16_t ctrl = 2;  // one pair without MQ: the control queue follows it
  ASSERT_TRUE(t_->setup_queue(ctrl, kSize, areas(ctrl)).ok());
  t_->set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
  split_desc(ctrl, 0, data(), 2, 0);  // class and command, no ack byte
  split_avail(ctrl, {0}, 1);
  t_->notify(ctrl);
  expect_report("control command without class, command and an ack byte");
}

TEST_F(VirtioReports, APackedBufferIdEqualToTheQueueSizeIsReported) {
  open_modern(bit(f::kVersion1) | bit(f::kRingPacked));
  packed_desc(1, 0, data(), 72, kSize, 0);
  t_->notify(1);
  expect_report("packed buffer id 8 out of range");
}

TEST_F(VirtioReports, APackedChainLongerThanTheModelTakesIsReported) {
  open_modern(bit(f::kVersion1) | bit(f::kRingPacked));
  for (uint16_t i = 0; i < kSize; ++i) packed_desc(1, i, data(), 16, 0, virtio::kDescNext);
  t_->notify(1);
  expect_report("packed descriptor chain too long");
}

// The legacy transport: its I/O registers.
TEST_F(VirtioReports, LegacyRegisterMisuseIsReported) {
  make(0, true);
  (void)model_->mmio_read(0, 0x11, 1);  // inside Queue Notify
  expect_report("legacy read at unknown offset 0x11");
  model_->mmio_write(0, virtio::LEGACY_ISR::offset(), 1, 0);  // ISR status: read only
  expect_report("legacy write at read-only or unknown offset 0x13");
  model_->mmio_write(0, virtio::LEGACY_GUEST_FEATURES::offset(), 4, bit(f::kIndirectDesc));
  expect_report("driver accepted features 0x10000000 that were not offered");
  const uint16_t queues = static_cast<uint16_t>(2 * 4 + 1);  // four pairs and the control queue
  model_->mmio_write(0, virtio::LEGACY_QUEUE_SEL::offset(), 2, queues - 1);
  EXPECT_EQ(model_->mmio_read(0, virtio::LEGACY_QUEUE_NUM::offset(), 2), 256u);  // the last exists
  model_->mmio_write(0, virtio::LEGACY_QUEUE_SEL::offset(), 2, queues);
  model_->mmio_write(0, virtio::LEGACY_QUEUE_PFN::offset(), 4, 1);
  expect_report("QUEUE_PFN for a queue that does not exist");
}

// ---------------------------------------------------------------------------
// The ConnectX model's initialization segment and command doorbell.

TEST_F(Reports, ConnectXInitializationSegmentMisuseIsReported) {
  auto model = std::make_shared<sim::ConnectXModel>(ctx_);
  (void)model->mmio_read(0, mlx5::CMDIF_REV_FW_SUB::offset(), 2);
  expect_report("2-byte read of the initialization segment at 0x4");
  model->mmio_write(0, mlx5::CMDQ_ADDR_L_SZ::offset(), 2, 0);
  expect_report("2-byte write at 0x14");
  model->mmio_write(0, mlx5::CMD_DBELL::offset(), 4, to_order<ByteOrder::kBig>(uint32_t{1}));
  expect_report("command doorbell before the command queue address was set");
  // bits 10:8 = 7: the software-reset state, which a driver must not write.
  model->mmio_write(0, mlx5::CMDQ_ADDR_L_SZ::offset(), 4,
                    to_order<ByteOrder::kBig>(uint32_t{7} << 8 | 0x1000));
  expect_report("nic_interface 7 (software reset) written");
}

TEST_F(Reports, ConnectXDoorbellForASlotSoftwareOwnsIsReported) {
  auto model = std::make_shared<sim::ConnectXModel>(ctx_);
  sim::SimulatedFunction fn(model, ctx_, "sim:cx5#0");
  auto queue = *fn.dma().allocate(4096, "command queue");
  std::memset(queue.data(), 0, 4096);  // every entry's ownership bit 0: software's
  model->mmio_write(0, mlx5::CMDQ_ADDR_H::offset(), 4,
                    to_order<ByteOrder::kBig>(uint32_t(queue.iova() >> 32)));
  model->mmio_write(0, mlx5::CMDQ_ADDR_L_SZ::offset(), 4,
                    to_order<ByteOrder::kBig>(uint32_t(queue.iova())));
  model->mmio_write(0, mlx5::CMD_DBELL::offset(), 4, to_order<ByteOrder::kBig>(uint32_t{1} << 3));
  expect_report("doorbell for command slot 3 that software still owns");
}

// §4.1.3.1: a driver accesses queue_desc, queue_driver and queue_device (64
// bits each) as two 32-bit halves; DPDK's and Linux's drivers write the low
// half, then the high, and so does safenic's now. The model takes the halves
// and reports a 64-bit access. (Driver and model both used 64-bit accesses
// until DPDK's virtio PMD ran on the model: docs/fidelity.md.)
TEST(VirtioCommonConfigTest, SixtyFourBitFieldsAreAccessedInThirtyTwoBitHalves) {
  sim::SimContext ctx;
  sim::VirtioNetModel model(ctx);
  constexpr int kBar = 4;  // the modern capabilities' BAR (see the capability list)
  auto w = [&](uint32_t off, unsigned width, uint64_t v) { model.mmio_write(kBar, off, width, v); };
  auto r = [&](uint32_t off, unsigned width) { return model.mmio_read(kBar, off, width); };
  using namespace virtio;
  w(DEVICE_STATUS::offset(), 1, status::kAcknowledge | status::kDriver);
  w(DRIVER_FEATURE_SELECT::offset(), 4, 1);
  w(DRIVER_FEATURE::offset(), 4, 0x3);  // VERSION_1, ACCESS_PLATFORM
  w(DEVICE_STATUS::offset(), 1, status::kAcknowledge | status::kDriver | status::kFeaturesOk);
  ASSERT_TRUE(r(DEVICE_STATUS::offset(), 1) & status::kFeaturesOk) << ctx.log->to_string();
  w(QUEUE_SELECT::offset(), 2, 0);
  w(QUEUE_DESC::offset(), 4, 0x89ABC000);
  w(QUEUE_DESC::offset() + 4, 4, 0x1234567);
  EXPECT_EQ(r(QUEUE_DESC::offset(), 4), 0x89ABC000u);
  EXPECT_EQ(r(QUEUE_DESC::offset() + 4, 4), 0x1234567u);
  w(QUEUE_DEVICE::offset() + 4, 4, 0x1);  // each half on its own
  EXPECT_EQ(r(QUEUE_DEVICE::offset() + 4, 4), 0x1u);
  EXPECT_EQ(r(QUEUE_DEVICE::offset(), 4), 0u);
  EXPECT_TRUE(ctx.log->empty()) << ctx.log->to_string();

  w(QUEUE_DRIVER::offset(), 8, 0x1122334455667788);
  EXPECT_THAT(
      ctx.log->to_string(),
      HasSubstr(
          "8-byte write of queue_driver; a driver writes a 64-bit field as two 32-bit halves"));
  (void)r(QUEUE_DRIVER::offset(), 8);
  EXPECT_THAT(
      ctx.log->to_string(),
      HasSubstr("8-byte read of queue_driver; a driver reads a 64-bit field as two 32-bit halves"));
}

}  // namespace
}  // namespace safenic
