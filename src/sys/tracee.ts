import { EPERM, ESRCH } from '../abi/errno.js';
import { ALL_SIGNALS, SIGTRAP } from '../abi/signals.js';
import { SysError } from './libc.js';
import { listThreads } from './proc.js';
import {
  cont,
  detach,
  getEventMsg,
  getRegSet,
  getSigInfo,
  getSigMask,
  getSyscallInfo,
  interrupt,
  isGone,
  PTRACE_EVENT_CLONE,
  PTRACE_EVENT_FORK,
  PTRACE_EVENT_STOP,
  PTRACE_EVENT_VFORK,
  PTRACE_O_EXITKILL,
  PTRACE_O_TRACECLONE,
  PTRACE_O_TRACEFORK,
  PTRACE_O_TRACESYSGOOD,
  SIGTRAP_SYSCALL,
  seize,
  setOptions,
  setRegSet,
  setSigInfo,
  setSigMask,
  syscallStep,
  tgkill,
  type WaitStatus,
  waitThread,
} from './ptrace.js';

/**
 * What running system calls in a thread needs to know of its architecture; src/inject/ fills it
 * in (sys/ knows no register layout).
 */
export interface SyscallAbi {
  /** The regset of the general registers (NT_PRSTATUS). */
  generalRegs: number;
  /** The regset of the extended (FPU, vector) state, put back after injected code. */
  extendedRegs: number;
  /** rt_sigreturn's number: a borrowed thread is held when it enters this call. */
  sigreturnNr: bigint;
  /**
   * The regset writes that, in a syscall-entry stop, skip the call: the thread returns to user
   * mode with general registers `regs`.
   */
  skipTo(regs: Buffer): { type: number; data: Buffer }[];
  /**
   * The regset writes that, in a syscall-entry stop, make the thread make system call `nr`
   * instead, with the arguments of `regs` (registers that run `nr` at a system call
   * instruction), and return to user mode just past that instruction: as if it had run it.
   */
  enterInstead(regs: Buffer, nr: bigint): { type: number; data: Buffer }[];
}

/** What a thread must get back after running injected code. */
export interface SavedState {
  /** The general registers (PTRACE_GETREGSET abi.generalRegs). */
  regs: Buffer;
  /** The extended state (PTRACE_GETREGSET abi.extendedRegs). */
  xstate: Buffer;
  sigmask: bigint;
}

/** How a thread is lent to injected code (TracedProcess.borrow). */
export interface BorrowOptions {
  abi: SyscallAbi;
  /** The general registers the thread goes on with: what its frame on the stack holds. */
  resume: Buffer;
  /** Follow fork/clone (PTRACE_O_TRACEFORK): the child is auto-attached and handed to `onChild`. */
  traceFork?: boolean;
  /** Follow new threads (PTRACE_O_TRACECLONE) the same way. */
  traceClone?: boolean;
  /** Kill the process if coreshot dies while it runs injected code (PTRACE_O_EXITKILL). */
  exitKill?: boolean;
  onChild?: (pid: number) => void;
  /** Called at each step (a place for tests to stop coreshot: see src/fault-points.ts). */
  onPhase?: (phase: string) => void;
}

/** A signal that arrived while coreshot held a thread, to be delivered again at detach. */
export interface HeldSignal {
  signo: number;
  siginfo: Buffer;
}

/** One seized thread, stopped. */
export interface StoppedThread {
  tid: number;
  /** 'event': PTRACE_EVENT_STOP (our interrupt or a group stop); 'signal': signal-delivery-stop. */
  stop: 'event' | 'signal';
  /** The signal of the stop (SIGTRAP for our interrupt). */
  stopSignal: number;
  /** siginfo of the stop, as PTRACE_GETSIGINFO returned it when the thread stopped. */
  siginfo: Buffer;
  /** The signal this thread was stopped for (signal-delivery-stop), delivered again at detach. */
  deliver?: HeldSignal;
  /** Further signals intercepted while injecting, re-sent at detach. */
  extra: HeldSignal[];
}

/** Thrown when the process disappears while coreshot holds it. */
export function processGone(pid: number): SysError {
  return new SysError('ptrace', ESRCH, `(process ${pid} exited)`);
}

/**
 * Loads libc and runs every ptrace path once against no process, so the first real calls (made
 * while the target is stopped) do not pay for FFI set-up and JIT warm-up.
 */
