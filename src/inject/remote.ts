// Remote system calls: a held thread of a traced process made to run system calls coreshot
// chooses (mmap, mprotect, madvise, clone, ...), one after another, and put back as it was. The
// thread's stack gets a signal frame below its red zone that puts the thread back by itself (an
// rt_sigreturn), so whenever coreshot dies the thread goes on as before; sys/tracee.ts drives the
// thread, the arch descriptor (InjectArch) says how registers, frames and gadgets look.

import { ALL_SIGNALS } from '../abi/signals.js';
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
  /** Room for the frames of a sequence of calls (RemoteThread.sequence), written when it runs. */
  slots: bigint[];
  /** The registers the thread goes on with (what its frame holds). */
  resume: Buffer;
}

/**
 * Lays out frames below the red zone of the thread's stack (memory no code of the thread may
 * rely on, as signal delivery would overwrite it too). From the top: the thread's extended
 * state, the `extra` frames (each built knowing its own address), `slots` empty frames, the
 * thread's frame, which puts it back where it was with its mask and extended state (as it
 * resumes: resumeRegisters).
 */
export function layOutFrames(
  arch: InjectArch,
  saved: SavedState,
  gadgets: Gadgets,
  extra: readonly ((at: bigint) => FrameSpec)[] = [],
  slots = 0,
): FramePlan {
  const state = arch.frameState(saved.xstate);
  const top = arch.stackPointer(saved.regs) - arch.redZone;
  const stateAt = alignDown(top - BigInt(state.length), arch.stateAlign);
  const size = BigInt(arch.frameSize);
  let below = stateAt;
  const place = (n: number) =>
    Array.from({ length: n }, () => {
      below = alignDown(below - size, arch.frameAlign);
      return below;
    });
  const extraAt = place(extra.length);
  const slotAt = place(slots);
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
  return { at, bytes, extra: extraAt, slots: slotAt, resume };
}

/** One call of a sequence, and the phase to mark once it returned (see fault-points.ts). */
export interface RemoteCall {
  name: SyscallName;
  args: readonly bigint[];
  phase?: string;
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
  /** The most calls a `sequence` will have (each but the last needs a frame). */
  sequenceLength?: number;
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
  private readonly onPhase?: (phase: string) => void;
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
    this.onPhase = opts.onPhase;
  }

  /**
   * Lends thread `tid` of `tp` (held in an interrupt stop, with state `saved`) to remote system
   * calls: writes its frames on its stack. Returns why not when the stack has no room for them.
   */
  static open(tp: TracedProcess, tid: number, saved: SavedState, opts: RemoteOptions): RemoteThread | string {
    const slots = Math.max(0, (opts.sequenceLength ?? 1) - 1);
    const plan = layOutFrames(opts.arch, saved, opts.gadgets, opts.extraFrames, slots);
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

  /** The registers that run `name(args)` with the stack pointer on the frame at `sp`. */
  private registers(name: SyscallName, args: readonly bigint[], sp: bigint): Buffer {
    return this.arch.syscallRegisters(this.plan.resume, {
      nr: this.arch.syscalls[name],
      args,
      at: this.gadgets.syscallRet,
      sp,
      sigreturn: this.gadgets.sigreturn,
    });
  }

  /** Runs one prepared call; an error return becomes a SysError naming the call. */
  private step(name: SyscallName, regs: Buffer): bigint | SysError {
    const result = this.thread.step(regs, this.arch.syscalls[name]);
    if (result === undefined) throw new Error(`${name} injected into thread ${this.tid} did not run`);
    if (result < 0n && result >= -MAX_ERRNO) {
      return new SysError(`${name} (injected into thread ${this.tid})`, Number(-result));
    }
    return result;
  }

  /**
   * Runs system call `name` with `args` in the thread and returns its result; an error return
   * throws SysError naming the call and its errno.
   */
  syscall(name: SyscallName, ...args: bigint[]): bigint {
    const result = this.step(name, this.registers(name, args, this.plan.at));
    if (result instanceof SysError) throw result;
    return result;
  }

  /**
   * Runs `calls` one after the other as one chain the thread would finish by itself: each call
   * returns into an rt_sigreturn through a frame holding the next call, the last one into the
   * thread's own frame. So if coreshot dies anywhere in between, the thread still makes the
   * remaining calls and puts itself back (which is what makes "change, fork, change back"
   * self-restoring). While coreshot lives, each rt_sigreturn is skipped into the same registers
   * (see BorrowedThread). Returns each call's result, errors as SysError values, and how long
   * it took.
   */
  sequence(calls: readonly RemoteCall[]): { value: bigint | SysError; ms: number }[] {
    const { plan, arch, gadgets } = this;
    if (calls.length - 1 > plan.slots.length) {
      throw new Error(`a sequence of ${calls.length} calls needs sequenceLength ${calls.length}`);
    }
    const sp = (i: number) => (i < calls.length - 1 ? plan.slots[i]! : plan.at);
    const regs = calls.map((c, i) => this.registers(c.name, c.args, sp(i)));
    // The frame at slot i starts call i + 1. The FPU state is reset by such a frame (state 0),
    // and put back by the thread's own.
    for (let i = 0; i + 1 < calls.length; i++) {
      this.mem.write(
        plan.slots[i]!,
        arch.frame({ restorer: gadgets.sigreturn, regs: regs[i + 1]!, sigmask: ALL_SIGNALS, state: 0n }),
      );
    }
    return calls.map((c, i) => {
      const t0 = performance.now();
      const value = this.step(c.name, regs[i]!);
      const ms = performance.now() - t0;
      if (c.phase) this.onPhase?.(c.phase);
      return { value, ms };
    });
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
