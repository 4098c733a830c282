import { EPERM, ESRCH, SysError } from './libc.js';
import { listThreads } from './proc.js';
import {
  detach,
  getEventMsg,
  getRegSet,
  getSigInfo,
  interrupt,
  isGone,
  PTRACE_EVENT_CLONE,
  PTRACE_EVENT_FORK,
  PTRACE_EVENT_STOP,
  PTRACE_EVENT_VFORK,
  PTRACE_O_TRACEFORK,
  SIGTRAP,
  seize,
  setOptions,
  setRegSet,
  setSigInfo,
  singleStep,
  tgkill,
  type WaitStatus,
  waitThread,
} from './ptrace.js';

const NT_PRSTATUS = 1;

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
    () => singleStep(nobody),
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

/** x86_64 offsets in user_regs_struct. */
const REG = { rax: 80, rip: 128, orig_rax: 120, rdi: 112, rsi: 104, rdx: 96, r10: 56, r8: 72, r9: 64 };

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
   * Runs one system call in stopped thread `tid` by single-stepping a `syscall` instruction found
   * at `at` (no memory is modified), then restores the thread's registers exactly. With
   * `traceFork`, a child the call creates is auto-attached (stopped before its first instruction)
   * and returned. Signals that arrive meanwhile are held and delivered again at detach.
   */
  injectSyscall(
    tid: number,
    at: bigint,
    nr: number,
    args: readonly bigint[],
    opts: { traceFork?: boolean } = {},
  ): { result: bigint; child?: number } {
    const t = this.threads.get(tid);
    if (!t) throw new Error(`thread ${tid} is not held`);
    const saved = getRegSet(tid, NT_PRSTATUS);
    const regs = Buffer.from(saved);
    regs.writeBigUInt64LE(at, REG.rip);
    regs.writeBigUInt64LE(BigInt(nr), REG.rax);
    // orig_rax = -1: the kernel must not apply syscall-restart logic to these registers.
    regs.writeBigInt64LE(-1n, REG.orig_rax);
    const argRegs = [REG.rdi, REG.rsi, REG.rdx, REG.r10, REG.r8, REG.r9];
    args.forEach((v, i) => {
      regs.writeBigUInt64LE(BigInt.asUintN(64, v), argRegs[i]!);
    });
    setRegSet(tid, NT_PRSTATUS, regs);
    if (opts.traceFork) setOptions(tid, PTRACE_O_TRACEFORK);
    let child: number | undefined;
    let result: bigint;
    try {
      singleStep(tid);
      for (;;) {
        const st: WaitStatus | null = waitThread(tid, 10_000);
        if (st === null) throw new Error(`injected system call in thread ${tid} did not return`);
        if (st.kind !== 'stopped') throw processGone(this.pid);
        if (
          st.event === PTRACE_EVENT_FORK ||
          st.event === PTRACE_EVENT_VFORK ||
          st.event === PTRACE_EVENT_CLONE
        ) {
          child = Number(getEventMsg(tid));
        } else if (st.event === PTRACE_EVENT_STOP) {
          // A group stop (SIGSTOP and friends) began meanwhile: send it again at detach.
          if (st.signal !== SIGTRAP) t.extra.push({ signo: st.signal, siginfo: getSigInfoOrEmpty(tid) });
        } else if (st.signal === SIGTRAP) {
          const now = getRegSet(tid, NT_PRSTATUS);
          if (now.readBigUInt64LE(REG.rip) === at + 2n) {
            result = now.readBigInt64LE(REG.rax);
            break;
          }
        } else {
          t.extra.push({ signo: st.signal, siginfo: getSigInfo(tid) });
        }
        singleStep(tid);
      }
    } finally {
      restore(tid, saved, opts.traceFork === true);
    }
    // The thread now sits in the single-step SIGTRAP's signal-delivery-stop.
    t.stop = 'signal';
    return { result, child };
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

/** Puts back the registers (and options) a thread had before an injection; a gone thread is fine. */
function restore(tid: number, regs: Buffer, resetOptions: boolean): void {
  try {
    setRegSet(tid, NT_PRSTATUS, regs);
    if (resetOptions) setOptions(tid, 0);
  } catch (err) {
    if (!isGone(err)) throw err;
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
