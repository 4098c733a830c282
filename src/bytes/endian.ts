export type Endian = 'le' | 'be';

/** Fixed-width integer codecs for one byte order. Offsets are into the given buffer. */
export interface IntCodec {
  readonly endian: Endian;
  u16(buf: Buffer, off: number): number;
  u32(buf: Buffer, off: number): number;
  u64(buf: Buffer, off: number): bigint;
  i32(buf: Buffer, off: number): number;
  i64(buf: Buffer, off: number): bigint;
  put16(buf: Buffer, off: number, v: number): void;
  put32(buf: Buffer, off: number, v: number): void;
  put64(buf: Buffer, off: number, v: bigint): void;
}

export const LE: IntCodec = {
  endian: 'le',
  u16: (b, o) => b.readUInt16LE(o),
  u32: (b, o) => b.readUInt32LE(o),
  u64: (b, o) => b.readBigUInt64LE(o),
  i32: (b, o) => b.readInt32LE(o),
  i64: (b, o) => b.readBigInt64LE(o),
  put16: (b, o, v) => void b.writeUInt16LE(v & 0xffff, o),
  put32: (b, o, v) => void b.writeUInt32LE(v >>> 0, o),
  put64: (b, o, v) => void b.writeBigUInt64LE(BigInt.asUintN(64, v), o),
};

export const BE: IntCodec = {
  endian: 'be',
  u16: (b, o) => b.readUInt16BE(o),
  u32: (b, o) => b.readUInt32BE(o),
  u64: (b, o) => b.readBigUInt64BE(o),
  i32: (b, o) => b.readInt32BE(o),
  i64: (b, o) => b.readBigInt64BE(o),
  put16: (b, o, v) => void b.writeUInt16BE(v & 0xffff, o),
  put32: (b, o, v) => void b.writeUInt32BE(v >>> 0, o),
  put64: (b, o, v) => void b.writeBigUInt64BE(BigInt.asUintN(64, v), o),
};

export function codecFor(endian: Endian): IntCodec {
  return endian === 'le' ? LE : BE;
}

/** Reads an unsigned integer of 1, 2, 4 or 8 bytes as a bigint. */
export function readUint(c: IntCodec, buf: Buffer, off: number, size: number): bigint {
  switch (size) {
    case 1:
      return BigInt(buf.readUInt8(off));
    case 2:
      return BigInt(c.u16(buf, off));
    case 4:
      return BigInt(c.u32(buf, off));
    case 8:
      return c.u64(buf, off);
    default:
      throw new RangeError(`unsupported integer size ${size}`);
  }
}

/** Writes an unsigned integer of 1, 2, 4 or 8 bytes (truncated to that width). */
export function writeUint(c: IntCodec, buf: Buffer, off: number, size: number, v: bigint): void {
  switch (size) {
    case 1:
      buf.writeUInt8(Number(BigInt.asUintN(8, v)), off);
      return;
    case 2:
      c.put16(buf, off, Number(BigInt.asUintN(16, v)));
      return;
    case 4:
      c.put32(buf, off, Number(BigInt.asUintN(32, v)));
      return;
    case 8:
      c.put64(buf, off, v);
      return;
    default:
      throw new RangeError(`unsupported integer size ${size}`);
  }
}
