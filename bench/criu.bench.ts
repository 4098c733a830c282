// Converting the `tree` checkpoint (three processes) with `coreshot convert criu`, side by side
// with `cp -r` of the same image directory and the files it references (the case's root/), the
// least any converter has to do: read every byte once and write it once. Also shown: cp -r
// followed by sync of the copies (durable copies; coreshot names its cores complete, without fsync).
// Prints medians, the ratios and coreshot's peak RSS; also the conversion through the API in a
// warm process, which leaves out Node's start-up and module loading.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../src/pipelines/criu.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CASE = join(ROOT, '../shared/fixtures/criu/tree');
const CLI = join(ROOT, 'dist/bin/coreshot.cjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stderr;
}

/** Wall time in ms of `body`, and the peak RSS in KiB GNU time reports for its last command. */
function timed(body: (dir: string) => string | undefined): { ms: number; rssKiB?: number } {
  const dir = mkdtempSync(join(tmpdir(), 'coreshot-bench-criu-'));
  try {
    const t = performance.now();
    const stderr = body(dir);
    const ms = performance.now() - t;
    const rss = stderr ? /^RSS (\d+)$/m.exec(stderr)?.[1] : undefined;
    return { ms, rssKiB: rss ? Number(rss) : undefined };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cp = (d: string) => {
  sh('cp', ['-r', join(CASE, 'images'), join(d, 'images')]);
  sh('cp', ['-r', join(CASE, 'root'), join(d, 'root')]);
  return undefined;
};
const cpSync = (d: string) => {
  cp(d);
  sh('sync', ['-f', join(d, 'images')]);
  return undefined;
};
const convert = (d: string) =>
  sh('/usr/bin/time', [
    '-f',
    'RSS %M',
    process.execPath,
    CLI,
    'convert',
    'criu',
    join(CASE, 'images'),
    '-o',
    join(d, 'cores'),
    '--root',
    join(CASE, 'root'),
  ]);

/** The conversion alone, through the API in this (warm) process: no Node start-up. */
async function convertInProcess(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'coreshot-bench-criu-'));
  try {
    const t = performance.now();
    await convertCheckpoint(join(CASE, 'images'), join(dir, 'cores'), { root: join(CASE, 'root') });
    return performance.now() - t;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpMs: number[] = [];
const cpSyncMs: number[] = [];
const convMs: number[] = [];
const apiMs: number[] = [];
let peak = 0;
// Interleaved, so that background load hits all three alike; the first round warms the caches.
for (let i = 0; i <= RUNS; i++) {
  const a = timed(cp);
  const b = timed(cpSync);
  const c = timed(convert);
  const d = await convertInProcess();
  if (i === 0) continue;
  apiMs.push(d);
  cpMs.push(a.ms);
  cpSyncMs.push(b.ms);
  convMs.push(c.ms);
  peak = Math.max(peak, c.rssKiB ?? 0);
}
const conv = median(convMs);
const api = median(apiMs);
const base = median(cpMs);
const baseSync = median(cpSyncMs);
console.log(`tree checkpoint (3 processes), median of ${RUNS} runs:`);
console.log(`  cp -r images + root          ${base.toFixed(1)} ms`);
console.log(`  cp -r images + root, sync    ${baseSync.toFixed(1)} ms`);
console.log(`  coreshot convert criu        ${conv.toFixed(1)} ms, peak RSS ${(peak / 1024).toFixed(1)} MiB`);
console.log(`  convertCheckpoint() (API)    ${api.toFixed(1)} ms (no Node start-up)`);
console.log(`  ratio CLI vs cp -r           ${(conv / base).toFixed(2)}x (target <= 2x)`);
console.log(`  ratio CLI vs cp -r + sync    ${(conv / baseSync).toFixed(2)}x`);
console.log(`  ratio API vs cp -r           ${(api / base).toFixed(2)}x`);
console.log(`  ratio API vs cp -r + sync    ${(api / baseSync).toFixed(2)}x`);
console.log(`  peak RSS under 150 MB        ${peak * 1024 < 150e6 ? 'yes' : 'NO'}`);
