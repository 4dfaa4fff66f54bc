#include "sim/trap/x86_access.h"

namespace safenic::sim {

namespace {

uint64_t low_bytes(uint64_t v, unsigned bytes) {
  return bytes >= 8 ? v : v & ((uint64_t{1} << (8 * bytes)) - 1);
}

uint64_t sign_extend(uint64_t v, unsigned bytes) {
  if (bytes >= 8) return v;
  const unsigned shift = 64 - 8 * bytes;
  return static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift);
}

}  // namespace

std::optional<X86Access> decode_x86_access(const uint8_t* code, size_t available) {
  size_t i = 0;
  auto next = [&](uint8_t* out) {
    if (i >= available) return false;
    *out = code[i++];
    return true;
  };
  uint8_t b = 0;
  bool operand16 = false;
  // Legacy prefixes (SDM 2.1.1): operand size, and the segment overrides,
  // which change nothing here (the faulting address comes from the kernel).
  // Lock, rep and address-size prefixes are not what a volatile access uses.
  for (;;) {
    if (!next(&b)) return std::nullopt;
    if (b == 0x66) {
      operand16 = true;
    } else if (b != 0x26 && b != 0x2E && b != 0x36 && b != 0x3E && b != 0x64 && b != 0x65) {
      break;
    }
  }
  uint8_t rex = 0;  // SDM 2.2.1: 0100WRXB
  if ((b & 0xF0) == 0x40) {
    rex = b;
    if (!next(&b)) return std::nullopt;
  }
  const bool rex_w = rex & 8, rex_r = rex & 4;
  const unsigned word = rex_w ? 8 : operand16 ? 2 : 4;  // the operand size of the non-byte forms

  X86Access a;
  bool byte_register = false;  // the register operand is an 8-bit one
  unsigned immediate_bytes = 0;
  if (b == 0x0F) {  // two-byte opcodes: MOVZX, MOVSX; three-byte 0F 38: MOVDIRI
    if (!next(&b)) return std::nullopt;
    if (b == 0x38) {
      // MOVDIRI m32/m64, r32/r64 (NP 0F 38 F9 /r; REX.W for 64 bits): a
      // direct store, which DPDK uses for doorbells on CPUs that have it. The
      // 66-prefixed forms (MOVDIR64B is 66 0F 38 F8) move 64 bytes: not decoded.
      if (!next(&b) || b != 0xF9 || operand16) return std::nullopt;
      a.store = true, a.width = rex_w ? 8 : 4;
    } else {
      if (b != 0xB6 && b != 0xB7 && b != 0xBE && b != 0xBF) return std::nullopt;
      a.width = (b == 0xB6 || b == 0xBE) ? 1 : 2;
      a.dest_width = word;
      a.sign_extend = b == 0xBE || b == 0xBF;
    }
  } else {
    switch (b) {
      case 0x88:  // MOV r/m8, r8
        a.store = true, a.width = 1, byte_register = true;
        break;
      case 0x89:  // MOV r/m16/32/64, r
        a.store = true, a.width = word;
        break;
      case 0x8A:  // MOV r8, r/m8
        a.width = a.dest_width = 1, byte_register = true;
        break;
      case 0x8B:  // MOV r, r/m16/32/64
        a.width = a.dest_width = word;
        break;
      case 0xC6:  // MOV r/m8, imm8
        a.store = true, a.width = 1, a.has_immediate = true, immediate_bytes = 1;
        break;
      case 0xC7:  // MOV r/m16/32/64, imm16/32 (sign-extended to 64)
        a.store = true, a.width = word, a.has_immediate = true;
        immediate_bytes = operand16 ? 2 : 4;
        break;
      default: return std::nullopt;
    }
  }
  uint8_t modrm = 0;  // SDM 2.1.5
  if (!next(&modrm)) return std::nullopt;
  const unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
  if (mod == 3) return std::nullopt;  // a register operand: no memory access
  if (a.has_immediate && reg != 0) return std::nullopt;
  size_t displacement = mod == 1 ? 1 : mod == 2 ? 4 : 0;
  if (rm == 4) {  // a SIB byte follows; base 5 with mod 0 means disp32, no base
    uint8_t sib = 0;
    if (!next(&sib)) return std::nullopt;
    if (mod == 0 && (sib & 7) == 5) displacement = 4;
  } else if (mod == 0 && rm == 5) {
    displacement = 4;  // RIP-relative
  }
  i += displacement;
  if (immediate_bytes != 0) {
    if (i + immediate_bytes > available) return std::nullopt;
    uint64_t imm = 0;
    for (unsigned k = 0; k < immediate_bytes; ++k) imm |= uint64_t{code[i + k]} << (8 * k);
    a.immediate = low_bytes(sign_extend(imm, immediate_bytes), a.width);
    i += immediate_bytes;
  }
  if (i > available) return std::nullopt;
  a.length = static_cast<unsigned>(i);
  a.reg = reg | (rex_r ? 8u : 0u);
  // Without a REX prefix, byte registers 4-7 are ah, ch, dh, bh (SDM 3.4.1.1).
  if (byte_register && rex == 0 && reg >= 4) a.high_byte = true, a.reg = reg - 4;
  return a;
}

uint64_t x86_load_result(const X86Access& a, uint64_t old_register, uint64_t loaded) {
  uint64_t v = low_bytes(loaded, a.width);
  if (a.sign_extend) v = sign_extend(v, a.width);
  switch (a.dest_width) {
    case 8: return v;
    case 4: return v & 0xFFFFFFFF;  // a 32-bit destination clears bits 63:32
    case 2: return (old_register & ~uint64_t{0xFFFF}) | (v & 0xFFFF);
    default:
      if (a.high_byte) return (old_register & ~uint64_t{0xFF00}) | (v & 0xFF) << 8;
      return (old_register & ~uint64_t{0xFF}) | (v & 0xFF);
  }
}

uint64_t x86_store_value(const X86Access& a, uint64_t source_register) {
  if (a.has_immediate) return a.immediate;
  if (a.high_byte) return (source_register >> 8) & 0xFF;
  return low_bytes(source_register, a.width);
}

}  // namespace safenic::sim
