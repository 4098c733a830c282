// The x86_64 arch descriptor of code injection: user_regs_struct, the syscall calling convention
// (number in rax, arguments in rdi rsi rdx r10 r8 r9), signal frames built by hand so that a
// thread coreshot borrows can put itself back with rt_sigreturn (arch/x86/kernel/signal_64.c
// reads the frame at the stack pointer minus 8), the restart of interrupted calls, and the
// gadgets' instruction bytes. Layouts: struct rt_sigframe, struct ucontext and struct sigcontext
// of the x86_64 uapi headers; the XSAVE area as in a signal frame
// (arch/x86/kernel/fpu/signal.c: check_xstate_in_sigframe).

import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from '../abi/errno.js';
import { NT_PRSTATUS, NT_X86_XSTATE } from '../abi/notes.js';
import { SYSCALLS as SYSCALL_NUMBERS } from '../abi/syscalls.js';
import { FXSAVE_SIZE, XSAVE_XCR0_OFFSET } from '../elf/notes/x86.js';
import { X86_64 as USER_REGS_STRUCT } from '../elf/regs/x86_64.js';
import type { InjectArch, SyscallCall, SyscallName } from './arch.js';

/** System call numbers (arch/x86/entry/syscalls/syscall_64.tbl), as bigints for registers. */
const SYSCALLS = Object.fromEntries(
  Object.entries(SYSCALL_NUMBERS.x86_64).map(([name, nr]) => [name, BigInt(nr)]),
) as Readonly<Record<SyscallName, bigint>>;

const USER_REGS = new Map(USER_REGS_STRUCT.fields.map((f) => [f.name, f.offset]));

/** The offset of register `name` in user_regs_struct (PTRACE_GETREGSET NT_PRSTATUS). */
export function userReg(name: string): number {
  const at = USER_REGS.get(name);
  if (at === undefined) throw new Error(`user_regs_struct has no register ${name}`);
  return at;
}

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
  'rflags',
] as const;

/** sizeof(struct rt_sigframe): pretcode, ucontext (304 bytes), siginfo (128 bytes). */
const SIGFRAME_SIZE = 440;
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
const FPSTATE_ALIGN = 64n;
const FP_XSTATE_MAGIC1 = 0x46505853;
const FP_XSTATE_MAGIC2 = 0x46505845;
/** Offsets in the XSAVE area: the software-reserved bytes of the legacy area, XCR0 in ptrace's. */

/**
 * An rt_sigframe that makes rt_sigreturn load general registers `regs` (a user_regs_struct:
 * every register but the segment bases, which rt_sigreturn leaves alone), blocked-signal mask
 * `sigmask` and, when `state` is not 0, the XSAVE area at that address (else the FPU is reset).
 * `restorer` is the pretcode slot: the address a `ret` pops to reach rt_sigreturn.
 */
function rtSigframe(frame: { restorer: bigint; regs: Buffer; sigmask: bigint; state: bigint }): Buffer {
  const out = Buffer.alloc(SIGFRAME_SIZE);
  out.writeBigUInt64LE(frame.restorer, 0);
  out.writeBigUInt64LE(UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS, UC_FLAGS);
  out.writeInt32LE(SS_FLAGS_UNCHANGED, UC_STACK_FLAGS);
  SIGCONTEXT_REGS.forEach((name, i) => {
    out.writeBigUInt64LE(frame.regs.readBigUInt64LE(userReg(name)), UC_MCONTEXT + i * 8);
  });
  // cs, gs, fs, ss (16 bits each): rt_sigreturn restores cs and ss only.
  out.writeUInt16LE(frame.regs.readUInt16LE(userReg('cs')), SC_SEGMENTS);
  out.writeUInt16LE(frame.regs.readUInt16LE(userReg('ss')), SC_SEGMENTS + 6);
  out.writeBigUInt64LE(frame.state, SC_FPSTATE);
  out.writeBigUInt64LE(frame.sigmask, UC_SIGMASK);
  return out;
}

/**
 * The XSAVE area of a signal frame from the one PTRACE_GETREGSET(NT_X86_XSTATE) returns (the
 * standard, uncompacted format both use): the software bytes that tell rt_sigreturn its size and
 * features instead of ptrace's XCR0 word, and the closing magic number.
 */
function sigframeFpstate(xstate: Buffer): Buffer {
  const out = Buffer.alloc(xstate.length + 4);
  xstate.copy(out);
  const xcr0 = xstate.readBigUInt64LE(XSAVE_XCR0_OFFSET);
  out.fill(0, XSAVE_XCR0_OFFSET, FXSAVE_SIZE);
  out.writeUInt32LE(FP_XSTATE_MAGIC1, XSAVE_XCR0_OFFSET);
  out.writeUInt32LE(xstate.length + 4, XSAVE_XCR0_OFFSET + 4);
  out.writeBigUInt64LE(xcr0, XSAVE_XCR0_OFFSET + 8);
  out.writeUInt32LE(xstate.length, XSAVE_XCR0_OFFSET + 16);
  out.writeUInt32LE(FP_XSTATE_MAGIC2, xstate.length);
  return out;
}

