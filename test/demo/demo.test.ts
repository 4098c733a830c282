import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { openCore } from '../../src/sources/elfcore/open.js';
import { coreshot, isAlive, tempDir } from '../helpers/proc.js';

/** Runs the demo in `dir` and checks what it says against the core it wrote; returns the pid. */
function demoRun(dir: string): number {
  const res = coreshot(['demo', '--dir', dir], { timeoutMs: 180_000 });
  assert.equal(res.status, 0, res.stderr);
  // Step 4 is the info view itself, printed in its place.
  assert.match(res.stdout, /\n4\. what the core holds \(coreshot info\):\ncore {8}\S+core\.\d+ \(/);
  assert.match(res.stdout, /\nproblems +.*\n5\. searched its memory/);
  const started = /started a demo process: pid (\d+) \(node with a worker thread: (\d+) threads;/.exec(
    res.stdout,
  );
  assert.ok(started, res.stdout);
  const pid = Number(started[1]);
  assert.ok(Number(started[2]) >= 2, `the main thread and the worker at least:\n${res.stdout}`);
  const beats = /alive=true, heartbeat (\d+) → (\d+)/.exec(res.stdout);
  assert.ok(beats, `target kept running after the dump:\n${res.stdout}`);
  assert.ok(Number(beats[2]) > Number(beats[1]), 'its heartbeat advanced');
  const secret = /searched its memory for the secret ([0-9a-f]{16}): found at (0x[0-9a-f]+)/.exec(res.stdout);
  assert.ok(secret, `secret found in the core:\n${res.stdout}`);
  const corePath = join(dir, `core.${pid}`);
  assert.equal(statSync(corePath).mode & 0o777, 0o600);
  const core = openCore(corePath);
  try {
    const threads = core.image.threads.length;
    assert.match(
      res.stdout,
      new RegExp(`core, ${threads} threads,`),
      'step 2 states the threads in the core',
    );
    assert.ok(threads >= 2);
    const needle = `coreshot-demo-secret:${secret[1]}`;
    assert.equal(core.image.memory.read(BigInt(secret[2]!), needle.length).data.toString('latin1'), needle);
  } finally {
    core.close();
  }
  assert.ok(!isAlive(pid), 'the demo process is gone afterwards');
  return pid;
}

it('coreshot demo captures a running process that carries on, and finds its secret in the core (twice in one --dir)', () => {
  const dir = tempDir();
  try {
    // The second run finds the first one's heartbeat file: it must still wait for its own process.
    const first = demoRun(dir.path);
    const second = demoRun(dir.path);
    assert.notEqual(first, second);
    assert.deepEqual(
      readdirSync(dir.path).sort(),
      [`core.${first}`, `core.${second}`, 'demo-target.cjs', 'heartbeat'].sort(),
    );
  } finally {
    dir.cleanup();
  }
});
