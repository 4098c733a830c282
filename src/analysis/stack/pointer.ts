/**
 * Reading DWARF call-frame bytes: LEB128 numbers and the DW_EH_PE_* pointer encodings of
 * .eh_frame, .eh_frame_hdr and augmentation data. Positions are offsets into one section buffer
 * whose first byte is at link-time address `addr`; every read is bounds-checked (FormatError).
 */
import { Cursor } from '../../bytes/cursor.js';
import type { IntCodec } from '../../bytes/endian.js';
import { FormatError } from '../../bytes/errors.js';

export const DW_EH_PE_omit = 0xff;
export const DW_EH_PE_indirect = 0x80;

/** Value formats (low nibble): size in bytes (0 = address size, -1 = LEB128) and signedness. */
const FORMATS: Readonly<Record<number, { size: number; signed: boolean }>> = {
  0: { size: 0, signed: false }, // absptr
  1: { size: -1, signed: false }, // uleb128
  2: { size: 2, signed: false }, // udata2
  3: { size: 4, signed: false }, // udata4
  4: { size: 8, signed: false }, // udata8
  9: { size: -1, signed: true }, // sleb128
  10: { size: 2, signed: true }, // sdata2
  11: { size: 4, signed: true }, // sdata4
  12: { size: 8, signed: true }, // sdata8
};

/** Applications (bits 4-6): what the value is relative to. */
export type PointerBase = 'section' | 'text' | 'data' | 'func';
const APPLICATIONS: Readonly<Record<number, PointerBase | 'abs' | 'aligned'>> = {
  0: 'abs',
  16: 'section', // pcrel: the address of the field itself
  32: 'text',
  48: 'data',
  64: 'func',
  80: 'aligned',
};

/** Base addresses for textrel/datarel/funcrel pointers (link-time addresses). */
export interface PointerBases {
  text?: bigint;
  data?: bigint;
  func?: bigint;
}

/** The size in bytes of a fixed-size encoding, or undefined for LEB128 and unknown ones. */
export function encodedSize(encoding: number, addressSize: 4 | 8): number | undefined {
  const f = FORMATS[encoding & 0x0f];
  if (!f || f.size < 0) return undefined;
  return f.size === 0 ? addressSize : f.size;
}

/** A bounds-checked reader over one call-frame section (reads stop at `limit`, a record's end). */
export class FrameReader extends Cursor {
  /** Link-time address of buf[0]. */
  readonly addr: bigint;
  readonly addressSize: 4 | 8;

  constructor(buf: Buffer, addr: bigint, codec: IntCodec, addressSize: 4 | 8, base = 0n) {
    super(buf, codec, base);
    this.addr = addr;
    this.addressSize = addressSize;
  }

  fail(what: string, value?: unknown): never {
    throw new FormatError(this.offset, what, value);
  }

  /** An address-sized unsigned word. */
  address(what = 'address'): bigint {
    return this.addressSize === 8 ? this.u64(what) : BigInt(this.u32(what));
  }

  /** Wraps a value to the address size. */
  wrap(v: bigint): bigint {
    return this.addressSize === 8 ? BigInt.asUintN(64, v) : BigInt.asUintN(32, v);
  }

  /**
   * A pointer in `encoding` (DW_EH_PE_omit must be handled by the caller). Indirect pointers are
   * returned as the address of the pointer with `indirect` set: dereferencing needs memory.
   */
  pointer(encoding: number, bases: PointerBases, what = 'pointer'): { value: bigint; indirect: boolean } {
    const fieldAddr = this.addr + BigInt(this.pos);
    const format = FORMATS[encoding & 0x0f];
    const app = APPLICATIONS[encoding & 0x70];
    if (!format || !app) this.fail(`unsupported pointer encoding in ${what}`, encoding);
    let value: bigint;
    if (app === 'aligned') {
      const size = this.addressSize;
      this.pos = Math.ceil(this.pos / size) * size;
    }
    const size = format.size === 0 ? this.addressSize : format.size;
    if (size === -1) value = format.signed ? this.sleb(what) : this.ulebBig(what);
    else if (size === 2) value = BigInt(this.u16(what));
    else if (size === 4) value = BigInt(this.u32(what));
    else value = this.u64(what);
    if (format.signed && size > 0) value = BigInt.asIntN(size * 8, value);
    if (app === 'section') value += fieldAddr;
    else if (app === 'text' || app === 'data' || app === 'func') {
      const base = bases[app];
      if (base === undefined) this.fail(`pointer relative to an unknown ${app} base in ${what}`, encoding);
      value += base;
    }
    return { value: this.wrap(value), indirect: (encoding & DW_EH_PE_indirect) !== 0 };
  }
}
