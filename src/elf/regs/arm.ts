import { consecutive, numbered } from './types.js';

/**
 * ARM elf_gregset_t (arch/arm/include/asm/elf.h, ELF_NGREG 18): r0-r15 with r13-r15 as sp, lr, pc,
 * then cpsr and orig_r0; 72 bytes. eu-readelf calls the cpsr slot "spsr".
 */
export const ARM = consecutive(
  [...Array.from({ length: 13 }, (_, i) => `r${i}`), 'sp', 'lr', 'pc', 'spsr', 'orig_r0'],
  4,
  // DWARF for the Arm Architecture (AADWARF32): r0-r15 0-15; elfutils numbers the cpsr slot 128.
  { pc: 'pc', sp: 'sp', dwarf: { ...numbered('r', 13, 0), sp: 13, lr: 14, pc: 15, spsr: 128 } },
);
