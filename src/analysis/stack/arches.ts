/**
 * What the unwinder needs to know of each architecture, as data (the DWARF number of each
 * general register is in src/elf/regs): how many DWARF registers it tracks, the stack pointer, the default
 * return-address column, how a frame is unwound without CFI (frame-pointer chain, s390x/ppc
 * back chain, a leaf whose return address is still in the link register or on top of the
 * stack), and the kernel's signal trampolines (QEMU user mode's too, which follow the kernel's
 * frame layouts): their instruction bytes and where the interrupted registers lie in the
 * signal frame.
 */
import type { ArchName } from '../../model/process-image.js';

/** A register of the caller: where its value is read, relative to a base register of the callee. */
export interface SavedSlot {
  /** DWARF register of the caller. */
  reg: number;
  /** Byte offset from the base. */
  offset: number;
}

/** Unwinding through a chain of saved frame pointers when there is no CFI. */
export interface FramePointerChain {
  how: 'frame-pointer';
  /** The callee's register holding the chain pointer (rbp, x29). */
  base: number;
  /** The caller's stack pointer relative to the chain pointer. */
  cfa: number;
  /** Words read relative to the chain pointer: the return address and the caller's registers. */
  saved: readonly SavedSlot[];
}

/**
 * A back chain (ppc64): the word at the stack pointer of every function with a frame is its
 * caller's stack pointer, and the return address into the caller is saved at `link` bytes above
 * that (in the caller's frame, where the callee stores its link register).
 */
export interface BackChain {
  how: 'back-chain';
  link: number;
}

export type FrameChain = FramePointerChain | BackChain;

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
  sp: number;
  /** The return-address column (CIEs name their own; this is used without CFI). */
  ra: number;
  /** A leaf (frame 0, PLT stubs): the return address is in this register, or on top of the stack. */
  leaf: { register: number } | { stackTop: true };
  chain?: FrameChain;
  trampolines: readonly SignalTrampoline[];
  /** Bits cleared from every pc (the Thumb bit). */
  pcAlign: bigint;
  /**
   * A stack pointer without a CFI rule keeps its value (s390x: the CFA is the caller's stack
   * pointer + 160, and a function that moves r15 saves it with a rule) instead of becoming the CFA.
   */
  spKeeps?: boolean;
}

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
/** sigcontext slots of consecutive registers: DWARF regs `first..` at `offset`, stride `size`. */
const slots = (regs: readonly number[], offset: number, size: number): SavedSlot[] =>
  regs.map((reg, i) => ({ reg, offset: offset + i * size }));

/** struct sigcontext (x86_64) field order from r8 to rip, as DWARF numbers. */
const X86_64_SIGCONTEXT = [8, 9, 10, 11, 12, 13, 14, 15, 5, 4, 6, 3, 1, 0, 2, 7];

const X86_64: UnwindArch = {
  name: 'x86_64',
  addressSize: 8,
  regs: 17,
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

/** struct sigcontext (i386) from edi to eax, as DWARF numbers. */
const I386_SIGCONTEXT = [7, 6, 5, 4, 3, 2, 1, 0];

const I386: UnwindArch = {
  name: 'i386',
  addressSize: 4,
  regs: 9,
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

/**
 * ppc64le (ELFv2): r1 is the stack pointer, the link register (65) the return-address column.
 * The ABI makes every frame start with the back chain, and the LR save doubleword is at 16.
 */
const PPC64LE: UnwindArch = {
  name: 'ppc64le',
  addressSize: 8,
  regs: 67,
  sp: 1,
  ra: 65,
  leaf: { register: 65 },
  chain: { how: 'back-chain', link: 16 },
  // The rt_sigreturn trampoline: li r0, 172; sc. The stack pointer is 144 bytes below the
  // rt_sigframe, whose ucontext's sigcontext (at 168) holds gp_regs at 64: r0-r31, then nip
  // (32) and the link register (36).
  trampolines: [
    {
      code: hex('ac000038 02000044'),
      context: 144 + 168 + 64,
      regs: [
        ...slots(
          Array.from({ length: 32 }, (_, i) => i),
          0,
          8,
        ),
        { reg: 65, offset: 36 * 8 },
      ],
      pc: 32 * 8,
    },
  ],
  pcAlign: 0n,
};

/** s390x: r15 is the stack pointer, r14 holds the return address. */
const S390X: UnwindArch = {
  name: 's390x',
  addressSize: 8,
  regs: 16,
  sp: 15,
  ra: 14,
  leaf: { register: 14 },
  // The sigreturn trampoline of a handler without SA_SIGINFO: svc 119. The stack pointer is at
  // the sigframe: 160 bytes the callee may use, the sigcontext (16), then _sigregs: the PSW
  // (mask, address) and r0-r15.
  trampolines: [
    {
      code: hex('0a77'),
      context: 160 + 16 + 16,
      regs: slots(
        Array.from({ length: 16 }, (_, i) => i),
        0,
        8,
      ),
      pc: -8,
    },
    // With SA_SIGINFO: svc 173 (rt_sigreturn). The rt_sigframe: the 160 bytes, the svc
    // instruction's slot (8), the siginfo (128), then the ucontext: uc_flags, uc_link and the
    // stack_t (40) before its _sigregs, whose PSW (16) precedes r0-r15.
    {
      code: hex('0aad'),
      context: 160 + 8 + 128 + 40 + 16,
      regs: slots(
        Array.from({ length: 16 }, (_, i) => i),
        0,
        8,
      ),
      pc: -8,
    },
  ],
  pcAlign: 0n,
  spKeeps: true,
};

/** arm (EABI): r13 is the stack pointer, r14 the link register; Thumb pcs have bit 0 set. */
const ARM: UnwindArch = {
  name: 'arm',
  addressSize: 4,
  regs: 16,
  sp: 13,
  ra: 14,
  leaf: { register: 14 },
  trampolines: [],
  pcAlign: 1n,
};

const TABLES: Partial<Record<ArchName, UnwindArch>> = {
  x86_64: X86_64,
  arm: ARM,
  i386: I386,
  aarch64: AARCH64,
  ppc64le: PPC64LE,
  s390x: S390X,
};

/** The unwinder's description of `arch`, or undefined when it cannot unwind it. */
export function unwindArch(arch: ArchName | 'unknown'): UnwindArch | undefined {
  return arch === 'unknown' ? undefined : TABLES[arch];
}
