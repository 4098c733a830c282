// Restore benchmark: `coreshot restore` of a kernel core of a process with 1 GiB of touched
// memory, side by side with `cp` of the same core file on the same tmpfs; `--lazy` (the core's
// segment data mapped, not copied); and a 10 GiB sparse image (10 GiB mapped, the same 1 GiB
// touched: the rest are holes in the core). Each restore is --stopped and the process killed at
// once. Prints median wall times and the ratios. Goals: restore ≤ 1.0x cp, --lazy ≤ 0.25x cp,
// the 10 GiB sparse image ≤ 1.5x the 1 GiB one.
// Run: npm run bench -- restore   (root; gcc; ~3 GiB free on BENCH_TMPFS, default /dev/shm).
// BENCH_RUNS (default 20).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, gib, measure, quote, ROOT, RUNS, sh } from './lib.js';

const TMPFS = process.env.BENCH_TMPFS ?? '/dev/shm';

/** A kernel core of restore-target.c mapping `mapMib` MiB and touching `touchMib` of them. */
function core(dir: string, exe: string, mapMib: number, touchMib: number): string {
  mkdirSync(dir);
  spawnSync('sh', ['-c', `ulimit -c unlimited; exec ${quote(exe)} ${mapMib} ${touchMib}`], { cwd: dir });
  const name = readdirSync(dir).find((f) => f === 'core' || /^core\.\d+$/.test(f));
  if (!name) throw new Error(`no core in ${dir}`);
  return join(dir, name);
}

/** A restore whose process is killed as soon as it exists (it is left stopped). */
const restore = (image: string, ...extra: string[]) => [
  'sh',
  '-c',
  `pid=$(${quote(process.execPath)} ${quote(CLI)} restore ${quote(image)} --stopped ${extra.join(' ')} | head -1) && kill -9 "$pid"`,
];

if (readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim() !== 'core')
  throw new Error('kernel.core_pattern must be "core"');
const dir = mkdtempSync(join(TMPFS, 'coreshot-bench-restore-'));
try {
  const exe = join(dir, 'target');
  sh('gcc', ['-O1', '-o', exe, join(ROOT, 'bench/restore-target.c')]);
  const one = core(join(dir, 'one'), exe, 1024, 1024);
  const ten = core(join(dir, 'ten'), exe, 10240, 1024);
  const runs: [string, string[]][] = [
    ['cp (the 1 GiB core, same tmpfs)', ['cp', one, join(dir, 'copy')]],
    ['coreshot restore (1 GiB)', restore(one)],
    ['coreshot restore --lazy (1 GiB)', restore(one, '--lazy')],
    ['coreshot restore (10 GiB sparse)', restore(ten)],
  ];
  const t = measure(
    runs.map(([, argv]) => argv),
    1,
  );
  const [cp, copy, lazy, sparse] = t;
  console.log(
    `cores on ${TMPFS}: ${gib(statSync(one).size)} and ${gib(statSync(ten).size)} (sparse, ${gib(statSync(ten).blocks * 512)} allocated); ${RUNS} interleaved runs, median wall`,
  );
  runs.forEach(([label], i) => {
    console.log(`  ${label.padEnd(36)} ${t[i]!.wall.toFixed(0).padStart(6)} ms`);
  });
  console.log(`  restore / cp:           ${(copy!.wall / cp!.wall).toFixed(2)}x (goal ≤ 1.0x)`);
  console.log(`  restore --lazy / cp:    ${(lazy!.wall / cp!.wall).toFixed(2)}x (goal ≤ 0.25x)`);
  console.log(`  10 GiB sparse / 1 GiB:  ${(sparse!.wall / copy!.wall).toFixed(2)}x (goal ≤ 1.5x)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
