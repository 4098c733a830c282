// Fuzz worker (run by cores.test.ts in a child process, so a hang or a runaway allocation can
// be caught from outside). Mutates real cores with a seeded PRNG and checks that each case ends
// in a FormatError or a successful open + reads. Protocol (IPC): receives one FuzzJob, sends
// {type:'case', seed} before each case, {type:'fail', seed, error} on a bad outcome and
// {type:'done', ...} at the end.

import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NT_AUXV, NT_FILE } from '../../src/abi/notes.js';
import { FormatError } from '../../src/bytes/errors.js';
import { UserError } from '../../src/cli/errors.js';
import { toJson } from '../../src/cli/json.js';
import * as views from '../../src/cli/views/inspect.js';
import { PT_NOTE } from '../../src/elf/constants.js';
import { describeNote } from '../../src/elf/notes/describe.js';
import { decodeSigInfo } from '../../src/elf/notes/siginfo.js';
import { decodeRegisters } from '../../src/elf/regs/index.js';
import { FileAccess, type RandomAccess } from '../../src/io/random-access.js';
import { type CoreFile, openCore, readCore } from '../../src/sources/elfcore/open.js';
import { type FuzzBudget, fuzzSeeds, prng } from '../helpers/prng.js';

export interface FuzzJob extends FuzzBudget {
  cores: string[];
  /** A single case takes at most this long. */
  caseMs: number;
  /** Resident set size the worker may never exceed. */
  maxRssBytes: number;
  /** A directory for cases run through the CLI views; none: views are not run. */
  viewsDir?: string;
}

export type FuzzMessage =
  | { type: 'case'; seed: number }
  | { type: 'fail'; seed: number; error: string }
  | { type: 'done'; cases: number; opened: number; formatErrors: number; viewed: number; peakRss: number };

/** A read request longer than this (beyond the file size) means a size was trusted blindly. */
const MAX_SANE_READ = 1 << 20;

class RunawayRead extends Error {}

/** The base core's bytes with a mutated head, cut at `size`. */
class OverlayAccess implements RandomAccess {
  readonly size: bigint;
  private readonly head: Buffer;
  private readonly base: RandomAccess;
  constructor(head: Buffer, base: RandomAccess, size: bigint) {
    this.head = head;
    this.base = base;
    this.size = size;
  }
  read(offset: bigint, length: number): Buffer {
    if (length > MAX_SANE_READ && BigInt(length) > this.size)
      throw new RunawayRead(`read of ${length} bytes from a ${this.size}-byte file at ${offset}`);
    const avail =
      offset >= this.size
        ? 0
        : Number(this.size - offset < BigInt(length) ? this.size - offset : BigInt(length));
    const buf = Buffer.alloc(avail);
    this.readInto(offset, buf);
    return buf;
  }
  readInto(offset: bigint, target: Buffer): number {
    if (offset >= this.size) return 0;
    const n = Number(this.size - offset < BigInt(target.length) ? this.size - offset : BigInt(target.length));
    const t = target.subarray(0, n);
    const headLen = BigInt(this.head.length);
    if (offset < headLen) {
      const k = this.head.copy(t, 0, Number(offset));
      if (k < n) this.base.readInto(headLen, t.subarray(k));
    } else this.base.readInto(offset, t);
    return n;
  }
  close(): void {}
}

interface Target {
  name: string;
  offset: number;
  size: 1 | 2 | 4 | 8;
}

interface Base {
  path: string;
  ra: FileAccess;
  head: Buffer;
  wordSize: 4 | 8;
  /** Fields worth setting to absurd values. */
  fields: Target[];
  /** [start, end) of every note descriptor, for in-note mutations. */
  noteBodies: Array<{ type: number; owner: string; start: number; end: number }>;
}

