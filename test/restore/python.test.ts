// A real program nobody here wrote: Debian's python3 running a script whose two threads count
// into files they keep open and check a buffer's hash on every round, dumped, killed and
// restored: it counts on from where the core left it (never from the start), its count files
// open again at their offsets, no hash check fails.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { coreshot, killAndWait, ROOT, startDetached, tempDir } from '../helpers/proc.js';
import { eventually } from '../live/helpers.js';

/** Debian's interpreter, not whatever python3 comes first on PATH. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'test/restore/progs/counter.py');

let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('coreshot-restore-python-');
});
after(() => tmp?.cleanup());

function counts(dir: string): number[] {
  return [0, 1].flatMap((n) => {
    const f = join(dir, `count.${n}`);
    const text = existsSync(f) ? readFileSync(f, 'utf8').trim() : '';
    return text ? [Number(text)] : [];
  });
}

test('python3 with two counting threads is dumped, killed, restored and counts on', async () => {
  const dir = tmp.path;
  const pid = startDetached(PYTHON, [SCRIPT, dir]);
  let restored = 0;
  try {
    // Far enough that counting again from 0 would show.
    await eventually(
      () => counts(dir),
      (c) => c.length === 2 && c.every((n) => n >= 100),
      30_000,
    );
    const core = join(dir, 'core');
    const dumped = coreshot(['dump', String(pid), '-o', core]);
    assert.equal(dumped.status, 0, dumped.stderr);
    await killAndWait(pid);
    const atKill = counts(dir);
    const res = coreshot(['restore', core, '--json']);
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    restored = out.pid;
    assert.equal(out.threads.length, 3, 'the main thread and two counters');
    const low: number[] = [];
    const seen = await eventually(
      () => {
        const c = counts(dir);
        low.push(Math.min(...c));
        return c;
      },
      (c) => c.length === 2 && c.every((n, i) => n > atKill[i]! + 20),
      30_000,
    );
    seen.forEach((n, i) => {
      assert.ok(n > atKill[i]! + 20, `thread ${i}: count ${n}, ${atKill[i]} when killed`);
    });
    assert.ok(
      low.every((n) => n >= Math.min(...atKill) / 2),
      `a count went back towards 0 (${low}) from ${atKill}`,
    );
    assert.ok(
      !existsSync(join(dir, 'fail')),
      existsSync(join(dir, 'fail')) ? readFileSync(join(dir, 'fail'), 'utf8') : '',
    );
  } finally {
    await killAndWait(pid);
    if (restored) await killAndWait(restored);
  }
});
