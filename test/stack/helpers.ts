/**
 * Helpers of the stack tests: the test program's builds, gdb's frames of a core or a live
 * process (through gdb's Python API: pc, name and frame type of every frame of every thread),
 * `coreshot stack --json`, and the comparison of the two.
 */

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameOut } from '../../src/cli/views/stack.js';
import { type MadeCore, requireTool, runToCrash } from '../helpers/cores.js';
import { coreshot, ROOT, runOk, tempDir } from '../helpers/proc.js';

export const STACK_C = join(ROOT, 'test/stack/c');
export const PROGRAM = join(STACK_C, 'stack-prog.c');
const GDB_SCRIPT = join(ROOT, 'test/stack/gdb-frames.py');

export interface GdbFrame {
  pc: string;
  name: string | null;
  type: 'normal' | 'inline' | 'sigtramp' | 'tailcall' | string;
}

export interface GdbThread {
  tid: number;
  frames: GdbFrame[];
}

export interface GdbTarget {
  exe?: string;
  core?: string;
  pid?: number;
  sysroot?: string;
  /** gdb or gdb-multiarch */
  gdb?: string;
}

/** Every thread's frames as gdb unwinds them (`set backtrace past-main on`, like coreshot). */
export function gdbFrames(t: GdbTarget): GdbThread[] {
  const args = ['-batch', '-nx', '-ex', 'set backtrace past-main on', '-ex', 'set pagination off'];
  if (t.sysroot) args.push('-ex', `set sysroot ${t.sysroot}`);
  if (t.exe) args.push('-ex', `file ${t.exe}`);
  if (t.core) args.push('-ex', `core-file ${t.core}`);
  if (t.pid) args.push('-ex', `attach ${t.pid}`);
  args.push('-ex', `source ${GDB_SCRIPT}`);
  if (t.pid) args.push('-ex', 'detach');
  const res = runOk(t.gdb ?? 'gdb', args, { timeoutMs: 300_000 });
  const line = res.stdout.split('\n').find((l) => l.startsWith('FRAMES-JSON'));
  if (!line) throw new Error(`gdb printed no frames:\n${res.stdout}\n${res.stderr}`);
  return JSON.parse(line.slice('FRAMES-JSON'.length)) as GdbThread[];
}

/** c++filt's reading of each name (one process for all of them): the judge of demangled names. */
export function cxxfilt(names: string[]): string[] {
  requireTool('c++filt');
  const out = runOk('c++filt', [], { input: `${names.join('\n')}\n` }).stdout.split('\n');
  assert.equal(out.length, names.length + 1, 'c++filt printed one line per name');
  return out.slice(0, names.length);
}

/** One frame of `coreshot stack --json` (the CLI's own type of its JSON contract). */
export type StackFrameJson = FrameOut;

export interface StackJson {
  threads: { tid: number; name: string | null; frames: StackFrameJson[] }[];
}

