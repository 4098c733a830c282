// Acceptance: every failure is one clear line on stderr, a non-zero exit, and no file left.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CLI,
  cliForOtherUsers,
  coreshot,
  holdCoreshot,
  run,
  runOk,
  startDetached,
  tempDir,
} from '../helpers/proc.js';
import { buildProg, eventually, isAlive, startTarget, type Target, tracees, tracerOf } from './helpers.js';

function oneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^coreshot: /);
  assert.match(lines[0]!, pattern);
}

/**
 * Starts coreshot writing a core to a pipe nobody reads: it blocks holding the target (with
 * --no-snapshot) or its snapshot copy.
 */
async function stalledDump(
  pid: number,
  extra: string[],
): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, 'dump', String(pid), '-o', '-', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pause();
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const snapshot = !extra.includes('--no-snapshot');
  const traced = await eventually(
    () => tracees(child.pid!),
    (v) => v.length > 0 && (snapshot ? !v.includes(pid) : v.includes(pid)),
    10_000,
  );
  assert.ok(traced.length > 0, 'coreshot did not start tracing');
  return { child, stderr: () => err };
}

describe('coreshot dump errors', () => {
  const tmp = tempDir('coreshot-live-errors-');
  let prog = '';
  let target: Target | undefined;

  before(async () => {
    prog = buildProg('checksum', tmp.path);
  });
  after(async () => {
    await target?.stop();
    tmp.cleanup();
  });

  async function freshTarget(name: string): Promise<Target> {
    await target?.stop();
    target = await startTarget(prog, ['1000000', '16', '1000'], tmp.path, { name, settleMs: 200 });
    return target;
  }

  function emptyDir(name: string): string {
    const d = join(tmp.path, name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  test('no such process', () => {
    const dir = emptyDir('nosuch');
    // Process ids are always below pid_max.
    const gone = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    const res = coreshot(['dump', String(gone)], { cwd: dir });
    assert.notEqual(res.status, 0);
    oneLineError(res.stderr, new RegExp(`process ${gone} does not exist`));
    assert.deepEqual(readdirSync(dir), []);
    const bad = coreshot(['dump', 'abc'], { cwd: dir });
    assert.notEqual(bad.status, 0);
    oneLineError(bad.stderr, /PID must be a positive number/);
  });

  test('not permitted: a different user', async () => {
    const t = await freshTarget('eperm');
    const dir = emptyDir('eperm');
    chmodSync(dir, 0o777);
    // Not under tmp (mode 0700): the other user must reach the copy.
    const copy = tempDir('coreshot-cli-');
    let res: ReturnType<typeof run>;
    try {
      const cli = cliForOtherUsers(copy.path);
      res = run(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, 'dump', String(t.pid)],
        { cwd: dir },
      );
    } finally {
      copy.cleanup();
    }
    assert.notEqual(res.status, 0);
    oneLineError(res.stderr, new RegExp(`not permitted to trace process ${t.pid}`));
    assert.deepEqual(readdirSync(dir), []);
    assert.ok(isAlive(t.pid));
  });

  test('not permitted: already traced by gdb', async () => {
    const t = await freshTarget('gdb');
    const dir = emptyDir('gdb');
    const gdb = startDetached('gdb', ['-nx', '-batch', '-p', String(t.pid), '-ex', 'shell sleep 30']);
    try {
      const tracer = await eventually(
        () => tracerOf(t.pid),
        (v) => v !== 0,
        20_000,
      );
      assert.notEqual(tracer, 0, 'gdb did not attach');
      const res = coreshot(['dump', String(t.pid)], { cwd: dir });
      assert.notEqual(res.status, 0);
      oneLineError(
        res.stderr,
        new RegExp(`process ${t.pid} is already traced by process ${tracer} \\(gdb\\)`),
      );
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      run('pkill', ['-KILL', '-P', String(gdb)]);
      process.kill(gdb, 'SIGKILL');
    }
  });

  test('not permitted: already traced by another coreshot', async () => {
    const t = await freshTarget('twice');
    const dir = emptyDir('twice');
    const first = await stalledDump(t.pid, ['--no-snapshot']);
    try {
      const res = coreshot(['dump', String(t.pid)], { cwd: dir });
      assert.notEqual(res.status, 0);
      oneLineError(res.stderr, new RegExp(`already traced by process ${first.child.pid} \\(node\\)`));
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      first.child.kill('SIGKILL');
    }
    assert.ok(isAlive(t.pid));
  });

  test('the target exits during a --no-snapshot dump', async () => {
    const t = await freshTarget('exits');
    const dir = emptyDir('exits');
    const resume = join(dir, 'resume');
    // Held before it reads any memory (a stalled pipe would not do: on a loaded machine coreshot
    // can have read all of a small target into its write-behind buffer before the kill).
    const held = await holdCoreshot(
      ['dump', String(t.pid), '--no-snapshot', '-o', join(dir, 'core')],
      'capture-ready',
      { resume },
    );
    process.kill(t.pid, 'SIGKILL');
    // The kill has taken the target's memory once status shows no VmSize (or it is a zombie).
    const gone = await eventually(
      () => readFileSync(`/proc/${t.pid}/status`, 'utf8'),
      (status) => !/^VmSize:/m.test(status) || /^State:\s+Z/m.test(status),
      10_000,
    );
    assert.ok(!/^VmSize:/m.test(gone) || /^State:\s+Z/m.test(gone), 'the target kept its memory');
    writeFileSync(resume, '');
    assert.notEqual(await held.exited, 0);
    oneLineError(
      held.stderr().replace('coreshot: holding at capture-ready\n', ''),
      new RegExp(`process ${t.pid} exited during the dump`),
    );
    assert.deepEqual(readdirSync(dir), ['resume'], 'no partial core');
  });

  test('in snapshot mode the copy outlives a target that exits during the dump', async () => {
    const t = await freshTarget('snapexit');
    const dump = await stalledDump(t.pid, []);
    // The target was released as soon as the snapshot existed.
    assert.equal(tracerOf(t.pid), 0);
    process.kill(t.pid, 'SIGKILL');
    const chunks: Buffer[] = [];
    dump.child.stdout!.on('data', (d: Buffer) => chunks.push(d));
    dump.child.stdout!.resume();
    const code = await new Promise<number | null>((r) => dump.child.once('exit', r));
    assert.equal(code, 0, dump.stderr());
    const core = join(tmp.path, 'snapexit.core');
    writeFileSync(core, Buffer.concat(chunks));
    const eu = run('eu-readelf', ['-n', core]);
    assert.equal(eu.status, 0, eu.stderr);
    assert.match(eu.stdout, /PRSTATUS/);
  });

  test('in snapshot mode nothing of the target is read once it is released: it may be gone', async () => {
    const t = await freshTarget('released');
    const dir = emptyDir('released');
    const resume = join(dir, 'resume');
    const held = await holdCoreshot(['dump', String(t.pid), '-o', join(dir, 'core')], 'released', { resume });
    // Killed and reaped by its shell: /proc/PID no longer exists when coreshot goes on.
    process.kill(t.pid, 'SIGKILL');
    const gone = await eventually(
      () => existsSync(`/proc/${t.pid}`),
      (e) => !e,
      10_000,
    );
    assert.equal(gone, false, 'the target was not reaped');
    writeFileSync(resume, '');
    assert.equal(await held.exited, 0, held.stderr());
    const eu = run('eu-readelf', ['-n', join(dir, 'core')]);
    assert.equal(eu.status, 0, eu.stderr);
    assert.match(eu.stdout, /PRSTATUS/);
  });

  test('a 32-bit program is refused', async () => {
    const dir = emptyDir('i386');
    const prog = buildProg('idle32', dir, ['-m32']);
    const t = await startTarget(prog, [], dir, { name: 'i386' });
    try {
      const res = coreshot(['dump', String(t.pid)], { cwd: dir });
      assert.notEqual(res.status, 0);
      oneLineError(res.stderr, /is not a 64-bit x86_64 program/);
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.startsWith('core')),
        [],
      );
      assert.ok(isAlive(t.pid));
    } finally {
      await t.stop();
    }
  });

  test('disk full', async () => {
    const t = await freshTarget('full');
    const dir = emptyDir('full');
    runOk('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
    try {
      const res = coreshot(['dump', String(t.pid), '-o', join(dir, 'core')]);
      assert.notEqual(res.status, 0);
      oneLineError(res.stderr, /no space left on device/);
      assert.deepEqual(readdirSync(dir), []);
      assert.ok(isAlive(t.pid));
      assert.equal(tracerOf(t.pid), 0);
    } finally {
      runOk('umount', [dir]);
    }
  });

  test('an existing output file is kept unless --force', async () => {
    const t = await freshTarget('exists');
    const dir = emptyDir('exists');
    const out = join(dir, `core.${t.pid}`);
    writeFileSync(out, 'keep me');
    const res = coreshot(['dump', String(t.pid)], { cwd: dir });
    assert.notEqual(res.status, 0);
    oneLineError(res.stderr, /already exists \(use --force to overwrite\)/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    assert.deepEqual(readdirSync(dir), [`core.${t.pid}`]);
    const forced = coreshot(['dump', String(t.pid), '--force'], { cwd: dir });
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(readFileSync(out).subarray(0, 4).toString('latin1'), '\x7fELF');
  });
});
