import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BE, type IntCodec, LE } from '../../src/bytes/endian.js';
import { encodeNote } from '../../src/elf/notes/note.js';
import { ElfFile } from '../../src/elf/reader.js';
import { findDynamicSymbols } from '../../src/elf/symbols.js';
import { FileAccess } from '../../src/io/random-access.js';
import { FileSink } from '../../src/io/sink.js';
import { SplicedAddressSpace } from '../../src/model/address-space.js';
import { type GuestSegment, type VmcoreArch, writeVmcore } from '../../src/sinks/vmcore/write.js';
import { runOk, tempDir } from '../helpers/proc.js';
import { loads, readPhys } from './guest.js';

const HOST = 0x7f0000000000n;

/** Host memory made of one buffer at HOST. */
function hostMemory(buf: Buffer): SplicedAddressSpace {
  return new SplicedAddressSpace([
    [
      {
        start: HOST,
        end: HOST + BigInt(buf.length),
        kind: 'core',
        reader: (off, t) => buf.copy(t, 0, Number(off)),
      },
    ],
  ]);
}

describe('vmcore writer', () => {
  const tmp = tempDir('coreshot-vmcore-');
  after(() => tmp.cleanup());

  async function write(
    name: string,
    arch: VmcoreArch,
    segments: GuestSegment[],
    buf: Buffer,
    vmcoreinfo?: { paddr: bigint; size: number },
  ) {
    const out = join(tmp.path, name);
    const res = await writeVmcore(
      { arch, segments, memory: hostMemory(buf), ...(vmcoreinfo ? { vmcoreinfo } : {}) },
      new FileSink(out),
    );
    return { out, res, header: runOk('eu-readelf', ['-h', out]).stdout };
  }

  test('PN_XNUM: 70000 segments, the count in section 0, every byte in place', async () => {
    const n = 70_000;
    const buf = randomBytes(n * 16);
    const segments = Array.from({ length: n }, (_, i) => ({
      start: BigInt(i) * 0x2000n + 8n,
      size: 16n,
      host: HOST + BigInt(i * 16),
    }));
    const { out, header } = await write('xnum.vmcore', 'x86_64', segments, buf);
    assert.match(header, /Number of program headers entries:\s+65535 \(70001 in \[0\]\.sh_info\)/);
    const segs = loads(out);
    assert.equal(segs.length, n);
    for (const i of [0, 1, 65534, 65535, n - 1]) {
      assert.ok(readPhys(out, segs, BigInt(i) * 0x2000n + 8n, 16).equals(buf.subarray(i * 16, i * 16 + 16)));
    }
  });

  test('386 below 4 GiB is ELFCLASS32, above 4 GiB ELFCLASS64 with EM_386', async () => {
    const buf = randomBytes(8192);
    const low = await write('386.vmcore', '386', [{ start: 0x100000n, size: 8192n, host: HOST }], buf);
    assert.match(low.header, /Class:\s+ELF32/);
    assert.match(low.header, /Machine:\s+Intel 80386/);
    assert.ok(readPhys(low.out, loads(low.out), 0x100000n, 8192).equals(buf));
    const high = await write(
      '386-high.vmcore',
      '386',
      [{ start: 0x100000000n, size: 8192n, host: HOST }],
      buf,
    );
    assert.match(high.header, /Class:\s+ELF64/);
    assert.match(high.header, /Machine:\s+Intel 80386/);
  });

  for (const [arch, machine, codec] of [
    ['s390', /IBM S\/390/, BE],
    ['aarch64-be', /AARCH64/, BE],
    ['ppc64-be', /PowerPC64/, BE],
    ['ppc64-le', /PowerPC64/, LE],
    ['aarch64-le', /AARCH64/, LE],
  ] as [VmcoreArch, RegExp, IntCodec][]) {
    test(`${arch}: byte order, machine, and a VMCOREINFO note in guest byte order`, async () => {
      const text = `OSRELEASE=6.1.0-test-${arch}\nPAGESIZE=4096\n`;
      const note = encodeNote(codec, 'VMCOREINFO', 0, Buffer.from(text));
      const buf = Buffer.alloc(0x10000);
      note.copy(buf, 0x3000);
      const { out, header } = await write(
        `${arch}.vmcore`,
        arch,
        [{ start: 0x40000000n, size: 0x10000n, host: HOST }],
        buf,
        {
          paddr: 0x40003000n,
          size: 4096,
        },
      );
      assert.match(header, new RegExp(`Data:\\s+2's complement, ${codec === BE ? 'big' : 'little'} endian`));
      assert.match(header, machine);
      const notes = runOk('eu-readelf', ['-n', out]).stdout;
      assert.match(notes, /VMCOREINFO/);
      assert.match(notes, new RegExp(`OSRELEASE=6\\.1\\.0-test-${arch}`));
    });
  }

  test('a registered note that is not VMCOREINFO is left out with a warning', async () => {
    const buf = Buffer.alloc(0x10000, 0x41);
    const { out, res } = await write(
      'bad-note.vmcore',
      'x86_64',
      [{ start: 0n, size: 0x10000n, host: HOST }],
      buf,
      { paddr: 0x1000n, size: 4096 },
    );
    assert.equal(res.vmcoreinfo, false);
    assert.match(res.warnings.map((w) => w.what).join('\n'), /not a VMCOREINFO note/);
    assert.doesNotMatch(runOk('eu-readelf', ['-n', out]).stdout, /VMCOREINFO/);
  });

  test('memory the source cannot supply is an error and leaves no file', async () => {
    const out = join(tmp.path, 'missing.vmcore');
    await assert.rejects(
      writeVmcore(
        {
          arch: 'x86_64',
          segments: [{ start: 0n, size: 0x20000n, host: HOST }],
          memory: hostMemory(Buffer.alloc(0x10000, 1)),
        },
        new FileSink(out),
      ),
      /guest memory at 0x10000 .* is not available: unmapped/,
    );
    assert.equal(runOk('ls', [tmp.path]).stdout.includes('missing.vmcore'), false);
  });
});

