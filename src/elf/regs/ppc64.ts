import { consecutive } from './types.js';

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
  { pc: 'nip', sp: 'r1', total: 48 * 8 },
);
