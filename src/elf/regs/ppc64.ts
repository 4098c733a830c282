import { consecutive, numbered } from './types.js';

/**
 * PowerPC 64 elf_gregset_t (ELF_NGREG 48 longs, 384 bytes): struct user_pt_regs
 * (arch/powerpc/include/uapi/asm/ptrace.h) followed by padding. Same layout for ppc64le and
 * big-endian ppc64. eu-readelf names the softe slot "spr0" and prints neither trap nor result;
 * those two keep their kernel names here. The four trailing padding slots are not named.
 */
export const PPC64 = consecutive(
  [
    ...Array.from({ length: 32 }, (_, i) => `r${i}`),
    'nip',
    'msr',
    'orig_gpr3',
    'ctr',
    'lr',
    'xer',
    'cr',
    'spr0',
    'trap',
    'dar',
    'dsisr',
    'result',
  ],
  8,
  {
    pc: 'nip',
    sp: 'r1',
    total: 48 * 8,
    // GCC's call frame numbering (what .eh_frame uses): lr 65, ctr 66, xer 76; .debug_frame from
    // other producers may use the ABI's 108 (lr), 109 (ctr), 101 (xer) instead. nip has none.
    dwarf: { ...numbered('r', 32, 0), lr: 65, ctr: 66, xer: 76 },
  },
);
