import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from '../../abi/errno.js';
import { SYSCALLS } from '../../abi/syscalls.js';
// x86_64 signal frames built by hand, so that a thread coreshot borrows can put itself back with
// rt_sigreturn (arch/x86/kernel/signal_64.c reads the frame at the stack pointer minus 8).
// Layouts: struct rt_sigframe, struct ucontext and struct sigcontext of the x86_64 uapi headers;
// the XSAVE area as in a signal frame (arch/x86/kernel/fpu/signal.c: check_xstate_in_sigframe).

/** Offsets in user_regs_struct (PTRACE_GETREGSET NT_PRSTATUS). */
export const USER_REGS = {
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  rbp: 32,
  rbx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  rax: 80,
  rcx: 88,
  rdx: 96,
  rsi: 104,
  rdi: 112,
  orig_rax: 120,
  rip: 128,
  cs: 136,
  eflags: 144,
  rsp: 152,
  ss: 160,
} as const;

/** The 64-bit fields of struct sigcontext, in order, as user_regs_struct names them. */
const SIGCONTEXT_REGS = [
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rdi',
  'rsi',
  'rbp',
  'rbx',
  'rdx',
  'rax',
  'rcx',
  'rsp',
  'rip',
  'eflags',
] as const;

/** sizeof(struct rt_sigframe): pretcode, ucontext (304 bytes), siginfo (128 bytes). */
export const SIGFRAME_SIZE = 440;
const UC_FLAGS = 8;
const UC_STACK_FLAGS = 32;
const UC_MCONTEXT = 48;
const SC_SEGMENTS = UC_MCONTEXT + 18 * 8;
/** After the segments: err, trapno, oldmask, cr2. */
const SC_FPSTATE = SC_SEGMENTS + 5 * 8;
const UC_SIGMASK = UC_MCONTEXT + 256;

const UC_FP_XSTATE = 1n;
const UC_SIGCONTEXT_SS = 2n;
const UC_STRICT_RESTORE_SS = 4n;
/**
 * An ss_flags value sigaltstack() refuses (neither 0, SS_ONSTACK nor SS_DISABLE): rt_sigreturn
 * ignores the refusal, so the thread's alternate signal stack, which ptrace cannot read, stays
 * exactly as it is.
 */
const SS_FLAGS_UNCHANGED = 3;

/** Where the XSAVE area of a signal frame must be aligned (XRSTOR). */
export const FPSTATE_ALIGN = 64n;
const FP_XSTATE_MAGIC1 = 0x46505853;
const FP_XSTATE_MAGIC2 = 0x46505845;
/** Offsets in the XSAVE area: the software-reserved bytes of the legacy area, XCR0 in ptrace's. */
const SW_RESERVED = 464;
const LEGACY_SIZE = 512;

/**
 * An rt_sigframe that makes rt_sigreturn load general registers `regs` (a user_regs_struct:
 * every register but the segment bases, which rt_sigreturn leaves alone), blocked-signal mask
 * `sigmask` and, when `fpstate` is not 0, the XSAVE area at that address (else the FPU is reset).
 * `restorer` is the pretcode slot: the address a `ret` pops to reach rt_sigreturn.
 */
export function rtSigframe(frame: {
  restorer: bigint;
  regs: Buffer;
  sigmask: bigint;
  fpstate: bigint;
}): Buffer {
  const out = Buffer.alloc(SIGFRAME_SIZE);
  out.writeBigUInt64LE(frame.restorer, 0);
  out.writeBigUInt64LE(UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS, UC_FLAGS);
  out.writeInt32LE(SS_FLAGS_UNCHANGED, UC_STACK_FLAGS);
  SIGCONTEXT_REGS.forEach((name, i) => {
    out.writeBigUInt64LE(frame.regs.readBigUInt64LE(USER_REGS[name]), UC_MCONTEXT + i * 8);
  });
  // cs, gs, fs, ss (16 bits each): rt_sigreturn restores cs and ss only.
  out.writeUInt16LE(frame.regs.readUInt16LE(USER_REGS.cs), SC_SEGMENTS);
  out.writeUInt16LE(frame.regs.readUInt16LE(USER_REGS.ss), SC_SEGMENTS + 6);
  out.writeBigUInt64LE(frame.fpstate, SC_FPSTATE);
  out.writeBigUInt64LE(frame.sigmask, UC_SIGMASK);
  return out;
}

/**
 * The XSAVE area of a signal frame from the one PTRACE_GETREGSET(NT_X86_XSTATE) returns (the
 * standard, uncompacted format both use): the software bytes that tell rt_sigreturn its size and
 * features instead of ptrace's XCR0 word, and the closing magic number.
 */
export function sigframeFpstate(xstate: Buffer): Buffer {
  const out = Buffer.alloc(xstate.length + 4);
  xstate.copy(out);
  const xcr0 = xstate.readBigUInt64LE(SW_RESERVED);
  out.fill(0, SW_RESERVED, LEGACY_SIZE);
  out.writeUInt32LE(FP_XSTATE_MAGIC1, SW_RESERVED);
  out.writeUInt32LE(xstate.length + 4, SW_RESERVED + 4);
  out.writeBigUInt64LE(xcr0, SW_RESERVED + 8);
  out.writeUInt32LE(xstate.length, SW_RESERVED + 16);
  out.writeUInt32LE(FP_XSTATE_MAGIC2, xstate.length);
  return out;
}

/**
 * The registers a thread stopped by PTRACE_INTERRUPT goes on with when it resumes without a
 * signal: an interrupted system call is restarted the way the kernel does it (instruction
 * pointer back onto the `syscall`, its number in rax, or restart_syscall), and orig_rax is -1,
 * as rt_sigreturn leaves it.
 */
export function resumeRegisters(regs: Buffer): Buffer {
  const out = Buffer.from(regs);
  const nr = regs.readBigInt64LE(USER_REGS.orig_rax);
  const rax = regs.readBigInt64LE(USER_REGS.rax);
  if (nr >= 0n) {
    if (rax === ERESTARTSYS || rax === ERESTARTNOINTR || rax === ERESTARTNOHAND) {
      out.writeBigInt64LE(nr, USER_REGS.rax);
      out.writeBigUInt64LE(regs.readBigUInt64LE(USER_REGS.rip) - 2n, USER_REGS.rip);
    } else if (rax === ERESTART_RESTARTBLOCK) {
      out.writeBigInt64LE(BigInt(SYSCALLS.x86_64.restart_syscall), USER_REGS.rax);
      out.writeBigUInt64LE(regs.readBigUInt64LE(USER_REGS.rip) - 2n, USER_REGS.rip);
    }
  }
  out.writeBigInt64LE(-1n, USER_REGS.orig_rax);
  return out;
}
