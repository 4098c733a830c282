/**
 * What the unwinder needs to know of each architecture, as data: DWARF register numbers ↔ the
 * names of the general-register tables (src/elf/regs), the stack pointer, the default
 * return-address column, how a frame is unwound without CFI (frame-pointer chain, s390x/ppc
 * back chain, a leaf whose return address is still in the link register or on top of the
 * stack), and the kernel's signal trampolines: their instruction bytes and where the
 * interrupted registers lie in the signal frame.
 */
import type { ArchName } from '../../model/process-image.js';

/** A register of the caller: where its value is read, relative to a base register of the callee. */
export interface SavedSlot {
  /** DWARF register of the caller. */
  reg: number;
  /** Byte offset from the base. */
  offset: number;
}

/** Unwinding through a chain of saved frame pointers (or a back chain) when there is no CFI. */
export interface FrameChain {
  how: 'frame-pointer' | 'back-chain';
  /** The callee's register holding the chain pointer (rbp, x29, r1, r15). */
  base: number;
  /** The caller's stack pointer relative to the chain pointer. */
  cfa: number;
  /** Words read relative to the chain pointer: the return address and the caller's registers. */
  saved: readonly SavedSlot[];
}

/** A kernel signal trampoline: its code, and where the interrupted registers are. */
export interface SignalTrampoline {
  /** The instruction bytes at the trampoline's pc. */
  code: Buffer;
  /** Offset of the register save area from the stack pointer at the trampoline. */
  context: number;
  /** Offsets of each DWARF register (and of the pc) inside the save area. */
  regs: readonly SavedSlot[];
  pc: number;
}

export interface UnwindArch {
  name: ArchName;
  addressSize: 4 | 8;
  /** Rule arrays hold registers 0..regs-1 (higher DWARF numbers are not tracked). */
  regs: number;
  /** DWARF register number → the name in the arch's register table. */
  names: Readonly<Record<number, string>>;
  sp: number;
  /** The return-address column (CIEs name their own; this is used without CFI). */
  ra: number;
  /** A leaf (frame 0, PLT stubs): the return address is in this register, or on top of the stack. */
  leaf: { register: number } | { stackTop: true };
  chain?: FrameChain;
  trampolines: readonly SignalTrampoline[];
  /** Bits cleared from every pc (the Thumb bit). */
  pcAlign: bigint;
}

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
const seq = (prefix: string, n: number, from = 0): Record<number, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [from + i, `${prefix}${i}`]));

/** sigcontext slots of consecutive registers: DWARF regs `first..` at `offset`, stride `size`. */
const slots = (regs: readonly number[], offset: number, size: number): SavedSlot[] =>
  regs.map((reg, i) => ({ reg, offset: offset + i * size }));

/** x86_64 DWARF numbers (System V psABI 3.6.2) in register-table names. */
const X86_64_NAMES = [
  'rax',
  'rdx',
  'rcx',
  'rbx',
  'rsi',
  'rdi',
  'rbp',
  'rsp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
];
/** struct sigcontext (x86_64) field order from r8 to rip, as DWARF numbers. */
const X86_64_SIGCONTEXT = [8, 9, 10, 11, 12, 13, 14, 15, 5, 4, 6, 3, 1, 0, 2, 7];

const X86_64: UnwindArch = {
  name: 'x86_64',
  addressSize: 8,
  regs: 17,
  names: Object.fromEntries(X86_64_NAMES.map((n, i) => [i, n])),
  sp: 7,
  ra: 16,
  leaf: { stackTop: true },
  chain: {
    how: 'frame-pointer',
    base: 6,
    cfa: 16,
    saved: [
      { reg: 6, offset: 0 },
      { reg: 16, offset: 8 },
    ],
  },
  // __restore_rt: mov $15,%rax; syscall. The stack pointer is at the ucontext; uc_mcontext at 40.
  trampolines: [
    { code: hex('48c7c00f000000 0f05'), context: 40, regs: slots(X86_64_SIGCONTEXT, 0, 8), pc: 128 },
  ],
  pcAlign: 0n,
};

/** i386 DWARF numbers: eax ecx edx ebx esp ebp esi edi eip. */
const I386_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
/** struct sigcontext (i386) from edi to eax, as DWARF numbers. */
const I386_SIGCONTEXT = [7, 6, 5, 4, 3, 2, 1, 0];

const I386: UnwindArch = {
  name: 'i386',
  addressSize: 4,
  regs: 9,
  names: Object.fromEntries(I386_NAMES.map((n, i) => [i, n])),
  sp: 4,
  ra: 8,
  leaf: { stackTop: true },
  chain: {
    how: 'frame-pointer',
    base: 5,
    cfa: 8,
    saved: [
      { reg: 5, offset: 0 },
      { reg: 8, offset: 4 },
    ],
  },
  trampolines: [
    // rt_sigreturn: mov $173,%eax; int $0x80. The stack holds sig, pinfo, puc, siginfo (128),
    // then the ucontext whose uc_mcontext is at 20.
    { code: hex('b8ad000000 cd80'), context: 160, regs: slots(I386_SIGCONTEXT, 16, 4), pc: 56 },
    // sigreturn: pop %eax; mov $119,%eax; int $0x80. The stack holds sig, then the sigcontext.
    { code: hex('58 b877000000 cd80'), context: 4, regs: slots(I386_SIGCONTEXT, 16, 4), pc: 56 },
    // The same, one instruction in (after the pop).
    { code: hex('b877000000 cd80'), context: 0, regs: slots(I386_SIGCONTEXT, 16, 4), pc: 56 },
  ],
  pcAlign: 0n,
};

const AARCH64: UnwindArch = {
  name: 'aarch64',
  addressSize: 8,
  regs: 32,
  names: { ...seq('x', 31), 31: 'sp' },
  sp: 31,
  ra: 30,
  leaf: { register: 30 },
  chain: {
    how: 'frame-pointer',
    base: 29,
    cfa: 16,
    saved: [
      { reg: 29, offset: 0 },
      { reg: 30, offset: 8 },
    ],
  },
  // __kernel_rt_sigreturn: mov x8, #139; svc #0. The stack holds siginfo (128), then the
  // ucontext whose uc_mcontext is at 176: fault_address, x0-x30, sp, pc.
  trampolines: [
    {
      code: hex('681180d2 010000d4'),
      context: 128 + 176 + 8,
      regs: slots(
        Array.from({ length: 32 }, (_, i) => i),
        0,
        8,
      ),
      pc: 256,
    },
  ],
  pcAlign: 0n,
};

const TABLES: Partial<Record<ArchName, UnwindArch>> = { x86_64: X86_64, i386: I386, aarch64: AARCH64 };

/** The unwinder's description of `arch`, or undefined when it cannot unwind it. */
export function unwindArch(arch: ArchName): UnwindArch | undefined {
  return TABLES[arch];
}
