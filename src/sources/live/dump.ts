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
  emptyPageRuns,
  mappedFileMode,
  type ProcMapping,
  readCoredumpFilter,
  readMaps,
  readProc,
  readStatus,
} from '../../sys/proc.js';
import { TracedProcess, warmUp } from '../../sys/tracee.js';
import { type DumpContext, dumpSize, PAGE_SIZE } from './filter.js';
import { type ForkFlagArea, forkSnapshot, type Snapshot } from './snapshot.js';
import { recordState, withState } from './state.js';
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
  /** Why MADV_DONTFORK / MADV_WIPEONFORK areas were not frozen for the fork, when they were not. */
  notFrozenReason?: string;
  /** MADV_DONTFORK / MADV_WIPEONFORK ranges made fork-copied for the instant of the fork. */
  frozenAreas: number;
  /**
   * The part of the pause those add, in milliseconds: listing the mappings while the target is
   * held, and the madvise calls before and after the clone.
   */
  freezeMs: number;
  /** Bytes of shared memory (MAP_SHARED, memfd, shmem) in the core: never frozen, read live. */
  sharedBytes: bigint;
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

/** Shorter runs of untouched pages are read like the rest (fewer, larger reads and regions). */
const EMPTY_RUN_PAGES = 16;

/** The injection's arch descriptor (preflight admits x86_64 programs only). */
const ARCH = X86_64;

function hasForkFlag(m: ProcMapping): boolean {
  return m.vmFlags.has('dc') || m.vmFlags.has('wf');
}

/**
 * The target's mappings at the instant of the fork (it is held), with VmFlags: smaps, unless
 * the list read before the pause has no MADV_DONTFORK/WIPEONFORK area and the held maps show the
 * same ranges (then that list, and the pause saves reading smaps). An area flagged in between
 * with its range unchanged is not frozen then, but still found: absent or wiped in the copy.
 */
function heldMappings(pid: number, before: ProcMapping[]): ProcMapping[] {
  if (!before.some(hasForkFlag)) {
    const now = readMaps(pid, false);
    const same =
      now.length === before.length &&
      now.every((m, i) => m.start === before[i]!.start && m.end === before[i]!.end);
    if (same) return before;
  }
  return readMaps(pid, true);
}

/**
 * The private areas whose bytes go in the core but that a fork would not copy as they are
 * (MADV_DONTFORK: absent from the copy; MADV_WIPEONFORK: zero in it), per flag, adjacent areas
 * with the same flag joined into one range.
 */
function forkFlagAreas(maps: readonly ProcMapping[], filter: number, ctx: DumpContext): ForkFlagArea[] {
  const dumped = maps.filter((m) => hasForkFlag(m) && !m.vmFlags.has('sh') && dumpSize(m, filter, ctx) > 0n);
  const out: ForkFlagArea[] = [];
  for (const flag of ['dc', 'wf'] as const) {
    let last: ForkFlagArea | undefined;
    for (const m of dumped) {
      if (!m.vmFlags.has(flag)) continue;
      if (last && last.end === m.start) last.end = m.end;
      else {
        last = { start: m.start, end: m.end, flag };
        out.push(last);
      }
    }
  }
  return out;
}

/**
 * The runs of never-touched pages of a private anonymous range; none when pagemap cannot be read
 * (a process gone meanwhile: reading its memory then says so).
 */
function untouched(pid: number, start: bigint, end: bigint): { start: bigint; end: bigint }[] {
  try {
    return emptyPageRuns(pid, start, end, PAGE_SIZE, EMPTY_RUN_PAGES);
  } catch (err) {
    if (err instanceof SysError && err.errno === ESRCH) return [];
    throw err;
  }
}

/** Whether one mapping of `maps` (sorted) holds all of `m` (the copy's may be merged ones). */
function covered(maps: readonly ProcMapping[], m: ProcMapping): boolean {
  let lo = 0;
  let hi = maps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (maps[mid]!.start <= m.start) lo = mid + 1;
    else hi = mid;
  }
  const at = maps[lo - 1];
  return at !== undefined && at.end >= m.end;
}

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

/**
 * Whether the process still has its memory. A killed process gives its memory up (the kernel's
 * exit_mm: status shows no Vm* lines from then on) well before it is a zombie, and on a loaded
 * machine reads can fail for a long while in between: they must not pass for unreadable pages.
 */
