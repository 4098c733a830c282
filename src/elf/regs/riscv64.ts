import { consecutive } from './types.js';

/**
 * struct user_regs_struct of RISC-V (arch/riscv/include/uapi/asm/ptrace.h): pc then x1-x31 by
 * their ABI names; 256 bytes.
 */
const NAMES = [
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
];

const RISCV_NAMES_DWARF = Object.fromEntries(NAMES.slice(1).map((n, i) => [n, i + 1]));

export const RISCV64 = consecutive(
  NAMES,
  8,
  // RISC-V ELF psABI: x1-x31 are 1-31 (the table's index); pc has no number.
  { pc: 'pc', sp: 'sp', dwarf: RISCV_NAMES_DWARF },
);
