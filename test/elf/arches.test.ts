// Register sets of non-x86_64 architectures on real cores: QEMU user-mode cores of aarch64, arm
// (32-bit), ppc64le, ppc64 (big endian) and s390x, and a kernel core and a gcore of an i386
// program. Every register of every thread must equal what eu-readelf prints, the values the
// programs loaded must be there, and the process notes (NT_PRPSINFO, NT_AUXV, NT_FILE) must
// decode as eu-readelf decodes them.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  gcoreCore,
  KNOWN,
  kernelCore,
  type MadeCore,
  QEMU_ARCHES,
  QEMU_TARGETS,
  qemuUserCore,
  X86_REGS,
} from '../helpers/cores.js';
import {
  assertProcessNotesMatchEuReadelf,
  assertRegistersMatchEuReadelf,
  type DecodedThread,
} from '../helpers/differential.js';

const made: MadeCore[] = [];
after(() => {
  for (const m of made) m.cleanup();
});

/** The value a known constant has in a register of `bits` bits. */
const low = (v: bigint, bits: number) => BigInt.asUintN(bits, v);

/** Asserts thread 0 holds the main values and the others each hold worker values 1..n. */
function assertKnown(
  threads: DecodedThread[],
  main: readonly string[],
  worker: readonly string[],
  workers: number,
  bits: number,
) {
  assert.equal(threads.length, 1 + workers, 'thread count');
  const mainValues = [KNOWN.mainA, KNOWN.mainB, KNOWN.mainC];
  const workerValues = [KNOWN.workerA, KNOWN.workerB, KNOWN.workerC];
  const crashed = threads[0]!;
  main.forEach((reg, i) => {
    assert.equal(crashed.registers.get(reg), low(mainValues[i]!, bits), `crashing thread ${reg}`);
  });
  const seen = threads.slice(1).map((t) => worker.map((reg) => t.registers.get(reg)));
  const expected = Array.from({ length: workers }, (_, k) =>
    worker.map((_, i) => low(workerValues[i]! + BigInt(k + 1), bits)),
  );
  const key = (vs: (bigint | undefined)[]) => vs.map(String).join(',');
  assert.deepEqual(seen.map(key).sort(), expected.map(key).sort(), `worker ${worker.join('/')}`);
}

describe('QEMU user-mode cores', () => {
  for (const arch of QEMU_ARCHES) {
    it(`${arch}: every register of every thread equals eu-readelf, known values present`, () => {
      const m = qemuUserCore(arch);
      made.push(m);
      const threads = assertRegistersMatchEuReadelf(m.core, arch);
      const { regs, workers } = QEMU_TARGETS[arch];
      assertKnown(threads, regs, regs, workers, arch === 'arm' ? 32 : 64);
      assertProcessNotesMatchEuReadelf(m.core, false);
    });
  }
});

describe('i386', () => {
  it('kernel core: every register of every thread equals eu-readelf, known values present', () => {
    const m = kernelCore('i386');
    made.push(m);
    const threads = assertRegistersMatchEuReadelf(m.core, 'i386');
    const r = X86_REGS.i386;
    assertKnown(threads, r.main, r.worker, r.workers, 32);
    assertProcessNotesMatchEuReadelf(m.core);
  });

  it('gcore: every register of every thread equals eu-readelf', async () => {
    const m = await gcoreCore('i386');
    made.push(m);
    const threads = assertRegistersMatchEuReadelf(m.core, 'i386');
    assert.equal(threads.length, 1 + X86_REGS.i386.workers);
    const main = threads.find((t) => t.tid === m.pid);
    assert.deepEqual(
      [main?.registers.get('esi'), main?.registers.get('edi')],
      [low(KNOWN.mainA, 32), low(KNOWN.mainB, 32)],
    );
    assertProcessNotesMatchEuReadelf(m.core);
  });
});
