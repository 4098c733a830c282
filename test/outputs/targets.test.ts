// Acceptance: where `coreshot dump -o` may write. Devices, FIFOs, pipes and process substitutions
// are written into as streams and never replaced (not even with --force); a directory, or any
// taken name with --tree, is refused before the target is touched; a closed pipe and a full disk
// are one line and a non-zero exit. Each time, the directory holds afterwards exactly what it
// held before (no temporary file).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, coreshot, run, runOk, tempDir } from '../helpers/proc.js';
import { buildProg, isAlive, startTarget, type Target, tracerOf } from '../live/helpers.js';
import { listing } from './listing.js';

function oneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^coreshot: /);
  assert.match(lines[0]!, pattern);
}

/** The notes eu-readelf finds in a core: it must parse as an ELF core with a thread. */
function assertCore(path: string): void {
  const res = runOk('eu-readelf', ['-h', '-n', path]);
  assert.match(res.stdout, /Type:\s+CORE/);
  assert.match(res.stdout, /CORE\s+\d+\s+PRSTATUS/);
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('coreshot dump output targets', () => {
  const tmp = tempDir('coreshot-outputs-');
  let prog = '';
  let target: Target;

  before(async () => {
    prog = buildProg('checksum', tmp.path);
    target = await startTarget(prog, ['100000000', '2', '1000'], tmp.path, { settleMs: 200 });
  });
  after(async () => {
    await target.stop();
    tmp.cleanup();
  });

  function freshDir(name: string): string {
    const d = join(tmp.path, name);
    mkdirSync(d);
    return d;
  }

  /** Checks the target runs on, untraced, after a dump (or a refused one). */
  function targetUnharmed(): void {
    assert.ok(isAlive(target.pid), 'the target runs on');
    assert.equal(tracerOf(target.pid), 0, 'nobody traces the target');
  }

  test('a character device (/dev/null, and a fresh node made with mknod) is written into, never replaced', () => {
    const dir = freshDir('devices');
    runOk('mknod', ['-m', '0666', join(dir, 'null'), 'c', '1', '3']);
    const before = listing(dir);
    for (const dev of ['/dev/null', join(dir, 'null')]) {
      const rdev = statSync(dev).rdev;
      for (const force of [[], ['--force']]) {
        const res = coreshot(['dump', String(target.pid), '-o', dev, ...force]);
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stderr, new RegExp(`^${dev}: .* \\(snapshot\\)`));
        const st = statSync(dev);
        assert.ok(st.isCharacterDevice(), `${dev} is still a character device`);
        assert.equal(st.rdev, rdev);
      }
    }
    assert.deepEqual(listing(dir), before);
    targetUnharmed();
  });

  test('a FIFO with a reader gets the whole core as a stream', async () => {
    const dir = freshDir('fifo');
    const fifo = join(dir, 'fifo');
    runOk('mkfifo', [fifo]);
    const out = join(tmp.path, 'from-fifo.core');
    const reader = spawn('sh', ['-c', `cat ${q(fifo)} > ${q(out)}`], { stdio: 'ignore' });
    const done = new Promise<number | null>((r) => reader.on('exit', r));
    const before = listing(dir);
    // --json with a file output: the summary is on stdout.
    const res = coreshot(['dump', String(target.pid), '-o', fifo, '--force', '--json']);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(await done, 0);
    assert.equal(statSync(out).size, JSON.parse(res.stdout).bytes, 'every byte, holes as zeros');
    assertCore(out);
    assert.ok(statSync(fifo).isFIFO());
    assert.deepEqual(listing(dir), before);
    targetUnharmed();
  });

  test('a process substitution (/dev/fd/N) is written into as a pipe', () => {
    const dir = freshDir('procsub');
    const out = join(dir, 'core');
    const script = `${q(process.execPath)} ${q(CLI)} dump ${target.pid} -o >(cat > ${q(out)}) --json; s=$?; wait $!; exit $s`;
    const res = run('bash', ['-c', script]);
    assert.equal(res.status, 0, res.stderr);
    const summary = JSON.parse(res.stdout);
    assert.match(summary.output, /^\/dev\/fd\/\d+$/);
    assert.equal(statSync(out).size, summary.bytes);
    assertCore(out);
    assert.deepEqual(listing(dir), ['core file']);
    targetUnharmed();
  });

  test('/dev/stdout redirected to a file is written into that file, never replaced', () => {
    const dir = freshDir('stdout');
    const out = join(dir, 'core');
    for (const force of ['', '--force']) {
      writeFileSync(out, '');
      const inode = statSync(out).ino;
      const script = `${q(process.execPath)} ${q(CLI)} dump ${target.pid} -o /dev/stdout ${force} > ${q(out)}`;
      const res = run('sh', ['-c', script]);
      assert.equal(res.status, 0, res.stderr);
      assert.equal(statSync(out).ino, inode, 'the same file');
      assertCore(out);
      assert.ok(lstatSync('/dev/stdout').isSymbolicLink());
    }
    assert.deepEqual(listing(dir), ['core file']);
    targetUnharmed();
  });

  test('a directory is refused before any work, with or without --force', () => {
    const dir = freshDir('dir');
    const out = join(dir, 'sub');
    mkdirSync(out);
    const before = listing(dir);
    // A pid that does not exist: the directory is named, not the missing process, so the output
    // was checked before the process was even looked at.
    const gone = coreshot(['dump', '2147483647', '-o', out]);
    assert.equal(gone.status, 1);
    oneLineError(gone.stderr, new RegExp(`${out} is a directory`));
    for (const force of [[], ['--force']]) {
      const res = coreshot(['dump', String(target.pid), '-o', out, ...force]);
      assert.equal(res.status, 1);
      oneLineError(res.stderr, new RegExp(`${out} is a directory`));
      assert.deepEqual(listing(dir), before);
      assert.deepEqual(readdirSync(out), []);
    }
    targetUnharmed();
  });

  test('--tree checks every output name before the first dump', () => {
    // The tree: the reaping shell and the target under it.
    const dir = freshDir('tree');
    const prefix = join(dir, 'core');
    for (const [taken, make] of [
      ['a file', (p: string) => writeFileSync(p, 'keep')],
      ['a directory', (p: string) => mkdirSync(p)],
    ] as const) {
      const path = `${prefix}.${target.pid}`;
      make(path);
      const before = listing(dir);
      const res = coreshot(['dump', String(target.parent), '--tree', '-o', prefix]);
      assert.equal(res.status, 1, `${taken}: ${res.stderr}`);
      oneLineError(res.stderr, new RegExp(`${path} (already exists|is a directory)`));
      assert.deepEqual(listing(dir), before, `${taken}: nothing dumped, not even the parent`);
      run('rm', ['-rf', path]);
    }
    targetUnharmed();
  });

  test('a closed pipe is one line and a non-zero exit', () => {
    const dir = freshDir('closed');
    const err = join(dir, 'err');
    for (const how of ['-o - 2>ERR | head -c 100 >/dev/null', '-o >(head -c 100 >/dev/null) 2>ERR']) {
      const script = `${q(process.execPath)} ${q(CLI)} dump ${target.pid} ${how.replace('ERR', q(err))}; echo "status \${PIPESTATUS[0]}"`;
      const res = run('bash', ['-c', script]);
      const status = Number(/status (\d+)/.exec(res.stdout)?.[1]);
      assert.equal(status, 1, `${how}: ${res.stdout}`);
      oneLineError(runOk('cat', [err]).stdout, /the reader closed the pipe before the output was complete/);
    }
    assert.deepEqual(listing(dir), ['err file']);
    targetUnharmed();
  });

  test('a full disk (and /dev/full) is one line, a non-zero exit and no file', () => {
    assert.equal(process.getuid?.(), 0, 'the test mounts a tmpfs: it runs as root (as in CI)');
    const dir = freshDir('full');
    runOk('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
    try {
      for (const force of [[], ['--force']]) {
        const res = coreshot(['dump', String(target.pid), '-o', join(dir, 'core'), ...force]);
        assert.equal(res.status, 1);
        oneLineError(res.stderr, /core: no space left on device/);
        assert.deepEqual(listing(dir), []);
        const df = runOk('df', ['--output=used', '-B1', dir]).stdout.trim().split('\n').at(-1);
        assert.equal(Number(df), 0, 'the unnamed temporary file was freed');
      }
    } finally {
      runOk('umount', [dir]);
    }
    const res = coreshot(['dump', String(target.pid), '-o', '/dev/full']);
    assert.equal(res.status, 1);
    oneLineError(res.stderr, /\/dev\/full: no space left on device/);
    assert.ok(statSync('/dev/full').isCharacterDevice());
    targetUnharmed();
  });
});
