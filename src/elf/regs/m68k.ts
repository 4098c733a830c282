import type { RegisterTable } from './types.js';

/**
 * m68k elf_gregset_t = struct user_regs_struct (arch/m68k/include/asm/user.h), 80 bytes: d1-d7,
 * a0-a6, d0, usp (eu-readelf: a7), orig_d0, then stkadj and sr (shorts), pc, fmtvec. Only the
 * long registers are named. DWARF numbers as GCC's m68k port: d0-d7 0-7, a0-a7 8-15, pc 24.
 */
const LONGS = [
  'd1',
  'd2',
  'd3',
  'd4',
  'd5',
  'd6',
  'd7',
  'a0',
  'a1',
  'a2',
  'a3',
  'a4',
  'a5',
  'a6',
  'd0',
  'a7',
];
const DWARF: Record<string, number> = Object.fromEntries([
  ...Array.from({ length: 8 }, (_, i) => [`d${i}`, i]),
  ...Array.from({ length: 8 }, (_, i) => [`a${i}`, 8 + i]),
]);

export const M68K: RegisterTable = {
  size: 80,
  fields: [
    ...LONGS.map((name, i) => ({ name, offset: 4 * i, size: 4, dwarf: DWARF[name]! })),
    { name: 'orig_d0', offset: 64, size: 4 },
    { name: 'pc', offset: 72, size: 4, dwarf: 24 },
  ],
  pc: 'pc',
  sp: 'a7',
};
