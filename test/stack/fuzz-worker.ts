// Stack fuzz worker (run by fuzz.test.ts in a child process, so hangs and runaway memory can be
// caught from outside). Mutates the call-frame sections (.eh_frame, .eh_frame_hdr) of a real
// executable with a seeded PRNG, puts the copy under a sysroot where the core's module lookup
// finds it (same build-id), and unwinds every thread of the core: each case must end in frames
// (with a stop reason when unwinding ended early), never an exception. Protocol (IPC): one
// StackFuzzJob in; {type:'case'} before each case, {type:'fail'} on a bad outcome, {type:'done'}.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadModules } from '../../src/analysis/modules.js';
import { unwindImage } from '../../src/analysis/stack/index.js';
import { ElfFile } from '../../src/elf/reader.js';
import { findSection } from '../../src/elf/sections.js';
import { BufferAccess } from '../../src/io/random-access.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { type FuzzBudget, fuzzSeeds, prng } from '../helpers/prng.js';

export interface StackFuzzJob extends FuzzBudget {
  core: string;
  exe: string;
  root: string;
  maxRssBytes: number;
  maxFrames: number;
}

export type StackFuzzMessage =
  | { type: 'case'; seed: number }
  | { type: 'fail'; seed: number; error: string }
  | { type: 'done'; cases: number; stoppedEarly: number; frames: number; peakRss: number };

/** Absurd values written over 4-byte fields: lengths, CIE pointers, encodings, table entries. */
const ABSURD = [0, 1, 0xffffffff, 0xfffffff0, 0x7fffffff, 0x10, 0x8000];

function main(job: StackFuzzJob): void {
  const base = readFileSync(job.exe);
  const elf = ElfFile.open(new BufferAccess(base));
  const regions = ['.eh_frame', '.eh_frame_hdr'].flatMap((name) => {
    const s = findSection(elf, name);
    return s ? [{ start: Number(s.sh_offset), size: Number(s.sh_size) }] : [];
  });
  if (regions.length !== 2) throw new Error(`${job.exe} lacks .eh_frame or .eh_frame_hdr`);
  const target = join(job.root, job.exe);
  // The other mapped files (libc, ld.so) are the real ones: only the executable's CFI is bad.
  const first = openCore(job.core);
  for (const path of new Set(first.image.mappings.map((m) => m.path))) {
    if (!path?.startsWith('/') || path === job.exe) continue;
    mkdirSync(dirname(join(job.root, path)), { recursive: true });
    if (!existsSync(join(job.root, path))) symlinkSync(path, join(job.root, path));
  }
  first.close();
  mkdirSync(dirname(target), { recursive: true });
  let cases = 0;
  let stoppedEarly = 0;
  let frames = 0;
  let peakRss = 0;
  for (const seed of fuzzSeeds(job)) {
    process.send?.({ type: 'case', seed } satisfies StackFuzzMessage);
    const rand = prng(seed);
    const copy = Buffer.from(base);
    const n = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < n; i++) {
      const r: { start: number; size: number } = regions[Math.floor(rand() * regions.length)]!;
      const at = r.start + Math.floor(rand() * (r.size - 4));
      const how = rand();
      if (how < 0.4) copy[at] = Math.floor(rand() * 256);
      else if (how < 0.7) copy[at]! ^= 1 << Math.floor(rand() * 8);
      else copy.writeUInt32LE(ABSURD[Math.floor(rand() * ABSURD.length)]!, at);
    }
    writeFileSync(target, copy);
    try {
      const core = openCore(job.core, { root: job.root });
      const modules = loadModules(core.image, { root: job.root });
      try {
        for (const t of unwindImage(core.image, modules, { maxFrames: job.maxFrames })) {
          if (t.frames.length < 1 || t.frames.length > job.maxFrames)
            throw new Error(`thread ${t.tid}: ${t.frames.length} frames`);
          if (t.stopped !== undefined && t.stopped.length === 0) throw new Error('an empty stop reason');
          if (t.stopped) stoppedEarly++;
          frames += t.frames.length;
        }
      } finally {
        modules.close();
        core.close();
      }
    } catch (err) {
      process.send?.({
        type: 'fail',
        seed,
        error: (err as Error).stack ?? String(err),
      } satisfies StackFuzzMessage);
    }
    cases++;
    const rss = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, rss);
    if (rss > job.maxRssBytes) {
      process.send?.({
        type: 'fail',
        seed,
        error: `RSS ${rss} over ${job.maxRssBytes}`,
      } satisfies StackFuzzMessage);
      break;
    }
  }
  process.send?.({ type: 'done', cases, stoppedEarly, frames, peakRss } satisfies StackFuzzMessage);
}

process.once('message', (job: StackFuzzJob) => main(job));
