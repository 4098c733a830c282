import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AT } from '../../abi/auxv.js';
import { MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE } from '../../abi/mman.js';
import { NT_X86_XSTATE } from '../../abi/notes.js';
import { FormatError } from '../../bytes/errors.js';
import { readBuildId } from '../../elf/build-id.js';
import { psargsFromArgv } from '../../elf/notes/prpsinfo.js';
import { XSAVE_XCR0_OFFSET } from '../../elf/notes/x86.js';
import { FileAccess } from '../../io/random-access.js';
import { type Region, SplicedAddressSpace } from '../../model/address-space.js';
import type {
  AuxvEntry,
  Mapping,
  ProcessImage,
  ProcessInfo,
  RawNote,
  ThreadState,
  ThreadStatus,
} from '../../model/process-image.js';
import {
  core_entrySchema,
  file_entrySchema,
  inventory_entrySchema,
  memfd_inode_entrySchema,
  mm_entrySchema,
  pstree_entrySchema,
  reg_file_entrySchema,
  type vma_entry,
} from './gen/criu_pb.js';
import {
  CheckpointError,
  CORE_MAGIC,
  FILES_MAGIC,
  INVENTORY_MAGIC,
  MEMFD_INODE_MAGIC,
  MM_MAGIC,
  PSTREE_MAGIC,
  REG_FILES_MAGIC,
  readAll,
  readSingle,
} from './image.js';
import { PageIndex } from './pagemap.js';
import { threadRegisters } from './regs.js';
import { hostXsaveLayout, type XsaveLayout } from './xsave-layout.js';

/** vma_entry.status bits (what kind of mapping CRIU saw). */
const VMA_AREA_REGULAR = 1 << 0;
const VMA_AREA_STACK = 1 << 1;
const VMA_AREA_VSYSCALL = 1 << 2;
const VMA_AREA_VDSO = 1 << 3;
const VMA_AREA_HEAP = 1 << 5;
const VMA_FILE_PRIVATE = 1 << 6;
const VMA_FILE_SHARED = 1 << 7;
const VMA_ANON_SHARED = 1 << 8;
const VMA_AREA_SYSVIPC = 1 << 10;
const VMA_AREA_VVAR = 1 << 12;
const VMA_AREA_MEMFD = 1 << 14;

/** task_core_entry.task_state values of tasks without an address space. */
const GONE_STATES: Readonly<Record<number, string>> = { 2: 'dead', 4: 'a restore helper', 6: 'a zombie' };

const FD_TYPE_REG = 1;
const FD_TYPE_MEMFD = 18;

/** The most of a command line read from memory. */
const MAX_ARGS_BYTES = 1 << 20;

/** One process of the checkpoint's process tree. */
export interface CheckpointProcess {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  threads: number[];
}

export interface OpenCheckpointOptions {
  /** Directory the checkpointed processes' files are found under (like a sysroot); default '/'. */
  root?: string;
  /** The XSAVE layout of the CPU the checkpoint was taken on (default: this machine's). */
  xsaveLayout?: XsaveLayout;
}

/** A process image built from a checkpoint, with what could not be supplied. */
export interface CheckpointImage {
  image: ProcessImage;
  /** Human-readable notes about data that is missing or was substituted. */
  problems: string[];
  /** Releases the open page and file handles. */
  close(): void;
}

interface FileInfo {
  path: string;
  size?: bigint;
  /** GNU build-id (hex) CRIU recorded for an ELF file. */
  buildId?: string;
  /** Shared memory id of a memfd / shared anonymous mapping's pages. */
  shmid?: number;
}

/** A CRIU image directory: its process tree, and a ProcessImage for each process on demand. */
export class Checkpoint {
  readonly dir: string;
  readonly root: string;
  readonly processes: readonly CheckpointProcess[];
  private files: Map<number, FileInfo> | undefined;
  private layout: XsaveLayout | undefined;

