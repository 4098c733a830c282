// A Sink that writes zstd's seekable format through another sink: the bytes written to it are cut
// into independent frames of FRAME_SIZE decoded bytes, each compressed on its own, and commit()
// appends the seek table (seek-table.ts). Plain `zstd -d` decodes the result like any zstd file.
import { compress, init } from '@bokuweb/zstd-wasm';
import type { Sink } from '../sink.js';
import { encodeSeekTable } from './seek-table.js';

/** Decoded bytes per frame: small enough that a random read decodes little, large enough to compress well. */
export const FRAME_SIZE = 2 << 20;
const LEVEL = 3;

/** Compresses one frame. */
export type FrameCompressor = (data: Uint8Array) => Uint8Array;

/** zstd (WebAssembly build of the reference library), loaded once. */
export async function zstdCompressor(level = LEVEL): Promise<FrameCompressor> {
  await init();
  return (data) => compress(data, level);
}

export class SeekableZstdSink implements Sink {
  readonly name: string;
  readonly sparse = true;
  position = 0n;
  private readonly inner: Sink;
  private readonly compress: FrameCompressor;
  private readonly frame = Buffer.alloc(FRAME_SIZE);
  private fill = 0;
  private readonly frames: { compressedSize: number; size: number }[] = [];
  /** A whole frame of zeros, compressed once (holes are mostly whole frames). */
  private zeroFrame: Uint8Array | undefined;

  constructor(inner: Sink, compress: FrameCompressor) {
    this.inner = inner;
    this.compress = compress;
    this.name = inner.name;
  }

  write(data: Buffer): void {
    for (let done = 0; done < data.length; ) {
      const n = data.copy(this.frame, this.fill, done);
      this.fill += n;
      done += n;
      if (this.fill === FRAME_SIZE) this.emit();
    }
    this.position += BigInt(data.length);
  }

  hole(n: bigint): void {
    this.position += n;
    let left = n;
    while (left > 0n) {
      if (this.fill === 0 && left >= BigInt(FRAME_SIZE)) {
        this.zeroFrame ??= this.compress(Buffer.alloc(FRAME_SIZE));
        this.append(this.zeroFrame, FRAME_SIZE);
        left -= BigInt(FRAME_SIZE);
        continue;
      }
      const k = Math.min(
        FRAME_SIZE - this.fill,
        Number(left < BigInt(FRAME_SIZE) ? left : BigInt(FRAME_SIZE)),
      );
      this.frame.fill(0, this.fill, this.fill + k);
      this.fill += k;
      left -= BigInt(k);
      if (this.fill === FRAME_SIZE) this.emit();
    }
  }

  commit(): void {
    if (this.fill > 0) this.emit();
    this.inner.write(encodeSeekTable(this.frames));
    this.inner.commit();
  }

  abort(): void {
    this.inner.abort();
  }

  private emit(): void {
    this.append(this.compress(this.frame.subarray(0, this.fill)), this.fill);
    this.fill = 0;
  }

  private append(compressed: Uint8Array, size: number): void {
    this.inner.write(Buffer.from(compressed.buffer, compressed.byteOffset, compressed.length));
    this.frames.push({ compressedSize: compressed.length, size });
  }
}
