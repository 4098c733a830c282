import { consecutive } from './types.js';

/**
 * struct user_regs_struct of RISC-V (arch/riscv/include/uapi/asm/ptrace.h): pc then x1-x31 by
 * their ABI names; 256 bytes.
 */
export const RISCV64 = consecutive(
  [
    'pc',
    'ra',
    'sp',
    'gp',
    'tp',
    't0',
    't1',
    't2',
    's0',
    's1',
    ...Array.from({ length: 8 }, (_, i) => `a${i}`),
    ...Array.from({ length: 10 }, (_, i) => `s${i + 2}`),
    't3',
    't4',
    't5',
    't6',
  ],
  8,
  { pc: 'pc', sp: 'sp' },
);
