// Shared pieces of the benchmarks: running commands, a kernel core of a process with a given
// amount of touched memory, interleaved timing (median wall, mean CPU) and coreshot's peak RSS.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/bin/coreshot.cjs');
/** BENCH_RUNS: timed rounds of `measure` (default 20). */
export const RUNS = Number(process.env.BENCH_RUNS ?? 20);

export function sh(cmd: string, args: string[], cwd?: string): string {
  const res = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${res.status}\n${res.stderr}`);
  return res.stdout;
}

export const gib = (n: number | bigint) => `${(Number(n) / 2 ** 30).toFixed(2)} GiB`;

/** A kernel core of reader-target.c with `mib` MiB of touched heap. */
export function kernelCore(dir: string, mib: number): { core: string; exe: string } {
  const exe = join(dir, 'target');
  sh('gcc', ['-O1', '-pthread', '-o', exe, join(ROOT, 'bench/reader-target.c')]);
  if (readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim() !== 'core')
    throw new Error('kernel.core_pattern must be "core"');
  spawnSync('sh', ['-c', `ulimit -c unlimited; exec ${exe} ${mib}`], { cwd: dir });
  const name = readdirSync(dir).find((f) => f === 'core' || /^core\.\d+$/.test(f));
  if (!name) throw new Error(`no core in ${dir}`);
  return { core: join(dir, name), exe };
}

export interface Timing {
  /** Median wall time, ms. */
  wall: number;
  /** Mean CPU time (user + system), ms, at the kernel's 10 ms tick resolution. */
  cpu: number;
}

export const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the commands round-robin (so that load from other processes hits all alike): `warmup`
 * rounds, then RUNS timed rounds. Each runs under `sh`, which then prints its own
 * /proc/PID/stat: cutime + cstime are the command's CPU time.
 */
export function measure(commands: string[][], warmup = 3): Timing[] {
  const wall: number[][] = commands.map(() => []);
  const cpu: number[][] = commands.map(() => []);
  for (let round = -warmup; round < RUNS; round++) {
    commands.forEach((argv, i) => {
      const script = `${argv.map(quote).join(' ')} >/dev/null 2>&1 || exit 99; cat /proc/$$/stat`;
      const t0 = performance.now();
      const res = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
      const took = performance.now() - t0;
      if (res.status !== 0) throw new Error(`${argv.join(' ')} failed (${res.status})`);
      if (round < 0) return;
      const fields = res.stdout.slice(res.stdout.lastIndexOf(')') + 2).split(' ');
      wall[i]!.push(took);
      cpu[i]!.push((Number(fields[13]) + Number(fields[14])) * 10);
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return commands.map((_, i) => ({
    wall: median(wall[i]!),
    cpu: cpu[i]!.reduce((a, b) => a + b, 0) / cpu[i]!.length,
  }));
}

/** Peak RSS of a coreshot run, read from /proc/self/status by the process itself at exit. */
export function peakRss(args: string[]): number {
  const hook =
    'data:text/javascript,import{readFileSync,writeSync}from"node:fs";process.on("exit",()=>writeSync(2,"HWM "+/VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status","utf8"))[1]+"\\n"))';
  let max = 0;
  for (let i = 0; i < 3; i++) {
    const res = spawnSync(process.execPath, ['--import', hook, CLI, ...args], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const m = /HWM (\d+)/.exec(res.stderr);
    if (res.status !== 0 || !m) throw new Error(`coreshot ${args.join(' ')} failed: ${res.stderr}`);
    max = Math.max(max, Number(m[1]) * 1024);
  }
  return max;
}
