// Seeded mutation fuzzing of compressed cores: a kernel core compressed with zstd, xz, lz4, gzip
// and seekable zstd (coreshot's own writer), cut short, overwritten and bit-flipped. Each case
// must end in a FormatError or a successful read of every byte the core holds, with no cache file left; the
// worker runs in a child process (runFuzzWorker) so that a hang fails the test. FUZZ_SECONDS
// (default 20, this test takes half) and FUZZ_SEED as for cores.test.ts.
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SeekableZstdSink, zstdCompressor } from '../../src/io/compressed/seekable-sink.js';
import { FileAccess } from '../../src/io/random-access.js';
import { FileSink } from '../../src/io/sink.js';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { runFuzzWorker } from '../helpers/fuzz-run.js';
import { runOk, tempDir } from '../helpers/proc.js';
import type { CompressedFuzzJob, CompressedFuzzMessage } from './compressed-worker.js';

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

test(`fuzz: mutated compressed cores end in FormatError or a correct read (${SECONDS} s from seed ${SEED})`, async () => {
  const job: CompressedFuzzJob = {
    inputs,
    seed: SEED,
    seconds: SECONDS,
    minCases: MIN_CASES,
    maxCases: 0,
    cacheDir: cache.path,
  };
  // A case reads a whole 24 MiB core through a decoder (about 1 s, several at a load of 6 on the 2
  // cores), so a hang is judged after 2 minutes without a case ending. (Seed 24329 once "hung"
  // here: a flipped bit made a mapping of 43 TiB, which the worker read MiB by MiB.)
  const done = await runFuzzWorker<Extract<CompressedFuzzMessage, { type: 'done' }>>(
    new URL('./compressed-worker.ts', import.meta.url).pathname,
    job,
    120_000,
  );
  console.log(`fuzz (compressed): ${done.cases} cases, ${done.opened} opened and read`);
});
