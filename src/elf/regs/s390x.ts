import type { RegisterTable } from './types.js';

/**
 * s390 elf_gregset_t = s390_regs (arch/s390/include/uapi/asm/ptrace.h): the PSW (mask, address),
 * 16 general registers (longs), 16 four-byte access registers, orig_gpr2: 216 bytes on s390x,
 * 144 on 31-bit s390 (140 and padding). DWARF numbers from the s390 ELF ABIs: r0-r15 0-15, a0-a15 48-63, pswm 64,
 * pswa 65.
 */
function s390Table(w: 4 | 8): RegisterTable {
  const access = 2 * w + 16 * w;
  return {
    // psw_t is 8-byte aligned, so s390's 140 bytes of registers take 144.
    size: Math.ceil((access + 64 + w) / 8) * 8,
    fields: [
      { name: 'pswm', offset: 0, size: w, dwarf: 64 },
      { name: 'pswa', offset: w, size: w, dwarf: 65 },
      ...Array.from({ length: 16 }, (_, i) => ({ name: `r${i}`, offset: 2 * w + w * i, size: w, dwarf: i })),
      ...Array.from({ length: 16 }, (_, i) => ({
        name: `a${i}`,
        offset: access + 4 * i,
        size: 4,
        dwarf: 48 + i,
      })),
      { name: 'orig_r2', offset: access + 64, size: w },
    ],
    pc: 'pswa',
    sp: 'r15',
  };
}

export const S390X = s390Table(8);
export const S390 = s390Table(4);
