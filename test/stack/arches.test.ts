// coreshot stack on other architectures: i386 kernel cores (gcc -m32, -O2 with and without
// frame pointers) against gdb, including a crash inside a signal handler, where the frame after
// <signal handler called> is __kernel_vsyscall, unwound with the vdso's own CFI read from the
// core's memory.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { assertSameFrames, gdbFrames, PROGRAM, programFlags, stackJson } from './helpers.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function crashCore(args: string[], omitFramePointer: boolean): MadeCore {
  const p = programFlags({ omitFramePointer, m32: true });
  cleanups.push(p.cleanup);
  const m = kernelCore('i386', { source: PROGRAM, flags: p.flags, args });
  cleanups.push(m.cleanup);
  return m;
}

describe('i386 kernel cores against gdb', () => {
  for (const omitFramePointer of [false, true]) {
    const fp = omitFramePointer ? 'without' : 'with';
    it(`-O2 ${fp} frame pointers: main thread crashed, 3 workers asleep in libc`, () => {
      const m = crashCore(['crash'], omitFramePointer);
      const ours = stackJson([m.core]);
      assertSameFrames(gdbFrames({ exe: m.exe, core: m.core }), ours);
      assert.equal(ours.threads.length, 4);
    });

    it(`-O2 ${fp} frame pointers: crash inside a signal handler (vdso sigreturn and __kernel_vsyscall)`, () => {
      const m = crashCore(['signal'], omitFramePointer);
      const ours = stackJson([m.core]);
      assertSameFrames(gdbFrames({ exe: m.exe, core: m.core }), ours);
      const crashed = ours.threads[0]!;
      const after = crashed.frames.find((f) => f.how === 'signal-frame');
      assert.equal(after?.module, '[vdso]');
      assert.equal(after?.function, '__kernel_vsyscall');
    });
  }
});
