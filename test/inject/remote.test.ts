// Remote system calls in a held thread of a real process (src/inject/remote.ts on the
// sys/tracee.ts stepping loop): a sequence of calls has exactly the effects /proc shows, an error
// names the call and its errno, and the process runs on as if nothing happened (it checks
// itself: the checksum program prints the same as an undisturbed run, the sleeper's nanosleep
// through restart_syscall is neither cut short nor failed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { findGadgets } from '../../src/inject/gadgets.js';
import { RemoteThread } from '../../src/inject/remote.js';
import { X86_64 } from '../../src/inject/x86_64.js';
import { SysError } from '../../src/sys/libc.js';
import { ProcMem } from '../../src/sys/mem.js';
import { readMaps } from '../../src/sys/proc.js';
import { getRegSet, getSigMask } from '../../src/sys/ptrace.js';
import { TracedProcess } from '../../src/sys/tracee.js';
import { runOk, tempDir } from '../helpers/proc.js';
import { buildProg, startTarget, type Target, tracerOf, waitExit } from '../live/helpers.js';

const PROT_READ = 1n;
const PROT_WRITE = 2n;
const MAP_PRIVATE = 0x02n;
const MAP_ANONYMOUS = 0x20n;
const EINVAL = 22;
const PAGE = 4096n;

/** The permissions of the mapping that holds page `at` (it may merge with a neighbour). */
function mapping(pid: number, at: bigint): string | undefined {
  return readMaps(pid, false).find((x) => x.start <= at && at + PAGE <= x.end)?.perms;
}

/** Seizes `t`, runs the sequence in its main thread, checks each effect, lets it go. */
function runSequence(t: Target): void {
  const pid = t.pid;
  const mem = new ProcMem(pid, true);
  const tp = TracedProcess.seize(pid);
  try {
    const maps = readMaps(pid, false);
    const gadgets = findGadgets(X86_64, mem, maps);
    assert.ok(gadgets, 'no gadgets found');
    const saved = {
      regs: getRegSet(pid, X86_64.generalRegs),
      xstate: getRegSet(pid, X86_64.extendedRegs),
      sigmask: getSigMask(pid),
    };
    const below = mem.read(X86_64.stackPointer(saved.regs) - 4096n, 4096);
    const remote = RemoteThread.open(tp, pid, saved, { arch: X86_64, gadgets, mem, maps });
    assert.ok(typeof remote !== 'string', String(remote));
    try {
      const page = remote.syscall(
        'mmap',
        0n,
        PAGE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
        -1n,
        0n,
      );
      assert.equal(page % PAGE, 0n);
      assert.equal(mapping(pid, page), 'rw-p');
      const data = Buffer.from('written by coreshot into a page the target mapped for it');
      mem.write(page, data);
      assert.deepEqual(mem.read(page, data.length), data);
      assert.equal(remote.syscall('mprotect', page, PAGE, PROT_READ), 0n);
      assert.equal(mapping(pid, page), 'r--p');
      assert.deepEqual(mem.read(page, data.length), data);
      assert.equal(remote.syscall('getpid'), BigInt(pid));
      assert.throws(
        () => remote.syscall('munmap', page + 1n, PAGE),
        (err: unknown) =>
          err instanceof SysError &&
          err.errno === EINVAL &&
          /^munmap \(injected into thread \d+\)/.test(err.message),
      );
      assert.equal(mapping(pid, page), 'r--p', 'a failed call changed nothing');
      assert.equal(remote.syscall('munmap', page, PAGE), 0n);
      assert.equal(mapping(pid, page), undefined);
    } finally {
      remote.release();
    }
    // Back in its interrupt stop exactly as it was: registers, extended state, mask, stack.
    assert.deepEqual(getRegSet(pid, X86_64.generalRegs), saved.regs);
    assert.deepEqual(getRegSet(pid, X86_64.extendedRegs), saved.xstate);
    assert.equal(getSigMask(pid), saved.sigmask);
    assert.deepEqual(mem.read(X86_64.stackPointer(saved.regs) - 4096n, 4096), below);
  } finally {
    tp.detach();
    mem.close();
  }
  assert.equal(tracerOf(pid), 0);
}

describe('remote system calls in a held thread', () => {
  const tmp = tempDir('coreshot-inject-');
  let checksum = '';
  let sleeper = '';
  before(() => {
    checksum = buildProg('checksum', tmp.path);
    sleeper = buildProg('sleeper', tmp.path);
  });
  after(() => tmp.cleanup());

  test('a sequence in a thread blocked in read(): effects as asked, output unchanged', async () => {
    const t = await startTarget(checksum, ['12000', '16', '300'], tmp.path, { name: 'checksum' });
    try {
      for (let i = 0; i < 5; i++) runSequence(t);
      await waitExit(t);
      assert.equal(readFileSync(t.output, 'utf8'), runOk(checksum, ['12000', '16', '0']).stdout);
    } finally {
      await t.stop();
    }
  });

  test('a sequence in a thread asleep in nanosleep: its sleeps are neither cut short nor failed', async () => {
    const t = await startTarget(sleeper, ['10', '300'], tmp.path, { name: 'sleeper', settleMs: 100 });
    try {
      for (let i = 0; i < 5; i++) runSequence(t);
      await waitExit(t);
      assert.equal(readFileSync(t.output, 'utf8'), 'ok 10\n');
    } finally {
      await t.stop();
    }
  });
});
