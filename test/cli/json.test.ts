// src/cli/json.ts, the writer of every --json, on the values no real core gives the golden tests:
// sizes past 2^53, durations with many decimals, bytes, absent fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toJson } from '../../src/cli/json.js';

test('a field name decides how a bigint is written', () => {
  const doc = { start: 0x7ffd0000n, size: 4096n, fileSize: 1n << 40n, sec: 3n, rax: 0n };
  assert.deepEqual(JSON.parse(toJson(doc)), {
    start: '0x7ffd0000',
    size: 4096,
    fileSize: 2 ** 40,
    sec: 3,
    rax: '0x0',
  });
});

test('a byte count past 2^53 is written exactly', () => {
  assert.equal(toJson({ size: (1n << 60n) + 1n }), '{\n  "size": 1152921504606846977\n}');
  assert.equal(toJson({ offset: -1n }), '{\n  "offset": -1\n}');
});

test('durations are rounded to 0.1 ms; other numbers are left alone', () => {
  assert.deepEqual(JSON.parse(toJson({ pauseMs: 8.679570000000012, totalMs: 300, ratio: 0.125 })), {
    pauseMs: 8.7,
    totalMs: 300,
    ratio: 0.125,
  });
});

test('bytes are one hex string; undefined fields are left out, as JSON.stringify leaves them', () => {
  const doc = { data: Buffer.from([0xde, 0xad]), gone: undefined, list: [1n, undefined], none: null };
  assert.equal(toJson(doc), JSON.stringify({ data: 'dead', list: ['0x1', null], none: null }, null, 2));
  assert.equal(toJson({ empty: [], nested: {} }), JSON.stringify({ empty: [], nested: {} }, null, 2));
});
