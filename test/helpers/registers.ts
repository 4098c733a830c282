/**
 * The register differential: every register of every thread, decoded by coreshot (openCore +
 * decodeRegisters), against what `eu-readelf -n` prints for the same core.
 */
import assert from 'node:assert/strict';
import { decodeRegisters } from '../../src/elf/regs/index.js';
import type { ArchName } from '../../src/model/process-image.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { euReadelfNotes, registerMismatches } from './eu-readelf.js';

export interface DecodedThread {
  tid: number;
  registers: Map<string, bigint>;
}

/**
 * Opens `core` with coreshot and with eu-readelf and asserts: the same threads in the same order
 * (tid = pid), and for each, every register eu-readelf prints has the same value in coreshot.
 * Returns coreshot's decoded threads for further checks.
 */
export function assertRegistersMatchEuReadelf(core: string, arch: ArchName): DecodedThread[] {
  const eu = euReadelfNotes(core);
  const file = openCore(core);
  try {
    const { image } = file;
    assert.equal(image.arch.name, arch);
    assert.deepEqual(
      image.threads.map((t) => t.tid),
      eu.threads.map((t) => t.pid),
      'threads (tids in note order)',
    );
    return image.threads.map((t, i) => {
      const ref = eu.threads[i]!;
      assert.ok(ref.registers.size > 0, `eu-readelf printed no registers for thread ${t.tid}`);
      const registers = decodeRegisters(image.arch, t.gpRegs);
      assert.deepEqual(registerMismatches(ref.registers, registers), [], `thread ${t.tid} registers`);
      return { tid: t.tid, registers };
    });
  } finally {
    file.close();
  }
}
