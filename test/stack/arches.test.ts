// coreshot stack on other architectures: i386 kernel cores (gcc -m32, -O2 with and without
// frame pointers) against gdb, including a crash inside a signal handler, where the frame after
// <signal handler called> is __kernel_vsyscall, unwound with the vdso's own CFI read from the
// core's memory. aarch64 QEMU user-mode cores (static -O2 program, --exe placing it): every
// thread against gdb-multiarch; and a crash in a signal handler, which gdb-multiarch 13 does not
// finish unwinding (it spins on QEMU's trampoline page), checked against the truth instead.
// arm QEMU user-mode cores, unwound through the EHABI tables (.ARM.exidx, .ARM.extab) and, under
// EXIDX_CANTUNWIND, Thumb prologues: every thread against gdb-multiarch. ppc64le and s390x QEMU
// user-mode cores: every thread against gdb-multiarch, and a crash in a signal handler (s390x
// against gdb-multiarch; ppc64le, where gdb-multiarch stops at QEMU's trampoline, against the
// true chain).
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kernelCore, type MadeCore, qemuUserCore } from '../helpers/cores.js';
import { coreshot, runOk } from '../helpers/proc.js';
import {
  assertSameFrames,
  baseName,
  gdbFrames,
  gdbPcs,
  ourPcs,
  PROGRAM,
  programFlags,
  stackJson,
} from './helpers.js';

const cleanups: (() => void)[] = [];

/** `coreshot notes --json`: each note's file offset, type and decoded fields. */
function notesJson(core: string): { offset: number; typeName: string; decoded: { pid?: number } }[] {
  const res = coreshot(['notes', '--json', core]);
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout).notes;
}
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

describe('aarch64 QEMU user-mode cores', () => {
  const aarch64 = (args: string[]) => {
    const m = qemuUserCore('aarch64', { source: PROGRAM, flags: ['-O2', '-g', '-pthread'], args });
    cleanups.push(m.cleanup);
    return m;
  };

  it('every thread against gdb-multiarch', () => {
    const m = aarch64(['crash']);
    const ours = stackJson([m.core, '--exe', m.exe]);
    assertSameFrames(gdbFrames({ exe: m.exe, core: m.core, gdb: 'gdb-multiarch' }), ours);
  });

  it('a crash in a signal handler: the interrupted frame comes from the sigcontext', () => {
    const m = aarch64(['signal']);
    const crashed = stackJson([m.core, '--exe', m.exe]).threads[0]!.frames.filter((f) => !f.inline);
    const names = crashed.map((f) => (f.function ? baseName(f.function) : null));
    assert.deepEqual(names.slice(0, 3), ['crash_here', 'on_signal_inner', 'on_signal']);
    // QEMU's trampoline (mov x8, #139; svc #0) is on its own page, outside every module.
    const i = crashed.findIndex((f) => f.how === 'signal-frame');
    assert.equal(crashed[i - 1]!.module, null);
    // The interrupted pc is right after the tgkill `svc #0` in __pthread_kill_implementation.
    // eu-stack 0.188 shows x30 there instead (the return address of an earlier call to getpid).
    const interrupted = crashed[i]!;
    assert.match(interrupted.function ?? '', /^__pthread_kill_implementation/);
    const exe = readFileSync(m.exe);
    const text = BigInt(interrupted.pc) - 4n - 0x400000n;
    assert.equal(exe.readUInt32LE(Number(text)), 0xd4000001, 'svc #0 before the interrupted pc');
    assert.deepEqual(names.slice(i + 1, i + 6), [
      'raise',
      'main_level3',
      'main_level2',
      'main_level1',
      'main',
    ]);
  });
});

