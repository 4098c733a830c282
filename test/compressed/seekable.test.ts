// Seekable zstd: `dump --compress zstd` writes independent frames plus a seek table; `zstd -d`
// turns it into a core eu-readelf and gdb accept, coreshot prints the same as for the plain core,
// and reads near the end decompress only the frames they touch. The sink is also checked alone
// with data and holes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openInput } from '../../src/io/compressed/open-input.js';
import { SeekableZstdAccess } from '../../src/io/compressed/seekable-access.js';
import { FRAME_SIZE, SeekableZstdSink, zstdCompressor } from '../../src/io/compressed/seekable-sink.js';
import { FileAccess } from '../../src/io/random-access.js';
import { FileSink } from '../../src/io/sink.js';
import { readCore } from '../../src/sources/elfcore/open.js';
import { CLI, compileC, killAndWait, runOk, startDetached, tempDir } from '../helpers/proc.js';

const HEAP = 24 << 20;
const dir = tempDir('coreshot-seekable-');
const cache = tempDir('coreshot-cache-');
const env = { ...process.env, XDG_CACHE_HOME: cache.path };
const cli = (args: string[]) => runOk(process.execPath, [CLI, ...args], { env }).stdout;
const unnamed = (out: string) => out.replace(/^core +\S+ /, 'core ');
let exe: string;
let pid: number;
let heap: bigint;
const packed = join(dir.path, 'core.zst');
const unpacked = join(dir.path, 'core');

before(async () => {
  exe = compileC(new URL('./big-heap.c', import.meta.url).pathname, join(dir.path, 'big-heap'));
  const out = join(dir.path, 'out');
  pid = startDetached(exe, [], { stdout: out });
  const end = Date.now() + 30_000;
  while (!(existsSync(out) && readFileSync(out, 'utf8').includes('\n')) && Date.now() < end)
    await new Promise((r) => setTimeout(r, 20));
  heap = BigInt(readFileSync(out, 'utf8').split(' ')[1] ?? '');
  cli(['dump', String(pid), '--compress', 'zstd', '-o', packed]);
  runOk('zstd', ['-q', '-d', packed, '-o', unpacked]);
});
after(async () => {
  await killAndWait(pid);
  dir.cleanup();
  cache.cleanup();
});

describe('dump --compress zstd', () => {
  test('zstd -d gives a core eu-readelf and gdb accept', () => {
    assert.match(runOk('eu-readelf', ['-n', unpacked]).stdout, /PRSTATUS/);
    const last = heap + BigInt(HEAP) - 8n;
    const gdb = runOk('gdb', [
      '-batch',
      '-nx',
      '-ex',
      'set sysroot /',
      '-ex',
      `file ${exe}`,
      '-ex',
      `core-file ${unpacked}`,
      '-ex',
      `x/gx ${last}`,
    ]);
    // heap[i] = i for i % 4 != 0: the last word holds its own index.
    assert.match(gdb.stdout, new RegExp(`:\\s+0x0*${(BigInt(HEAP) / 8n - 1n).toString(16)}\\b`));
  });

  test('coreshot prints the same for the seekable file and the plain core', () => {
    for (const args of [['info'], ['threads', '--json'], ['maps', '--json']])
      assert.equal(unnamed(cli([...args, packed])), unnamed(cli([...args, unpacked])), args.join(' '));
    assert.equal(
      cli(['read', packed, `0x${(heap + BigInt(HEAP) - 4096n).toString(16)}`, '4096']),
      cli(['read', unpacked, `0x${(heap + BigInt(HEAP) - 4096n).toString(16)}`, '4096']),
    );
  });

  test('a read near the end decompresses only the frames it touches', () => {
    const ra = openInput(packed);
    assert.ok(ra instanceof SeekableZstdAccess);
    const core = readCore(packed, ra);
    const plain = readCore(unpacked, new FileAccess(unpacked));
    try {
      const frames = Math.ceil(Number(ra.size) / FRAME_SIZE);
      assert.ok(frames > 12, `${frames} frames`);
      const opened = ra.framesDecoded; // headers and notes: the first frames only
      assert.ok(opened <= 2, `opening decoded ${opened} frames`);
      const addr = heap + BigInt(HEAP) - 8192n;
      assert.deepEqual(core.image.memory.read(addr, 8192), plain.image.memory.read(addr, 8192));
      assert.ok(ra.framesDecoded - opened <= 2, `the read decoded ${ra.framesDecoded - opened} frames`);
    } finally {
      core.close();
      plain.close();
    }
  });
});

describe('SeekableZstdSink', () => {
  test('data and holes round-trip through coreshot and zstd -d, reads decode only their frames', async () => {
    const out = join(dir.path, 'sink.zst');
    const expected = Buffer.alloc(3 * FRAME_SIZE + 12345);
    const sink = new SeekableZstdSink(new FileSink(out), await zstdCompressor());
    const pieces: [number, 'data' | 'hole'][] = [
      [1000, 'data'],
      [FRAME_SIZE * 2 + 5000, 'hole'],
      [FRAME_SIZE / 2, 'data'],
      [expected.length - 1000 - FRAME_SIZE * 2 - 5000 - FRAME_SIZE / 2, 'hole'],
    ];
    let at = 0;
    for (const [n, kind] of pieces) {
      if (kind === 'data') {
        for (let i = 0; i < n; i++) expected[at + i] = (i * 31 + (i >> 8)) & 0xff;
        sink.write(expected.subarray(at, at + n));
      } else sink.hole(BigInt(n));
      at += n;
    }
    sink.commit();
    runOk('zstd', ['-q', '-d', out, '-o', `${out}.plain`]);
    assert.ok(readFileSync(`${out}.plain`).equals(expected), 'zstd -d gives the bytes written');
    const ra = openInput(out);
    assert.ok(ra instanceof SeekableZstdAccess);
    try {
      assert.equal(ra.size, BigInt(expected.length));
      const off = BigInt(FRAME_SIZE * 2 + 5000);
      assert.deepEqual(
        ra.read(off, FRAME_SIZE / 2 + 10),
        expected.subarray(Number(off), Number(off) + FRAME_SIZE / 2 + 10),
      );
      assert.equal(ra.framesDecoded, 1);
      assert.deepEqual(ra.read(0n, 1000), expected.subarray(0, 1000));
      assert.equal(ra.framesDecoded, 2);
      // Across a frame boundary: frame 0 comes from the cache, frame 1 is decoded.
      const edge = BigInt(FRAME_SIZE - 10);
      assert.deepEqual(ra.read(edge, 20), expected.subarray(FRAME_SIZE - 10, FRAME_SIZE + 10));
      assert.equal(ra.framesDecoded, 3);
    } finally {
      ra.close();
    }
  });
});
