// Restore: a ProcessImage made a running process again, in userspace through ptrace. A husk
// process (husk.ts) is seized; its main thread runs system calls coreshot chooses from a page of
// code coreshot maps into it (inject/ drives the thread, sys/ steps it): the husk's own memory
// is unmapped, the kernel's vdso moved where the image had it, every mapping of the image mapped
// at its address (files from disk, checked like the reader checks them; anonymous memory; with
// `lazy`, the core file's own segment data) and filled with the image's bytes, mm bounds and
// auxv set with PR_SET_MM_MAP, the other threads cloned, every thread given its registers,
// extended state and signal mask, and the page of code unmapped through the image's own code.
// Until the final detach the husk (or the copy of it that has the image's pid) is traced with
// PTRACE_O_EXITKILL and killed on any failure: the new process is either complete or gone.

import { closeSync, openSync, readFileSync } from 'node:fs';
import { AT } from '../../abi/auxv.js';
import { EEXIST } from '../../abi/errno.js';
import { AT_FDCWD, O_CLOEXEC, O_RDONLY, O_RDWR } from '../../abi/fcntl.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from '../../abi/mman.js';
import { NT_PRSTATUS, NT_X86_XSAVE_LAYOUT, NT_X86_XSTATE } from '../../abi/notes.js';
import {
  PR_SET_MM,
  PR_SET_MM_MAP,
  PR_SET_NAME,
  PRCTL_MM_MAP_FIELDS,
  PRCTL_MM_MAP_SIZE,
} from '../../abi/prctl.js';
import { SIGKILL, SIGSTOP } from '../../abi/signals.js';
import {
  CLONE_CHILD_CLEARTID,
  CLONE_FILES,
  CLONE_FS,
  CLONE_PARENT,
  CLONE_SIGHAND,
  CLONE_SYSVSEM,
  CLONE_THREAD,
  CLONE_VM,
  type SyscallName,
} from '../../abi/syscalls.js';
import { PT_LOAD } from '../../elf/constants.js';
import { type RecordedState, recordedState } from '../../elf/notes/coreshot.js';
import { XSAVE_HEADER_OFFSET, XSAVE_XCR0_OFFSET } from '../../elf/notes/x86.js';
import { ElfFile } from '../../elf/reader.js';
import { decodeRegisters } from '../../elf/regs/index.js';
import { findDynamicSymbols } from '../../elf/symbols.js';
import { layoutOfArea, relayArea, XsaveLayout, xsaveComponent } from '../../elf/xsave.js';
import { faultPoint } from '../../fault-points.js';
import { refusalText, resolveMappedFile } from '../../host/resolve.js';
import { findGadgets } from '../../inject/gadgets.js';
import { RemoteThread } from '../../inject/remote.js';
import { X86_64 } from '../../inject/x86_64.js';
import { FileAccess } from '../../io/random-access.js';
import type { Mapping, ProcessImage, ThreadState } from '../../model/process-image.js';
import type { LongRunOptions } from '../../model/progress.js';
import { SysError } from '../../sys/libc.js';
import { ProcMem } from '../../sys/mem.js';
import { type ProcMapping, readMaps, readStatus } from '../../sys/proc.js';
import { getRegSet, getRseqConfig, getSigMask, waitThread } from '../../sys/ptrace.js';
import { type BorrowedThread, type SavedState, TracedProcess } from '../../sys/tracee.js';
import { dataRuns, type FileRun, MemoryFiller } from '../../sys/uffd.js';
import { type Husk, startHusk } from './husk.js';
import { restoreFiles, restoreProcessState, restoreThreadState } from './state.js';

/** A restore that cannot be done, worded for the user; nothing was left running. */
export class RestoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreError';
  }
}

export interface RestoreOptions extends LongRunOptions {
  /** Directory under which mapped files are looked up (like gdb's sysroot). */
  root?: string;
  /** Leave the restored process stopped (SIGSTOP), for a debugger. */
  stopped?: boolean;
  /**
   * The uncompressed ELF core the image was read from, and where each mapping's dumped bytes
   * start in it: the new process reads them itself (pread, holes of anonymous memory skipped),
   * where the offset is page-aligned.
   */
  imageFile?: { path: string; offsetOf: (m: Mapping) => bigint | undefined };
  /** Map the image file's segment data instead of copying it (needs `imageFile`). */
  lazy?: boolean;
}

export interface RestoredThread {
  /** The thread's id in the image. */
  was: number;
  tid: number;
}

export interface RestoreResult {
  pid: number;
  threads: RestoredThread[];
  /** What the image held that the new process does not have, each in a few words. */
  notRestored: string[];
}

const PAGE = 4096n;
/** The lowest address a mapping may have (vm.mmap_min_addr's default). */
const MMAP_MIN_ADDR = 0x10000n;
/** The page of code and data coreshot maps into the husk while it builds the process. */
const SCRATCH_SIZE = 64n * 1024n;
/** `syscall`, then rt_sigreturn (`mov $15, %eax; syscall`), where the borrowed thread is held. */
const SCRATCH_CODE = Buffer.from([0x0f, 0x05, 0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]);
/** Scratch data (paths, structures for the calls) starts here in the scratch area. */
const DATA = 4096n;
const CHUNK = 4 << 20;
/** The highest user address on x86_64 with 4-level paging, and the legacy vsyscall page. */
const TASK_SIZE = 0x7ffffffff000n;
const VSYSCALL = 0xffffffffff600000n;
const CAP_SYS_ADMIN = 21n;
/** rseq(2): the length glibc registers, its x86 signature, and the flag that unregisters. */
const RSEQ_LEN = 32;
const RSEQ_SIG = 0x53053053;
const RSEQ_FLAG_UNREGISTER = 1;
const CAP_CHECKPOINT_RESTORE = 40n;

