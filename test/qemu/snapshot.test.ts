// Acceptance (issue 12), QEMU: a guest keeps rewriting a counter while coreshot dumps the QEMU
// process in snapshot mode. QEMU marks guest RAM MADV_DONTFORK, so the fork snapshot holds it
// only because coreshot freezes such areas for the fork; each `dump` + `guest-memory` must show
// the guest's memory at one instant, and QEMU must run on unharmed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { coreshot, isAlive, ROOT, runOk, tempDir } from '../helpers/proc.js';
import {
  type Guest,
  guestWord,
  loads,
  qmp,
  readPhys,
  requireTools,
  sleep,
  startGuest,
  stopGuest,
} from './guest.js';

requireTools('qemu-system-x86_64', 'as', 'ld', 'eu-readelf');

/** Where test/qemu/progs/counter.S puts its marker and its counter, in the order it writes them. */
const MARKER = { addr: 0x500n, value: 0x434f5245 };
const COUNTERS = [0x10000n, 0x50000n, 0x90000n];

/** Builds the counter boot sector into `dir`; returns the disk image. */
function buildBootSector(dir: string): string {
  const obj = join(dir, 'counter.o');
  const img = join(dir, 'counter.img');
  runOk('as', ['--32', '-o', obj, join(ROOT, 'test/qemu/progs/counter.S')]);
  runOk('ld', ['-m', 'elf_i386', '-Ttext', '0x7c00', '--oformat', 'binary', '-o', img, obj]);
  assert.equal(readFileSync(img).length, 512);
  return img;
}

/** The smaps ranges of `pid` marked MADV_DONTFORK ("dc") and their sizes. */
function dontforkBytes(pid: number): bigint {
  let total = 0n;
  let size = 0n;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m) size = BigInt(`0x${m[2]}`) - BigInt(`0x${m[1]}`);
    else if (line.startsWith('VmFlags:') && / dc\b/.test(line)) total += size;
  }
  return total;
}

/**
 * Whether three counters written in order hold one instant: all equal, or the first ones one
 * ahead of the rest (32-bit arithmetic).
 */
function oneInstant([a, b, c]: number[]): boolean {
  const ahead = (x: number, y: number) => (x - y) >>> 0 <= 1;
  return ahead(a!, c!) && (b === a || b === c);
}

describe('coreshot dump of a running QEMU guest: guest RAM (MADV_DONTFORK) at one instant', () => {
  const tmp = tempDir('coreshot-qemu-snapshot-');
  let guest: Guest | undefined;

  before(async () => {
    const img = buildBootSector(tmp.path);
    guest = await startGuest(tmp.path, {
      memory: '32M',
      args: ['-drive', `file=${img},format=raw,if=ide`],
    });
    // The BIOS loads the boot sector, which writes its marker, then its counters.
    for (;;) {
      if (
        (await guestWord(guest, MARKER.addr)) === MARKER.value &&
        (await guestWord(guest, COUNTERS[2]!)) > 0
      )
        break;
      assert.ok(isAlive(guest.pid), 'QEMU ended before the guest program ran');
      await sleep(100);
    }
  });
  after(async () => {
    if (guest) await stopGuest(guest);
    tmp.cleanup();
  });

  test('10 snapshot dumps in a row: each guest-memory holds the counters of one instant; QEMU runs on', async () => {
    const g = guest!;
    // What makes this a test of the freeze: QEMU keeps guest RAM out of forks.
    assert.ok(dontforkBytes(g.pid) >= 32n << 20n, 'QEMU has no MADV_DONTFORK guest RAM');
    const core = join(tmp.path, 'qemu.core');
    const vmcore = join(tmp.path, 'guest.vmcore');
    let last = -1;
    for (let i = 0; i < 10; i++) {
      const res = coreshot(['dump', String(g.pid), '-o', core, '--force'], { timeoutMs: 300_000 });
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stderr, /\(snapshot\)/);
      assert.match(res.stderr, /\d+ MADV_DONTFORK\/WIPEONFORK areas frozen for the fork/);
      assert.doesNotMatch(res.stderr, /not frozen/);
      const ex = coreshot(['guest-memory', core, '-o', vmcore, '--force'], { timeoutMs: 300_000 });
      assert.equal(ex.status, 0, ex.stderr);
      const segs = loads(vmcore);
      assert.equal(readPhys(vmcore, segs, MARKER.addr, 4).readUInt32LE(0), MARKER.value);
      const words = COUNTERS.map((a) => readPhys(vmcore, segs, a, 4).readUInt32LE(0));
      assert.ok(oneInstant(words), `dump ${i + 1}: counters ${words.map((w) => w.toString(16)).join(' ')}`);
      // The guest ran between two dumps (the counter has not wrapped: it would take minutes).
      assert.ok(words[0]! > last, `dump ${i + 1}: counter ${words[0]} not beyond ${last}`);
      last = words[0]!;
      assert.ok(isAlive(g.pid), `QEMU ended during dump ${i + 1}`);
    }
    // Unharmed: still running, the counter still advancing, the marker intact.
    const [status] = (await qmp(g, [{ execute: 'query-status' }])) as { status: string }[];
    assert.equal(status?.status, 'running');
    const now = await guestWord(g, COUNTERS[0]!);
    assert.ok(now > last, `the guest counter stands at ${now}, not beyond the last dump's ${last}`);
    assert.equal(await guestWord(g, MARKER.addr), MARKER.value);
  });
});
