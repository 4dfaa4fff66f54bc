// RegisterFile: a model's registers, declared from the same typed register
// definitions the driver uses, with reset values and bus semantics:
// read-only writes and write-only reads are reported, clear-on-read registers
// clear, write-1-to-clear bits clear, and any access to an offset nobody
// declared is reported (strict mode) instead of silently ignored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "nic/register.h"
#include "sim/violations.h"

namespace safenic::sim {

class RegisterFile {
 public:
  // What a bus access hit: lets the model react (`hit.is<RDT>()`, `hit.index`).
  struct Hit {
    const void* type = nullptr;
    uint32_t index = 0;
    template <typename R>
    bool is() const {
      return type == tag<R>();
    }
    explicit operator bool() const { return type != nullptr; }
  };

  // `bar_size` bytes of 32-bit registers: a register's value is one array
  // index away (its offset / 4), its declaration another.
  RegisterFile(std::string device, ViolationLog& log, uint32_t bar_size)
      : device_(std::move(device)),
        log_(log),
        values_(bar_size / 4, 0),
        by_offset_(bar_size / 4, kNone) {}

  // Declares every instance of R with its reset value.
  template <typename R>
  void add(const char* name, typename R::Word reset = 0) {
    static_assert(sizeof(typename R::Word) == 4, "models keep 32-bit registers");
    for (uint32_t i = 0; i < R::kCount; ++i) {
      by_offset_[R::offset(i) / 4] = static_cast<uint32_t>(slots_.size());
      slots_.push_back({R::offset(i), reset, R::kAccess, tag<R>(), i, name});
      values_[R::offset(i) / 4] = reset;
    }
  }

  // Declares Alias's instances as second offsets of R's: the same registers.
  template <typename R, typename Alias>
  void add_alias() {
    static_assert(Alias::kCount == R::kCount, "an alias covers every instance");
    for (uint32_t i = 0; i < R::kCount; ++i)
      by_offset_[Alias::offset(i) / 4] = by_offset_[R::offset(i) / 4];
  }

  // Model-side access: no bus semantics.
  template <typename R>
  RegisterValue<R> get(uint32_t i = 0) const {
    return RegisterValue<R>(value<R>(i));
  }
  template <typename R>
  void set(RegisterValue<R> v, uint32_t i = 0) {
    value<R>(i) = v.raw();
  }
  template <typename R>
  uint32_t& raw(uint32_t i = 0) {
    return value<R>(i);
  }
  // Entry n of a table packed into a register array through its FieldArray F
  // (the 82599's RETA: entry n is F's element n % 4 of register n / 4).
  template <typename F>
  uint32_t table_entry(uint32_t n) const {
    using R = typename F::Register;
    return get<R>(n / F::kCount).template get<F>(n % F::kCount);
  }
  // Sets a field as the device does, whatever the driver may do with it.
  template <typename F>
  void set_field(uint64_t v, uint32_t i = 0) {
    uint32_t& r = raw<typename F::Register>(i);
    r = F::insert(r, static_cast<uint32_t>(v));
  }

  // Bus-side access.
  uint32_t bus_read(uint32_t off, Hit* hit);
  Hit bus_write(uint32_t off, uint32_t value);
  // Every register back to its reset value.
  void reset() {
    for (const Slot& s : slots_) values_[s.offset / 4] = s.reset;
  }
  const std::string& device() const { return device_; }

 private:
  struct Slot {
    uint32_t offset;
    uint32_t reset;
    Access access;
    const void* type;
    uint32_t index;
    const char* name;
  };
  template <typename R>
  static const void* tag() {
    static const char unique = 0;
    return &unique;
  }
  template <typename R>
  uint32_t& value(uint32_t i) {
    return values_[R::offset(i) / 4];
  }
  template <typename R>
  uint32_t value(uint32_t i) const {
    return values_[R::offset(i) / 4];
  }
  // The slot at a bus offset, or null.
  Slot* find(uint32_t off) {
    if (off % 4 != 0 || off / 4 >= by_offset_.size() || by_offset_[off / 4] == kNone) {
      return nullptr;
    }
    return &slots_[by_offset_[off / 4]];
  }
  static constexpr uint32_t kNone = ~uint32_t{0};
  std::string name_of(const Slot& s) const { return absl::StrFormat("%s(%d)", s.name, s.index); }

  std::string device_;
  ViolationLog& log_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> values_;     // by offset / 4; 0 where nothing is declared
  std::vector<uint32_t> by_offset_;  // slot index by offset / 4
};

inline uint32_t RegisterFile::bus_read(uint32_t off, Hit* hit) {
  Slot* found = find(off);
  if (found == nullptr) {
    log_.report(absl::StrFormat("%s: read of unmodelled register %#07x", device_, off));
    *hit = {};
    return 0;
  }
  Slot& s = *found;
  *hit = {s.type, s.index};
  if (s.access == Access::kWriteOnly) {
    log_.report(absl::StrFormat("%s: read of write-only register %s", device_, name_of(s)));
    return 0;
  }
  uint32_t& value = values_[s.offset / 4];  // s.offset: off, or what off aliases
  const uint32_t v = value;
  if (s.access == Access::kClearOnRead) value = 0;
  return v;
}

inline RegisterFile::Hit RegisterFile::bus_write(uint32_t off, uint32_t value) {
  Slot* found = find(off);
  if (found == nullptr) {
    log_.report(
        absl::StrFormat("%s: write of %#x to unmodelled register %#07x", device_, value, off));
    return {};
  }
  Slot& s = *found;
  uint32_t& v = values_[s.offset / 4];
  switch (s.access) {
    case Access::kReadOnly:
    case Access::kClearOnRead:
      log_.report(
          absl::StrFormat("%s: write of %#x to read-only register %s", device_, value, name_of(s)));
      return {};
    case Access::kWrite1ToClear: v &= ~value; break;
    case Access::kWrite1ToSet: v |= value; break;
    default: v = value;
  }
  return {s.type, s.index};
}

}  // namespace safenic::sim
