// Compressed-core benchmark: `coreshot threads --json` on a 1 GiB kernel core compressed with zstd
// (as systemd-coredump stores cores) against the same command on the plain core, in interleaved
// rounds; the ratio of median wall times (goal: at most 2), and coreshot's peak RSS on each. Also
// a read near the end of the zstd core (decodes the whole stream into the cache file) and of a
// seekable-zstd copy (decodes one frame).
// Run: npm run bench -- compressed   (needs gcc, zstd; ~2 GiB free in $TMPDIR)
// BENCH_RUNS (default 10) timed rounds; BENCH_CORE_MIB (default 1024) the core's heap.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeekableZstdSink, zstdCompressor } from '../src/io/compressed/seekable-sink.js';
import { FileAccess } from '../src/io/random-access.js';
import { FileSink } from '../src/io/sink.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/bin/coreshot.cjs');
const MIB = Number(process.env.BENCH_CORE_MIB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
/** Prints the process's peak RSS (VmHWM, threads included) on stderr at exit. */
const RSS_HOOK =
  'data:text/javascript,import{readFileSync,writeSync}from"node:fs";process.on("exit",()=>writeSync(2,"HWM "+/VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status","utf8"))[1]+"\\n"))';

function must(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const res = spawnSync(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${res.status}\n${res.stderr}`);
  return res;
}

/** One coreshot run: wall milliseconds and peak RSS in bytes. */
function coreshot(args: string[], env: NodeJS.ProcessEnv): { ms: number; rss: number } {
  const t0 = performance.now();
  const res = must(process.execPath, ['--import', RSS_HOOK, CLI, ...args], { env });
  const ms = performance.now() - t0;
  return { ms, rss: Number(/HWM (\d+)/.exec(res.stderr)?.[1]) * 1024 };
}

/** A seekable-zstd copy of `plain`, written by coreshot's own sink. */
async function writeSeekable(plain: string, out: string): Promise<void> {
  const sink = new SeekableZstdSink(new FileSink(out), await zstdCompressor());
  const input = new FileAccess(plain);
  for (let at = 0n; at < input.size; at += 4n << 20n) sink.write(input.read(at, 4 << 20));
  input.close();
  sink.commit();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'coreshot-bench-z-'));
  const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  try {
    const exe = join(dir, 'target');
    must('gcc', ['-O1', '-pthread', '-o', exe, join(ROOT, 'bench/reader-target.c')]);
    if (readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim() !== 'core')
      throw new Error('kernel.core_pattern must be "core"');
    spawnSync('sh', ['-c', `ulimit -c unlimited; exec ${exe} ${MIB}`], { cwd: dir });
    const name = readdirSync(dir).find((f) => f === 'core' || /^core\.\d+$/.test(f));
    if (!name) throw new Error(`no core in ${dir}`);
    const plain = join(dir, name);
    const zst = join(dir, 'core.zst');
    must('zstd', ['-q', '-T0', plain, '-o', zst]);
    const seekable = join(dir, 'seekable.zst');
    await writeSeekable(plain, seekable);
    console.log(`core: ${mib(statSync(plain).size)}, zstd: ${mib(statSync(zst).size)}`);

    const inputs = { plain, zstd: zst } as const;
    const times: Record<string, number[]> = { plain: [], zstd: [] };
    const rss: Record<string, number> = { plain: 0, zstd: 0 };
    for (let round = -2; round < RUNS; round++) {
      for (const [label, path] of Object.entries(inputs)) {
        const r = coreshot(['threads', '--json', path], env);
        if (round < 0) continue;
        times[label]?.push(r.ms);
        rss[label] = Math.max(rss[label] ?? 0, r.rss);
      }
    }
    const [p, z] = [median(times.plain ?? []), median(times.zstd ?? [])];
    console.log(`threads --json, median of ${RUNS} interleaved runs:`);
    console.log(`  plain core   ${p.toFixed(0)} ms   peak RSS ${mib(rss.plain ?? 0)}`);
    console.log(`  zstd core    ${z.toFixed(0)} ms   peak RSS ${mib(rss.zstd ?? 0)}`);
    console.log(`  ratio zstd/plain: ${(z / p).toFixed(2)}x (goal: at most 2x)`);

    // The last page of the heap: the zstd stream is decoded up to it, the seekable file decodes
    // the one frame that holds it.
    const maps = JSON.parse(must(process.execPath, [CLI, 'maps', '--json', plain]).stdout);
    const heap = maps.mappings.reduce((a: { size: string }, b: { size: string }) =>
      BigInt(b.size) > BigInt(a.size) ? b : a,
    );
    const addr = `0x${(BigInt(heap.end) - 4096n).toString(16)}`;
    console.log(`read ${addr} 4096 (the end of the heap), one run each:`);
    for (const [label, path] of Object.entries({ plain, zstd: zst, 'seekable zstd': seekable })) {
      const r = coreshot(['read', path, addr, '4096'], env);
      console.log(`  ${label.padEnd(13)} ${r.ms.toFixed(0)} ms   peak RSS ${mib(r.rss)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
