// The process state a restore needs that an ELF core does not carry, recorded while the target
// is held, as CORESHOT notes (elf/notes/coreshot.ts): open files and the working directory, mm
// bounds and rlimits from /proc; signal dispositions, brk, and per thread its sigaltstack,
// clear-child-tid address and robust list through system calls injected into the thread
// (inject/remote.ts: each thread put back as it was); rseq through ptrace.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { AT_FDCWD } from '../../abi/fcntl.js';
import { NT_CORESHOT_FD, NT_CORESHOT_PROCESS, NT_CORESHOT_THREAD } from '../../abi/notes.js';
import { PR_GET_TID_ADDRESS } from '../../abi/prctl.js';
import { RLIM_INFINITY, RLIMIT_NAMES } from '../../abi/resource.js';
import { SIGCHLD, SIGTRAP } from '../../abi/signals.js';
import {
  CORESHOT_OWNER,
  encodeCoreshotFd,
  encodeCoreshotProcess,
  encodeCoreshotThread,
  NSIG,
  type RecordedFile,
  type RecordedProcess,
  type RecordedThread,
  type Sigaction,
} from '../../elf/notes/coreshot.js';
import { findGadgets, type Gadgets } from '../../inject/gadgets.js';
import { RemoteThread } from '../../inject/remote.js';
import { X86_64 } from '../../inject/x86_64.js';
import { ARCHES, type RawNote, type RegSet, type ThreadState } from '../../model/process-image.js';
import { ProcMem } from '../../sys/mem.js';
import { type ProcMapping, readMaps, readProc, readStat, readStatus } from '../../sys/proc.js';
import { getRseqConfig, getSigMask, isGone } from '../../sys/ptrace.js';
import type { TracedProcess } from '../../sys/tracee.js';
import type { ThreadRegisters } from './threads.js';

/** What was recorded: notes for the image and per-thread notes, and what could not be. */
export interface RecordedNotes {
  notes: RawNote[];
  /** By thread id: its NT_CORESHOT_THREAD register set. */
  threads: Map<number, RegSet>;
  /** What could not be recorded, in a few words each. */
  missing: string[];
  /** The process exited meanwhile (the capture fails: its memory is gone too). */
  gone?: boolean;
}

/** The handler value of an ignored signal. */
const SIG_IGN = 1n;

/** Where the injected calls write their results, below the thread's frames: the layout. */
const OUT = { stack: 0, tidAddress: 24, robustHead: 32, robustLen: 40, sigactions: 64, size: 64 + NSIG * 32 };

/**
 * Records the state of held process `pid`: `registers` are its threads' as read at the seize
 * (the ones held in an interrupt stop run the injected calls).
 */
export function recordState(
  pid: number,
  tp: TracedProcess,
  registers: readonly ThreadRegisters[],
  gadgets: Gadgets | undefined,
): RecordedNotes {
  const missing: string[] = [];
  const notes: RawNote[] = [];
  const threads = new Map<number, RegSet>();
  try {
    record(pid, tp, registers, gadgets, { notes, threads, missing });
  } catch (err) {
    // A process that exits meanwhile: the capture says so.
    const esrch = isGone(err) || (err as NodeJS.ErrnoException | undefined)?.code === 'ESRCH';
    if (!esrch && alive(pid)) throw err;
    return { notes, threads, missing, gone: true };
  }
  return { notes, threads, missing };
}

