// The seek table of zstd's seekable format (zstd contrib/seekable_format): a skippable frame at the
// end of the file listing every frame's compressed and decompressed size, optionally a checksum.
//   skippable header: u32 magic 0x184D2A5E, u32 frame size
//   entries:          u32 compressed size, u32 decompressed size, [u32 checksum]
//   footer:           u32 number of frames, u8 descriptor (bit 7: checksums), u32 magic 0x8F92EAB1
import { FormatError } from '../../bytes/errors.js';
import type { RandomAccess } from '../random-access.js';

const SKIPPABLE_MAGIC = 0x184d2a5e;
const SEEKABLE_MAGIC = 0x8f92eab1;
const FOOTER = 9;
const HEADER = 8;
const CHECKSUM_FLAG = 0x80;

export interface SeekFrame {
  compressedOffset: bigint;
  compressedSize: number;
  offset: bigint;
  size: number;
}

/** The frames listed at the end of `ra`, or undefined when it ends with no seek table. */
export function readSeekTable(ra: RandomAccess): SeekFrame[] | undefined {
  if (ra.size < BigInt(HEADER + FOOTER)) return undefined;
  const footer = ra.read(ra.size - BigInt(FOOTER), FOOTER);
  if (footer.readUInt32LE(5) !== SEEKABLE_MAGIC) return undefined;
  const count = footer.readUInt32LE(0);
  const descriptor = footer[4] as number;
  if (descriptor & 0x7c)
    throw new FormatError(ra.size - 5n, 'seek table descriptor has reserved bits set', descriptor);
  const entry = descriptor & CHECKSUM_FLAG ? 12 : 8;
  const tableSize = BigInt(count) * BigInt(entry) + BigInt(FOOTER);
  const start = ra.size - tableSize - BigInt(HEADER);
  if (start < 0n)
    throw new FormatError(ra.size - 9n, 'seek table lists more frames than the file holds', count);
  const table = ra.read(start, Number(tableSize) + HEADER);
  if (table.readUInt32LE(0) !== SKIPPABLE_MAGIC || BigInt(table.readUInt32LE(4)) !== tableSize)
    throw new FormatError(start, 'seek table frame header does not match its footer');
  const frames: SeekFrame[] = [];
  let compressedOffset = 0n;
  let offset = 0n;
  for (let i = 0; i < count; i++) {
    const at = HEADER + i * entry;
    const compressedSize = table.readUInt32LE(at);
    const size = table.readUInt32LE(at + 4);
    frames.push({ compressedOffset, compressedSize, offset, size });
    compressedOffset += BigInt(compressedSize);
    offset += BigInt(size);
  }
  if (compressedOffset !== start)
    throw new FormatError(
      start,
      'seek table frame sizes do not add up to the data before it',
      compressedOffset,
    );
  return frames;
}

/** The seek table frame for `frames` (without checksums). */
export function encodeSeekTable(frames: readonly { compressedSize: number; size: number }[]): Buffer {
  const size = frames.length * 8 + FOOTER;
  const out = Buffer.alloc(HEADER + size);
  out.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  out.writeUInt32LE(size, 4);
  frames.forEach((f, i) => {
    out.writeUInt32LE(f.compressedSize, HEADER + i * 8);
    out.writeUInt32LE(f.size, HEADER + i * 8 + 4);
  });
  out.writeUInt32LE(frames.length, HEADER + frames.length * 8);
  out.writeUInt8(0, HEADER + frames.length * 8 + 4);
  out.writeUInt32LE(SEEKABLE_MAGIC, HEADER + frames.length * 8 + 5);
  return out;
}
