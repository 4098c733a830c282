import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Region, SplicedAddressSpace } from '../../src/model/address-space.js';

/** A region whose byte at address a is (a & 0xff) ^ tag, so the source of every byte is visible. */
function filled(start: bigint, end: bigint, tag: number, kind: Region['kind'] = 'core'): Region {
  return {
    start,
    end,
    kind,
    reader: (off, target) => {
      for (let i = 0; i < target.length; i++) target[i] = Number((start + off + BigInt(i)) & 0xffn) ^ tag;
      return target.length;
    },
  };
}

describe('SplicedAddressSpace', () => {
  it('gives higher tiers priority and lets lower tiers fill only the gaps', () => {
    const space = new SplicedAddressSpace([
      [filled(0x1000n, 0x2000n, 1)],
      [filled(0x0n, 0x3000n, 2, 'file')],
    ]);
    const r = space.read(0xff0n, 0x20);
    assert.deepEqual(r.missing, []);
    for (let i = 0; i < 0x20; i++) {
      const a = 0xff0 + i;
      assert.equal(r.data[i], (a & 0xff) ^ (a >= 0x1000 ? 1 : 2), `byte at ${a.toString(16)}`);
    }
    assert.deepEqual(
      space.regions().map((x) => [x.start, x.end, x.kind]),
      [
        [0x0n, 0x1000n, 'file'],
        [0x1000n, 0x2000n, 'core'],
        [0x2000n, 0x3000n, 'file'],
      ],
    );
  });

  it('reports unmapped, not-in-core and short reads with their reasons, zeroing those bytes', () => {
    const short: Region = {
      start: 0x3000n,
      end: 0x4000n,
      kind: 'core',
      reason: 'truncated',
      reader: (_o, t) => t.fill(7, 0, 16) && 16,
    };
    const space = new SplicedAddressSpace([
      [filled(0x1000n, 0x2000n, 0), short],
      [{ start: 0x2000n, end: 0x3000n, kind: 'missing', reason: 'not-in-core' }],
    ]);
    const target = Buffer.alloc(0x4000, 0xee);
    const missing = space.readInto(0x800n, target.subarray(0, 0x3810));
    assert.deepEqual(missing, [
      { start: 0x800n, end: 0x1000n, reason: 'unmapped' },
      { start: 0x2000n, end: 0x3000n, reason: 'not-in-core' },
      { start: 0x3010n, end: 0x4000n, reason: 'truncated' },
      { start: 0x4000n, end: 0x4010n, reason: 'unmapped' },
    ]);
    assert.equal(target[0], 0);
    assert.equal(target[0x2000 - 0x800 + 5], 0);
    assert.equal(target[0x3000 - 0x800], 7);
    assert.equal(target[0x3010 - 0x800], 0);
  });

  it('splices many regions in one tier each quickly (70,000 mappings)', () => {
    const core: Region[] = [];
    const files: Region[] = [];
    for (let i = 0n; i < 70000n; i++) {
      core.push(filled(0x10000000n + i * 0x2000n, 0x10000000n + i * 0x2000n + 0x1000n, 1));
      files.push(filled(0x10000000n + i * 0x2000n, 0x10000000n + (i + 1n) * 0x2000n, 2, 'file'));
    }
    const t0 = performance.now();
    const space = new SplicedAddressSpace([core.reverse(), files]);
    assert.ok(performance.now() - t0 < 2000, 'building is not quadratic');
    assert.equal(space.regions().length, 140000);
    const r = space.read(0x10000000n + 69999n * 0x2000n + 0xff8n, 16);
    assert.equal(r.data[0], 0xf8 ^ 1);
    assert.equal(r.data[8], 0x00 ^ 2);
  });
});