export function warmUp(abi: SyscallAbi): void {
  const nobody = 0x7ffffff0;
  const attempts = [
    () => seize(nobody),
    () => interrupt(nobody),
    () => getRegSet(nobody, abi.generalRegs, 4096),
    () => setRegSet(nobody, abi.generalRegs, Buffer.alloc(8)),
    () => getSigInfo(nobody),
    () => setSigInfo(nobody, Buffer.alloc(128)),
    () => syscallStep(nobody),
    () => cont(nobody),
    () => getSigMask(nobody),
    () => setSigMask(nobody, 0n),
    () => getSyscallInfo(nobody),
    () => setOptions(nobody, 0),
    () => getEventMsg(nobody),
    () => detach(nobody),
    () => waitThread(nobody, 0),
  ];
  for (let i = 0; i < 3; i++) {
    for (const f of attempts) {
      try {
        f();
      } catch {
        // expected: no such process
      }
    }
  }
}

/**
 * A process whose threads are all seized and stopped (PTRACE_SEIZE + PTRACE_INTERRUPT, repeated
 * until no new thread appears). `detach()` lets every thread continue exactly where it was.
 */
export class TracedProcess {
  readonly pid: number;
  readonly threads = new Map<number, StoppedThread>();
  private detached = false;

  private constructor(pid: number) {
    this.pid = pid;
  }

  static seize(pid: number, timeoutMs = 5000): TracedProcess {
    const tp = new TracedProcess(pid);
    const seized: number[] = [];
    const gone = new Set<number>();
    try {
      // A seized thread can still clone before its interrupt stop: list again once all are
      // stopped, until no new thread shows up.
      for (;;) {
        const fresh = listThreads(pid).filter((t) => !gone.has(t) && !seized.includes(t));
        if (fresh.length === 0) break;
        const started: number[] = [];
        for (const tid of fresh) {
          try {
            seize(tid);
          } catch (err) {
            // An exiting thread refuses with EPERM (it has an exit state): once the main thread
            // is seized, that means it is going away, not a permission problem.
            const exiting = tid !== pid && err instanceof SysError && err.errno === EPERM;
            if (!isGone(err) && !exiting) throw err;
            gone.add(tid);
            continue;
          }
          seized.push(tid);
          started.push(tid);
          try {
            interrupt(tid);
          } catch (err) {
            if (!isGone(err)) throw err;
          }
        }
        for (const tid of started) {
          const t = tp.waitStop(tid, timeoutMs);
          if (t) tp.threads.set(tid, t);
          else gone.add(tid);
        }
      }
      if (tp.threads.size === 0) throw processGone(pid);
    } catch (err) {
      for (const tid of seized) {
        try {
          detach(tid);
        } catch {
          // gone or not stopped: the kernel detaches it when we exit anyway
        }
      }
      throw err;
    }
    return tp;
  }

  /**
   * A process a traced one forked (auto-attached by PTRACE_O_TRACEFORK, with the tracer's
   * options): waits for its first stop and holds its one thread.
   */
  static adoptForked(pid: number, timeoutMs = 10_000): TracedProcess {
    const tp = new TracedProcess(pid);
    tp.adopt(pid, timeoutMs);
    return tp;
  }

  /**
   * Takes in a thread that joined the process while it was traced (auto-attached by
   * PTRACE_O_TRACECLONE): waits for its first stop and holds it like the others.
   */
  adopt(tid: number, timeoutMs = 10_000): void {
    const t = this.waitStop(tid, timeoutMs);
    if (!t) throw processGone(this.pid);
    this.threads.set(tid, t);
  }

  private waitStop(tid: number, timeoutMs: number): StoppedThread | undefined {
    const st = waitThread(tid, timeoutMs);
    if (st === null)
      throw new Error(`thread ${tid} of process ${this.pid} did not stop within ${timeoutMs} ms`);
    if (st.kind !== 'stopped') return undefined;
    const siginfo = getSigInfoOrEmpty(tid);
    if (st.event === PTRACE_EVENT_STOP) {
      return { tid, stop: 'event', stopSignal: st.signal, siginfo, extra: [] };
    }
    return {
      tid,
      stop: 'signal',
      stopSignal: st.signal,
      siginfo,
      deliver: { signo: st.signal, siginfo },
      extra: [],
    };
  }

