// Typed device registers, declared once with their fields and access rights.
//
//   // 82599 datasheet §8.2.3.1.1 Device Control Register
//   struct CTRL : Register<CTRL, uint32_t, Access::kReadWrite, 0x00000> {
//     using LRST = Field<3>;   // link reset, self-clearing
//     using RST = Field<26>;   // device reset, self-clearing
//   };
//   // §8.2.3.8.5 Receive Descriptor Tail, one per queue
//   struct RDT : RegisterArray<RDT, uint32_t, Access::kReadWrite, 128> {
//     static constexpr uint32_t offset(uint32_t i) { ... }
//     using TAIL = Field<0, 15>;
//   };
//
//   bar.write(RegisterValue<CTRL>().set<CTRL::RST>().set<CTRL::LRST>());
//   bool up = bar.read<LINKS>().is_set<LINKS::LINK_UP>();
//   bar.modify<FCTRL>([](auto& v) { v.template set<FCTRL::UPE>(); });
//
// Compile-time rules (tests/compile_fail): a write-only register cannot be
// read, a read-only or clear-on-read register cannot be written, a field is
// used only with its own register, a read-only field cannot be set, a
// write-only field cannot be read, constants must fit their field.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "mem/status.h"
#include "nic/bits.h"

namespace safenic {

enum class Access : uint8_t {
  kReadOnly,
  kWriteOnly,
  kReadWrite,
  kWrite1ToClear,  // writing 1 clears the bit; reads show it
  kWrite1ToSet,    // writing 1 sets the bit, 0 leaves it; reads show it (82599 EIMS)
  kClearOnRead,    // a read returns the value and clears it (statistics)
};
constexpr bool is_readable(Access a) { return a != Access::kWriteOnly; }
constexpr bool is_writable(Access a) {
  return a == Access::kWriteOnly || a == Access::kReadWrite || a == Access::kWrite1ToClear ||
         a == Access::kWrite1ToSet;
}

template <typename R, HardwareWord W, unsigned Lo, unsigned Hi, Access A>
struct RegisterField : BitRange<W, Lo, Hi> {
  using Register = R;
  static constexpr Access kAccess = A;
};

// Count fields of Width bits, the i-th at bit Lo + i * Stride: registers that
// pack a table (the 82599's RETA: four 8-bit entries, queue in the low 4 bits
// of each). Indexed at run time: RegisterValue::get<F>(i), set<F>(i, v).
template <typename R, HardwareWord W, unsigned Lo, unsigned Width, unsigned Stride, unsigned Count,
          Access A>
struct RegisterFieldArray {
  static_assert(Width >= 1 && Width <= Stride, "fields of an array must not overlap");
  static_assert(Lo + Stride * (Count - 1) + Width <= sizeof(W) * 8, "field array outside its word");
  using Register = R;
  using Word = W;
  static constexpr Access kAccess = A;
  static constexpr unsigned kCount = Count;
  static constexpr unsigned kWidth = Width;
  static constexpr W kMax = W((uint64_t{1} << Width) - 1);

