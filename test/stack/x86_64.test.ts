// coreshot stack against gdb on x86_64: kernel cores of the test program at -O2 with and without
// frame pointers (a crash in the main thread while 3 workers sleep in libc; a crash inside a
// signal handler; a crash in a callback called from a shared library without any CFI), a gcore,
// a core written by `coreshot dump`, a live process (`stack PID` against `gdb -p`), and the CRIU
// fixtures' checkpoints against what gdb printed of the live process before the dump. Every
// thread must have gdb's chain of pcs (gdb's inline and tail-call frames aside: they have no
// stack frame of their own).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CRIU, casePids, requireFixtures } from '../criu/helpers.js';
import { gcoreCore, kernelCore, type MadeCore } from '../helpers/cores.js';
import { coreshot, killAndWait, runOk, startDetached, tempDir } from '../helpers/proc.js';
import { assertSameFrames, gdbFrames, PROGRAM, programFlags, pythonCore, stackJson } from './helpers.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function made(m: MadeCore): MadeCore {
  cleanups.push(m.cleanup);
  return m;
}

function crashCore(args: string[], opts: Parameters<typeof programFlags>[0] = {}): MadeCore {
  const p = programFlags(opts);
  cleanups.push(p.cleanup);
  return made(kernelCore('x86_64', { source: PROGRAM, flags: p.flags, args }));
}

describe('x86_64 kernel cores against gdb', () => {
  for (const omitFramePointer of [false, true]) {
    const fp = omitFramePointer ? 'without' : 'with';
    it(`-O2 ${fp} frame pointers: main thread crashed, 3 workers asleep in libc`, () => {
      const m = crashCore(['crash'], { omitFramePointer });
      const ours = stackJson([m.core]);
      assertSameFrames(gdbFrames({ exe: m.exe, core: m.core }), ours);
      assert.equal(ours.threads.length, 4);
      for (const t of ours.threads) {
        assert.equal(t.frames[0]!.how, 'initial');
        assert.ok(
          t.frames.slice(1).every((f) => f.how === 'cfi'),
          `thread ${t.tid}: every caller from CFI`,
        );
      }
    });

    it(`-O2 ${fp} frame pointers: crash inside a signal handler`, () => {
      const m = crashCore(['signal'], { omitFramePointer });
      const ours = stackJson([m.core]);
      const gdb = gdbFrames({ exe: m.exe, core: m.core });
      assertSameFrames(gdb, ours);
      const crashed = ours.threads[0]!;
      const tramp = gdb.find((t) => t.tid === crashed.tid)!.frames.findIndex((f) => f.type === 'sigtramp');
      assert.ok(tramp > 0, 'gdb shows <signal handler called>');
      const i = crashed.frames.findIndex((f, k) => k > 0 && f.how === 'signal-frame');
      assert.ok(i > 1, 'the interrupted frame is found from the signal frame');
    });
  }

  it('a callback called from a shared library that has no CFI (frame-pointer fallback)', () => {
    const m = crashCore(['plt'], { lib: 'no-cfi' });
    const ours = stackJson([m.core]);
    assertSameFrames(gdbFrames({ exe: m.exe, core: m.core }), ours);
    const crashed = ours.threads[0]!;
    assert.ok(crashed.frames.some((f) => f.how === 'frame-pointer' && f.module?.endsWith('libstack-lib.so')));
  });
});

describe('other x86_64 cores and live processes against gdb', () => {
  it("a kernel core of Debian's python3 (3 threads, libc6-dbg installed)", () => {
    const m = made(pythonCore());
    const ours = stackJson([m.core]);
    assertSameFrames(gdbFrames({ exe: m.exe, core: m.core }), ours);
    assert.equal(ours.threads.length, 3);
  });

  it('gcore of a running process', async () => {
    const p = programFlags();
    cleanups.push(p.cleanup);
    const m = made(await gcoreCore('x86_64', { source: PROGRAM, flags: p.flags, args: ['wait'] }));
    assertSameFrames(gdbFrames({ exe: m.exe, core: m.core }), stackJson([m.core]));
  });

  it('coreshot dump core, and the live process itself (stack PID against gdb -p)', async () => {
    const p = programFlags({ omitFramePointer: true });
    cleanups.push(p.cleanup);
    const t = tempDir('coreshot-stack-live-');
    cleanups.push(t.cleanup);
    const exe = join(t.path, 'stack-prog');
    runOk('gcc', ['-o', exe, PROGRAM, '-pthread', ...p.flags]);
    const out = join(t.path, 'stdout');
    const pid = startDetached(exe, ['wait'], { stdout: out });
    try {
      for (let i = 0; i < 500 && !(existsSync(out) && runOk('cat', [out]).stdout.includes('ready')); i++)
        await new Promise((r) => setTimeout(r, 20));
      const gdb = gdbFrames({ exe, pid });
      const live = stackJson([String(pid)]);
      assertSameFrames(gdb, live);
      const core = join(t.path, 'core');
      const dump = coreshot(['dump', String(pid), '-o', core]);
      assert.equal(dump.status, 0, dump.stderr);
      assertSameFrames(gdb, stackJson([core]));
      // The target runs on: it still answers signals and has all its threads.
      process.kill(pid, 0);
      assert.equal(
        runOk('ls', [`/proc/${pid}/task`])
          .stdout.trim()
          .split('\n').length,
        4,
      );
    } finally {
      await killAndWait(pid);
    }
  });

  it('CRIU checkpoints: the pcs gdb printed of the live process before the dump', () => {
    requireFixtures();
    for (const name of ['single', 'tree']) {
      for (const pid of casePids(name)) {
        const root = join(CRIU, name, 'root');
        const ours = stackJson([join(CRIU, name, 'images'), '--root', root, '--pid', String(pid)]);
        const ref = runOk('cat', [join(CRIU, name, 'reference', `gdb-${pid}.txt`)]).stdout;
        for (const t of ours.threads) {
          const block = ref
            .split(/\n(?=Thread \d+ )/)
            .find((b) => b.includes(`(LWP ${t.tid})`) && b.includes('#0'));
          assert.ok(block, `reference has thread ${t.tid}`);
          const pcs = [...block.matchAll(/^#\d+\s+(0x[0-9a-f]+) in /gm)].map((x) => BigInt(x[1]!));
          const got = t.frames.filter((f) => !f.inline).map((f) => BigInt(f.pc));
          assert.deepEqual(got.slice(0, pcs.length), pcs, `${name} process ${pid} thread ${t.tid}`);
        }
      }
    }
  });
});
