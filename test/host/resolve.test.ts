// The one lookup of files an image names (src/host/resolve.ts): aliases under a root, identity
// checks and the reason for each refusal, on small ELF files gcc links with chosen build-ids.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveMappedFile, underRoot } from '../../src/host/resolve.js';
import { compileC, runOk, tempDir } from '../helpers/proc.js';

const ID_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const ID_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

describe('resolveMappedFile', () => {
  const tmp = tempDir('coreshot-resolve-');
  const root = join(tmp.path, 'root');
  /** Builds a shared object with the given build-id at `path` under the root. */
  const place = (path: string, id: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    compileC(join(tmp.path, 'lib.c'), join(root, path), ['-shared', '-fPIC', `-Wl,--build-id=0x${id}`]);
  };

  before(() => {
    writeFileSync(join(tmp.path, 'lib.c'), 'int coreshot_resolve_test(void) { return 42; }\n');
    place('/usr/lib/x86_64-linux-gnu/libexact.so.1', ID_A);
    place('/lib/x86_64-linux-gnu/libmerged.so.2', ID_A);
    place('/lib64/libmoved.so.3', ID_A);
    place('/usr/lib/x86_64-linux-gnu/libsoname.so.4', ID_A);
    place('/usr/lib/x86_64-linux-gnu/libother.so.5', ID_B);
    mkdirSync(join(root, 'srv'), { recursive: true });
    runOk('mkfifo', [join(root, 'srv/pipe')]);
  });
  after(() => tmp.cleanup());

  test('the path itself, with its build-id and size', () => {
    const r = resolveMappedFile('/usr/lib/x86_64-linux-gnu/libexact.so.1', { buildId: ID_A }, { root });
    assert.ok(r.ok);
    assert.equal(r.path, '/usr/lib/x86_64-linux-gnu/libexact.so.1');
    assert.equal(r.hostPath, join(root, '/usr/lib/x86_64-linux-gnu/libexact.so.1'));
    assert.equal(r.found.buildId, ID_A);
    assert.equal(r.found.size, r.file.size);
    r.file.close();
  });

  test('the merged-/usr alias, even without an identity to check', () => {
    const r = resolveMappedFile('/usr/lib/x86_64-linux-gnu/libmerged.so.2', {}, { root });
    assert.ok(r.ok);
    assert.equal(r.path, '/lib/x86_64-linux-gnu/libmerged.so.2');
    r.file.close();
  });

  test('library directories and soname links only when the identity matches', () => {
    const moved = '/usr/lib/x86_64-linux-gnu/libmoved.so.3';
    assert.equal(resolveMappedFile(moved, {}, { root }).ok, false, 'no identity: not taken');
    const r = resolveMappedFile(moved, { buildId: ID_A }, { root });
    assert.ok(r.ok);
    assert.equal(r.path, '/lib64/libmoved.so.3');
    r.file.close();
    const s = resolveMappedFile('/usr/lib/x86_64-linux-gnu/libsoname.so.4.1.7', { buildId: ID_A }, { root });
    assert.ok(s.ok);
    assert.equal(s.path, '/usr/lib/x86_64-linux-gnu/libsoname.so.4');
    s.file.close();
    const wrong = resolveMappedFile(
      '/usr/lib/x86_64-linux-gnu/libsoname.so.4.1.7',
      { buildId: ID_B },
      { root },
    );
    assert.equal(wrong.ok, false);
  });

  test('refusals say why, with both identities', () => {
    const path = '/usr/lib/x86_64-linux-gnu/libother.so.5';
    const id = resolveMappedFile(path, { buildId: ID_A }, { root });
    assert.ok(!id.ok);
    assert.equal(id.reason, 'build-id-mismatch');
    assert.equal(id.expected.buildId, ID_A);
    assert.equal(id.found.buildId, ID_B);
    assert.equal(id.hostPath, join(root, path));
    const size = resolveMappedFile(path, { size: 1n }, { root });
    assert.ok(!size.ok);
    assert.equal(size.reason, 'size-mismatch');
    assert.equal(size.expected.size, 1n);
    assert.ok(size.found.size !== undefined && size.found.size > 1n);
    const missing = resolveMappedFile('/opt/nothing/here', { buildId: ID_A }, { root });
    assert.ok(!missing.ok);
    assert.equal(missing.reason, 'missing');
    assert.equal(missing.hostPath, join(root, '/opt/nothing/here'));
  });

  test('a FIFO is refused without being opened (it would block)', () => {
    const r = resolveMappedFile('/srv/pipe', {}, { root });
    assert.ok(!r.ok);
    assert.equal(r.reason, 'not-a-regular-file');
  });

  test('".." in an image path stays under the root', () => {
    assert.equal(underRoot('/../../etc/passwd', root), join(root, 'etc/passwd'));
    assert.equal(resolveMappedFile('/../../etc/hostname', {}, { root }).ok, false);
    assert.equal(underRoot('/usr/bin/x', undefined), '/usr/bin/x');
  });
});
