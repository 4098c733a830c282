/*
 * Test target for arm64 NT_FPREGSET (run under qemu-aarch64 with gdb's gcore): loads v0..v31
 * with known values (register i, 64-bit lane j = V_BASE + 2 * i + j) and faults in the same
 * asm block.
 */
#include <stdint.h>

#define V_BASE 0xa500000000000000ULL

static uint64_t lanes[64] __attribute__((aligned(16)));

int main(void) {
  for (int i = 0; i < 64; i++) lanes[i] = V_BASE + i;
  __asm__ volatile("ldp q0, q1, [%0]\n\tldp q2, q3, [%0, #32]\n\tldp q4, q5, [%0, #64]\n\t"
                   "ldp q6, q7, [%0, #96]\n\tldp q8, q9, [%0, #128]\n\tldp q10, q11, [%0, #160]\n\t"
                   "ldp q12, q13, [%0, #192]\n\tldp q14, q15, [%0, #224]\n\tldp q16, q17, [%0, #256]\n\t"
                   "ldp q18, q19, [%0, #288]\n\tldp q20, q21, [%0, #320]\n\tldp q22, q23, [%0, #352]\n\t"
                   "ldp q24, q25, [%0, #384]\n\tldp q26, q27, [%0, #416]\n\tldp q28, q29, [%0, #448]\n\t"
                   "ldp q30, q31, [%0, #480]\n\t"
                   "mov x1, #0\n\tldr x1, [x1]"
                   : : "r"(lanes) : "x1", "memory");
  return 0;
}
