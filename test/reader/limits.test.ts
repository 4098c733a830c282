// Untrusted counts and sizes in headers are checked before anything is allocated or read: on a
// large (virtual) file, absurd program-header counts, many PT_NOTE headers naming the same bytes
// note segments of empty notes and NT_FILE notes with millions of entries end in a FormatError,
// not in gigabytes of reads or objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NT_X86_XSAVE_LAYOUT } from '../../src/abi/notes.js';
import { FormatError } from '../../src/bytes/errors.js';
import { EM_X86_64, ET_CORE, EV_CURRENT, PN_XNUM, PT_NOTE, SHT_NULL } from '../../src/elf/constants.js';
import { layoutFor, type Phdr } from '../../src/elf/layout.js';
import { decodeAuxv } from '../../src/elf/notes/auxv.js';
import { describeNote } from '../../src/elf/notes/describe.js';
import { decodeNtFile } from '../../src/elf/notes/file.js';
import type { RandomAccess } from '../../src/io/random-access.js';
import { ARCHES } from '../../src/model/process-image.js';
import { readCore } from '../../src/sources/elfcore/open.js';

const layout = layoutFor(64, 'le');
/** Reads longer than this mean a size from the file was trusted. */
const MAX_READ = 64 << 20;

/** A file of `size` bytes: `head` at its start, zeros after; it refuses huge reads. */
class VirtualFile implements RandomAccess {
  readonly size: bigint;
  private readonly head: Buffer;
  largest = 0;
  constructor(head: Buffer, size: bigint) {
    this.head = head;
    this.size = size;
  }
  read(offset: bigint, length: number): Buffer {
    const buf = Buffer.alloc(Math.min(length, Number(this.size - offset < 0n ? 0n : this.size - offset)));
    this.readInto(offset, buf);
    return buf;
  }
  readInto(offset: bigint, target: Buffer): number {
    this.largest = Math.max(this.largest, target.length);
    if (target.length > MAX_READ) throw new Error(`a read of ${target.length} bytes`);
    target.fill(0);
    if (offset < BigInt(this.head.length)) this.head.copy(target, 0, Number(offset));
    return target.length;
  }
  close(): void {}
}

function header(phnum: number, shoff = 0n): Buffer {
  return layout.encodeEhdr({
    osabi: 0,
    e_type: ET_CORE,
    e_machine: EM_X86_64,
    e_version: EV_CURRENT,
    e_entry: 0n,
    e_phoff: 64n,
    e_shoff: shoff,
    e_flags: 0,
    e_ehsize: layout.ehdrSize,
    e_phentsize: layout.phdrSize,
    e_phnum: phnum,
    e_shentsize: layout.shdrSize,
    e_shnum: shoff ? 1 : 0,
    e_shstrndx: 0,
  });
}

const note = (offset: bigint, size: bigint): Phdr => ({
  p_type: PT_NOTE,
  p_flags: 0,
  p_offset: offset,
  p_vaddr: 0n,
  p_paddr: 0n,
  p_filesz: size,
  p_memsz: 0n,
  p_align: 4n,
});

const TEN_GIB = 10n << 30n;

describe('limits on untrusted sizes', () => {
  test('PN_XNUM with 3 million program headers in a 10 GiB file', () => {
    const shdr = layout.encodeShdr({
      sh_name: 0,
      sh_type: SHT_NULL,
      sh_flags: 0n,
      sh_addr: 0n,
      sh_offset: 0n,
      sh_size: 1n,
      sh_link: 0,
      sh_info: 3_000_000,
      sh_addralign: 0n,
      sh_entsize: 0n,
    });
    const file = new VirtualFile(Buffer.concat([header(PN_XNUM, 64n), shdr]), TEN_GIB);
    assert.throws(
      () => readCore('x', file),
      (e) => e instanceof FormatError && /many program headers/.test(e.message),
    );
  });

  test('a thousand PT_NOTE headers naming the same 1 MiB', () => {
    const phdrs = Array.from({ length: 1000 }, () => layout.encodePhdr(note(1n << 20n, 1n << 20n)));
    const head = Buffer.concat([header(1000), ...phdrs]);
    // One note filling the megabyte: owner "CORE", an unknown type.
    const one = Buffer.alloc(12 + 8);
    one.writeUInt32LE(5, 0);
    one.writeUInt32LE((1 << 20) - 20, 4);
    one.writeUInt32LE(0x1234, 8);
    one.write('CORE', 12, 'latin1');
    const file = new VirtualFile(Buffer.concat([head, Buffer.alloc((1 << 20) - head.length), one]), TEN_GIB);
    assert.throws(
      () => readCore('x', file),
      (e) => e instanceof FormatError && /PT_NOTE segments are implausibly large/.test(e.message),
    );
  });

  test('a note segment of 8 MiB of empty notes', () => {
    const file = new VirtualFile(
      Buffer.concat([header(1), layout.encodePhdr(note(4096n, 8n << 20n))]),
      TEN_GIB,
    );
    assert.throws(
      () => readCore('x', file),
      (e) => e instanceof FormatError && /implausibly many notes/.test(e.message),
    );
    assert.ok(file.largest <= 8 << 20);
  });

  test('an NT_FILE note with 1.1 million entries', () => {
    const count = (1 << 20) + 50_000;
    const desc = Buffer.alloc(16 + count * 24 + count * 2);
    desc.writeBigUInt64LE(BigInt(count), 0);
    desc.writeBigUInt64LE(4096n, 8);
    desc.fill('a\0', 16 + count * 24);
    assert.throws(
      () => decodeNtFile(layout, desc, 0n),
      (e) => e instanceof FormatError && /implausibly many NT_FILE entries/.test(e.message),
    );
  });

  test('NT_AUXV and NT_X86_XSAVE_LAYOUT of 64 MiB are refused, not decoded into millions of objects', () => {
    const big = Buffer.alloc(64 << 20, 1);
    assert.throws(
      () => decodeAuxv(layout, big, 0n),
      (e) => e instanceof FormatError && /NT_AUXV is implausibly large/.test(e.message),
    );
    const described = describeNote(ARCHES.x86_64, layout, {
      owner: 'LINUX',
      type: NT_X86_XSAVE_LAYOUT,
      desc: big,
      offset: 0n,
    });
    assert.match((described.decoded as { error: string }).error, /implausibly large/);
  });
});
