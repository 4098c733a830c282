// What `info` and `maps` show about a core, computed once as plain data (which tool wrote it, the
// executable, command, signal, where each byte of memory comes from, what is missing and why), so
// text, --json and any later view render the same facts instead of recomputing them.
import { AT } from '../abi/auxv.js';
import { NT_PRPSINFO } from '../abi/notes.js';
import { signalName } from '../abi/signals.js';
import { archLabel } from '../elf/arch.js';
import type { Phdr } from '../elf/layout.js';
import { decodeSigInfo } from '../elf/notes/siginfo.js';
import { appendMissing, type MissingRange, type Region } from '../model/address-space.js';
import type { Mapping, ProcessImage } from '../model/process-image.js';
import { mappingLabels } from './labels.js';

/** What a report reads: an opened core (sources/elfcore's CoreFile has all of it). */
export interface ReportInput {
  path: string;
  /** What the input is, when not an ELF core (default: ELF class and byte order). */
  format?: string;
  /** Which tool wrote it, when the notes cannot tell (default: guessed from the notes). */
  producer?: string;
  elf: { ra: { size: bigint } };
  image: ProcessImage;
  /** Every note's owner and type, in file order. */
  notes: readonly { owner: string; type: number }[];
  /** The PT_LOAD headers. */
  loads: readonly Phdr[];
  /** What became of each mapped file the core names. */
  fileStatus: readonly { path: string; hostPath: string; status: string }[];
  problems: readonly { what: string }[];
}

/** The signal that killed the process, with its siginfo details when they describe that signal. */
export interface SignalReport {
  number: number;
  name: string;
  code: number | null;
  address: bigint | null;
  senderPid: number | null;
}

/** Bytes of the mappings by where they come from. */
export interface MemoryTotals {
  /** Held by the core (p_filesz of the segments). */
  inCore: bigint;
  /** Read from mapped files found on this machine. */
  fromFiles: bigint;
  /** Would come from a mapped file that is absent or has another build-id. */
  unavailable: bigint;
  /** Neither in the core nor from a file (excluded when the core was written). */
  notInCore: bigint;
  /** Segment data the core should hold but that lies past the end of the file. */
  truncated: bigint;
}

/** The one-screen summary `info` shows (its --json is exactly this object). */
export interface CoreSummary {
  core: string;
  fileSize: bigint;
  format: string;
  arch: string;
  /** Which tool wrote the core, from the shape of its notes. */
  producer: string;
  executable: string | null;
  command: string;
  comm: string;
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  state: string;
  signal: SignalReport | null;
  threads: number;
  mappings: number;
  memory: MemoryTotals;
  mappedFiles: { total: number; used: number; missing: string[]; buildIdMismatch: string[] };
  problems: string[];
}

/** One mapping as `maps` shows it, plus where each of its bytes comes from. */
export interface MappingReport {
  start: bigint;
  end: bigint;
  /** rwxp as /proc/PID/maps writes them; `?` where the source does not know (see permsOf). */
  perms: string;
  offset: bigint;
  size: bigint;
  inCore: bigint;
  coverage: 'all' | 'none' | 'partial';
  /** Where the bytes the core lacks come from: 'file', the mapped file's status, or 'absent'. */
  rest: string | null;
  path: string | null;
  /** [heap], [stack], [stack:TID], [vdso], [vvar] (analysis/labels.ts), else null. */
  label: string | null;
  buildId: string | null;
  /** The mapping's bytes in address order, by source (gaps no region covers are 'unmapped'). */
  sources: Pick<Region, 'start' | 'end' | 'kind' | 'reason'>[];
}

export interface CoreReport {
  summary: CoreSummary;
  /** The command is pr_psargs cut at 80 bytes by the core format (the full argv is unknown). */
  commandCut: boolean;
  elfClass: 32 | 64;
  mappings: MappingReport[];
  /** Every address inside a mapping whose bytes cannot be supplied, with the reason. */
  missing: MissingRange[];
}

/** The report of an opened core. */
export function coreReport(core: ReportInput): CoreReport {
  const { image } = core;
  const p = image.process;
  const executable = executablePath(image) ?? null;
  const mappings = mappingReports(core, mappingLabels(image, executable));
  return {
    summary: {
      core: core.path,
      fileSize: core.elf.ra.size,
      format:
        core.format ?? `ELF${image.arch.elfClass} ${image.arch.endian === 'le' ? 'little' : 'big'}-endian`,
      arch: archLabel(image.arch),
      producer: core.producer ?? producer(core.notes),
      executable,
      command: p.args ? p.args.join(' ') : p.psargs,
      comm: p.comm,
      pid: p.pid,
      ppid: p.ppid,
      uid: p.uid,
      gid: p.gid,
      state: p.sname,
      signal: fatalSignal(image),
      threads: image.threads.length,
      mappings: image.mappings.length,
      memory: memoryTotals(core),
      mappedFiles: {
        total: core.fileStatus.length,
        used: core.fileStatus.filter((f) => f.status === 'used').length,
        // A FIFO or device where a file should be is missing as far as the pages are concerned.
        missing: core.fileStatus
          .filter((f) => f.status === 'missing' || f.status === 'not-a-regular-file')
          .map((f) => f.hostPath),
        buildIdMismatch: core.fileStatus
          .filter((f) => f.status === 'build-id-mismatch')
          .map((f) => f.hostPath),
      },
      problems: core.problems.map((pr) => pr.what),
    },
    commandCut: !p.args && p.psargs.length >= 79,
    elfClass: image.arch.elfClass,
    mappings,
    missing: missingRanges(mappings),
  };
}

