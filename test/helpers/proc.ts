import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/bin/coreshot.cjs');
export const FIXTURES = join(ROOT, '../shared/fixtures');

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (no shell unless `sh -c`), failing the test on a spawn error. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): RunResult {
  const res = spawnSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 << 20,
    env: opts.env ?? process.env,
  });
  if (res.error) throw res.error;
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

/** Like run, but throws with the output when the exit code is not 0. */
export function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): RunResult {
  const res = run(cmd, args, opts);
  if (res.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${res.status}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`,
    );
  }
  return res;
}

/** Runs the built coreshot CLI (`npm run build` must have run; `npm test` does). */
export function coreshot(args: string[], opts: Parameters<typeof run>[2] = {}): RunResult {
  return run(process.execPath, [CLI, ...args], opts);
}

/**
 * A copy of the bundled CLI (dist/bin) and of the packages it loads at run time, made readable by
 * every user, in `dir`: a test that runs coreshot as another user cannot assume that user may
 * read the clone (it may lie under a private home directory). Returns the copy's entry point.
 */
export function cliForOtherUsers(dir: string): string {
  cpSync(join(ROOT, 'dist/bin'), join(dir, 'dist/bin'), { recursive: true });
  const deps = (pkgDir: string): string[] =>
    Object.keys(JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).dependencies ?? {});
  const pending = deps(ROOT);
  const copied = new Set<string>();
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (copied.has(name)) continue;
    copied.add(name);
    const from = join(ROOT, 'node_modules', name);
    mkdirSync(join(dir, 'node_modules', name, '..'), { recursive: true });
    cpSync(from, join(dir, 'node_modules', name), { recursive: true });
    pending.push(...deps(from));
  }
  runOk('chmod', ['-R', 'a+rX', dir]);
  return join(dir, 'dist/bin/coreshot.cjs');
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix = 'coreshot-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Compiles a C program with gcc (or another compiler), returning the binary path. */
export function compileC(source: string, out: string, flags: string[] = [], compiler = 'gcc'): string {
  runOk(compiler, ['-o', out, source, ...flags]);
  return out;
}

/**
 * Starts a program as a non-child (through a shell that exits at once), so that Node's child
 * handling cannot steal its ptrace stops. Returns its pid; stdout/stderr go to the given files.
 */
export function startDetached(
  cmd: string,
  args: string[],
  opts: { cwd?: string; stdout?: string; stderr?: string } = {},
): number {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const line = `${[cmd, ...args].map(q).join(' ')} </dev/null >${q(opts.stdout ?? '/dev/null')} 2>${q(opts.stderr ?? '/dev/null')} & echo $!`;
  const res = runOk('sh', ['-c', line], { cwd: opts.cwd });
  return Number(res.stdout.trim());
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs a detached process and waits until it is gone (it is reaped by init). */
export async function killAndWait(pid: number, timeoutMs = 5000): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const end = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** Whether a gdb batch output holds a warning line. */
export function gdbWarnings(output: string): string[] {
  return output.split('\n').filter((l) => /^warning:/i.test(l.trim()));
}

/** A coreshot run held at a fault point (src/fault-points.ts). */
export interface HeldCoreshot {
  pid: number;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Its exit code (null when killed by a signal), once it exits. */
  exited: Promise<number | null>;
  /** SIGKILLs it and waits for its exit. */
  kill(): Promise<void>;
}

/**
 * Starts coreshot with `args` and CORESHOT_TEST_HOLD=`point` (and CORESHOT_TEST_RESUME=`resume`
 * when given), resolving once it says it holds there. A run that exits first or does not get
 * there within `ms` is killed, and the promise rejects with what it printed.
 */
export function holdCoreshot(
  args: string[],
  point: string,
  opts: { resume?: string; ms?: number } = {},
): Promise<HeldCoreshot> {
  const env: NodeJS.ProcessEnv = { ...process.env, CORESHOT_TEST_HOLD: point };
  if (opts.resume !== undefined) env.CORESHOT_TEST_RESUME = opts.resume;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  const held: HeldCoreshot = {
    pid: child.pid!,
    stderr: () => stderr,
    exited,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      held.kill().then(() => reject(new Error(`coreshot ${args.join(' ')} ${why} ${point}: ${stderr}`)));
    };
    const timer = setTimeout(() => fail('never held at'), opts.ms ?? 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes(`holding at ${point}`)) {
        clearTimeout(timer);
        resolve(held);
      }
    });
    exited.then(() => {
      if (!stderr.includes(`holding at ${point}`)) fail('exited before holding at');
    });
  });
}