const prot = (m: Mapping) => (m.read ? PROT_READ : 0) | (m.write ? PROT_WRITE : 0) | (m.exec ? PROT_EXEC : 0);
const hex = (v: bigint) => `0x${v.toString(16)}`;
const overlaps = (a: { start: bigint; end: bigint }, b: { start: bigint; end: bigint }) =>
  a.start < b.end && b.start < a.end;

/** Refuses what cannot be restored here, before anything is started. */
function preflight(image: ProcessImage): void {
  if (image.arch.name !== 'x86_64')
    throw new RestoreError(`only x86_64 images can be restored; this one is ${image.arch.name}`);
  if (image.threads.length === 0) throw new RestoreError('the image has no threads');
  const status = readFileSync('/proc/self/status', 'utf8');
  const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  const missing = [
    [CAP_CHECKPOINT_RESTORE, 'CAP_CHECKPOINT_RESTORE'],
    [CAP_SYS_ADMIN, 'CAP_SYS_ADMIN'],
  ].filter(([bit]) => !((capEff >> (bit as bigint)) & 1n));
  if (missing.length > 0)
    throw new RestoreError(
      `restore needs root, or ${missing.map(([, n]) => n).join(' and ')} (to set the new process's memory layout with PR_SET_MM_MAP)`,
    );
  for (const m of image.mappings) {
    if (m.start < MMAP_MIN_ADDR && m.end > 0n)
      throw new RestoreError(`mapping ${hex(m.start)}-${hex(m.end)} lies below vm.mmap_min_addr`);
    if (m.end > TASK_SIZE && m.start !== VSYSCALL)
      throw new RestoreError(`mapping ${hex(m.start)}-${hex(m.end)} lies above the user address space`);
  }
}

/**
 * Where each mapped file of the image is on this machine (host/resolve.ts: under the root, its
 * aliases, checked by build-id), or undefined for a file that is missing but whose every mapping
 * the image holds whole (it becomes anonymous memory with the image's bytes). Refuses any other
 * file it cannot use.
 */
function resolveFiles(image: ProcessImage, opts: RestoreOptions): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const m of image.mappings) {
    if (!fileBacked(m) || out.get(m.path)) continue;
    const found = resolveMappedFile(m.path, m.buildId ? { buildId: m.buildId } : {}, { root: opts.root });
    if (found.ok) {
      found.file.close();
      out.set(m.path, found.hostPath);
      continue;
    }
    const whole = image.mappings
      .filter((x) => x.path === m.path)
      .every((x) => x.dumped >= x.end - x.start && !x.shared);
    if (found.reason !== 'missing' || !whole)
      throw new RestoreError(`mapped file ${m.path}: ${refusalText(found)}`);
    out.set(m.path, undefined);
  }
  return out;
}

/** A mapping of a file (not a pseudo path such as [heap], not a deleted file). */
function fileBacked(m: Mapping): m is Mapping & { path: string } {
  return m.path?.startsWith('/') === true && !m.path.endsWith(' (deleted)');
}

/** The husk's threads running system calls from the scratch page. */
class Builder {
  readonly pid: number;
  readonly tp: TracedProcess;
  readonly mem: ProcMem;
  readonly notRestored: string[];
  readonly husk: SavedState;
  private readonly threads = new Map<number, BorrowedThread>();
  private codeAt: bigint;
  scratch = 0n;
  private dataUsed = 0n;

  /** `scratch`: the scratch page the process already has (it was forked from a husk that had it). */
  constructor(pid: number, tp: TracedProcess, notRestored: string[] = [], scratch?: bigint) {
    this.pid = pid;
    this.tp = tp;
    this.notRestored = notRestored;
    this.mem = new ProcMem(pid, true);
    this.husk = {
      regs: getRegSet(pid, NT_PRSTATUS),
      xstate: getRegSet(pid, NT_X86_XSTATE),
      sigmask: getSigMask(pid),
    };
    this.borrow(pid);
    if (scratch !== undefined) {
      this.scratch = scratch;
      this.codeAt = scratch;
      return;
    }
    // Until the scratch page exists, the code is written over the husk's own text (a private
    // copy: the husk is coreshot's to use up).
    const text = readMaps(pid, false).find((m) => m.perms.startsWith('r-x'));
    if (!text) throw new Error('the husk has no executable mapping');
    this.codeAt = text.start;
    this.mem.write(this.codeAt, SCRATCH_CODE);
  }

  /** Lends a held thread of the new process to the calls (`callIn`). */
  borrow(tid: number): void {
    const thread = this.tp.borrow(tid, this.husk, {
      abi: X86_64,
      resume: this.husk.regs,
      traceClone: true,
      traceFork: true,
      exitKill: true,
      onPhase: faultPoint,
    });
    this.threads.set(tid, thread);
  }

  /** Runs one system call in the main thread; an error return throws SysError naming it. */
  call(name: SyscallName, ...args: bigint[]): bigint {
    return this.callIn(this.pid, name, ...args);
  }

