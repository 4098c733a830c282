// --tree, -o - streaming, --json, --filter (checked against the kernel), progress on a TTY and
// PN_XNUM cores of processes with more than 65,535 mappings.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, coreshot, gdbWarnings, run, runOk, tempDir } from '../helpers/proc.js';
import { buildProg, eventually, isAlive, loads, sleep, startTarget } from './helpers.js';

function psinfoPid(core: string): number {
  const m = /PRPSINFO[\s\S]*?\bpid: (\d+)/.exec(runOk('eu-readelf', ['-n', core]).stdout);
  return Number(m?.[1]);
}

describe('coreshot dump options', () => {
  const tmp = tempDir('coreshot-live-features-');
  let threads = '';
  let checksum = '';

  before(() => {
    threads = buildProg('threads', tmp.path);
    checksum = buildProg('checksum', tmp.path);
  });
  after(() => tmp.cleanup());

  test('--tree: the process and all its descendants, one core each', async () => {
    const dir = join(tmp.path, 'tree');
    runOk('mkdir', ['-p', dir]);
    const script = 'sleep 600 & (sleep 600 & wait) & wait';
    const t = await startTarget('/bin/sh', ['-c', script], dir);
    try {
      const res = coreshot(['dump', String(t.pid), '--tree', '-o', join(dir, 'core'), '--json']);
      assert.equal(res.status, 0, res.stderr);
      const summary = JSON.parse(res.stdout) as { pid: number; output: string }[];
      assert.equal(summary.length, 4, res.stdout); // sh, sleep, subshell, its sleep
      assert.equal(summary[0]!.pid, t.pid);
      for (const s of summary) {
        assert.equal(s.output, join(dir, `core.${s.pid}`));
        assert.equal(psinfoPid(s.output), s.pid);
      }
      assert.equal(readdirSync(dir).filter((f) => f.startsWith('core.')).length, 4);
      for (const s of summary.slice(1)) process.kill(s.pid, 'SIGKILL');
    } finally {
      run('pkill', ['-KILL', '-P', String(t.pid)]);
      await t.stop();
    }
  });

  test('-o - streams the core to stdout; --json summary', async () => {
    const dir = join(tmp.path, 'stream');
    runOk('mkdir', ['-p', dir]);
    const t = await startTarget(threads, [], dir);
    try {
      const file = join(dir, 'file.core');
      const json = coreshot(['dump', String(t.pid), '-o', file, '--json']);
      assert.equal(json.status, 0, json.stderr);
      const s = JSON.parse(json.stdout);
      assert.equal(s.pid, t.pid);
      assert.equal(s.output, file);
      assert.equal(s.threads, 4);
      assert.equal(s.snapshot, true);
      assert.equal(s.bytes, statSync(file).size);
      assert.ok(s.pauseMs > 0 && s.pauseMs < s.totalMs);
      assert.equal(json.stderr, '');

      const streamed = join(dir, 'stream.core');
      runOk('sh', ['-c', `"${process.execPath}" "${CLI}" dump ${t.pid} -o - > "${streamed}"`]);
      assert.equal(statSync(streamed).size, statSync(file).size);
      assert.deepEqual(loads(streamed), loads(file));
      const g = run('gdb', ['-nx', '-batch', threads, streamed, '-ex', 'bt']);
      assert.deepEqual(gdbWarnings(`${g.stdout}\n${g.stderr}`), []);
      assert.match(g.stdout, /spin_here/);
    } finally {
      await t.stop();
    }
  });

  test('--filter overrides coredump_filter exactly as the kernel applies it', async () => {
    const dir = join(tmp.path, 'filter');
    runOk('mkdir', ['-p', dir]);
    const t = await startTarget(threads, [], dir, { ulimitCore: true });
    try {
      const core = join(dir, 'filtered.core');
      const res = coreshot(['dump', String(t.pid), '-o', core, '--filter', '7f']);
      assert.equal(res.status, 0, res.stderr);
      // The kernel's core with the same filter: every private file mapping is dumped whole.
      writeFileSync(`/proc/${t.pid}/coredump_filter`, '0x7f');
      process.kill(t.pid, 'SIGABRT');
      const kcore = join(dir, 'core');
      await eventually(
        () => !isAlive(t.pid) && existsSync(kcore),
        (v) => v,
        20_000,
      );
      assert.deepEqual(loads(core), loads(kcore));
      assert.ok(loads(core).some((l) => /filesz=0x0*([1-9a-f][0-9a-f]*) memsz=0x0*\1$/.test(l)));
    } finally {
      await t.stop();
    }
  });

  test('progress bar on a terminal', async () => {
    const dir = join(tmp.path, 'progress');
    runOk('mkdir', ['-p', dir]);
    const t = await startTarget(checksum, ['1000000', '768', '1000'], dir, { settleMs: 2500 });
    try {
      const out = join(dir, 'core');
      const res = run('script', [
        '-qfec',
        `"${process.execPath}" "${CLI}" dump ${t.pid} -o "${out}"`,
        '/dev/null',
      ]);
      assert.equal(res.status, 0, res.stdout);
      assert.match(res.stdout, new RegExp(`dump ${t.pid} \\[[^\\]]+\\] \\d+% \\d+/\\d+ MiB`));
      assert.match(res.stdout, /target paused [\d.]+ ms \(snapshot\)/);
    } finally {
      await t.stop();
    }
  });

  test('a process under a seccomp filter is dumped stopped, without injecting a fork', async () => {
    const dir = join(tmp.path, 'seccomp');
    runOk('mkdir', ['-p', dir]);
    const prog = buildProg('seccomp', dir);
    const t = await startTarget(prog, [], dir);
    try {
      const core = join(dir, 'seccomp.core');
      const res = coreshot(['dump', String(t.pid), '-o', core]);
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stderr, /stopped throughout/);
      assert.match(res.stderr, /no snapshot: the process runs under a seccomp filter/);
      assert.ok(isAlive(t.pid));
      const g = run('gdb', ['-nx', '-batch', prog, core, '-ex', 'bt']);
      assert.deepEqual(gdbWarnings(`${g.stdout}\n${g.stderr}`), []);
      assert.match(g.stdout, /main/);
    } finally {
      await t.stop();
    }
  });

  test('the init process of a PID namespace (no CLONE_PARENT): snapshot, target unharmed', async () => {
    const dir = join(tmp.path, 'pidns');
    runOk('mkdir', ['-p', dir]);
    const sleeper = buildProg('sleeper', dir);
    // Sleeps of 300 ms until the dumps are done (SIGALRM), however long they take.
    const t = await startTarget(
      'unshare',
      ['--pid', '--fork', '--mount-proc', sleeper, '100000', '300'],
      dir,
    );
    try {
      const init = await eventually(
        () => readFileSync(`/proc/${t.pid}/task/${t.pid}/children`, 'utf8').trim(),
        (c) => c !== '',
      );
      assert.match(readFileSync(`/proc/${init}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m, 'pid 1 inside');
      for (let i = 0; i < 3; i++) {
        const res = coreshot(['dump', init, '-o', join(dir, 'init.core'), '--force']);
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stderr, /\(snapshot\)/);
      }
      process.kill(Number(init), 'SIGALRM');
      await eventually(
        () => isAlive(t.pid),
        (alive) => !alive,
        30_000,
      );
      assert.match(readFileSync(t.output, 'utf8'), /^ok \d+\n$/);
    } finally {
      await t.stop();
    }
  });

  test('threads that appear and exit while coreshot seizes the process', async () => {
    const dir = join(tmp.path, 'churn');
    runOk('mkdir', ['-p', dir]);
    const prog = buildProg('churn', dir);
    const t = await startTarget(prog, [], dir);
    try {
      for (const mode of ['snapshot', 'no-snapshot']) {
        for (let i = 0; i < 5; i++) {
          const core = join(dir, `churn.${mode}.${i}.core`);
          const args = ['dump', String(t.pid), '-o', core, '--json'];
          if (mode === 'no-snapshot') args.push('--no-snapshot');
          const res = coreshot(args);
          assert.equal(res.status, 0, res.stderr);
          const s = JSON.parse(res.stdout);
          const g = run('gdb', ['-nx', '-batch', prog, core, '-ex', 'info threads']);
          assert.deepEqual(gdbWarnings(`${g.stdout}\n${g.stderr}`), []);
          assert.equal((g.stdout.match(/^\*?\s+\d+\s+Thread /gm) ?? []).length, s.threads, g.stdout);
          assert.ok(isAlive(t.pid));
        }
      }
    } finally {
      await t.stop();
    }
  });

  test('more than 65,535 mappings make a valid PN_XNUM core', async () => {
    const dir = join(tmp.path, 'xnum');
    runOk('mkdir', ['-p', dir]);
    const prog = buildProg('manymaps', dir);
    const saved = readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim();
    runOk('sysctl', ['-qw', 'vm.max_map_count=262144']);
    let t: Awaited<ReturnType<typeof startTarget>> | undefined;
    try {
      t = await startTarget(prog, ['70000'], dir, { settleMs: 100 });
      const target = t;
      await eventually(
        () => readFileSync(target.output, 'utf8'),
        (v) => v.includes('ready'),
        30_000,
      );
      await sleep(100);
      const core = join(dir, 'many.core');
      const res = coreshot(['dump', String(t.pid), '-o', core], { timeoutMs: 300_000 });
      assert.equal(res.status, 0, res.stderr);
      const h = runOk('readelf', ['-h', '-W', core]).stdout;
      const m = /Number of program headers:\s+65535 \((\d+)\)/.exec(h);
      assert.ok(m, h);
      assert.ok(Number(m[1]) > 70000);
      const eu = run('eu-readelf', ['-n', core]);
      assert.equal(eu.status, 0, eu.stderr);
      const g = run('gdb', ['-nx', '-batch', prog, core, '-ex', 'bt'], { timeoutMs: 300_000 });
      assert.deepEqual(gdbWarnings(`${g.stdout}\n${g.stderr}`), []);
      assert.match(g.stdout, /main/);
    } finally {
      await t?.stop();
      runOk('sysctl', ['-qw', `vm.max_map_count=${saved}`]);
    }
  });
});
