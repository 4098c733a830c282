// convert criu's outputs: every name is checked before the first core is written, and a full
// disk is one line with nothing left (each core is an unnamed O_TMPFILE file until complete).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CRIU, requireFixtures } from '../criu/helpers.js';
import { coreshot, runOk, tempDir } from '../helpers/proc.js';
import { listing } from './listing.js';

const SINGLE = join(CRIU, 'single');

function oneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^coreshot: /);
  assert.match(lines[0]!, pattern);
}

describe('convert criu outputs', () => {
  const tmp = tempDir('coreshot-convert-out-');
  before(() => requireFixtures());
  after(() => tmp.cleanup());
  const convert = (out: string, ...extra: string[]) =>
    coreshot([
      'convert',
      'criu',
      join(SINGLE, 'images'),
      '--root',
      join(SINGLE, 'root'),
      '-o',
      out,
      ...extra,
    ]);

  test('a directory where a core goes is refused, with or without --force', () => {
    const out = join(tmp.path, 'taken');
    mkdirSync(join(out, 'core.18851'), { recursive: true });
    for (const force of [[], ['--force']]) {
      const res = convert(out, ...force);
      assert.equal(res.status, 1);
      oneLineError(res.stderr, /core\.18851 is a directory/);
      assert.deepEqual(listing(out), ['core.18851 dir']);
    }
  });

  test('a full disk is one line and leaves no file', () => {
    assert.equal(process.getuid?.(), 0, 'the test mounts a tmpfs: it runs as root (as in CI)');
    const dir = join(tmp.path, 'full');
    mkdirSync(dir);
    runOk('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
    try {
      const res = convert(join(dir, 'out'));
      assert.equal(res.status, 1);
      oneLineError(res.stderr, /core\.18851: no space left on device/);
      assert.deepEqual(listing(join(dir, 'out')), []);
      const used = runOk('df', ['--output=used', '-B1', dir]).stdout.trim().split('\n').at(-1);
      assert.equal(Number(used), 0, 'the unnamed file was freed');
    } finally {
      runOk('umount', [dir]);
    }
  });
});
