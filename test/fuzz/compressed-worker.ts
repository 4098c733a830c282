// Fuzz worker for compressed inputs (run by compressed.test.ts in a child process, so that a hang
// is caught from outside): mutates compressed forms of a real core (truncation, byte runs, bit
// flips), opens each through openCore and reads all its memory. Every case must end in a
// FormatError or a successful read, and leave no cache file. Prints one JSON summary line.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/bytes/errors.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { type FuzzBudget, fuzzSeeds, prng } from '../helpers/prng.js';

interface Job extends FuzzBudget {
  inputs: string[];
  cacheDir: string;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
process.env.XDG_CACHE_HOME = job.cacheDir;
const inputs = job.inputs.map((path) => ({ path, data: readFileSync(path) }));
const scratch = mkdtempSync(join(tmpdir(), 'coreshot-fuzz-z-'));

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

function runCase(seed: number): 'opened' | 'format-error' {
  const rand = prng(seed);
  const input = inputs[Math.floor(rand() * inputs.length)] as (typeof inputs)[number];
  const file = join(scratch, `case${input.path.slice(input.path.lastIndexOf('.'))}`);
  writeFileSync(file, mutate(input.data, rand));
  const outcome = openAndRead(file);
  const left = readdirSync(join(job.cacheDir, 'coreshot'));
  if (left.length) throw new Error(`cache files left behind: ${left.join(', ')}`);
  return outcome;
}

function openAndRead(file: string): 'opened' | 'format-error' {
  try {
    const core = openCore(file);
    try {
      for (const m of core.image.mappings) {
        for (let a = m.start; a < m.end; a += 1n << 20n) {
          const n = m.end - a < 1n << 20n ? Number(m.end - a) : 1 << 20;
          core.image.memory.read(a, n);
        }
      }
      void core.elf.ra.size;
    } finally {
      core.close();
    }
    return 'opened';
  } catch (err) {
    if (err instanceof FormatError) return 'format-error';
    throw err;
  }
}

const failures: string[] = [];
let cases = 0;
let opened = 0;
for (const seed of fuzzSeeds(job)) {
  cases++;
  if (process.env.FUZZ_TRACE) process.stderr.write(`case ${seed}\n`);
  try {
    if (runCase(seed) === 'opened') opened++;
  } catch (err) {
    failures.push(`seed ${seed}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (failures.length >= 10) break;
  }
}
rmSync(scratch, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ cases, opened, failures })}\n`);
