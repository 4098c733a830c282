// RandomAccess over a seekable zstd file: a read decompresses only the frames it touches (found by
// binary search in the seek table), keeping the last few in a small LRU cache.
import { decompress } from 'fzstd';
import { FormatError } from '../../bytes/errors.js';
import type { RandomAccess } from '../random-access.js';
import type { SeekFrame } from './seek-table.js';

const CACHED_FRAMES = 4;

export class SeekableZstdAccess implements RandomAccess {
  readonly size: bigint;
  /** Frames decompressed so far (tests check that a read touches only a few). */
  framesDecoded = 0;
  private readonly file: RandomAccess;
  private readonly frames: readonly SeekFrame[];
  /** Most recently used last. */
  private readonly cache = new Map<number, Buffer>();

  constructor(file: RandomAccess, frames: readonly SeekFrame[]) {
    this.file = file;
    this.frames = frames;
    const last = frames[frames.length - 1];
    this.size = last ? last.offset + BigInt(last.size) : 0n;
  }

  read(offset: bigint, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = this.readInto(offset, buf);
    return n === length ? buf : buf.subarray(0, n);
  }

  readInto(offset: bigint, target: Buffer): number {
    let done = 0;
    let i = this.frameAt(offset);
    while (done < target.length && i < this.frames.length) {
      const f = this.frames[i] as SeekFrame;
      const at = offset + BigInt(done) - f.offset;
      done += this.frame(i).copy(target, done, Number(at));
      i++;
    }
    return done;
  }

  close(): void {
    this.cache.clear();
    this.file.close();
  }

  /** The index of the frame holding `offset` (frames.length past the end). */
  private frameAt(offset: bigint): number {
    let lo = 0;
    let hi = this.frames.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const f = this.frames[mid] as SeekFrame;
      if (offset < f.offset + BigInt(f.size)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private frame(i: number): Buffer {
    const hit = this.cache.get(i);
    if (hit) {
      this.cache.delete(i);
      this.cache.set(i, hit);
      return hit;
    }
    const f = this.frames[i] as SeekFrame;
    const compressed = this.file.read(f.compressedOffset, f.compressedSize);
    let data: Uint8Array;
    try {
      if (compressed.length < f.compressedSize) throw new Error('the file ends inside it');
      data = decompress(compressed, new Uint8Array(f.size));
    } catch (err) {
      throw new FormatError(f.compressedOffset, `zstd frame ${i} is corrupt (${(err as Error).message})`);
    }
    if (data.length !== f.size)
      throw new FormatError(
        f.compressedOffset,
        `zstd frame ${i} decompresses to ${data.length} bytes, the seek table says`,
        f.size,
      );
    this.framesDecoded++;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
    this.cache.set(i, buf);
    if (this.cache.size > CACHED_FRAMES) this.cache.delete(this.cache.keys().next().value as number);
    return buf;
  }
}
