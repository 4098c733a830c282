// Truncated real cores: what is present stays readable, what is missing is named ('truncated'),
// and `info` says so. Bytes a segment does not hold (p_filesz < p_memsz) are 'not-in-core': never
// silent zeros, and `read --raw` refuses them without --zero-fill.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FormatError } from '../../src/bytes/errors.js';
import { PT_NOTE } from '../../src/elf/constants.js';
import type { Phdr } from '../../src/elf/layout.js';
import { FileSink } from '../../src/io/sink.js';
import { writeElfCore } from '../../src/sinks/elfcore/write.js';
import { type CoreFile, openCore } from '../../src/sources/elfcore/open.js';
import { CLI, coreshot, tempDir } from '../helpers/proc.js';
import { syntheticImage } from '../helpers/synthetic.js';
import { type TargetCore, targetGcore, targetKernelCore } from './cores.js';

const tmp = tempDir('coreshot-trunc-');
let kernel: TargetCore;
let original: CoreFile;

before(() => {
  kernel = targetKernelCore();
  original = openCore(kernel.core);
});
after(() => {
  original?.close();
  kernel?.cleanup();
  tmp.cleanup();
});

/** A copy of the kernel core cut at `at` bytes. */
function cutAt(at: bigint, name: string): string {
  const path = join(tmp.path, name);
  copyFileSync(kernel.core, path);
  truncateSync(path, Number(at));
  return path;
}

const hexArg = (n: bigint) => `0x${n.toString(16)}`;

/** Checks every segment of a core cut at `cut` against the original. */
function checkSegments(core: CoreFile, cut: bigint): void {
  for (const p of original.loads) {
    if (p.p_filesz === 0n) continue;
    const end = p.p_offset + p.p_filesz;
    if (end <= cut) {
      const len = p.p_filesz < 4096n ? Number(p.p_filesz) : 4096;
      for (const at of [p.p_vaddr, p.p_vaddr + p.p_filesz - BigInt(len)]) {
        const got = core.image.memory.read(at, len);
        assert.deepEqual(got.missing, [], `segment at ${hexArg(p.p_vaddr)} is whole`);
        assert.ok(got.data.equals(original.image.memory.read(at, len).data));
      }
    } else if (p.p_offset >= cut) {
      const got = core.image.memory.read(p.p_vaddr, 64);
      assert.deepEqual(got.missing, [{ start: p.p_vaddr, end: p.p_vaddr + 64n, reason: 'truncated' }]);
    } else {
      const len = Number(p.p_filesz);
      const got = core.image.memory.read(p.p_vaddr, len);
      const present = cut - p.p_offset;
      assert.deepEqual(got.missing, [
        { start: p.p_vaddr + present, end: p.p_vaddr + p.p_filesz, reason: 'truncated' },
      ]);
      const want = original.image.memory.read(p.p_vaddr, len).data;
      assert.ok(got.data.subarray(0, Number(present)).equals(want.subarray(0, Number(present))));
    }
  }
}

function expectedTruncated(cut: bigint): bigint {
  let sum = 0n;
  for (const p of original.loads) {
    const end = p.p_offset + p.p_filesz;
    if (p.p_filesz > 0n && end > cut) sum += end - (p.p_offset > cut ? p.p_offset : cut);
  }
  return sum;
}

describe('a kernel core cut short', () => {
  test('inside segment data: present bytes readable, the rest truncated, info names it', () => {
    const heap = original.loads.find(
      (p) => p.p_vaddr <= kernel.addrs.heap && kernel.addrs.heap < p.p_vaddr + p.p_memsz,
    )!;
    assert.ok(heap.p_filesz > 0x2000n);
    const cut = heap.p_offset + 0x1804n;
    const path = cutAt(cut, 'cut-data');
    const core = openCore(path);
    try {
      assert.equal(core.image.threads.length, original.image.threads.length);
      assert.ok(core.problems.some((p) => /core file is truncated/.test(p.what)));
      checkSegments(core, cut);
    } finally {
      core.close();
    }
    const info = coreshot(['info', path]);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /^truncated\s+\S+ \S+ of segment data lies past the end of the file$/m);
    assert.match(info.stdout, /^problems\s+.*core file is truncated/m);
    const json = JSON.parse(coreshot(['info', '--json', path]).stdout);
    assert.equal(BigInt(json.memory.truncated), expectedTruncated(cut));
    const at = heap.p_vaddr + 0x1800n;
    const dump = coreshot(['read', path, hexArg(at), '16']);
    assert.equal(dump.status, 0, dump.stderr);
    assert.match(dump.stdout, /^0x[0-9a-f]+ {2}([0-9a-f]{2} ){4}\?\? /m);
    assert.match(
      dump.stdout,
      new RegExp(`not available \\(shown as \\?\\?\\): ${hexArg(at + 4n)}-${hexArg(at + 16n)} truncated`),
    );
    const raw = coreshot(['read', '--raw', path, hexArg(at), '16']);
    assert.equal(raw.status, 1);
    assert.match(raw.stderr, /^coreshot: not all of that memory is available: .* truncated \(--zero-fill/);
    assert.equal(coreshot(['threads', '--json', path]).status, 0);
  });

  test('at the start of the last segment with data', () => {
    const last = [...original.loads]
      .filter((p) => p.p_filesz > 0n)
      .sort((a, b) => (a.p_offset < b.p_offset ? 1 : -1))[0]!;
    const path = cutAt(last.p_offset, 'cut-last');
    const core = openCore(path);
    try {
      checkSegments(core, last.p_offset);
    } finally {
      core.close();
    }
  });

  test('inside the notes: complete notes decoded, every segment truncated', () => {
    const note = original.elf.programHeaders.find((p: Phdr) => p.p_type === PT_NOTE)!;
    const cut = note.p_offset + note.p_filesz / 2n;
    const path = cutAt(cut, 'cut-notes');
    const core = openCore(path);
    try {
      assert.ok(core.problems.some((p) => /note segment truncated/.test(p.what)));
      assert.ok(core.notes.length > 0 && core.notes.length < original.notes.length);
      for (const n of core.notes) assert.ok(n.offset + BigInt(n.desc.length) <= cut);
      checkSegments(core, cut);
    } finally {
      core.close();
    }
    for (const cmd of ['info', 'threads', 'maps', 'notes']) {
      const res = coreshot([cmd, path]);
      assert.equal(res.status, 0, `${cmd}: ${res.stderr}`);
    }
    assert.match(coreshot(['info', path]).stdout, /note segment truncated: \d+ of \d+ bytes present/);
  });

  test('inside the program headers or the ELF header: a FormatError, one line from the CLI', () => {
    const { e_phoff } = original.elf.header;
    for (const cut of [e_phoff + 56n * 3n + 5n, 40n, 0n]) {
      const path = cutAt(cut, `cut-${cut}`);
      assert.throws(() => openCore(path), FormatError);
      const res = coreshot(['info', path]);
      assert.equal(res.status, 1);
      assert.match(res.stderr, /^coreshot: malformed input: .+\n$/);
    }
  });
});

