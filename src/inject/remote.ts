// Remote system calls: a held thread of a traced process made to run system calls coreshot
// chooses (mmap, mprotect, madvise, clone, ...), one after another, and put back as it was. The
// thread's stack gets a signal frame below its red zone that puts the thread back by itself (an
// rt_sigreturn), so whenever coreshot dies the thread goes on as before; sys/tracee.ts drives the
// thread, the arch descriptor (InjectArch) says how registers, frames and gadgets look.

import { SysError } from '../sys/libc.js';
import type { ProcMem } from '../sys/mem.js';
import type { ProcMapping } from '../sys/proc.js';
import type { BorrowedThread, SavedState, TracedProcess } from '../sys/tracee.js';
import type { FrameSpec, InjectArch, SyscallName } from './arch.js';
import type { Gadgets } from './gadgets.js';

/** Return values from -4095 to -1 are errors (-errno), on every Linux architecture. */
const MAX_ERRNO = 4095n;

function alignDown(v: bigint, to: bigint): bigint {
  return v - (v % to);
}

/** The frames of an injection as laid out on the thread's stack. */
export interface FramePlan {
  /** The lowest address: the thread's own frame, where its stack pointer goes. */
  at: bigint;
  /** Everything from `at` up: frames and extended state. */
  bytes: Buffer;
  /** The addresses of the extra frames, in the order asked for. */
  extra: bigint[];
  /** The registers the thread goes on with (what its frame holds). */
  resume: Buffer;
}

/**
 * Lays out frames below the red zone of the thread's stack (memory no code of the thread may
 * rely on, as signal delivery would overwrite it too). From the top: the thread's extended
 * state, the `extra` frames (each built knowing its own address), the thread's frame, which
 * puts it back where it was with its mask and extended state (as it resumes: resumeRegisters).
 */
export function layOutFrames(
  arch: InjectArch,
  saved: SavedState,
  gadgets: Gadgets,
  extra: readonly ((at: bigint) => FrameSpec)[] = [],
): FramePlan {
  const state = arch.frameState(saved.xstate);
  const top = arch.stackPointer(saved.regs) - arch.redZone;
  const stateAt = alignDown(top - BigInt(state.length), arch.stateAlign);
  const size = BigInt(arch.frameSize);
  const extraAt: bigint[] = [];
  let below = stateAt;
  for (let i = 0; i < extra.length; i++) {
    below = alignDown(below - size, arch.frameAlign);
    extraAt.push(below);
  }
  const at = alignDown(below - size, arch.frameAlign);
  const resume = arch.resumeRegisters(saved.regs);
  const bytes = Buffer.alloc(Number(stateAt - at) + state.length);
  const put = (addr: bigint, data: Buffer) => {
    data.copy(bytes, Number(addr - at));
  };
  put(at, arch.frame({ restorer: gadgets.sigreturn, regs: resume, sigmask: saved.sigmask, state: stateAt }));
  extra.forEach((build, i) => {
    put(extraAt[i]!, arch.frame(build(extraAt[i]!)));
  });
  put(stateAt, state);
  return { at, bytes, extra: extraAt, resume };
}

/** Where the injection runs and what it may do (see RemoteThread.open). */
export interface RemoteOptions {
  arch: InjectArch;
  gadgets: Gadgets;
  /** The target's memory, opened writable. */
  mem: ProcMem;
  /** The target's mappings (to check the stack has room). */
  maps: readonly ProcMapping[];
  /** Further frames above the thread's (the fork snapshot's copy starts on one). */
  extraFrames?: readonly ((at: bigint) => FrameSpec)[];
  traceFork?: boolean;
  /** Kill the process if coreshot dies meanwhile (a process coreshot is building). */
  exitKill?: boolean;
  onChild?: (pid: number) => void;
  onPhase?: (phase: string) => void;
}

/**
 * A held thread running system calls for coreshot: `syscall` as many times as needed, then
 * `release`, which puts the thread back as it was (registers, extended state, signal mask,
 * stack bytes). If coreshot dies at any moment, the thread puts itself back.
 */
export class RemoteThread {
  readonly tid: number;
  readonly plan: FramePlan;
  private readonly arch: InjectArch;
  private readonly gadgets: Gadgets;
  private readonly mem: ProcMem;
  private readonly thread: BorrowedThread;
  /** The stack bytes the frames cover, as they were. */
  readonly original: Buffer;
  private released = false;

  private constructor(
    tid: number,
    plan: FramePlan,
    opts: RemoteOptions,
    thread: BorrowedThread,
    original: Buffer,
  ) {
    this.tid = tid;
    this.plan = plan;
    this.arch = opts.arch;
    this.gadgets = opts.gadgets;
    this.mem = opts.mem;
    this.thread = thread;
    this.original = original;
  }

  /**
   * Lends thread `tid` of `tp` (held in an interrupt stop, with state `saved`) to remote system
   * calls: writes its frames on its stack. Returns why not when the stack has no room for them.
   */
  static open(tp: TracedProcess, tid: number, saved: SavedState, opts: RemoteOptions): RemoteThread | string {
    const plan = layOutFrames(opts.arch, saved, opts.gadgets, opts.extraFrames);
    const end = plan.at + BigInt(plan.bytes.length);
    const stack = opts.maps.find((m) => m.start <= plan.at && end <= m.end);
    if (!stack || !stack.perms.startsWith('rw-p')) {
      return `thread ${tid}'s stack pointer is not in a private writable mapping with room below it`;
    }
    const original = opts.mem.read(plan.at, plan.bytes.length);
    if (original.length !== plan.bytes.length) {
      return `thread ${tid}'s stack below its stack pointer cannot be read`;
    }
    const thread = tp.borrow(tid, saved, {
      abi: opts.arch,
      resume: plan.resume,
      traceFork: opts.traceFork,
      exitKill: opts.exitKill,
      onChild: opts.onChild,
      onPhase: opts.onPhase,
    });
    // Written once: rt_sigreturn only reads the frames.
    opts.mem.write(plan.at, plan.bytes);
    opts.onPhase?.('frames-written');
    return new RemoteThread(tid, plan, opts, thread, original);
  }

  /** The child the last fork or clone created (with `traceFork`). */
  get child(): number | undefined {
    return this.thread.child;
  }

  /**
   * Runs system call `name` with `args` in the thread and returns its result; an error return
   * throws SysError naming the call and its errno.
   */
  syscall(name: SyscallName, ...args: bigint[]): bigint {
    const nr = this.arch.syscalls[name];
    const regs = this.arch.syscallRegisters(this.plan.resume, {
      nr,
      args,
      at: this.gadgets.syscallRet,
      sp: this.plan.at,
      sigreturn: this.gadgets.sigreturn,
    });
    const result = this.thread.step(regs, nr);
    if (result === undefined) throw new Error(`${name} injected into thread ${this.tid} did not run`);
    if (result < 0n && result >= -MAX_ERRNO) {
      throw new SysError(`${name} (injected into thread ${this.tid})`, Number(-result));
    }
    return result;
  }

  /**
   * Puts the thread back in its interrupt stop as it was, and the stack bytes under its frames.
   * After a failure the bytes stay: the thread may be running on its frames.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.thread.release();
    this.mem.write(this.plan.at, this.original);
  }
}
