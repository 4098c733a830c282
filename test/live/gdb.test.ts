// Acceptance: gdb reads coreshot's core of a live process as it reads the live process, with no
// warnings; notes and PT_LOADs are what the kernel itself writes for the same process.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, coreshot, gdbWarnings, run, runOk, tempDir } from '../helpers/proc.js';
import {
  buildProg,
  eventually,
  framesByThread,
  isAlive,
  loads,
  noteList,
  sleep,
  startTarget,
} from './helpers.js';

const GP_REGS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12'];
const MORE_REGS = ['r13', 'r14', 'r15', 'rip', 'eflags', 'cs', 'ss'];

function registers(gdbOut: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of gdbOut.split('\n')) {
    const m = /^(\w+)\s+(0x[0-9a-f]+)\s/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

function gdb(args: string[]): string {
  const res = run('gdb', ['-nx', '-batch', ...args], { timeoutMs: 120_000 });
  return `${res.stdout}\n${res.stderr}`;
}

async function kernelCore(pid: number, dir: string): Promise<string> {
  process.kill(pid, 'SIGABRT');
  const core = join(dir, 'core');
  await eventually(
    () => !isAlive(pid) && existsSync(core),
    (v) => v,
    20_000,
  );
  assert.ok(existsSync(core), 'the kernel wrote no core (core_pattern must be "core")');
  return core;
}

/** Whether this CPU has AVX-512 (threads.c loads zmm0 then, ymm0 otherwise). */
const AVX512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

describe('coreshot dump: gdb and the kernel agree', () => {
  const tmp = tempDir('coreshot-live-gdb-');
  let prog = '';

  before(() => {
    assert.equal(readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim(), 'core');
    prog = buildProg('threads', tmp.path);
  });
  after(() => tmp.cleanup());

  for (const mode of ['snapshot', 'no-snapshot']) {
    test(`multi-threaded C program (${mode})`, async () => {
      const dir = join(tmp.path, mode);
      runOk('mkdir', ['-p', dir]);
      const t = await startTarget(prog, [], dir, { ulimitCore: true });
      try {
        const live = gdb(['-p', String(t.pid), '-ex', 'thread apply all bt', '-ex', 'info registers']);
        const core = join(dir, 'coreshot.core');
        const args = ['dump', String(t.pid), '-o', core];
        if (mode === 'no-snapshot') args.push('--no-snapshot');
        const res = coreshot(args);
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stderr, /coreshot\.core: .* target paused [\d.]+ ms/);
        assert.equal(statSync(core).mode & 0o777, 0o600);

        const fromCore = gdb([
          prog,
          core,
          '-ex',
          'thread apply all bt',
          '-ex',
          'info registers',
          ...(AVX512 ? ['-ex', 'p $zmm0.v16_int32'] : []),
          '-ex',
          'p $ymm0.v8_int32',
        ]);
        assert.deepEqual(gdbWarnings(fromCore), [], fromCore);
        const liveFrames = framesByThread(live);
        const coreFrames = framesByThread(fromCore);
        assert.equal(coreFrames.size, 4, fromCore);
        assert.deepEqual(coreFrames, liveFrames);
        assert.ok(coreFrames.get(String(t.pid))?.includes('spin_here'), fromCore);
        const lr = registers(live);
        const cr = registers(fromCore);
        for (const r of [...GP_REGS, ...MORE_REGS]) assert.equal(cr.get(r), lr.get(r), `register ${r}`);
        assert.equal(cr.get('r12'), '0x1122334455667788');
        // zmm0 only where the CPU has AVX-512 (threads.c loads ymm0 otherwise).
        if (AVX512) assert.match(fromCore, /= \{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16\}/);
        assert.match(fromCore, /= \{1, 2, 3, 4, 5, 6, 7, 8\}\n/);

        // coreshot's own reader agrees with gdb on registers and memory.
        const threads = JSON.parse(runOk(process.execPath, [CLI, 'threads', '--json', core]).stdout) as {
          threads: { tid: number; registers: Record<string, string> }[];
        };
        assert.deepEqual(
          threads.threads.map((x) => x.tid),
          [t.pid, ...[...coreFrames.keys()].map(Number).filter((n) => n !== t.pid)].sort((a, b) =>
            a === t.pid ? -1 : b === t.pid ? 1 : a - b,
          ),
        );
        const main = threads.threads[0]!.registers;
        for (const r of GP_REGS) assert.equal(main[r], cr.get(r), `coreshot threads: ${r}`);
        assert.equal(main.rflags, cr.get('eflags'));
        const rsp = cr.get('rsp')!;
        const bytes = gdb([prog, core, '-ex', `x/32xb ${rsp}`])
          .split('\n')
          .filter((l) => /^0x[0-9a-f]+/.test(l))
          .flatMap((l) => l.split(':')[1]!.trim().split(/\s+/))
          .map((b) => b.replace(/^0x/, ''))
          .join('');
        const read = JSON.parse(runOk(process.execPath, [CLI, 'read', '--json', core, rsp, '32']).stdout) as {
          hex: string;
        };
        assert.equal(read.hex, bytes);

        const re = run('readelf', ['-a', '-W', core]);
        assert.equal(re.status, 0, re.stderr);
        assert.doesNotMatch(re.stderr, /warning|error/i);
        const eu = run('eu-readelf', ['-n', core]);
        assert.equal(eu.status, 0, eu.stderr);
        assert.equal(eu.stderr, '');

        // The kernel's own core of the same process: same notes in the same order, same PT_LOADs.
        const kcore = await kernelCore(t.pid, dir);
        const strip = (l: string[]) => l.map((n) => n.replace(/\s+\d+\s+/, ' '));
        assert.deepEqual(strip(noteList(core)), strip(noteList(kcore)));
        assert.deepEqual(loads(core), loads(kcore));
      } finally {
        await t.stop();
      }
    });
  }

  test('python3 running a script (a program nobody here wrote)', async () => {
    const dir = join(tmp.path, 'python');
    runOk('mkdir', ['-p', dir]);
    const script = join(dir, 'script.py');
    runOk('sh', [
      '-c',
      `cat > ${script} <<'PY'
import threading, time
def inner():
    time.sleep(1000)
def outer():
    inner()
threading.Thread(target=lambda: time.sleep(1000), daemon=True).start()
outer()
PY`,
    ]);
    const t = await startTarget('/usr/bin/python3', [script], dir, { settleMs: 800 });
    try {
      const live = gdb(['-p', String(t.pid), '-ex', 'thread apply all bt']);
      const core = join(dir, 'py.core');
      const res = coreshot(['dump', String(t.pid), '-o', core]);
      assert.equal(res.status, 0, res.stderr);
      await sleep(50);
      const exe = readFileSync(`/proc/${t.pid}/cmdline`, 'latin1').split('\0')[0]!;
      const fromCore = gdb([exe, core, '-ex', 'thread apply all bt']);
      assert.deepEqual(gdbWarnings(fromCore), [], fromCore);
      const coreFrames = framesByThread(fromCore);
      assert.equal(coreFrames.size, 2, fromCore);
      assert.deepEqual(coreFrames, framesByThread(live));
      assert.ok(
        [...coreFrames.values()].every((f) => f.length > 3),
        fromCore,
      );
    } finally {
      await t.stop();
    }
  });
});
