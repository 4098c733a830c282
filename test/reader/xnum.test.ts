// PN_XNUM: more than 65,535 segments. A process with 70,000 mappings (vm.max_map_count raised
// for the test and restored) crashes; the kernel writes e_phnum 0xffff and the real count in
// section 0's sh_info. openCore must read every segment, as many as readelf lists, and memory
// reads must work. A coreshot-written PN_XNUM core must be read by readelf and eu-readelf.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PN_XNUM, PT_LOAD } from '../../src/elf/constants.js';
import { FileSink } from '../../src/io/sink.js';
import { writeElfCore } from '../../src/sinks/elfcore/write.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { coreshot, runOk, tempDir } from '../helpers/proc.js';
import { patternByte, syntheticImage } from '../helpers/synthetic.js';

const MAX_MAP_COUNT = '/proc/sys/vm/max_map_count';
const PAGES = 70000;
const SOURCE = new URL('./xnum.c', import.meta.url).pathname;

/** Program headers of each type as readelf and eu-readelf list them; fails on any warning. */
function loadsListed(core: string): { readelf: number; euReadelf: number } {
  const re = runOk('readelf', ['-lW', core]);
  assert.equal(re.stderr, '', `readelf: ${re.stderr}`);
  const eu = runOk('eu-readelf', ['-l', core]);
  assert.equal(eu.stderr, '', `eu-readelf: ${eu.stderr}`);
  const count = (s: string) => s.split('\n').filter((l) => /^\s+LOAD\s/.test(l)).length;
  return { readelf: count(re.stdout), euReadelf: count(eu.stdout) };
}

describe('PN_XNUM', () => {
  let saved = '';
  let made: MadeCore | undefined;
  before(() => {
    saved = readFileSync(MAX_MAP_COUNT, 'utf8').trim();
    if (Number(saved) < PAGES + 1000) writeFileSync(MAX_MAP_COUNT, String(PAGES + 10000));
  });
  after(() => {
    writeFileSync(MAX_MAP_COUNT, saved);
    made?.cleanup();
  });

  test('a kernel core of a process with 70,000 mappings', () => {
    made = kernelCore('x86_64', { source: SOURCE, args: ['crash'] });
    const m = /region (0x[0-9a-f]+)/.exec(readFileSync(join(made.dir, 'addrs'), 'utf8'));
    assert.ok(m);
    const region = BigInt(m[1]!);
    const core = openCore(made.core);
    try {
      assert.equal(core.elf.header.e_phnum, PN_XNUM);
      assert.equal(core.elf.programHeaders.length, core.elf.sections[0]!.sh_info);
      const listed = loadsListed(made.core);
      assert.equal(core.loads.length, listed.readelf);
      assert.equal(core.loads.length, listed.euReadelf);
      assert.ok(core.loads.length > PAGES);
      assert.equal(core.elf.programHeaders.filter((p) => p.p_type === PT_LOAD).length, core.loads.length);
      for (let i = 0; i < PAGES; i += i < 10 || i > PAGES - 10 ? 1 : 997) {
        const r = core.image.memory.read(region + BigInt(i) * 4096n, 8);
        assert.deepEqual(r.missing, [], `page ${i}`);
        assert.equal(r.data.readBigUInt64LE(0), 0x5a5a000000000000n | BigInt(i), `page ${i}`);
      }
      assert.ok(core.image.mappings.length > PAGES);
    } finally {
      core.close();
    }
    const info = JSON.parse(coreshot(['info', '--json', made.core]).stdout);
    assert.ok(info.mappings > PAGES);
  });

  test('a coreshot-written core with 70,000 mappings is read by readelf and eu-readelf', async () => {
    const dir = tempDir();
    try {
      const image = syntheticImage({ extraMappings: PAGES });
      const out = join(dir.path, 'core');
      await writeElfCore(image, new FileSink(out));
      const listed = loadsListed(out);
      assert.equal(listed.readelf, image.mappings.length);
      assert.equal(listed.euReadelf, image.mappings.length);
      const core = openCore(out);
      try {
        assert.equal(core.loads.length, image.mappings.length);
        const last = image.mappings[image.mappings.length - 1]!;
        const r = core.image.memory.read(last.end - 8n, 8);
        assert.deepEqual(r.missing, []);
        assert.equal(r.data[7], patternByte(last.end - 1n));
      } finally {
        core.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});