/** Whether a process still exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^State:\s*[ZX]/m.test(readProc(`/proc/${pid}/status`).toString());
  } catch {
    return false;
  }
}

function record(
  pid: number,
  tp: TracedProcess,
  registers: readonly ThreadRegisters[],
  gadgets: Gadgets | undefined,
  { notes, threads, missing }: RecordedNotes,
): void {
  const arch = ARCHES.x86_64;
  for (const f of openFiles(pid, missing))
    notes.push({
      owner: CORESHOT_OWNER,
      type: NT_CORESHOT_FD,
      desc: encodeCoreshotFd(arch, f),
    });
  const mem = new ProcMem(pid, true);
  try {
    const maps = readMaps(pid, false);
    const found = gadgets ?? findGadgets(X86_64, mem, maps);
    let proc: (Omit<RecordedProcess, 'mm' | 'rlimits'> & { brk: bigint }) | undefined;
    // Only caught signals (and SIGCHLD, whose flags matter at SIG_DFL too) are asked for: the
    // others are SIG_IGN or SIG_DFL as /proc says, with no flags that matter.
    const status = readStatus(`/proc/${pid}/status`);
    const mask = (key: string) => BigInt(`0x${status.get(key) ?? '0'}`);
    const signals = { ask: mask('SigCgt') | (1n << BigInt(SIGCHLD - 1)), ignored: mask('SigIgn') };
    for (const r of registers) {
      const held = tp.threads.get(r.tid);
      // Only a thread in coreshot's own interrupt stop runs calls (not one in a group stop).
      const injected =
        found && held?.stop === 'event' && held.stopSignal === SIGTRAP
          ? inject(tp, r, found, mem, maps, r.tid === pid ? signals : undefined)
          : 'it is not held in an interrupt stop';
      if (typeof injected === 'string') {
        missing.push(`thread ${r.tid}: sigaltstack, robust list, clear-child-tid (${injected})`);
        continue;
      }
      threads.set(r.tid, {
        owner: CORESHOT_OWNER,
        type: NT_CORESHOT_THREAD,
        data: encodeCoreshotThread(arch, injected.thread),
      });
      if (injected.process) proc = injected.process;
    }
    if (proc) {
      const stat = readStat(`/proc/${pid}/stat`);
      const process: RecordedProcess = {
        mm: { ...stat.mm, brk: proc.brk },
        rlimits: readLimits(pid),
        sigactions: proc.sigactions,
      };
      notes.unshift({
        owner: CORESHOT_OWNER,
        type: NT_CORESHOT_PROCESS,
        desc: encodeCoreshotProcess(arch, process),
      });
    } else
      missing.push('signal dispositions, rlimits, mm bounds (the main thread could not run system calls)');
  } finally {
    mem.close();
  }
}

/** Runs the calls that read a thread's state (and with `main` the process's) in the thread. */
function inject(
  tp: TracedProcess,
  r: ThreadRegisters,
  gadgets: Gadgets,
  mem: ProcMem,
  maps: readonly ProcMapping[],
  main: { ask: bigint; ignored: bigint } | undefined,
): { thread: RecordedThread; process?: { sigactions: Sigaction[]; brk: bigint } } | string {
  const saved = { regs: r.gpRegs, xstate: r.xstate, sigmask: getSigMask(r.tid) };
  const remote = RemoteThread.open(tp, r.tid, saved, { arch: X86_64, gadgets, mem, maps });
  if (typeof remote === 'string') return remote;
  const out = (remote.plan.at - BigInt(OUT.size) - 128n) & ~63n;
  const room = maps.some((m) => m.start <= out && remote.plan.at <= m.end && m.perms.startsWith('rw'));
  const original = room ? mem.read(out, OUT.size) : undefined;
  try {
    if (!original || original.length !== OUT.size) return `no room below its stack pointer`;
    mem.write(out, Buffer.alloc(OUT.size)); // what is not asked for reads as 0
    remote.syscall('sigaltstack', 0n, out + BigInt(OUT.stack));
    remote.syscall('prctl', BigInt(PR_GET_TID_ADDRESS), out + BigInt(OUT.tidAddress), 0n, 0n, 0n);
    remote.syscall('get_robust_list', 0n, out + BigInt(OUT.robustHead), out + BigInt(OUT.robustLen));
    let brk = 0n;
    if (main) {
      for (let sig = 1; sig <= NSIG; sig++)
        if ((main.ask >> BigInt(sig - 1)) & 1n)
          remote.syscall('rt_sigaction', BigInt(sig), 0n, out + BigInt(OUT.sigactions + (sig - 1) * 32), 8n);
      brk = remote.syscall('brk', 0n);
    }
    const b = mem.read(out, OUT.size);
    const rseq = getRseqConfig(r.tid);
    const thread: RecordedThread = {
      sigaltstack: {
        sp: b.readBigUInt64LE(OUT.stack),
        flags: b.readInt32LE(OUT.stack + 8),
        size: b.readBigUInt64LE(OUT.stack + 16),
      },
      rseq,
      robust_list: { head: b.readBigUInt64LE(OUT.robustHead), len: b.readBigUInt64LE(OUT.robustLen) },
      clear_child_tid: b.readBigUInt64LE(OUT.tidAddress),
    };
    if (!main) return { thread };
    const sigactions = Array.from({ length: NSIG }, (_, i) => {
      const o = OUT.sigactions + i * 32;
      const ignored = !((main.ask >> BigInt(i)) & 1n) && (main.ignored >> BigInt(i)) & 1n;
      return {
        handler: ignored ? SIG_IGN : b.readBigUInt64LE(o),
        flags: b.readBigUInt64LE(o + 8),
        restorer: b.readBigUInt64LE(o + 16),
        mask: b.readBigUInt64LE(o + 24),
      };
    });
    return { thread, process: { sigactions, brk } };
  } finally {
    remote.release();
    if (original?.length === OUT.size) mem.write(out, original);
  }
}

