// Uses that must not compile. compile_fail_test.sh compiles this file once
// with no CASE_ macro (it must compile: the harness works) and once per
// "// CASE" line below with -DCASE_<NAME> (it must fail with that message).
#include "mem/packet.h"
#include "nic/bar.h"
#include "nic/layout.h"
#include "nic/register.h"

namespace safenic {

struct RW : Register<RW, uint32_t, Access::kReadWrite, 0x0> {
  using FLAG = Field<0>;
  using COUNT = Field<4, 7>;
  using STATUS = Field<8, 11, Access::kReadOnly>;
  using COMMAND = Field<12, 15, Access::kWriteOnly>;
};
struct RO : Register<RO, uint32_t, Access::kReadOnly, 0x4> {};
struct WO : Register<WO, uint32_t, Access::kWriteOnly, 0x8> {};
struct RC : Register<RC, uint32_t, Access::kClearOnRead, 0xC> {};
struct W1C : Register<W1C, uint32_t, Access::kWrite1ToClear, 0x10> {
  using CAUSE = Field<0>;
};
struct Other : Register<Other, uint32_t, Access::kReadWrite, 0x14> {
  using BIT = Field<0>;
};
struct Desc : Layout<Desc, 16, ByteOrder::kLittle> {
  using LEN = Field<0, uint16_t>;
  using DD = Bit<4, uint32_t, 0>;
};
struct OtherDesc : Layout<OtherDesc, 8, ByteOrder::kLittle> {
  using ADDR = Field<0, uint64_t>;
};

void allowed(Bar& bar, void* mem, Packet& p) {
  bar.write(RegisterValue<RW>().set<RW::FLAG>().set<RW::COUNT, 15>().set<RW::COMMAND>(1));
  (void)bar.read<RW>().get<RW::STATUS>();
  (void)bar.read<RO>();
  bar.write(RegisterValue<WO>(1));
  (void)bar.read<RC>();
  bar.write(RegisterValue<W1C>().set<W1C::CAUSE>());
  bar.modify<RW>([](RegisterValue<RW>& v) { v.set<RW::FLAG>(); });
  LayoutRef<Desc> d(mem);
  d.set<Desc::LEN, 0xFFFF>();
  (void)d.is_set<Desc::DD>();
  const void* written_by_the_device = mem;
  (void)LayoutView<Desc>(written_by_the_device).get<Desc::LEN>();
  (void)LayoutView<Desc>(d).is_set<Desc::DD>();  // a writable view reads too
  Packet q = std::move(p);
  (void)q;
}

void forbidden(Bar& bar, void* mem, Packet& p) {
#if defined(CASE_READ_WRITE_ONLY_REGISTER)
  // CASE READ_WRITE_ONLY_REGISTER: register is write-only: it cannot be read
  (void)bar.read<WO>();
#elif defined(CASE_WRITE_READ_ONLY_REGISTER)
  // CASE WRITE_READ_ONLY_REGISTER: register is read-only: it cannot be written
  bar.write(RegisterValue<RO>(1));
#elif defined(CASE_WRITE_CLEAR_ON_READ_REGISTER)
  // CASE WRITE_CLEAR_ON_READ_REGISTER: register is read-only: it cannot be written
  bar.write(RegisterValue<RC>(0));
#elif defined(CASE_MODIFY_WRITE_1_TO_CLEAR_REGISTER)
  // CASE MODIFY_WRITE_1_TO_CLEAR_REGISTER: only read-write registers can be read-modified-written
  bar.modify<W1C>([](RegisterValue<W1C>&) {});
#elif defined(CASE_SET_READ_ONLY_FIELD)
  // CASE SET_READ_ONLY_FIELD: field is read-only: it cannot be set
  RegisterValue<RW>().set<RW::STATUS>(1);
#elif defined(CASE_GET_WRITE_ONLY_FIELD)
  // CASE GET_WRITE_ONLY_FIELD: field is write-only: it cannot be read
  (void)RegisterValue<RW>().get<RW::COMMAND>();
#elif defined(CASE_FIELD_OF_ANOTHER_REGISTER)
  // CASE FIELD_OF_ANOTHER_REGISTER: field belongs to another register
  RegisterValue<RW>().set<Other::BIT>();
#elif defined(CASE_CONSTANT_TOO_WIDE)
  // CASE CONSTANT_TOO_WIDE: constant does not fit in the field
  RegisterValue<RW>().set<RW::COUNT, 16>();
#elif defined(CASE_FIELD_OUTSIDE_WORD)
  // CASE FIELD_OUTSIDE_WORD: field does not fit in its word
  RegisterValue<RW>().set<RW::Field<32> >();
#elif defined(CASE_MULTI_BIT_FIELD_AS_FLAG)
  // CASE MULTI_BIT_FIELD_AS_FLAG: set<F>() is for one-bit fields
  RegisterValue<RW>().set<RW::COUNT>();
#elif defined(CASE_LAYOUT_FIELD_OF_ANOTHER_LAYOUT)
  // CASE LAYOUT_FIELD_OF_ANOTHER_LAYOUT: field belongs to another layout
  LayoutRef<Desc>(mem).set<OtherDesc::ADDR>(1);
#elif defined(CASE_LAYOUT_CONSTANT_TOO_WIDE)
  // CASE LAYOUT_CONSTANT_TOO_WIDE: constant does not fit in the field
  LayoutRef<Desc>(mem).set<Desc::LEN, 0x10000>();
#elif defined(CASE_LAYOUT_FIELD_MISALIGNED)
  // CASE LAYOUT_FIELD_MISALIGNED: field word is not naturally aligned
  (void)LayoutRef<Desc>(mem).get<Desc::Field<2, uint32_t> >();
#elif defined(CASE_LAYOUT_FIELD_OUTSIDE_LAYOUT)
  // CASE LAYOUT_FIELD_OUTSIDE_LAYOUT: field lies outside its layout
  (void)LayoutRef<Desc>(mem).get<Desc::Field<16, uint32_t> >();
#elif defined(CASE_LAYOUT_VIEW_SET)
  // CASE LAYOUT_VIEW_SET: has no member named 'set'
  const void* written_by_the_device = mem;
  LayoutView<Desc>(written_by_the_device).set<Desc::LEN>(1);
#elif defined(CASE_LAYOUT_VIEW_FIELD_OF_ANOTHER_LAYOUT)
  // CASE LAYOUT_VIEW_FIELD_OF_ANOTHER_LAYOUT: field belongs to another layout
  (void)LayoutView<Desc>(mem).get<OtherDesc::ADDR>();
#elif defined(CASE_PACKET_COPY)
  // CASE PACKET_COPY: use of deleted function
  Packet copy = p;
#elif defined(CASE_PACKET_COPY_ASSIGN)
  // CASE PACKET_COPY_ASSIGN: use of deleted function
  Packet q;
  q = p;
#endif
}

}  // namespace safenic
