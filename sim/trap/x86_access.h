// The x86-64 instructions a compiler emits for a volatile load or store
// (mov, movzx, movsx), and the direct store DPDK writes doorbells with
// (movdiri), decoded far enough to emulate one that faulted on a
// trapped MMIO page: its length, the access width, the direction, and the
// register or immediate on the other side. Anything else (a locked or string
// instruction, SSE, an arithmetic op on memory) is not decoded: the caller
// names the instruction bytes and stops. Encodings: Intel SDM vol. 2, ch. 2
// (prefixes, REX, ModR/M, SIB) and the MOV/MOVZX/MOVSX/MOVDIRI pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace safenic::sim {

struct X86Access {
  unsigned length = 0;  // bytes of the whole instruction
  unsigned width = 0;   // bytes of memory read or written: 1, 2, 4 or 8
  bool store = false;   // memory is written (else read)
  // Stores: an immediate, or register `reg`. Loads: the destination register.
  bool has_immediate = false;
  uint64_t immediate = 0;  // already truncated to `width`
  unsigned reg = 0;        // 0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15
  bool high_byte = false;  // ah, ch, dh or bh (reg 0-3, 8-bit forms without REX)
  // Loads: how many bytes of the destination the instruction writes (1, 2, 4
  // or 8; a 4-byte write clears bits 63:32) and how it extends the value.
  unsigned dest_width = 0;
  bool sign_extend = false;
};

// Decodes the instruction at `code` (at most `available` bytes readable).
std::optional<X86Access> decode_x86_access(const uint8_t* code, size_t available);

// A load's effect on its destination register's old value.
uint64_t x86_load_result(const X86Access& a, uint64_t old_register, uint64_t loaded);
// The value a store writes, from the source register's value.
uint64_t x86_store_value(const X86Access& a, uint64_t source_register);

}  // namespace safenic::sim
