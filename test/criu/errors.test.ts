import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FormatError } from '../../src/bytes/errors.js';
import { convertCheckpoint } from '../../src/pipelines/criu.js';
import { CheckpointError } from '../../src/sources/criu/image.js';
import { coreshot, tempDir } from '../helpers/proc.js';
import { CRIU, requireFixtures } from './helpers.js';

// Clear errors, never a crash, never a partial output file: directories that are not
// checkpoints, missing and truncated images, a missing mapped file, corrupted copies.

const SINGLE = join(CRIU, 'single');
const ROOT = join(SINGLE, 'root');
const METADATA = [
  'inventory.img',
  'pstree.img',
  'core-18851.img',
  'core-18856.img',
  'mm-18851.img',
  'pagemap-18851.img',
  'pagemap-shmem-52.img',
  'files.img',
  'memfd.img',
];

/** Runs the CLI and checks it failed with one clean line and left no core behind. */
function failsCleanly(args: string[], out: string, pattern: RegExp): void {
  const res = coreshot(['convert', 'criu', ...args, '-o', out]);
  assert.equal(res.status, 1, `exit status; stderr: ${res.stderr}`);
  assert.equal(res.stdout, '');
  const lines = res.stderr.trim().split('\n');
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0]!, /^coreshot: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(res.stderr, /\n\s+at |TypeError|RangeError/);
  if (existsSync(out)) assert.deepEqual(readdirSync(out), [], 'no output left behind');
}

