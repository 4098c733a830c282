// Symbolisation fuzz worker (run by fuzz.test.ts in a child process, so that a hang or a runaway
// allocation is caught from outside). Mutates a program's separate debug file — bytes of its
// DWARF and symbol sections, its section headers, sizes — puts it where loadModules() finds it
// (a --debug-dir .build-id tree), and symbolizes gdb's pcs. symbolize() must return (a result or a
// reason) for every pc and never throw. IPC: receives one SymFuzzJob; sends {type:'case'} before
// each case, {type:'fail'} on a bad outcome, {type:'done'} at the end.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadModules } from '../../src/analysis/modules.js';
import { symbolize } from '../../src/analysis/symbols/symbolize.js';
import { ElfFile } from '../../src/elf/reader.js';
import { sectionNames } from '../../src/elf/sections.js';
import { BufferAccess } from '../../src/io/random-access.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { type FuzzBudget, fuzzSeeds, prng } from '../helpers/prng.js';

export interface SymFuzzBase {
  core: string;
  debugFile: string;
  buildId: string;
  pcs: { pc: string; isCallSite: boolean }[];
}

export interface SymFuzzJob extends FuzzBudget {
  bases: SymFuzzBase[];
  dir: string;
  caseMs: number;
  maxRssBytes: number;
}

export type SymFuzzMessage =
  | { type: 'case'; seed: number }
  | { type: 'fail'; seed: number; error: string }
  | { type: 'done'; cases: number; withLines: number; peakRss: number };

/** Sections whose bytes are mutated. */
const TARGETS = [
  '.debug_info',
  '.debug_abbrev',
  '.debug_line',
  '.debug_line_str',
  '.debug_str',
  '.debug_str_offsets',
  '.debug_addr',
  '.debug_rnglists',
  '.debug_ranges',
  '.debug_aranges',
  '.symtab',
  '.strtab',
];

interface Region {
  name: string;
  start: number;
  end: number;
}

interface Loaded {
  base: SymFuzzBase;
  bytes: Buffer;
  /** Section contents and the sh_offset / sh_size fields of their headers. */
  regions: Region[];
  fields: { name: string; at: number; size: 4 | 8 }[];
  le: boolean;
  image: ReturnType<typeof openCore>;
}

function load(base: SymFuzzBase): Loaded {
  const bytes = readFileSync(base.debugFile);
  const elf = ElfFile.open(new BufferAccess(bytes));
  const names = sectionNames(elf);
  const w = elf.layout.wordSize as 4 | 8;
  const shoff = Number(elf.header.e_shoff);
  const regions: Region[] = [];
  const fields: Loaded['fields'] = [];
  elf.sections.forEach((s, i) => {
    const name = names[i]!;
    if (!TARGETS.includes(name)) return;
    regions.push({ name, start: Number(s.sh_offset), end: Number(s.sh_offset + s.sh_size) });
    const at = shoff + i * elf.layout.shdrSize;
    const o = w === 8 ? { offset: 24, size: 32 } : { offset: 16, size: 20 };
    fields.push({ name: `${name}.sh_offset`, at: at + o.offset, size: w });
    fields.push({ name: `${name}.sh_size`, at: at + o.size, size: w });
  });
  return { base, bytes, regions, fields, le: bytes[5] === 1, image: openCore(base.core) };
}

const ABSURD = [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x7fffffffn, 0xffffffffn, 1n << 40n, (1n << 64n) - 1n];

function mutate(l: Loaded, rand: () => number): { bytes: Buffer; what: string[] } {
  const bytes = Buffer.from(l.bytes);
  const what: string[] = [];
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
    const r = rand();
    const region = pick(l.regions);
    const at = region.start + Math.floor(rand() * Math.max(1, region.end - region.start));
    if (r < 0.35) {
      const flips = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < flips; k++) {
        const p = region.start + Math.floor(rand() * Math.max(1, region.end - region.start));
        if (p < bytes.length) bytes[p]! ^= 1 << Math.floor(rand() * 8);
      }
      what.push(`${flips} bit flips in ${region.name}`);
    } else if (r < 0.6) {
      const v = pick(ABSURD);
      if (at + 4 <= bytes.length)
        l.le
          ? bytes.writeUInt32LE(Number(v & 0xffffffffn), at)
          : bytes.writeUInt32BE(Number(v & 0xffffffffn), at);
      what.push(`${region.name}+${at - region.start} = 0x${(v & 0xffffffffn).toString(16)}`);
    } else if (r < 0.75) {
      const len = 1 + Math.floor(rand() * 64);
      const v = rand() < 0.5 ? 0xff : Math.floor(rand() * 256);
      bytes.fill(v, at, Math.min(region.end, at + len));
      what.push(`${len} bytes of ${region.name} at ${at - region.start} set to ${v}`);
    } else {
      const f = pick(l.fields);
      const v = rand() < 0.5 ? pick(ABSURD) : BigInt(Math.floor(rand() * bytes.length));
      if (f.size === 8) l.le ? bytes.writeBigUInt64LE(v, f.at) : bytes.writeBigUInt64BE(v, f.at);
      else
        l.le
          ? bytes.writeUInt32LE(Number(v & 0xffffffffn), f.at)
          : bytes.writeUInt32BE(Number(v & 0xffffffffn), f.at);
      what.push(`${f.name} = 0x${v.toString(16)}`);
    }
  }
  return { bytes, what };
}

function main(job: SymFuzzJob): void {
  const send = (m: SymFuzzMessage) => process.send!(m);
  const loaded = job.bases.map(load);
  let cases = 0;
  let withLines = 0;
  let peakRss = 0;
  for (const seed of fuzzSeeds(job)) {
    send({ type: 'case', seed });
    const rand = prng(seed);
    const l = loaded[Math.floor(rand() * loaded.length)]!;
    const { bytes, what } = mutate(l, rand);
    const describe = `${l.base.debugFile}: ${what.join(', ')}`;
    const id = l.base.buildId;
    const target = join(job.dir, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
    const t0 = Date.now();
    const modules = loadModules(l.image.image, {
      debugDirs: [job.dir],
      debuginfodCache: join(job.dir, 'none'),
    });
    try {
      l.base.pcs.forEach(({ pc, isCallSite }) => {
        const r = symbolize(modules, BigInt(pc), { isCallSite });
        if (r.line !== undefined) withLines++;
        if (r.function === null && !r.reason) throw new Error(`no function and no reason at ${pc}`);
      });
    } catch (err) {
      send({ type: 'fail', seed, error: `${describe}\n${(err as Error)?.stack ?? String(err)}` });
    } finally {
      modules.close();
    }
    const took = Date.now() - t0;
    if (took > job.caseMs) send({ type: 'fail', seed, error: `${describe}\ncase took ${took} ms` });
    const rss = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, rss);
    if (rss > job.maxRssBytes)
      send({ type: 'fail', seed, error: `${describe}\nRSS ${rss} bytes after the case` });
    cases++;
  }
  for (const l of loaded) l.image.close();
  send({ type: 'done', cases, withLines, peakRss });
}

process.once('message', (job: SymFuzzJob) => main(job));