  private constructor(dir: string, options: OpenCheckpointOptions) {
    this.dir = dir;
    this.root = options.root ?? '/';
    this.layout = options.xsaveLayout;
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(dir);
    } catch {
      throw new CheckpointError(`${dir}: no such directory`);
    }
    if (!st.isDirectory()) throw new CheckpointError(`${dir} is not a directory`);
    const inventory = join(dir, 'inventory.img');
    if (!existsSync(inventory))
      throw new CheckpointError(`${dir} is not a CRIU checkpoint (it has no inventory.img)`);
    const inv = readSingle(inventory, INVENTORY_MAGIC, inventory_entrySchema);
    if (inv.imgVersion !== 2)
      throw new FormatError(0, 'inventory.img: unsupported CRIU image version', inv.imgVersion);
    this.processes = readAll(join(dir, 'pstree.img'), PSTREE_MAGIC, pstree_entrySchema).map((p) => ({
      pid: p.pid,
      ppid: p.ppid,
      pgid: p.pgid,
      sid: p.sid,
      threads: p.threads.length > 0 ? [...p.threads] : [p.pid],
    }));
    if (this.processes.length === 0) throw new FormatError(8, 'pstree.img: no processes');
  }

  static open(dir: string, options: OpenCheckpointOptions = {}): Checkpoint {
    return new Checkpoint(dir, options);
  }

  /** Why a process has nothing to convert (a zombie, ...), or undefined when it has. */
  unconvertible(pid: number): string | undefined {
    const core = readSingle(join(this.dir, `core-${pid}.img`), CORE_MAGIC, core_entrySchema);
    const gone = core.tc ? GONE_STATES[core.tc.taskState] : undefined;
    return gone ? `process ${pid} is ${gone}: it has no memory or registers to convert` : undefined;
  }

  /** Builds the ProcessImage of one process; its memory reads lazily from the images. */
  processImage(pid: number): CheckpointImage {
    const proc = this.processes.find((p) => p.pid === pid);
    if (!proc) {
      const pids = this.processes.map((p) => p.pid).join(', ');
      throw new CheckpointError(`process ${pid} is not in the checkpoint (it holds ${pids})`);
    }
    const problems: string[] = [];
    const cores = proc.threads.map((tid) => ({
      tid,
      core: readSingle(join(this.dir, `core-${tid}.img`), CORE_MAGIC, core_entrySchema),
    }));
    const main = cores.find((c) => c.tid === pid) ?? cores[0]!;
    const tc = main.core.tc;
    if (!tc) throw new FormatError(0, `core-${main.tid}.img: no task state (tc)`);
    const gone = GONE_STATES[tc.taskState];
    if (gone)
      throw new CheckpointError(`process ${pid} is ${gone}: it has no memory or registers to convert`);
    const mm = readSingle(join(this.dir, `mm-${pid}.img`), MM_MAGIC, mm_entrySchema);

    const auxv: AuxvEntry[] = [];
    for (let i = 0; i + 1 < mm.mmSavedAuxv.length; i += 2) {
      const type = mm.mmSavedAuxv[i]!;
      auxv.push({ type, value: mm.mmSavedAuxv[i + 1]! });
      if (type === BigInt(AT.NULL)) break;
    }
    const pageSize = auxv.find((a) => a.type === BigInt(AT.PAGESZ))?.value ?? 4096n;
    if (pageSize < 4096n || pageSize > 1n << 20n || (pageSize & (pageSize - 1n)) !== 0n)
      throw new FormatError(0, `mm-${pid}.img: bad page size in saved auxv`, pageSize);

    const opened: { close(): void }[] = [];
    const close = () => {
      for (const o of opened) o.close();
      opened.length = 0;
    };
    try {
      const pagemapName = `pagemap-${pid}.img`;
      const pages = PageIndex.open(this.dir, pagemapName, pageSize);
      opened.push(pages);
      const lazy = pages.lazyBytes;
      if (lazy > 0n)
        problems.push(
          `${lazy / pageSize} pages of process ${pid} were left for lazy restore (PE_LAZY) and are not in the images; the core holds zeros there`,
        );

      const mappings: Mapping[] = [];
      const core: Region[] = [];
      const fileTier: Region[] = [];
      const zero: Region[] = [];
      const shmem = new Map<number, PageIndex>();
      const vmas = [...mm.vmas].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      let prevEnd = 0n;
      for (const vma of vmas) {
        if (vma.end <= vma.start || vma.start % pageSize !== 0n || vma.end % pageSize !== 0n)
          throw new FormatError(0, `mm-${pid}.img: VMA with a bad range`, vma.start);
        if (vma.start < prevEnd) throw new FormatError(0, `mm-${pid}.img: overlapping VMAs`, vma.start);
        prevEnd = vma.end;
        const mapping = this.mapping(vma, mm.mmStartStack);
        mappings.push(mapping);
        const special = vma.status & (VMA_AREA_VVAR | VMA_AREA_VSYSCALL);
        if (special) {
          // vvar and vsyscall are kernel pages: nothing to store, like the kernel's own dumps.
          mapping.dumped = 0n;
          continue;
        }
        const shmid = this.shmemId(vma);
        if (shmid !== undefined) {
          let idx = shmem.get(shmid);
          const name = `pagemap-shmem-${shmid}.img`;
          if (!idx && existsSync(join(this.dir, name))) {
            idx = PageIndex.open(this.dir, name, pageSize);
            opened.push(idx);
            shmem.set(shmid, idx);
          }
          if (idx)
            core.push(...idx.regions(vma.pgoff, vma.pgoff + (vma.end - vma.start), vma.start - vma.pgoff));
          else
            problems.push(`${name} is missing: shared memory at 0x${vma.start.toString(16)} reads as zero`);
        } else {
          core.push(...pages.regions(vma.start, vma.end, 0n));
        }
        if (vma.status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED) && !(vma.status & VMA_AREA_MEMFD)) {
          const { region, path } = this.fileRegion(vma, opened);
          fileTier.push(region);
          // Name the file as it is found under the root, so a debugger with that sysroot opens it.
          mapping.path = path;
          mapping.buildId = this.fileInfo(Number(vma.shmid))?.buildId;
        }
        if (vma.status & VMA_AREA_VDSO && !pages.regions(vma.start, vma.end, 0n).length) {
          const vdso = runningVdso(vma.end - vma.start);
          if (vdso) {
            fileTier.push(bufferRegion(vma.start, vdso));
            problems.push('[vdso] is not in the images: taken from the running kernel');
          } else {
            problems.push('[vdso] is not in the images and the running kernel has another one');
          }
        }
        zero.push({ start: vma.start, end: vma.end, kind: 'zero' });
      }
      const memory = new SplicedAddressSpace([core, fileTier, zero]);

      const threads: ThreadState[] = [];
      let arch: ProcessImage['arch'] | undefined;
      const ordered = [main, ...cores.filter((c) => c !== main)];
      for (const { tid, core: c } of ordered) {
        const regs = threadRegisters(c, `core-${tid}.img`, { layout: this.xsaveLayout, memory });
        arch ??= regs.arch;
        const tcore = c.threadCore;
        const siginfo = tcore?.signalsP?.signals[0]?.siginfo ?? tc.signalsS?.signals[0]?.siginfo;
        const status: ThreadStatus = {
          info: { signo: 0, code: 0, errno: 0 },
          cursig: 0,
          sigpend: 0n,
          sighold: tcore?.blkSigset ?? tc.blkSigset,
          pid: tid,
          ppid: proc.ppid,
          pgrp: proc.pgid,
          sid: proc.sid,
          utime: { sec: 0n, usec: 0n },
          stime: { sec: 0n, usec: 0n },
          cutime: { sec: 0n, usec: 0n },
          cstime: { sec: 0n, usec: 0n },
          fpvalid: 1,
        };
        const thread: ThreadState = { tid, status, gpRegs: regs.gpRegs, regsets: regs.regsets };
        if (siginfo && siginfo.length >= 12) {
          thread.siginfo = Buffer.from(siginfo);
          status.info = {
            signo: thread.siginfo.readInt32LE(0),
            errno: thread.siginfo.readInt32LE(4),
            code: thread.siginfo.readInt32LE(8),
          };
          status.cursig = status.info.signo;
        }
        threads.push(thread);
      }

      const extraNotes: RawNote[] = [];
      const xstate = threads[0]?.regsets.find((r) => r.type === NT_X86_XSTATE);
      if (xstate) {
        const xcr0 = xstate.data.readBigUInt64LE(XSAVE_XCR0_OFFSET);
        extraNotes.push(this.xsaveLayout.for(xcr0).note(xcr0));
      }

      const args = readArgs(memory, mm.mmArgStart, mm.mmArgEnd);
      const creds = main.core.threadCore?.creds;
      const state = taskState(tc.taskState);
      const exe = this.fileInfo(mm.exeFileId)?.path;
      const process: ProcessInfo = {
        pid,
        ppid: proc.ppid,
        pgrp: proc.pgid,
        sid: proc.sid,
        uid: creds?.uid ?? 0,
        gid: creds?.gid ?? 0,
        state: state.state,
        sname: state.sname,
        zomb: state.sname === 'Z' ? 1 : 0,
        nice: main.core.threadCore?.schedNice ?? 0,
        flag: BigInt(tc.flags),
        comm: tc.comm.slice(0, 15),
        psargs: psargsFromArgv(args.raw),
        args: args.list,
        executable: exe,
      };
      return {
        image: { arch: arch!, process, threads, mappings, auxv, memory, extraNotes },
        problems,
        close,
      };
    } catch (err) {
      close();
      throw err;
    }
  }

  private get xsaveLayout(): XsaveLayout {
    this.layout ??= hostXsaveLayout();
    return this.layout;
  }

  /** The model mapping of a VMA (pseudo names as /proc/PID/maps shows them). */
  private mapping(vma: vma_entry, startStack: bigint): Mapping {
    const m: Mapping = {
      start: vma.start,
      end: vma.end,
      read: (vma.prot & PROT_READ) !== 0,
      write: (vma.prot & PROT_WRITE) !== 0,
      exec: (vma.prot & PROT_EXEC) !== 0,
      shared: (vma.flags & MAP_SHARED) !== 0,
      offset: vma.pgoff,
      dumped: vma.end - vma.start,
    };
    const s = vma.status;
    if (s & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
      const f = this.fileInfo(Number(vma.shmid));
      if (f && s & VMA_AREA_MEMFD) m.path = memfdPath(f.path);
      else if (f) m.path = f.path;
    } else if (s & VMA_AREA_HEAP) m.path = '[heap]';
    else if (s & VMA_AREA_VDSO) m.path = '[vdso]';
    else if (s & VMA_AREA_VVAR) m.path = '[vvar]';
    else if (s & VMA_AREA_VSYSCALL) m.path = '[vsyscall]';
    else if (s & VMA_AREA_STACK || (startStack >= vma.start && startStack < vma.end)) m.path = '[stack]';
    if (!(s & VMA_AREA_REGULAR) && !(s & VMA_AREA_VSYSCALL)) m.dumped = 0n;
    return m;
  }

  /** The shared-memory id whose pagemap-shmem image holds a VMA's pages, if it is shared memory. */
  private shmemId(vma: vma_entry): number | undefined {
    if (vma.status & (VMA_ANON_SHARED | VMA_AREA_SYSVIPC)) return Number(vma.shmid);
    if (vma.status & VMA_AREA_MEMFD) return this.fileInfo(Number(vma.shmid))?.shmid;
    return undefined;
  }

  /** The region of a file mapping's bytes, read from the file under the root. */
  private fileRegion(vma: vma_entry, opened: { close(): void }[]): { region: Region; path: string } {
    const info = this.fileInfo(Number(vma.shmid));
    if (!info)
      throw new FormatError(
        0,
        `files.img: no file with id ${vma.shmid} (mapped at 0x${vma.start.toString(16)})`,
      );
    const found = openUnderRoot(this.root, info.path, info.size);
    if (!found) {
      throw new CheckpointError(
        `mapped file ${info.path} (at 0x${vma.start.toString(16)}) not found under ${this.root}: ` +
          'pass --root DIR, a directory holding the checkpointed files at their absolute paths',
      );
    }
    const fa = found.file;
    const path = fa.path;
    opened.push(fa);
    const onDisk = info.buildId ? readBuildId((off, n) => fa.read(off, n)) : undefined;
    if (info.buildId && onDisk && onDisk !== info.buildId) {
      throw new CheckpointError(
        `mapped file ${path} has build-id ${onDisk}, the checkpointed one had ${info.buildId}: ` +
          'pass --root DIR with the files as they were at checkpoint time',
      );
    }
    if (info.size !== undefined && fa.size !== info.size) {
      throw new CheckpointError(
        `mapped file ${path} has ${fa.size} bytes, the checkpointed one had ${info.size}: ` +
          'pass --root DIR with the files as they were at checkpoint time',
      );
    }
    const avail = fa.size > vma.pgoff ? fa.size - vma.pgoff : 0n;
    const region: Region = {
      start: vma.start,
      end: vma.end,
      kind: 'file',
      reason: 'file-unavailable',
      reader: (off, target) => {
        // Bytes past the end of the file read as zero (the rest of its last page, or beyond).
        const want = off < avail ? Number(min(avail - off, BigInt(target.length))) : 0;
        const got = want > 0 ? fa.readInto(vma.pgoff + off, target.subarray(0, want)) : 0;
        if (got < want) return got;
        target.fill(0, got);
        return target.length;
      },
    };
    return { region, path: found.path };
  }

  private fileInfo(id: number): FileInfo | undefined {
    if (!this.files) this.files = this.loadFiles();
    return this.files.get(id);
  }

  /** files.img (or reg-files.img of older images) and memfd.img: file id → path, size, shmem id. */
  private loadFiles(): Map<number, FileInfo> {
    const out = new Map<number, FileInfo>();
    const memfd = new Map<bigint, { name: string; shmid: number }>();
    const memfdPath = join(this.dir, 'memfd.img');
    if (existsSync(memfdPath)) {
      for (const m of readAll(memfdPath, MEMFD_INODE_MAGIC, memfd_inode_entrySchema))
        memfd.set(m.inodeId, { name: m.name, shmid: m.shmid });
    }
    const filesPath = join(this.dir, 'files.img');
    if (existsSync(filesPath)) {
      for (const f of readAll(filesPath, FILES_MAGIC, file_entrySchema)) {
        if (f.type === FD_TYPE_REG && f.reg) {
          out.set(f.id, {
            path: f.reg.name,
            size: f.reg.size || undefined,
            buildId: buildIdHex(f.reg.buildId),
          });
        } else if (f.type === FD_TYPE_MEMFD && f.memfd) {
          const inode = memfd.get(BigInt(f.memfd.inodeId));
          if (inode) out.set(f.id, { path: inode.name, shmid: inode.shmid });
        }
      }
    } else {
      const regPath = join(this.dir, 'reg-files.img');
      if (!existsSync(regPath)) throw new CheckpointError(`${filesPath}: image missing from the checkpoint`);
      for (const r of readAll(regPath, REG_FILES_MAGIC, reg_file_entrySchema))
        out.set(r.id, { path: r.name, size: r.size || undefined, buildId: buildIdHex(r.buildId) });
    }
    return out;
  }
}