  /** Runs one system call in thread `tid` (borrowed). */
  callIn(tid: number, name: SyscallName, ...args: bigint[]): bigint {
    const nr = X86_64.syscalls[name];
    const regs = X86_64.syscallRegisters(this.husk.regs, {
      nr,
      args,
      at: this.codeAt,
      sp: this.scratch ? this.scratch + SCRATCH_SIZE : X86_64.stackPointer(this.husk.regs),
      sigreturn: 0n,
    });
    const r = this.thread(tid).step(regs, nr);
    if (r === undefined) throw new Error(`${name} did not run in the new process`);
    if (r < 0n && r >= -4095n) throw new SysError(name, Number(-r));
    return r;
  }

  private thread(tid: number): BorrowedThread {
    const t = this.threads.get(tid);
    if (!t) throw new Error(`thread ${tid} is not borrowed`);
    return t;
  }

  /** The thread (or process) the last clone of the main thread created. */
  get child(): number | undefined {
    return this.thread(this.pid).child;
  }

  /** Maps the scratch page at a hole free in the husk and in the image, and moves the code there. */
  mapScratch(image: ProcessImage): void {
    const husk = readMaps(this.pid, false);
    const taken = [...husk, ...image.mappings];
    for (let at = 0x100000000n; at < TASK_SIZE; at += 1n << 30n) {
      const want = { start: at, end: at + SCRATCH_SIZE };
      if (taken.some((m) => overlaps(m, want))) continue;
      const rwx = BigInt(PROT_READ | PROT_WRITE | PROT_EXEC);
      this.call(
        'mmap',
        at,
        SCRATCH_SIZE,
        rwx,
        BigInt(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE),
        -1n,
        0n,
      );
      this.scratch = at;
      this.mem.write(at, SCRATCH_CODE);
      this.codeAt = at;
      return;
    }
    throw new RestoreError("no room for coreshot's scratch page in the image's address space");
  }

  /** Puts bytes in the scratch data area and returns their address (valid until `clearData`). */
  data(bytes: Buffer): bigint {
    const at = this.scratch + DATA + this.dataUsed;
    if (DATA + this.dataUsed + BigInt(bytes.length) > SCRATCH_SIZE) throw new Error('scratch data area full');
    this.mem.write(at, bytes);
    this.dataUsed += (BigInt(bytes.length) + 15n) & ~15n;
    return at;
  }

  clearData(): void {
    this.dataUsed = 0n;
  }

  /** Puts thread `tid` back in an interrupt stop with its final state. */
  finish(tid: number, state: SavedState): void {
    this.thread(tid).release({ saved: state, resume: state.regs });
  }
}

/** The final state of an image thread, laid out for this CPU. */
function finalState(t: ThreadState, image: ProcessImage, host: SavedState): SavedState {
  const regs = Buffer.from(t.gpRegs);
  const xs = t.regsets.find((r) => r.type === NT_X86_XSTATE)?.data;
  let xstate = host.xstate;
  if (xs && xs.length >= 576) {
    const xcr0 = xs.readBigUInt64LE(XSAVE_XCR0_OFFSET);
    const inUse = xs.readBigUInt64LE(XSAVE_HEADER_OFFSET);
    const hostXcr0 = host.xstate.readBigUInt64LE(XSAVE_XCR0_OFFSET);
    if (inUse & ~hostXcr0)
      throw new RestoreError(
        `thread ${t.tid} uses XSAVE state components this CPU lacks (xstate_bv ${hex(inUse)}, this CPU's XCR0 ${hex(hostXcr0)})`,
      );
    const from = recordedLayout(image, xcr0, xs.length);
    const to = layoutOfArea(hostXcr0, host.xstate.length);
    if (!from || !to)
      throw new RestoreError(`thread ${t.tid}: the image's XSAVE area has a layout coreshot does not know`);
    xstate = relayArea(xs, from, host.xstate, to);
  }
  return { regs: X86_64.restartWithoutBlock(regs), xstate, sigmask: t.status.sighold };
}

/** The XSAVE layout of the image: NT_X86_XSAVE_LAYOUT when the image has it, else from the size. */
function recordedLayout(image: ProcessImage, xcr0: bigint, size: number): XsaveLayout | undefined {
  const note = image.extraNotes.find((n) => n.type === NT_X86_XSAVE_LAYOUT && n.owner === 'LINUX');
  if (!note) return layoutOfArea(xcr0, size);
  const comps = [];
  for (let o = 0; o + 16 <= note.desc.length; o += 16)
    comps.push(
      xsaveComponent(note.desc.readUInt32LE(o), note.desc.readUInt32LE(o + 8), note.desc.readUInt32LE(o + 4)),
    );
  return new XsaveLayout(comps, 'NT_X86_XSAVE_LAYOUT of the image');
}

/** Where glibc keeps each thread's tid in its struct pthread: an offset from the thread pointer. */
function tidOffset(image: ProcessImage, mem: (addr: bigint, n: number) => Buffer): bigint | undefined {
  const SPAN = 0x1000;
  let common: Set<number> | undefined;
  for (const t of image.threads) {
    const tp = decodeRegisters(image.arch, t.gpRegs).get('fs.base') ?? 0n;
    if (tp === 0n) return undefined;
    const tcb = mem(tp, SPAN);
    const here = new Set<number>();
    for (let o = 0; o + 4 <= tcb.length; o += 4) if (tcb.readInt32LE(o) === t.tid) here.add(o);
    common = common ? new Set([...common].filter((o) => here.has(o))) : here;
  }
  return common?.size === 1 ? BigInt([...common][0]!) : undefined;
}

