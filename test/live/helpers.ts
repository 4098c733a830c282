import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { compileC, isAlive, killAndWait, ROOT, run, runOk, startDetached } from '../helpers/proc.js';

export const PROGS = join(ROOT, 'test/live/progs');

/** Compiles one of test/live/progs/*.c into `dir`. */
export function buildProg(name: string, dir: string, flags: string[] = []): string {
  return compileC(join(PROGS, `${name}.c`), join(dir, name), ['-g', '-O1', '-pthread', ...flags]);
}

export interface Target {
  pid: number;
  /** The reaping shell that is the target's parent. */
  parent: number;
  output: string;
  stop(): Promise<void>;
}

/**
 * Starts a target as a non-child of the test, under a shell that reaps its children (as init
 * would), and waits until it has run `settleMs`.
 */
export async function startTarget(
  cmd: string,
  args: string[],
  dir: string,
  opts: { settleMs?: number; ulimitCore?: boolean; name?: string } = {},
): Promise<Target> {
  const name = opts.name ?? 'target';
  const output = join(dir, `${name}.out`);
  const pidfile = join(dir, `${name}.pid`);
  const reaper = join(PROGS, 'reaper.sh');
  const parent = opts.ulimitCore
    ? startDetached(
        'sh',
        ['-c', `ulimit -c unlimited; exec sh "$0" "$@"`, reaper, output, pidfile, cmd, ...args],
        {
          cwd: dir,
        },
      )
    : startDetached('sh', [reaper, output, pidfile, cmd, ...args], { cwd: dir });
  const end = Date.now() + 10_000;
  while (!existsSync(pidfile)) {
    if (Date.now() > end) throw new Error(`${cmd} did not start`);
    await sleep(10);
  }
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  await sleep(opts.settleMs ?? 300);
  return {
    pid,
    parent,
    output,
    stop: async () => {
      await killAndWait(pid);
      await killAndWait(parent);
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Processes other than `pid` running the same executable, plus zombie children of `parent`. */
export function strayCopies(target: Target, exe: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p) || p === target.pid) continue;
    let path = '';
    try {
      path = readlinkSync(`/proc/${p}/exe`);
    } catch {
      // kernel thread, zombie or gone
    }
    let stat = '';
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'latin1');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const zombieOfParent = fields[0] === 'Z' && Number(fields[1]) === target.parent;
    if (path === exe || zombieOfParent) out.push(p);
  }
  return out;
}

/** Waits until `check` holds (or the time is up), returning its last result. */
export async function eventually<T>(check: () => T, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  let v = check();
  while (!ok(v) && Date.now() < end) {
    await sleep(20);
    v = check();
  }
  return v;
}

/** The function names of every frame, per thread, from `thread apply all bt` output. */
export function framesByThread(gdbOut: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of gdbOut.split('\n')) {
    const t = /^Thread \d+ \(.*?LWP (\d+)\)/.exec(line);
    if (t) {
      cur = [];
      out.set(t[1]!, cur);
      continue;
    }
    const f = /^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(/.exec(line);
    if (f && cur) cur.push(f[1]!);
  }
  return out;
}

/** The PT_LOADs of a core as readelf lists them: "VADDR filesz=N memsz=N" each. */
export function loads(core: string): string[] {
  return runOk('readelf', ['-lW', core])
    .stdout.split('\n')
    .filter((l) => /^\s+LOAD/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return `${f[2]} filesz=${f[4]} memsz=${f[5]}`;
    });
}

/** The notes of a core as eu-readelf -n lists them: "OWNER TYPE" per note. */
export function noteList(core: string): string[] {
  const res = run('eu-readelf', ['-n', core]);
  if (res.status !== 0) throw new Error(`eu-readelf -n failed: ${res.stderr}`);
  return res.stdout
    .split('\n')
    .map((l) => /^\s+(CORE|LINUX)\s+\d+\s+(.+)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => `${m[1]} ${m[2]!.trim()}`);
}

/** TracerPid of a process (0 when untraced). */
export function tracerOf(pid: number): number {
  const m = /TracerPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? -1);
}

/** Processes traced by `tracer`. */
export function tracees(tracer: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (tracerOf(Number(name)) === tracer) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Waits until target `t` has ended by itself (failing the test after `ms`). */
export async function waitExit(t: Target, ms = 60_000): Promise<void> {
  await eventually(
    () => isAlive(t.pid),
    (alive) => !alive,
    ms,
  );
  assert.ok(!isAlive(t.pid), 'target did not finish');
}

export { isAlive };