/** The open files and the working directory of `pid` (what /proc/PID/fd and fdinfo show). */
function openFiles(pid: number, missing: string[]): RecordedFile[] {
  const out: RecordedFile[] = [];
  try {
    out.push({
      fd: AT_FDCWD,
      flags: 0,
      pos: 0n,
      mode: modeOf(`/proc/${pid}/cwd`),
      path: readlinkSync(`/proc/${pid}/cwd`),
    });
  } catch {
    missing.push('the working directory');
  }
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    const fd = Number(name);
    try {
      const info = readProc(`/proc/${pid}/fdinfo/${fd}`).toString();
      const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(info)?.[1] ?? '0';
      out.push({
        fd,
        flags: Number.parseInt(field('flags'), 8),
        pos: BigInt(field('pos')),
        mode: modeOf(`/proc/${pid}/fd/${fd}`),
        path: readlinkSync(`/proc/${pid}/fd/${fd}`),
      });
    } catch {
      missing.push(`fd ${fd} (closed meanwhile)`);
    }
  }
  return out;
}

/** st_mode of what a /proc link names (stat follows it without opening: a FIFO would block). */
function modeOf(link: string): number {
  return statSync(link).mode;
}

/** /proc/PID/limits: one line per RLIMIT_*, in their order; "unlimited" is RLIM_INFINITY. */
function readLimits(pid: number): RecordedProcess['rlimits'] {
  const lines = readProc(`/proc/${pid}/limits`).toString().split('\n').slice(1);
  const value = (s: string | undefined) => (s === undefined || s === 'unlimited' ? RLIM_INFINITY : BigInt(s));
  const entries = RLIMIT_NAMES.map((name, i) => {
    // "Max open files            1024                 1048576              files"
    const cols = /^.{26}(\S+)\s+(\S+)/.exec(lines[i] ?? '');
    return [name, { cur: value(cols?.[1]), max: value(cols?.[2]) }] as const;
  });
  return Object.fromEntries(entries) as RecordedProcess['rlimits'];
}

/** A thread with its NT_CORESHOT_THREAD note, when one was recorded. */
export function withState(t: ThreadState, state: RecordedNotes): ThreadState {
  const note = state.threads.get(t.tid);
  return note ? { ...t, regsets: [...t.regsets, note] } : t;
}
