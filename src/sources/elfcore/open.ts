import { type Finding, FormatError, naming } from '../../bytes/errors.js';
import { archFromElf } from '../../elf/arch.js';
import { readBuildId } from '../../elf/build-id.js';
import { ET_CORE, PF_R, PF_W, PF_X, PT_LOAD } from '../../elf/constants.js';
import type { Phdr } from '../../elf/layout.js';
import { collectCoreNotes } from '../../elf/notes/core-notes.js';
import type { FileMapping } from '../../elf/notes/file.js';
import type { ElfNote } from '../../elf/notes/note.js';
import { ElfFile } from '../../elf/reader.js';
import { type Refusal, resolveMappedFile, underRoot } from '../../host/resolve.js';
import { openInput } from '../../io/compressed/open-input.js';
import type { FileAccess, RandomAccess } from '../../io/random-access.js';
import { type Region, SplicedAddressSpace } from '../../model/address-space.js';
import type { Mapping, ProcessImage, ProcessInfo } from '../../model/process-image.js';

export interface OpenCoreOptions {
  /** Directory under which mapped files are looked up (like gdb's sysroot). */
  root?: string;
  /** Use mapped files to supply pages the core does not hold (default true). */
  useFiles?: boolean;
}

/** What became of one mapped file used to fill pages the core lacks. */
export interface MappedFileStatus {
  path: string;
  /** Where it was looked for. */
  hostPath: string;
  /** Build-id recorded in the core (from the file's first page), if any. */
  coreBuildId?: string;
  /** Build-id of the file found on disk, if any. */
  fileBuildId?: string;
  status: 'used' | 'not-needed' | Refusal;
}

export interface CoreFile {
  readonly path: string;
  readonly elf: ElfFile;
  readonly image: ProcessImage;
  /** Every note, in file order. */
  readonly notes: readonly ElfNote[];
  /** The PT_LOAD headers. */
  readonly loads: readonly Phdr[];
  /** NT_FILE entries. */
  readonly files: readonly FileMapping[];
  readonly fileStatus: readonly MappedFileStatus[];
  /** Truncation and other survivable defects. */
  readonly problems: readonly Finding[];
  close(): void;
}

/**
 * Opens an ELF core file (compressed or not; `-` is standard input) and builds its ProcessImage.
 * Throws FormatError for malformed input.
 */
export function openCore(path: string, options: OpenCoreOptions = {}): CoreFile {
  const ra = openInput(path);
  try {
    // Errors name the input (standard input when it is '-').
    return naming(path === '-' ? 'standard input' : path, () => readCore(path, ra, options));
  } catch (err) {
    ra.close();
    throw err;
  }
}

/** The same as openCore, on any RandomAccess (tests use buffers). */
export function readCore(path: string, ra: RandomAccess, options: OpenCoreOptions = {}): CoreFile {
  const elf = ElfFile.open(ra);
  const h = elf.header;
  if (h.e_type !== ET_CORE) {
    throw new FormatError(
      undefined,
      `not a core file: e_type is ${ET_NAMES[h.e_type] ?? h.e_type}, expected ET_CORE`,
    );
  }
  const arch = archFromElf(h.e_machine, elf.layout.elfClass, elf.layout.endian);
  const notes = elf.notes();
  const {
    threads,
    process,
    auxv = [],
    files = [],
    extraNotes,
  } = collectCoreNotes({ arch, layout: elf.layout }, notes);
  const loads = elf.programHeaders.filter((p) => p.p_type === PT_LOAD);
  const mappings = buildMappings(loads, files);
  const mappedFiles: FileAccess[] = [];
  // Memory, build-ids and mapped files are worked out on first use: the build-ids sit in pages
  // spread over the core, and a compressed stream would be decoded that far to read them, while
  // `threads` needs only the headers and notes.
  let built: ReturnType<typeof buildMemory> | undefined;
  const build = () => {
    if (built) return built;
    built = buildMemory(elf, loads, mappings, options, problems, mappedFiles);
    for (const m of mappings) {
      const st = built.fileStatus.find((f) => f.path === m.path);
      if (st?.coreBuildId) m.buildId = st.coreBuildId;
    }
    return built;
  };
  const image: ProcessImage = {
    arch,
    process: process ?? emptyProcess(threads[0]?.status.pid ?? 0),
    threads,
    get mappings() {
      build();
      return mappings;
    },
    auxv,
    get memory() {
      return build().memory;
    },
    extraNotes,
  };
  const problems = elf.problems;
  if (!process) problems.push({ kind: 'missing', what: 'no NT_PRPSINFO note: process details unknown' });
  const close = () => {
    ra.close();
    for (const f of mappedFiles.splice(0)) f.close();
  };
  return {
    path,
    elf,
    image,
    notes,
    loads,
    files,
    get fileStatus() {
      return build().fileStatus;
    },
    get problems() {
      build();
      return problems;
    },
    close,
  };
}

