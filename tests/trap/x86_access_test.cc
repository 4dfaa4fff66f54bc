// The decoder against the assembler: GNU as encodes each instruction below
// (the independent check of lengths, prefixes, REX and ModR/M forms), and
// decode_x86_access() must find its length, width, direction and register.
#include "sim/trap/x86_access.h"

#include <cstdint>

#include "gtest/gtest.h"

// Instructions assembled into .rodata (never executed), with a table of their
// start addresses; the last entry is the end of the last instruction.
extern "C" const uint8_t* const safenic_x86_samples[];
asm(R"(
  .pushsection .rodata
  .balign 8
  .globl safenic_x86_samples
safenic_x86_samples:
  .quad 100f, 101f, 102f, 103f, 104f, 105f, 106f, 107f, 108f, 109f
  .quad 110f, 111f, 112f, 113f, 114f, 115f, 116f, 117f, 118f, 119f
  .quad 120f, 121f, 122f, 123f, 124f, 125f
100: movl %eax, (%rbx)
101: movl (%rsi), %r9d
102: movq %r15, 0x12345678(%rdi)
103: movw %cx, 8(%rdx)
104: movb %ah, (%rdi)
105: movb %sil, (%rdi)
106: movb 3(%rax), %bh
107: movzbl 0x10(%rsi,%rdi,4), %eax
108: movzwl -8(%rbp), %r10d
109: movsbq (%rcx), %rdx
110: movl $0xdeadbeef, 0x400(%r12)
111: movq $-2, (%rsp)
112: movw $0x1234, (%rax)
113: movb $0x5a, 0x7f(%r13)
114: movl 0x1000(,%rbx,8), %ecx
115: movl 0x2000(%rip), %eax
116: movl %fs:(%rax), %eax
117: lock addl $1, (%rax)
118: movl %eax, %ebx
119: movdqu (%rax), %xmm0
120: rep movsb
121: addl (%rax), %ecx
122: movdiri %eax, (%rdx)
123: movdiri %r9, 8(%rbx)
124: movdir64b (%rax), %rcx
125:
  .popsection
)");

