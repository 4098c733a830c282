import { consecutive } from './types.js';

/** struct user_regs_struct of i386 (arch/x86/include/asm/user_32.h): 17 longs, 68 bytes. */
export const I386 = consecutive(
  [
    'ebx',
    'ecx',
    'edx',
    'esi',
    'edi',
    'ebp',
    'eax',
    'ds',
    'es',
    'fs',
    'gs',
    'orig_eax',
    'eip',
    'cs',
    'eflags',
    'esp',
    'ss',
  ],
  4,
  {
    pc: 'eip',
    sp: 'esp',
    // i386 System V psABI, table 2.14.
    dwarf: {
      eax: 0,
      ecx: 1,
      edx: 2,
      ebx: 3,
      esp: 4,
      ebp: 5,
      esi: 6,
      edi: 7,
      eip: 8,
      eflags: 9,
      es: 40,
      cs: 41,
      ss: 42,
      ds: 43,
      fs: 44,
      gs: 45,
    },
  },
);
