#include "sim/trap/mmio_trap.h"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "absl/strings/str_format.h"
#include "sim/trap/x86_access.h"

#if !defined(__x86_64__) || !defined(__linux__)
#error "sim/trap emulates x86-64 instructions under Linux"
#endif

namespace safenic::sim {

namespace {
struct TrapSlot {
  std::atomic<uintptr_t> begin{0}, end{0};
  std::atomic<TrappedMmio*> region{nullptr};
};
}  // namespace

// The regions the handler serves: a fixed table it reads without locks
// (a signal handler may not take one); create() and ~TrappedMmio() change it
// under `mutex`.
struct TrapHandler {
  static constexpr int kSlots = 64;
  using Slot = TrapSlot;
  static inline std::array<Slot, kSlots> slots;
  static inline std::mutex mutex;
  static inline struct sigaction previous;
  static inline std::once_flag installed;

  static void install() {
    struct sigaction action = {};
    action.sa_sigaction = &handle;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;  // a trap inside a device call traps again
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous);
  }

  static TrappedMmio* find(uintptr_t address) {
    for (Slot& s : slots) {
      TrappedMmio* r = s.region.load(std::memory_order_acquire);
      if (r != nullptr && address >= s.begin.load(std::memory_order_relaxed) &&
          address < s.end.load(std::memory_order_relaxed)) {
        return r;
      }
    }
    return nullptr;
  }

  // Not ours: what would have happened without us.
  static void pass_on(int sig, siginfo_t* info, void* context) {
    if (previous.sa_flags & SA_SIGINFO) {
      if (previous.sa_sigaction != nullptr) return previous.sa_sigaction(sig, info, context);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
      return previous.sa_handler(sig);
    }
    signal(SIGSEGV, SIG_DFL);  // the access faults again, now fatally
  }

  [[noreturn]] static void cannot_emulate(const TrappedMmio& r, uintptr_t address,
                                          const uint8_t* code, const char* why) {
    char bytes[64] = {};
    size_t n = 0;
    for (int i = 0; i < 15 && n + 4 < sizeof bytes; ++i) {
      n += static_cast<size_t>(
          std::snprintf(bytes + n, sizeof bytes - n, "%s%02x", i ? " " : "", code[i]));
    }
    char message[512];
    const int len = std::snprintf(
        message, sizeof message,
        "safenic trapped MMIO: %s at offset %#lx of %s: the instruction at %p (bytes %s) "
        "is not one this emulator decodes (mov, movzx, movsx of 1, 2, 4 or 8 bytes; movdiri)\n",
        why,
        static_cast<unsigned long>(r.device_offset_ + address -
                                   reinterpret_cast<uintptr_t>(r.base())),
        r.name().c_str(), static_cast<const void*>(code), bytes);
    if (len > 0) (void)!write(STDERR_FILENO, message, static_cast<size_t>(len));
    _exit(1);
  }

  static void handle(int sig, siginfo_t* info, void* context) {
    const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
    TrappedMmio* r = find(address);
    if (r == nullptr) return pass_on(sig, info, context);
    const int saved_errno = errno;
    greg_t* const regs = static_cast<ucontext_t*>(context)->uc_mcontext.gregs;
    const uint8_t* const code = reinterpret_cast<const uint8_t*>(regs[REG_RIP]);
    const std::optional<X86Access> a = decode_x86_access(code, 15);
    if (!a) cannot_emulate(*r, address, code, "an access");
    // The page-fault error code's bit 1: the access was a write.
    if (a->store != ((regs[REG_ERR] & 2) != 0))
      cannot_emulate(*r, address, code, "a read-modify-write");
    const uint64_t within = address - reinterpret_cast<uintptr_t>(r->base());
    if (within + a->width > r->size())
      cannot_emulate(*r, address, code, "an access across the end");
    const uint64_t offset = r->device_offset_ + within;
    static constexpr int kRegister[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                          REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                          REG_R12, REG_R13, REG_R14, REG_R15};
    greg_t& reg = regs[kRegister[a->reg]];
    if (a->store) {
      r->device_.write(offset, a->width, x86_store_value(*a, static_cast<uint64_t>(reg)));
    } else {
      reg = static_cast<greg_t>(
          x86_load_result(*a, static_cast<uint64_t>(reg), r->device_.read(offset, a->width)));
    }
    regs[REG_RIP] += a->length;
    r->traps_.fetch_add(1, std::memory_order_relaxed);
    errno = saved_errno;
  }
};

absl::StatusOr<std::unique_ptr<TrappedMmio>> TrappedMmio::create(size_t size, Device& device,
                                                                 std::string name, void* address,
                                                                 uint64_t device_offset,
                                                                 bool address_is_hint) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t len = (std::max<size_t>(size, 1) + page - 1) / page * page;
  const int fixed = address != nullptr && !address_is_hint ? MAP_FIXED : 0;
  void* base =
      mmap(address, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fixed, -1, 0);
  if (base == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "trapped MMIO for %s: mmap of %d bytes failed: %s", name, len, std::strerror(errno)));
  }
  std::unique_ptr<TrappedMmio> r(
      new TrappedMmio(base, len, device, std::move(name), device_offset));
  std::call_once(TrapHandler::installed, &TrapHandler::install);
  std::lock_guard<std::mutex> lock(TrapHandler::mutex);
  for (int i = 0; i < TrapHandler::kSlots; ++i) {
    TrapHandler::Slot& s = TrapHandler::slots[i];
    if (s.region.load(std::memory_order_relaxed) != nullptr) continue;
    s.begin.store(reinterpret_cast<uintptr_t>(base), std::memory_order_relaxed);
    s.end.store(reinterpret_cast<uintptr_t>(base) + len, std::memory_order_relaxed);
    s.region.store(r.get(), std::memory_order_release);
    r->slot_ = i;
    return r;
  }
  return absl::ResourceExhaustedError(
      absl::StrFormat("trapped MMIO for %s: all %d regions are in use; destroy one first",
                      r->name(), TrapHandler::kSlots));
}

TrappedMmio::~TrappedMmio() {
  if (slot_ >= 0) {
    std::lock_guard<std::mutex> lock(TrapHandler::mutex);
    TrapHandler::slots[slot_].region.store(nullptr, std::memory_order_release);
  }
  munmap(base_, size_);
}

uint64_t ForwardToBar::read(uint64_t offset, unsigned width) {
  const uint32_t off = static_cast<uint32_t>(offset);
  switch (width) {
    case 1: return bar_.read8(off);
    case 2: return bar_.read16(off);
    case 4: return bar_.read32(off);
    default: return bar_.read64(off);
  }
}

void ForwardToBar::write(uint64_t offset, unsigned width, uint64_t value) {
  const uint32_t off = static_cast<uint32_t>(offset);
  switch (width) {
    case 1: return bar_.write8(off, static_cast<uint8_t>(value));
    case 2: return bar_.write16(off, static_cast<uint16_t>(value));
    case 4: return bar_.write32(off, static_cast<uint32_t>(value));
    default: return bar_.write64(off, value);
  }
}

}  // namespace safenic::sim
