// Acceptance: the dump summary says when the killed snapshot copy stays a zombie because its
// parent (the target's parent) never reaps it, and names that parent; it says nothing when the
// parent reaps (a shell that waits for every child) or the kernel does (SIGCHLD ignored).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { coreshot, killAndWait, startDetached, tempDir } from '../helpers/proc.js';
import { buildProg, eventually, isAlive, sleep, startTarget } from '../live/helpers.js';

/** A Python parent that starts the target with subprocess and never waits for anything. */
const PARENT = `
import os, signal, subprocess, sys, time
mode, pidfile, *cmd = sys.argv[1:]
if mode == 'ignore':
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
with open(pidfile + '.tmp', 'w') as f:
    f.write(str(p.pid))
os.rename(pidfile + '.tmp', pidfile)
time.sleep(3600)
`;

function stateOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      state: /State:\s+(\S)/.exec(status)?.[1] ?? '',
      ppid: Number(/PPid:\s+(\d+)/.exec(status)?.[1]),
    };
  } catch {
    return undefined;
  }
}

describe('dump summary: a snapshot copy left a zombie', () => {
  const tmp = tempDir('coreshot-zombie-');
  let prog = '';
  const started: number[] = [];

  before(() => {
    prog = buildProg('sleeper', tmp.path);
  });
  after(async () => {
    for (const pid of started) await killAndWait(pid);
    tmp.cleanup();
  });

  /** Starts python3 PARENT in `mode`; returns the parent's and the target's pids. */
  async function underPython(mode: 'never' | 'ignore'): Promise<{ parent: number; pid: number }> {
    const pidfile = join(tmp.path, `${mode}.pid`);
    const parent = startDetached('python3', ['-c', PARENT, mode, pidfile, prog, '100000', '100']);
    started.push(parent);
    const ok = await eventually(
      () => existsSync(pidfile),
      (v) => v,
      10_000,
    );
    assert.ok(ok, 'the python parent started its child');
    const pid = Number(readFileSync(pidfile, 'utf8'));
    started.unshift(pid);
    await sleep(100);
    return { parent, pid };
  }

  test('a parent that never waits: the note names it, and the copy is its zombie', async () => {
    const { parent, pid } = await underPython('never');
    const res = coreshot(['dump', String(pid), '-o', '/dev/null']);
    assert.equal(res.status, 0, res.stderr);
    const note = new RegExp(
      `^  the snapshot copy (\\d+) stays a zombie until its parent ${parent} \\(python3\\) waits for it or exits: ` +
        'the parent does not ignore SIGCHLD and had not reaped it 0.5 s after the dump$',
      'm',
    ).exec(res.stderr);
    assert.ok(note, res.stderr);
    assert.deepEqual(stateOf(Number(note[1])), { state: 'Z', ppid: parent });

    process.kill(parent, 'SIGSTOP');
    try {
      const stopped = coreshot(['dump', String(pid), '-o', '/dev/null', '--json']);
      assert.equal(stopped.status, 0, stopped.stderr);
      const summary = JSON.parse(stopped.stdout);
      assert.deepEqual(summary.zombie, {
        pid: summary.copy.pid,
        parent,
        comm: 'python3',
        parentStopped: true,
      });
    } finally {
      process.kill(parent, 'SIGCONT');
    }
    assert.ok(isAlive(pid));
  });

  test('a parent that ignores SIGCHLD: no note, the kernel released the copy', async () => {
    const { pid } = await underPython('ignore');
    const res = coreshot(['dump', String(pid), '-o', '/dev/null', '--json']);
    assert.equal(res.status, 0, res.stderr);
    const summary = JSON.parse(res.stdout);
    assert.equal(summary.zombie, undefined);
    const gone = await eventually(
      () => stateOf(summary.copy.pid),
      (s) => s === undefined,
      10_000,
    );
    assert.equal(gone, undefined, 'the copy is gone');
    assert.ok(isAlive(pid));
  });

  test('a parent shell that waits for every child: no note', async () => {
    const t = await startTarget(prog, ['100000', '100'], tmp.path, { settleMs: 100 });
    try {
      const res = coreshot(['dump', String(t.pid), '-o', '/dev/null']);
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stderr, /\(snapshot\)/);
      assert.doesNotMatch(res.stderr, /zombie/);
    } finally {
      await t.stop();
    }
  });
});
