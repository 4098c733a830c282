// Fuzz worker for compressed inputs (run by compressed.test.ts through runFuzzWorker, in a child
// process, so that a hang is caught from outside): mutates compressed forms of a real core
// (truncation, byte runs, bit flips), opens each through openCore and reads every byte its segments hold. Every
// case must end in a FormatError or a successful read, and leave no cache file.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/bytes/errors.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { type FuzzBudget, fuzzSeeds, prng } from '../helpers/prng.js';

export interface CompressedFuzzJob extends FuzzBudget {
  inputs: string[];
  cacheDir: string;
}

export type CompressedFuzzMessage =
  | { type: 'case'; seed: number }
  | { type: 'fail'; seed: number; error: string }
  | { type: 'done'; cases: number; opened: number };

interface Input {
  path: string;
  data: Buffer;
}

function mutate(data: Buffer, rand: () => number): Buffer {
  const out = Buffer.from(data);
  const at = () => Math.floor(rand() * out.length);
  const kind = Math.floor(rand() * 3);
  if (kind === 0) return out.subarray(0, at());
  if (kind === 1) {
    const start = at();
    out.fill(Math.floor(rand() * 256), start, start + 1 + Math.floor(rand() * 64));
    return out;
  }
  for (let i = 0; i < 1 + rand() * 8; i++) {
    const p = at();
    out[p] = (out[p] as number) ^ (1 << Math.floor(rand() * 8));
  }
  return out;
}

function runCase(
  job: CompressedFuzzJob,
  inputs: Input[],
  scratch: string,
  seed: number,
): 'opened' | 'format-error' {
  const rand = prng(seed);
  const input = inputs[Math.floor(rand() * inputs.length)]!;
  const file = join(scratch, `case${input.path.slice(input.path.lastIndexOf('.'))}`);
  writeFileSync(file, mutate(input.data, rand));
  const outcome = openAndRead(file);
  // A case that never needed a scratch file may not have made the directory.
  const cache = join(job.cacheDir, 'coreshot');
  const left = existsSync(cache) ? readdirSync(cache) : [];
  if (left.length) throw new Error(`cache files left behind: ${left.join(', ')}`);
  return outcome;
}

function openAndRead(file: string): 'opened' | 'format-error' {
  try {
    const core = openCore(file);
    try {
      // Every byte the core holds, read through the decoder. A mutated program header can claim
      // terabytes: no region supplies more than the decoded input's size, so reads stop there.
      const size = core.elf.ra.size;
      for (const r of core.image.memory.regions()) {
        if (r.kind !== 'core') continue;
        const end = r.end - r.start > size ? r.start + size : r.end;
        for (let a = r.start; a < end; a += 1n << 20n) {
          core.image.memory.read(a, end - a < 1n << 20n ? Number(end - a) : 1 << 20);
        }
      }
    } finally {
      core.close();
    }
    return 'opened';
  } catch (err) {
    if (err instanceof FormatError) return 'format-error';
    throw err;
  }
}

function main(job: CompressedFuzzJob): void {
  const send = (m: CompressedFuzzMessage) => process.send!(m);
  process.env.XDG_CACHE_HOME = job.cacheDir;
  const inputs = job.inputs.map((path) => ({ path, data: readFileSync(path) }));
  const scratch = mkdtempSync(join(tmpdir(), 'coreshot-fuzz-z-'));
  let cases = 0;
  let opened = 0;
  for (const seed of fuzzSeeds(job)) {
    send({ type: 'case', seed });
    try {
      if (runCase(job, inputs, scratch, seed) === 'opened') opened++;
    } catch (err) {
      send({ type: 'fail', seed, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
    cases++;
  }
  rmSync(scratch, { recursive: true, force: true });
  send({ type: 'done', cases, opened });
}

// The parent disconnects after 'done'; the worker then exits.
process.once('message', (job: CompressedFuzzJob) => void main(job));
