// The CRIU fixtures restored from their image directories (files from their root/): each
// process runs, and `gdb -p` shows the reference backtraces (vmas, which has none: its maps are
// the reference's, about 70,000 of them). The fixtures were taken on a CPU
// with AVX-512 under another build of Linux 6.18: on a CPU without AVX-512 the restore must
// refuse with one line naming the XSAVE components, and under a kernel whose vdso differs from
// the recorded one with one line saying so; the test asserts whichever of the three outcomes
// this machine calls for, and says which it was.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CRIU, casePids, parseGdb, reference, requireFixtures } from '../criu/helpers.js';
import { coreshot, killAndWait, run } from '../helpers/proc.js';

const avx512 = /^flags\s*:.*\bavx512f\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));

/** The function of each frame of a gdb backtrace line ("#1  0x... in main (argc=..." → main). */
const fn = (frame: string) => /^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+)/.exec(frame)?.[1] ?? frame;

for (const name of ['single', 'static', 'tree', 'vmas']) {
  test(`CRIU fixture ${name}: restored, running, gdb -p shows the reference backtraces`, async (t) => {
    requireFixtures();
    const dir = join(CRIU, name);
    // vmas has no gdb reference: its root process's maps are the reference.
    const gdbRef = casePids(name);
    const pids =
      gdbRef.length > 0 ? gdbRef : [Number(readFileSync(join(dir, 'reference', 'pid.txt'), 'utf8'))];
    assert.ok(pids.every((p) => p > 0));
    for (const pid of pids) {
      const res = coreshot([
        'restore',
        join(dir, 'images'),
        '--pid',
        String(pid),
        '--root',
        join(dir, 'root'),
        '--stopped',
        '--json',
      ]);
      if (!avx512) {
        assert.equal(res.status, 1, res.stdout);
        assert.match(
          res.stderr,
          /uses XSAVE state components this CPU lacks \(xstate_bv 0x[0-9a-f]+, this CPU's XCR0/,
        );
        assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
        t.diagnostic(`process ${pid}: refused, this CPU has no AVX-512: ${res.stderr.trim()}`);
        continue;
      }
      if (res.status !== 0) {
        assert.match(res.stderr, /the image's vdso differs from this kernel's/);
        t.diagnostic(`process ${pid}: refused, this kernel's vdso differs: ${res.stderr.trim()}`);
        continue;
      }
      const out = JSON.parse(res.stdout) as { pid: number; threads: { was: number; tid: number }[] };
      try {
        if (gdbRef.length === 0) {
          const maps = (text: string) =>
            text
              .split('\n')
              .filter((l) => l && !/\[(vvar|vdso|vsyscall)/.test(l))
              .map((l) => l.split(/\s+/).slice(0, 2).join(' '));
          const want = maps(readFileSync(join(dir, 'reference', `maps-${pid}.txt`), 'utf8'));
          assert.deepEqual(maps(readFileSync(`/proc/${out.pid}/maps`, 'utf8')), want);
          continue;
        }
        const live = run('gdb', [
          '-batch',
          '-nx',
          '-ex',
          `set sysroot ${join(dir, 'root')}`,
          '-p',
          String(out.pid),
          '-ex',
          'thread apply all bt',
        ]);
        const got = parseGdb(live.stdout);
        const want = parseGdb(reference(name, pid));
        for (const [lwp, thread] of want) {
          const now = out.threads.find((x) => x.was === lwp)?.tid;
          assert.ok(now !== undefined, `thread ${lwp} was not restored`);
          assert.deepEqual(got.get(now)?.frames.map(fn), thread.frames.map(fn), live.stdout + live.stderr);
        }
      } finally {
        await killAndWait(out.pid);
      }
    }
  });
}