/**
 * The mm bounds PR_SET_MM_MAP needs, from what an image holds: code and data from the
 * executable's mappings (the one mapped at AT_ENTRY), the heap as the anonymous mapping right
 * after them, argv and the environment from the initial stack (found through the copy of the
 * auxiliary vector that precedes the strings).
 */
function mmBounds(image: ProcessImage): Record<(typeof PRCTL_MM_MAP_FIELDS)[number], bigint> {
  const auxv = (type: number) => image.auxv.find((a) => a.type === BigInt(type))?.value;
  const entry = auxv(AT.ENTRY) ?? 0n;
  const exeMap = image.mappings.find((m) => m.start <= entry && entry < m.end);
  const exe = exeMap?.path ? image.mappings.filter((m) => m.path === exeMap.path) : exeMap ? [exeMap] : [];
  const code = exe.find((m) => m.exec) ?? exe[0];
  const data = [...exe].reverse().find((m) => m.write) ?? exe[exe.length - 1];
  const exeEnd = exe.reduce((e, m) => (m.end > e ? m.end : e), code?.end ?? 0n);
  const after = image.mappings.find((m) => m.start >= exeEnd);
  const heap = after && !after.path && after.write && after.start - exeEnd < 1n << 30n ? after : undefined;
  const stack = image.mappings.find((m) => {
    const fn = auxv(AT.EXECFN);
    return fn !== undefined && m.start <= fn && fn < m.end;
  });
  const bounds = {
    start_code: code?.start ?? 0n,
    end_code: code?.end ?? 0n,
    start_data: data?.start ?? 0n,
    end_data: data?.end ?? 0n,
    start_brk: heap?.start ?? exeEnd,
    brk: heap?.end ?? exeEnd,
    start_stack: stack ? stack.end - 8n : 0n,
    arg_start: 0n,
    arg_end: 0n,
    env_start: 0n,
    env_end: 0n,
  };
  if (stack) Object.assign(bounds, argvBounds(image, stack));
  return bounds;
}

/** argv and envp string bounds from the stack: argc, argv[], NULL, envp[], NULL, auxv. */
function argvBounds(image: ProcessImage, stack: Mapping): Partial<Record<string, bigint>> {
  const auxBytes = Buffer.alloc(image.auxv.length * 16);
  image.auxv.forEach((a, i) => {
    auxBytes.writeBigUInt64LE(a.type, i * 16);
    auxBytes.writeBigUInt64LE(a.value, i * 16 + 8);
  });
  const span = stack.end - stack.start < 1n << 20n ? stack.end - stack.start : 1n << 20n;
  const from = stack.end - span;
  const bytes = image.memory.read(from, Number(span)).data;
  const at = bytes.indexOf(auxBytes.subarray(0, 32));
  if (at < 0 || at % 8 !== 0) return {};
  const word = (o: number) => bytes.readBigUInt64LE(o);
  let o = at - 8; // the NULL ending envp
  const env: bigint[] = [];
  for (o -= 8; o >= 0 && word(o) !== 0n; o -= 8) env.unshift(word(o));
  const args: bigint[] = [];
  for (o -= 8; o >= 0 && word(o) >= stack.start && word(o) < stack.end; o -= 8) args.unshift(word(o));
  const strEnd = (p: bigint | undefined) => {
    if (p === undefined) return 0n;
    const i = bytes.indexOf(0, Number(p - from));
    return i < 0 ? 0n : from + BigInt(i) + 1n;
  };
  return {
    arg_start: args[0] ?? 0n,
    arg_end: strEnd(args[args.length - 1]),
    env_start: env[0] ?? 0n,
    env_end: strEnd(env[env.length - 1]),
  };
}

/**
 * Builds a running process from `image` and lets it go (or leaves it stopped). Throws
 * RestoreError (or SysError) with nothing left running when it cannot.
 */
export async function restoreProcess(image: ProcessImage, opts: RestoreOptions = {}): Promise<RestoreResult> {
  preflight(image);
  const files = resolveFiles(image, opts);
  const husk: Husk = await startHusk();
  // The processes to end if the restore fails: the husk until it is ended (its pid may be
  // someone else's after that), and the copy with the image's pid once there is one.
  const ours = [husk.pid];
  let done = false;
  try {
    let b = new Builder(husk.pid, TracedProcess.seize(husk.pid));
    faultPoint('husk-held');
    b.mapScratch(image);
    const forked = forkWithPid(b, image.threads[0]!.tid);
    if (forked) {
      ours.push(forked.pid);
      b = forked;
      endTraced(ours.shift()!);
    }
    const result = build(image, b, opts, files);
    done = true;
    return result;
  } finally {
    husk.close();
    if (!done) for (const pid of ours) endTraced(pid);
  }
}

/** SIGKILLs a process coreshot traces and collects its exit, so that its parent can reap it. */
function endTraced(pid: number): void {
  try {
    process.kill(pid, SIGKILL);
  } catch {
    return; // already gone
  }
  for (;;) {
    try {
      const st = waitThread(pid, 10_000);
      if (st === null || st.kind !== 'stopped') return;
    } catch {
      return; // collected
    }
  }
}

/** struct clone_args up to set_tid_size (CLONE_ARGS_SIZE_VER1): eleven u64 but cgroup. */
const CLONE_ARGS_SIZE = 80;

