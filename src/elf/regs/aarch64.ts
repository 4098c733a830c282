import { consecutive, numbered } from './types.js';

/** struct user_pt_regs (arch/arm64/include/uapi/asm/ptrace.h): x0-x30, sp, pc, pstate; 272 bytes. */
export const AARCH64 = consecutive(
  [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'pstate'],
  8,
  // DWARF for the Arm 64-bit Architecture (AADWARF64): x0-x30 0-30, sp 31, pc 32.
  { pc: 'pc', sp: 'sp', dwarf: { ...numbered('x', 31, 0), sp: 31, pc: 32 } },
);
