// The state an ELF core lacks, through coreshot's CORESHOT notes: a program with a file open at
// an offset, a pipe, a working directory, an rlimit, an alternate signal stack and a handler on
// it is dumped (gdb and eu-readelf load the core without a warning, `notes` decodes the notes),
// killed and restored: the file is open again on its number at its offset, the pipe is /dev/null
// and listed, the cwd and the rlimit are back, and SIGUSR1 runs the handler on the alternate
// stack, writing at the file's offset.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  compileC,
  coreshot,
  gdbWarnings,
  killAndWait,
  ROOT,
  run,
  startDetached,
  tempDir,
} from '../helpers/proc.js';
import { eventually } from '../live/helpers.js';

let tmp: ReturnType<typeof tempDir>;
let prog: string;

before(() => {
  tmp = tempDir('coreshot-restore-state-');
  prog = compileC(join(ROOT, 'test/restore/progs/state.c'), join(tmp.path, 'state'), ['-O2']);
});
after(() => tmp?.cleanup());

test('open files, cwd, rlimits, sigaltstack and a signal handler are restored from the CORESHOT notes', async () => {
  const dir = join(tmp.path, 'work');
  mkdirSync(dir);
  const pid = startDetached(prog, [dir]);
  let restored = 0;
  try {
    await eventually(
      () => existsSync(join(dir, 'ready')),
      (r) => r,
      15_000,
    );
    const core = join(dir, 'core');
    const dumped = coreshot(['dump', String(pid), '-o', core]);
    assert.equal(dumped.status, 0, dumped.stderr);
    await killAndWait(pid);

    const eu = run('eu-readelf', ['-n', core]);
    assert.equal(eu.status, 0, eu.stderr);
    assert.equal(eu.stderr, '');
    const gdb = run('gdb', ['-batch', '-nx', '-ex', 'info threads', prog, core]);
    assert.deepEqual(gdbWarnings(gdb.stdout + gdb.stderr), []);
    const notes = coreshot(['notes', core]);
    assert.equal(notes.status, 0, notes.stderr);
    assert.match(
      notes.stdout,
      /CORESHOT CORESHOT_FD .*\n {4}fd: 3\n {4}flags: \d+\n {4}pos: 0x3e8\n {4}mode: \d+\n {4}path: .*\/data\n/,
    );
    assert.match(
      notes.stdout,
      /CORESHOT CORESHOT_THREAD .*\n {4}sigaltstack\.sp: 0x[0-9a-f]+\n {4}sigaltstack\.flags: 0\n {4}sigaltstack\.size: 0x10000\n/,
    );

    const res = coreshot(['restore', core]);
    assert.equal(res.status, 0, res.stderr);
    restored = Number(res.stdout.split('\n')[0]);
    assert.ok(restored > 0, res.stdout);
    assert.match(
      res.stderr,
      /not restored: fd 7 \(pipe:\[\d+\]\): a pipe, cannot be opened again: it is \/dev\/null/,
    );
    assert.match(res.stderr, /not restored: fd 8 \(pipe:\[\d+\]\): a pipe/);
    assert.equal(readlinkSync(`/proc/${restored}/fd/3`), join(dir, 'data'));
    assert.match(readFileSync(`/proc/${restored}/fdinfo/3`, 'utf8'), /^pos:\s+1000$/m);
    assert.match(readFileSync(`/proc/${restored}/fdinfo/3`, 'utf8'), /^flags:\s+\d*2$/m, 'opened O_RDWR');
    assert.equal(readlinkSync(`/proc/${restored}/fd/7`), '/dev/null');
    assert.equal(readlinkSync(`/proc/${restored}/cwd`), dir);
    assert.match(readFileSync(`/proc/${restored}/limits`, 'utf8'), /^Max open files\s+777\s+888\s/m);
    const status = readFileSync(`/proc/${restored}/status`, 'utf8');
    const caught = BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)/m.exec(status)![1]}`);
    assert.equal((caught >> 9n) & 1n, 1n, 'SIGUSR1 is caught');

    process.kill(restored, 'SIGUSR1');
    await eventually(
      () => existsSync(join(dir, 'handled')),
      (h) => h,
      15_000,
    );
    const data = readFileSync(join(dir, 'data'), 'latin1');
    assert.equal(data.slice(1000, 1016), 'usr1 on-altstack');
  } finally {
    await killAndWait(pid);
    if (restored) await killAndWait(restored);
  }
});