/** Top-level directories that merged-/usr systems alias into /usr (/lib → /usr/lib). */
const USR_MERGED = /^\/(bin|sbin|lib|lib32|lib64|libx32)\//;

/**
 * Opens a checkpointed file under the root, like a debugger's sysroot. The kernel names files by
 * their canonical path (/usr/lib/x86_64-linux-gnu/...), while a root copied by the paths the
 * dynamic loader used may hold them under an alias (/lib/..., /lib64/ld-linux...): the
 * merged-/usr spelling is tried, then the library directories, accepting only a file of the
 * checkpointed size.
 */
function openUnderRoot(
  root: string,
  path: string,
  size: bigint | undefined,
): { file: FileAccess; path: string } | undefined {
  const candidates = [path];
  if (path.startsWith('/usr/') && USR_MERGED.test(path.slice(4))) candidates.push(path.slice(4));
  else if (USR_MERGED.test(path)) candidates.push(`/usr${path}`);
  const base = basename(path);
  if (/\/lib[^/]*\//.test(path)) {
    for (const dir of ['/lib64', '/lib', '/usr/lib64', '/usr/lib', dirname(candidates.at(-1)!)])
      candidates.push(join(dir, base));
  }
  for (const c of new Set(candidates)) {
    let fa: FileAccess;
    try {
      fa = new FileAccess(join(root, c));
    } catch {
      continue;
    }
    if (size === undefined || fa.size === size || c === path) return { file: fa, path: c };
    fa.close();
  }
  return undefined;
}

