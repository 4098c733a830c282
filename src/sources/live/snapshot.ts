import { EINVAL } from '../../abi/errno.js';
import { ALL_SIGNALS, SIGCHLD } from '../../abi/signals.js';
import { CLONE_PARENT, SYSCALLS } from '../../abi/syscalls.js';
import { SysError } from '../../sys/libc.js';
import type { ProcMem } from '../../sys/mem.js';
import type { ProcMapping } from '../../sys/proc.js';
import { getSigMask, PTRACE_O_EXITKILL, setOptions, waitThread } from '../../sys/ptrace.js';
import { processGone, type SavedState, type TracedProcess } from '../../sys/tracee.js';
import {
  FPSTATE_ALIGN,
  resumeRegisters,
  rtSigframe,
  SIGFRAME_SIZE,
  sigframeFpstate,
  USER_REGS,
} from './sigframe.js';
import type { ThreadRegisters } from './threads.js';

/** The x86_64 red zone: the 128 bytes below the stack pointer a function may still use. */
const RED_ZONE = 128n;
const NR = SYSCALLS.x86_64;

/** Code of the target's that the injection runs (nothing is written into its text). */
export interface Gadgets {
  /** `syscall`, then nothing but register-clearing xors, then `ret`. */
  syscallRet: bigint;
  /** `mov $15, %rax` (or `%eax`); `syscall`: an rt_sigreturn trampoline (glibc, musl, Go...). */
  sigreturn: bigint;
}

const SYSCALL = Buffer.from([0x0f, 0x05]);
const SIGRETURNS = [
  Buffer.from([0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]),
  Buffer.from([0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]),
];
const CHUNK = 1 << 20;
/** How much executable code to search at most. */
const SEARCH_LIMIT = 64 << 20;

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

/** Finds the injection's gadgets in the target's executable mappings, the vdso's first. */
export function findGadgets(mem: ProcMem, maps: readonly ProcMapping[]): Gadgets | undefined {
  const candidates = [
    ...maps.filter((m) => m.path === '[vdso]'),
    ...maps.filter((m) => m.perms.startsWith('r-x') && m.path !== '[vdso]' && m.path !== '[vsyscall]'),
  ];
  let syscallRet: bigint | undefined;
  let sigreturn: bigint | undefined;
  let budget = SEARCH_LIMIT;
  for (const m of candidates) {
    for (let at = m.start; at < m.end && budget > 0; at += BigInt(CHUNK)) {
      // Overlap the chunks by 16 bytes so that no gadget is cut in two.
      const len = Math.min(CHUNK + 16, Number(m.end - at));
      const code = mem.read(at, len);
      budget -= code.length;
      for (
        let i = code.indexOf(SYSCALL);
        syscallRet === undefined && i >= 0;
        i = code.indexOf(SYSCALL, i + 1)
      ) {
        if (clearsThenReturns(code, i + 2)) syscallRet = at + BigInt(i);
      }
      for (const pattern of SIGRETURNS) {
        const i = code.indexOf(pattern);
        if (sigreturn === undefined && i >= 0) sigreturn = at + BigInt(i);
      }
      if (syscallRet !== undefined && sigreturn !== undefined) return { syscallRet, sigreturn };
    }
  }
  return undefined;
}

/** A copy-on-write copy of the target made by a fork injected into it. */
export interface Snapshot {
  pid: number;
  /** Whether the copy is a sibling of the target (CLONE_PARENT) rather than its child. */
  sibling: boolean;
  /** SIGKILLs the copy and collects its exit. */
  kill(): void;
  /**
   * The stack bytes the injection's frames covered, as they were: already put back in the
   * target, to be put back in the copy (which is held, so that can wait until the target runs).
   */
  frames: { at: bigint; original: Buffer };
}

function alignDown(v: bigint, to: bigint): bigint {
  return v - (v % to);
}

/**
 * The injection, laid out below the red zone of the thread's stack (memory no code of the thread
 * may rely on, as signal delivery would overwrite it too). From the top: the thread's XSAVE area,
 * the copy's frame, the thread's frame. The thread runs `clone` at the `syscall; ret` gadget with
 * its stack pointer on its frame, the copy starts with its stack pointer on its own frame: both
 * `ret` into the rt_sigreturn trampoline. The thread's frame puts it back where it was (as it
 * resumes: see resumeRegisters); the copy's makes it call exit_group(0) at once. So if coreshot
 * dies at any moment, the target goes on as before and the copy ends by itself (while coreshot
 * lives, the copy never runs: it is held from its first instruction and killed after the dump).
 * `regs` runs the clone but for its flags (rdi), set by the caller.
 */
