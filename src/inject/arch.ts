// What code injection needs to know of one architecture: the arch descriptor. Everything in
// src/inject/ (and the fork snapshot, and later restore) is written against this interface; only
// the descriptor files (x86_64.ts) hold register layouts, frame layouts, syscall numbers and
// instruction bytes. An aarch64 descriptor would fill in the same fields (svc #0, x8 for the
// number, x0-x5 for the arguments, the return address in x30, no red zone, sigreturn nr 139).

import type { SyscallName } from '../abi/syscalls.js';
import type { SyscallAbi } from '../sys/tracee.js';

export type { SyscallName };

/** One system call: its number, its arguments (at most six), where and how it runs. */
export interface SyscallCall {
  nr: bigint;
  args: readonly bigint[];
  /** The address of the system call instruction the thread runs (a gadget). */
  at: bigint;
  /** The stack pointer it runs with: a signal frame lies there. */
  sp: bigint;
  /** The address of the rt_sigreturn trampoline (a gadget) the call returns into. */
  sigreturn: bigint;
}

/** A signal frame to build: rt_sigreturn makes the thread go on with these. */
export interface FrameSpec {
  /** The rt_sigreturn trampoline, where the return from the call goes (x86_64: pretcode). */
  restorer: bigint;
  /** General registers, in the layout of the general regset. */
  regs: Buffer;
  sigmask: bigint;
  /** Address of the extended state (as `frameState` returned it), or 0: reset the FPU. */
  state: bigint;
}

/** Instruction patterns the injection runs (never written: found in the target's code). */
export interface GadgetPatterns {
  /** The system call instruction. */
  syscall: Buffer;
  /**
   * Whether the code from `code[i]` (right after a system call instruction) returns to the
   * frame's restorer without changing anything but scratch registers.
   */
  returnsAfter(code: Buffer, i: number): boolean;
  /** rt_sigreturn trampolines (libc, vdso). */
  sigreturn: readonly Buffer[];
}

/** The arch descriptor: SyscallAbi (what sys/ needs) plus what src/inject/ builds with. */
export interface InjectArch extends SyscallAbi {
  name: string;
  syscalls: Readonly<Record<SyscallName, bigint>>;
  /** The bytes below the stack pointer a function may still use (not to be overwritten). */
  redZone: bigint;
  /** Alignment of a signal frame. */
  frameAlign: bigint;
  /** sizeof(struct rt_sigframe). */
  frameSize: number;
  /** Alignment of the extended state in a frame. */
  stateAlign: bigint;
  stackPointer(regs: Buffer): bigint;
  /** The general registers that run `call`; the rest are taken from `base`. */
  syscallRegisters(base: Buffer, call: SyscallCall): Buffer;
  /**
   * The registers a thread held in an interrupt stop goes on with when it resumes without a
   * signal: an interrupted system call restarted the way the kernel does it.
   */
  resumeRegisters(regs: Buffer): Buffer;
  /** Whether a thread in an interrupt stop sleeps in a call that resumes through restart_block. */
  restartsThroughBlock(regs: Buffer): boolean;
  /**
   * For a thread that gets a new restart_block (a restored one): registers that restart such a
   * call by running it again with the arguments still in its registers, instead of through
   * restart_syscall (which would fail with EINTR). Other registers are returned as they are.
   */
  restartWithoutBlock(regs: Buffer): Buffer;
  /** The rt_sigframe rt_sigreturn reads at the stack pointer the call runs with. */
  frame(spec: FrameSpec): Buffer;
  /** The extended state as a signal frame holds it, from the ptrace regset. */
  frameState(extended: Buffer): Buffer;
  gadgets: GadgetPatterns;
}
