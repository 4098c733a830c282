// Finds the code the injection runs in the target's own executable mappings (nothing is written
// into its text): a system call instruction followed by a return, and an rt_sigreturn trampoline.
// What to look for is the arch descriptor's (InjectArch.gadgets).

import type { ProcMem } from '../sys/mem.js';
import type { ProcMapping } from '../sys/proc.js';
import type { InjectArch } from './arch.js';

/** Addresses of code of the target's that the injection runs. */
export interface Gadgets {
  /** A system call instruction, then a return to the frame's restorer. */
  syscallRet: bigint;
  /** An rt_sigreturn trampoline. */
  sigreturn: bigint;
}

const CHUNK = 1 << 20;
/** Chunks overlap by this much so that no gadget is cut in two. */
const OVERLAP = 16;
/** How much executable code to search at most. */
const SEARCH_LIMIT = 64 << 20;

/** Finds the injection's gadgets in the target's executable mappings, the vdso's first. */
export function findGadgets(
  arch: InjectArch,
  mem: ProcMem,
  maps: readonly ProcMapping[],
): Gadgets | undefined {
  const { syscall, returnsAfter, sigreturn: trampolines } = arch.gadgets;
  const candidates = [
    ...maps.filter((m) => m.path === '[vdso]'),
    ...maps.filter((m) => m.perms.startsWith('r-x') && m.path !== '[vdso]' && m.path !== '[vsyscall]'),
  ];
  let syscallRet: bigint | undefined;
  let sigreturn: bigint | undefined;
  let budget = SEARCH_LIMIT;
  for (const m of candidates) {
    for (let at = m.start; at < m.end && budget > 0; at += BigInt(CHUNK)) {
      const len = Math.min(CHUNK + OVERLAP, Number(m.end - at));
      const code = mem.read(at, len);
      budget -= code.length;
      for (
        let i = code.indexOf(syscall);
        syscallRet === undefined && i >= 0;
        i = code.indexOf(syscall, i + 1)
      ) {
        if (returnsAfter(code, i + syscall.length)) syscallRet = at + BigInt(i);
      }
      for (const pattern of trampolines) {
        const i = code.indexOf(pattern);
        if (sigreturn === undefined && i >= 0) sigreturn = at + BigInt(i);
      }
      if (syscallRet !== undefined && sigreturn !== undefined) return { syscallRet, sigreturn };
    }
  }
  return undefined;
}