function layOut(saved: SavedState, gadgets: Gadgets) {
  const fpstate = sigframeFpstate(saved.xstate);
  const top = saved.regs.readBigUInt64LE(USER_REGS.rsp) - RED_ZONE;
  const fpAt = alignDown(top - BigInt(fpstate.length), FPSTATE_ALIGN);
  const copyFrameAt = alignDown(fpAt - BigInt(SIGFRAME_SIZE), 16n);
  const frameAt = alignDown(copyFrameAt - BigInt(SIGFRAME_SIZE), 16n);
  const resume = resumeRegisters(saved.regs);

  const exit = Buffer.from(resume);
  exit.writeBigUInt64LE(gadgets.syscallRet, USER_REGS.rip);
  exit.writeBigUInt64LE(BigInt(NR.exit_group), USER_REGS.rax);
  exit.writeBigUInt64LE(0n, USER_REGS.rdi);
  exit.writeBigUInt64LE(copyFrameAt, USER_REGS.rsp);
  const frame = rtSigframe({
    restorer: gadgets.sigreturn,
    regs: resume,
    sigmask: saved.sigmask,
    fpstate: fpAt,
  });
  const copyFrame = rtSigframe({
    restorer: gadgets.sigreturn,
    regs: exit,
    sigmask: ALL_SIGNALS,
    fpstate: 0n,
  });
  const bytes = Buffer.alloc(Number(fpAt - frameAt) + fpstate.length);
  frame.copy(bytes, 0);
  copyFrame.copy(bytes, Number(copyFrameAt - frameAt));
  fpstate.copy(bytes, Number(fpAt - frameAt));

  const regs = Buffer.from(resume);
  regs.writeBigUInt64LE(gadgets.syscallRet, USER_REGS.rip);
  regs.writeBigUInt64LE(BigInt(NR.clone), USER_REGS.rax);
  regs.writeBigUInt64LE(copyFrameAt, USER_REGS.rsi); // the copy's stack pointer
  regs.writeBigUInt64LE(0n, USER_REGS.rdx);
  regs.writeBigUInt64LE(0n, USER_REGS.r10);
  regs.writeBigUInt64LE(0n, USER_REGS.r8);
  regs.writeBigUInt64LE(frameAt, USER_REGS.rsp);
  return { at: frameAt, bytes, regs, resume };
}

/**
 * Forks the target from its stopped thread `tid` by running clone(CLONE_PARENT | SIGCHLD) in it
 * (see layOut: the thread and the copy are safe whenever coreshot dies). The copy is auto-attached
 * (PTRACE_O_TRACEFORK), stopped before its first instruction and set to die with coreshot
 * (PTRACE_O_EXITKILL, on the copy only). With CLONE_PARENT the target never gets a child or a
 * SIGCHLD: its parent reaps the copy. For an init process (where CLONE_PARENT is refused) the copy
 * becomes the target's child. Returns why not, when the thread's stack has no room for the frames.
 * `onPhase` marks each step (CORESHOT_TEST_HOLD stops coreshot there, for the tests).
 */
export function forkSnapshot(
  tp: TracedProcess,
  thread: ThreadRegisters,
  gadgets: Gadgets,
  maps: readonly ProcMapping[],
  mem: ProcMem,
  onPhase: (phase: string) => void,
): Snapshot | string {
  const tid = thread.tid;
  const saved: SavedState = { regs: thread.gpRegs, xstate: thread.xstate, sigmask: getSigMask(tid) };
  const plan = layOut(saved, gadgets);
  const end = plan.at + BigInt(plan.bytes.length);
  const stack = maps.find((m) => m.start <= plan.at && end <= m.end);
  if (!stack || !stack.perms.startsWith('rw-p')) {
    return `thread ${tid}'s stack pointer is not in a private writable mapping with room below it`;
  }
  const original = mem.read(plan.at, plan.bytes.length);
  if (original.length !== plan.bytes.length) {
    return `thread ${tid}'s stack below its stack pointer cannot be read`;
  }
  let pid: number | undefined;
  let alive = false;
  const kill = () => {
    if (!alive || pid === undefined) return;
    alive = false;
    const copy = pid;
    try {
      process.kill(copy, 'SIGKILL');
    } catch {
      return;
    }
    // Collect the exit as its tracer, so it is handed on to its parent for reaping. Tearing down
    // a large copy takes a while: poll in the background without keeping the process alive (if
    // coreshot exits first, the kernel hands the copy to its parent just the same).
    const until = Date.now() + 30_000;
    const collect = () => {
      try {
        const st = waitThread(copy, 0);
        if (st !== null && st.kind !== 'stopped') return;
      } catch {
        return; // already collected
      }
      if (Date.now() < until) setTimeout(collect, 10).unref();
    };
    collect();
  };
  const onChild = (child: number) => {
    pid = child;
    alive = true;
    const st = waitThread(child, 5000);
    if (st === null || st.kind !== 'stopped') throw new Error(`the snapshot copy ${child} did not start`);
    setOptions(child, PTRACE_O_EXITKILL);
  };
  const run = (flags: bigint) => {
    plan.regs.writeBigUInt64LE(flags, USER_REGS.rdi);
    const opts = {
      regs: plan.regs,
      resume: plan.resume,
      nr: BigInt(NR.clone),
      traceFork: true,
      onChild,
      onPhase,
    };
    return tp.runSelfRestoring(tid, saved, opts).result;
  };
  try {
    // Written once: rt_sigreturn only reads the frames, and a failed clone leaves them as they are.
    mem.write(plan.at, plan.bytes);
    onPhase('frames-written');
    let sibling = true;
    let result = run(BigInt(CLONE_PARENT | SIGCHLD));
    if (result === BigInt(-EINVAL) && pid === undefined) {
      sibling = false;
      result = run(BigInt(SIGCHLD));
    }
    if (result === undefined) throw new Error(`the fork injected into thread ${tid} did not run`);
    if (result < 0n) throw new SysError('clone (injected into the target)', Number(-result));
    if (pid === undefined) throw processGone(tp.pid);
    // The frames lie in dead stack, but leave the bytes as they were (the thread is held again
    // in its interrupt stop). After a failure they stay: the thread may be running.
    mem.write(plan.at, original);
    return { pid, sibling, kill, frames: { at: plan.at, original } };
  } catch (err) {
    kill();
    throw err;
  }
}