  static constexpr bool fits(uint64_t v) { return v <= kMax; }
  static constexpr W extract(W word, unsigned i) { return W((word >> (Lo + Stride * i)) & kMax); }
  static constexpr W insert(W word, unsigned i, W v) {
    const unsigned shift = Lo + Stride * i;
    return W((word & ~W(kMax << shift)) | W((v & kMax) << shift));
  }
};

// Common base of every register declaration.
template <typename Self, HardwareWord W, Access A, ByteOrder O>
struct RegisterDef {
  using Word = W;
  static constexpr Access kAccess = A;
  static constexpr ByteOrder kOrder = O;
  // Fields take the register's access unless they say otherwise.
  template <unsigned Lo, unsigned Hi = Lo, Access FieldAccess = A>
  using Field = RegisterField<Self, W, Lo, Hi, FieldAccess>;
  template <unsigned Lo, unsigned Width, unsigned Stride, unsigned Count, Access FieldAccess = A>
  using FieldArray = RegisterFieldArray<Self, W, Lo, Width, Stride, Count, FieldAccess>;
};

// A register at one fixed offset in its BAR.
template <typename Self, HardwareWord W, Access A, uint32_t Offset,
          ByteOrder O = ByteOrder::kLittle>
struct Register : RegisterDef<Self, W, A, O> {
  static constexpr uint32_t kCount = 1;
  static constexpr uint32_t offset(uint32_t = 0) { return Offset; }
};

// Count instances of a register, e.g. one per queue. Self declares
// `static constexpr uint32_t offset(uint32_t i)`.
template <typename Self, HardwareWord W, Access A, uint32_t Count, ByteOrder O = ByteOrder::kLittle>
struct RegisterArray : RegisterDef<Self, W, A, O> {
  static constexpr uint32_t kCount = Count;
};

// Count instances at Base, Base + Stride, ... (most register arrays).
template <typename Self, HardwareWord W, Access A, uint32_t Base, uint32_t Stride, uint32_t Count,
          ByteOrder O = ByteOrder::kLittle>
struct StridedRegisterArray : RegisterArray<Self, W, A, Count, O> {
  static constexpr uint32_t offset(uint32_t i) { return Base + Stride * i; }
};

template <typename F, typename R>
concept FieldOf = std::same_as<typename F::Register, R>;

// A value of register R, built and taken apart through R's fields.
template <typename R>
class RegisterValue {
 public:
  using Word = typename R::Word;

  constexpr RegisterValue() = default;
  constexpr explicit RegisterValue(Word raw) : raw_(raw) {}
  constexpr Word raw() const { return raw_; }

  template <typename F>
  constexpr Word get() const {
    static_assert(FieldOf<F, R>, "field belongs to another register");
    static_assert(is_readable(F::kAccess), "field is write-only: it cannot be read");
    return F::extract(raw_);
  }
  template <typename F>
  constexpr bool is_set() const {
    static_assert(F::kWidth == 1, "is_set() is for one-bit fields; use get()");
    return get<F>() != 0;
  }

  // Sets a one-bit field (for a write-1-to-clear field: requests the clear).
  template <typename F>
  constexpr RegisterValue& set() {
    static_assert(F::kWidth == 1, "set<F>() is for one-bit fields; use set<F, V>() or set<F>(v)");
    return assign<F>(1);
  }
  template <typename F>
  constexpr RegisterValue& clear() {
    return assign<F>(0);
  }
  // A constant value, checked at compile time.
  template <typename F, uint64_t V>
  constexpr RegisterValue& set() {
    static_assert(F::fits(V), "constant does not fit in the field");
    return assign<F>(V);
  }
  // A run-time value; it must fit (callers validate configuration first).
  template <typename F>
  constexpr RegisterValue& set(uint64_t v) {
    SAFENIC_CHECK(F::fits(v), "value does not fit in the register field");
    return assign<F>(v);
  }

  // Element i of a field array (FieldArray): i < F::kCount, v must fit.
  template <typename F>
  constexpr Word get(unsigned i) const {
    static_assert(FieldOf<F, R>, "field belongs to another register");
    static_assert(is_readable(F::kAccess), "field is write-only: it cannot be read");
    SAFENIC_CHECK(i < F::kCount, "index past the register's field array");
    return F::extract(raw_, i);
  }
  template <typename F>
  constexpr RegisterValue& set(unsigned i, uint64_t v) {
    static_assert(FieldOf<F, R>, "field belongs to another register");
    static_assert(is_writable(F::kAccess), "field is read-only: it cannot be set");
    SAFENIC_CHECK(i < F::kCount, "index past the register's field array");
    SAFENIC_CHECK(F::fits(v), "value does not fit in the register field");
    raw_ = F::insert(raw_, i, static_cast<Word>(v));
    return *this;
  }

 private:
  template <typename F>
  constexpr RegisterValue& assign(uint64_t v) {
    static_assert(FieldOf<F, R>, "field belongs to another register");
    static_assert(is_writable(F::kAccess), "field is read-only: it cannot be set");
    raw_ = F::insert(raw_, static_cast<Word>(v));
    return *this;
  }

  Word raw_ = 0;
};

}  // namespace safenic