  /**
   * Lends stopped thread `tid` to code coreshot chose, which ends by putting the thread back
   * itself: an rt_sigreturn through a frame holding the registers it resumes with (`opts.resume`).
   * So it needs no help if coreshot dies meanwhile. Each `step` of the returned thread runs one
   * system call and holds the thread again as it enters that rt_sigreturn; `release` puts it back
   * (see BorrowedThread). Only one borrower at a time per thread.
   */
  borrow(tid: number, saved: SavedState, opts: BorrowOptions): BorrowedThread {
    const t = this.threads.get(tid);
    if (!t || t.stop !== 'event') throw new Error(`thread ${tid} is not held in an interrupt stop`);
    return new BorrowedThread(this.pid, t, saved, opts);
  }

  /**
   * Runs one system call `run.nr` from registers `run.regs` in stopped thread `tid` and puts the
   * thread back (borrow, one step, release). Returns what the call returned and, with
   * `traceFork`, the child it created.
   */
  runSelfRestoring(
    tid: number,
    saved: SavedState,
    run: BorrowOptions & { regs: Buffer; nr: bigint },
  ): { result?: bigint; child?: number } {
    const thread = this.borrow(tid, saved, run);
    let result: bigint | undefined;
    try {
      result = thread.step(run.regs, run.nr);
    } finally {
      thread.release();
    }
    return { result, child: thread.child };
  }

  /** Lets every thread go: re-delivers held signals, restarts interrupted system calls. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    for (const t of this.threads.values()) {
      try {
        let sig = 0;
        if (t.deliver && t.stop === 'signal') {
          setSigInfo(t.tid, t.deliver.siginfo);
          sig = t.deliver.signo;
        } else if (t.deliver) {
          t.extra.unshift(t.deliver);
        }
        detach(t.tid, sig);
        for (const s of t.extra) tgkill(this.pid, t.tid, s.signo);
      } catch (err) {
        if (!isGone(err)) throw err;
      }
    }
  }
}

/**
 * A held thread lent to injected code. It starts from registers coreshot sets with every signal
 * blocked (its frame restores the mask) and is followed from syscall-stop to syscall-stop (with
 * PTRACE_O_TRACESYSGOOD, a tracer that dies during such a stop leaves no SIGTRAP behind) until it
 * enters rt_sigreturn. That call is not let run (it would also cancel the restart of an
 * interrupted sleep: restart_block): the thread is held there. The next `step` turns that entry
 * into the next system call (two stops per call: its entry, then its exit), and `release` skips
 * it into the registers the frame holds with the thread's mask back, then stops the thread again
 * as it was: an interrupt stop with registers, extended state and mask `saved`, so that an
 * interrupted system call is restarted (or not) exactly as it would have been.
 */
export class BorrowedThread {
  readonly tid: number;
  /** The child a system call created (with `traceFork`). */
  child?: number;
  private readonly pid: number;
  private readonly held: StoppedThread;
  private readonly saved: SavedState;
  private readonly opts: BorrowOptions;
  /**
   * fresh: still in its interrupt stop, untouched; sigreturn: held entering rt_sigreturn;
   * stopped: in another ptrace stop; running: let go until its next stop.
   */
  private at: 'fresh' | 'sigreturn' | 'stopped' | 'running' | 'released' = 'fresh';

  constructor(pid: number, held: StoppedThread, saved: SavedState, opts: BorrowOptions) {
    this.pid = pid;
    this.tid = held.tid;
    this.held = held;
    this.saved = saved;
    this.opts = opts;
  }

  private phase(name: string): void {
    this.opts.onPhase?.(name);
  }