function isAlive(pid: number): boolean {
  try {
    const status = readStatus(`/proc/${pid}/status`);
    const state = status.get('State') ?? '';
    return !state.startsWith('Z') && !state.startsWith('X') && status.has('VmSize');
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
    const state = recordState(pid, tp, registers, gadgets);
    if (state.gone) throw new CaptureError(`process ${pid} exited during the dump`);

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
    const injectors = [
      ...interrupted.filter((r) => !ARCH.restartsThroughBlock(r.gpRegs)),
      ...interrupted.filter((r) => ARCH.restartsThroughBlock(r.gpRegs)),
    ];
    const injector = injectors[0];
    let noSnapshotReason: string | undefined;
    if (wantSnapshot && !injector) noSnapshotReason = 'the process is stopped (job control)';
    // A seccomp filter may refuse clone() or kill the process for trying: never inject then.
    if (wantSnapshot && seccomp === '2') noSnapshotReason = 'the process runs under a seccomp filter';
    if (wantSnapshot && !gadgets) noSnapshotReason = 'no code to run a fork with was found in it';
    let heldMaps: ProcMapping[] = [];
    let freezeMs = 0;
    let notFrozenReason: string | undefined;
    let forked: Snapshot | string | undefined;
    if (wantSnapshot && injector && gadgets && !noSnapshotReason) {
      const t = performance.now();
      heldMaps = heldMappings(pid, before);
      const areas = forkFlagAreas(heldMaps, filter, {
        fileMode: (m) => mappedFileMode(pid, m),
        startsWithElfMagic: (m) => target.read(m.start, 4).equals(ELFMAG),
      });
      freezeMs = performance.now() - t;
      // The chain needs two frames per area on the thread's stack: the first thread, in the
      // order of preference, whose stack has room for them.
      for (const r of injectors) {
        forked = forkSnapshot(tp, ARCH, r, gadgets, before, target, areas, faultPoint);
        if (typeof forked !== 'string') break;
      }
      if (typeof forked === 'string' && areas.length > 0) {
        notFrozenReason = `no thread's stack has room for the frames of ${areas.length} areas (${forked})`;
        forked = forkSnapshot(tp, ARCH, injector, gadgets, before, target, [], faultPoint);
      }
    }
    if (typeof forked === 'string') noSnapshotReason = forked;
    else snap = forked;
    if (snap) {
      resume();
      faultPoint('released');
      freezeMs += snap.freezeMs;
      source = new ProcMem(snap.pid, true);
      mems.push(source);
      source.write(snap.frames.at, snap.frames.original);
      // What the copy lacks (a MADV_DONTFORK area that was not cleared) or holds zeroed (a
      // MADV_WIPEONFORK one) comes from the running target, which is then no longer frozen.
      // Only the target's memory is read now: it may be gone.
      const copyMaps = readMaps(snap.pid, true);
      const missing = heldMaps.filter((m) => !covered(copyMaps, m));
      for (const m of missing) fromTarget.add(m.start);
      for (const m of copyMaps) if (m.vmFlags.has('wf')) fromTarget.add(m.start);
      maps = copyMaps.concat(missing).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    } else {
      maps = readMaps(pid, true);
    }

    const threads = registers.map((r) => withState(threadState(r, processStat), state));
    const layout = registers[0] && xstateRegset(registers[0].xstate).layout;
    const ctx = {
      fileMode: (m: ProcMapping) => mappedFileMode(source.pid, m),
      startsWithElfMagic: (m: ProcMapping) => source.read(m.start, 4).equals(ELFMAG),
    };
    const mappings: Mapping[] = [];
    const regions: Region[] = [];
    let sharedBytes = 0n;
    for (const m of maps) {
      const dumped = dumpSize(m, filter, ctx);
      mappings.push(toMapping(m, dumped));
      if (dumped === 0n) continue;
      if (snap && m.perms[3] === 's') sharedBytes += dumped;
      const mem = fromTarget.has(m.start) ? target : source;
      if (mem === target && snap) {
        notFrozen.push(`${m.start.toString(16)}-${m.end.toString(16)} ${m.path || '[anon]'}`);
      }
      const live = (start: bigint, end: bigint): Region => ({
        start,
        end,
        kind: 'live',
        reason: 'unreadable',
        reader: (off, buf) => {
          const got = mem.readInto(start + off, buf);
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
      // Private anonymous pages never touched are zeros: holes in the core, not read.
      let at = m.start;
      const end = m.start + dumped;
      const anonymous = m.perms[3] === 'p' && m.inode === 0 && !m.path.startsWith('/');
      for (const z of anonymous ? untouched(mem.pid, m.start, end) : []) {
        if (z.start > at) regions.push(live(at, z.start));
        regions.push({ start: z.start, end: z.end, kind: 'zero' });
        at = z.end;
      }
      if (at < end) regions.push(live(at, end));
    }

    const image: ProcessImage = {
      arch: ARCHES.x86_64,
      process: info,
      threads,
      mappings,
      auxv,
      memory: new SplicedAddressSpace([regions]),
      extraNotes: [...(layout ? [layout] : []), ...state.notes],
    };
    faultPoint('capture-ready');
    const result = await consume(image);
    faultPoint('capture-done');
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
      notFrozenReason,
      frozenAreas: snap?.frozen.length ?? 0,
      freezeMs: snap ? freezeMs : 0,
      sharedBytes,
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
