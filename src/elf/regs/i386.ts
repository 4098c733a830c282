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
  { pc: 'eip', sp: 'esp' },
);