/** clone3's arguments: `flags`, `child_tid`, and the one id asked for (exit_signal 0). */
function cloneArgs(b: Builder, flags: bigint, ctid: bigint, id: number): bigint {
  const want = Buffer.alloc(4);
  want.writeInt32LE(id);
  const args = Buffer.alloc(CLONE_ARGS_SIZE);
  args.writeBigUInt64LE(flags, 0);
  args.writeBigUInt64LE(ctid, 16); // child_tid
  args.writeBigUInt64LE(b.data(want), 64); // set_tid
  args.writeBigUInt64LE(1n, 72); // set_tid_size
  return b.data(args);
}

/**
 * The process id of the image when it is free and permitted: the husk forks a copy of itself
 * with that id (clone3 with set_tid; CLONE_PARENT, so that the copy, like the husk, is a child of
 * the husk's parent, not of coreshot), which the restore goes on in; the copy is traced from its
 * first instruction and dies with coreshot like the husk. Returns its builder, or undefined
 * (with the reason in notRestored) when the husk itself must do: the id is taken, or no privilege.
 */
function forkWithPid(b: Builder, pid: number): Builder | undefined {
  if (pid === b.pid) return undefined;
  try {
    // With CLONE_PARENT the exit signal is the husk's own (SIGCHLD): clone3 wants 0 here.
    b.call('clone3', cloneArgs(b, BigInt(CLONE_PARENT), 0n, pid), BigInt(CLONE_ARGS_SIZE));
  } catch (err) {
    if (!(err instanceof SysError)) throw err;
    const why = err.errno === EEXIST ? 'taken' : err.code;
    b.notRestored.push(`process id ${pid} (${why}): the process has the husk's, ${b.pid}`);
    return undefined;
  } finally {
    b.clearData();
  }
  const child = b.child;
  if (child !== pid) throw new Error(`the process cloned with id ${pid} was reported as ${child}`);
  try {
    const tp = TracedProcess.adoptForked(child);
    faultPoint('process-cloned');
    return new Builder(child, tp, b.notRestored, b.scratch);
  } catch (err) {
    endTraced(child);
    throw err;
  }
}

function build(
  image: ProcessImage,
  b: Builder,
  opts: RestoreOptions,
  files: Map<string, string | undefined>,
): RestoreResult {
  const { pid, mem } = b;
  const notRestored = b.notRestored;
  const states = image.threads.map((t) => finalState(t, image, b.husk));
  // Take everything of the husk's but the kernel's special mappings and the scratch page.
  const own = getRseqConfig(pid);
  if (own.size > 0)
    b.call('rseq', own.address, BigInt(own.size), BigInt(RSEQ_FLAG_UNREGISTER), BigInt(own.signature));
  const huskMaps = readMaps(pid, false);
  const keep = (m: ProcMapping) => m.path.startsWith('[v') || m.start === b.scratch;
  for (const m of huskMaps) if (!keep(m)) b.call('munmap', m.start, m.end - m.start);
  b.call('close_range', 0n, 0xffffffffn, 0n);
  faultPoint('husk-emptied');
  const special = moveVdso(image, b, huskMaps);
  mapAll(image, b, opts, files, special, notRestored);
  faultPoint('memory-mapped');
  writeAll(image, b, opts, special);
  faultPoint('memory-written');
  const recorded = recordedState(
    image.arch,
    image.extraNotes,
    image.threads.map((t) => t.regsets),
  );
  setMm(image, b, recorded, notRestored);
  restoreFiles(b, recorded, opts.root);
  const husk = readStatus(`/proc/${pid}/status`);
  const mask = (key: string) => BigInt(`0x${husk.get(key) ?? '0'}`);
  restoreProcessState(b, recorded, opts.root, mask('SigIgn') | mask('SigCgt'));
  b.call(
    'prctl',
    BigInt(PR_SET_NAME),
    b.data(Buffer.from(`${image.process.comm.slice(0, 15)}\0`)),
    0n,
    0n,
    0n,
  );
  b.clearData();
  // Threads: the image's first is the husk's main thread; the others are cloned from it.
  const off = tidOffset(image, (a, n) => image.memory.read(a, n).data);
  const tps = image.threads.map((t) => decodeRegisters(image.arch, t.gpRegs).get('fs.base') ?? 0n);
  const clearTid = (i: number) =>
    recorded.threads[i]?.clear_child_tid ?? (off === undefined ? 0n : tps[i]! + off);
  const tids = [pid];
  const flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  const taken: string[] = [];
  for (let i = 1; i < image.threads.length; i++) {
    const ctid = clearTid(i);
    const cloneFlags = BigInt(flags | (ctid === 0n ? 0 : CLONE_CHILD_CLEARTID));
    const why = cloneWithTid(b, cloneFlags, ctid, image.threads[i]!.tid);
    if (why) {
      taken.push(`${image.threads[i]!.tid} (${why})`);
      b.call('clone', cloneFlags, 0n, 0n, ctid, 0n);
    }
    const child = b.child;
    if (child === undefined || tids.includes(child)) throw new Error('the cloned thread was not reported');
    b.tp.adopt(child);
    b.borrow(child);
    tids.push(child);
  }
  if (taken.length > 0) notRestored.push(`thread ids, new ones instead of: ${taken.join(', ')}`);
  b.call('set_tid_address', clearTid(0));
  if (off !== undefined) {
    image.threads.forEach((_, i) => {
      const t = Buffer.alloc(4);
      t.writeInt32LE(tids[i]!);
      mem.write(tps[i]! + off, t);
    });
  } else if (image.threads.some((t, i) => t.tid !== tids[i])) {
    notRestored.push("thread ids: new ones, and the C library's record of them was not found");
  }
  const rseq = glibcRseq(image, files);
  for (const [i, tid] of tids.entries()) {
    const rec = recorded.threads[i];
    if (rec) restoreThreadState(b, tid, rec);
    if (rec && rec.rseq.size > 0)
      b.callIn(tid, 'rseq', rec.rseq.address, BigInt(rec.rseq.size), 0n, BigInt(rec.rseq.signature));
    else if (!rec && rseq !== undefined)
      b.callIn(tid, 'rseq', tps[i]! + rseq, BigInt(RSEQ_LEN), 0n, BigInt(RSEQ_SIG));
  }
  const unrecorded = recorded.threads.filter((t) => !t).length;
  if (unrecorded > 0) {
    notRestored.push(
      `${unrecorded} thread(s) without their recorded state: no sigaltstack, no robust futex list${rseq === undefined ? ', no rseq (no C library registration found in the image)' : ''}`,
    );
  }
  tids.forEach((tid, i) => {
    b.finish(tid, states[i]!);
  });
  faultPoint('threads-set');
  unmapScratch(b, states[0]!, notRestored);
  if (opts.stopped) process.kill(pid, SIGSTOP);
  b.tp.detach();
  mem.close();
  return { pid, threads: image.threads.map((t, i) => ({ was: t.tid, tid: tids[i]! })), notRestored };
}