describe('arm QEMU user-mode cores (.ARM.exidx) against gdb-multiarch', () => {
  for (const tables of [false, true]) {
    const what = tables ? 'the program built with -funwind-tables' : 'the program described by .debug_frame';
    it(`every thread: static glibc unwound through .ARM.exidx/.ARM.extab, ${what}`, () => {
      const flags = ['-O2', '-g', '-pthread', ...(tables ? ['-funwind-tables'] : [])];
      const m = qemuUserCore('arm', { source: PROGRAM, flags, args: ['crash'] });
      cleanups.push(m.cleanup);
      const ours = stackJson([m.core, '--exe', m.exe]);
      assertSameFrames(gdbFrames({ exe: m.exe, core: m.core, gdb: 'gdb-multiarch' }), ours);
      assert.equal(ours.threads.length, 4);
      const how = (fn: string) =>
        ours.threads.flatMap((t) =>
          t.frames.filter((_f, i) => t.frames[i - 1]?.function === fn).map((f) => f.how),
        );
      // The caller of a program function: from its .ARM.exidx entry or from .debug_frame; of
      // glibc's start_thread (under EXIDX_CANTUNWIND: nptl is built without unwind tables) from
      // its prologue, as gdb does.
      assert.deepEqual([...new Set(how('main_level2'))], [tables ? 'arm-exidx' : 'cfi']);
      assert.deepEqual([...new Set(how('start_thread'))], ['prologue']);
    });
  }

  it('a thread on the first instruction of a glibc function (its .ARM.exidx entry holds only at call sites) unwinds from the prologue', () => {
    // QEMU can dump a thread anywhere, e.g. at a function's entry, before the pushes its EHABI
    // entry undoes. Made deterministic: the crashed thread is put back to the entry of
    // __libc_start_call_main as __libc_start_main called it (pc, lr and sp in its PRSTATUS).
    const m = qemuUserCore('arm', { source: PROGRAM, flags: ['-O2', '-g', '-pthread'], args: ['crash'] });
    cleanups.push(m.cleanup);
    const crashed = stackJson([m.core, '--exe', m.exe]).threads.find((t) =>
      t.frames.some((f) => f.function === 'crash_here'),
    )!;
    const level = crashed.frames.findIndex((f) => f.function === '__libc_start_main');
    const caller = crashed.frames[level]!;
    const gdb = runOk('gdb-multiarch', [
      ...[
        '-batch',
        '-nx',
        '-ex',
        'set backtrace past-main on',
        '-ex',
        `file ${m.exe}`,
        '-ex',
        `core-file ${m.core}`,
      ],
      ...['-ex', `frame ${level}`, '-ex', 'printf "CALLER %#x %#x\\n", $pc, $sp'],
    ]).stdout;
    const [, pc, sp] = /^CALLER (0x[0-9a-f]+) (0x[0-9a-f]+)$/m.exec(gdb) ?? [];
    assert.equal(pc, caller.pc, gdb);
    const sym = /^([0-9a-f]+) t __libc_start_call_main$/m.exec(
      runOk('arm-linux-gnueabihf-nm', [m.exe]).stdout,
    );
    assert.ok(sym, 'nm lists __libc_start_call_main');
    const entry = Number.parseInt(sym[1]!, 16) & ~1; // Thumb functions have bit 0 set
    const note = notesJson(m.core).find((n) => n.typeName === 'PRSTATUS' && n.decoded.pid === crashed.tid)!;
    const patched = join(m.dir, 'entry.core');
    copyFileSync(m.core, patched);
    const regs = note.offset + 20 + 72; // header and "CORE\0" padded, then pr_reg after 72 bytes
    const fd = openSync(patched, 'r+');
    for (const [reg, value] of [
      [13, Number(sp)],
      [14, Number(pc) | 1],
      [15, entry],
    ] as const) {
      const word = Buffer.alloc(4);
      word.writeUInt32LE(value);
      writeSync(fd, word, 0, 4, regs + reg * 4);
    }
    closeSync(fd);
    const ours = stackJson([patched, '--exe', m.exe]);
    const thread = ours.threads.find((t) => t.tid === crashed.tid)!;
    assert.deepEqual(
      thread.frames.map((f) => [f.function, f.how]),
      [
        ['__libc_start_call_main', 'initial'],
        ['__libc_start_main', 'leaf'],
        ['_start', 'arm-exidx'],
      ],
    );
    const judge = gdbFrames({ exe: m.exe, core: patched, gdb: 'gdb-multiarch' }).filter(
      (t) => t.tid === crashed.tid,
    );
    assertSameFrames(judge, { threads: [thread] });
  });
});

