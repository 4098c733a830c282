// Adding a note type is one row: a row defined here, through the same defineNote the built-in
// rows use, alone makes the core reader put the note in a thread's register sets, writeElfCore
// emit it in the row's place in the order, and `coreshot notes` print its decoded fields.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NT_FPREGSET, NT_X86_XSTATE } from '../../src/abi/notes.js';
import { notes } from '../../src/cli/views/inspect.js';
import { archContext, decodeStruct, encodeStruct, type StructDef } from '../../src/elf/notes/fields.js';
import { defineNote, noteRow, noteTypeName } from '../../src/elf/notes/table.js';
import { FileSink } from '../../src/io/sink.js';
import type { ProcessImage } from '../../src/model/process-image.js';
import { writeElfCore } from '../../src/sinks/elfcore/write.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { tempDir } from '../helpers/proc.js';
import { syntheticImage } from '../helpers/synthetic.js';

/** A made-up CORE register set: a control word and flags. */
const NT_TEST_CTRL = 0x7e57;
const TEST_CTRL: StructDef = {
  name: 'NT_TEST_CTRL',
  fields: [
    { name: 'ctrl', kind: 'u64' },
    { name: 'flags', kind: 'u32' },
  ],
};

const tmp = tempDir('coreshot-note-row-');
after(() => tmp.cleanup());

/** The synthetic image with, on its first thread, XSTATE, the test set and FPREGSET in that order. */
function image(): ProcessImage {
  const img = syntheticImage();
  const t0 = img.threads[0]!;
  const ctrl = encodeStruct(TEST_CTRL, archContext(img.arch), { ctrl: 0xc0ffeen, flags: 5 });
  t0.regsets = [
    { owner: 'LINUX', type: NT_X86_XSTATE, data: Buffer.alloc(832, 1) },
    { owner: 'CORE', type: NT_TEST_CTRL, data: ctrl },
    ...t0.regsets,
  ];
  return img;
}

async function written(name: string): Promise<string> {
  const path = join(tmp.path, name);
  await writeElfCore(image(), new FileSink(path));
  return path;
}

/** What `coreshot notes PATH` prints. */
async function notesOutput(path: string): Promise<string> {
  const write = process.stdout.write;
  let text = '';
  process.stdout.write = ((chunk: string) => {
    text += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await notes(path, {});
  } finally {
    process.stdout.write = write;
  }
  return text;
}

function thread0Notes(path: string): string[] {
  const core = openCore(path);
  try {
    const order = core.notes.map((n) => noteTypeName(n.owner, n.type));
    return order.slice(0, order.indexOf('PRSTATUS', 1));
  } finally {
    core.close();
  }
}

test('without its row the note is carried, written after what it followed, shown raw', async () => {
  const path = await written('before.core');
  assert.deepEqual(thread0Notes(path), ['PRSTATUS', 'PRPSINFO', 'AUXV', 'FPREGSET', 'X86_XSTATE', '0x7e57']);
  const core = openCore(path);
  try {
    assert.ok(!core.image.threads[0]!.regsets.some((r) => r.type === NT_TEST_CTRL));
    assert.deepEqual(
      core.image.extraNotes.map((n) => n.type),
      [NT_TEST_CTRL],
    );
  } finally {
    core.close();
  }
  assert.match(
    await notesOutput(path),
    /\nCORE 0x7e57 {2}type 0x7e57 {2}size 16 {2}at 0x[0-9a-f]+\nCORE PRSTATUS/,
  );
});

test("its row alone: read into the thread, written in the row's order, printed field by field", async () => {
  defineNote(
    {
      owner: 'CORE',
      type: NT_TEST_CTRL,
      name: 'TEST_CTRL',
      place: 'regset',
      show: (ctx, desc, base) => decodeStruct(TEST_CTRL, archContext(ctx.arch), desc, base, ctx.arch.name),
    },
    noteRow('CORE', NT_FPREGSET),
  );
  const path = await written('after.core');
  assert.deepEqual(thread0Notes(path), [
    'PRSTATUS',
    'PRPSINFO',
    'AUXV',
    'FPREGSET',
    'TEST_CTRL',
    'X86_XSTATE',
  ]);
  const core = openCore(path);
  try {
    const regsets = core.image.threads[0]!.regsets;
    assert.deepEqual(
      regsets.map((r) => r.type),
      [NT_FPREGSET, NT_TEST_CTRL, NT_X86_XSTATE],
    );
    assert.deepEqual(decodeStruct(TEST_CTRL, archContext(core.image.arch), regsets[1]!.data, 0n, 'x86_64'), {
      ctrl: 0xc0ffeen,
      flags: 5,
    });
    assert.deepEqual(core.image.extraNotes, []);
  } finally {
    core.close();
  }
  assert.match(
    await notesOutput(path),
    /\nCORE TEST_CTRL {2}type 0x[0-9a-f]+ {2}size 16 {2}at 0x[0-9a-f]+\n {4}ctrl: 0xc0ffee\n {4}flags: 5\nLINUX X86_XSTATE/,
  );
});
