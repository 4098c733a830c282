import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gdbWarnings, tempDir } from '../helpers/proc.js';
import {
  CRIU,
  casePids,
  convertFixture,
  gdbOnCore,
  parseGdb,
  reference,
  requireFixtures,
} from './helpers.js';

// Acceptance: for every process of single, static and tree, gdb on the converted core prints
// the frames, rip/rsp/r12/r13/r14 and $zmm0 the live process had, without warnings.
for (const caseName of ['single', 'static', 'tree']) {
  describe(`convert criu: ${caseName} under gdb`, () => {
    const out = tempDir('coreshot-criu-gdb-');
    const pids = casePids(caseName);
    before(() => {
      requireFixtures();
      const _dir = join(CRIU, caseName);
      const res = convertFixture(caseName, out.path);
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stderr, '');
    });
    after(() => out.cleanup());

    for (const pid of pids) {
      it(`process ${pid}: same threads, frames, registers and zmm0 as live, no warnings`, () => {
        const text = gdbOnCore(caseName, join(out.path, `core.${pid}`));
        assert.deepEqual(gdbWarnings(text), [], text);
        assert.doesNotMatch(text, /xsave|too small|Unexpected size/i);
        const got = parseGdb(text);
        const want = parseGdb(reference(caseName, pid));
        assert.ok(want.size > 0, 'reference parsed');
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'threads (LWPs)');
        for (const [lwp, w] of want) {
          const g = got.get(lwp)!;
          assert.deepEqual(g.frames, w.frames, `frames of LWP ${lwp}`);
          assert.deepEqual(g.regs, w.regs, `registers of LWP ${lwp}`);
          assert.equal(g.regs.size, 5);
          assert.equal(g.zmm0, w.zmm0, `zmm0 of LWP ${lwp}`);
        }
      });
    }
  });
}
