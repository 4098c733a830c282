import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NT_AUXV, NT_FILE, NT_FPREGSET, NT_PRPSINFO, NT_PRSTATUS } from '../../src/abi/notes.js';
import { decodeRegisters } from '../../src/elf/regs/index.js';
import { FileSink } from '../../src/io/sink.js';
import { writeElfCore } from '../../src/sinks/elfcore/write.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { runOk, tempDir } from '../helpers/proc.js';
import { patternByte, syntheticImage } from '../helpers/synthetic.js';

describe('ELF core writer → reader round trip', () => {
  it('keeps threads, registers, process info, auxv, mappings and memory; notes in kernel order', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'mapped.bin');
      writeFileSync(file, Buffer.concat([Buffer.alloc(4096, 0x11), Buffer.alloc(8192, 0x22)]));
      const image = syntheticImage({ mappedFile: file });
      const out = join(dir.path, 'core');
      const summary = await writeElfCore(image, new FileSink(out));
      assert.equal(statSync(out).size, Number(summary.bytes));
      assert.equal(statSync(out).mode & 0o777, 0o600);
      const core = openCore(out);
      try {
        assert.deepEqual(
          core.notes.map((n) => n.type),
          [NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE, NT_FPREGSET, NT_PRSTATUS, NT_FPREGSET],
        );
        const got = core.image;
        assert.equal(got.threads.length, 2);
        for (const [i, t] of got.threads.entries()) {
          const want = image.threads[i]!;
          assert.equal(t.tid, want.tid);
          assert.deepEqual(t.status, want.status);
          assert.deepEqual(decodeRegisters(got.arch, t.gpRegs), decodeRegisters(image.arch, want.gpRegs));
          assert.deepEqual(t.regsets, want.regsets);
        }
        assert.deepEqual(got.process, image.process);
        assert.deepEqual(got.auxv, image.auxv);
        assert.deepEqual(
          got.mappings.map((m) => [m.start, m.end, m.dumped, m.path ?? null]),
          image.mappings.map((m) => [m.start, m.end, m.dumped, m.path?.startsWith('/') ? m.path : null]),
        );
        const text = got.memory.read(0x400ff0n, 0x20);
        assert.deepEqual(text.missing, []);
        for (let i = 0; i < 0x20; i++) assert.equal(text.data[i], patternByte(0x400ff0n + BigInt(i)));
        const partial = got.memory.read(0x600ff8n, 16);
        assert.deepEqual(partial.missing, [{ start: 0x601000n, end: 0x601008n, reason: 'not-in-core' }]);
        const fromFile = got.memory.read(0x900000n, 4);
        assert.deepEqual(fromFile.missing, []);
        assert.deepEqual(
          [...fromFile.data],
          [0x22, 0x22, 0x22, 0x22],
          'file-backed page read at its file offset',
        );
      } finally {
        core.close();
      }
      // Zero mappings become holes: the 1 MiB zero mapping takes no blocks.
      assert.ok(statSync(out).blocks * 512 < 256 * 1024, 'zero pages are holes');
      const eu = runOk('eu-readelf', ['-n', out]);
      assert.match(eu.stdout, /PRSTATUS/);
      assert.match(eu.stdout, /fname: synthetic/);
      const re = runOk('readelf', ['-lW', out]);
      assert.doesNotMatch(re.stderr, /warning|error/i);
    } finally {
      dir.cleanup();
    }
  });

  it('writes PN_XNUM cores beyond 65,534 segments that readelf and the reader accept', async () => {
    const dir = tempDir();
    try {
      const image = syntheticImage({ extraMappings: 70000 });
      const out = join(dir.path, 'core');
      const summary = await writeElfCore(image, new FileSink(out));
      assert.equal(summary.segments, image.mappings.length + 1);
      const re = runOk('readelf', ['-hW', out]);
      assert.match(re.stdout, /Number of program headers:\s+65535 \(70004\)/);
      const core = openCore(out);
      try {
        assert.equal(core.loads.length, 70003);
        const last = image.mappings[image.mappings.length - 1]!;
        const r = core.image.memory.read(last.start, 8);
        assert.deepEqual(r.missing, []);
        assert.equal(r.data[7], patternByte(last.start + 7n));
      } finally {
        core.close();
      }
    } finally {
      dir.cleanup();
    }
  });

  it('leaves no file when aborted midway', async () => {
    const dir = tempDir();
    try {
      const controller = new AbortController();
      const image = syntheticImage({ extraMappings: 2000 });
      const promise = writeElfCore(image, new FileSink(join(dir.path, 'core')), {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytesDone > 0n) controller.abort(new Error('stop'));
        },
      });
      await assert.rejects(promise, /stop/);
      assert.deepEqual(readdirSync(dir.path), []);
    } finally {
      dir.cleanup();
    }
  });
});
