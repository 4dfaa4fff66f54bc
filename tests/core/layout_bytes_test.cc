// Every descriptor and queue-entry format the drivers and models share, byte
// by byte against values written out here from the datasheet, PRM or spec,
// not from the shared headers: a field moved in nic/*/descriptors.h, spec.h
// or wqe.h moves it for the driver and the model alike, and only a test that
// does not read the header catches it.
//
// Each format is checked both ways: fields set through the layout give the
// bytes written below, and bytes written below read back as the fields.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "gtest/gtest.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/mlx5/wqe.h"
#include "nic/virtio/spec.h"

namespace safenic {
namespace {

template <size_t N>
using Bytes = std::array<uint8_t, N>;

// ---------------------------------------------------------------------------
// Intel 82599, little-endian (datasheet rev 3.3).

// §7.1.6.1 advanced receive descriptor, read format: packet buffer address
// (bytes 0-7), header buffer address (bytes 8-15; bit 0 of byte 8 is DD in
// the write-back, so writing 0 there clears it).
TEST(LayoutBytes, Ixgbe82599RxRead) {
  using D = ixgbe::RxRead;
  Bytes<16> b{};
  LayoutRef<D>(b.data()).set<D::PKT_ADDR>(0x1122334455667788).set<D::HDR_ADDR>(0x99AABBCCDDEEFF01);
  EXPECT_EQ(b, (Bytes<16>{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x01, 0xFF, 0xEE, 0xDD,
                          0xCC, 0xBB, 0xAA, 0x99}));
}

// §7.1.6.2 advanced receive descriptor, write-back format:
//   dword 0: RSS type [3:0], packet type [16:4], RSC count [20:17],
//            HDR_LEN [30:21], SPH [31]
//   dword 1: RSS hash, or fragment checksum [31:16] and IP id [15:0]
//   dword 2: extended status [19:0] (DD 0, EOP 1), extended error [31:20]
//            (RXE 29)
//   bytes 12-13: packet length; bytes 14-15: VLAN tag
TEST(LayoutBytes, Ixgbe82599RxWriteBack) {
  using D = ixgbe::RxWriteBack;
  Bytes<16> b{};
  LayoutRef<D>(b.data())
      .set<D::RSS_TYPE>(0x7)
      .set<D::PACKET_TYPE>(0x1021)  // bits 16:4
      .set<D::RSCCNT>(0x3)          // bits 20:17
      .set<D::HDR_LEN>(0x155)       // bits 30:21
      .set<D::SPH>(1)
      .set<D::IP_ID>(0xBEEF)
      .set<D::FRAGMENT_CHECKSUM>(0xCAFE)
      .set<D::STATUS_ERROR>(0x20000003)  // RXE, EOP, DD
      .set<D::LENGTH>(0x05EA)
      .set<D::VLAN>(0x0064);
  // dword 0 = 1 << 31 | 0x155 << 21 | 0x3 << 17 | 0x1021 << 4 | 0x7 = 0xAAA70217
  EXPECT_EQ(b, (Bytes<16>{0x17, 0x02, 0xA7, 0xAA, 0xEF, 0xBE, 0xFE, 0xCA, 0x03, 0x00, 0x00, 0x20,
                          0xEA, 0x05, 0x64, 0x00}));
  LayoutRef<D> d(b.data());
  EXPECT_TRUE(d.is_set<D::DD>());
  EXPECT_TRUE(d.is_set<D::EOP>());
  EXPECT_TRUE(d.is_set<D::RXE>());
  EXPECT_EQ(d.get<D::RSS_HASH>(), 0xCAFEBEEFu);  // the same dword, read as the hash
  const Bytes<16> dd_only{0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0};
  LayoutView<D> e(dd_only.data());
  EXPECT_TRUE(e.is_set<D::DD>());
  EXPECT_FALSE(e.is_set<D::EOP>());
}

// §7.2.3.2.4 advanced transmit data descriptor, read format: buffer address
// (bytes 0-7); dword 2: DTALEN [15:0], DTYP [23:20] (0011 data), DCMD [31:24]
// (EOP 24, IFCS 25, RS 27, DEXT 29); dword 3: PAYLEN [31:14].
// Write-back: DD is bit 0 of dword 3.
TEST(LayoutBytes, Ixgbe82599Tx) {
  using D = ixgbe::TxRead;
  Bytes<16> b{};
  LayoutRef<D>(b.data())
      .set<D::BUFFER_ADDR>(0x0000000123456780)
      .set<D::DTALEN>(1514)
      .set<D::DTYP>(D::DTYP::kData)
      .set<D::EOP>(1)
      .set<D::IFCS>(1)
      .set<D::RS>(1)
      .set<D::DEXT>(1)
      .set<D::PAYLEN>(1514);
  // dword 2 = 0x2B << 24 | 3 << 20 | 1514 = 0x2B3005EA; dword 3 = 1514 << 14 = 0x017A8000
  EXPECT_EQ(b, (Bytes<16>{0x80, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0xEA, 0x05, 0x30, 0x2B,
                          0x00, 0x80, 0x7A, 0x01}));
  EXPECT_EQ(D::DTYP::kData, 0x3u);
  const Bytes<16> done{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0};
  EXPECT_TRUE(LayoutView<ixgbe::TxWriteBack>(done.data()).is_set<ixgbe::TxWriteBack::DD>());
}

// ---------------------------------------------------------------------------
// virtio 1.2, little-endian.

// §2.7.5 split descriptor: addr le64, len le32, flags le16, next le16.
TEST(LayoutBytes, VirtioSplitDescriptor) {
  using D = virtio::SplitDesc;
  Bytes<16> b{};
  LayoutRef<D>(b.data())
      .set<D::ADDR>(0x0102030405060708)
      .set<D::LEN>(0x0A0B0C0D)
      .set<D::FLAGS>(virtio::kDescNext | virtio::kDescWrite)
      .set<D::NEXT>(0x1234);
  EXPECT_EQ(b, (Bytes<16>{0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x0D, 0x0C, 0x0B, 0x0A,
                          0x03, 0x00, 0x34, 0x12}));
  EXPECT_EQ(virtio::kDescIndirect, 4u);
  // §2.7.6 avail ring: flags, idx, ring[n], used_event; §2.7.8 used ring:
  // flags, idx, ring[n] of {id le32, len le32}, avail_event.
  EXPECT_EQ(virtio::split_avail_bytes(256), 2u + 2u + 2u * 256 + 2u);
  EXPECT_EQ(virtio::split_used_bytes(256), 2u + 2u + 8u * 256 + 2u);
}

// §2.7.6 avail ring and §2.7.8 used ring of 4 entries through RingRef: the
// header, the k-th element and the event word after the last element.
TEST(LayoutBytes, VirtioSplitRings) {
  Bytes<virtio::AvailRing::bytes(4)> avail{};
  const RingRef<virtio::AvailRing> a(avail.data(), 4);
  a.header().set<virtio::AvailHeader::FLAGS>(virtio::kAvailNoInterrupt);
  a.header().set<virtio::AvailHeader::IDX>(0x0102);
  a.entry(3).set<virtio::AvailEntry::ID>(0x0A0B);
  a.trailer().set<virtio::AvailTrailer::USED_EVENT>(0xCCDD);
  EXPECT_EQ(avail, (Bytes<14>{0x01, 0x00, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0x0B, 0x0A, 0xDD, 0xCC}));

  Bytes<virtio::UsedRing::bytes(4)> used{};
  const RingRef<virtio::UsedRing> u(used.data(), 4);
  u.header().set<virtio::UsedHeader::IDX>(0x0304);
  u.entry(1).set<virtio::UsedElem::ID>(0x11223344).set<virtio::UsedElem::LEN>(0x55667788);
  u.trailer().set<virtio::UsedTrailer::AVAIL_EVENT>(0xEEFF);
  Bytes<38> want{};
  want[2] = 0x04, want[3] = 0x03;
  const uint8_t elem[8] = {0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55};
  std::copy(std::begin(elem), std::end(elem), want.begin() + 4 + 8);
  want[36] = 0xFF, want[37] = 0xEE;
  EXPECT_EQ(used, want);
  EXPECT_EQ(LayoutView<virtio::UsedElem>(used.data() + 12).get<virtio::UsedElem::LEN>(),
            0x55667788u);
}

// LayoutArray: element i of a table of L-shaped blocks is i * L::kSize bytes in.
TEST(LayoutBytes, LayoutArrayStridesByTheLayoutsSize) {
  Bytes<3 * 16> table{};
  LayoutArray<virtio::PackedDesc>(table.data())[2].set<virtio::PackedDesc::ID>(0xABCD);
  EXPECT_EQ(table[32 + 12], 0xCD);
  EXPECT_EQ(table[32 + 13], 0xAB);
  EXPECT_EQ(std::count(table.begin(), table.end(), 0), 46);
}

// §2.8.13 packed descriptor: addr le64, len le32, id le16, flags le16 (AVAIL
// bit 7, USED bit 15); §2.8.14 event suppression: desc le16 (offset [14:0],
// wrap [15]), flags le16.
TEST(LayoutBytes, VirtioPackedDescriptorAndEvent) {
  using D = virtio::PackedDesc;
  Bytes<16> b{};
  LayoutRef<D>(b.data())
      .set<D::ADDR>(0x1122334455667788)
      .set<D::LEN>(0x600)
      .set<D::ID>(0x7F)
      .set<D::FLAGS>(virtio::kPackedAvail | virtio::kDescWrite);
  EXPECT_EQ(b, (Bytes<16>{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x06, 0x00, 0x00,
                          0x7F, 0x00, 0x82, 0x00}));
  EXPECT_EQ(virtio::kPackedUsed, 0x8000u);
  using E = virtio::PackedEvent;
  Bytes<4> e{};
  LayoutRef<E>(e.data()).set<E::DESC>(0x8005).set<E::FLAGS>(virtio::kEventDesc);
  EXPECT_EQ(e, (Bytes<4>{0x05, 0x80, 0x02, 0x00}));
  EXPECT_EQ(virtio::kEventEnable, 0u);
  EXPECT_EQ(virtio::kEventDisable, 1u);
}

// §5.1.6 struct virtio_net_hdr: flags u8, gso_type u8, hdr_len le16,
// gso_size le16, csum_start le16, csum_offset le16, num_buffers le16.
TEST(LayoutBytes, VirtioNetHeader) {
  using H = virtio::NetHdr;
  Bytes<12> b{};
  LayoutRef<H>(b.data())
      .set<H::FLAGS>(1)
      .set<H::GSO_TYPE>(3)
      .set<H::HDR_LEN>(0x36)
      .set<H::GSO_SIZE>(0x5A8)
      .set<H::CSUM_START>(0x22)
      .set<H::CSUM_OFFSET>(0x10)
      .set<H::NUM_BUFFERS>(2);
  EXPECT_EQ(b, (Bytes<12>{0x01, 0x03, 0x36, 0x00, 0xA8, 0x05, 0x22, 0x00, 0x10, 0x00, 0x02, 0x00}));
}

// ---------------------------------------------------------------------------
// ConnectX (PRM), big-endian.

// "Send WQE": control segment DW0 opmod [31:24] | wqe_index [23:8] | opcode
// [7:0]; DW1 sqn [31:8] | ds [5:0]; DW2 signature [31:24] | fm_ce_se [7:0]
// with CE in [3:2]. Ethernet segment at 0x10: inline_hdr_sz is the 16 bits
// at +0x0C, the inline header from +0x0E.
TEST(LayoutBytes, ConnectXSendWqe) {
  using W = mlx5::SendWqe;
  Bytes<64> b{};
  LayoutRef<W>(b.data())
      .set<W::WQE_INDEX>(0xBEEF)
      .set<W::OPCODE>(0x0A)
      .set<W::SQN>(0x123456)
      .set<W::DS>(0x3F)
      .set<W::CE>(2)
      .set<W::INLINE_HDR_SZ>(0x0112);
  Bytes<64> want{};
  const uint8_t head[12] = {0x00, 0xBE, 0xEF, 0x0A, 0x12, 0x34, 0x56, 0x3F, 0, 0, 0, 0x08};
  std::memcpy(want.data(), head, sizeof(head));
  want[0x1C] = 0x01, want[0x1D] = 0x12;
  EXPECT_EQ(b, want);
  EXPECT_EQ(W::kInlineStart, 0x1Eu);
  EXPECT_EQ(mlx5::kOpcodeSend, 0x0Au);
  EXPECT_EQ(mlx5::kOpcodeEnhancedMpsw, 0x29u);
  EXPECT_EQ(mlx5::kWqeBasicBlock, 64u);
}

// "Data segment": byte_count, lkey, address (be64).
TEST(LayoutBytes, ConnectXDataSegment) {
  using S = mlx5::DataSegment;
  Bytes<16> b{};
  LayoutRef<S>(b.data()).set<S::BYTE_COUNT>(0x5EA).set<S::LKEY>(0x800).set<S::ADDR>(
      0x0102030405060708);
  EXPECT_EQ(b, (Bytes<16>{0x00, 0x00, 0x05, 0xEA, 0x00, 0x00, 0x08, 0x00, 0x01, 0x02, 0x03, 0x04,
                          0x05, 0x06, 0x07, 0x08}));
}

// "Completion Queue Entry" (64 bytes): RSS hash 0x0C, L2/L3/L4 ok bits at
// byte 0x1C, byte count 0x2C, error syndrome byte 0x37, opcode and SQ number
// at 0x38 (send CQEs), wqe_counter 0x3C, signature 0x3E, op_own 0x3F (opcode
// [7:4], owner [0]).
TEST(LayoutBytes, ConnectXCqe) {
  using C = mlx5::Cqe;
  Bytes<64> b{};
  LayoutRef<C>(b.data())
      .set<C::RSS_HASH_RESULT>(0xA1B2C3D4)
      .set<C::HDS_IP_EXT>(0x07)
      .set<C::BYTE_CNT>(0x40)
      .set<C::SYNDROME>(0x05)
      .set<C::SOP_DROP_QPN>(0x0A001234)
      .set<C::WQE_COUNTER>(0xFFFE)
      .set<C::OPCODE>(0xD)
      .set<C::OWNER>(1);
  Bytes<64> want{};
  want[0x0C] = 0xA1, want[0x0D] = 0xB2, want[0x0E] = 0xC3, want[0x0F] = 0xD4;
  want[0x1C] = 0x07;
  want[0x2F] = 0x40;
  want[0x37] = 0x05;
  want[0x38] = 0x0A, want[0x3A] = 0x12, want[0x3B] = 0x34;
  want[0x3C] = 0xFF, want[0x3D] = 0xFE, want[0x3F] = 0xD1;
  EXPECT_EQ(b, want);
  EXPECT_EQ(mlx5::kCqeInitial, 0xF1u);  // opcode invalid (0xF), owner 1
}

// "Event Queue Entry" (64 bytes): type byte 0x01, subtype byte 0x03, data
// from 0x20 (CQ error: cqn [23:0] of the first dword, syndrome byte 0x2B;
// port change: port [31:28] of data dword 2; page request: function id at
// 0x22, signed page count at 0x24), owner bit 0 of byte 0x3F.
TEST(LayoutBytes, ConnectXEqe) {
  using E = mlx5::Eqe;
  Bytes<64> b{};
  LayoutRef<E>(b.data())
      .set<E::TYPE>(0x0B)
      .set<E::SUB_TYPE>(0x04)
      .set<E::PAGE_FUNCTION>(0x0001)
      .set<E::NUM_PAGES>(0xFFFFFFF0)
      .set<E::PORT>(1)
      .set<E::OWNER>(1);
  Bytes<64> want{};
  want[0x01] = 0x0B, want[0x03] = 0x04;
  want[0x22] = 0x00, want[0x23] = 0x01;
  want[0x24] = 0xFF, want[0x25] = 0xFF, want[0x26] = 0xFF, want[0x27] = 0xF0;
  want[0x28] = 0x10;
  want[0x3F] = 0x01;
  EXPECT_EQ(b, want);
  Bytes<64> cq_error{};
  cq_error[0x01] = 0x04, cq_error[0x21] = 0x12, cq_error[0x22] = 0x34, cq_error[0x23] = 0x56;
  cq_error[0x2B] = 0x01;
  LayoutRef<E> e(cq_error.data());
  EXPECT_EQ(e.get<E::TYPE>(), mlx5::kEventCqError);
  EXPECT_EQ(e.get<E::CQN>(), 0x123456u);
  EXPECT_EQ(e.get<E::CQ_SYNDROME>(), mlx5::kCqSyndromeOverrun);
}

// Doorbell records: a WQ's receive counter at +0 and send counter at +4; a
// CQ's consumer index [23:0] at +0.
TEST(LayoutBytes, ConnectXDoorbellRecords) {
  Bytes<8> w{};
  LayoutRef<mlx5::WqDoorbell>(w.data())
      .set<mlx5::WqDoorbell::RECEIVE_COUNTER>(0x0102)
      .set<mlx5::WqDoorbell::SEND_COUNTER>(0x0304);
  EXPECT_EQ(w, (Bytes<8>{0, 0, 0x01, 0x02, 0, 0, 0x03, 0x04}));
  Bytes<8> c{};
  LayoutRef<mlx5::CqDoorbell>(c.data()).set<mlx5::CqDoorbell::UPDATE_CI>(0xABCDEF);
  EXPECT_EQ(c, (Bytes<8>{0x00, 0xAB, 0xCD, 0xEF, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace safenic
