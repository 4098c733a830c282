import { EINVAL } from '../../abi/errno.js';
import { MADV_DOFORK, MADV_DONTFORK, MADV_KEEPONFORK, MADV_WIPEONFORK } from '../../abi/mman.js';
import { ALL_SIGNALS, SIGCHLD } from '../../abi/signals.js';
import { CLONE_PARENT } from '../../abi/syscalls.js';
// The fork snapshot: a copy-on-write copy of the target made by a clone injected into one of its
// held threads (src/inject/ runs the call), so the target can run on while its memory is read.

import type { InjectArch } from '../../inject/arch.js';
import type { Gadgets } from '../../inject/gadgets.js';
import { RemoteThread } from '../../inject/remote.js';
import { SysError } from '../../sys/libc.js';
import type { ProcMem } from '../../sys/mem.js';
import type { ProcMapping } from '../../sys/proc.js';
import { getSigMask, PTRACE_O_EXITKILL, setOptions, waitThread } from '../../sys/ptrace.js';
import { processGone, type SavedState, type TracedProcess } from '../../sys/tracee.js';
import type { ThreadRegisters } from './threads.js';

/**
 * A private area the fork would not copy as it is: MADV_DONTFORK ('dc' in smaps VmFlags: absent
 * from the copy) or MADV_WIPEONFORK ('wf': zero in the copy). Adjacent areas with the same flag
 * may be one range.
 */
export interface ForkFlagArea {
  start: bigint;
  end: bigint;
  flag: 'dc' | 'wf';
}

/** madvise advice that clears a flag for the fork, and the one that sets it back. */
const ADVICE = {
  dc: { clear: BigInt(MADV_DOFORK), restore: BigInt(MADV_DONTFORK) },
  wf: { clear: BigInt(MADV_KEEPONFORK), restore: BigInt(MADV_WIPEONFORK) },
} as const;

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
  /** The ForkFlagAreas the copy holds as they were at the fork (the others failed to clear). */
  frozen: ForkFlagArea[];
  /** How long clearing and restoring the flags held the target, in milliseconds. */
  freezeMs: number;
}

/**
 * Forks the target from its stopped thread `thread` by running clone(CLONE_PARENT | SIGCHLD) in
 * it, with `areas` made fork-copied for the instant of the fork: one chain of calls,
 * madvise(MADV_DOFORK / MADV_KEEPONFORK) on each area, the clone, madvise(MADV_DONTFORK /
 * MADV_WIPEONFORK) on each area, that the thread finishes by itself if coreshot dies anywhere in
 * it (RemoteThread.sequence): the target's flags are back whenever coreshot dies. The thread runs the clone with its stack pointer on its own frame, the copy starts with its
 * stack pointer on a frame of its own (one of RemoteThread's extra frames): both return into the
 * rt_sigreturn trampoline. The thread's frame puts it back where it was; the copy's makes it call
 * exit_group(0) at once. So if coreshot dies at any moment, the target goes on as before and the
 * copy ends by itself (while coreshot lives, the copy never runs: it is auto-attached
 * (PTRACE_O_TRACEFORK), held from its first instruction, set to die with coreshot
 * (PTRACE_O_EXITKILL, on the copy only) and killed after the dump). With CLONE_PARENT the target
 * never gets a child or a SIGCHLD: its parent reaps the copy. For an init process (where
 * CLONE_PARENT is refused) the copy becomes the target's child. Returns why not, when the
 * thread's stack has no room for the frames. `onPhase` marks each step (see fault-points.ts).
 */
export function forkSnapshot(
  tp: TracedProcess,
  arch: InjectArch,
  thread: ThreadRegisters,
  gadgets: Gadgets,
  maps: readonly ProcMapping[],
  mem: ProcMem,
  areas: readonly ForkFlagArea[],
  onPhase: (phase: string) => void,
): Snapshot | string {
  const tid = thread.tid;
  const saved: SavedState = { regs: thread.gpRegs, xstate: thread.xstate, sigmask: getSigMask(tid) };
  const resume = arch.resumeRegisters(saved.regs);
  const exitFrame = (at: bigint) => ({
    restorer: gadgets.sigreturn,
    regs: arch.syscallRegisters(resume, {
      nr: arch.syscalls.exit_group,
      args: [0n],
      at: gadgets.syscallRet,
      sp: at,
      sigreturn: gadgets.sigreturn,
    }),
    sigmask: ALL_SIGNALS,
    state: 0n,
  });
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
  const remote = RemoteThread.open(tp, tid, saved, {
    arch,
    gadgets,
    mem,
    maps,
    extraFrames: [exitFrame],
    sequenceLength: 2 * areas.length + 1,
    traceFork: true,
    onChild,
    onPhase,
  });
  if (typeof remote === 'string') return remote;
  const copyStack = remote.plan.extra[0]!;
  const advise = (a: ForkFlagArea, advice: bigint, phase: string) => ({
    name: 'madvise' as const,
    args: [a.start, a.end - a.start, advice],
    phase,
  });
  const fork = (flags: bigint) =>
    remote.sequence([
      ...areas.map((a) => advise(a, ADVICE[a.flag].clear, 'fork-flag-cleared')),
      { name: 'clone', args: [flags, copyStack, 0n, 0n, 0n] },
      ...areas.map((a) => advise(a, ADVICE[a.flag].restore, 'fork-flag-restored')),
    ]);
  try {
    let sibling = true;
    let results = fork(BigInt(CLONE_PARENT | SIGCHLD));
    let clone = results[areas.length]!.value;
    if (clone instanceof SysError && clone.errno === EINVAL && pid === undefined) {
      sibling = false;
      results = fork(BigInt(SIGCHLD));
      clone = results[areas.length]!.value;
    }
    if (clone instanceof SysError) throw clone;
    // A flag that did not come back (the chain goes on whatever each call returns) is set again
    // here, or the dump fails naming it.
    areas.forEach((a, i) => {
      if (results[areas.length + 1 + i]!.value instanceof SysError) {
        remote.syscall('madvise', a.start, a.end - a.start, ADVICE[a.flag].restore);
      }
    });
    remote.release();
    if (pid === undefined) throw processGone(tp.pid);
    const frozen = areas.filter((_a, i) => !(results[i]!.value instanceof SysError));
    const freezeMs = results.reduce((sum, r, i) => (i === areas.length ? sum : sum + r.ms), 0);
    return {
      pid,
      sibling,
      kill,
      frames: { at: remote.plan.at, original: remote.original },
      frozen,
      freezeMs,
    };
  } catch (err) {
    try {
      remote.release();
    } finally {
      kill();
    }
    throw err;
  }
}
