import { NT_X86_XSAVE_LAYOUT } from '../abi/notes.js';
import type { RawNote } from '../model/process-image.js';
import { leHex, XSAVE_HEADER_OFFSET, XSAVE_XCR0_OFFSET } from './notes/x86.js';

/** Where the legacy area and the XSAVE header end: extended components start here. */
const XSAVE_LEGACY_END = 576;

/** Where one XSAVE state component sits in the standard (non-compacted) format. */
export interface XsaveComponent {
  bit: number;
  offset: number;
  size: number;
}

/**
 * The standard-format XSAVE layout of a CPU: component offsets and sizes are CPUID facts
 * (leaf 0xD) that differ between vendors (AMD has no MPX holes). Cores store NT_X86_XSTATE in
 * the layout of the CPU the process ran on, as the kernel does.
 */
export class XsaveLayout {
  readonly components: readonly XsaveComponent[];
  readonly source: string;

  constructor(components: XsaveComponent[], source: string) {
    this.components = components;
    this.source = source;
  }

  component(bit: number): XsaveComponent | undefined {
    return this.components.find((c) => c.bit === bit);
  }

  /**
   * The layout to write an area with these components in: this one when it places every
   * extended component of xcr0, else Intel's (a checkpoint from a CPU with features this one
   * lacks).
   */
  for(xcr0: bigint): XsaveLayout {
    for (let bit = 2; bit < 64; bit++)
      if (xcr0 & (1n << BigInt(bit)) && !this.component(bit)) return INTEL_XSAVE_LAYOUT;
    return this;
  }

  /**
   * Size of the area for xcr0. It is never smaller than the architectural (Intel) size for the
   * same components, the size debuggers expect, so the note always holds what they look for.
   */
  areaSize(xcr0: bigint): number {
    const end = this.end(xcr0);
    return this === INTEL_XSAVE_LAYOUT ? end : Math.max(end, INTEL_XSAVE_LAYOUT.end(xcr0));
  }

  /** Where the last component of xcr0 ends in this layout (at least the legacy area and header). */
  end(xcr0: bigint): number {
    let end = XSAVE_LEGACY_END;
    for (const c of this.components) if (xcr0 & (1n << BigInt(c.bit))) end = Math.max(end, c.offset + c.size);
    return end;
  }

  /** NT_X86_XSAVE_LAYOUT (struct x86_xfeat_component[]: type, size, offset, flags) for xcr0. */
  note(xcr0: bigint): RawNote {
    const used = this.components.filter((c) => xcr0 & (1n << BigInt(c.bit)));
    const desc = Buffer.alloc(used.length * 16);
    used.forEach((c, i) => {
      desc.writeUInt32LE(c.bit, i * 16);
      desc.writeUInt32LE(c.size, i * 16 + 4);
      desc.writeUInt32LE(c.offset, i * 16 + 8);
    });
    return { owner: 'LINUX', type: NT_X86_XSAVE_LAYOUT, desc };
  }
}

export const xsaveComponent = (bit: number, offset: number, size: number): XsaveComponent => ({
  bit,
  offset,
  size,
});

/**
 * The layout of an XSAVE area of `size` bytes holding the components of `xcr0`, when nothing
 * says which: the known vendor layout (Intel, AMD) that ends exactly there (the kernel's area
 * ends after the last component of XCR0, at the CPU's offsets), else the components packed in
 * bit order after the header; undefined when none fits.
 */
export function layoutOfArea(xcr0: bigint, size: number): XsaveLayout | undefined {
  const comps: XsaveComponent[] = [];
  let at = XSAVE_LEGACY_END;
  for (const c of INTEL_XSAVE_LAYOUT.components) {
    if (!(xcr0 & (1n << BigInt(c.bit)))) continue;
    comps.push(xsaveComponent(c.bit, at, c.size));
    at += c.size;
  }
  const packed = new XsaveLayout(comps, 'components packed in bit order');
  return [INTEL_XSAVE_LAYOUT, AMD_XSAVE_LAYOUT, packed].find(
    (l) => l.for(xcr0) === l && l.end(xcr0) === size,
  );
}

/**
 * Re-lays an XSAVE area: the legacy area and header from `area`, each component of `from` that
 * `to` also places copied to its offset, into a copy of `base` (an area already in `to`'s layout,
 * e.g. what the kernel returned for this CPU, whose XCR0 word is kept). xstate_bv keeps only the
 * components `to` has.
 */
