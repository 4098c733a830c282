// x86_64 register differential on real cores of a multi-threaded program: a kernel core of it
// crashing and gcore's dump of it running. Every register of every thread must equal what
// eu-readelf prints, the values the program loaded must be there, and NT_PRPSINFO, NT_AUXV and
// NT_FILE must decode as eu-readelf decodes them.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { gcoreCore, KNOWN, kernelCore, type MadeCore, X86_REGS } from '../helpers/cores.js';
import {
  assertProcessNotesMatchEuReadelf,
  assertRegistersMatchEuReadelf,
  type DecodedThread,
} from '../helpers/differential.js';

const made: MadeCore[] = [];
after(() => {
  for (const m of made) m.cleanup();
});

const { main, worker, workers } = X86_REGS.x86_64;

/** The worker threads hold r12/r13 = workerA + i, workerB + i for i = 1..workers. */
function assertWorkers(threads: DecodedThread[]) {
  const seen = threads.map((t) => worker.map((r) => t.registers.get(r)!));
  for (let i = 1; i <= workers; i++) {
    const want = [KNOWN.workerA + BigInt(i), KNOWN.workerB + BigInt(i)];
    assert.equal(seen.filter((v) => v[0] === want[0] && v[1] === want[1]).length, 1, `worker ${i}`);
  }
}

describe('x86_64 registers against eu-readelf', () => {
  it('kernel core of a crashing multi-threaded program', () => {
    const m = kernelCore('x86_64');
    made.push(m);
    const threads = assertRegistersMatchEuReadelf(m.core, 'x86_64');
    assert.equal(threads.length, 1 + workers);
    const crashed = threads[0]!.registers;
    assert.deepEqual(
      main.map((r) => crashed.get(r)),
      [KNOWN.mainA, KNOWN.mainB, KNOWN.mainC],
      'the crashing thread comes first with its r12-r14',
    );
    assert.equal(crashed.get('orig_rax'), 0xffffffffffffffffn, 'no syscall in progress: orig_rax = -1');
    assertWorkers(threads.slice(1));
    assertProcessNotesMatchEuReadelf(m.core);
  });

  it('gcore of a running multi-threaded program', async () => {
    const m = await gcoreCore('x86_64');
    made.push(m);
    const threads = assertRegistersMatchEuReadelf(m.core, 'x86_64');
    assert.equal(threads.length, 1 + workers);
    const mainThread = threads.find((t) => t.tid === m.pid);
    assert.ok(mainThread, 'the main thread (tid = pid) is in the core');
    assert.deepEqual(
      [mainThread.registers.get('r12'), mainThread.registers.get('r13')],
      [KNOWN.mainA, KNOWN.mainB],
    );
    assertWorkers(threads.filter((t) => t !== mainThread));
    for (const t of threads) assert.equal(t.registers.get('orig_rax'), 34n, `thread ${t.tid} is in pause()`);
    assertProcessNotesMatchEuReadelf(m.core);
  });
});
