// Stack benchmark: `coreshot stack --json` against `gdb -batch -ex 'thread apply all bt'` and
// `eu-stack` on a kernel core of Debian's python3 with 3 threads (libc6-dbg installed), timed
// side by side in interleaved rounds (medians of wall time), and each tool's peak RSS.
// Run: npm run bench -- stack   (needs python3, gdb, eu-stack; BENCH_RUNS rounds, default 15)
import { spawnSync } from 'node:child_process';
import { CLI } from '../test/helpers/proc.js';
import { pythonCore } from '../test/stack/helpers.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

/** Runs argv under python3, which reports the wall time (ms) and the child's peak RSS (KiB). */
function once(argv: string[]): { ms: number; rssKiB: number } {
  const script =
    'import resource, subprocess, sys, time\n' +
    't = time.monotonic()\n' +
    'r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n' +
    'ms = (time.monotonic() - t) * 1000\n' +
    'print(r.returncode, ms, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n';
  const res = spawnSync('python3', ['-c', script, ...argv], { encoding: 'utf8' });
  const [code, ms, rss] = res.stdout.trim().split(' ');
  if (res.status !== 0 || code !== '0')
    throw new Error(`${argv.join(' ')} failed: ${res.stdout}${res.stderr}`);
  return { ms: Number(ms), rssKiB: Number(rss) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const made = pythonCore();
  try {
    const tools: [string, string[]][] = [
      ['coreshot stack --json', [process.execPath, CLI, 'stack', '--json', made.core]],
      [
        "gdb -batch -ex 'thread apply all bt'",
        ['gdb', '-batch', '-nx', '-ex', 'thread apply all bt', made.exe, made.core],
      ],
      ['eu-stack', ['eu-stack', '--core', made.core, '-e', made.exe]],
    ];
    const times = tools.map(() => [] as number[]);
    const rss = tools.map(() => 0);
    for (let round = -2; round < RUNS; round++) {
      tools.forEach(([, argv], i) => {
        const r = once(argv);
        if (round < 0) return;
        times[i]!.push(r.ms);
        rss[i] = Math.max(rss[i]!, r.rssKiB);
      });
    }
    const med = times.map(median);
    console.log(`kernel core of python3, 3 threads; ${RUNS} interleaved rounds, median wall time, peak RSS`);
    tools.forEach(([name], i) => {
      console.log(
        `  ${name.padEnd(40)} ${med[i]!.toFixed(1).padStart(8)} ms   ${(rss[i]! / 1024).toFixed(1)} MiB`,
      );
    });
    const [ours, gdb, eu] = med as [number, number, number];
    console.log(`gdb ÷ coreshot: ${(gdb / ours).toFixed(2)}× (goal ≥ 2×)`);
    console.log(`eu-stack ÷ coreshot: ${(eu / ours).toFixed(3)}×`);
    console.log(`coreshot peak RSS: ${(rss[0]! / 1024).toFixed(1)} MiB (goal < 150 MB)`);
  } finally {
    made.cleanup();
  }
}

main();
