// The inspecting commands on a CRIU image directory, read in place: what they print must agree
// with the same commands on the core `coreshot convert criu` writes of that process (registers,
// mappings, the bytes at an address, search hits), and `info` shows the process tree.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { coreshot, type RunResult, tempDir } from '../helpers/proc.js';
import { CRIU, casePids, convertFixture, requireFixtures } from './helpers.js';

const HEAP_MARKER = 'CORESHOT-HEAP-MARKER-1';

function ok(res: RunResult): string {
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stderr, '');
  return res.stdout;
}

/** A command on a fixture case's image directory (with its root): ARGS, the directory, then REST. */
const onImages = (caseName: string, args: string[], pid?: number, rest: string[] = []) =>
  ok(
    coreshot([
      ...args,
      join(CRIU, caseName, 'images'),
      ...rest,
      '--root',
      join(CRIU, caseName, 'root'),
      ...(pid === undefined ? [] : ['--pid', String(pid)]),
    ]),
  );
/** The same on a core. */
const onCore = (caseName: string, core: string, args: string[], rest: string[] = []) =>
  ok(coreshot([...args, core, ...rest, '--root', join(CRIU, caseName, 'root')]));

interface MapsJson {
  mappings: { start: string; end: string; perms: string; offset: string; path: string | null }[];
}

describe('inspecting a CRIU checkpoint without converting it', () => {
  const out = tempDir('coreshot-criu-inspect-');
  const cases = ['single', 'tree'] as const;

  before(() => {
    requireFixtures();
    for (const c of cases) {
      const res = convertFixture(c, join(out.path, c));
      assert.equal(res.status, 0, res.stderr);
    }
  });
  after(() => out.cleanup());

  const coreOf = (c: string, pid: number) => join(out.path, c, `core.${pid}`);

  it('info shows the process tree, the root task by default, another with --pid', () => {
    const pids = casePids('tree');
    const root = Number(readFileSync(join(CRIU, 'tree', 'reference', 'pid.txt'), 'utf8'));
    const info = JSON.parse(onImages('tree', ['info', '--json']));
    assert.equal(info.pid, root);
    assert.equal(info.format, 'CRIU image directory');
    assert.deepEqual(info.processes.map((p: { pid: number }) => p.pid).sort(), pids);
    for (const p of info.processes)
      if (p.pid !== root) assert.equal(p.ppid, root, `process ${p.pid} is a child of the root task`);
    const text = onImages('tree', ['info']);
    const tree = text.slice(text.indexOf('process tree'));
    assert.match(tree, new RegExp(`^\\* ${root}  \\d+ threads?$`, 'm'));
    for (const pid of pids.filter((p) => p !== root)) assert.match(tree, new RegExp(`^ {4}${pid}  `, 'm'));
    const child = pids.find((p) => p !== root)!;
    const picked = JSON.parse(onImages('tree', ['info', '--json'], child));
    assert.equal(picked.pid, child);
    const core = JSON.parse(onCore('tree', coreOf('tree', child), ['info', '--json']));
    for (const key of ['pid', 'ppid', 'uid', 'gid', 'threads', 'mappings', 'executable'])
      assert.deepEqual(picked[key], core[key], key);
  });

  for (const c of cases) {
    for (const pid of casePids(c)) {
      it(`${c}, process ${pid}: threads and maps agree with the converted core`, () => {
        const images = JSON.parse(onImages(c, ['threads', '--json'], pid));
        const core = JSON.parse(onCore(c, coreOf(c, pid), ['threads', '--json']));
        assert.equal(images.arch, core.arch);
        assert.deepEqual(
          images.threads.map((t: { tid: number; registers: object }) => [t.tid, t.registers]),
          core.threads.map((t: { tid: number; registers: object }) => [t.tid, t.registers]),
        );
        const m1 = (JSON.parse(onImages(c, ['maps', '--json'], pid)) as MapsJson).mappings;
        const m2 = (JSON.parse(onCore(c, coreOf(c, pid), ['maps', '--json'])) as MapsJson).mappings;
        assert.equal(m1.length, m2.length);
        m1.forEach((m, i) => {
          const k = m2[i]!;
          assert.deepEqual([m.start, m.end, m.offset], [k.start, k.end, k.offset]);
          // A core's program headers carry no MAP_SHARED and name no [heap]: only the checkpoint knows.
          assert.equal(m.perms.slice(0, 3), k.perms.slice(0, 3));
          if (k.path !== null) assert.equal(m.path, k.path);
        });
      });

      it(`${c}, process ${pid}: find and read agree with the converted core`, () => {
        const find = ['find', '--json', '--encoding', 'utf-8'];
        const hits = JSON.parse(onImages(c, find, pid, [HEAP_MARKER]));
        const coreHits = JSON.parse(onCore(c, coreOf(c, pid), find, [HEAP_MARKER]));
        const where = (h: { address: string; mapping: { start: string; end: string } }) => [
          h.address,
          h.mapping.start,
          h.mapping.end,
        ];
        assert.ok(hits.hits.length > 0, `${HEAP_MARKER} found`);
        assert.deepEqual(hits.hits.map(where), coreHits.hits.map(where));
        const at = hits.hits[0].address as string;
        const read = JSON.parse(onImages(c, ['read', '--json'], pid, [at, '64']));
        assert.deepEqual(read, JSON.parse(onCore(c, coreOf(c, pid), ['read', '--json'], [at, '64'])));
        assert.equal(Buffer.from(read.hex, 'hex').toString('latin1', 0, HEAP_MARKER.length), HEAP_MARKER);
      });
    }
  }

  it('refuses --pid for a core, a pid the checkpoint lacks, and notes of a directory, in one line', () => {
    const core = coreOf('single', casePids('single')[0]!);
    const onCoreWithPid = coreshot(['threads', core, '--pid', '1']);
    assert.equal(onCoreWithPid.status, 2);
    assert.match(onCoreWithPid.stderr, /^coreshot: --pid picks a process of a CRIU image directory.*\n$/);
    const images = join(CRIU, 'single', 'images');
    const root = join(CRIU, 'single', 'root');
    const absent = coreshot(['maps', images, '--root', root, '--pid', '1']);
    assert.equal(absent.status, 1);
    assert.match(absent.stderr, /^coreshot: process 1 is not in the checkpoint \(it holds \d+\)\n$/);
    const notes = coreshot(['notes', images, '--root', root]);
    assert.equal(notes.status, 1);
    assert.match(notes.stderr, /^coreshot: .* is a CRIU image directory, which has no ELF notes.*\n$/);
  });
});
