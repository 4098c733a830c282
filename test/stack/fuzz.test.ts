// Seeded mutation fuzzing of the unwinder's input: the .eh_frame and .eh_frame_hdr bytes of a
// real -O2 executable (without frame pointers, so every caller comes from CFI) are mutated and
// every thread of its kernel core is unwound. Each case must end in frames or a stated reason,
// within a per-case time bound (a watchdog kills a worker that stops making progress) and an
// RSS bound. FUZZ_SECONDS (default 20), FUZZ_SEED and FUZZ_CASES as in test/fuzz.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { after, test } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { tempDir } from '../helpers/proc.js';
import type { StackFuzzJob, StackFuzzMessage } from './fuzz-worker.js';
import { PROGRAM, programFlags } from './helpers.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? 0xcf1);
const CASES = Number(process.env.FUZZ_CASES ?? 0);
const HANG_MS = 30_000;

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
    maxCases: CASES,
    maxRssBytes: 512 << 20,
    maxFrames: 256,
  };
  const child = fork(new URL('./fuzz-worker.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx', '--max-old-space-size=256'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const failures: string[] = [];
  let current = -1;
  let done: Extract<StackFuzzMessage, { type: 'done' }> | undefined;
  let lastProgress = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > HANG_MS) {
      failures.push(`seed ${current}: no progress for ${HANG_MS} ms (hang)`);
      child.kill('SIGKILL');
    }
  }, 500);
  child.on('message', (m: StackFuzzMessage) => {
    lastProgress = Date.now();
    if (m.type === 'case') current = m.seed;
    else if (m.type === 'fail' && failures.length < 20) failures.push(`seed ${m.seed}: ${m.error}`);
    else if (m.type === 'done') {
      done = m;
      child.disconnect();
    }
  });
  child.send(job);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(watchdog);
  if (!done && failures.length === 0) failures.push(`seed ${current}: the worker died (exit ${code})`);
  assert.deepEqual(
    failures,
    [],
    `fuzz failures (rerun one with FUZZ_SEED=<seed> FUZZ_CASES=1):\n${failures.join('\n\n')}`,
  );
  assert.ok(done && done.cases > 0);
  process.stdout.write(
    `${done.cases} cases, ${done.stoppedEarly} threads stopped early with a reason, ${done.frames} frames, peak RSS ${(done.peakRss / 2 ** 20).toFixed(0)} MiB\n`,
  );
});