function restartsThroughBlock(regs: Buffer): boolean {
  return (
    regs.readBigInt64LE(userReg('orig_rax')) >= 0n &&
    regs.readBigInt64LE(userReg('rax')) === ERESTART_RESTARTBLOCK
  );
}

/**
 * The registers a thread stopped by PTRACE_INTERRUPT goes on with when it resumes without a
 * signal: an interrupted system call is restarted the way the kernel does it (instruction
 * pointer back onto the `syscall`, its number in rax, or restart_syscall), and orig_rax is -1,
 * as rt_sigreturn leaves it.
 */
function resumeRegisters(regs: Buffer): Buffer {
  const out = Buffer.from(regs);
  const nr = regs.readBigInt64LE(userReg('orig_rax'));
  const rax = regs.readBigInt64LE(userReg('rax'));
  if (nr >= 0n) {
    if (rax === ERESTARTSYS || rax === ERESTARTNOINTR || rax === ERESTARTNOHAND) {
      out.writeBigInt64LE(nr, userReg('rax'));
      out.writeBigUInt64LE(regs.readBigUInt64LE(userReg('rip')) - 2n, userReg('rip'));
    } else if (rax === ERESTART_RESTARTBLOCK) {
      out.writeBigInt64LE(SYSCALLS.restart_syscall, userReg('rax'));
      out.writeBigUInt64LE(regs.readBigUInt64LE(userReg('rip')) - 2n, userReg('rip'));
    }
  }
  out.writeBigInt64LE(-1n, userReg('orig_rax'));
  return out;
}

/** The length of the `syscall` instruction (0f 05). */
const SYSCALL_LENGTH = 2n;

/** In a syscall-entry stop: the call made is `nr` (-1: none), then user mode at rip + `past`. */
function enterInstead(regs: Buffer, nr: bigint, past: bigint) {
  const data = Buffer.from(regs);
  data.writeBigInt64LE(nr, userReg('orig_rax'));
  data.writeBigUInt64LE(regs.readBigUInt64LE(userReg('rip')) + past, userReg('rip'));
  return [{ type: NT_PRSTATUS, data }];
}

/** The syscall calling convention: the registers of the arguments, in order. */
const ARGS = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'] as const;

function syscallRegisters(base: Buffer, call: SyscallCall): Buffer {
  if (call.args.length > ARGS.length) throw new Error(`a system call takes at most ${ARGS.length} arguments`);
  const regs = Buffer.from(base);
  regs.writeBigUInt64LE(call.at, userReg('rip'));
  regs.writeBigUInt64LE(call.sp, userReg('rsp'));
  regs.writeBigUInt64LE(call.nr, userReg('rax'));
  regs.writeBigInt64LE(-1n, userReg('orig_rax'));
  ARGS.forEach((name, i) => {
    regs.writeBigUInt64LE(BigInt.asUintN(64, call.args[i] ?? 0n), userReg(name));
  });
  return regs;
}

/** Whether `code[i..]` is a run of `xor reg, same reg` instructions ending in `ret`. */
function clearsThenReturns(code: Buffer, i: number): boolean {
  for (let n = 0; n < 8 && i < code.length; n++) {
    let op = code[i]!;
    let at = i;
    // REX prefixes whose R and B bits agree (40, 45, 48, 4d) keep `reg == rm` meaningful.
    if (op === 0x40 || op === 0x45 || op === 0x48 || op === 0x4d) op = code[++at]!;
    if (op === 0xc3 && at === i) return true;
    const modrm = code[at + 1];
    if (op !== 0x31 || modrm === undefined || modrm >> 6 !== 3 || ((modrm >> 3) & 7) !== (modrm & 7)) {
      return false;
    }
    i = at + 2;
  }
  return false;
}

export const X86_64: InjectArch = {
  name: 'x86_64',
  generalRegs: NT_PRSTATUS,
  extendedRegs: NT_X86_XSTATE,
  sigreturnNr: SYSCALLS.rt_sigreturn,
  // orig_rax -1: the kernel skips the call and leaves rax as set.
  skipTo: (regs) => enterInstead(regs, -1n, 0n),
  // orig_rax is the call the kernel makes; it returns past the 2-byte `syscall`.
  enterInstead: (regs, nr) => enterInstead(regs, nr, SYSCALL_LENGTH),
  syscalls: SYSCALLS,
  redZone: 128n,
  frameAlign: 16n,
  frameSize: SIGFRAME_SIZE,
  stateAlign: FPSTATE_ALIGN,
  stackPointer: (regs) => regs.readBigUInt64LE(userReg('rsp')),
  syscallRegisters,
  resumeRegisters,
  restartsThroughBlock,
  restartWithoutBlock: (regs) => {
    if (!restartsThroughBlock(regs)) return regs;
    const out = Buffer.from(regs);
    out.writeBigInt64LE(ERESTARTNOINTR, userReg('rax'));
    return out;
  },
  frame: rtSigframe,
  frameState: sigframeFpstate,
  gadgets: {
    syscall: Buffer.from([0x0f, 0x05]), // SYSCALL_LENGTH bytes
    returnsAfter: clearsThenReturns,
    // mov $15, %rax (or %eax); syscall: glibc, musl, Go...
    sigreturn: [
      Buffer.from([0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]),
      Buffer.from([0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]),
    ],
  },
};
