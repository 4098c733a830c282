// Seeded mutation fuzzing of compressed cores: a kernel core compressed with zstd, xz, lz4, gzip
// and seekable zstd (coreshot's own writer), cut short, overwritten and bit-flipped. Each case
// must end in a FormatError or a successful read of all memory, with no cache file left; the
// worker runs in a child process so that a hang fails the test. FUZZ_SECONDS (default 20, this
// test takes half) and FUZZ_SEED as for cores.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SeekableZstdSink, zstdCompressor } from '../../src/io/compressed/seekable-sink.js';
import { FileAccess } from '../../src/io/random-access.js';
import { FileSink } from '../../src/io/sink.js';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { run, runOk, tempDir } from '../helpers/proc.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20) / 2;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
/** Each case decodes up to a whole 24 MiB core: fewer cases than cores.test.ts, each heavier. */
const MIN_CASES = 30;
let made: MadeCore;
const cache = tempDir('coreshot-fuzz-cache-');
const inputs: string[] = [];

before(async () => {
  made = kernelCore();
  for (const [ext, tool] of [
    ['zst', 'zstd -q -c'],
    ['xz', 'xz -c'],
    ['lz4', 'lz4 -q -c'],
    ['gz', 'gzip -c'],
  ]) {
    const out = join(made.dir, `core.${ext}`);
    runOk('sh', ['-c', `${tool} < '${made.core}' > '${out}'`]);
    inputs.push(out);
  }
  const seekable = join(made.dir, 'core.seekable.zst');
  const sink = new SeekableZstdSink(new FileSink(seekable), await zstdCompressor());
  const plain = new FileAccess(made.core);
  for (let at = 0n; at < plain.size; at += 1n << 20n) sink.write(plain.read(at, 1 << 20));
  plain.close();
  sink.commit();
  inputs.push(seekable);
});
after(() => {
  made?.cleanup();
  cache.cleanup();
});

test(`fuzz: mutated compressed cores end in FormatError or a correct read (${SECONDS} s from seed ${SEED})`, () => {
  const job = {
    inputs,
    seed: SEED,
    seconds: SECONDS,
    minCases: MIN_CASES,
    maxCases: 0,
    cacheDir: cache.path,
  };
  const res = run(
    process.execPath,
    ['--import', 'tsx', new URL('./compressed-worker.ts', import.meta.url).pathname, JSON.stringify(job)],
    // A case takes about a second under load (a decode worker starts for each).
    { timeoutMs: (SECONDS + MIN_CASES * 10 + 60) * 1000 },
  );
  assert.equal(res.status, 0, `the worker died or hung (status ${res.status}): ${res.stderr}`);
  const done = JSON.parse(res.stdout) as { cases: number; opened: number; failures: string[] };
  assert.deepEqual(done.failures, [], `rerun one with FUZZ_SEED=<seed>`);
  console.log(`fuzz (compressed): ${done.cases} cases, ${done.opened} opened and read`);
  assert.ok(done.cases >= MIN_CASES);
});
