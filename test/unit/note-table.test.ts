// The note table (src/elf/notes/table.ts): names as eu-readelf prints them, where the reader puts
// each note, and the writers' order of a thread's register sets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as NT from '../../src/abi/notes.js';
import { layoutFor } from '../../src/elf/layout.js';
import { buildCoreNotes, collectCoreNotes } from '../../src/elf/notes/core-notes.js';
import { parseNotes } from '../../src/elf/notes/note.js';
import { noteTypeName, placeOf } from '../../src/elf/notes/table.js';
import { syntheticImage } from '../helpers/synthetic.js';

const layout = layoutFor(64, 'le');

describe('note names', () => {
  test('eu-readelf names by owner and type, a hex number otherwise', () => {
    assert.equal(noteTypeName('CORE', NT.NT_PRSTATUS), 'PRSTATUS');
    assert.equal(noteTypeName('CORE', NT.NT_FILE), 'FILE');
    assert.equal(noteTypeName('LINUX', NT.NT_X86_XSTATE), 'X86_XSTATE');
    assert.equal(noteTypeName('LINUX', NT.NT_ARM_TAGGED_ADDR_CTRL), 'ARM_TAGGED_ADDR_CTRL');
    assert.equal(noteTypeName('GNU', NT.NT_GNU_BUILD_ID), 'GNU_BUILD_ID');
    assert.equal(noteTypeName('GDB', NT.NT_GDB_TDESC), 'GDB_TDESC');
    // eu-readelf names a CORE note carrying a LINUX number by the LINUX name.
    assert.equal(noteTypeName('CORE', NT.NT_ARM_VFP), 'ARM_VFP');
    // Every type of the QEMU and VMCOREINFO owners.
    assert.equal(noteTypeName('QEMU', 0), 'QEMU_CPU_STATE');
    assert.equal(noteTypeName('VMCOREINFO', 0), 'VMCOREINFO');
    assert.equal(noteTypeName('LINUX', NT.NT_PRSTATUS), '0x1');
    assert.equal(noteTypeName('GNU', 5), '0x5');
  });
});

describe('where the reader puts a note', () => {
  test('places', () => {
    assert.equal(placeOf('CORE', NT.NT_PRSTATUS), 'thread');
    for (const t of [NT.NT_PRPSINFO, NT.NT_SIGINFO, NT.NT_AUXV, NT.NT_FILE])
      assert.equal(placeOf('CORE', t), 'process');
    assert.equal(placeOf('CORE', NT.NT_FPREGSET), 'regset');
    assert.equal(placeOf('CORE', NT.NT_PRXFPREG), 'regset');
    assert.equal(placeOf('LINUX', NT.NT_X86_XSTATE), 'regset');
    // A LINUX type the table does not know is still a register set; an unknown CORE type is carried.
    assert.equal(placeOf('LINUX', 0x40c), 'regset');
    assert.equal(placeOf('CORE', 0x7777), 'carried');
    assert.equal(placeOf('CORE', NT.NT_TASKSTRUCT), 'carried');
    assert.equal(placeOf('GNU', NT.NT_GNU_BUILD_ID), 'carried');
  });

  test('the synthetic image read back from its notes: threads, process, auxv, register sets', () => {
    const image = syntheticImage({ mappedFile: '/lib/x.so' });
    const ctx = { arch: image.arch, layout };
    const notes = parseNotes(buildCoreNotes(ctx, image), layout.codec, 0n);
    const got = collectCoreNotes(ctx, notes);
    assert.deepEqual(
      got.threads.map((t) => t.tid),
      image.threads.map((t) => t.tid),
    );
    assert.deepEqual(got.process, image.process);
    assert.deepEqual(got.auxv, image.auxv);
    assert.deepEqual(
      got.files?.map((f) => f.path),
      ['/lib/x.so'],
    );
    assert.deepEqual(got.threads[0]?.regsets, image.threads[0]?.regsets);
    assert.deepEqual(got.extraNotes, []);
  });

  test('a second PRPSINFO and a SIGINFO before any thread are carried, not dropped', () => {
    const image = syntheticImage();
    const ctx = { arch: image.arch, layout };
    const notes = parseNotes(buildCoreNotes(ctx, image), layout.codec, 0n);
    const psinfo = notes.find((n) => n.type === NT.NT_PRPSINFO)!;
    const si = { owner: 'CORE', type: NT.NT_SIGINFO, desc: Buffer.alloc(128), offset: 0n };
    const got = collectCoreNotes(ctx, [si, ...notes, psinfo]);
    assert.deepEqual(
      got.extraNotes.map((n) => n.type),
      [NT.NT_SIGINFO, NT.NT_PRPSINFO],
    );
  });
});

describe("the writers' order", () => {
  const names = (b: Buffer) => parseNotes(b, layout.codec, 0n).map((n) => noteTypeName(n.owner, n.type));

  test('kernel order: PRSTATUS, process notes, then register sets by the table, whatever their order in the image', () => {
    const image = syntheticImage();
    const [t0, t1] = image.threads;
    const xstate = { owner: 'LINUX', type: NT.NT_X86_XSTATE, data: Buffer.alloc(832) };
    t0!.regsets = [xstate, ...t0!.regsets];
    t0!.siginfo = Buffer.alloc(128);
    assert.deepEqual(names(buildCoreNotes({ arch: image.arch, layout }, image)), [
      'PRSTATUS',
      'PRPSINFO',
      'SIGINFO',
      'AUXV',
      'FPREGSET',
      'X86_XSTATE',
      'PRSTATUS',
      ...t1!.regsets.map(() => 'FPREGSET'),
    ]);
  });

  test('a register set of a type without a row stays after the one it followed', () => {
    const image = syntheticImage();
    const t0 = image.threads[0]!;
    const unknown = { owner: 'LINUX', type: 0x40c, data: Buffer.alloc(8) };
    const xstate = { owner: 'LINUX', type: NT.NT_X86_XSTATE, data: Buffer.alloc(832) };
    t0.regsets = [xstate, unknown, ...t0.regsets];
    const got = names(buildCoreNotes({ arch: image.arch, layout }, image));
    assert.deepEqual(got.slice(0, 7), [
      'PRSTATUS',
      'PRPSINFO',
      'AUXV',
      'FPREGSET',
      'X86_XSTATE',
      '0x40c',
      'PRSTATUS',
    ]);
  });
});
