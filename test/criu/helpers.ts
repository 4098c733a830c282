import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { coreshot, FIXTURES, type RunResult, run } from '../helpers/proc.js';

export const CRIU = join(FIXTURES, 'criu');

/** Fails loudly in CI when a prerequisite is missing; elsewhere says why the test cannot run. */
export function requireFixtures(): void {
  if (!existsSync(join(CRIU, 'single', 'images', 'inventory.img')))
    throw new Error(`CRIU fixtures not found at ${CRIU} (the shared/ directory must sit beside the clone)`);
  if (run('gdb', ['--version']).status !== 0) throw new Error('gdb is not installed');
}

/** The pids of a fixture case: one reference/gdb-PID.txt per process. */
export function casePids(name: string): number[] {
  return readdirSync(join(CRIU, name, 'reference'))
    .map((f) => /^gdb-(\d+)\.txt$/.exec(f)?.[1])
    .filter((p): p is string => p !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** What gdb printed about one thread. */
export interface GdbThread {
  frames: string[];
  regs: Map<string, string>;
  zmm0?: string;
}

/**
 * Parses the output of `thread apply all bt`, `thread apply all info registers ...` and
 * `thread apply all p/x $zmm0.v8_int64` into per-LWP facts (frames, register values, zmm0).
 */
export function parseGdb(text: string): Map<number, GdbThread> {
  const out = new Map<number, GdbThread>();
  let cur: GdbThread | undefined;
  for (const line of text.split('\n')) {
    const head = /^Thread \d+ \(.*\(LWP (\d+)\)/.exec(line);
    if (head) {
      const lwp = Number(head[1]);
      cur = out.get(lwp) ?? { frames: [], regs: new Map() };
      out.set(lwp, cur);
      continue;
    }
    if (!cur) continue;
    const frame = /^#\d+\s/.test(line);
    const reg = /^(rip|rsp|r12|r13|r14)\s+(0x[0-9a-f]+)/.exec(line);
    const val = /^\$\d+ = (\{.*\})$/.exec(line);
    if (frame) cur.frames.push(line.trim());
    else if (reg) cur.regs.set(reg[1]!, reg[2]!);
    else if (val) cur.zmm0 = val[1];
  }
  return out;
}

/** gdb on a core with the case's root as sysroot: the commands the references were made with. */
export function gdbOnCore(caseName: string, core: string): string {
  const root = join(CRIU, caseName, 'root');
  const exe = join(root, 'tmp/coreshot-fixture', caseName, 'target');
  const res = run('gdb', [
    '-batch',
    '-nx',
    '-ex',
    `set sysroot ${root}`,
    '-ex',
    `file ${exe}`,
    '-ex',
    `core ${core}`,
    '-ex',
    'thread apply all bt',
    '-ex',
    'thread apply all info registers rip rsp r12 r13 r14',
    '-ex',
    'thread apply all p/x $zmm0.v8_int64',
  ]);
  return `${res.stdout}\n${res.stderr}`;
}

export function reference(caseName: string, pid: number): string {
  return readFileSync(join(CRIU, caseName, 'reference', `gdb-${pid}.txt`), 'utf8');
}

/**
 * `coreshot convert criu` on a fixture case with its root as sysroot. The fixtures were taken on
 * an AMD CPU, so the XSAVE layout is pinned to AMD's: the result is the same on any CI host.
 */
export function convertFixture(caseName: string, outDir: string, extra: string[] = []): RunResult {
  const dir = join(CRIU, caseName);
  return coreshot([
    'convert',
    'criu',
    join(dir, 'images'),
    '-o',
    outDir,
    '--root',
    join(dir, 'root'),
    '--xsave-layout',
    'amd',
    ...extra,
  ]);
}
