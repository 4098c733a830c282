// Reading QEMU's own structures out of the QEMU process image: bounded reads, strings, pointers,
// and searches over the writable mappings where QEMU keeps its heap.
import type { IntCodec } from '../../bytes/endian.js';
import type { Mapping, ProcessImage } from '../../model/process-image.js';

/** A structure in the QEMU process did not validate: the walk that found it is abandoned. */
export class Invalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Invalid';
  }
}

export const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** A range of host addresses whose bytes the core holds. */
export interface Segment {
  start: bigint;
  end: bigint;
}

/** Mappings larger than this are not searched for QEMU's own structures (guest RAM, blobs). */
const MAX_SEARCHED_MAPPING = 256n << 20n;

/** Bytes read per step when searching. */
const CHUNK = 16 << 20;

export class HostMemory {
  readonly image: ProcessImage;
  readonly codec: IntCodec;

  constructor(image: ProcessImage, codec: IntCodec) {
    this.image = image;
    this.codec = codec;
  }

  /** The mapping holding addr, if any (mappings are sorted by start). */
  mappingAt(addr: bigint): Mapping | undefined {
    const maps = this.image.mappings;
    let lo = 0;
    let hi = maps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (maps[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    const m = maps[lo];
    return m && m.start <= addr ? m : undefined;
  }

  /** Whether the image can supply every byte of [start, end): from the core, a mapped file, or zero fill. */
  holds(start: bigint, end: bigint): boolean {
    for (let at = start; at < end; ) {
      const r = this.image.memory.regionAt(at);
      if (!r || r.kind === 'missing') return false;
      at = r.end;
    }
    return true;
  }

  bytes(addr: bigint, length: number, what: string): Buffer {
    if (addr === 0n) throw new Invalid(`${what}: NULL pointer`);
    if (!this.mappingAt(addr)) throw new Invalid(`${what}: ${hex(addr)} is not mapped in the QEMU process`);
    const r = this.image.memory.read(addr, length);
    if (r.missing.length > 0) {
      const m = r.missing[0]!;
      throw new Invalid(`${what}: ${hex(m.start)} is unreadable in the core (${m.reason})`);
    }
    return r.data;
  }

  ptr(addr: bigint, what: string): bigint {
    return this.codec.u64(this.bytes(addr, 8, what), 0);
  }

  /**
   * Where QEMU's own structures live: writable, non-executable mappings the core holds, up to
   * 256 MiB each (and [heap] whatever its size), minus the ranges in `exclude` (guest RAM).
   */
  heapSegments(exclude: readonly Segment[] = []): Segment[] {
    return this.image.mappings
      .filter((m) => m.write && !m.exec && m.dumped > 0n)
      .filter((m) => m.dumped <= MAX_SEARCHED_MAPPING || m.path === '[heap]')
      .filter((m) => !exclude.some((x) => m.start < x.end && x.start < m.end))
      .map((m) => ({ start: m.start, end: m.start + m.dumped }));
  }

  /** Addresses (multiples of `align`) in the segments where any of the patterns starts. */
  search(segments: readonly Segment[], patterns: readonly Buffer[], align: number): bigint[] {
    const out: bigint[] = [];
    if (patterns.length === 0) return out;
    const overlap = Math.max(...patterns.map((p) => p.length)) - 1;
    for (const seg of segments) {
      for (let at = seg.start; at < seg.end; at += BigInt(CHUNK)) {
        const left = seg.end - at;
        const len = Number(left < BigInt(CHUNK + overlap) ? left : BigInt(CHUNK + overlap));
        const { data } = this.image.memory.read(at, len);
        for (const p of patterns) {
          for (let i = data.indexOf(p); i >= 0; i = data.indexOf(p, i + 1)) {
            const addr = at + BigInt(i);
            if (i < CHUNK && addr % BigInt(align) === 0n) out.push(addr);
          }
        }
      }
    }
    return out;
  }

  /** The 8-byte encoding of a pointer value, for searching. */
  pointerBytes(v: bigint): Buffer {
    const b = Buffer.alloc(8);
    this.codec.put64(b, 0, v);
    return b;
  }

  /** A NUL-terminated printable string of at most `max` bytes. */
  string(addr: bigint, what: string, max = 256): string {
    const m = this.mappingAt(addr);
    if (!m) throw new Invalid(`${what}: ${hex(addr)} is not mapped in the QEMU process`);
    const avail = m.end - addr;
    const buf = this.bytes(addr, Number(avail < BigInt(max) ? avail : BigInt(max)), what);
    return cString(buf, what);
  }
}

/** The printable text before the first NUL of buf; Invalid if there is none or it is not text. */
export function cString(buf: Buffer, what: string): string {
  const end = buf.indexOf(0);
  if (end < 0) throw new Invalid(`${what}: not NUL-terminated`);
  for (let i = 0; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x20 || b > 0x7e) throw new Invalid(`${what}: not printable text`);
  }
  return buf.toString('latin1', 0, end);
}
