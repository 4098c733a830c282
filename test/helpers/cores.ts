/**
 * Real core files for tests, each made in a fresh temporary directory:
 * - kernelCore(): a program crashes under `ulimit -c unlimited` and the kernel writes `core`;
 * - gcoreCore(): gdb's gcore dumps a running program;
 * - qemuUserCore(arch): a static guest program crashes under qemu-ARCH-static, which writes a
 *   guest-arch core (`qemu_PROG_DATE_PID.core` in the cwd).
 * By default the programs are those of test/helpers/c: threads with known register values (KNOWN,
 * X86_REGS, QEMU_TARGETS). Pass `source` to use another C program.
 * Missing tools are errors, never skips.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compileC, killAndWait, ROOT, run, runOk, startDetached, tempDir } from './proc.js';

export const C_DIR = join(ROOT, 'test/helpers/c');

/** The known values the default programs load (see the C sources). */
export const KNOWN = {
  mainA: 0x0123456789abcdefn,
  mainB: 0xfedcba9876543210n,
  mainC: 0x00c0ffee00c0ffeen,
  workerA: 0x1111000011110000n,
  workerB: 0x2222000022220000n,
  workerC: 0x3333000033330000n,
} as const;

/** Registers the default x86 program loads: main thread and workers (i386 keeps the low 32 bits). */
export const X86_REGS = {
  x86_64: { main: ['r12', 'r13', 'r14'], worker: ['r12', 'r13'], workers: 3 },
  i386: { main: ['esi', 'edi'], worker: ['esi', 'edi'], workers: 3 },
} as const;

/** Guest architectures whose QEMU user-mode emulator writes cores (qemu 7.2's riscv64 does not). */
export type QemuArch = 'aarch64' | 'arm' | 'ppc64le' | 'ppc64' | 's390x';

export interface QemuTarget {
  gcc: string;
  qemu: string;
  /** The default program and the flags it needs besides -static. */
  source: string;
  flags: string[];
  /** Registers the default program loads with A, B, C (arm keeps the low 32 bits). */
  regs: readonly [string, string, string];
  /** Worker threads of the default program (ppc64 big endian has no libc, hence no threads). */
  workers: number;
}

export const QEMU_TARGETS: Readonly<Record<QemuArch, QemuTarget>> = {
  aarch64: {
    gcc: 'aarch64-linux-gnu-gcc',
    qemu: 'qemu-aarch64-static',
    source: 'qemu-regs.c',
    flags: ['-pthread'],
    regs: ['x19', 'x20', 'x21'],
    workers: 2,
  },
  arm: {
    gcc: 'arm-linux-gnueabihf-gcc',
    qemu: 'qemu-arm-static',
    source: 'qemu-regs.c',
    flags: ['-pthread'],
    regs: ['r4', 'r5', 'r6'],
    workers: 2,
  },
  ppc64le: {
    gcc: 'powerpc64le-linux-gnu-gcc',
    qemu: 'qemu-ppc64le-static',
    source: 'qemu-regs.c',
    flags: ['-pthread'],
    regs: ['r14', 'r15', 'r16'],
    workers: 2,
  },
  ppc64: {
    gcc: 'powerpc64le-linux-gnu-gcc',
    qemu: 'qemu-ppc64-static',
    source: 'ppc64be-regs.c',
    flags: ['-mbig-endian', '-nostdlib', '-ffreestanding'],
    regs: ['r14', 'r15', 'r16'],
    workers: 0,
  },
  s390x: {
    gcc: 's390x-linux-gnu-gcc',
    qemu: 'qemu-s390x-static',
    source: 'qemu-regs.c',
    flags: ['-pthread'],
    regs: ['r6', 'r7', 'r8'],
    workers: 2,
  },
};
export const QEMU_ARCHES = Object.keys(QEMU_TARGETS) as QemuArch[];

export interface MadeCore {
  /** The core file. */
  core: string;
  /** The program that was dumped. */
  exe: string;
  /** The temporary directory holding both. */
  dir: string;
  /** Removes the directory. */
  cleanup: () => void;
}

export interface CoreProgram {
  /** C source file; the default is the known-register program for the arch. */
  source?: string;
  /** Extra compiler flags. */
  flags?: string[];
  /** Program arguments (the default programs take "crash" or "wait"). */
  args?: string[];
  /** Called with the built program before it runs (to strip it, move its debug info, ...). */
  prepare?: (exe: string) => void;
}

/** Throws when a command is not installed: tests fail loudly instead of skipping. */
export function requireTool(cmd: string): void {
  if (run('sh', ['-c', `command -v '${cmd}'`]).status !== 0) {
    throw new Error(`${cmd} is not installed (see .ci/run)`);
  }
}