/** CRIU keeps a build-id as 32-bit words in host (little-endian) order. */
function buildIdHex(words: readonly number[]): string | undefined {
  if (words.length === 0) return undefined;
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => {
    b.writeUInt32LE(w >>> 0, i * 4);
  });
  return b.toString('hex');
}

/**
 * The name of a memfd mapping as /proc/PID/maps shows it. Shared anonymous memory (a memfd
 * named /dev/zero to CRIU) stays nameless, like any anonymous memory: there is no file for
 * NT_FILE to point a debugger at.
 */
function memfdPath(name: string): string | undefined {
  if (name === '/dev/zero') return undefined;
  return `${name.startsWith('/') ? '' : '/'}${name} (deleted)`;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** pr_state / pr_sname for CRIU's task_state (alive, dead, stopped, zombie). */
function taskState(s: number): { state: number; sname: string } {
  if (s === 3) return { state: 3, sname: 'T' };
  if (s === 2 || s === 6) return { state: 4, sname: 'Z' };
  return { state: 1, sname: 'S' };
}

/** The argv block from process memory: its raw bytes and the arguments. */
function readArgs(memory: SplicedAddressSpace, start: bigint, end: bigint): { raw: Buffer; list: string[] } {
  if (end <= start) return { raw: Buffer.alloc(0), list: [] };
  const len = end - start > BigInt(MAX_ARGS_BYTES) ? MAX_ARGS_BYTES : Number(end - start);
  const { data, missing } = memory.read(start, len);
  const raw = missing.length ? data.subarray(0, Number((missing[0]!.start - start) as bigint)) : data;
  const list = raw.toString('utf8').split('\0');
  if (list.length && list[list.length - 1] === '') list.pop();
  return { raw, list };
}

/** A region whose bytes come from a buffer. */
function bufferRegion(start: bigint, data: Buffer): Region {
  return {
    start,
    end: start + BigInt(data.length),
    kind: 'file',
    reader: (off, target) => data.copy(target, 0, Number(off), Number(off) + target.length),
  };
}

/** This process's own [vdso] when it has the given size (the same kernel made both). */
function runningVdso(size: bigint): Buffer | undefined {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const line = maps.split('\n').find((l) => l.endsWith('[vdso]'));
    if (!line) return undefined;
    const [lo, hi] = line
      .split(' ')[0]!
      .split('-')
      .map((h) => BigInt(`0x${h}`));
    if (lo === undefined || hi === undefined || hi - lo !== size) return undefined;
    const fd = openSync('/proc/self/mem', 'r');
    try {
      const buf = Buffer.alloc(Number(size));
      const n = readSync(fd, buf, 0, buf.length, lo);
      return n === buf.length ? buf : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
