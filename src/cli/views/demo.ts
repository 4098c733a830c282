import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { searchMemory } from '../../analysis/find.js';
import { openSink } from '../../io/sink.js';
import { dumpProcess } from '../../pipelines/dump.js';
import { openCore } from '../../sources/elfcore/open.js';
import { linkOpenFile } from '../../sys/files.js';
import { UserError } from '../errors.js';
import { hex, size } from '../format.js';
import { progressBar } from '../progress.js';
import { info } from './inspect.js';

/**
 * The demo target: a worker thread, a secret in its heap, and a heartbeat counter in a file,
 * beating only once the worker runs (so the first beat means ready).
 */
const TARGET = `
const { Worker } = require('node:worker_threads');
const { writeFileSync } = require('node:fs');
const [secret, beatFile] = process.argv.slice(2);
const held = Buffer.from('coreshot-demo-secret:' + secret);
const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
let beats = 0;
worker.once('online', () => {
  setInterval(() => writeFileSync(beatFile, String(++beats) + ' ' + held.length), 20);
});
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function beats(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').split(' ')[0]) || 0;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the quick-start demo: start a process, capture it, inspect the core. */
export async function demo(opts: { dir?: string }): Promise<void> {
  const dir = opts.dir ? resolve(opts.dir) : mkdtempSync(join(tmpdir(), 'coreshot-demo-'));
  if (!existsSync(dir)) throw new UserError(`${dir}: no such directory`);
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const script = join(dir, 'demo-target.cjs');
  const beatFile = join(dir, 'heartbeat');
  const secret = randomBytes(8).toString('hex');
  writeFileSync(script, TARGET);
  // A heartbeat left by an earlier run in the same directory must not pass for this one's.
  rmSync(beatFile, { force: true });
  // Started through a shell that exits at once, so the target is not our child: Node's own
  // child handling would otherwise compete with ptrace for its stops.
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const started = spawnSync(
    'sh',
    [
      '-c',
      `${q(process.execPath)} ${q(script)} ${secret} ${q(beatFile)} </dev/null >/dev/null 2>&1 & echo $!`,
    ],
    { encoding: 'utf8' },
  );
  const pid = Number(started.stdout.trim());
  if (!pid) throw new UserError(`could not start the demo process: ${started.stderr}`);
  try {
    for (let i = 0; i < 750 && beats(beatFile) < 3; i++) await sleep(20);
    if (beats(beatFile) < 3) throw new UserError('the demo process did not start');
    const threads = readdirSync(`/proc/${pid}/task`).length;
    say(
      `1. started a demo process: pid ${pid} (node with a worker thread: ${threads} threads; a secret in its heap)`,
    );

    const corePath = join(dir, `core.${pid}`);
    const bar = await progressBar(`dump ${pid}`);
    const before = beats(beatFile);
    let summary: Awaited<ReturnType<typeof dumpProcess>>;
    try {
      summary = await dumpProcess(pid, openSink(corePath, { linker: linkOpenFile }), {
        snapshot: true,
        onProgress: bar.update,
      });
    } finally {
      bar.stop();
    }
    say(`2. captured it in snapshot mode: ${corePath}`);
    say(
      `   ${size(summary.bytes)} core, ${summary.threads} threads, ${summary.mappings} mappings, in ${summary.totalMs.toFixed(0)} ms; the process was paused for ${summary.pauseMs.toFixed(1)} ms`,
    );
    // Wait (at most 5 s, for a loaded machine) until the process shows it ran on.
    for (let i = 0; i < 250 && beats(beatFile) <= before + 2; i++) await sleep(20);
    const after = beats(beatFile);
    say(`3. the process ran on undisturbed: alive=${alive(pid)}, heartbeat ${before} → ${after}`);

    say('4. what the core holds (coreshot info):');
    await info(corePath, {});
    const core = openCore(corePath);
    try {
      const needle = Buffer.from(`coreshot-demo-secret:${secret}`);
      const found = searchMemory(core.image, { kind: 'bytes', bytes: needle }, { maxHits: 1 })[0]?.address;
      say(
        `5. searched its memory for the secret ${secret}: ${found === undefined ? 'not found' : `found at ${hex(found)}`}`,
      );
      if (found !== undefined)
        say(`   see it with: coreshot read ${corePath} ${hex(found)} ${needle.length}`);
    } finally {
      core.close();
    }
    say(`6. debug it with gdb: gdb ${process.execPath} ${corePath}`);
  } finally {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
  }
}
