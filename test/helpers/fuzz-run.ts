/**
 * Runs a seeded fuzz worker in a child process (bounded heap) and collects what it reports: each
 * case's seed, failures (at most 20), and its final `done` message. A worker that makes no
 * progress for `hangMs` (default 30 s) is killed and reported as a hang; one that dies is reported
 * with its seed.
 * Shared by the fuzzers of cores, symbols and stacks.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';

const HANG_MS = 30_000;

/** What a fuzz worker sends: the seed of each case, a failure, and its summary at the end. */
export type FuzzReport<D> =
  | { type: 'case'; seed: number }
  | { type: 'fail'; seed: number; error: string }
  | D;

/**
 * Sends `job` to the worker at `workerPath`, waits for it to end, asserts that no case failed,
 * and returns its `done` message.
 */
export async function runFuzzWorker<D extends { type: 'done' }>(
  workerPath: string,
  job: unknown,
  hangMs = HANG_MS,
): Promise<D> {
  const child = fork(workerPath, [], {
    execArgv: ['--import', 'tsx', '--max-old-space-size=256'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const failures: string[] = [];
  let current = -1;
  let done: D | undefined;
  let lastProgress = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > hangMs) {
      failures.push(`seed ${current}: no progress for ${hangMs} ms (hang)`);
      child.kill('SIGKILL');
    }
  }, 500);
  child.on('message', (m: FuzzReport<D>) => {
    lastProgress = Date.now();
    if (m.type === 'case') current = (m as { seed: number }).seed;
    else if (m.type === 'fail') {
      const f = m as { seed: number; error: string };
      if (failures.length < 20) failures.push(`seed ${f.seed}: ${f.error}`);
    } else if (m.type === 'done') {
      done = m as D;
      child.disconnect();
    }
  });
  child.send(job as object);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(watchdog);
  if (!done && failures.length === 0) failures.push(`seed ${current}: the worker died (exit ${code})`);
  assert.deepEqual(
    failures,
    [],
    `fuzz failures (rerun one with FUZZ_SEED=<seed> FUZZ_CASES=1):\n${failures.join('\n\n')}`,
  );
  assert.ok(done);
  return done;
}
