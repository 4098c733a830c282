// The address expressions `read` and the viewer take (analysis/address-expr.ts): numbers,
// registers, symbols, + and - offsets, and the kind of each refusal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AddressLookup,
  isAddressError,
  parseAddressExpr,
  resolveAddress,
} from '../../src/analysis/address-expr.js';

const REGS = new Map<string, bigint>([
  ['rsp', 0x7ffc1000n],
  ['rip', 0x401000n],
  ['fs.base', 0x7f0000000000n],
]);
const SYMS = new Map<string, bigint>([
  ['main', 0x401136n],
  ['_ZN3foo3barEv', 0x402000n],
  ['data.rel', 0x500000n],
]);
const lookup: AddressLookup = {
  register: (n) => REGS.get(n),
  registerNames: () => [...REGS.keys()],
  symbol: (n) => SYMS.get(n),
};
const value = (text: string) => {
  const v = resolveAddress(text, lookup);
  assert.ok(!isAddressError(v), `${text}: ${isAddressError(v) ? v.what : ''}`);
  return v;
};
const refusal = (text: string) => {
  const v = resolveAddress(text, lookup);
  assert.ok(isAddressError(v), `${text} should be refused`);
  return v;
};

test('numbers: decimal, 0x hex (any case), _ separators', () => {
  assert.equal(value('4096'), 4096n);
  assert.equal(value('0x7FFC1000'), 0x7ffc1000n);
  assert.equal(value('0xffff_ffff_ffff_f000'), 0xfffffffffffff000n);
});

test('registers, symbols and offsets, with or without spaces', () => {
  assert.equal(value('$rsp'), 0x7ffc1000n);
  assert.equal(value('$RSP+0x20'), 0x7ffc1020n);
  assert.equal(value('$rsp - 8'), 0x7ffc0ff8n);
  assert.equal(value('$fs.base+16'), 0x7f0000000010n);
  assert.equal(value('main+16'), 0x401146n);
  assert.equal(value('main + 0x10 - 4'), 0x401142n);
  assert.equal(value('_ZN3foo3barEv'), 0x402000n);
  assert.equal(value('data.rel+$rsp-$rsp'), 0x500000n);
});

test('the parse keeps each operand with its sign', () => {
  assert.deepEqual(parseAddressExpr('$rsp-0x10+main'), [
    { sign: 1n, term: { kind: 'register', name: 'rsp' } },
    { sign: -1n, term: { kind: 'number', value: 0x10n } },
    { sign: 1n, term: { kind: 'symbol', name: 'main' } },
  ]);
});

test('refusals say what is wrong, by kind', () => {
  const reg = refusal('$xyz+8');
  assert.equal(reg.kind, 'unknown-register');
  assert.equal(reg.what, 'no register $xyz (registers: $rsp $rip $fs.base)');
  assert.deepEqual(refusal('nosuch'), { kind: 'unknown-symbol', what: "no symbol named 'nosuch'" });
  for (const bad of ['', '  ', '$rsp+', '+8', '$rsp++8', '$rsp 8', 'main#1', '0x10 main'])
    assert.equal(refusal(bad).kind, 'syntax', bad);
  assert.equal(refusal('8-16').kind, 'out-of-range');
  assert.equal(refusal('0xffffffffffffffff+1').kind, 'out-of-range');
  assert.equal(value('0xffffffffffffffff'), 0xffffffffffffffffn);
});
