// Acceptance (issue 12): a snapshot holds every private mapping at one instant, MADV_DONTFORK and
// MADV_WIPEONFORK areas included (they are made fork-copied for the instant of the fork and set
// back), and coreshot SIGKILLed at any step of that leaves the target as it was, flags included,
// with no copy running.
import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { coreshot, holdCoreshot, runOk, tempDir } from '../helpers/proc.js';
import {
  buildProg,
  eventually,
  isAlive,
  PROGS,
  startTarget,
  strayCopies,
  tracerOf,
  waitExit,
} from './helpers.js';

/** Every mapping's range and VmFlags, as smaps shows them. */
function vmFlags(pid: number): string[] {
  const out: string[] = [];
  let range = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const m = /^([0-9a-f]+-[0-9a-f]+) /.exec(line);
    if (m) range = m[1]!;
    else if (line.startsWith('VmFlags:')) out.push(`${range} ${line.slice(8).trim()}`);
  }
  return out;
}

/** How many runs of adjacent mappings carry `flag` in `vmFlags`' lines. */
function flagRuns(lines: string[], flag: string): number {
  let runs = 0;
  let end = -1n;
  for (const line of lines) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (.*)$/.exec(line)!;
    if (!m[3]!.split(' ').includes(flag)) continue;
    if (BigInt(`0x${m[1]}`) !== end) runs++;
    end = BigInt(`0x${m[2]}`);
  }
  return runs;
}

/** A V8 small integer as stored in a JS array without pointer compression: value << 32. */
function smi(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32LE(v, 4);
  return b;
}

const HEAD = Buffer.concat([smi(0x1c0dec0d), smi(0x2badf00d)]);
const TAIL = 0x35eed5ee;

/**
 * The array of test/live/progs/jsarray.cjs found in a core by its markers, as runs of equal
 * values [value, count]. Throws unless exactly one whole copy is there.
 */
function arrayRuns(core: string, n: number): [number, number][] {
  const fd = openSync(core, 'r');
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.alloc((16 << 20) + HEAD.length);
    const found = new Set<number>();
    for (let off = 0; off < size; off += 16 << 20) {
      const got = chunk.subarray(0, readSync(fd, chunk, 0, chunk.length, off));
      for (let i = got.indexOf(HEAD); i >= 0; i = got.indexOf(HEAD, i + 1)) found.add(off + i);
    }
    assert.equal(found.size, 1, `the array's markers were found ${found.size} times`);
    const bytes = Buffer.alloc(n * 8);
    assert.equal(readSync(fd, bytes, 0, bytes.length, [...found][0]!), bytes.length);
    assert.equal(bytes.readInt32LE((n - 1) * 8 + 4), TAIL, 'the array ends where it should');
    const runs: [number, number][] = [];
    for (let i = 2; i < n - 1; i++) {
      const v = bytes.readInt32LE(i * 8 + 4);
      const last = runs.at(-1);
      if (last && last[0] === v) last[1]++;
      else runs.push([v, 1]);
    }
    return runs;
  } finally {
    closeSync(fd);
  }
}

describe('snapshot: every private mapping frozen at one instant', () => {
  const tmp = tempDir('coreshot-live-frozen-');
  let prog = '';
  before(() => {
    prog = buildProg('forkflags', tmp.path);
  });
  after(() => tmp.cleanup());

  test('a Node.js process rewriting a large JS array: 10 dumps in a row each show one instant', async () => {
    const n = 2_000_000;
    const stop = join(tmp.path, 'stop');
    const t = await startTarget(process.execPath, [join(PROGS, 'jsarray.cjs'), stop, String(n)], tmp.path, {
      name: 'jsarray',
      settleMs: 0,
    });
    try {
      await eventually(
        () => readFileSync(t.output, 'utf8'),
        (o) => o.startsWith('ready'),
        30_000,
      );
      const core = join(tmp.path, 'jsarray.core');
      for (let i = 0; i < 10; i++) {
        const res = coreshot(['dump', String(t.pid), '-o', core, '--force']);
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stderr, /\(snapshot\)/);
        assert.match(res.stderr, /\d+ MADV_DONTFORK\/WIPEONFORK areas frozen for the fork/);
        assert.doesNotMatch(res.stderr, /not frozen/);
        // One instant: generation G+1 from the start up to where the loop was, G after it.
        const runs = arrayRuns(core, n);
        const what = `dump ${i + 1}: ${JSON.stringify(runs.slice(0, 5))} (${runs.length} runs)`;
        assert.ok(runs.length <= 2, what);
        if (runs.length === 2) assert.equal(runs[0]![0], runs[1]![0] + 1, what);
        assert.ok(isAlive(t.pid), `the target ended during dump ${i + 1}`);
      }
      writeFileSync(stop, '');
      await waitExit(t);
      assert.match(readFileSync(t.output, 'utf8'), /^ready \d+\nok \d+\n$/);
    } finally {
      await t.stop();
    }
  });

  test('SIGKILL of coreshot at each step: the target goes on with its fork flags, no copy remains', async () => {
    const dir = join(tmp.path, 'steps');
    runOk('mkdir', ['-p', dir]);
    const t = await startTarget(prog, [], dir, { ulimitCore: true });
    const steps = [
      'frames-written',
      'registers-set',
      'syscall-returned',
      'sigreturn-entered',
      'fork-flag-cleared',
      'forked',
      'fork-flag-restored',
      'released',
    ];
    try {
      const flags = vmFlags(t.pid);
      assert.equal(flags.filter((f) => / dc\b/.test(f)).length, 4, flags.join('\n'));
      assert.equal(flags.filter((f) => / wf\b/.test(f)).length, 2, flags.join('\n'));
      for (const step of steps) {
        const held = await holdCoreshot(['dump', String(t.pid), '-o', join(dir, 'core')], step);
        await held.kill();
        assert.ok(isAlive(t.pid), `target died (killed at ${step})`);
        const tracer = await eventually(
          () => tracerOf(t.pid),
          (v) => v === 0,
        );
        assert.equal(tracer, 0, `target still traced (killed at ${step})`);
        const stray = await eventually(
          () => strayCopies(t, prog),
          (s) => s.length === 0,
        );
        assert.deepEqual(stray, [], `a forked copy survived (killed at ${step})`);
        const now = await eventually(
          () => vmFlags(t.pid),
          (f) => f.join('\n') === flags.join('\n'),
        );
        assert.deepEqual(now, flags, `fork flags changed (killed at ${step})`);
      }
      const res = coreshot(['dump', String(t.pid), '-o', join(dir, 'core'), '--force']);
      assert.equal(res.status, 0, res.stderr);
      // One madvise range per run of adjacent areas with the flag: how they are laid out is the
      // kernel's choice (the areas may or may not be placed next to one another).
      const areas = flagRuns(flags, 'dc') + flagRuns(flags, 'wf');
      assert.match(res.stderr, new RegExp(`\\b${areas} MADV_DONTFORK/WIPEONFORK areas frozen for the fork`));
      assert.doesNotMatch(res.stderr, /not frozen/);
      assert.deepEqual(vmFlags(t.pid), flags);
      process.kill(t.pid, 'SIGALRM');
      await waitExit(t);
      assert.match(readFileSync(t.output, 'utf8'), /\nok\n$/);
    } finally {
      await t.stop();
    }
  });
});
