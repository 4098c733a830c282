/**
 * `coreshot stack`: opens a core, a CRIU checkpoint or a live process, unwinds every thread
 * (src/analysis/stack), names each frame and prints the frames in gdb's style or as JSON.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadModules, type ModuleSet } from '../../analysis/modules.js';
import { type RawFrame, StackError, type ThreadUnwind, unwindImage } from '../../analysis/stack/index.js';
import { symbolize } from '../../analysis/symbols/symbolize.js';
import type { ProcessImage } from '../../model/process-image.js';
import { UserError } from '../errors.js';
import { hex } from '../format.js';
import { toJson } from '../json.js';
import { openImage } from '../open-image.js';

export interface StackViewOptions {
  exe?: string;
  root?: string;
  debugDir?: string[];
  thread?: number;
  pid?: number;
  json?: boolean;
}

/** One frame as printed: the JSON contract of `coreshot stack --json`. */
export interface FrameOut {
  pc: string;
  function: string | null;
  /** The Itanium-mangled name of a C++ function (`function` is its demangled form). */
  mangled: string | null;
  /** From the function's start, or from the module's link-time address 0 when no symbol names it. */
  offset: number | null;
  module: string | null;
  buildId: string | null;
  file: string | null;
  line: number | null;
  inline: boolean;
  how: RawFrame['how'];
}

export interface ThreadOut {
  tid: number;
  name: string | null;
  frames: FrameOut[];
  /** Why the backtrace ends early (text output only). */
  stopped?: string;
  /** The frame is a signal trampoline (text output only). */
  signal: boolean[];
}

interface Collected {
  threads: ThreadOut[];
  notes: string[];
  width: number;
}

/** The unwound threads of an image, with the modules that name their frames (open until named). */
interface Unwound {
  modules: ModuleSet;
  threads: (ThreadUnwind & { name: string | null })[];
  notes: string[];
  width: number;
  /** Frames already named (those of modules read from the image's memory, for a live target). */
  named: Map<RawFrame, FrameOut[]>;
}

/** Reads the threads' stacks of an image. */
function unwind(image: ProcessImage, opts: StackViewOptions, names: (tid: number) => string | null): Unwound {
  if (opts.thread !== undefined && !image.threads.some((t) => t.tid === opts.thread)) {
    const tids = image.threads.map((t) => t.tid).join(', ');
    throw new UserError(`thread ${opts.thread} is not in the target (threads: ${tids})`);
  }
  const modules = loadModules(image, { root: opts.root, exe: opts.exe, debugDirs: opts.debugDir });
  try {
    const problems = new Map<string, string>();
    const threads = unwindImage(
      image,
      modules,
      opts.thread === undefined ? {} : { threads: [opts.thread] },
      problems,
    );
    const notes = [...problems].map(([path, what]) => `${path}: call-frame information unusable: ${what}`);
    return {
      modules,
      threads: threads.map((t) => ({ ...t, name: names(t.tid) })),
      notes,
      width: image.arch.elfClass === 64 ? 16 : 8,
      named: new Map(),
    };
  } catch (err) {
    modules.close();
    if (err instanceof StackError) throw new UserError(err.message);
    throw err;
  }
}

/** Names the frames of modules read from memory now, while that memory is still readable. */
function nameFromMemory(u: Unwound): void {
  for (const t of u.threads)
    for (const f of t.frames) if (u.modules.find(f.pc)?.fromMemory) u.named.set(f, describe(u.modules, f));
}

/** Names every frame and closes the modules. */
function name(u: Unwound): Collected {
  try {
    const threads = u.threads.map((t) => {
      const groups = t.frames.map((f) => u.named.get(f) ?? describe(u.modules, f));
      return {
        tid: t.tid,
        name: t.name,
        frames: groups.flat(),
        signal: groups.flatMap((g, i) =>
          g.map((_, k) => k === g.length - 1 && (t.frames[i]?.signal ?? false)),
        ),
        ...(t.stopped ? { stopped: t.stopped } : {}),
      };
    });
    return { threads, notes: u.notes, width: u.width };
  } finally {
    u.modules.close();
  }
}

/**
 * gdb's frames at one unwound frame: the functions inlined at its pc (innermost first), then
 * the function the pc is in. A signal trampoline's pc is looked up as is, like gdb does.
 */
function describe(modules: ModuleSet, f: RawFrame): FrameOut[] {
  const s = symbolize(modules, f.pc, { isCallSite: f.callSite && !f.signal });
  const common = { pc: hex(f.pc), module: s.module, buildId: s.buildId ?? null, how: f.how };
  const inlined = s.inlined.map((i) => ({
    ...common,
    function: i.function,
    mangled: i.mangled ?? null,
    offset: null,
    file: i.file ?? null,
    line: i.line ?? null,
    inline: true,
  }));
  const outer = {
    ...common,
    function: s.function,
    mangled: s.mangled ?? null,
    offset: Number(s.offset),
    file: s.file ?? null,
    line: s.line ?? null,
    inline: false,
  };
  return [...inlined, outer];
}

/** A PID: digits that name no file; anything else is an image (openImage tells a core from a CRIU directory). */
function isPid(target: string): boolean {
  return /^[1-9][0-9]*$/.test(target) && !existsSync(target);
}

function threadName(pid: number, tid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

async function fromTarget(target: string, opts: StackViewOptions): Promise<Collected> {
  if (!isPid(target)) {
    const opened = await openImage(target, opts);
    try {
      return name(unwind(opened.image, opts, () => opened.image.process.comm || null));
    } finally {
      opened.close();
    }
  }
  const pid = Number(target);
  const { captureProcess, CaptureError } = await import('../../sources/live/index.js');
  try {
    // Held (not a snapshot) only while the registers and stacks are read (and the vdso's frames
    // named: it is read from the process); files on disk name the other frames afterwards.
    const captured = await captureProcess(pid, { snapshot: false, filter: 0x7f }, async (image) => {
      const u = unwind(image, opts, (tid) => threadName(pid, tid));
      nameFromMemory(u);
      return u;
    });
    return name(captured.result);
  } catch (err) {
    if (err instanceof CaptureError) throw new UserError(err.message);
    throw err;
  }
}

/** The gdb-style line of one frame. */
function frameLine(i: number, f: FrameOut, signal: boolean, width: number): string {
  const pc = hex(BigInt(f.pc), width);
  const where = f.module ? basename(f.module) : '??';
  const name = f.function ?? (f.module && f.offset !== null ? `?? (${where}+${hex(f.offset)})` : '??');
  const mod = f.function ? ` (${where})` : '';
  const at = f.file ? ` at ${f.file}${f.line !== null ? `:${f.line}` : ''}` : '';
  const sig = signal ? ' <signal handler called>' : '';
  return `#${i}  ${pc} in ${name}${mod}${at}${sig}`;
}

export async function stack(target: string, opts: StackViewOptions): Promise<void> {
  const { threads, notes, width } = await fromTarget(target, opts);
  if (opts.json) {
    const json = threads.map((t) => ({ tid: t.tid, name: t.name, frames: t.frames }));
    process.stdout.write(`${toJson({ threads: json })}\n`);
    return;
  }
  const out: string[] = [];
  for (const t of threads) {
    out.push(`Thread ${t.tid}${t.name ? ` (${t.name})` : ''}:`);
    t.frames.forEach((f, i) => {
      out.push(frameLine(i, f, t.signal[i] ?? false, width));
    });
    if (t.stopped) out.push(`Backtrace stopped: ${t.stopped}`);
    out.push('');
  }
  process.stdout.write(out.join('\n'));
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
