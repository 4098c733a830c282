/*
 * Test target for a big-endian ppc64 QEMU user-mode core. There is no big-endian libc here, so it
 * is freestanding (built with powerpc64le-linux-gnu-gcc -mbig-endian -nostdlib): one thread loads
 * r14/r15/r16 = MAIN_A/MAIN_B/MAIN_C (the values of qemu-regs.c) and loads from address 0.
 */
#define MAIN_A 0x0123456789abcdefUL
#define MAIN_B 0xfedcba9876543210UL
#define MAIN_C 0x00c0ffee00c0ffeeUL

void _start(void) {
  __asm__ volatile("mr 14, %0\n\tmr 15, %1\n\tmr 16, %2\n\tli 9, 0\n\tld 9, 0(9)"
                   : : "r"(MAIN_A), "r"(MAIN_B), "r"(MAIN_C) : "r14", "r15", "r16", "r9", "memory");
}
