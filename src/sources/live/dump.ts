import { closeSync, openSync, readSync } from 'node:fs';
import { EPERM, ESRCH } from '../../abi/errno.js';
import { SIGTRAP } from '../../abi/signals.js';
import { ELFMAG } from '../../elf/constants.js';
import { faultPoint } from '../../fault-points.js';
import { findGadgets } from '../../inject/gadgets.js';
import { X86_64 } from '../../inject/x86_64.js';
import { type Region, SplicedAddressSpace } from '../../model/address-space.js';
import { ARCHES, type AuxvEntry, type Mapping, type ProcessImage } from '../../model/process-image.js';
import type { LongRunOptions } from '../../model/progress.js';
import { SysError } from '../../sys/libc.js';
import { ProcMem } from '../../sys/mem.js';
import {
  mappedFileMode,
  type ProcMapping,
  readCoredumpFilter,
  readMaps,
  readProc,
  readStatus,
} from '../../sys/proc.js';
import { TracedProcess, warmUp } from '../../sys/tracee.js';
import { dumpSize } from './filter.js';
import { forkSnapshot, type Snapshot } from './snapshot.js';
import { readProcessInfo, readRegisters, threadState } from './threads.js';
import { xstateRegset } from './xstate.js';
import type { SnapshotCopy } from './zombie.js';

export interface DumpOptions extends LongRunOptions {
  /** Fork a copy-on-write snapshot and let the target go at once (default true). */
  snapshot?: boolean;
  /** coredump_filter bits to use instead of /proc/PID/coredump_filter. */
  filter?: number;
}

/** How a capture went: what the consumer returned, and what the target went through. */
export interface Captured<T> {
  result: T;
  pid: number;
  threads: number;
  mappings: number;
  /** How long the target was stopped, in milliseconds. */
  pauseMs: number;
  totalMs: number;
  snapshot: boolean;
  /** Areas read from the running target in snapshot mode (MADV_DONTFORK / MADV_WIPEONFORK). */
  notFrozen: string[];
  filter: number;
  /** Why a snapshot was asked for but not taken (the target then stayed stopped throughout). */
  noSnapshotReason?: string;
  /** The snapshot copy (killed when the capture ends) and its parent: see leftZombie. */
  copy?: SnapshotCopy;
}

/** Why a live capture could not start: a message for the user. */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

/** The injection's arch descriptor (preflight admits x86_64 programs only). */
const ARCH = X86_64;

function explain(pid: number, err: unknown): unknown {
  if (!(err instanceof SysError)) return err;
  if (process.env.CORESHOT_DEBUG) process.stderr.write(`${err.stack}\n`);
  if (err.errno === ESRCH)
    return new CaptureError(`process ${pid} does not exist (or exited during the dump)`);
  if (err.errno === EPERM) {
    return new CaptureError(
      `not permitted to trace process ${pid}: it belongs to another user, or ptrace is restricted ` +
        '(kernel.yama.ptrace_scope, no CAP_SYS_PTRACE)',
    );
  }
  return err;
}

/**
 * Checks the process exists, nobody traces it yet and it is an x86_64 program; returns its
 * seccomp mode (/proc/PID/status "Seccomp").
 */