  /**
   * Runs the thread from general registers `regs` (which run system call `nr` and return into
   * the rt_sigreturn of the thread's frame) until it enters that rt_sigreturn. Returns what
   * `nr` returned (undefined if it never ran).
   */
  step(regs: Buffer, nr: bigint): bigint | undefined {
    const { tid, opts } = this;
    const abi = opts.abi;
    let result: bigint | undefined;
    let lastNr = -1n;
    if (this.at === 'fresh') {
      // Registers first: a thread left with them puts its mask back itself.
      setRegSet(tid, abi.generalRegs, regs);
      setSigMask(tid, ALL_SIGNALS);
      setOptions(
        tid,
        PTRACE_O_TRACESYSGOOD |
          (opts.traceFork ? PTRACE_O_TRACEFORK : 0) |
          (opts.traceClone ? PTRACE_O_TRACECLONE : 0) |
          (opts.exitKill ? PTRACE_O_EXITKILL : 0),
      );
      this.phase('registers-set');
    } else if (this.at === 'sigreturn') {
      // The entry becomes the call; the thread goes on past the gadget's system call instruction.
      for (const w of abi.enterInstead(regs, nr)) setRegSet(tid, w.type, w.data);
      lastNr = nr;
    } else {
      throw new Error(`thread ${tid} is not held between injected system calls`);
    }
    syscallStep(tid);
    this.at = 'running';
    for (;;) {
      const st: WaitStatus | null = waitThread(tid, 10_000);
      if (st === null) throw new Error(`thread ${tid} did not come back from the injected code`);
      if (st.kind !== 'stopped') throw processGone(this.pid);
      this.at = 'stopped';
      if (
        st.event === PTRACE_EVENT_FORK ||
        st.event === PTRACE_EVENT_VFORK ||
        st.event === PTRACE_EVENT_CLONE
      ) {
        this.child = Number(getEventMsg(tid));
        this.phase('forked');
        opts.onChild?.(this.child);
      } else if (st.event === PTRACE_EVENT_STOP) {
        // A group stop (SIGSTOP and friends) began meanwhile: send it again at detach.
        if (st.signal !== SIGTRAP)
          this.held.extra.push({ signo: st.signal, siginfo: getSigInfoOrEmpty(tid) });
      } else if (st.signal === SIGTRAP_SYSCALL) {
        const info = getSyscallInfo(tid);
        if (info.op === 'entry' && info.nr === abi.sigreturnNr) {
          this.at = 'sigreturn';
          this.phase('sigreturn-entered');
          return result;
        }
        if (info.op === 'entry') lastNr = info.nr;
        else if (info.op === 'exit' && lastNr === nr) {
          if (result === undefined) this.phase('syscall-returned');
          result = info.rval; // the last one counts: the kernel may restart the call
        }
      } else {
        // Blocking holds back every signal but a fault of the thread's own: the code went wrong.
        throw new Error(`thread ${tid} got signal ${st.signal} while running injected code`);
      }
      syscallStep(tid);
      this.at = 'running';
    }
  }

  /**
   * Puts the thread back in its interrupt stop with its saved state (or, for a thread coreshot
   * built, `instead`: the state it is to go on with). A thread that does not stop is left to put
   * itself back when coreshot lets it go.
   */
  release(instead?: { saved: SavedState; resume: Buffer }): void {
    const at = this.at;
    this.at = 'released';
    if (at === 'released') return;
    if (at === 'fresh') {
      // Still in its interrupt stop: only a new state needs setting.
      if (instead) this.putState(instead.saved);
      return;
    }
    const tid = this.tid;
    const saved = instead?.saved ?? this.saved;
    const resume = instead?.resume ?? this.opts.resume;
    const abi = this.opts.abi;
    try {
      if (at === 'sigreturn') {
        // Skipped, rt_sigreturn returns to `resume`. In this order, the thread is whole after
        // either step if coreshot dies in between.
        setSigMask(tid, saved.sigmask);
        for (const w of abi.skipTo(resume)) setRegSet(tid, w.type, w.data);
      }
      // Interrupt first, then run on with no syscall-stops: any other ptrace stop would clear
      // the pending interrupt. It stops on the way back to user mode, before any user code.
      interrupt(tid);
      if (at !== 'running') cont(tid);
      for (;;) {
        const st = waitThread(tid, 10_000);
        if (st === null) throw new Error(`thread ${tid} did not stop after the injected code`);
        if (st.kind !== 'stopped') throw processGone(this.pid);
        if (st.event === PTRACE_EVENT_STOP && st.signal === SIGTRAP) break;
        if (st.event === PTRACE_EVENT_STOP)
          this.held.extra.push({ signo: st.signal, siginfo: getSigInfoOrEmpty(tid) });
        syscallStep(tid);
      }
      this.putState(saved);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  /** Sets the state of the thread, held in its interrupt stop, and stops following its calls. */
  private putState(saved: SavedState): void {
    const { tid } = this;
    const abi = this.opts.abi;
    setRegSet(tid, abi.generalRegs, saved.regs);
    if (!getRegSet(tid, abi.extendedRegs).equals(saved.xstate))
      setRegSet(tid, abi.extendedRegs, saved.xstate);
    if (getSigMask(tid) !== saved.sigmask) setSigMask(tid, saved.sigmask);
    // A process coreshot builds stays bound to coreshot's life until it is let go.
    setOptions(tid, this.opts.exitKill ? PTRACE_O_EXITKILL : 0);
  }
}

function getSigInfoOrEmpty(tid: number): Buffer {
  try {
    return getSigInfo(tid);
  } catch (err) {
    if (isGone(err)) throw err;
    return Buffer.alloc(128);
  }
}
