// LZ4 frame format decoder (the `lz4` tool's format: frames of blocks, linked or independent).
// Written here because npm's LZ4 packages either decode only whole buffers (lz4-napi) or are
// unmaintained; the block format is a few dozen lines.
import type { ChunkReader } from './chunk-reader.js';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block maximum sizes by the BD byte's field (4..7). */
const BLOCK_MAX: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
const WINDOW = 64 << 10;

export class Lz4FormatError extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'Lz4FormatError';
  }
}

/** Decodes every frame of `input`, yielding the decompressed bytes block by block. */
export async function* decodeLz4Frames(input: ChunkReader): AsyncGenerator<Buffer> {
  let first = true;
  while (first || !(await input.atEnd())) {
    const magic = (await input.take(4)).readUInt32LE(0);
    if (!first && (magic & SKIPPABLE_MASK) === SKIPPABLE_MAGIC) {
      await input.take((await input.take(4)).readUInt32LE(0));
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Lz4FormatError(`bad frame magic 0x${magic.toString(16)}`);
    first = false;
    yield* decodeFrame(input);
  }
}

async function* decodeFrame(input: ChunkReader): AsyncGenerator<Buffer> {
  const [flg = 0, bd = 0] = await input.take(2);
  if (flg >> 6 !== 1) throw new Lz4FormatError(`unsupported frame version ${flg >> 6}`);
  const blockChecksum = (flg & 0x10) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const blockMax = BLOCK_MAX[(bd >> 4) & 7];
  if (blockMax === undefined) throw new Lz4FormatError(`bad block size code ${(bd >> 4) & 7}`);
  if (flg & 0x01) throw new Lz4FormatError('frames with a dictionary are not supported');
  await input.take(((flg & 0x08) !== 0 ? 8 : 0) + 1); // content size, header checksum
  // Decoded blocks follow the last 64 KiB of output, so linked blocks can refer back to them.
  const out = Buffer.allocUnsafe(WINDOW + blockMax);
  let history = 0;
  for (;;) {
    const word = (await input.take(4)).readUInt32LE(0);
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > blockMax) throw new Lz4FormatError(`block of ${size} bytes exceeds the frame's ${blockMax}`);
    const data = await input.take(size);
    if (blockChecksum) await input.take(4);
    if (word & 0x80000000) {
      yield Buffer.from(data);
      history = keepHistory(out, history, data);
      continue;
    }
    const end = decodeBlock(data, out, history);
    yield Buffer.from(out.subarray(history, end));
    history = keepHistory(out, history, out.subarray(history, end));
  }
  if (contentChecksum) await input.take(4);
}

/** Moves the last 64 KiB of output (previous history plus `block`) to the start of `out`. */
function keepHistory(out: Buffer, history: number, block: Buffer): number {
  if (block.length >= WINDOW) {
    block.copy(out, 0, block.length - WINDOW);
    return WINDOW;
  }
  const keep = Math.min(history, WINDOW - block.length);
  const blockAt = block.buffer === out.buffer ? block.byteOffset - out.byteOffset : -1;
  out.copyWithin(0, history - keep, history);
  if (blockAt >= 0) out.copyWithin(keep, blockAt, blockAt + block.length);
  else block.copy(out, keep);
  return keep + block.length;
}

/** Decodes one compressed block into `out` at `start`; returns the end of the output. */
function decodeBlock(src: Buffer, out: Buffer, start: number): number {
  let s = 0;
  let d = start;
  const fail = (what: string): never => {
    throw new Lz4FormatError(`corrupt block: ${what}`);
  };
  while (s < src.length) {
    const token = src[s++] as number;
    let literals = token >> 4;
    if (literals === 15) {
      let b = 255;
      while (b === 255) {
        if (s >= src.length) fail('literal length runs past the block');
        b = src[s++] as number;
        literals += b;
      }
    }
    if (s + literals > src.length || d + literals > out.length) fail('literals run past the block');
    src.copy(out, d, s, s + literals);
    s += literals;
    d += literals;
    if (s === src.length) break; // the last sequence has literals only
    if (s + 2 > src.length) fail('match offset runs past the block');
    const offset = (src[s] as number) | ((src[s + 1] as number) << 8);
    s += 2;
    if (offset === 0 || offset > d) fail('match offset points before the output');
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b = 255;
      while (b === 255) {
        if (s >= src.length) fail('match length runs past the block');
        b = src[s++] as number;
        length += b;
      }
    }
    if (d + length > out.length) fail('match runs past the block size');
    let from = d - offset;
    if (offset >= length) {
      out.copyWithin(d, from, from + length);
      d += length;
    } else {
      for (const stop = d + length; d < stop; ) out[d++] = out[from++] as number;
    }
  }
  return d;
}
