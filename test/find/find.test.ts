// `coreshot find` on a kernel core of a program that planted markers at addresses it wrote down:
// text as UTF-8 and UTF-16LE, hex bytes and a regular expression are each found exactly there,
// `read` confirms the bytes, bad patterns are usage errors, and a 16 TiB mapping the core holds
// no bytes of is not read.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { coreshot } from '../helpers/proc.js';

let made: MadeCore;
let addrs: Record<string, bigint>;

before(() => {
  made = kernelCore('x86_64', { source: new URL('./markers.c', import.meta.url).pathname, args: [] });
  const words = readFileSync(join(made.dir, 'addrs'), 'utf8').trim().split(/\s+/);
  addrs = {};
  for (let i = 0; i + 1 < words.length; i += 2) addrs[words[i]!] = BigInt(words[i + 1]!);
});
after(() => made?.cleanup());

interface Hit {
  address: string;
  length: number;
  form: string;
  mapping: { start: string; end: string; path: string | null };
  context: { address: string; hex: string };
}

function find(args: string[]): Hit[] {
  const res = coreshot(['find', made.core, ...args, '--json']);
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout).hits;
}

/** The bytes `read` gives at a hit, every one of them available. */
function readBack(hit: Hit): Buffer {
  const res = coreshot(['read', '--json', made.core, hit.address, String(hit.length)]);
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout);
  assert.deepEqual(r.missing, []);
  return Buffer.from(r.hex, 'hex');
}

describe('coreshot find', () => {
  test('text is found as UTF-8 at the address the program planted it', () => {
    const hits = find(['FIND-UTF8-MARKER-7f3a']);
    const at = hits.filter((h) => BigInt(h.address) === addrs.text);
    assert.equal(at.length, 1, JSON.stringify(hits));
    assert.equal(at[0]!.form, 'utf-8');
    assert.equal(at[0]!.mapping.path, made.exe);
    assert.equal(readBack(at[0]!).toString('utf8'), 'FIND-UTF8-MARKER-7f3a');
  });

  test('text is found as UTF-16LE on the heap', () => {
    const hits = find(['FIND-UTF16-MARKER']);
    const at = hits.find((h) => BigInt(h.address) === addrs.wide);
    assert.ok(at, JSON.stringify(hits));
    assert.equal(at.form, 'utf-16le');
    assert.equal(readBack(at).toString('utf16le'), 'FIND-UTF16-MARKER');
    // --encoding utf-8 alone does not find the UTF-16 copy.
    assert.ok(
      !find(['FIND-UTF16-MARKER', '--encoding', 'utf-8']).some((h) => BigInt(h.address) === addrs.wide),
    );
  });

  test('hex bytes, with a context hexdump around the hit', () => {
    const hits = find(['--hex', 'de c0 ad 0b 00 fe ed fa', '--context', '4']);
    const at = hits.find((h) => BigInt(h.address) === addrs.bytes);
    assert.ok(at, JSON.stringify(hits));
    assert.equal(at.context.hex, '5a5a5a5adec0ad0b00feedfa5a5a5a5a');
    assert.equal(BigInt(at.context.address), addrs.bytes! - 4n);
  });

  test('a regular expression', () => {
    const hits = find(['--regex', 'user=[a-z]+;id=[0-9]+;']);
    const at = hits.find((h) => BigInt(h.address) === addrs.regex);
    assert.ok(at, JSON.stringify(hits));
    assert.equal(at.length, 'user=alice;id=42;'.length);
    assert.equal(readBack(at).toString('latin1'), 'user=alice;id=42;');
  });

  test('text output names the hit and the count', () => {
    const res = coreshot(['find', made.core, 'FIND-UTF8-MARKER-7f3a', '--encoding', 'utf-8']);
    assert.equal(res.status, 0, res.stderr);
    assert.match(
      res.stdout,
      new RegExp(`^0x${addrs.text!.toString(16)}  utf-8  21 bytes  in ${made.exe} `, 'm'),
    );
    assert.match(res.stdout, /^\d+ hits?$/m);
  });

  test('a 16 TiB reservation the core holds no bytes of is listed but not searched', () => {
    const maps = coreshot(['maps', '--json', made.core]);
    assert.equal(maps.status, 0, maps.stderr);
    const reserve = JSON.parse(maps.stdout).mappings.find(
      (m: { start: string }) => BigInt(m.start) === addrs.reserve,
    );
    assert.ok(reserve, 'the reservation is a mapping');
    assert.equal(BigInt(reserve.end) - BigInt(reserve.start), 16n << 40n);
    // Reading it in 8 MiB chunks would take hours; the bytes held are a few MiB. The limit is
    // generous for a loaded machine; the search itself takes well under a second.
    const res = coreshot(['find', made.core, 'FIND-UTF8-MARKER-7f3a', '--json'], { timeoutMs: 90_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.ok(JSON.parse(res.stdout).hits.some((h: Hit) => BigInt(h.address) === addrs.text));
  });

  test('bad patterns are one-line usage errors', () => {
    for (const args of [
      ['--hex', 'xyz'],
      ['--regex', '(unclosed'],
      ['x', '--max', '0'],
    ]) {
      const res = coreshot(['find', made.core, ...args]);
      assert.notEqual(res.status, 0);
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.match(res.stderr, /^coreshot: /);
    }
  });
});
