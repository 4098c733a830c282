// Reader benchmark: `coreshot threads --json` and `coreshot info` against `gdb -batch -ex 'info
// threads'` and `eu-readelf -n`, on a 1 GiB kernel core and on a core ten times larger (the same
// process plus a 9 GiB all-zero mapping, written sparse by writeElfCore), timed side by side in
// one run (interleaved rounds); also coreshot's peak RSS (VmHWM) on each core.
// Run: npm run bench -- reader   (needs gcc, gdb, eu-readelf; ~2.5 GiB free in $TMPDIR)
// BENCH_RUNS (default 20) timed rounds; BENCH_CORE_MIB (default 1024) the small core's heap.
import { mkdtempSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '../src/io/sink.js';
import { SplicedAddressSpace } from '../src/model/address-space.js';
import type { Mapping } from '../src/model/process-image.js';
import { writeElfCore } from '../src/sinks/elfcore/write.js';
import { openCore } from '../src/sources/elfcore/open.js';
import { gib, kernelCore, measure, peakRss, RUNS, type Timing } from './lib.js';

const MIB = Number(process.env.BENCH_CORE_MIB ?? 1024);

/** The same process with an extra all-zero mapping: a core `factor` times as large, mostly holes. */
async function largerCore(small: string, out: string, factor: number): Promise<void> {
  const src = openCore(small);
  try {
    const image = src.image;
    const extra = BigInt(statSync(small).size) * BigInt(factor - 1);
    const last = image.mappings[image.mappings.length - 1]!;
    const start = ((last.end + (1n << 30n)) >> 30n) << 30n;
    const zero: Mapping = {
      start,
      end: start + extra,
      read: true,
      write: true,
      exec: false,
      shared: false,
      offset: 0n,
      dumped: extra,
    };
    // The extra mapping is a zero region: the writer leaves it as a hole without reading it.
    const memory = new SplicedAddressSpace([
      [...image.memory.regions()],
      [{ start, end: start + extra, kind: 'zero' }],
    ]);
    await writeElfCore({ ...image, mappings: [...image.mappings, zero], memory }, new FileSink(out));
  } finally {
    src.close();
  }
}

async function main(): Promise<void> {
  const base = process.env.TMPDIR ?? tmpdir();
  const free = statfsSync(base).bavail * statfsSync(base).bsize;
  if (free < (MIB + 1536) * 2 ** 20)
    throw new Error(`${base} has ${gib(free)} free; the bench needs ${gib((MIB + 1536) * 2 ** 20)}`);
  const dir = mkdtempSync(join(base, 'coreshot-bench-'));
  try {
    const { core, exe } = kernelCore(dir, MIB);
    const big = join(dir, 'core.x10');
    await largerCore(core, big, 10);
    const rows: string[] = [];
    const summary: Record<string, number> = {};
    for (const [label, path] of [
      ['1x', core],
      ['10x', big],
    ] as const) {
      const size = statSync(path).size;
      const t = measure([
        [process.execPath, CLI, 'threads', '--json', path],
        [process.execPath, CLI, 'info', path],
        ['gdb', '-batch', '-nx', '-ex', 'info threads', exe, path],
        ['eu-readelf', '-n', path],
      ]);
      const [threads, info, gdb, eu] = t as [Timing, Timing, Timing, Timing];
      const rss = Math.max(peakRss(['threads', '--json', path]), peakRss(['info', path]));
      summary[`${label}.threads`] = threads.wall;
      summary[`${label}.info`] = info.wall;
      summary[`${label}.rss`] = rss;
      const line = (name: string, x: Timing, vs = true) =>
        `  ${name.padEnd(24)} ${x.wall.toFixed(1).padStart(6)} ms wall, ${x.cpu.toFixed(1).padStart(6)} ms CPU${vs ? `   gdb/coreshot ${(gdb.wall / x.wall).toFixed(2)}x wall, ${(gdb.cpu / x.cpu).toFixed(2)}x CPU   eu-readelf/coreshot ${(eu.wall / x.wall).toFixed(3)}x` : ''}`;
      rows.push(
        `core ${label}: ${gib(size)} (${gib(statSync(path).blocks * 512)} on disk), ${RUNS} interleaved runs, median wall`,
        line('coreshot threads --json', threads),
        line('coreshot info', info),
        line('gdb -batch info threads', gdb, false),
        line('eu-readelf -n', eu, false),
        `  coreshot peak RSS        ${(rss / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    console.log(rows.join('\n'));
    const s = (k: string) => summary[k]!;
    console.log(
      `10x/1x time: threads ${(s('10x.threads') / s('1x.threads')).toFixed(2)}, info ${(s('10x.info') / s('1x.info')).toFixed(2)}; peak RSS max ${(Math.max(s('1x.rss'), s('10x.rss')) / 2 ** 20).toFixed(1)} MiB (target < 150)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
