// The decoded size of a zstd file, from its frame headers alone: every frame's content size,
// found by stepping over its blocks (3-byte headers) without decompressing them. Unknown when a
// frame does not record its size (streams written through a pipe).
import type { RandomAccess } from '../random-access.js';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const DICT_ID_BYTES = [0, 1, 2, 4] as const;
const FCS_BYTES = [0, 2, 4, 8] as const;

/** Bytes read at a time: a block header is 3 bytes, and a block of zeros only 4 in all. */
const WINDOW = 4096;

/** The sum of every frame's content size, or undefined if a frame lacks one or is cut short. */
export function zstdContentSize(file: RandomAccess): bigint | undefined {
  const ra = windowed(file);
  let at = 0n;
  let total = 0n;
  while (at < ra.size) {
    const head = ra.read(at, 18);
    if (head.length < 8) return undefined;
    const magic = head.readUInt32LE(0);
    if ((magic & SKIPPABLE_MASK) === SKIPPABLE_MAGIC) {
      at += 8n + BigInt(head.readUInt32LE(4));
      continue;
    }
    if (magic !== FRAME_MAGIC) return undefined;
    const fhd = head[4] as number;
    const single = (fhd & 0x20) !== 0;
    const fcsFlag = fhd >> 6;
    const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : FCS_BYTES[fcsFlag];
    if (!fcsBytes) return undefined;
    const fcsAt = 5 + (single ? 0 : 1) + (DICT_ID_BYTES[fhd & 3] ?? 0);
    if (head.length < fcsAt + fcsBytes) return undefined;
    total +=
      fcsBytes === 1
        ? BigInt(head[fcsAt] as number)
        : fcsBytes === 2
          ? BigInt(head.readUInt16LE(fcsAt) + 256)
          : fcsBytes === 4
            ? BigInt(head.readUInt32LE(fcsAt))
            : head.readBigUInt64LE(fcsAt);
    at += BigInt(fcsAt + fcsBytes);
    for (let last = false; !last; ) {
      const block = ra.read(at, 3);
      if (block.length < 3) return undefined;
      const word = block.readUIntLE(0, 3);
      last = (word & 1) !== 0;
      const type = (word >> 1) & 3;
      at += 3n + BigInt(type === 1 ? 1 : word >> 3);
    }
    if (fhd & 0x04) at += 4n;
  }
  return at === ra.size ? total : undefined;
}

/** Reads through a window of the file, so stepping over thousands of small blocks is not a read each. */
function windowed(file: RandomAccess): Pick<RandomAccess, 'read' | 'size'> {
  let base = 0n;
  let window: Buffer = Buffer.alloc(0);
  return {
    size: file.size,
    read(at, length) {
      if (at < base || at + BigInt(length) > base + BigInt(window.length)) {
        base = at;
        window = file.read(at, Math.max(length, WINDOW));
      }
      const off = Number(at - base);
      return window.subarray(off, off + length);
    },
  };
}
