// A core of an architecture coreshot has no register table for still opens: a real kernel core
// with e_machine patched to EM_MIPS (a copy), and a big-endian MIPS64 core written by coreshot.
// info, maps, notes and read work; threads says why it names no registers.
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileSink } from '../../src/io/sink.js';
import { writeElfCore } from '../../src/sinks/elfcore/write.js';
import { kernelCore, type MadeCore, X86_REGS } from '../helpers/cores.js';
import { coreshot, tempDir } from '../helpers/proc.js';
import { syntheticImage } from '../helpers/synthetic.js';

const EM_MIPS = 8;
/** e_machine: a 16-bit field at offset 18 of every ELF header. */
const E_MACHINE = 18;

let made: MadeCore;
let mips: string;
let mips64: string;
let x86: string;
const tmp = tempDir('coreshot-unknown-arch-');

before(async () => {
  made = kernelCore();
  mips = join(tmp.path, 'mips.core');
  copyFileSync(made.core, mips);
  const fd = openSync(mips, 'r+');
  const m = Buffer.alloc(2);
  m.writeUInt16LE(EM_MIPS);
  writeSync(fd, m, 0, 2, E_MACHINE);
  closeSync(fd);
  mips64 = join(tmp.path, 'mips64.core');
  x86 = join(tmp.path, 'x86.core');
  const image = syntheticImage();
  await writeElfCore(image, new FileSink(x86));
  image.arch = { name: 'unknown', machine: EM_MIPS, elfClass: 64, endian: 'be' };
  await writeElfCore(image, new FileSink(mips64));
});
after(() => {
  made?.cleanup();
  tmp.cleanup();
});

function ok(args: string[]): string {
  const res = coreshot(args);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stderr, '');
  return res.stdout;
}

describe('a kernel core patched to e_machine EM_MIPS', () => {
  test('info: the same facts as the original, the architecture by its number', () => {
    const orig = JSON.parse(ok(['info', '--json', made.core]));
    const got = JSON.parse(ok(['info', '--json', mips]));
    assert.equal(got.arch, `unknown (e_machine ${EM_MIPS})`);
    for (const k of ['pid', 'threads', 'mappings', 'signal', 'executable', 'memory', 'problems'])
      assert.deepEqual(got[k], orig[k], k);
    assert.match(ok(['info', mips]), /ELF64 little-endian unknown \(e_machine 8\)/);
  });

  test('maps and read: identical to the original (but for labels that need the arch: thread stacks, [vsyscall])', () => {
    const withoutArchLabels = (text: string) => text.replace(/\s+\[(stack:\d+|vsyscall)\]$/gm, '');
    assert.equal(ok(['maps', mips]), withoutArchLabels(ok(['maps', made.core])));
    assert.match(ok(['maps', made.core]), /\[stack:\d+\]$/m);
    const maps = JSON.parse(ok(['maps', '--json', made.core])).mappings as {
      start: string;
      inCore: number;
    }[];
    const held = maps.find((m) => m.inCore > 0)!;
    const args = (core: string) => ['read', '--json', core, held.start, '256'];
    assert.equal(ok(args(mips)), ok(args(made.core)));
  });

  test('notes: every note listed, PRSTATUS with its fields and pr_reg raw', () => {
    const heads = (text: string) => text.split('\n').filter((l) => /^[A-Z]+ /.test(l));
    const got = ok(['notes', mips]);
    assert.deepEqual(heads(got), heads(ok(['notes', made.core])));
    const j = JSON.parse(ok(['notes', '--json', mips]));
    const prstatus = j.notes.filter((n: { typeName: string }) => n.typeName === 'PRSTATUS');
    assert.equal(prstatus.length, 1 + X86_REGS.x86_64.workers);
    assert.equal(prstatus[0].decoded.signal, 'SIGSEGV');
    // The x86_64 pr_reg: 27 registers of 8 bytes.
    assert.equal(prstatus[0].decoded.pr_reg.length, 27 * 8 * 2);
    assert.equal(prstatus[0].decoded.registers, undefined);
  });

  test('threads: every thread, and why there are no register names', () => {
    const orig = JSON.parse(ok(['threads', '--json', made.core]));
    const got = JSON.parse(ok(['threads', '--json', mips]));
    assert.deepEqual(
      got.threads.map((t: { tid: number }) => t.tid),
      orig.threads.map((t: { tid: number }) => t.tid),
    );
    assert.match(got.registerNames, /no register table for unknown \(e_machine 8\)/);
    assert.deepEqual(got.threads[0].registers, {});
    const text = ok(['threads', mips]);
    assert.match(text, /^no register names: coreshot has no register table for unknown \(e_machine 8\)/);
    assert.match(text, /\nthread 1 {2}tid \d+ {2}SIGSEGV\n/);
  });
});

describe('a big-endian MIPS64 core written by coreshot', () => {
  test('info, maps, notes, threads and read (maps and memory as in the same image written for x86_64)', () => {
    const info = JSON.parse(ok(['info', '--json', mips64]));
    assert.equal(info.arch, `unknown (e_machine ${EM_MIPS})`);
    assert.equal(info.format, 'ELF64 big-endian');
    assert.equal(info.pid, 4242);
    assert.equal(info.threads, 2);
    assert.equal(info.command, '/usr/bin/synthetic --flag value');
    assert.equal(ok(['maps', mips64]), ok(['maps', x86]));
    const notes = JSON.parse(ok(['notes', '--json', mips64])).notes;
    assert.equal(notes[0].decoded.pid, 4242);
    assert.equal(notes[1].decoded.comm, 'synthetic');
    const threads = JSON.parse(ok(['threads', '--json', mips64]));
    assert.deepEqual(
      threads.threads.map((t: { tid: number }) => t.tid),
      [4242, 4243],
    );
    const read = (core: string) => ok(['read', core, '0x600ff0', '48']);
    assert.equal(read(mips64), read(x86));
  });
});