/**
 * Clones a thread of the new process with thread id `tid` (clone3 with set_tid: root, or
 * CAP_CHECKPOINT_RESTORE in the PID namespace). Returns why not (the id is taken, no
 * privilege); the caller then clones one with a new id.
 */
function cloneWithTid(b: Builder, flags: bigint, ctid: bigint, tid: number): string | undefined {
  try {
    b.call('clone3', cloneArgs(b, flags, ctid, tid), BigInt(CLONE_ARGS_SIZE));
    return undefined;
  } catch (err) {
    if (!(err instanceof SysError)) throw err;
    return err.errno === EEXIST ? 'taken' : err.code;
  } finally {
    b.clearData();
  }
}

/**
 * Moves the kernel's vdso (and the vvar pages it reads, which lie at a fixed distance from it)
 * to where the image had its vdso, after checking that the image's vdso is this kernel's: code
 * of the image may hold addresses inside it. Returns the ranges they now occupy.
 */
function moveVdso(
  image: ProcessImage,
  b: Builder,
  husk: readonly ProcMapping[],
): { start: bigint; end: bigint }[] {
  const recorded = image.auxv.find((a) => a.type === BigInt(AT.SYSINFO_EHDR))?.value;
  const vdso = husk.find((m) => m.path === '[vdso]');
  const specials = husk.filter((m) => m.path === '[vdso]' || m.path.startsWith('[vvar'));
  if (recorded === undefined || !vdso) {
    b.notRestored.push("[vdso]: the image records none; this kernel's stays where it is");
    return specials;
  }
  const size = vdso.end - vdso.start;
  const theirs = image.memory.read(recorded, Number(size));
  if (theirs.missing.length > 0) {
    b.notRestored.push("[vdso]: not in the image, so not compared with this kernel's");
  } else if (!theirs.data.equals(b.mem.read(vdso.start, Number(size)))) {
    throw new RestoreError(
      "the image's vdso differs from this kernel's (the image was made under another kernel): its code may jump into the old vdso",
    );
  }
  const delta = recorded - vdso.start;
  const order = [...specials].sort((x, y) =>
    delta > 0n ? (x.start > y.start ? -1 : 1) : x.start < y.start ? -1 : 1,
  );
  if (delta !== 0n) {
    for (const m of order) {
      const len = m.end - m.start;
      b.call('mremap', m.start, len, len, BigInt(MREMAP_MAYMOVE | MREMAP_FIXED), m.start + delta);
    }
  }
  return specials.map((m) => ({ start: m.start + delta, end: m.end + delta }));
}

/** Maps every mapping of the image at its address with its protections. */
function mapAll(
  image: ProcessImage,
  b: Builder,
  opts: RestoreOptions,
  files: Map<string, string | undefined>,
  special: readonly { start: bigint; end: bigint }[],
  notRestored: string[],
): void {
  const fds = new Map<string, bigint>();
  const open = (path: string, write: boolean) => {
    const key = `${write ? 'w' : 'r'}${path}`;
    let fd = fds.get(key);
    if (fd === undefined) {
      fd = b.call(
        'openat',
        BigInt(AT_FDCWD),
        b.data(Buffer.from(`${path}\0`)),
        BigInt(write ? O_RDWR : O_RDONLY),
        0n,
      );
      b.clearData();
      fds.set(key, fd);
    }
    return fd;
  };
  let sharedAnon = 0;
  const missingFiles = [...files].filter(([, host]) => host === undefined).map(([path]) => path);
  for (const p of missingFiles)
    notRestored.push(`${p}: not found, its mappings are anonymous memory with the image's bytes`);
  for (const m of restorable(image, special)) {
    const len = m.end - m.start;
    const share = m.shared ? MAP_SHARED : MAP_PRIVATE;
    const p = BigInt(prot(m));
    const host = fileBacked(m) ? files.get(m.path) : undefined;
    if (host) {
      const fd = open(host, m.shared === true && m.write);
      b.call('mmap', m.start, len, p, BigInt(share | MAP_FIXED), fd, m.offset);
    } else {
      if (m.shared) sharedAnon++;
      b.call('mmap', m.start, len, p, BigInt(share | MAP_ANONYMOUS | MAP_FIXED), -1n, 0n);
    }
    const at = opts.imageFile?.offsetOf(m);
    if (opts.lazy && opts.imageFile && at !== undefined && m.dumped > 0n && at % PAGE === 0n && !m.shared) {
      const fd = open(opts.imageFile.path, false);
      b.call(
        'mmap',
        m.start,
        (m.dumped + PAGE - 1n) & ~(PAGE - 1n),
        p,
        BigInt(MAP_PRIVATE | MAP_FIXED),
        fd,
        at,
      );
    }
  }
  for (const fd of fds.values()) b.call('close', fd);
  if (sharedAnon > 0)
    notRestored.push(
      `shared memory: ${sharedAnon} shared anonymous mapping(s) are shared with no other process now`,
    );
}