export function relayArea(area: Buffer, from: XsaveLayout, base: Buffer, to: XsaveLayout): Buffer {
  const out = Buffer.from(base);
  const xcr0 = base.readBigUInt64LE(XSAVE_XCR0_OFFSET);
  area.copy(out, 0, 0, XSAVE_XCR0_OFFSET);
  let bv = area.readBigUInt64LE(XSAVE_HEADER_OFFSET) & 3n;
  for (const c of from.components) {
    const dest = to.component(c.bit);
    if (!dest || !(xcr0 & (1n << BigInt(c.bit))) || c.offset + c.size > area.length) continue;
    area.copy(out, dest.offset, c.offset, c.offset + Math.min(c.size, dest.size));
    bv |= area.readBigUInt64LE(XSAVE_HEADER_OFFSET) & (1n << BigInt(c.bit));
  }
  out.fill(0, XSAVE_HEADER_OFFSET, XSAVE_LEGACY_END);
  out.writeBigUInt64LE(bv, XSAVE_HEADER_OFFSET);
  return out;
}

/** Intel's standard layout (also what debuggers without layout information assume). */
export const INTEL_XSAVE_LAYOUT = new XsaveLayout(
  [
    xsaveComponent(2, 576, 256),
    xsaveComponent(3, 960, 64),
    xsaveComponent(4, 1024, 64),
    xsaveComponent(5, 1088, 64),
    xsaveComponent(6, 1152, 512),
    xsaveComponent(7, 1664, 1024),
    xsaveComponent(9, 2688, 8),
  ],
  'Intel standard layout',
);

/** AMD Zen's standard layout: no MPX, so AVX-512 and PKRU follow AVX directly. */
export const AMD_XSAVE_LAYOUT = new XsaveLayout(
  [
    xsaveComponent(2, 576, 256),
    xsaveComponent(5, 832, 64),
    xsaveComponent(6, 896, 512),
    xsaveComponent(7, 1408, 1024),
    xsaveComponent(9, 2432, 8),
  ],
  'AMD standard layout',
);

/** The layout an NT_X86_XSAVE_LAYOUT note states (struct x86_xfeat_component: type, size, offset). */
export function layoutOfNote(
  components: readonly { type: number; size: number; offset: number }[],
): XsaveLayout {
  return new XsaveLayout(
    components.filter((c) => c.type >= 2).map((c) => xsaveComponent(c.type, c.offset, c.size)),
    'NT_X86_XSAVE_LAYOUT',
  );
}

/**
 * Vector registers of a standard-format XSAVE area beyond the legacy xmm: ymm (AVX), the
 * AVX-512 mask registers k0-k7 and zmm, as hex numbers (most significant digit first). Each is
 * present when its components are enabled in XCR0 and placed by `layout`; a component enabled
 * but clear in xstate_bv is in its initial state, zero.
 */
export interface XsaveVectors {
  ymm?: string[];
  k?: string[];
  zmm?: string[];
}

/** Bits of the state components the vector registers are made of. */
const SSE = 1;
const AVX = 2;
const OPMASK = 5;
const ZMM_HI256 = 6;
const HI16_ZMM = 7;

/** xmm (and so ymm, zmm) registers of a process: 16 in 64-bit mode, 8 in 32-bit mode. */
export function xsaveVectors(area: Buffer, layout: XsaveLayout, registers: 8 | 16): XsaveVectors {
  const xcr0 = area.readBigUInt64LE(XSAVE_XCR0_OFFSET);
  const bv = area.readBigUInt64LE(XSAVE_HEADER_OFFSET);
  const bit = (b: number) => 1n << BigInt(b);
  /** Entry `i` (of `size` bytes) of a component; zeros in its initial state; undefined if absent. */
  const part = (b: number, i: number, size: number): Buffer | undefined => {
    const at = b === SSE ? 160 : layout.component(b)?.offset;
    if (!(xcr0 & bit(b)) || at === undefined || at + (i + 1) * size > area.length) return undefined;
    return bv & bit(b) ? area.subarray(at + i * size, at + (i + 1) * size) : Buffer.alloc(size);
  };
  const value = (pieces: (Buffer | undefined)[]) =>
    pieces.every((p) => p !== undefined) ? leHex(Buffer.concat(pieces as Buffer[])) : undefined;
  const bank = (count: number, pieces: (i: number) => (Buffer | undefined)[]) => {
    const out = Array.from({ length: count }, (_, i) => value(pieces(i)));
    return out.every((v) => v !== undefined) ? (out as string[]) : undefined;
  };
  const ymm = (i: number) => [part(SSE, i, 16), part(AVX, i, 16)];
  const out: XsaveVectors = {};
  const y = bank(registers, ymm);
  if (y) out.ymm = y;
  const k = bank(8, (i) => [part(OPMASK, i, 8)]);
  if (k) out.k = k;
  const zmm = bank(registers === 16 ? 32 : 8, (i) =>
    i < 16 ? [...ymm(i), part(ZMM_HI256, i, 32)] : [part(HI16_ZMM, i - 16, 64)],
  );
  if (zmm) out.zmm = zmm;
  return out;
}
