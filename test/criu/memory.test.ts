import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openCore } from '../../src/sources/elfcore/open.js';
import { coreshot, runOk, tempDir } from '../helpers/proc.js';
import { CRIU, casePids, convertFixture, requireFixtures } from './helpers.js';

interface MapsLine {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  path: string;
}

function referenceMaps(caseName: string, pid: number): MapsLine[] {
  const text = readFileSync(join(CRIU, caseName, 'reference', `maps-${pid}.txt`), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => {
      const [range, perms, offset, , , ...rest] = l.trim().split(/\s+/);
      const [lo, hi] = range!.split('-');
      return {
        start: BigInt(`0x${lo}`),
        end: BigInt(`0x${hi}`),
        perms: perms!,
        offset: BigInt(`0x${offset}`),
        path: rest.join(' '),
      };
    });
}

/** Address of a symbol of the fixture program in a process (PIE: relative to its first mapping). */
function symbolAddress(caseName: string, pid: number, symbol: string): bigint {
  const exe = join(CRIU, caseName, 'root/tmp/coreshot-fixture', caseName, 'target');
  const nm = runOk('nm', [exe]).stdout;
  const line = nm.split('\n').find((l) => l.endsWith(` ${symbol}`));
  assert.ok(line, `${symbol} in nm output`);
  const value = BigInt(`0x${line.split(' ')[0]}`);
  const type = runOk('readelf', ['-h', exe]).stdout;
  if (!/Type:\s+DYN/.test(type)) return value;
  const base = referenceMaps(caseName, pid).find((m) => m.path.endsWith('/target') && m.offset === 0n);
  return base!.start + value;
}

const text = (b: Buffer) => b.toString('latin1');

/** `coreshot read --raw`: the text of `length` bytes at `addr` (markers are ASCII). */
function cliRead(core: string, addr: bigint, length: number): string {
  const res = coreshot(['read', core, `0x${addr.toString(16)}`, String(length), '--raw']);
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

// Acceptance: the fixture's markers read back from the converted cores at the right addresses
// (heap, shared memory, the dirtied page of the private file mapping, .data), and the untouched
// pages of the file mapping equal the file.
for (const caseName of ['single', 'static', 'tree']) {
  describe(`convert criu: ${caseName} memory`, () => {
    const out = tempDir('coreshot-criu-mem-');
    before(() => {
      requireFixtures();
      const _dir = join(CRIU, caseName);
      const res = convertFixture(caseName, out.path);
      assert.equal(res.status, 0, res.stderr);
    });
    after(() => out.cleanup());

    const pids = casePids(caseName);
    const root = Number(readFileSync(join(CRIU, caseName, 'reference', 'pid.txt'), 'utf8').trim());
    pids.forEach((pid, i) => {
      const seed = caseName === 'tree' && pid !== root ? 100 + i : 1;
      it(`process ${pid}: markers at their addresses, file pages equal data.bin`, () => {
        const maps = referenceMaps(caseName, pid);
        const path = join(out.path, `core.${pid}`);
        const core = openCore(path);
        try {
          const mem = core.image.memory;
          const read = (addr: bigint, n: number) => {
            const r = mem.read(addr, n);
            assert.deepEqual(r.missing, [], `bytes at 0x${addr.toString(16)} are in the core`);
            return r.data;
          };
          // The 4 MiB heap block is its own mmap: the marker follows glibc's 16-byte chunk header.
          const heap = maps.find(
            (m) => !m.path && m.end - m.start >= 4n << 20n && m.end - m.start < 5n << 20n,
          );
          assert.ok(heap, 'heap block mapping');
          const heapMarker = `CORESHOT-HEAP-MARKER-${seed}\0`;
          assert.equal(cliRead(path, heap.start + 16n, heapMarker.length), heapMarker);
          // Its pattern continues past the marker (fill() of target.c).
          const at = 4096;
          const expectByte = ((at * 131 + seed * 7) ^ (at >> 12)) & 0xff;
          assert.equal(read(heap.start + 16n + BigInt(at), 1)[0], expectByte);

          const shared = maps.find((m) => m.perms === 'rw-s' && m.path.startsWith('/dev/zero'));
          assert.ok(shared, 'shared anonymous mapping');
          assert.equal(cliRead(path, shared.start, 22), 'CORESHOT-SHARED-MARKER');

          const dataFile = join(CRIU, caseName, 'root/tmp/coreshot-fixture', caseName, 'data.bin');
          const file = readFileSync(dataFile);
          const fm = maps.find((m) => m.path.endsWith('/data.bin'));
          assert.ok(fm, 'data.bin mapping');
          const whole = read(fm.start, Number(fm.end - fm.start));
          assert.equal(text(whole.subarray(4096, 4096 + 19)), 'CORESHOT-COW-MARKER');
          assert.equal(cliRead(path, fm.start + 4096n, 19), 'CORESHOT-COW-MARKER');
          assert.deepEqual(whole.subarray(0, 4096), file.subarray(0, 4096), 'untouched page 0');
          assert.deepEqual(whole.subarray(8192), file.subarray(8192, whole.length), 'untouched pages 2..');
          assert.deepEqual(
            whole.subarray(4096 + 19, 8192),
            file.subarray(4096 + 19, 8192),
            'rest of dirty page',
          );

          const marker = symbolAddress(caseName, pid, 'marker');
          assert.equal(cliRead(path, marker, 29), 'CORESHOT-FIXTURE-MARKER-DATA\0');
        } finally {
          core.close();
        }
      });
    });
  });
}
