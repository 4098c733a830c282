import { consecutive, numbered } from './types.js';

/**
 * PowerPC elf_gregset_t (ELF_NGREG 48 longs: 384 bytes on ppc64, 192 on 32-bit ppc): struct
 * user_pt_regs (arch/powerpc/include/uapi/asm/ptrace.h) followed by padding. Same layout for
 * ppc64le, big-endian ppc64 and ppc. eu-readelf names the softe slot "spr0" (ppc: "mq") and prints
 * neither trap nor result; those two keep their kernel names here. The four trailing padding
 * slots are not named.
 */
const ppcTable = (w: 4 | 8) =>
  consecutive(
    [
      ...Array.from({ length: 32 }, (_, i) => `r${i}`),
      'nip',
      'msr',
      'orig_gpr3',
      'ctr',
      'lr',
      'xer',
      'cr',
      w === 8 ? 'spr0' : 'mq',
      'trap',
      'dar',
      'dsisr',
      'result',
    ],
    w,
    {
      pc: 'nip',
      sp: 'r1',
      total: 48 * w,
      // GCC's call frame numbering (what .eh_frame uses): lr 65, ctr 66, xer 76; .debug_frame from
      // other producers may use the ABI's 108 (lr), 109 (ctr), 101 (xer) instead. nip has none.
      dwarf: { ...numbered('r', 32, 0), lr: 65, ctr: 66, xer: 76 },
    },
  );

export const PPC64 = ppcTable(8);
export const PPC = ppcTable(4);
