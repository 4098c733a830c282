import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openCore } from '../../src/sources/elfcore/open.js';
import { gdbWarnings, run, runOk, tempDir } from '../helpers/proc.js';
import { CRIU, convertFixture, requireFixtures } from './helpers.js';

// Acceptance: the `vmas` checkpoint (about 70,000 VMAs) converts to a valid PN_XNUM core that
// readelf, gdb and coreshot's own reader accept.
describe('convert criu: vmas (PN_XNUM)', () => {
  const out = tempDir('coreshot-criu-vmas-');
  const dir = join(CRIU, 'vmas');
  let core = '';
  before(() => {
    requireFixtures();
    const res = convertFixture('vmas', out.path, ['--json']);
    assert.equal(res.status, 0, res.stderr);
    const [only] = (JSON.parse(res.stdout) as { cores: { output: string; segments: number }[] }).cores;
    assert.ok(only && only.segments > 0xffff, 'more segments than e_phnum can hold');
    core = only.output;
  });
  after(() => out.cleanup());

  it('readelf sees PN_XNUM and the real count in section 0', () => {
    const h = runOk('readelf', ['-hW', core]).stdout;
    const m = /Number of program headers:\s+65535 \((\d+)\)/.exec(h);
    assert.ok(m, h);
    const loads = runOk('readelf', ['-lW', core])
      .stdout.split('\n')
      .filter((l) => /^\s+LOAD\s/.test(l));
    assert.equal(loads.length + 1, Number(m[1]));
    const notes = runOk('readelf', ['-nW', core]).stdout;
    assert.match(notes, /NT_PRPSINFO/);
    assert.match(notes, /NT_X86_XSTATE/);
    assert.equal(notes.match(/NT_PRSTATUS/g)?.length, 2);
  });

  it('gdb opens it and unwinds both threads without warnings', () => {
    const res = run('gdb', [
      '-batch',
      '-nx',
      '-ex',
      `set sysroot ${join(dir, 'root')}`,
      '-ex',
      `file ${join(dir, 'root/tmp/coreshot-fixture/vmas/target')}`,
      '-ex',
      `core ${core}`,
      '-ex',
      'thread apply all bt',
    ]);
    const text = `${res.stdout}\n${res.stderr}`;
    assert.deepEqual(gdbWarnings(text), [], text);
    assert.match(text, /in main \(/);
    assert.match(text, /in worker_alpha \(/);
  });

  it("coreshot's reader accepts it with every mapping", () => {
    const c = openCore(core);
    try {
      assert.ok(c.image.mappings.length > 0xffff);
      assert.equal(c.image.threads.length, 2);
      assert.deepEqual(
        c.problems.map((p) => p.what),
        [],
      );
    } finally {
      c.close();
    }
  });
});
