# A boot sector (real mode, loaded by the BIOS at 0x7c00) that never stops writing: a marker at
# guest-physical 0x500, then forever a 32-bit counter, incremented, stored at 0x10000, 0x50000
# and 0x90000 in that order. At any one instant the three words are c+1 c+1 c+1, c+1 c c or
# c+1 c+1 c (the CPU may stop between two stores); memory read over time shows later values at
# the higher addresses. Built by test/qemu/snapshot.test.ts with as --32 and ld --oformat binary.
.code16
.globl _start
_start:
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x7c00, %sp
  movl $0x434f5245, 0x500       # "EROC": the program runs
  xor %ebx, %ebx
1:
  inc %ebx
  mov $0x1000, %ax
  mov %ax, %es
  movl %ebx, %es:0
  mov $0x5000, %ax
  mov %ax, %es
  movl %ebx, %es:0
  mov $0x9000, %ax
  mov %ax, %es
  movl %ebx, %es:0
  jmp 1b
.org 510
.byte 0x55, 0xaa
