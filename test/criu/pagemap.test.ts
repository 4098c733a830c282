import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pagemap_entrySchema, pagemap_headSchema } from '../../src/sources/criu/gen/criu_pb.js';
import { PAGEMAP_MAGIC } from '../../src/sources/criu/image.js';
import { PageIndex, PE_LAZY, PE_PRESENT } from '../../src/sources/criu/pagemap.js';
import { tempDir } from '../helpers/proc.js';
import { type Entry, writeImage } from './synth.js';

// The page index: runs in file order (not address order), cumulative offsets into pages-N.img
// that skip runs without data, lookups by binary search.

const tmp = tempDir('coreshot-criu-pagemap-');
after(() => tmp.cleanup());
const PAGE = 4096n;

describe('criu page index', () => {
  it('maps addresses to pages-N.img offsets across many runs, logarithmically', () => {
    const runs = 50_000;
    const dir = join(tmp.path, 'many');
    mkdirSync(dir, { recursive: true });
    // Run i: one page at 0x10000000 + 2*i pages; every 7th run is lazy (no data in pages-1.img).
    // Entries are written in reverse address order to check the index sorts them.
    const order = Array.from({ length: runs }, (_, i) => runs - 1 - i);
    writeImage(join(dir, 'pagemap-1.img'), PAGEMAP_MAGIC, [
      [pagemap_headSchema, { pagesId: 1 }],
      ...order.map(
        (i) =>
          [
            pagemap_entrySchema,
            {
              vaddr: 0x1000_0000n + BigInt(2 * i) * PAGE,
              nrPages: 1,
              flags: i % 7 === 0 ? PE_LAZY : PE_PRESENT,
            },
          ] as Entry,
      ),
    ]);
    const data = Buffer.alloc(order.filter((i) => i % 7 !== 0).length * 4096);
    let k = 0;
    for (const i of order) {
      if (i % 7 === 0) continue;
      data.writeUInt32LE(i, k * 4096);
      k++;
    }
    writeFileSync(join(dir, 'pages-1.img'), data);

    const idx = PageIndex.open(dir, 'pagemap-1.img', PAGE);
    try {
      assert.equal(idx.runs.length, runs);
      assert.equal(idx.lazyBytes, BigInt(Math.ceil(runs / 7)) * PAGE);
      const buf = Buffer.alloc(8);
      const t = performance.now();
      for (let n = 0; n < 100_000; n++) {
        const i = (n * 7919) % runs;
        const addr = 0x1000_0000n + BigInt(2 * i) * PAGE;
        const got = idx.read(addr, buf.subarray(0, 4));
        if (i % 7 === 0) assert.equal(got, 0, `lazy run ${i} has no data`);
        else {
          assert.equal(got, 4);
          assert.equal(buf.readUInt32LE(0), i, `page of run ${i}`);
        }
        // The page between two runs is in none.
        assert.equal(idx.find(addr + PAGE), -1);
      }
      // 100,000 lookups over 50,000 runs: a linear scan (2.5e9 steps) would take minutes.
      assert.ok(performance.now() - t < 15_000, `lookups took ${performance.now() - t} ms`);
      // A read spanning a run and the gap after it stops at the gap.
      assert.equal(idx.read(0x1000_0000n + 2n * PAGE, Buffer.alloc(8192)), 4096);
    } finally {
      idx.close();
    }
  });

  it('regions clip runs to a range and place them (shared memory at its mapping)', () => {
    const dir = join(tmp.path, 'shm');
    mkdirSync(dir, { recursive: true });
    writeImage(join(dir, 'pagemap-shmem-9.img'), PAGEMAP_MAGIC, [
      [pagemap_headSchema, { pagesId: 2 }],
      [pagemap_entrySchema, { vaddr: 0n, nrPages: 4, flags: PE_PRESENT }],
    ]);
    const pages = Buffer.alloc(4 * 4096);
    for (let p = 0; p < 4; p++) pages.fill(0x10 + p, p * 4096, (p + 1) * 4096);
    writeFileSync(join(dir, 'pages-2.img'), pages);
    const idx = PageIndex.open(dir, 'pagemap-shmem-9.img', PAGE);
    try {
      // A mapping of the object's pages 1..2 at 0x7000_0000.
      const [r] = idx.regions(PAGE, 3n * PAGE, 0x7000_0000n - PAGE);
      assert.ok(r);
      assert.equal(r.start, 0x7000_0000n);
      assert.equal(r.end, 0x7000_0000n + 2n * PAGE);
      const b = Buffer.alloc(4096);
      assert.equal(r.reader!(4096n, b), 4096);
      assert.equal(b[0], 0x12);
    } finally {
      idx.close();
    }
  });
});
