// coreshot restore: a multi-threaded program that counts in every thread and checks its general
// and vector registers and a heap buffer on every round is dumped, killed and restored (copied,
// then --lazy): every thread goes on from the count the core holds, no check fails, the process
// and its threads have their recorded ids, the process is no child of coreshot. Then what must be refused is refused with one line and nothing left
// running, and coreshot SIGKILLed at every step of a restore leaves nothing of the new process.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openCore } from '../../src/sources/elfcore/open.js';
import { kernelCore } from '../helpers/cores.js';
import {
  CLI,
  cliForOtherUsers,
  compileC,
  coreshot,
  holdCoreshot,
  isAlive,
  killAndWait,
  ROOT,
  run,
  startDetached,
  tempDir,
} from '../helpers/proc.js';
import { eventually } from '../live/helpers.js';

const THREADS = 4;
let tmp: ReturnType<typeof tempDir>;
let prog: string;

before(() => {
  tmp = tempDir('coreshot-restore-');
  prog = compileC(join(ROOT, 'test/restore/progs/counter.c'), join(tmp.path, 'counter'), ['-O2', '-pthread']);
});
after(() => tmp?.cleanup());

/** Starts the counter in `dir` (not a child of the test) and waits until every thread counted. */
async function startCounter(dir: string): Promise<number> {
  const pid = startDetached(prog, [dir, String(THREADS)]);
  await eventually(
    () => counts(dir),
    (c) => c.length === THREADS && c.every((n) => n > 0),
    15_000,
  );
  return pid;
}

/** What each thread last wrote to DIR/count.N. */
function counts(dir: string): number[] {
  const out: number[] = [];
  for (let t = 0; t < THREADS; t++) {
    const f = join(dir, `count.${t}`);
    if (existsSync(f)) out.push(Number(readFileSync(f, 'utf8')));
  }
  return out;
}

/** The counts the core holds (the program's `counts` array). */
function coreCounts(dir: string, core: string): bigint[] {
  const at = BigInt(/counts (0x[0-9a-f]+)/.exec(readFileSync(join(dir, 'addrs'), 'utf8'))![1]!);
  const c = openCore(core);
  try {
    const r = c.image.memory.read(at, 8 * THREADS);
    assert.deepEqual(r.missing, []);
    return Array.from({ length: THREADS }, (_, i) => r.data.readBigUInt64LE(i * 8));
  } finally {
    c.close();
  }
}

