import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { EPERM, ESRCH } from '../abi/errno.js';
import { SysError } from './libc.js';

/** Reads a /proc file; a vanished process becomes SysError(ESRCH). */
export function readProc(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw new SysError('open', ESRCH, path);
    if (code === 'EACCES' || code === 'EPERM') throw new SysError('open', EPERM, path);
    throw err;
  }
}

function readProcText(path: string): string {
  return readProc(path).toString('latin1');
}

/** Thread ids of a process (/proc/PID/task), sorted with the main thread first. */
export function listThreads(pid: number): number[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/task`);
  } catch {
    throw new SysError('open', ESRCH, `/proc/${pid}/task`);
  }
  const tids = names.map(Number).filter((n) => Number.isInteger(n) && n > 0);
  return tids.sort((a, b) => (a === pid ? -1 : b === pid ? 1 : a - b));
}

/** Direct children of every thread of a process (/proc/PID/task/TID/children). */
export function listChildren(pid: number): number[] {
  const out = new Set<number>();
  for (const tid of listThreads(pid)) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const w of text.split(/\s+/)) if (w) out.add(Number(w));
  }
  return [...out].sort((a, b) => a - b);
}

/** The fields of /proc/PID/stat coreshot uses (field numbers as in proc(5)). */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  flags: bigint;
  utime: bigint;
  stime: bigint;
  cutime: bigint;
  cstime: bigint;
  nice: number;
  /** The mm bounds /proc shows (0 without ptrace access); brk itself is not among them. */
  mm: {
    start_code: bigint;
    end_code: bigint;
    start_data: bigint;
    end_data: bigint;
    start_brk: bigint;
    start_stack: bigint;
    arg_start: bigint;
    arg_end: bigint;
    env_start: bigint;
    env_end: bigint;
  };
}

/** Parses the text of /proc/PID/stat (or task/TID/stat). */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`unexpected /proc stat line: ${text.slice(0, 60)}`);
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // f[0] is field 3 (state).
  const num = (field: number) => Number(f[field - 3] ?? 0);
  const big = (field: number) => BigInt(f[field - 3] ?? 0);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0] ?? '?',
    ppid: num(4),
    pgrp: num(5),
    session: num(6),
    flags: big(9),
    utime: big(14),
    stime: big(15),
    cutime: big(16),
    cstime: big(17),
    nice: num(19),
    mm: {
      start_code: big(26),
      end_code: big(27),
      start_stack: big(28),
      start_data: big(45),
      end_data: big(46),
      start_brk: big(47),
      arg_start: big(48),
      arg_end: big(49),
      env_start: big(50),
      env_end: big(51),
    },
  };
}

export function readStat(path: string): ProcStat {
  return parseStat(readProcText(path));
}

/** /proc/PID/status as key → value text. */
export function readStatus(path: string): Map<string, string> {
  return parseStatus(readProcText(path));
}

/** Parses the text of /proc/PID/status (or task/TID/status) as key → value text. */
export function parseStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** One line of /proc/PID/maps, plus what smaps adds. */
export interface ProcMapping {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  dev: string;
  inode: number;
  path: string;
  /** Two-letter VmFlags from smaps (empty when read from maps). */
  vmFlags: Set<string>;
  /** smaps "Anonymous" + "Swap" in kB: pages the process wrote (an anon_vma exists). */
  anonKb: number;
}

const MAP_LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/;

/** Incremental parser of /proc/PID/maps or smaps lines (smaps adds VmFlags and page counts). */
class MapsParser {
  readonly out: ProcMapping[] = [];
  private cur: ProcMapping | undefined;

  line(line: string): void {
    const m = MAP_LINE.exec(line);
    if (m) {
      this.cur = {
        start: BigInt(`0x${m[1]}`),
        end: BigInt(`0x${m[2]}`),
        perms: m[3]!,
        offset: BigInt(`0x${m[4]}`),
        dev: m[5]!,
        inode: Number(m[6]),
        path: m[7] ?? '',
        vmFlags: new Set(),
        anonKb: 0,
      };
      this.out.push(this.cur);
      return;
    }
    const cur = this.cur;
    if (!cur) return;
    if (line.startsWith('VmFlags:')) {
      for (const w of line.slice(8).trim().split(/\s+/)) if (w) cur.vmFlags.add(w);
    } else if (line.startsWith('Anonymous:') || line.startsWith('Swap:')) {
      cur.anonKb += Number.parseInt(line.slice(line.indexOf(':') + 1), 10) || 0;
    }
  }
}

/** Opens a /proc file for reading; a vanished process becomes SysError(ESRCH), like readProc. */
function openProc(path: string): number {
  try {
    return openSync(path, 'r');
  } catch {
    readProc(path); // raises the error as a SysError
    throw new SysError('open', ESRCH, path);
  }
}

/**
 * Reads /proc/PID/maps or smaps in bounded chunks (smaps of a process with 100,000 mappings is
 * ~100 MB of text; it is never held whole).
 */
export function readMaps(pid: number, smaps: boolean): ProcMapping[] {
  const path = `/proc/${pid}/${smaps ? 'smaps' : 'maps'}`;
  const fd = openProc(path);
  const p = new MapsParser();
  const buf = Buffer.allocUnsafe(1 << 20);
  let rest = '';
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const text = rest + buf.toString('latin1', 0, n);
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) p.line(line);
    }
  } finally {
    closeSync(fd);
  }
  if (rest) p.line(rest);
  return p.out;
}

/** /proc/PID/coredump_filter (hex). */
export function readCoredumpFilter(pid: number): number {
  return Number.parseInt(readProcText(`/proc/${pid}/coredump_filter`).trim(), 16);
}

/** The permission bits of the file behind a mapping (via map_files when allowed, else its path). */
export function mappedFileMode(pid: number, m: ProcMapping): number | undefined {
  const range = `${m.start.toString(16)}-${m.end.toString(16)}`;
  for (const p of [`/proc/${pid}/map_files/${range}`, m.path]) {
    try {
      return statSync(p).mode;
    } catch {
      // try the next
    }
  }
  return undefined;
}

/**
 * /proc/PID/pagemap: one 64-bit entry per page; its flags, as bits of the entry's high 32-bit
 * half. Present or swapped: the page holds data.
 */
const PM_HI_PRESENT = 1 << 31;
const PM_HI_SWAPPED = 1 << 30;
/** A page of a file (page cache) or of shared anonymous memory. */
const PM_HI_FILE_OR_SHARED = 1 << 29;
/** A page mapped once only (in this process, at this address). */
const PM_HI_EXCLUSIVE = 1 << 24;
/** Entries read at a time (512 KiB of pagemap: 256 MiB of memory). */
const PAGEMAP_BATCH = 65536;

/**
 * The runs of at least `minPages` pages in [start, end) of process `pid` that are neither present
 * nor swapped out (/proc/PID/pagemap): in private anonymous memory, pages never touched, which
 * read as zeros. Read in bounded batches; the flags need no privilege (only the frame numbers do).
 */
export function emptyPageRuns(
  pid: number,
  start: bigint,
  end: bigint,
  pageSize: bigint,
  minPages: number,
): { start: bigint; end: bigint }[] {
  const path = `/proc/${pid}/pagemap`;
  const fd = openProc(path);
  const out: { start: bigint; end: bigint }[] = [];
  const buf = Buffer.allocUnsafe(PAGEMAP_BATCH * 8);
  const pages = Number((end - start) / pageSize);
  let runStart = -1;
  const close = (at: number) => {
    if (runStart >= 0 && at - runStart >= minPages) {
      out.push({ start: start + BigInt(runStart) * pageSize, end: start + BigInt(at) * pageSize });
    }
    runStart = -1;
  };
  try {
    for (let done = 0; done < pages; ) {
      const want = Math.min(PAGEMAP_BATCH, pages - done);
      const at = (start / pageSize + BigInt(done)) * 8n;
      const got = readSync(fd, buf, 0, want * 8, at) >> 3;
      if (got === 0) break;
      for (let i = 0; i < got; i++) {
        const empty = (buf.readUInt32LE(i * 8 + 4) & (PM_HI_PRESENT | PM_HI_SWAPPED)) === 0;
        if (empty && runStart < 0) runStart = done + i;
        else if (!empty) close(done + i);
      }
      done += got;
    }
    close(pages);
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Opens /proc/PID/pagemap, or gives undefined where it cannot be read. */
export function openPagemap(pid: number): number | undefined {
  try {
    return openSync(`/proc/${pid}/pagemap`, 'r');
  } catch {
    return undefined;
  }
}

/**
 * Whether the kernel would copy the page to let it be pinned for reading: an anonymous page that
 * is present and mapped more than once (shared copy-on-write with a fork). Pinning such a page
 * (process_vm_readv does) makes the process it belongs to take a private copy first, so reading a
 * fork's memory that way would duplicate it. Not present pages (zero, or read in from the file)
 * and pages of files or shared memory are never copied.
 */
function copiedWhenPinned(hi: number): boolean {
  return (hi & PM_HI_PRESENT) !== 0 && (hi & (PM_HI_FILE_OR_SHARED | PM_HI_EXCLUSIVE)) === 0;
}

/**
 * The run of pages from `addr` that agree on whether reading them by pinning makes the kernel
 * copy them (copiedWhenPinned; swapped out pages count as copied, not knowing what comes back):
 * its length in bytes from `addr`, at most `max`, and that answer. Reads the pagemap through
 * `fd` into `scratch` (8 bytes a page; at most scratch.length / 8 pages are looked at).
 */
export function pinRun(
  fd: number,
  addr: bigint,
  max: number,
  pageSize: number,
  scratch: Buffer,
): { bytes: number; copied: boolean } {
  const first = addr / BigInt(pageSize);
  const lead = Number(addr % BigInt(pageSize));
  const pages = Math.min(Math.ceil((lead + max) / pageSize), scratch.length >> 3);
  let got = 0;
  try {
    got = readSync(fd, scratch, 0, pages * 8, first * 8n) >> 3;
  } catch {
    // a process gone meanwhile: /proc/PID/mem says so
  }
  if (got === 0) return { bytes: max, copied: true };
  const kind = (i: number) => {
    const hi = scratch.readUInt32LE(i * 8 + 4);
    return copiedWhenPinned(hi) || (hi & PM_HI_SWAPPED) !== 0;
  };
  const copied = kind(0);
  let i = 1;
  while (i < got && kind(i) === copied) i++;
  return { bytes: Math.min(max, i * pageSize - lead), copied };
}