/** `coreshot stack --json ARGS`, parsed; fails the test on a non-zero exit. */
export function stackJson(args: string[]): StackJson {
  const res = coreshot(['stack', '--json', ...args], { timeoutMs: 120_000 });
  assert.equal(res.status, 0, `coreshot stack ${args.join(' ')} failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as StackJson;
}

/**
 * The pcs of gdb's real frames: inline frames share their caller's pc, and gdb's tail-call frames
 * are made up from DW_TAG_call_site debug info (no return address on the stack holds them).
 */
export function gdbPcs(t: GdbThread): string[] {
  return t.frames.filter((f) => f.type !== 'inline' && f.type !== 'tailcall').map((f) => f.pc);
}

export function ourPcs(t: StackJson['threads'][number]): string[] {
  return t.frames.filter((f) => !f.inline).map((f) => f.pc);
}

/**
 * glibc's alias names (__GI_raise, __libc_pause, __sleep, __libc_start_main for
 * __libc_start_main_impl) name the same function.
 */
export function baseName(name: string): string {
  return name
    .replace(/^(__GI_|__libc_|_IO_)/, '')
    .replace(/^_+/, '')
    .replace(/_impl$/, '');
}

/**
 * Asserts coreshot found the same threads, and per thread gdb's frames: the same chain of pcs,
 * and the same function names (up to glibc's aliases) with the same inline frames, all of it or
 * gdb's as a prefix of coreshot's when gdb stops early. gdb's tail-call frames are left out.
 */
export function assertSameFrames(
  gdb: GdbThread[],
  ours: StackJson,
  opts: { prefix?: boolean; names?: boolean } = {},
): void {
  assert.deepEqual(ours.threads.map((t) => t.tid).sort(), gdb.map((t) => t.tid).sort(), 'the same threads');
  for (const g of gdb) {
    const o = ours.threads.find((t) => t.tid === g.tid)!;
    const want = gdbPcs(g);
    const got = ourPcs(o);
    assert.ok(want.length >= 2, `gdb unwound thread ${g.tid} at all: ${JSON.stringify(g.frames)}`);
    assert.deepEqual(opts.prefix ? got.slice(0, want.length) : got, want, `thread ${g.tid} pcs`);
    if (opts.names === false) continue;
    const gdbNames = g.frames
      .filter((f) => f.type !== 'tailcall')
      .map((f) => `${f.type === 'inline' ? 'inline ' : ''}${f.name === null ? '?' : baseName(f.name)}`);
    const ourNames = o.frames.map((f, i) => {
      const shown = gdbNames[i]?.endsWith('?') ? '?' : f.function === null ? 'null' : baseName(f.function);
      return `${f.inline ? 'inline ' : ''}${shown}`;
    });
    assert.deepEqual(
      opts.prefix ? ourNames.slice(0, gdbNames.length) : ourNames,
      gdbNames,
      `thread ${g.tid} functions`,
    );
  }
}

/** Compiler flags of the test program, and the library it links with (removed by cleanup). */
export interface ProgramFlags {
  flags: string[];
  cleanup: () => void;
}

/**
 * Flags for the test program at -O2 -g, with or without frame pointers, optionally linked with
 * its shared library, built with CFI or without any (no -g, no unwind tables, frame pointers
 * kept). For kernelCore/gcoreCore's `flags` (they add -pthread, and -O1 before these).
 */
export function programFlags(
  opts: { omitFramePointer?: boolean; lib?: 'cfi' | 'no-cfi'; m32?: boolean } = {},
): ProgramFlags {
  const fp = opts.omitFramePointer ? '-fomit-frame-pointer' : '-fno-omit-frame-pointer';
  const arch = opts.m32 ? ['-m32'] : [];
  const flags = ['-O2', '-g', fp, ...arch];
  if (!opts.lib) return { flags, cleanup: () => {} };
  const t = tempDir('coreshot-stack-lib-');
  try {
    const lib = join(t.path, 'libstack-lib.so');
    const how =
      opts.lib === 'no-cfi'
        ? ['-fno-asynchronous-unwind-tables', '-fno-unwind-tables', '-fno-omit-frame-pointer']
        : ['-g', fp];
    runOk('gcc', ['-shared', '-fPIC', '-O2', ...arch, ...how, '-o', lib, join(STACK_C, 'stack-lib.c')]);
    flags.push('-DWITH_LIB', `-L${t.path}`, '-lstack-lib', `-Wl,-rpath,${t.path}`);
    return { flags, cleanup: t.cleanup };
  } catch (err) {
    t.cleanup();
    throw err;
  }
}

/** The Python program of pythonCore(): two threads asleep, the main thread aborts. */
const PYTHON_ABORT = [
  'import os, threading, time',
  'for _ in range(2): threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()',
  'time.sleep(0.5)',
  'os.abort()',
].join('\n');

/** A kernel core of Debian's python3 with 3 threads (main aborting, two in time.sleep). */
export function pythonCore(): MadeCore {
  const t = tempDir('coreshot-stack-py-');
  try {
    runToCrash(t.path, ['/usr/bin/python3', '-c', PYTHON_ABORT]);
    const name = readdirSync(t.path).find((f) => f === 'core' || /^core\.\d+$/.test(f));
    if (!name) throw new Error(`python3 left no core in ${t.path}`);
    return { core: join(t.path, name), exe: '/usr/bin/python3', dir: t.path, cleanup: t.cleanup };
  } catch (err) {
    t.cleanup();
    throw err;
  }
}