function ppid(pid: number): number {
  return Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/**
 * Dumps the counter, kills it, restores it (with `extra` arguments; through the command `via`
 * when given) and checks that every thread counts on with its checks passing.
 */
async function dumpKillRestore(name: string, extra: string[], via?: string): Promise<void> {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  const pid = await startCounter(dir);
  const core = join(dir, 'core');
  const dumped = coreshot(['dump', String(pid), '-o', core]);
  assert.equal(dumped.status, 0, dumped.stderr);
  // Gone and reaped: only then is its pid free to be given back.
  await killAndWait(pid, 30_000);
  assert.ok(!isAlive(pid), `the dumped process ${pid} was not reaped`);
  const held = coreCounts(dir, core);
  assert.ok(
    held.every((n) => n > 0n),
    `the core holds counts ${held}`,
  );
  const args = ['restore', core, '--json', ...extra];
  const res = via ? run(via, [process.execPath, CLI, ...args]) : coreshot(args);
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  const restored: number = out.pid;
  try {
    assert.equal(out.threads.length, THREADS);
    assert.ok(isAlive(restored), 'the restored process is not running');
    assert.notEqual(ppid(restored), process.pid, 'the restored process is a child of the test');
    assert.equal(readdirSync(`/proc/${restored}/task`).length, THREADS);
    // The process and its threads have their recorded ids (clone3 set_tid: the old ones are free).
    const threads = out.threads as { was: number; tid: number }[];
    assert.equal(restored, pid, 'the restored process has the pid it was dumped with');
    assert.deepEqual(
      threads.map((t) => t.tid),
      threads.map((t) => t.was),
    );
    for (const t of threads) assert.ok(existsSync(`/proc/${restored}/task/${t.tid}`));
    // Every thread counts on from what the core holds, well past it.
    const seen = await eventually(
      () => counts(dir),
      (c) => c.every((n, i) => BigInt(n) > held[i]! + 20n),
      20_000,
    );
    seen.forEach((n, i) => {
      assert.ok(BigInt(n) > held[i]! + 20n, `thread ${i}: count ${n}, core ${held[i]}`);
    });
    assert.ok(
      !existsSync(join(dir, 'fail')),
      existsSync(join(dir, 'fail')) ? readFileSync(join(dir, 'fail'), 'utf8') : '',
    );
    assert.ok(isAlive(restored));
  } finally {
    await killAndWait(restored);
  }
}

describe('coreshot restore', () => {
  test('a multi-threaded program goes on counting with its registers and memory intact', async () => {
    await dumpKillRestore('copied', []);
  });

  test('the same with --lazy (the core file mapped instead of copied)', async () => {
    await dumpKillRestore('lazy', ['--lazy']);
  });

  test('the same where no userfaultfd can be had (a seccomp filter refuses it): the process reads its memory itself', async () => {
    const via = compileC(
      join(ROOT, 'test/restore/progs/no-userfaultfd.c'),
      join(tmp.path, 'no-userfaultfd-bin'),
      ['-O2'],
    );
    await dumpKillRestore('no-userfaultfd', [], via);
  });
});

/** The processes (thread groups) that process `tracer` traces. */
function tracedBy(tracer: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (Number(/^TracerPid:\s*(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1]) === tracer)
        out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Whether a process still runs (a zombie has ended: only its parent's wait is missing). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

describe('coreshot restore refuses cleanly', () => {
  let dir: string;
  let core: string;
  before(async () => {
    dir = join(tmp.path, 'refusals');
    mkdirSync(dir, { recursive: true });
    const pid = await startCounter(dir);
    core = join(dir, 'core');
    const dumped = coreshot(['dump', String(pid), '-o', core]);
    assert.equal(dumped.status, 0, dumped.stderr);
    // Reaped, so that its pid is free when the restores below ask for it (process-cloned).
    await killAndWait(pid, 30_000);
    assert.ok(!isAlive(pid), `the dumped process ${pid} was not reaped`);
  });

  test('a 32-bit image, a missing mapped file, a user without privilege: one line each, nothing started', () => {
    const i386 = kernelCore('i386');
    const emptyRoot = join(tmp.path, 'empty-root');
    mkdirSync(emptyRoot, { recursive: true });
    const shared = tempDir('coreshot-restore-cli-');
    chmodSync(shared.path, 0o755);
    const other = cliForOtherUsers(shared.path);
    const readable = join(shared.path, 'core');
    copyFileSync(core, readable);
    chmodSync(readable, 0o644);
    try {
      const cases: [string[], RegExp, string?][] = [
        [['restore', i386.core], /only x86_64 images can be restored; this one is i386/],
        [
          ['restore', core, '--root', emptyRoot],
          /mapped file .*\/counter: .*empty-root.*\/counter: not found/,
        ],
        [['restore', join(tmp.path, 'no-such-core')], /no such file or directory/],
      ];
      for (const [args, message] of cases) {
        const res = coreshot(args);
        assert.equal(res.status, 1, `${args.join(' ')}: ${res.stderr}`);
        assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
        assert.match(res.stderr, message);
        assert.equal(res.stdout, '');
      }
      const res = run('setpriv', [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        process.execPath,
        other,
        'restore',
        readable,
      ]);
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stderr, /restore needs root, or CAP_CHECKPOINT_RESTORE and CAP_SYS_ADMIN/);
    } finally {
      i386.cleanup();
      shared.cleanup();
    }
  });

  test('coreshot SIGKILLed at every step of a restore: nothing of the new process remains', async () => {
    const steps = [
      'husk-held',
      'registers-set',
      'syscall-returned',
      'sigreturn-entered',
      'process-cloned',
      'husk-emptied',
      'memory-mapped',
      'memory-written',
      'threads-set',
    ];
    for (const step of steps) {
      const held = await holdCoreshot(['restore', core], step);
      let building: number[] = [];
      try {
        building = tracedBy(held.pid);
        // Once the process with the image's pid is cloned, the husk it came from is traced too
        // until it is ended.
        const want = step === 'process-cloned' ? 2 : 1;
        assert.equal(building.length, want, `the processes being built at ${step}: ${building}`);
      } finally {
        // Killed whatever happened: a coreshot left holding would keep its process for ever.
        await held.kill();
      }
      const left = await eventually(
        () => building.filter(running),
        (l) => l.length === 0,
        10_000,
      );
      assert.deepEqual(left, [], `killed at ${step}, still running: ${left}`);
    }
  });
});

describe('coreshot restore of a kernel core', () => {
  test("--stopped: gdb -p shows the core's backtrace, calls a function, and continue re-raises the crash", async () => {
    const made = kernelCore();
    let pid = 0;
    try {
      const res = coreshot(['restore', made.core, '--stopped']);
      assert.equal(res.status, 0, res.stderr);
      pid = Number(res.stdout.split('\n')[0]);
      assert.ok(pid > 0, res.stdout);
      assert.match(readFileSync(`/proc/${pid}/stat`, 'utf8'), /\) T /, 'the restored process is stopped');
      // The frames of the last backtrace printed (gdb also shows frame #0 when it loads a core).
      const frames = (out: string) =>
        out
          .slice(out.lastIndexOf('\n#0 '))
          .split('\n')
          .filter((l) => /^#\d+\s/.test(l))
          .map((l) =>
            l
              .replace(/^#\d+\s+(0x[0-9a-f]+ in )?/, '')
              .replace(/\s+at .*$/, '')
              .replace(/\(.*$/, '')
              .trim(),
          );
      const fromCore = run('gdb', ['-batch', '-nx', '-ex', 'bt', made.exe, made.core]);
      const live = run('gdb', [
        '-batch',
        '-nx',
        '-p',
        String(pid),
        '-ex',
        'bt',
        // The process is in a job-control stop: gdb's own attach SIGSTOPs stay pending and would
        // interrupt the call; they are not to be passed on.
        '-ex',
        'handle SIGSTOP nostop noprint nopass',
        '-ex',
        'print (int)getpid()',
        '-ex',
        'continue',
      ]);
      assert.ok(frames(fromCore.stdout).length > 0, fromCore.stdout);
      assert.deepEqual(frames(live.stdout), frames(fromCore.stdout), live.stdout + live.stderr);
      assert.match(live.stdout, new RegExp(`\\$1 = ${pid}\\b`), live.stdout + live.stderr);
      assert.match(live.stdout + live.stderr, /SIGSEGV/, 'continue re-raises the crash');
    } finally {
      if (pid) await killAndWait(pid);
      made.cleanup();
    }
  });
});