describe('convert criu: errors', () => {
  const tmp = tempDir('coreshot-criu-err-');
  const images = join(tmp.path, 'images');
  const out = join(tmp.path, 'out');
  const restore = (name: string) => cpSync(join(SINGLE, 'images', name), join(images, name));
  before(() => {
    requireFixtures();
    cpSync(join(SINGLE, 'images'), images, { recursive: true });
  });
  after(() => tmp.cleanup());

  it('a directory that is not a checkpoint, or none at all', () => {
    failsCleanly([tmp.path, '--root', ROOT], out, /is not a CRIU checkpoint \(it has no inventory\.img\)/);
    failsCleanly([join(tmp.path, 'nope'), '--root', ROOT], out, /no such directory/);
    failsCleanly([join(SINGLE, 'images', 'pstree.img'), '--root', ROOT], out, /is not a directory/);
  });

  it('an entry without a required field names it; unknown fields are ignored', () => {
    const pstree = join(images, 'pstree.img');
    const head = readFileSync(pstree).subarray(0, 8);
    // pstree_entry { pid: 42 } lacks ppid, pgid, sid.
    const u32 = (v: number) => Buffer.from(Uint32Array.of(v).buffer);
    writeFileSync(pstree, Buffer.concat([head, u32(2), Buffer.from([0x08, 42])]));
    try {
      failsCleanly([images, '--root', ROOT], out, /pstree\.img: .*pstree_entry lacks required field ppid/);
      // The real entry plus an unknown field 15 (varint 7): still converts.
      const real = readFileSync(join(SINGLE, 'images', 'pstree.img')).subarray(12);
      const extended = Buffer.concat([real, Buffer.from([0x78, 7])]);
      writeFileSync(pstree, Buffer.concat([head, u32(extended.length), extended]));
      const res = coreshot(['convert', 'criu', images, '--root', ROOT, '-o', out]);
      assert.equal(res.status, 0, res.stderr);
      rmSync(out, { recursive: true });
    } finally {
      restore('pstree.img');
    }
  });

  it('a missing mapped file names the file and --root', () => {
    failsCleanly(
      [images, '--root', tmp.path],
      out,
      /mapped file \/tmp\/coreshot-fixture\/single\/target \(at 0x[0-9a-f]+\) not found under .*--root DIR/,
    );
  });

  it('a mapped file of another build is refused, naming both build-ids', () => {
    const root = join(tmp.path, 'other-root');
    cpSync(ROOT, root, { recursive: true });
    const exe = join(root, 'tmp/coreshot-fixture/single/target');
    rmSync(exe, { force: true });
    cpSync('/bin/true', exe);
    failsCleanly(
      [images, '--root', root],
      out,
      /mapped file .*\/target has build-id [0-9a-f]+, the checkpointed one had b87f7c3396c6b33861b7c8f924b27dd4c9b9b2ae: pass --root/,
    );
    rmSync(root, { recursive: true, force: true });
  });

  for (const name of [
    'pstree.img',
    'core-18856.img',
    'mm-18851.img',
    'pagemap-18851.img',
    'pages-2.img',
    'files.img',
  ]) {
    it(`a missing ${name} is named`, () => {
      unlinkSync(join(images, name));
      try {
        failsCleanly([images, '--root', ROOT], out, new RegExp(`${name.replace('.', '\\.')}.*missing`));
      } finally {
        restore(name);
      }
    });
  }

  for (const name of METADATA) {
    it(`truncated ${name} (one byte short, or cut inside the first entry)`, () => {
      const size = statSync(join(images, name)).size;
      for (const len of [size - 1, 9]) {
        truncateSync(join(images, name), len);
        try {
          failsCleanly(
            [images, '--root', ROOT],
            out,
            new RegExp(`malformed input: ${name.replace('.', '\\.')}: .*truncated`),
          );
        } finally {
          restore(name);
        }
      }
    });
  }

  it('truncated page data', () => {
    truncateSync(join(images, 'pages-2.img'), statSync(join(images, 'pages-2.img')).size - 4096);
    try {
      failsCleanly(
        [images, '--root', ROOT],
        out,
        /pages-2\.img: truncated: pagemap-18851\.img needs \d+ bytes of pages/,
      );
    } finally {
      restore('pages-2.img');
    }
  });

  it('an unknown --pid, an existing output without --force', () => {
    failsCleanly(
      [images, '--root', ROOT, '--pid', '1'],
      out,
      /process 1 is not in the checkpoint \(it holds 18851\)/,
    );
    const ok = coreshot(['convert', 'criu', images, '--root', ROOT, '-o', out]);
    assert.equal(ok.status, 0, ok.stderr);
    const core = join(out, 'core.18851');
    assert.equal(statSync(core).mode & 0o777, 0o600);
    const before = readFileSync(core).subarray(0, 4096);
    const again = coreshot(['convert', 'criu', images, '--root', ROOT, '-o', out]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^coreshot: .*core\.18851 already exists \(use --force to overwrite\)\n$/);
    assert.deepEqual(readdirSync(out), ['core.18851']);
    const forced = coreshot(['convert', 'criu', images, '--root', ROOT, '-o', out, '--force', '--json']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).cores[0].pid, 18851);
    assert.deepEqual(readFileSync(core).subarray(0, 4096), before);
    rmSync(out, { recursive: true });
  });

  it('seeded corruptions of the metadata images: a clear error or a core, never a crash', async () => {
    let seed = 0x5eed;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const deadline = Date.now() + Number(process.env.CRIU_FUZZ_MS ?? 10_000);
    let runs = 0;
    while (Date.now() < deadline) {
      const name = METADATA[rand(METADATA.length)]!;
      const path = join(images, name);
      const data = readFileSync(path);
      for (let k = 1 + rand(4); k > 0; k--) data[rand(data.length)] = rand(256);
      writeFileSync(path, data);
      const dest = join(tmp.path, `fuzz-${runs}`);
      try {
        await convertCheckpoint(images, dest, { root: ROOT });
      } catch (err) {
        const clean = err instanceof FormatError || err instanceof CheckpointError;
        assert.ok(clean, `${name}: ${(err as Error).stack}`);
        if (existsSync(dest)) assert.deepEqual(readdirSync(dest), [], 'no partial output');
      } finally {
        restore(name);
        rmSync(dest, { recursive: true, force: true });
      }
      runs++;
    }
    assert.ok(runs > 5);
  });
});