/** gdb writes NT_PRPSINFO first or notes of its own; QEMU's dump-guest-memory names itself. */
function producer(notes: ReportInput['notes']): string {
  if (notes.some((n) => n.owner === 'QEMU')) return 'QEMU';
  if (notes.some((n) => n.owner === 'GDB')) return 'gdb';
  const first = notes[0];
  if (first && first.owner === 'CORE' && first.type === NT_PRPSINFO) return 'gdb';
  return 'kernel layout';
}

/**
 * The executable's path: the file mapped where AT_ENTRY points, else the path the source knows,
 * else the AT_EXECFN string in memory.
 */
export function executablePath(image: ProcessImage): string | undefined {
  const entry = image.auxv.find((e) => e.type === BigInt(AT.ENTRY))?.value;
  const mapped =
    entry === undefined ? undefined : image.mappings.find((m) => m.start <= entry && entry < m.end)?.path;
  if (mapped) return mapped;
  if (image.process.executable) return image.process.executable;
  const execfn = image.auxv.find((e) => e.type === BigInt(AT.EXECFN));
  if (!execfn) return undefined;
  const r = image.memory.read(execfn.value, 4096);
  const end = r.data.indexOf(0);
  if (end <= 0 || r.missing.some((m) => m.start < execfn.value + BigInt(end))) return undefined;
  return r.data.toString('utf8', 0, end);
}

/**
 * pr_cursig of the first thread is the signal that killed the process (0 for a live capture such
 * as gcore's); its siginfo details count only when they describe that same signal.
 */
function fatalSignal(image: ProcessImage): SignalReport | null {
  const t0 = image.threads[0];
  const signo = t0?.status.cursig ?? 0;
  if (!signo) return null;
  const decoded = t0?.siginfo ? decodeSigInfo(image.arch, t0.siginfo) : undefined;
  const si = decoded && decoded.signo === signo ? decoded : undefined;
  return {
    number: signo,
    name: signalName(signo),
    code: si?.code ?? null,
    address: si?.addr ?? null,
    senderPid: si?.pid ?? null,
  };
}

function memoryTotals(core: ReportInput): MemoryTotals {
  const t: MemoryTotals = { inCore: 0n, fromFiles: 0n, unavailable: 0n, notInCore: 0n, truncated: 0n };
  for (const m of core.image.mappings) t.inCore += m.dumped;
  for (const r of core.image.memory.regions()) {
    const n = r.end - r.start;
    if (r.kind === 'file') t.fromFiles += n;
    else if (r.kind === 'missing' && r.reason === 'file-unavailable') t.unavailable += n;
    else if (r.kind === 'missing') t.notInCore += n;
  }
  const size = core.elf.ra.size;
  for (const p of core.loads) {
    const end = p.p_offset + p.p_filesz;
    if (p.p_filesz > 0n && end > size) t.truncated += end - (p.p_offset > size ? p.p_offset : size);
  }
  return t;
}

/**
 * The permission letters of a mapping: r, w, x from the source (an ELF core's p_flags), `?` for
 * each when it does not know them (an NT_FILE range without a segment); s or p, `?` when it
 * does not say (ELF cores never do).
 */
export function permsOf(m: Mapping): string {
  const flag = (on: boolean, letter: string) => (m.protUnknown ? '?' : on ? letter : '-');
  const share = m.shared === undefined ? '?' : m.shared ? 's' : 'p';
  return `${flag(m.read, 'r')}${flag(m.write, 'w')}${flag(m.exec, 'x')}${share}`;
}

function mappingReports(core: ReportInput, labels: readonly (string | null)[]): MappingReport[] {
  const status = new Map(core.fileStatus.map((f) => [f.path, f]));
  const regions = core.image.memory.regions();
  let first = 0; // mappings and regions are both sorted: the walk only moves forward
  return core.image.mappings.map((m, i) => {
    while (first < regions.length && regions[first]!.end <= m.start) first++;
    const len = m.end - m.start;
    const st = m.path ? status.get(m.path) : undefined;
    return {
      start: m.start,
      end: m.end,
      perms: permsOf(m),
      offset: m.offset,
      size: len,
      inCore: m.dumped,
      coverage: m.dumped >= len ? 'all' : m.dumped === 0n ? 'none' : 'partial',
      rest: m.dumped >= len ? null : st ? (st.status === 'used' ? 'file' : st.status) : 'absent',
      path: m.path ?? null,
      label: labels[i] ?? null,
      buildId: m.buildId ?? null,
      sources: sourcesOf(regions, first, m.start, m.end),
    };
  });
}

/**
 * The regions over [start, end) from index `first` on, clipped to it; addresses no region covers
 * are 'unmapped'.
 */
function sourcesOf(
  regions: readonly Region[],
  first: number,
  start: bigint,
  end: bigint,
): MappingReport['sources'] {
  const out: MappingReport['sources'] = [];
  const gap = (from: bigint, to: bigint) =>
    out.push({ start: from, end: to, kind: 'missing', reason: 'unmapped' });
  let at = start;
  for (let i = first; i < regions.length && at < end; i++) {
    const r = regions[i]!;
    if (r.start >= end) break;
    if (r.start > at) gap(at, r.start);
    const piece: MappingReport['sources'][number] = {
      start: r.start > at ? r.start : at,
      end: r.end < end ? r.end : end,
      kind: r.kind,
    };
    if (r.kind === 'missing') piece.reason = r.reason ?? 'not-in-core';
    out.push(piece);
    at = piece.end;
  }
  if (at < end) gap(at, end);
  return out;
}

/** The missing pieces of all mappings, adjacent ones with the same reason merged. */
function missingRanges(mappings: readonly MappingReport[]): MissingRange[] {
  const out: MissingRange[] = [];
  for (const m of mappings)
    for (const s of m.sources)
      if (s.kind === 'missing') appendMissing(out, s.start, s.end, s.reason ?? 'not-in-core');
  return out;
}