/** The image's mappings a process can have: not the vsyscall page, not the kernel's vdso/vvar. */
function restorable(image: ProcessImage, special: readonly { start: bigint; end: bigint }[]): Mapping[] {
  return image.mappings.filter((m) => m.start < TASK_SIZE && !special.some((s) => overlaps(s, m)));
}

/**
 * Copies the image's bytes into the new process. From an uncompressed image file, where a
 * mapping's data starts page-aligned: anonymous memory through the new process's userfaultfd
 * (no page zeroed first), else read by the process itself; only the file's data runs of
 * anonymous memory (its holes are zero pages, which fresh anonymous memory already is).
 * Otherwise written through /proc/PID/mem, zero pages of fresh anonymous memory skipped.
 */
function writeAll(
  image: ProcessImage,
  b: Builder,
  opts: RestoreOptions,
  special: readonly { start: bigint; end: bigint }[],
): void {
  const buf = Buffer.allocUnsafe(CHUNK);
  const file = opts.imageFile;
  let local: number | undefined; // the image file, opened in coreshot
  let remote: bigint | undefined; // the same, opened in the new process
  let filler: MemoryFiller | null | undefined;
  try {
    for (const m of restorable(image, special)) {
      if (m.dumped === 0n || (m.shared && fileBacked(m))) continue;
      const at = file?.offsetOf(m);
      const anon = !fileBacked(m);
      if (file === undefined || at === undefined || at % PAGE !== 0n || m.shared) {
        writeThrough(image, b, m, anon, buf, opts.signal);
      } else if (!opts.lazy) {
        local ??= openSync(file.path, 'r');
        const runs = anon ? dataRuns(local, at, at + m.dumped) : [{ start: at, end: at + m.dumped }];
        if (anon) filler ??= openFiller(b);
        if (anon && filler) filler.fill(m.start, m.end, local, at, runs);
        else {
          remote ??= b.call(
            'openat',
            BigInt(AT_FDCWD),
            b.data(Buffer.from(`${file.path}\0`)),
            BigInt(O_RDONLY),
            0n,
          );
          b.clearData();
          readIn(b, remote, m, at, runs);
        }
      }
      opts.signal?.throwIfAborted();
    }
  } finally {
    filler?.close();
    if (local !== undefined) closeSync(local);
  }
  if (remote !== undefined) b.call('close', remote);
}

/** Writes a mapping's bytes through /proc/PID/mem: the pages the image holds, not zero ones. */
function writeThrough(
  image: ProcessImage,
  b: Builder,
  m: Mapping,
  anon: boolean,
  buf: Buffer,
  signal: AbortSignal | undefined,
): void {
  const end = m.start + m.dumped;
  for (let addr = m.start; addr < end; addr += BigInt(CHUNK)) {
    const n = Number(end - addr < BigInt(CHUNK) ? end - addr : BigInt(CHUNK));
    const view = buf.subarray(0, n);
    const missing = image.memory.readInto(addr, view);
    // Runs of pages worth writing: available, and (in anonymous memory) not all zero.
    let run = -1;
    for (let o = 0; o <= n; o += Number(PAGE)) {
      const page = addr + BigInt(o);
      const skip =
        o === n ||
        missing.some((r) => r.start < page + PAGE && page < r.end) ||
        (anon && isZero(view, o, Math.min(o + Number(PAGE), n)));
      if (!skip && run < 0) run = o;
      if (skip && run >= 0) {
        b.mem.write(addr + BigInt(run), view.subarray(run, o));
        run = -1;
      }
    }
    signal?.throwIfAborted();
  }
}

/**
 * A userfaultfd of the new process, taken into coreshot (the process's own descriptor closed at
 * once): null when the kernel refuses one (the process then reads its anonymous memory itself).
 */
function openFiller(b: Builder): MemoryFiller | null {
  let remote: bigint;
  try {
    remote = b.call('userfaultfd', BigInt(O_CLOEXEC));
  } catch (err) {
    if (err instanceof SysError) return null;
    throw err;
  }
  try {
    return new MemoryFiller(b.pid, Number(remote));
  } catch (err) {
    if (err instanceof SysError) return null;
    throw err;
  } finally {
    b.call('close', remote);
  }
}

/**
 * The new process reads runs `runs` of the image file (open in it as `fd`) into mapping `m`,
 * whose dumped bytes start at offset `at`: pread64, one copy in the kernel. A mapping without
 * write permission is made writable for the while.
 */