const ET_NAMES: Record<number, string> = { 0: 'ET_NONE', 1: 'ET_REL', 2: 'ET_EXEC', 3: 'ET_DYN' };

function emptyProcess(pid: number): ProcessInfo {
  return {
    pid,
    ppid: 0,
    pgrp: 0,
    sid: 0,
    uid: 0,
    gid: 0,
    state: 0,
    sname: '?',
    zomb: 0,
    nice: 0,
    flag: 0n,
    comm: '',
    psargs: '',
  };
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One mapping per PT_LOAD, named from the NT_FILE entry that covers it, plus one per NT_FILE
 * range no PT_LOAD covers (gdb's gcore writes no segment for unmodified file pages): those hold
 * no bytes in the core and are read from the mapped file. Their permissions are unknown
 * (`protUnknown`, read-only as a guess). An ELF core never says whether a mapping is shared.
 */
function buildMappings(loads: readonly Phdr[], files: readonly FileMapping[]): Mapping[] {
  const byStart = [...files].sort((a, b) => cmp(a.start, b.start));
  const sorted = [...loads].sort((a, b) => cmp(a.p_vaddr, b.p_vaddr));
  const fromLoads = loadMappings(sorted, byStart);
  const extra = fileOnlyMappings(fromLoads, byStart);
  return extra.length ? [...fromLoads, ...extra].sort((a, b) => cmp(a.start, b.start)) : fromLoads;
}

/** The parts of NT_FILE ranges that no mapping from a PT_LOAD covers. */
function fileOnlyMappings(sorted: readonly Mapping[], files: readonly FileMapping[]): Mapping[] {
  const out: Mapping[] = [];
  const add = (f: FileMapping, start: bigint, end: bigint) =>
    out.push({
      start,
      end,
      read: true,
      write: false,
      exec: false,
      protUnknown: true,
      offset: f.offset + (start - f.start),
      path: f.path,
      dumped: 0n,
    });
  let i = 0;
  for (const f of files) {
    let at = f.start;
    while (i < sorted.length && sorted[i]!.end <= at) i++;
    for (let k = i; at < f.end; k++) {
      const m = sorted[k];
      if (!m || m.start >= f.end) {
        add(f, at, f.end);
        break;
      }
      if (m.start > at) add(f, at, m.start);
      if (m.end > at) at = m.end;
    }
  }
  return out;
}

function loadMappings(sorted: readonly Phdr[], byStart: readonly FileMapping[]): Mapping[] {
  let f = 0;
  return sorted.map((p) => {
    while (f < byStart.length && byStart[f]!.end <= p.p_vaddr) f++;
    const file = byStart[f];
    const covered = file && file.start <= p.p_vaddr && p.p_vaddr < file.end ? file : undefined;
    const m: Mapping = {
      start: p.p_vaddr,
      end: p.p_vaddr + p.p_memsz,
      read: (p.p_flags & PF_R) !== 0,
      write: (p.p_flags & PF_W) !== 0,
      exec: (p.p_flags & PF_X) !== 0,
      offset: covered ? covered.offset + (p.p_vaddr - covered.start) : 0n,
      dumped: p.p_filesz < p.p_memsz ? p.p_filesz : p.p_memsz,
    };
    if (covered) m.path = covered.path;
    return m;
  });
}

function buildMemory(
  elf: ElfFile,
  loads: readonly Phdr[],
  mappings: readonly Mapping[],
  options: OpenCoreOptions,
  problems: Finding[],
  opened: FileAccess[],
): { memory: SplicedAddressSpace; fileStatus: MappedFileStatus[] } {
  const ra = elf.ra;
  const coreTier: Region[] = [];
  const absentTier: Region[] = [];
  let truncatedSegments = 0;
  for (const p of loads) {
    const start = p.p_vaddr;
    const filesz = p.p_filesz < p.p_memsz ? p.p_filesz : p.p_memsz;
    if (filesz > 0n) {
      const present = p.p_offset >= ra.size ? 0n : ra.size - p.p_offset;
      if (present < filesz) truncatedSegments++;
      coreTier.push({
        start,
        end: start + filesz,
        kind: 'core',
        reason: 'truncated',
        reader: (off, target) => ra.readInto(p.p_offset + off, target),
      });
    }
    if (filesz < p.p_memsz)
      absentTier.push({
        start: start + filesz,
        end: start + p.p_memsz,
        kind: 'missing',
        reason: 'not-in-core',
      });
  }
  if (truncatedSegments > 0) {
    problems.push({
      kind: 'truncated',
      what: `core file is truncated: ${truncatedSegments} segment(s) end past the end of the file`,
    });
  }
  const coreOnly = new SplicedAddressSpace([coreTier]);
  const fileStatus: MappedFileStatus[] = [];
  const fileTier: Region[] = [];
  if (options.useFiles !== false) {
    const byPath = new Map<string, Mapping[]>();
    for (const m of mappings) {
      if (!m.path || m.path.startsWith('[')) continue;
      const list = byPath.get(m.path) ?? [];
      list.push(m);
      byPath.set(m.path, list);
    }
    for (const [path, maps] of byPath) {
      const head = maps.find((m) => m.offset === 0n);
      const coreBuildId = head
        ? readBuildId((off, len) => {
            const r = coreOnly.read(head.start + off, len);
            return r.missing.length ? undefined : r.data;
          })
        : undefined;
      const needed = maps.some((m) => m.dumped < m.end - m.start);
      const st: MappedFileStatus = { path, hostPath: underRoot(path, options.root), status: 'not-needed' };
      if (coreBuildId) st.coreBuildId = coreBuildId;
      fileStatus.push(st);
      if (!needed) continue;
      const found = resolveMappedFile(path, coreBuildId ? { buildId: coreBuildId } : {}, options);
      st.hostPath = found.hostPath;
      if (found.found.buildId) st.fileBuildId = found.found.buildId;
      if (!found.ok) {
        st.status = found.reason;
        if (found.reason === 'build-id-mismatch')
          problems.push({
            kind: 'mismatch',
            file: found.hostPath,
            what: `${found.hostPath}: build-id ${found.found.buildId ?? 'none'} does not match the core's ${coreBuildId}; its pages are not used`,
          });
        continue;
      }
      const fa = found.file;
      opened.push(fa);
      st.status = 'used';
      for (const m of maps) {
        if (m.dumped >= m.end - m.start) continue;
        const from = m.start + m.dumped;
        const fileOff = m.offset + m.dumped;
        fileTier.push({
          start: from,
          end: m.end,
          kind: 'file',
          reason: 'file-unavailable',
          reader: (off, target) => fa.readInto(fileOff + off, target),
        });
      }
    }
  }
  // Pages a mapped file should supply but cannot are reported as such, not as "not in core".
  const unavailable: Region[] = fileStatus
    .filter((s) => s.status !== 'used' && s.status !== 'not-needed')
    .flatMap((s) => mappings.filter((m) => m.path === s.path && m.dumped < m.end - m.start))
    .map((m) => ({
      start: m.start + m.dumped,
      end: m.end,
      kind: 'missing' as const,
      reason: 'file-unavailable' as const,
    }));
  return { memory: new SplicedAddressSpace([coreTier, fileTier, unavailable, absentTier]), fileStatus };
}
