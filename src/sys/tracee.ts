import { EPERM, ESRCH } from '../abi/errno.js';
import { NT_PRSTATUS, NT_X86_XSTATE } from '../abi/notes.js';
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

const SYS_rt_sigreturn = 15n;

/** What a thread must get back after running injected code. */
export interface SavedState {
  /** user_regs_struct (PTRACE_GETREGSET NT_PRSTATUS). */
  regs: Buffer;
  /** PTRACE_GETREGSET NT_X86_XSTATE. */
  xstate: Buffer;
  sigmask: bigint;
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
export function warmUp(): void {
  const nobody = 0x7ffffff0;
  const attempts = [
    () => seize(nobody),
    () => interrupt(nobody),
    () => getRegSet(nobody, NT_PRSTATUS, 4096),
    () => setRegSet(nobody, NT_PRSTATUS, Buffer.alloc(8)),
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
   * Lets stopped thread `tid` run code coreshot chose, which ends by putting the thread back
   * itself: an rt_sigreturn through a frame holding the registers it resumes with. So it needs no
   * help if coreshot dies meanwhile. The thread starts from `run.regs` with every signal blocked
   * (the frame restores the mask) and is followed from syscall-stop to syscall-stop (with
   * PTRACE_O_TRACESYSGOOD, a tracer that dies during such a stop leaves no SIGTRAP behind) until
   * it enters its rt_sigreturn. That call is not let run (it would also cancel the restart of an
   * interrupted sleep: restart_block): the thread gets its mask back and registers `run.resume`
   * (what the frame holds) instead, then is stopped again as it was: an interrupt stop with
   * registers, extended state and mask `saved`, so that an interrupted system call is restarted
   * (or not) exactly as it would have been. Returns what the system call `run.nr` returned and,
   * with `traceFork`, the child it created (auto-attached, handed to `onChild` at once).
   * `onPhase` is called at each step (a place for tests to stop coreshot).
   */
  runSelfRestoring(
    tid: number,
    saved: SavedState,
    run: {
      regs: Buffer;
      resume: Buffer;
      nr: bigint;
      traceFork?: boolean;
      onChild?: (pid: number) => void;
      onPhase?: (phase: string) => void;
    },
  ): { result?: bigint; child?: number } {
    const t = this.threads.get(tid);
    if (!t || t.stop !== 'event') throw new Error(`thread ${tid} is not held in an interrupt stop`);
    const phase = run.onPhase ?? (() => {});
    let child: number | undefined;
    let result: bigint | undefined;
    let lastNr = -1n;
    let stopped = true;
    try {
      setRegSet(tid, NT_PRSTATUS, run.regs);
      setSigMask(tid, ALL_SIGNALS);
      setOptions(tid, PTRACE_O_TRACESYSGOOD | (run.traceFork ? PTRACE_O_TRACEFORK : 0));
      phase('registers-set');
      syscallStep(tid);
      stopped = false;
      for (;;) {
        const st: WaitStatus | null = waitThread(tid, 10_000);
        if (st === null) throw new Error(`thread ${tid} did not come back from the injected code`);
        if (st.kind !== 'stopped') throw processGone(this.pid);
        stopped = true;
        if (
          st.event === PTRACE_EVENT_FORK ||
          st.event === PTRACE_EVENT_VFORK ||
          st.event === PTRACE_EVENT_CLONE
        ) {
          child = Number(getEventMsg(tid));
          phase('forked');
          run.onChild?.(child);
        } else if (st.event === PTRACE_EVENT_STOP) {
          // A group stop (SIGSTOP and friends) began meanwhile: send it again at detach.
          if (st.signal !== SIGTRAP) t.extra.push({ signo: st.signal, siginfo: getSigInfoOrEmpty(tid) });
        } else if (st.signal === SIGTRAP_SYSCALL) {
          const info = getSyscallInfo(tid);
          if (info.op === 'entry' && info.nr === SYS_rt_sigreturn) {
            phase('sigreturn-entered');
            // Skipped (orig_rax -1), it returns to `resume`. In this order, the thread is whole
            // after either step if coreshot dies in between.
            setSigMask(tid, saved.sigmask);
            setRegSet(tid, NT_PRSTATUS, run.resume);
            break;
          }
          if (info.op === 'entry') lastNr = info.nr;
          else if (info.op === 'exit' && lastNr === run.nr) {
            if (result === undefined) phase('syscall-returned');
            result = info.rval; // the last one counts: the kernel may restart the call
          }
        } else {
          // Blocking holds back every signal but a fault of the thread's own: the code went wrong.
          throw new Error(`thread ${tid} got signal ${st.signal} while running injected code`);
        }
        syscallStep(tid);
        stopped = false;
      }
    } finally {
      this.putBack(t, saved, stopped);
    }
    return { result, child };
  }

  /**
   * Brings a thread that ran injected code back to an interrupt stop with its `saved` state. A
   * thread that does not stop is left to put itself back when coreshot lets it go.
   */
  private putBack(t: StoppedThread, saved: SavedState, stopped: boolean): void {
    const tid = t.tid;
    try {
      // Interrupt first, then run on with no syscall-stops: any other ptrace stop would clear
      // the pending interrupt. It stops on the way back to user mode, before any user code.
      interrupt(tid);
      if (stopped) cont(tid);
      for (;;) {
        const st = waitThread(tid, 10_000);
        if (st === null) throw new Error(`thread ${tid} did not stop after the injected code`);
        if (st.kind !== 'stopped') throw processGone(this.pid);
        if (st.event === PTRACE_EVENT_STOP && st.signal === SIGTRAP) break;
        if (st.event === PTRACE_EVENT_STOP)
          t.extra.push({ signo: st.signal, siginfo: getSigInfoOrEmpty(tid) });
        syscallStep(tid);
      }
      setRegSet(tid, NT_PRSTATUS, saved.regs);
      if (!getRegSet(tid, NT_X86_XSTATE).equals(saved.xstate)) setRegSet(tid, NT_X86_XSTATE, saved.xstate);
      if (getSigMask(tid) !== saved.sigmask) setSigMask(tid, saved.sigmask);
      setOptions(tid, 0);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
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

function getSigInfoOrEmpty(tid: number): Buffer {
  try {
    return getSigInfo(tid);
  } catch (err) {
    if (isGone(err)) throw err;
    return Buffer.alloc(128);
  }
}