function preflight(pid: number): string | undefined {
  let status: Map<string, string>;
  try {
    status = readStatus(`/proc/${pid}/status`);
  } catch {
    throw new CaptureError(`process ${pid} does not exist`);
  }
  const tracer = Number(status.get('TracerPid') ?? '0');
  if (tracer !== 0) {
    let name = '';
    try {
      name = ` (${readProc(`/proc/${tracer}/comm`).toString().trim()})`;
    } catch {
      // tracer gone meanwhile
    }
    throw new CaptureError(`process ${pid} is already traced by process ${tracer}${name}`);
  }
  if (status.get('State')?.startsWith('Z'))
    throw new CaptureError(`process ${pid} is a zombie: nothing to dump`);
  if (process.arch !== 'x64')
    throw new CaptureError(`coreshot dump runs on x86_64 only (this is ${process.arch})`);
  // The registers are read in the 64-bit layout: a 32-bit (i386/x32) program would get another.
  let ident: Buffer | undefined;
  try {
    const fd = openSync(`/proc/${pid}/exe`, 'r');
    try {
      ident = Buffer.alloc(20);
      readSync(fd, ident, 0, 20, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    ident = undefined; // no access to the executable: ptrace decides below
  }
  if (ident && (ident[4] !== 2 || ident.readUInt16LE(18) !== 62)) {
    throw new CaptureError(
      `process ${pid} is not a 64-bit x86_64 program: coreshot dump captures x86_64 processes only`,
    );
  }
  return status.get('Seccomp');
}

function readAuxv(pid: number): AuxvEntry[] {
  const raw = readProc(`/proc/${pid}/auxv`);
  const out: AuxvEntry[] = [];
  for (let o = 0; o + 16 <= raw.length; o += 16) {
    const type = raw.readBigUInt64LE(o);
    out.push({ type, value: raw.readBigUInt64LE(o + 8) });
    if (type === 0n) break;
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    const state = readStatus(`/proc/${pid}/status`).get('State') ?? '';
    return !state.startsWith('Z') && !state.startsWith('X');
  } catch {
    return false;
  }
}

function toMapping(m: ProcMapping, dumped: bigint): Mapping {
  return {
    start: m.start,
    end: m.end,
    read: m.perms[0] === 'r',
    write: m.perms[1] === 'w',
    exec: m.perms[2] === 'x',
    shared: m.perms[3] === 's',
    offset: m.offset,
    path: m.path === '' ? undefined : m.path,
    dumped,
  };
}

/**
 * Captures live process `pid` and hands its ProcessImage to `consume` (a sink, such as the ELF
 * core writer). All threads are seized and their registers read; in snapshot mode (the default)
 * a fork injected into the target keeps a copy-on-write image of its memory and the target runs
 * on at once, otherwise the target stays stopped until `consume` is done. The image is only
 * valid during `consume`: its memory is read from the held target or its snapshot copy.
 */
export async function captureProcess<T>(
  pid: number,
  options: DumpOptions,
  consume: (image: ProcessImage) => Promise<T>,
): Promise<Captured<T>> {
  const t0 = performance.now();
  const wantSnapshot = options.snapshot ?? true;
  let tp: TracedProcess | undefined;
  let snap: Snapshot | undefined;
  const mems: ProcMem[] = [];
  let pauseMs = 0;
  let pauseStart = 0;
  const resume = () => {
    if (tp && pauseStart) {
      tp.detach();
      pauseMs = performance.now() - pauseStart;
      pauseStart = 0;
    }
  };
  try {
    const seccomp = preflight(pid);
    const info = readProcessInfo(pid);
    const auxv = readAuxv(pid);
    const filter = options.filter ?? readCoredumpFilter(pid);
    // Writable in snapshot mode: the injection's frames go on a thread's stack.
    const target = new ProcMem(pid, wantSnapshot);
    mems.push(target);
    // Found before the pause: the vdso, text and stack mappings do not move.
    const before = wantSnapshot ? readMaps(pid, true) : [];
    const gadgets = wantSnapshot ? findGadgets(ARCH, target, before) : undefined;
    warmUp(ARCH);
    readStatus(`/proc/${pid}/task/${pid}/status`);
    pauseStart = performance.now();
    tp = TracedProcess.seize(pid);
    const held = [...tp.threads.values()];
    const registers = held.map((t) => readRegisters(pid, t));
    const processStat = readProc(`/proc/${pid}/stat`);

    let maps: ProcMapping[];
    let source = target;
    const notFrozen: string[] = [];
    const fromTarget = new Set<bigint>();
    // The fork runs in a thread held in its interrupt stop, preferably not one in a sleep that
    // resumes through restart_syscall: if coreshot died mid-way, that thread's own rt_sigreturn
    // would turn the rest of its sleep into EINTR.
    const interrupted = registers.filter(
      (_r, i) => held[i]!.stop === 'event' && held[i]!.stopSignal === SIGTRAP,
    );
    const injector = interrupted.find((r) => !ARCH.restartsThroughBlock(r.gpRegs)) ?? interrupted[0];
    let noSnapshotReason: string | undefined;
    if (wantSnapshot && !injector) noSnapshotReason = 'the process is stopped (job control)';
    // A seccomp filter may refuse clone() or kill the process for trying: never inject then.
    if (wantSnapshot && seccomp === '2') noSnapshotReason = 'the process runs under a seccomp filter';
    if (wantSnapshot && !gadgets) noSnapshotReason = 'no code to run a fork with was found in it';
    const forked =
      wantSnapshot && injector && gadgets && !noSnapshotReason
        ? forkSnapshot(tp, ARCH, injector, gadgets, before, target, faultPoint)
        : undefined;
    if (typeof forked === 'string') noSnapshotReason = forked;
    else snap = forked;
    if (snap) {
      resume();
      faultPoint('released');
      source = new ProcMem(snap.pid, true);
      mems.push(source);
      source.write(snap.frames.at, snap.frames.original);
      // MADV_DONTFORK areas are absent from the copy, MADV_WIPEONFORK ones zeroed: those come
      // from the running target, which is then no longer frozen (as listed before the pause:
      // nothing of the target's is read here but its memory, which may be gone).
      const own = before.filter((m) => m.vmFlags.has('dc') || m.vmFlags.has('wf'));
      for (const m of own) fromTarget.add(m.start);
      maps = readMaps(snap.pid, true)
        .filter((m) => !fromTarget.has(m.start))
        .concat(own)
        .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    } else {
      maps = readMaps(pid, true);
    }

    const threads = registers.map((r) => threadState(r, processStat));
    const layout = registers[0] && xstateRegset(registers[0].xstate).layout;
    const ctx = {
      fileMode: (m: ProcMapping) => mappedFileMode(source.pid, m),
      startsWithElfMagic: (m: ProcMapping) => source.read(m.start, 4).equals(ELFMAG),
    };
    const mappings: Mapping[] = [];
    const regions: Region[] = [];
    for (const m of maps) {
      const dumped = dumpSize(m, filter, ctx);
      mappings.push(toMapping(m, dumped));
      if (dumped === 0n) continue;
      const mem = fromTarget.has(m.start) ? target : source;
      if (mem === target && snap) {
        notFrozen.push(`${m.start.toString(16)}-${m.end.toString(16)} ${m.path || '[anon]'}`);
      }
      regions.push({
        start: m.start,
        end: m.start + dumped,
        kind: 'live',
        reason: 'unreadable',
        reader: (off, buf) => {
          const got = mem.readInto(m.start + off, buf);
          if (got < buf.length && !isAlive(mem.pid)) {
            throw new CaptureError(
              mem.pid === pid
                ? `process ${pid} exited during the dump`
                : `the snapshot copy ${mem.pid} of process ${pid} was killed during the dump`,
            );
          }
          return got;
        },
      });
    }

    const image: ProcessImage = {
      arch: ARCHES.x86_64,
      process: info,
      threads,
      mappings,
      auxv,
      memory: new SplicedAddressSpace([regions]),
      extraNotes: layout ? [layout] : [],
    };
    const result = await consume(image);
    resume();
    return {
      result,
      pid,
      threads: threads.length,
      mappings: mappings.length,
      pauseMs,
      totalMs: performance.now() - t0,
      snapshot: snap !== undefined,
      notFrozen,
      filter,
      noSnapshotReason,
      copy: snap && { pid: snap.pid, parent: snap.sibling ? info.ppid : pid },
    };
  } catch (err) {
    throw explain(pid, err);
  } finally {
    try {
      resume();
    } finally {
      snap?.kill();
      for (const m of mems) m.close();
    }
  }
}
