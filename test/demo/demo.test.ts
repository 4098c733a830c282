import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { openCore } from '../../src/sources/elfcore/open.js';
import { coreshot, isAlive, tempDir } from '../helpers/proc.js';

it('coreshot demo captures a running process that carries on, and finds its secret in the core', () => {
  const dir = tempDir();
  try {
    const res = coreshot(['demo', '--dir', dir.path], { timeoutMs: 60_000 });
    assert.equal(res.status, 0, res.stderr);
    const pid = Number(/started a demo process: pid (\d+)/.exec(res.stdout)?.[1]);
    assert.ok(pid > 0, res.stdout);
    const beats = /alive=true, heartbeat (\d+) → (\d+)/.exec(res.stdout);
    assert.ok(beats, `target kept running after the dump:\n${res.stdout}`);
    assert.ok(Number(beats[2]) > Number(beats[1]), 'its heartbeat advanced');
    const secret = /searched its memory for the secret ([0-9a-f]{16}): found at (0x[0-9a-f]+)/.exec(
      res.stdout,
    );
    assert.ok(secret, `secret found in the core:\n${res.stdout}`);
    const corePath = join(dir.path, `core.${pid}`);
    assert.equal(statSync(corePath).mode & 0o777, 0o600);
    const core = openCore(corePath);
    try {
      assert.ok(core.image.threads.length >= 2);
      const needle = `coreshot-demo-secret:${secret[1]}`;
      assert.equal(core.image.memory.read(BigInt(secret[2]!), needle.length).data.toString('latin1'), needle);
    } finally {
      core.close();
    }
    assert.ok(!isAlive(pid), 'the demo process is gone afterwards');
    assert.deepEqual(readdirSync(dir.path).sort(), [`core.${pid}`, 'demo-target.cjs', 'heartbeat'].sort());
  } finally {
    dir.cleanup();
  }
});
