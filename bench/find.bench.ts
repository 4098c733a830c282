// Search benchmark: `coreshot find` over a 1 GiB kernel core (every page touched) for text that is
// not there (so every byte is searched, as UTF-8 and UTF-16LE), for hex bytes and for a regular
// expression, side by side with `grep -c -F` over the same core file; prints MB/s of process
// memory searched and the ratio to grep. Goal: at least 500 MB/s.
// Run: npm run bench -- find   (needs gcc; ~1.5 GiB free in $TMPDIR). BENCH_RUNS (default 20).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCore } from '../src/sources/elfcore/open.js';
import { CLI, kernelCore, measure, peakRss, RUNS } from './lib.js';

const MIB = Number(process.env.BENCH_CORE_MIB ?? 1024);

const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'coreshot-bench-'));
try {
  const { core } = kernelCore(dir, MIB);
  const opened = openCore(core);
  const memory = opened.image.mappings.reduce((n, m) => n + Number(m.end - m.start), 0);
  opened.close();
  const absent = 'NOT-IN-THIS-CORE-9d2f';
  const runs: [string, string[]][] = [
    ['coreshot find TEXT (utf-8 + utf-16le)', [process.execPath, CLI, 'find', core, absent]],
    ['coreshot find --hex', [process.execPath, CLI, 'find', core, '--hex', 'de c0 ad 0b fe ed fa ce']],
    ['coreshot find --regex', [process.execPath, CLI, 'find', core, '--regex', 'user=[a-z]{12}']],
    ['grep -c -F TEXT core', ['sh', '-c', `grep -c -F '${absent}' '${core}' || true`]],
  ];
  const t = measure(
    runs.map(([, argv]) => argv),
    1,
  );
  const grep = t[t.length - 1]!;
  console.log(
    `1 GiB kernel core: ${(memory / 2 ** 20).toFixed(0)} MiB of mapped memory, core file ${(statSync(core).size / 2 ** 20).toFixed(0)} MiB; ${RUNS} interleaved runs, median wall`,
  );
  runs.forEach(([label], i) => {
    const x = t[i]!;
    const rate = memory / 1e6 / (x.wall / 1000);
    const vs = i < runs.length - 1 ? `   ${(x.wall / grep.wall).toFixed(2)}x grep's time` : '';
    console.log(
      `  ${label.padEnd(40)} ${x.wall.toFixed(0).padStart(6)} ms  ${rate.toFixed(0).padStart(6)} MB/s${vs}`,
    );
  });
  const rss = peakRss(['find', core, absent]);
  console.log(`  coreshot find peak RSS ${(rss / 2 ** 20).toFixed(1)} MiB (goal: at least 500 MB/s)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