function readIn(b: Builder, fd: bigint, m: Mapping, at: bigint, runs: readonly FileRun[]): void {
  const len = m.end - m.start;
  if (!m.write) b.call('mprotect', m.start, len, BigInt(prot(m) | PROT_WRITE));
  for (const r of runs) {
    for (let o = r.start; o < r.end; ) {
      const n = b.call('pread64', fd, m.start + (o - at), r.end - o, o);
      if (n === 0n) break; // the file ends early: the rest stays zero
      o += n;
    }
  }
  if (!m.write) b.call('mprotect', m.start, len, BigInt(prot(m)));
}

const ZERO_PAGE = Buffer.alloc(Number(PAGE));

/** Whether bytes `from` to `to` (at most a page) are all zero (a native compare). */
function isZero(b: Buffer, from: number, to: number): boolean {
  return b.subarray(from, to).equals(ZERO_PAGE.subarray(0, to - from));
}

/** The mm bounds, auxv and executable of the new process (PR_SET_MM_MAP). */
function setMm(image: ProcessImage, b: Builder, recorded: RecordedState, notRestored: string[]): void {
  const bounds = recorded.process?.mm ?? mmBounds(image);
  const auxv = Buffer.alloc(image.auxv.length * 16);
  image.auxv.forEach((a, i) => {
    auxv.writeBigUInt64LE(a.type, i * 16);
    auxv.writeBigUInt64LE(a.value, i * 16 + 8);
  });
  const exe = image.process.executable ?? image.mappings.find((m) => m.start === bounds.start_code)?.path;
  let exeFd = -1n;
  if (exe) {
    try {
      exeFd = b.call('openat', BigInt(AT_FDCWD), b.data(Buffer.from(`${exe}\0`)), BigInt(O_RDONLY), 0n);
    } catch {
      notRestored.push(`executable link: ${exe} cannot be opened`);
    }
  }
  const map = Buffer.alloc(PRCTL_MM_MAP_SIZE);
  PRCTL_MM_MAP_FIELDS.forEach((f, i) => {
    map.writeBigUInt64LE(bounds[f], i * 8);
  });
  const n = PRCTL_MM_MAP_FIELDS.length * 8;
  map.writeBigUInt64LE(b.data(auxv), n);
  map.writeUInt32LE(auxv.length, n + 8);
  map.writeInt32LE(Number(exeFd), n + 12);
  try {
    b.call('prctl', BigInt(PR_SET_MM), BigInt(PR_SET_MM_MAP), b.data(map), BigInt(PRCTL_MM_MAP_SIZE), 0n);
  } catch (err) {
    if (!(err instanceof SysError)) throw err;
    notRestored.push(`mm bounds (brk, argv, environment, auxv): the kernel refused them (${err.code})`);
  }
  if (exeFd >= 0n) b.call('close', exeFd);
  b.clearData();
}

/** Unmaps the scratch page through the image's own code (a system call instruction of its vdso or libc). */
function unmapScratch(b: Builder, state: SavedState, notRestored: string[]): void {
  const maps = readMaps(b.pid, false).filter((m) => m.start !== b.scratch);
  const gadgets = findGadgets(X86_64, b.mem, maps);
  const remote =
    gadgets &&
    RemoteThread.open(b.tp, b.pid, state, { arch: X86_64, gadgets, mem: b.mem, maps, exitKill: true });
  if (!remote || typeof remote === 'string') {
    notRestored.push(
      `coreshot's scratch page stays mapped at ${hex(b.scratch)}: ${remote || 'no system call instruction in the image'}`,
    );
    return;
  }
  try {
    remote.syscall('munmap', b.scratch, SCRATCH_SIZE);
  } finally {
    remote.release();
  }
}

/**
 * Where glibc (2.35 and later) keeps each thread's struct rseq: at __rseq_offset from the thread
 * pointer, when __rseq_size is not 0. Both are variables of the dynamic loader, read from the
 * image's memory at the addresses its symbol table gives.
 */
function glibcRseq(image: ProcessImage, files: Map<string, string | undefined>): bigint | undefined {
  const ld = image.mappings.find((m) => m.offset === 0n && m.path && /\/ld-linux[^/]*\.so/.test(m.path));
  if (!ld?.path) return undefined;
  let elf: ElfFile | undefined;
  const host = files.get(ld.path);
  if (!host) return undefined;
  const file = new FileAccess(host);
  try {
    elf = ElfFile.open(file);
    const syms = findDynamicSymbols(elf, ['__rseq_offset', '__rseq_size']);
    const at = (name: string) => {
      const s = syms.get(name);
      return s && ld.start + s.value - firstLoad(elf!);
    };
    const offAt = at('__rseq_offset');
    const sizeAt = at('__rseq_size');
    if (offAt === undefined || sizeAt === undefined) return undefined;
    const size = image.memory.read(sizeAt, 4);
    const off = image.memory.read(offAt, 8);
    if (size.missing.length || off.missing.length || size.data.readUInt32LE(0) === 0) return undefined;
    return BigInt.asUintN(64, off.data.readBigInt64LE(0));
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/** The link-time address of an ELF file's first PT_LOAD (0 for shared objects). */
function firstLoad(elf: ElfFile): bigint {
  const load = elf.programHeaders.find((p) => p.p_type === PT_LOAD);
  return load ? load.p_vaddr - (load.p_vaddr % PAGE) : 0n;
}