function loadBase(path: string): Base {
  const core = openCore(path, { useFiles: false });
  const { layout, header } = core.elf;
  const w = layout.wordSize as 4 | 8;
  const ra = new FileAccess(path);
  let headEnd = Number(header.e_phoff) + core.elf.programHeaders.length * layout.phdrSize;
  if (header.e_shoff > 0n) headEnd = Math.max(headEnd, Number(header.e_shoff) + layout.shdrSize * 2);
  const notes = core.elf.programHeaders.filter((p) => p.p_type === PT_NOTE);
  for (const p of notes) headEnd = Math.max(headEnd, Number(p.p_offset + p.p_filesz));
  const head = ra.read(0n, headEnd + 64);
  // ELF header fields (offsets of the 64- or 32-bit Ehdr).
  const e =
    w === 8
      ? { phoff: 32, shoff: 40, phentsize: 54, phnum: 56, shentsize: 58, shnum: 60, shstrndx: 62 }
      : { phoff: 28, shoff: 32, phentsize: 42, phnum: 44, shentsize: 46, shnum: 48, shstrndx: 50 };
  const fields: Target[] = [
    { name: 'e_phoff', offset: e.phoff, size: w },
    { name: 'e_shoff', offset: e.shoff, size: w },
    { name: 'e_phentsize', offset: e.phentsize, size: 2 },
    { name: 'e_phnum', offset: e.phnum, size: 2 },
    { name: 'e_shentsize', offset: e.shentsize, size: 2 },
    { name: 'e_shnum', offset: e.shnum, size: 2 },
    { name: 'e_shstrndx', offset: e.shstrndx, size: 2 },
    { name: 'e_machine', offset: 18, size: 2 },
    { name: 'e_type', offset: 16, size: 2 },
  ];
  const phoff = Number(header.e_phoff);
  core.elf.programHeaders.forEach((_, i) => {
    const at = phoff + i * layout.phdrSize;
    const off =
      w === 8
        ? { offset: 8, vaddr: 16, filesz: 32, memsz: 40, align: 48 }
        : { offset: 4, vaddr: 8, filesz: 16, memsz: 20, align: 28 };
    fields.push({ name: `phdr[${i}].p_type`, offset: at, size: 4 });
    for (const [k, v] of Object.entries(off))
      fields.push({ name: `phdr[${i}].p_${k}`, offset: at + v, size: w });
  });
  if (header.e_shoff > 0n) {
    const s = Number(header.e_shoff);
    const so = w === 8 ? { size: 32, info: 44 } : { size: 20, info: 28 };
    fields.push({ name: 'shdr[0].sh_size', offset: s + so.size, size: w });
    fields.push({ name: 'shdr[0].sh_info', offset: s + so.info, size: 4 });
  }
  const noteBodies: Base['noteBodies'] = [];
  for (const n of core.notes) {
    const at = Number(n.offset);
    fields.push({ name: `note@${at}.namesz`, offset: at, size: 4 });
    fields.push({ name: `note@${at}.descsz`, offset: at + 4, size: 4 });
    fields.push({ name: `note@${at}.type`, offset: at + 8, size: 4 });
    const start = at + 12 + ((n.owner.length + 1 + 3) & ~3);
    noteBodies.push({ type: n.type, owner: n.owner, start, end: start + n.desc.length });
    if (n.owner === 'CORE' && (n.type === NT_FILE || n.type === NT_AUXV)) {
      // NT_FILE: count, page size, then (start, end, pgoff) triples; NT_AUXV: (type, value) pairs.
      for (let k = 0; k < 12 && start + (k + 1) * w <= start + n.desc.length; k++)
        fields.push({
          name: `${n.type === NT_FILE ? 'NT_FILE' : 'NT_AUXV'}[word ${k}]`,
          offset: start + k * w,
          size: w,
        });
    }
  }
  core.close();
  return {
    path,
    ra,
    head,
    wordSize: w,
    fields: fields.filter((f) => f.offset + f.size <= head.length),
    noteBodies,
  };
}

const ABSURD_64 = [
  0n,
  1n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  1n << 62n,
  1n << 63n,
  (1n << 64n) - 1n,
  (1n << 64n) - 4096n,
];

function absurd(rand: () => number, size: number, fileSize: number): bigint {
  const max = (1n << BigInt(size * 8)) - 1n;
  const choices = [
    ...ABSURD_64,
    BigInt(fileSize),
    BigInt(fileSize + 1),
    BigInt(fileSize - 1),
    0xffffn,
    0xfffen,
    65535n,
  ];
  const pick =
    rand() < 0.7 ? choices[Math.floor(rand() * choices.length)]! : BigInt(Math.floor(rand() * 2 ** 32));
  return pick & max;
}

function put(buf: Buffer, t: Target, v: bigint, le: boolean): void {
  if (t.size === 1) buf.writeUInt8(Number(v & 0xffn), t.offset);
  else if (t.size === 2)
    le ? buf.writeUInt16LE(Number(v & 0xffffn), t.offset) : buf.writeUInt16BE(Number(v & 0xffffn), t.offset);
  else if (t.size === 4)
    le
      ? buf.writeUInt32LE(Number(v & 0xffffffffn), t.offset)
      : buf.writeUInt32BE(Number(v & 0xffffffffn), t.offset);
  else le ? buf.writeBigUInt64LE(v, t.offset) : buf.writeBigUInt64BE(v, t.offset);
}

/** Applies 1-3 mutations; returns the mutated head, the cut size and a description. */
function mutate(base: Base, rand: () => number): { head: Buffer; size: bigint; what: string[] } {
  const head = Buffer.from(base.head);
  let size = base.ra.size;
  const what: string[] = [];
  const le = head[5] === 1;
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.25) {
      const flips = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(rand() * head.length);
        head[at]! ^= 1 << Math.floor(rand() * 8);
      }
      what.push(`${flips} bit flips`);
    } else if (r < 0.55) {
      const t = base.fields[Math.floor(rand() * base.fields.length)]!;
      const v = absurd(rand, t.size, Number(base.ra.size));
      put(head, t, v, le);
      what.push(`${t.name}=0x${v.toString(16)}`);
    } else if (r < 0.7) {
      const cut = rand() < 0.6 ? Math.floor(rand() * head.length) : Math.floor(rand() * Number(base.ra.size));
      if (BigInt(cut) < size) size = BigInt(cut);
      what.push(`truncated at ${cut}`);
    } else if (r < 0.85 && base.noteBodies.length) {
      const body = base.noteBodies[Math.floor(rand() * base.noteBodies.length)]!;
      if (body.end > body.start) {
        const at = body.start + Math.floor(rand() * (body.end - body.start));
        const v = rand() < 0.5 ? 0xff : 0;
        head.fill(v, at, Math.min(body.end, at + 1 + Math.floor(rand() * 16)));
        what.push(`note ${body.owner}/${body.type} bytes at ${at} set to ${v}`);
      }
    } else {
      const at = Math.floor(rand() * head.length);
      const len = 1 + Math.floor(rand() * 64);
      const v = Math.floor(rand() * 256);
      head.fill(v, at, Math.min(head.length, at + len));
      what.push(`${len} bytes at ${at} set to ${v}`);
    }
  }
  return { head, size, what };
}

