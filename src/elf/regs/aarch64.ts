import { consecutive } from './types.js';

/** struct user_pt_regs (arch/arm64/include/uapi/asm/ptrace.h): x0-x30, sp, pc, pstate; 272 bytes. */
export const AARCH64 = consecutive(
  [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'pstate'],
  8,
  { pc: 'pc', sp: 'sp' },
);
