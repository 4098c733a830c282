// pr_psargs from a raw argv area, the way the kernel's fill_psinfo() builds it: at most
// ELF_PRARGSZ - 1 bytes, NULs between arguments turned into spaces, the final NUL(s) dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePrPsInfo, ELF_PRARGSZ, encodePrPsInfo, psargsFromArgv } from '../../src/elf/notes/prpsinfo.js';
import { ARCHES, type ProcessInfo } from '../../src/model/process-image.js';

const INFO: ProcessInfo = {
  pid: 1,
  ppid: 0,
  pgrp: 1,
  sid: 1,
  uid: 0,
  gid: 0,
  state: 0,
  sname: 'R',
  zomb: 0,
  nice: 0,
  flag: 0n,
  comm: 'x',
  psargs: '',
};
/** pr_psargs as NT_PRPSINFO stores it: the last ELF_PRARGSZ bytes of the x86_64 struct. */
function psargsBytes(text: string): Buffer {
  const b = encodePrPsInfo(ARCHES.x86_64, { ...INFO, psargs: text });
  assert.equal(decodePrPsInfo(ARCHES.x86_64, b, 0n).psargs, text);
  return b.subarray(b.length - ELF_PRARGSZ);
}

const argv = (...args: string[]) => Buffer.from(args.map((a) => `${a}\0`).join(''), 'utf8');

test('arguments are joined by spaces, with no trailing space for the last NUL', () => {
  assert.equal(psargsFromArgv(argv('./target', 'crash', '--flag')), './target crash --flag');
  assert.equal(psargsFromArgv(argv('sleep')), 'sleep');
  assert.equal(psargsFromArgv(Buffer.alloc(0)), '');
});

test('empty arguments stay as spaces between the others', () => {
  assert.equal(psargsFromArgv(argv('a', '', 'b')), 'a  b');
});

test('a long command line is cut at ELF_PRARGSZ - 1 bytes', () => {
  assert.equal(ELF_PRARGSZ, 80);
  const long = argv('x'.repeat(50), 'y'.repeat(50));
  const text = psargsFromArgv(long);
  assert.equal(text, `${'x'.repeat(50)} ${'y'.repeat(28)}`);
  assert.equal(Buffer.byteLength(text), 79);
  const bytes = psargsBytes(text);
  assert.equal(bytes.length, 80);
  assert.equal(bytes[79], 0, 'pr_psargs keeps its terminating NUL');
});

test('a cut inside a UTF-8 character moves back to the character start', () => {
  // 78 ASCII bytes, then "é" (2 bytes): byte 79 would split it.
  const raw = Buffer.from(`${'a'.repeat(78)}é tail\0`, 'utf8');
  const text = psargsFromArgv(raw);
  assert.equal(text, 'a'.repeat(78));
  assert.ok(!text.includes('\ufffd'), 'no replacement character');
  // The text encodes back to exactly the bytes the kernel would store, never more than fit.
  assert.deepEqual(psargsBytes(text).subarray(0, 78), raw.subarray(0, 78));
  const exact = Buffer.from(`${'a'.repeat(77)}é\0`, 'utf8');
  assert.equal(psargsFromArgv(exact), `${'a'.repeat(77)}é`);
});

test('a cut that lands on an argument boundary drops the NUL, not a character', () => {
  const raw = argv('b'.repeat(79), 'next');
  assert.equal(psargsFromArgv(raw), 'b'.repeat(79));
});