describe('dynamic symbols', () => {
  const tmp = tempDir('coreshot-dynsym-');
  after(() => tmp.cleanup());
  const qemu = '/usr/bin/qemu-system-x86_64';
  const names = ['ram_list', 'address_space_memory', 'current_machine'];

  function lookup(path: string) {
    const ra = new FileAccess(path);
    try {
      return findDynamicSymbols(ElfFile.open(ra), names);
    } finally {
      ra.close();
    }
  }

  test('.dynsym through the section headers agrees with nm -D', () => {
    const nm = runOk('nm', ['-D', '--defined-only', qemu]).stdout;
    const found = lookup(qemu);
    for (const name of names) {
      const line = nm.split('\n').find((l) => l.endsWith(` ${name}`));
      assert.ok(line, `nm -D lists ${name}`);
      assert.equal(found.get(name)?.value, BigInt(`0x${line.split(' ')[0]}`), name);
    }
  });

  test('without section headers, PT_DYNAMIC finds the same symbols', () => {
    const copy = join(tmp.path, 'qemu-nosections');
    copyFileSync(qemu, copy);
    const elf = (() => {
      const ra = new FileAccess(copy);
      try {
        return ElfFile.open(ra).header;
      } finally {
        ra.close();
      }
    })();
    assert.ok(elf.e_shoff > 0n);
    // Zero e_shoff, e_shnum and e_shstrndx: the file keeps only its program headers.
    const fd = openSync(copy, 'r+');
    writeSync(fd, Buffer.alloc(8), 0, 8, 0x28);
    writeSync(fd, Buffer.alloc(4), 0, 4, 0x3c);
    closeSync(fd);
    const stripped = lookup(copy);
    assert.equal(runOk('eu-readelf', ['-S', copy]).stdout.includes('.dynsym'), false);
    assert.deepEqual(stripped, lookup(qemu));
  });
});
