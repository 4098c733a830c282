// Note padding follows the PT_NOTE segment's p_align (4 or 8) whether the segment is whole or cut
// short by the end of the file (src/elf/reader.ts, parseNotes in src/elf/notes/note.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PT_NOTE } from '../../src/elf/constants.js';
import { coreHeadSize, encodeCoreHead } from '../../src/elf/core-head.js';
import { layoutFor, type Phdr } from '../../src/elf/layout.js';
import { ElfFile } from '../../src/elf/reader.js';
import { BufferAccess } from '../../src/io/random-access.js';

const layout = layoutFor(64, 'le');
const EM_X86_64 = 62;

/** A note padded to `align` from its start: "LINUX\0" is 6 bytes, so 4- and 8-padding differ. */
function note(owner: string, type: number, desc: Buffer, align: number): Buffer {
  const pad = (n: number) => Math.ceil(n / align) * align;
  const name = Buffer.from(`${owner}\0`, 'latin1');
  const descAt = pad(12 + name.length);
  const out = Buffer.alloc(pad(descAt + desc.length));
  layout.codec.put32(out, 0, name.length);
  layout.codec.put32(out, 4, desc.length);
  layout.codec.put32(out, 8, type);
  name.copy(out, 12);
  desc.copy(out, descAt);
  return out;
}

/** An ELF core holding one PT_NOTE segment of `notes` with p_align `align`, cut to `keep` bytes of it. */
function coreWith(notes: Buffer, align: bigint, keep = notes.length): Buffer {
  const off = coreHeadSize(layout, 1);
  const phdr: Phdr = {
    p_type: PT_NOTE,
    p_flags: 0,
    p_offset: off,
    p_vaddr: 0n,
    p_paddr: 0n,
    p_filesz: BigInt(notes.length),
    p_memsz: 0n,
    p_align: align,
  };
  return Buffer.concat([encodeCoreHead(layout, EM_X86_64, [phdr]), notes.subarray(0, keep)]);
}

const first = Buffer.from('0123456789ab');
const second = Buffer.from('second descriptor');

for (const align of [4, 8] as const) {
  describe(`p_align ${align}`, () => {
    const notes = Buffer.concat([note('LINUX', 0x202, first, align), note('CORE', 1, second, align)]);

    test('a whole segment', () => {
      const elf = ElfFile.open(new BufferAccess(coreWith(notes, BigInt(align))));
      const got = elf.notes();
      assert.deepEqual(
        got.map((n) => [n.owner, n.type, n.desc.toString()]),
        [
          ['LINUX', 0x202, first.toString()],
          ['CORE', 1, second.toString()],
        ],
      );
      assert.deepEqual(elf.problems, []);
    });

    test('a segment cut inside its second note keeps the first, padded the same way', () => {
      const keep = note('LINUX', 0x202, first, align).length + 20;
      const elf = ElfFile.open(new BufferAccess(coreWith(notes, BigInt(align), keep)));
      const got = elf.notes();
      assert.deepEqual(
        got.map((n) => [n.owner, n.type, n.desc.toString()]),
        [['LINUX', 0x202, first.toString()]],
      );
      assert.match(
        elf.problems[0]?.what ?? '',
        new RegExp(`note segment truncated: ${keep} of ${notes.length}`),
      );
    });
  });
}
