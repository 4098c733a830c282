import type { RegisterTable } from './types.js';

/**
 * s390x elf_gregset_t = s390_regs (arch/s390/include/uapi/asm/ptrace.h): the PSW (mask, address),
 * 16 general registers, 16 four-byte access registers, orig_gpr2; 216 bytes. DWARF numbers from
 * the s390x ELF ABI: r0-r15 0-15, a0-a15 48-63, pswm 64, pswa 65.
 */
export const S390X: RegisterTable = {
  size: 216,
  fields: [
    { name: 'pswm', offset: 0, size: 8, dwarf: 64 },
    { name: 'pswa', offset: 8, size: 8, dwarf: 65 },
    ...Array.from({ length: 16 }, (_, i) => ({ name: `r${i}`, offset: 16 + 8 * i, size: 8, dwarf: i })),
    ...Array.from({ length: 16 }, (_, i) => ({ name: `a${i}`, offset: 144 + 4 * i, size: 4, dwarf: 48 + i })),
    { name: 'orig_r2', offset: 208, size: 8 },
  ],
  pc: 'pswa',
  sp: 'r15',
};
