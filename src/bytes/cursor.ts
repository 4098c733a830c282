import type { IntCodec } from './endian.js';
import { FormatError } from './errors.js';

/**
 * A bounds-checked reader over a buffer. Every read past the end raises a FormatError naming the
 * absolute offset in the input (`base` + position), never a RangeError.
 */
export class Cursor {
  readonly buf: Buffer;
  readonly codec: IntCodec;
  /** Absolute offset of buf[0] in the input, for error messages. */
  readonly base: bigint;
  pos = 0;
  /** Reads stop here (e.g. the end of the current record): the end of the buffer unless set. */
  limit: number;

  constructor(buf: Buffer, codec: IntCodec, base: bigint | number = 0n) {
    this.buf = buf;
    this.codec = codec;
    this.base = BigInt(base);
    this.limit = buf.length;
  }

  get remaining(): number {
    return this.limit - this.pos;
  }

  /** Absolute input offset of the current position. */
  get offset(): bigint {
    return this.base + BigInt(this.pos);
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.limit) {
      throw new FormatError(this.offset, `truncated ${what}: need ${n} bytes, have ${this.remaining}`);
    }
  }

  seek(pos: number): this {
    if (pos < 0 || pos > this.buf.length)
      throw new FormatError(this.base + BigInt(pos), 'seek out of bounds');
    this.pos = pos;
    return this;
  }

  skip(n: number, what = 'data'): this {
    this.need(n, what);
    this.pos += n;
    return this;
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.codec.u16(this.buf, this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.codec.u32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  i32(what = 'i32'): number {
    this.need(4, what);
    const v = this.codec.i32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  u64(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.codec.u64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  i64(what = 'i64'): bigint {
    this.need(8, what);
    const v = this.codec.i64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  /** An unsigned word of `size` bytes (4 or 8), as bigint. */
  word(size: 4 | 8, what = 'word'): bigint {
    return size === 8 ? this.u64(what) : BigInt(this.u32(what));
  }

  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** An unsigned LEB128 that fits a JS number (counts, indices, offsets). */
  uleb(what = 'ULEB128'): number {
    let v = 0;
    for (let mul = 1; ; mul *= 128) {
      const b = this.u8(what);
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) break;
      if (mul >= 2 ** 49) throw new FormatError(this.offset, `${what} too large`);
    }
    if (v > Number.MAX_SAFE_INTEGER) throw new FormatError(this.offset, `${what} too large`, v);
    return v;
  }

  /** An unsigned LEB128 of up to 64 bits (longer encodings are refused). */
  ulebBig(what = 'ULEB128'): bigint {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8(what);
      if (shift < 64n) v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return BigInt.asUintN(64, v);
      shift += 7n;
      if (shift > 70n) throw new FormatError(this.offset, `${what} too long`);
    }
  }

  /** A signed LEB128 of up to 64 bits. */
  sleb(what = 'SLEB128'): bigint {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8(what);
      if (shift < 64n) v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) {
        if (b & 0x40 && shift < 64n) v -= 1n << shift;
        return BigInt.asIntN(64, v);
      }
      if (shift > 70n) throw new FormatError(this.offset, `${what} too long`);
    }
  }

  /** A NUL-terminated string; fails if no NUL is found before the end. */
  cstring(what = 'string'): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new FormatError(this.offset, `unterminated ${what}`);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
}

/** Text of a fixed-size, NUL-padded char array. */
export function fixedString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}
