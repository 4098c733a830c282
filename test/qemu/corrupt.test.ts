import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { coreshot, tempDir } from '../helpers/proc.js';
import { assertSameGuestMemory, type Guest, gcore, loads, qemuDump, startGuest, stopGuest } from './guest.js';

// Damaged QEMU structures in a real QEMU core: coreshot must validate every pointer it follows,
// fall back where it can, and otherwise fail with one clear line, never crash or hang.

interface Block {
  address: string;
  idstr: string;
}

describe('guest-memory: damaged QEMU structures', () => {
  const tmp = tempDir('coreshot-qemu-corrupt-');
  let guest: Guest;
  let core: string;
  const dump = join(tmp.path, 'qemu.vmcore');
  let blocks: Block[];
  let segs: ReturnType<typeof loads>;

  before(async () => {
    guest = await startGuest(tmp.path, { memory: '32M', stopped: true });
    await qemuDump(guest, dump);
    core = gcore(guest, join(tmp.path, 'gcore'));
    await stopGuest(guest);
    const r = coreshot(['guest-memory', core, '--list', '--json']);
    assert.equal(r.status, 0, r.stderr);
    blocks = (JSON.parse(r.stdout) as { blocks: Block[] }).blocks;
    segs = loads(core);
  });
  after(async () => {
    if (guest) await stopGuest(guest);
    tmp.cleanup();
  });

  /** File offset of a QEMU virtual address in the core. */
  function fileOffset(vaddr: bigint): number {
    const s = segs.find((x) => x.vaddr <= vaddr && vaddr < x.vaddr + x.filesz);
    assert.ok(s, `0x${vaddr.toString(16)} is not in the core`);
    return Number(s.offset + (vaddr - s.vaddr));
  }

  /** Runs `fn` with `bytes` written at vaddr in the core, then restores the original bytes. */
  function patched<T>(vaddr: bigint, bytes: Buffer, fn: () => T): T {
    const off = fileOffset(vaddr);
    const fd = openSync(core, 'r+');
    const saved = Buffer.alloc(bytes.length);
    try {
      readSync(fd, saved, 0, saved.length, off);
      writeSync(fd, bytes, 0, bytes.length, off);
      return fn();
    } finally {
      writeSync(fd, saved, 0, saved.length, off);
      closeSync(fd);
    }
  }

  const ramBlock = () => BigInt(blocks.find((b) => b.idstr === 'pc.ram')!.address);

  test('a broken RAMBlock list back-pointer: the symbols walk is refused, the scan recovers', () => {
    const out = join(tmp.path, 'recovered.vmcore');
    const bogus = Buffer.alloc(8, 0x41);
    patched(ramBlock() + 344n, bogus, () => {
      const r = coreshot(['guest-memory', core, '--list', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as { method: string; notes: string[] };
      assert.equal(j.method, 'scan');
      assert.ok(
        j.notes.some((n) => n.includes('le_prev')),
        j.notes.join('\n'),
      );
      const w = coreshot(['guest-memory', core, '-o', out]);
      assert.equal(w.status, 0, w.stderr);
    });
    assertSameGuestMemory(dump, out);
  });

  test('a RAMBlock whose MemoryRegion does not point back: one clear error, no output', () => {
    patched(ramBlock() + 16n, Buffer.alloc(8, 0x42), () => {
      const r = coreshot(['guest-memory', core, '-o', join(tmp.path, 'never.vmcore')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^coreshot: .* is not the core of a QEMU process: .*RAMBlock/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  });

  test('seeded random damage to every RAMBlock: success or one clear line, never a crash', () => {
    let seed = 0x5eed;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 24; i++) {
      const b = blocks[rand(blocks.length)]!;
      const at = BigInt(b.address) + BigInt(rand(352));
      const bytes = Buffer.from([rand(256), rand(256), rand(256), rand(256)]);
      patched(at, bytes, () => {
        const r = coreshot(['guest-memory', core, '--list', '--json'], { timeoutMs: 60_000 });
        if (r.status === 0) {
          JSON.parse(r.stdout);
        } else {
          assert.equal(r.status, 1, r.stderr);
          assert.match(r.stderr, /^coreshot: [^\n]+\n$/);
          assert.doesNotMatch(r.stderr, /TypeError|RangeError| {4}at /);
        }
      });
    }
  });
});