namespace safenic::sim {
namespace {

struct Expected {
  const char* text;
  bool decodes;
  unsigned width = 0;
  bool store = false;
  unsigned reg = 0;
  bool high_byte = false;
  bool immediate = false;
  uint64_t immediate_value = 0;
  unsigned dest_width = 0;
  bool sign_extend = false;
};

// Registers: 0 rax 1 rcx 2 rdx 3 rbx 4 rsp 5 rbp 6 rsi 7 rdi 8-15 r8-r15.
constexpr Expected kSamples[] = {
    {"movl %eax, (%rbx)", true, 4, true, 0},
    {"movl (%rsi), %r9d", true, 4, false, 9, false, false, 0, 4},
    {"movq %r15, 0x12345678(%rdi)", true, 8, true, 15},
    {"movw %cx, 8(%rdx)", true, 2, true, 1},
    {"movb %ah, (%rdi)", true, 1, true, 0, true},
    {"movb %sil, (%rdi)", true, 1, true, 6},
    {"movb 3(%rax), %bh", true, 1, false, 3, true, false, 0, 1},
    {"movzbl 0x10(%rsi,%rdi,4), %eax", true, 1, false, 0, false, false, 0, 4},
    {"movzwl -8(%rbp), %r10d", true, 2, false, 10, false, false, 0, 4},
    {"movsbq (%rcx), %rdx", true, 1, false, 2, false, false, 0, 8, true},
    {"movl $0xdeadbeef, 0x400(%r12)", true, 4, true, 0, false, true, 0xdeadbeef},
    {"movq $-2, (%rsp)", true, 8, true, 0, false, true, 0xfffffffffffffffe},
    {"movw $0x1234, (%rax)", true, 2, true, 0, false, true, 0x1234},
    {"movb $0x5a, 0x7f(%r13)", true, 1, true, 0, false, true, 0x5a},
    {"movl 0x1000(,%rbx,8), %ecx", true, 4, false, 1, false, false, 0, 4},
    {"movl 0x2000(%rip), %eax", true, 4, false, 0, false, false, 0, 4},
    {"movl %fs:(%rax), %eax", true, 4, false, 0, false, false, 0, 4},
    {"lock addl $1, (%rax)", false},
    {"movl %eax, %ebx", false},  // no memory operand
    {"movdqu (%rax), %xmm0", false},
    {"rep movsb", false},
    {"addl (%rax), %ecx", false},
    {"movdiri %eax, (%rdx)", true, 4, true, 0},
    {"movdiri %r9, 8(%rbx)", true, 8, true, 9},
    {"movdir64b (%rax), %rcx", false},  // 64 bytes at once: not a register access
};

TEST(X86AccessTest, DecodesWhatTheAssemblerEncodes) {
  constexpr size_t n = sizeof kSamples / sizeof kSamples[0];
  for (size_t i = 0; i < n; ++i) {
    const Expected& e = kSamples[i];
    SCOPED_TRACE(e.text);
    const uint8_t* code = safenic_x86_samples[i];
    const size_t length = static_cast<size_t>(safenic_x86_samples[i + 1] - code);
    const std::optional<X86Access> a = decode_x86_access(code, 15);
    ASSERT_EQ(a.has_value(), e.decodes);
    if (!a) continue;
    EXPECT_EQ(a->length, length);
    EXPECT_EQ(a->width, e.width);
    EXPECT_EQ(a->store, e.store);
    EXPECT_EQ(a->has_immediate, e.immediate);
    if (e.immediate) {
      EXPECT_EQ(a->immediate, e.immediate_value);
    } else {
      EXPECT_EQ(a->reg, e.reg);
      EXPECT_EQ(a->high_byte, e.high_byte);
    }
    if (!e.store) {
      EXPECT_EQ(a->dest_width, e.dest_width);
      EXPECT_EQ(a->sign_extend, e.sign_extend);
    }
  }
}

TEST(X86AccessTest, AnInstructionCutShortDoesNotDecode) {
  const uint8_t* code = safenic_x86_samples[2];  // movq %r15, 0x12345678(%rdi): 7 bytes
  ASSERT_TRUE(decode_x86_access(code, 7).has_value());
  EXPECT_FALSE(decode_x86_access(code, 6).has_value());
}

// x86 register semantics (SDM 3.4.1.1): a 32-bit destination clears bits
// 63:32; 8- and 16-bit ones keep the rest; ah-bh are bits 15:8.
TEST(X86AccessTest, LoadsWriteTheDestinationAsTheCpuDoes) {
  const uint64_t old = 0x1122334455667788;
  X86Access a;
  a.width = a.dest_width = 4;
  EXPECT_EQ(x86_load_result(a, old, 0xAABBCCDD), 0xAABBCCDDu);
  a.width = a.dest_width = 2;
  EXPECT_EQ(x86_load_result(a, old, 0xCCDD), 0x112233445566CCDDu);
  a.width = a.dest_width = 1;
  EXPECT_EQ(x86_load_result(a, old, 0xDD), 0x11223344556677DDu);
  a.high_byte = true;
  EXPECT_EQ(x86_load_result(a, old, 0xDD), 0x112233445566DD88u);
  a = {};
  a.width = 1, a.dest_width = 8, a.sign_extend = true;
  EXPECT_EQ(x86_load_result(a, old, 0x80), 0xFFFFFFFFFFFFFF80u);
  a.width = 2, a.dest_width = 4, a.sign_extend = false;  // movzwl
  EXPECT_EQ(x86_load_result(a, old, 0xFFFF), 0xFFFFu);
}

TEST(X86AccessTest, StoresTakeTheSourceBytes) {
  X86Access a;
  a.store = true, a.width = 2;
  EXPECT_EQ(x86_store_value(a, 0x1122334455667788), 0x7788u);
  a.width = 1, a.high_byte = true;
  EXPECT_EQ(x86_store_value(a, 0x1122334455667788), 0x77u);
  a = {};
  a.store = true, a.width = 4, a.has_immediate = true, a.immediate = 0xdeadbeef;
  EXPECT_EQ(x86_store_value(a, 0), 0xdeadbeefu);
}

}  // namespace
}  // namespace safenic::sim
