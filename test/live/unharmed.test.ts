// Acceptance: a dumped process continues exactly as if nothing happened, in both modes, even
// when coreshot is SIGKILLed in the middle of a dump; no forked copy of it remains.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, coreshot, holdCoreshot, runOk, tempDir } from '../helpers/proc.js';
import {
  buildProg,
  eventually,
  isAlive,
  sleep,
  startTarget,
  strayCopies,
  tracees,
  tracerOf,
  waitExit,
} from './helpers.js';

const SIGNAL = 40; // SIGRTMIN+6 with glibc: queued, so every one sent must be counted.

describe('coreshot dump leaves the target unharmed', () => {
  const tmp = tempDir('coreshot-live-unharmed-');
  let prog = '';
  let expected = '';

  before(() => {
    prog = buildProg('checksum', tmp.path);
    expected = runOk(prog, ['32000', '16', '0']).stdout;
    assert.match(expected, /^done 32000 [0-9a-f]{16} signals 0$/m);
  });
  after(() => tmp.cleanup());

  for (const mode of ['snapshot', 'no-snapshot']) {
    test(`20 dumps in a row (${mode}) change nothing it prints`, async () => {
      const dir = join(tmp.path, mode);
      runOk('mkdir', ['-p', dir]);
      // Items 500 µs apart; the last waits until the dumps are done (SIGALRM).
      const t = await startTarget(prog, ['32000', '16', '500', 'hold'], dir, { settleMs: 100 });
      try {
        let sent = 0;
        const core = join(dir, 'core');
        for (let i = 0; i < 20; i++) {
          process.kill(t.pid, SIGNAL);
          sent++;
          const args = ['dump', String(t.pid), '-o', core, '--force'];
          if (mode === 'no-snapshot') args.push('--no-snapshot');
          const res = coreshot(args);
          assert.ok(isAlive(t.pid), `target ended during dump ${i + 1}`);
          assert.equal(res.status, 0, res.stderr);
          assert.equal(tracerOf(t.pid), 0);
        }
        process.kill(t.pid, 'SIGALRM');
        await waitExit(t);
        const out = readFileSync(t.output, 'utf8');
        assert.equal(out, expected.replace('signals 0', `signals ${sent}`));
        const stray = await eventually(
          () => strayCopies(t, prog),
          (s) => s.length === 0,
        );
        assert.deepEqual(stray, [], 'a forked copy (or its zombie) remains');
      } finally {
        await t.stop();
      }
    });
  }

  test('SIGKILL of coreshot during a dump: the target runs on, no copy survives', async () => {
    const dir = join(tmp.path, 'killed');
    runOk('mkdir', ['-p', dir]);
    // A large target (256 MiB) so that dumps last long enough to be killed in the middle.
    const t = await startTarget(prog, ['20000', '256', '500', 'hold'], dir, { settleMs: 1500 });
    // When to kill: a time after the start, or (snapshot mode) a time after the copy exists.
    // The steps of the fork injection itself have a test of their own below.
    const plans: { mode: string; afterCopy: boolean; ms: number }[] = [
      ...[0, 5, 15, 30, 60, 120, 250].map((ms) => ({ mode: 'no-snapshot', afterCopy: false, ms })),
      { mode: 'snapshot', afterCopy: false, ms: 0 },
      ...[0, 20, 60, 150].map((ms) => ({ mode: 'snapshot', afterCopy: true, ms })),
    ];
    try {
      for (const { mode, afterCopy, ms } of plans) {
        const what = `${mode}, ${ms} ms after ${afterCopy ? 'the copy existed' : 'the start'}`;
        const args = [CLI, 'dump', String(t.pid), '-o', join(dir, `core.${mode}.${afterCopy}.${ms}`)];
        if (mode === 'no-snapshot') args.push('--no-snapshot');
        const child = spawn(process.execPath, args, { stdio: 'ignore' });
        const exited = new Promise((r) => child.once('exit', r));
        if (afterCopy) {
          const copy = await eventually(
            () => tracees(child.pid!).filter((p) => p !== t.pid),
            (v) => v.length > 0,
            10_000,
          );
          assert.ok(copy.length > 0, 'no snapshot copy appeared');
        }
        await sleep(ms);
        child.kill('SIGKILL');
        await exited;
        assert.ok(isAlive(t.pid), `target died when coreshot was killed (${what})`);
        const tracer = await eventually(
          () => tracerOf(t.pid),
          (v) => v === 0,
        );
        assert.equal(tracer, 0, 'target still traced');
        const stray = await eventually(
          () => strayCopies(t, prog),
          (s) => s.length === 0,
        );
        assert.deepEqual(stray, [], `a forked copy survived coreshot (${what})`);
      }
      // The output is a file without a name (O_TMPFILE) until it is complete: none is left.
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.includes('.coreshot-')),
        [],
      );
      process.kill(t.pid, 'SIGALRM');
      await waitExit(t);
      const out = readFileSync(t.output, 'utf8');
      assert.match(out, /^done 20000 [0-9a-f]{16} signals 0$/m, out);
      assert.equal(out, runOk(prog, ['20000', '256', '0']).stdout);
    } finally {
      await t.stop();
    }
  });

  test('SIGKILL of coreshot at each step of the fork injection: the target goes on, the copy ends', async () => {
    const dir = join(tmp.path, 'steps');
    const outDir = join(tmp.path, 'steps-out');
    runOk('mkdir', ['-p', dir, outDir]);
    const spin = buildProg('spinregs', tmp.path);
    // The checksum's main thread (the one a fork is injected into) sits in read(): interrupted,
    // it restarts. spinregs spins in user mode with known values in its registers.
    const targets = [
      await startTarget(prog, ['20000', '16', '500', 'hold'], dir, { ulimitCore: true }),
      await startTarget(spin, ['600'], dir, { ulimitCore: true, name: 'spinregs' }),
    ];
    const steps = ['frames-written', 'registers-set', 'forked', 'syscall-returned', 'sigreturn-entered'];
    try {
      for (const step of steps) {
        for (const t of targets) {
          const what = `killed at ${step}, target ${t.pid}`;
          const held = await holdCoreshot(['dump', String(t.pid), '-o', join(outDir, step)], step);
          await held.kill();
          assert.ok(isAlive(t.pid), `target died (${what})`);
          const tracer = await eventually(
            () => tracerOf(t.pid),
            (v) => v === 0,
          );
          assert.equal(tracer, 0, `target still traced (${what})`);
          const exe = t === targets[0] ? prog : spin;
          const stray = await eventually(
            () => strayCopies(t, exe),
            (s) => s.length === 0,
          );
          assert.deepEqual(stray, [], `a forked copy survived (${what})`);
        }
      }
      for (const t of targets) process.kill(t.pid, 'SIGALRM'); // the last item; stop spinning
      for (const t of targets) await waitExit(t);
      assert.equal(readFileSync(targets[0]!.output, 'utf8'), runOk(prog, ['20000', '16', '0']).stdout);
      assert.match(readFileSync(targets[1]!.output, 'utf8'), /^ok \d+\n$/, 'spinregs saw a register change');
      // A copy that crashed instead of ending cleanly would have left a core file here.
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.startsWith('core')),
        [],
      );
    } finally {
      for (const t of targets) await t.stop();
    }
  });

  test('a process asleep in nanosleep: dumps neither cut its sleeps short nor fail them', async () => {
    const dir = join(tmp.path, 'sleeper');
    runOk('mkdir', ['-p', dir]);
    const sleeper = buildProg('sleeper', dir);
    // Sleeps of 400 ms until the dumps are done (SIGALRM), however long they take.
    const t = await startTarget(sleeper, ['100000', '400'], dir);
    try {
      for (let i = 0; i < 8; i++) {
        const res = coreshot(['dump', String(t.pid), '-o', join(dir, 'core'), '--force']);
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stderr, /\(snapshot\)/);
        await sleep(150);
      }
      process.kill(t.pid, 'SIGALRM');
      await waitExit(t);
      assert.match(readFileSync(t.output, 'utf8'), /^ok \d+\n$/);
    } finally {
      await t.stop();
    }
  });

  describe('reading memory shared copy-on-write makes no process copy it', () => {
    const MIB = 64;
    /**
     * The memory only `pid` maps, in KiB (smaps_rollup Private_Clean + Private_Dirty: a page
     * copied to be pinned for reading is clean).
     */
    const privateKiB = (pid: number) => {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(rollup)![1]);
      return kib('Private_Clean') + kib('Private_Dirty');
    };
    /** The first byte of page `k` of the target's area, as the core holds it. */
    const firstByte = (core: string, area: bigint, k: number) =>
      Number.parseInt(
        JSON.parse(
          coreshot(['read', core, `0x${(area + BigInt(k * 4096)).toString(16)}`, '1', '--json']).stdout,
        ).hex,
        16,
      );

    async function start(dir: string) {
      runOk('mkdir', ['-p', dir]);
      const prog = buildProg('cowshared', dir);
      const t = await startTarget(prog, [String(MIB)], dir);
      const out = await eventually(
        () => readFileSync(t.output, 'utf8'),
        (o) => /^ready \d+ 0x[0-9a-f]+$/m.test(o),
      );
      const area = BigInt(/^ready \d+ (0x[0-9a-f]+)$/m.exec(out)![1]!);
      return { t, area };
    }

    function checkCore(core: string, area: bigint) {
      for (const k of [0, 1, 254, 255, MIB * 256 - 1]) assert.equal(firstByte(core, area, k), (k % 255) + 1);
    }

    test('--no-snapshot: the target keeps sharing its pages with its child', async () => {
      const dir = join(tmp.path, 'cow-stopped');
      const { t, area } = await start(dir);
      try {
        const before = privateKiB(t.pid);
        assert.ok(before < (MIB * 1024) / 4, `the target starts with ${before} KiB of its own pages`);
        const core = join(dir, 'core');
        const res = coreshot(['dump', '--no-snapshot', String(t.pid), '-o', core]);
        assert.equal(res.status, 0, res.stderr);
        const after = privateKiB(t.pid);
        assert.ok(after < (MIB * 1024) / 4, `after the dump the target has ${after} KiB of its own pages`);
        checkCore(core, area);
      } finally {
        await t.stop();
      }
    });

    test('snapshot: the copy keeps sharing its pages with the target', async () => {
      const dir = join(tmp.path, 'cow-snapshot');
      const { t, area } = await start(dir);
      const core = join(dir, 'core');
      const resume = join(dir, 'resume');
      const held = await holdCoreshot(['dump', String(t.pid), '-o', core], 'capture-done', { resume });
      try {
        const copies = tracees(held.pid).filter((p) => p !== t.pid);
        assert.equal(copies.length, 1, `coreshot traces ${copies.join(', ')}`);
        const copy = privateKiB(copies[0]!);
        assert.ok(copy < (MIB * 1024) / 4, `the snapshot copy holds ${copy} KiB of its own pages`);
        writeFileSync(resume, '');
        assert.equal(await held.exited, 0, held.stderr());
        checkCore(core, area);
      } finally {
        await held.kill();
        await t.stop();
      }
    });
  });
});