/** Runs a program in `dir` under `ulimit -c unlimited`; it is expected to die of a signal. */
export function runToCrash(dir: string, argv: string[]): void {
  const script = 'ulimit -c unlimited; cd "$1"; shift; exec "$@"';
  const res = run('sh', ['-c', script, 'sh', dir, ...argv], { timeoutMs: 60_000 });
  if (res.status === 0) throw new Error(`${argv.join(' ')} exited normally; it should have crashed`);
}

/** Builds a program in a fresh directory; the caller owns the directory. */
function build(
  prog: CoreProgram,
  defaultSource: string,
  compiler: string,
  flags: string[],
): { exe: string; dir: string; cleanup: () => void } {
  requireTool(compiler);
  const t = tempDir('coreshot-core-');
  try {
    const source = prog.source ?? join(C_DIR, defaultSource);
    const exe = join(t.path, basename(source).replace(/\.(c|cc)$/, ''));
    compileC(source, exe, ['-O1', ...flags, ...(prog.flags ?? [])], compiler);
    prog.prepare?.(exe);
    return { exe, dir: t.path, cleanup: t.cleanup };
  } catch (err) {
    t.cleanup();
    throw err;
  }
}

/**
 * A kernel-written core of a crashing x86_64 (or, with `-m32`, i386) program. core_pattern must
 * be `core` (`core.PID` with core_uses_pid is found as well).
 */
export function kernelCore(arch: 'x86_64' | 'i386' = 'x86_64', prog: CoreProgram = {}): MadeCore {
  const pattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
  if (pattern !== 'core') {
    throw new Error(`kernel.core_pattern is "${pattern}": kernelCore() needs "core"`);
  }
  const made = build(prog, 'x86-threads.c', 'gcc', arch === 'i386' ? ['-m32', '-pthread'] : ['-pthread']);
  try {
    runToCrash(made.dir, [made.exe, ...(prog.args ?? ['crash'])]);
    const name = readdirSync(made.dir).find((f) => f === 'core' || /^core\.\d+$/.test(f));
    if (!name) throw new Error(`no kernel core in ${made.dir} (core_pattern "${pattern}")`);
    return { ...made, core: join(made.dir, name) };
  } catch (err) {
    made.cleanup();
    throw err;
  }
}

/** Waits until `file` holds `text` (a target announcing it is ready). */
async function waitForText(file: string, text: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(text)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for "${text}" in ${file}`);
}

/**
 * gcore's dump of a running multi-threaded program (x86_64 or i386), which is killed afterwards.
 * A custom `source` must print "ready" on stdout once its state is set up and then keep running.
 */
export async function gcoreCore(
  arch: 'x86_64' | 'i386' = 'x86_64',
  prog: CoreProgram = {},
): Promise<MadeCore & { pid: number }> {
  requireTool('gcore');
  const made = build(prog, 'x86-threads.c', 'gcc', arch === 'i386' ? ['-m32', '-pthread'] : ['-pthread']);
  let pid = 0;
  try {
    const out = join(made.dir, 'stdout');
    pid = startDetached(made.exe, prog.args ?? ['wait'], { cwd: made.dir, stdout: out });
    await waitForText(out, 'ready');
    const prefix = join(made.dir, 'gcore');
    runOk('gcore', ['-o', prefix, String(pid)], { timeoutMs: 120_000 });
    const core = `${prefix}.${pid}`;
    if (!existsSync(core)) throw new Error(`gcore wrote no ${core}`);
    return { ...made, core, pid };
  } catch (err) {
    made.cleanup();
    throw err;
  } finally {
    if (pid > 0) await killAndWait(pid);
  }
}

/**
 * A guest-arch core written by QEMU user mode for a static program that crashes. The working
 * directory holds a directory named `core`, so the kernel cannot also dump the QEMU process itself.
 */
export function qemuUserCore(arch: QemuArch, prog: CoreProgram = {}): MadeCore {
  const { gcc, qemu, source, flags } = QEMU_TARGETS[arch];
  requireTool(qemu);
  const made = build(prog, source, gcc, ['-static', ...(prog.source ? [] : flags)]);
  try {
    mkdirSync(join(made.dir, 'core'));
    runToCrash(made.dir, [qemu, made.exe, ...(prog.args ?? [])]);
    const name = readdirSync(made.dir).find(
      (f) => f.startsWith(`qemu_${basename(made.exe)}_`) && f.endsWith('.core'),
    );
    if (!name) throw new Error(`${qemu} wrote no core in ${made.dir}`);
    return { ...made, core: join(made.dir, name) };
  } catch (err) {
    made.cleanup();
    throw err;
  }
}