describe('a gcore cut short', () => {
  test('gdb puts the notes last: cut, they are gone, and what is present stays readable', async () => {
    const g = await targetGcore();
    try {
      const full = openCore(g.core);
      const note = full.elf.programHeaders.find((p: Phdr) => p.p_type === PT_NOTE)!;
      const heap = full.loads.find((p) => p.p_vaddr <= g.addrs.heap && g.addrs.heap < p.p_vaddr + p.p_memsz)!;
      assert.ok(heap.p_offset + heap.p_filesz < note.p_offset, 'gcore writes the notes after the memory');
      const path = join(tmp.path, 'gcore-cut');
      copyFileSync(g.core, path);
      truncateSync(path, Number(heap.p_offset + heap.p_filesz));
      const core = openCore(path);
      try {
        assert.equal(core.image.threads.length, 0);
        assert.ok(
          core.problems.some((p) => p.what === `note segment truncated: 0 of ${note.p_filesz} bytes present`),
        );
        const r = core.image.memory.read(g.addrs.heap, 20);
        assert.deepEqual(r.missing, []);
        assert.equal(r.data.toString('latin1'), 'CORESHOT-HEAP-MARKER');
      } finally {
        core.close();
        full.close();
      }
      const info = coreshot(['info', path]);
      assert.equal(info.status, 0, info.stderr);
      assert.match(info.stdout, /^threads\s+0$/m);
      assert.match(info.stdout, /note segment truncated: 0 of \d+ bytes present/);
    } finally {
      g.cleanup();
    }
  });
});

describe('bytes a segment does not hold', () => {
  test('a PROT_NONE mapping in a kernel core is not in core: reported, --raw needs --zero-fill', () => {
    const none = original.image.mappings.find((m) => m.start === kernel.addrs.none)!;
    assert.equal(none.dumped, 0n);
    assert.deepEqual(original.image.memory.read(none.start, 8192).missing, [
      { start: none.start, end: none.start + 8192n, reason: 'not-in-core' },
    ]);
    const raw = coreshot(['read', '--raw', kernel.core, hexArg(none.start), '8192']);
    assert.equal(raw.status, 1);
    assert.match(raw.stderr, /not-in-core \(--zero-fill writes zeros there\)\n$/);
    const zero = spawnSync(process.execPath, [
      CLI,
      'read',
      '--raw',
      '--zero-fill',
      kernel.core,
      hexArg(none.start),
      '8192',
    ]);
    assert.equal(zero.status, 0);
    assert.ok(zero.stdout.equals(Buffer.alloc(8192)));
    const dump = coreshot(['read', kernel.core, hexArg(none.start), '32']);
    assert.match(dump.stdout, /^0x[0-9a-f]+ {2}(\?\? ){15}\?\? {2}\| {16}\|$/m);
    assert.match(dump.stdout, /not-in-core/);
  });

  test('p_filesz < p_memsz: the held part reads, the rest is not in core', async () => {
    const path = join(tmp.path, 'partial');
    const image = syntheticImage();
    await writeElfCore(image, new FileSink(path));
    const partial = image.mappings.find((m) => m.dumped > 0n && m.dumped < m.end - m.start)!;
    const core = openCore(path);
    try {
      const at = partial.start + partial.dumped - 16n;
      const r = core.image.memory.read(at, 32);
      assert.deepEqual(r.missing, [{ start: at + 16n, end: at + 32n, reason: 'not-in-core' }]);
      assert.ok(r.data.subarray(0, 16).equals(image.memory.read(at, 16).data));
    } finally {
      core.close();
    }
  });
});
