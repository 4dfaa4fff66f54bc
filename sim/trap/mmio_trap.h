// Trapped MMIO: address space with no access rights whose every load and
// store becomes a call, as a BAR's accesses become bus transactions. It lets
// a program that maps a BAR and reads and writes it with plain instructions
// (DPDK's PMDs, safenic's own MappedBar) drive a simulated device unchanged.
//
//   ForwardToBar device(simulated_bar);
//   auto trap = TrappedMmio::create(simulated_bar.size(), device, "82599 BAR0");
//   volatile uint32_t* regs = static_cast<volatile uint32_t*>((*trap)->base());
//   regs[0x4294 / 4] = 1;   // SIGSEGV -> decoded -> device.write(0x4294, 4, 1)
//
// How: the kernel reports the faulting address (si_addr) and whether it was a
// write (the page-fault error code); the handler decodes the instruction at
// the faulting RIP (sim/trap/x86_access.h: mov, movzx, movsx), serves it from
// the device, updates the destination register and steps RIP past it. An
// access it cannot emulate ends the program with a message naming the region,
// the offset and the instruction bytes. Faults anywhere else go to the handler
// that was installed before (or the default: the program dies as it would
// have). Linux on x86-64 only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nic/bar.h"

namespace safenic::sim {

class TrappedMmio {
 public:
  // What the trapped accesses reach. Called from the SIGSEGV handler, in the
  // thread that made the access.
  class Device {
   public:
    virtual ~Device() = default;
    virtual uint64_t read(uint64_t offset, unsigned width) = 0;
    virtual void write(uint64_t offset, unsigned width, uint64_t value) = 0;
  };

  // `size` bytes (rounded up to whole pages) whose accesses go to `device`,
  // which must outlive the region; `name` appears in error messages. No
  // thread may touch the region while it is destroyed. With `address` the
  // region replaces whatever is mapped there (mmap's MAP_FIXED), or with
  // `address_is_hint` goes there if that range is free (mmap's hint); its
  // first byte is the device's `device_offset` (a BAR mapped in parts).
  static absl::StatusOr<std::unique_ptr<TrappedMmio>> create(size_t size, Device& device,
                                                             std::string name,
                                                             void* address = nullptr,
                                                             uint64_t device_offset = 0,
                                                             bool address_is_hint = false);
  ~TrappedMmio();
  TrappedMmio(const TrappedMmio&) = delete;
  TrappedMmio& operator=(const TrappedMmio&) = delete;

  void* base() const { return base_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }
  // Accesses served so far.
  uint64_t traps() const { return traps_.load(std::memory_order_relaxed); }

 private:
  friend struct TrapHandler;
  TrappedMmio(void* base, size_t size, Device& device, std::string name, uint64_t device_offset)
      : base_(base),
        size_(size),
        device_(device),
        name_(std::move(name)),
        device_offset_(device_offset) {}

  void* base_;
  size_t size_;
  Device& device_;
  std::string name_;
  uint64_t device_offset_;
  int slot_ = -1;
  std::atomic<uint64_t> traps_{0};
};

// A Device that forwards to a Bar (e.g. a SimulatedBar, which checks bounds
// and alignment and takes the simulation's lock).
class ForwardToBar final : public TrappedMmio::Device {
 public:
  explicit ForwardToBar(Bar& bar) : bar_(bar) {}
  uint64_t read(uint64_t offset, unsigned width) override;
  void write(uint64_t offset, unsigned width, uint64_t value) override;

 private:
  Bar& bar_;
};

}  // namespace safenic::sim