describe('ppc64le and s390x: a crash in a signal handler', () => {
  const signalCore = (arch: 'ppc64le' | 's390x') => {
    const m = qemuUserCore(arch, { source: PROGRAM, flags: ['-O2', '-g', '-pthread'], args: ['signal'] });
    cleanups.push(m.cleanup);
    return m;
  };

  it('s390x: the interrupted frame comes from the sigframe (svc 119), as gdb-multiarch finds it', () => {
    const m = signalCore('s390x');
    const ours = stackJson([m.core, '--exe', m.exe]);
    assertSameFrames(gdbFrames({ exe: m.exe, core: m.core, gdb: 'gdb-multiarch' }), ours);
    assert.ok(ours.threads[0]!.frames.some((f) => f.how === 'signal-frame'));
  });

  /**
   * The crashed thread of a core made in mode `args[0]` of `arch`: the handler's frames, then
   * the signal frame as frame 4, equal to gdb-multiarch's pcs up to `gdbFrames` of them (where it
   * stops, at QEMU's trampoline), then the interrupted frame right after the system call
   * instruction `insn` (`size` bytes, found by `objdump`) in __pthread_kill_implementation, and
   * on to main.
   */
  const assertTrueSignalChain = (
    arch: 'ppc64le' | 's390x',
    mode: string,
    sys: { objdump: string; insn: RegExp; size: bigint },
    gdbFramesCompared: number | undefined,
  ) => {
    const m = qemuUserCore(arch, { source: PROGRAM, flags: ['-O2', '-g', '-pthread'], args: [mode] });
    cleanups.push(m.cleanup);
    const ours = stackJson([m.core, '--exe', m.exe]).threads[0]!;
    const crashed = ours.frames.filter((f) => !f.inline);
    const names = crashed.map((f) => (f.function ? baseName(f.function) : null));
    assert.deepEqual(names.slice(0, 3), ['crash_here', 'on_signal_inner', 'on_signal']);
    const gdb = gdbPcs(
      gdbFrames({ exe: m.exe, core: m.core, gdb: 'gdb-multiarch' }).find((t) => t.tid === ours.tid)!,
    );
    const n = gdbFramesCompared ?? gdb.length;
    assert.deepEqual(ourPcs(ours).slice(0, n), gdb.slice(0, n), 'up to where gdb stops');
    const i = crashed.findIndex((f) => f.how === 'signal-frame');
    assert.equal(i, 4);
    const interrupted = crashed[i]!;
    assert.match(interrupted.function ?? '', /^__pthread_kill_implementation/);
    const dis = runOk(sys.objdump, [
      '-d',
      `--start-address=${BigInt(interrupted.pc) - sys.size}`,
      `--stop-address=${interrupted.pc}`,
      m.exe,
    ]).stdout;
    assert.match(dis, sys.insn, 'the system call instruction before the interrupted pc');
    assert.deepEqual(names.slice(i + 1, i + 6), [
      'raise',
      'main_level3',
      'main_level2',
      'main_level1',
      'main',
    ]);
  };

  it('s390x with SA_SIGINFO: the interrupted frame comes from the rt_sigframe (svc 173; gdb-multiarch 13 stops there)', () => {
    // gdb-multiarch 13 ends the backtrace after on_signal ("Cannot access memory").
    assertTrueSignalChain(
      's390x',
      'siginfo',
      { objdump: 's390x-linux-gnu-objdump', insn: /\bsvc\b/, size: 2n },
      undefined,
    );
  });

  it('ppc64le: the interrupted frame comes from the rt_sigframe (gdb-multiarch 13 stops there)', () => {
    // gdb shows QEMU's trampoline (li r0, 172; sc) as "??", then a zero pc.
    assertTrueSignalChain(
      'ppc64le',
      'signal',
      { objdump: 'powerpc64le-linux-gnu-objdump', insn: /\bsc\b/, size: 4n },
      4,
    );
  });
});

describe('ppc64le and s390x QEMU user-mode cores against gdb-multiarch', () => {
  /**
   * Every thread of a crash core of the program built with `flags`, as gdb-multiarch sees it. gdb shows the
   * zero return address that ends a ppc64 stack as a frame "0x0 in ??"; coreshot ends there.
   */
  const againstGdb = (arch: 'ppc64le' | 's390x', flags: string[]) => {
    const m = qemuUserCore(arch, { source: PROGRAM, flags, args: ['crash'] });
    cleanups.push(m.cleanup);
    const ours = stackJson([m.core, '--exe', m.exe]);
    const gdb = gdbFrames({ exe: m.exe, core: m.core, gdb: 'gdb-multiarch' }).map((t) => ({
      ...t,
      frames: t.frames.filter((f, i) => !(f.pc === '0x0' && i === t.frames.length - 1)),
    }));
    assertSameFrames(gdb, ours);
    return ours;
  };

  for (const arch of ['ppc64le', 's390x'] as const) {
    it(`${arch}: every thread`, () => {
      againstGdb(arch, ['-O2', '-g', '-pthread']);
    });
  }

  it('ppc64le without unwind tables: the back chain, with the registers each prologue saved', () => {
    // No .eh_frame entries and no -g (no .debug_frame) for the program's own functions: they are
    // unwound through the back chain, and start_thread's CFA (r31 + 656) needs the r31 that
    // worker_sleep's prologue saved below its caller's stack pointer.
    const ours = againstGdb('ppc64le', [
      '-O2',
      '-pthread',
      '-fno-asynchronous-unwind-tables',
      '-fno-unwind-tables',
    ]);
    assert.equal(ours.threads.length, 4);
    for (const t of ours.threads) {
      const how = new Map(t.frames.map((f) => [f.function && baseName(f.function), f.how]));
      if (t === ours.threads[0]) assert.equal(how.get('main_level2'), 'back-chain');
      else {
        assert.equal(how.get('worker_level2'), 'back-chain');
        assert.equal(how.get('start_thread'), 'back-chain');
        assert.match(baseName(t.frames.at(-1)!.function ?? ''), /clone/);
      }
    }
  });
});