/** Opens the mutated core and uses everything a reader uses. */
function exercise(ra: RandomAccess, rand: () => number): void {
  const core = readCore('fuzz-case', ra);
  try {
    useCore(core, rand);
  } finally {
    core.close();
  }
}

function useCore(core: CoreFile, rand: () => number): void {
  const { image } = core;
  for (const n of core.notes) toJson(describeNote(image.arch, core.elf.layout, n));
  void core.elf.sections;
  for (const t of image.threads) decodeRegisters(image.arch, t.gpRegs);
  for (const t of image.threads) if (t.siginfo) decodeSigInfo(image.arch, t.siginfo);
  const maps = image.mappings;
  for (let i = 0; i < Math.min(maps.length, 24); i++) {
    const m = maps[Math.floor(rand() * maps.length)]!;
    const len = m.end - m.start;
    image.memory.read(m.start, len < 4096n && len > 0n ? Number(len) : 4096);
    if (len > 64n) image.memory.read(m.end - 64n, 64);
  }
  image.memory.read(BigInt(Math.floor(rand() * 2 ** 48)), 256);
  image.memory.read((1n << 64n) - 128n, 128);
}

/** Share of cases also written to disk and run through the CLI views (info, threads, maps, notes). */
const VIEW_SHARE = 0.02;

/** Writes the mutated core to a file and runs the inspect views on it, their output discarded. */
async function runViews(dir: string, head: Buffer, base: RandomAccess, size: bigint): Promise<void> {
  const path = join(dir, 'case.core');
  const fd = openSync(path, 'w');
  try {
    const overlay = new OverlayAccess(head, base, size);
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let off = 0n; off < size; off += BigInt(buf.length)) {
      const n = overlay.readInto(off, buf);
      writeSync(fd, buf, 0, n);
    }
  } finally {
    closeSync(fd);
  }
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    for (const view of [views.info, views.threads, views.maps, views.notes]) {
      await view(path, {});
      await view(path, { json: true });
    }
  } finally {
    process.stdout.write = write;
  }
}

async function main(job: FuzzJob): Promise<void> {
  const send = (m: FuzzMessage) => process.send!(m);
  const bases = job.cores.map(loadBase);
  const baseFds = readdirSync('/proc/self/fd').length;
  let cases = 0;
  let opened = 0;
  let formatErrors = 0;
  let viewed = 0;
  let peakRss = 0;
  for (const seed of fuzzSeeds(job)) {
    send({ type: 'case', seed });
    const rand = prng(seed);
    const base = bases[Math.floor(rand() * bases.length)]!;
    const { head, size, what } = mutate(base, rand);
    const describe = `${base.path}: ${what.join(', ')}`;
    const t0 = Date.now();
    try {
      exercise(new OverlayAccess(head, base.ra, size), rand);
      opened++;
    } catch (err) {
      if (err instanceof FormatError) formatErrors++;
      else {
        const e = err as Error;
        send({ type: 'fail', seed, error: `${describe}\n${e?.stack ?? String(err)}` });
      }
    }
    if (job.viewsDir && rand() < VIEW_SHARE) {
      viewed++;
      try {
        await runViews(job.viewsDir, head, base.ra, size);
      } catch (err) {
        if (!(err instanceof FormatError || err instanceof UserError)) {
          const e = err as Error;
          send({ type: 'fail', seed, error: `${describe}\n(CLI view) ${e?.stack ?? String(err)}` });
        }
      }
    }
    const took = Date.now() - t0;
    if (took > job.caseMs) send({ type: 'fail', seed, error: `${describe}\ncase took ${took} ms` });
    const fds = readdirSync('/proc/self/fd').length;
    if (fds > baseFds + 8)
      send({ type: 'fail', seed, error: `${describe}\n${fds - baseFds} file descriptors left open` });
    const mem = process.memoryUsage();
    peakRss = Math.max(peakRss, mem.rss);
    if (mem.rss > job.maxRssBytes)
      send({ type: 'fail', seed, error: `${describe}\nRSS ${mem.rss} bytes after the case` });
    cases++;
  }
  send({ type: 'done', cases, opened, formatErrors, viewed, peakRss });
}

// The parent disconnects after 'done'; the worker then exits.
process.once('message', (job: FuzzJob) => void main(job));
