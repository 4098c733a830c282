// XSAVE areas: the standard-format layouts of Intel and AMD CPUs (CPUID leaf 0xD facts), and the
// re-layout of a packed (AMD) area to Intel's offsets that debuggers assume.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NT_X86_XSAVE_LAYOUT, NT_X86_XSTATE } from '../../src/abi/notes.js';
import { AMD_XSAVE_LAYOUT, INTEL_XSAVE_LAYOUT } from '../../src/elf/xsave.js';
import { xstateRegset } from '../../src/sources/live/xstate.js';

/** The XCR0 word ptrace stores in the software-reserved bytes of the legacy area. */
const XCR0_AT = 464;
/** x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM, PKRU (an AVX-512 CPU). */
const XCR0_AVX512 = 0x2e7n;
const LEGACY = 576;

/** An area in `layout` whose component bytes say which component they belong to. */
function area(layout: typeof INTEL_XSAVE_LAYOUT, xcr0: bigint, packed: boolean): Buffer {
  const present = INTEL_XSAVE_LAYOUT.components.filter((c) => xcr0 & (1n << BigInt(c.bit)));
  const size = packed ? LEGACY + present.reduce((n, c) => n + c.size, 0) : layout.areaSize(xcr0);
  const b = Buffer.alloc(size, 0xee);
  b.fill(0x11, 0, LEGACY);
  b.writeBigUInt64LE(xcr0, XCR0_AT);
  let at = LEGACY;
  for (const c of present) {
    const off = packed ? at : layout.component(c.bit)!.offset;
    b.fill(c.bit, off, off + c.size);
    at += c.size;
  }
  return b;
}

test('the layouts: Intel has the MPX gap, AMD packs AVX-512 and PKRU after AVX', () => {
  assert.deepEqual(INTEL_XSAVE_LAYOUT.component(2), { bit: 2, offset: 576, size: 256 });
  assert.deepEqual(INTEL_XSAVE_LAYOUT.component(9), { bit: 9, offset: 2688, size: 8 });
  assert.equal(AMD_XSAVE_LAYOUT.component(3), undefined, 'no MPX on AMD');
  assert.deepEqual(AMD_XSAVE_LAYOUT.component(5), { bit: 5, offset: 832, size: 64 });
  assert.equal(INTEL_XSAVE_LAYOUT.areaSize(XCR0_AVX512), 2696);
  // An AMD area is never smaller than the Intel size for the same features.
  assert.equal(AMD_XSAVE_LAYOUT.areaSize(XCR0_AVX512), 2696);
  assert.equal(INTEL_XSAVE_LAYOUT.areaSize(0x3n), 576, 'x87 and SSE only');
  // A checkpoint with MPX state cannot be written in AMD's layout: Intel's is used.
  assert.equal(AMD_XSAVE_LAYOUT.for(0x1fn), INTEL_XSAVE_LAYOUT);
  assert.equal(AMD_XSAVE_LAYOUT.for(XCR0_AVX512), AMD_XSAVE_LAYOUT);
});

test('NT_X86_XSAVE_LAYOUT lists type, size, offset of each component in xcr0', () => {
  const note = AMD_XSAVE_LAYOUT.note(XCR0_AVX512);
  assert.equal(note.owner, 'LINUX');
  assert.equal(note.type, NT_X86_XSAVE_LAYOUT);
  const rows = [];
  for (let o = 0; o < note.desc.length; o += 16)
    rows.push([note.desc.readUInt32LE(o), note.desc.readUInt32LE(o + 4), note.desc.readUInt32LE(o + 8)]);
  assert.deepEqual(rows, [
    [2, 256, 576],
    [5, 64, 832],
    [6, 512, 896],
    [7, 1024, 1408],
    [9, 8, 2432],
  ]);
});

test('a packed (AMD Zen 4) area is moved to Intel offsets, component by component', () => {
  const packed = area(AMD_XSAVE_LAYOUT, XCR0_AVX512, true);
  assert.equal(packed.length, 576 + 256 + 64 + 512 + 1024 + 8);
  const { regset, layout } = xstateRegset(packed);
  assert.equal(regset.type, NT_X86_XSTATE);
  assert.equal(regset.owner, 'LINUX');
  assert.equal(regset.data.length, 2696);
  assert.deepEqual(regset.data.subarray(0, LEGACY), packed.subarray(0, LEGACY));
  for (const c of INTEL_XSAVE_LAYOUT.components) {
    const bytes = regset.data.subarray(c.offset, c.offset + c.size);
    const want = XCR0_AVX512 & (1n << BigInt(c.bit)) ? c.bit : 0;
    assert.ok(
      bytes.every((b) => b === want),
      `component ${c.bit} at ${c.offset}`,
    );
  }
  assert.deepEqual(layout, INTEL_XSAVE_LAYOUT.note(XCR0_AVX512));
});

test('an area already in Intel layout is kept as it is, with the layout note', () => {
  const intel = area(INTEL_XSAVE_LAYOUT, XCR0_AVX512, false);
  const { regset, layout } = xstateRegset(intel);
  assert.equal(regset.data, intel);
  assert.deepEqual(layout, INTEL_XSAVE_LAYOUT.note(XCR0_AVX512));
});

test('areas it cannot place are kept unchanged, without a layout note', () => {
  // A component not known here (bit 17, AMX tile data).
  const amx = area(INTEL_XSAVE_LAYOUT, XCR0_AVX512, false);
  amx.writeBigUInt64LE(XCR0_AVX512 | (1n << 17n), XCR0_AT);
  assert.deepEqual(xstateRegset(amx), { regset: { type: NT_X86_XSTATE, owner: 'LINUX', data: amx } });
  // A size that is neither Intel's nor the packed one.
  const odd = Buffer.concat([area(INTEL_XSAVE_LAYOUT, XCR0_AVX512, false), Buffer.alloc(64)]);
  assert.equal(xstateRegset(odd).layout, undefined);
  // Shorter than the legacy area and header.
  assert.equal(xstateRegset(Buffer.alloc(512)).layout, undefined);
});
