// Seeded mutation fuzzing of the unwinder's input: the .eh_frame and .eh_frame_hdr bytes of a
// real -O2 executable (without frame pointers, so every caller comes from CFI) are mutated and
// every thread of its kernel core is unwound. Each case must end in frames or a stated reason,
// within a per-case time bound (a watchdog kills a worker that stops making progress) and an
// RSS bound. FUZZ_SECONDS (default 20), FUZZ_SEED and FUZZ_CASES as in test/fuzz.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { runFuzzWorker } from '../helpers/fuzz-run.js';
import { tempDir } from '../helpers/proc.js';
import type { StackFuzzJob, StackFuzzMessage } from './fuzz-worker.js';
import { PROGRAM, programFlags } from './helpers.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? 0xcf1);
const CASES = Number(process.env.FUZZ_CASES ?? 0);

const flags = programFlags({ omitFramePointer: true });
const made: MadeCore = kernelCore('x86_64', { source: PROGRAM, flags: flags.flags, args: ['crash'] });
const root = tempDir('coreshot-stack-fuzz-');
after(() => {
  made.cleanup();
  flags.cleanup();
  root.cleanup();
});

test(`fuzz: mutated .eh_frame/.eh_frame_hdr end in frames or a reason (${SECONDS} s from seed ${SEED})`, async () => {
  const job: StackFuzzJob = {
    core: made.core,
    exe: made.exe,
    root: root.path,
    seed: SEED,
    seconds: SECONDS,
    minCases: CASES === 0 ? SECONDS * 5 : 0,
    maxCases: CASES,
    maxRssBytes: 512 << 20,
    maxFrames: 256,
  };
  const done = await runFuzzWorker<Extract<StackFuzzMessage, { type: 'done' }>>(
    new URL('./fuzz-worker.ts', import.meta.url).pathname,
    job,
  );
  assert.ok(done.cases > 0);
  process.stdout.write(
    `${done.cases} cases, ${done.stoppedEarly} threads stopped early with a reason, ${done.frames} frames, peak RSS ${(done.peakRss / 2 ** 20).toFixed(0)} MiB\n`,
  );
});
