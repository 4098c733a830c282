/**
 * Differential checks of coreshot's core reader against `eu-readelf -n` on the same core: every
 * register of every thread (openCore + decodeRegisters), and the process notes (NT_PRPSINFO,
 * NT_AUXV, NT_FILE).
 */
import assert from 'node:assert/strict';
import { AT } from '../../src/abi/auxv.js';
import { prstatusSize } from '../../src/elf/notes/prstatus.js';
import { decodeRegisters } from '../../src/elf/regs/index.js';
import type { ArchName } from '../../src/model/process-image.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { type EuAuxvEntry, euReadelfNotes, registerMismatches } from './eu-readelf.js';

export interface DecodedThread {
  tid: number;
  registers: Map<string, bigint>;
}

/**
 * Opens `core` with coreshot and with eu-readelf and asserts: the arch, NT_PRSTATUS of the size
 * coreshot derives for it, the same threads in the same order (tid = pid), and for each, every
 * register eu-readelf prints has the same value in coreshot.
 * Returns coreshot's decoded threads for further checks.
 */
export function assertRegistersMatchEuReadelf(core: string, arch: ArchName): DecodedThread[] {
  const eu = euReadelfNotes(core);
  const file = openCore(core);
  try {
    const { image } = file;
    assert.equal(image.arch.name, arch);
    const sizes = eu.notes.filter((n) => n.owner === 'CORE' && n.type === 'PRSTATUS').map((n) => n.size);
    assert.deepEqual(new Set(sizes), new Set([prstatusSize(image.arch)]), 'NT_PRSTATUS size');
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

/** The AT_* type of an auxv entry as eu-readelf names it ("PAGESZ", or "51" for unnamed types). */
function auxvType(e: EuAuxvEntry): bigint {
  if (/^\d+$/.test(e.name)) return BigInt(e.name);
  const t = (AT as Record<string, number>)[e.name];
  if (t === undefined) throw new Error(`eu-readelf auxv name AT_${e.name} is not in abi/auxv.ts`);
  return BigInt(t);
}

/**
 * Asserts coreshot's NT_PRPSINFO, NT_AUXV and NT_FILE decoding equals eu-readelf's. QEMU user-mode
 * cores have no NT_FILE: pass `hasFiles: false` for them.
 */
export function assertProcessNotesMatchEuReadelf(core: string, hasFiles = true): void {
  const eu = euReadelfNotes(core);
  const file = openCore(core);
  try {
    const { image } = file;
    const p = eu.process;
    assert.ok(p, 'eu-readelf found NT_PRPSINFO');
    assert.deepEqual(
      {
        pid: image.process.pid,
        ppid: image.process.ppid,
        uid: image.process.uid,
        gid: image.process.gid,
        fname: image.process.comm,
        psargs: image.process.psargs.trimEnd(),
      },
      {
        pid: Number(p.get('pid')),
        ppid: Number(p.get('ppid')),
        uid: Number(p.get('uid')),
        gid: Number(p.get('gid')),
        fname: p.get('fname'),
        psargs: p.get('psargs'),
      },
      'NT_PRPSINFO',
    );
    // eu-readelf prints every pair; the vector ends at the first AT_NULL (gcore of an i386
    // process, for one, writes several).
    const euAuxv = eu.auxv.map((e) => ({ type: auxvType(e), value: e.value }));
    const end = euAuxv.findIndex((e) => e.type === 0n);
    assert.deepEqual(image.auxv, end < 0 ? euAuxv : euAuxv.slice(0, end + 1), 'NT_AUXV');
    assert.equal(eu.files.length > 0, hasFiles, 'eu-readelf found NT_FILE entries');
    assert.deepEqual(file.files, eu.files, 'NT_FILE');
  } finally {
    file.close();
  }
}
