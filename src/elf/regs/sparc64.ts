import { consecutive } from './types.js';

/**
 * sparc64 elf_gregset_t (arch/sparc/include/asm/elf_64.h, ELF_NGREG 36 longs, 288 bytes): the
 * globals, outs, locals and ins (g0-g7, o0-o7, l0-l7, i0-i7), then tstate (eu-readelf: state), pc,
 * npc and y. DWARF numbers 0-31 for the 32 integer registers (o6 is the stack pointer).
 */
const WINDOW = ['g', 'o', 'l', 'i'].flatMap((k) => Array.from({ length: 8 }, (_, i) => `${k}${i}`));

export const SPARC64 = consecutive([...WINDOW, 'state', 'pc', 'npc', 'y'], 8, {
  pc: 'pc',
  sp: 'o6',
  dwarf: Object.fromEntries(WINDOW.map((name, i) => [name, i])),
});
