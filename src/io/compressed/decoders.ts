// One streaming decoder per compressed format, as async generators of decompressed chunks (they
// run in the decode worker). Why these libraries: see the README's "Compressed cores".
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import xzDecompress from 'xz-decompress';
import { ChunkReader } from './chunk-reader.js';
import type { CompressedFormat } from './formats.js';
import { decodeLz4Frames } from './lz4-frame.js';

/**
 * Decodes `input`, handing every decoded chunk to `emit` as soon as it exists. `emit` may block
 * the thread (the worker pauses there once it is far enough ahead), so decoding stops in the
 * middle of an input chunk: 64 KiB of zstd can hold hundreds of MiB of zero pages.
 */
export type Decoder = (input: AsyncIterable<Buffer>, emit: (chunk: Buffer) => void) => Promise<void>;

export const DECODERS: Readonly<Record<CompressedFormat, Decoder>> = {
  zstd: decodeZstd,
  xz: (input, emit) => each(new xzDecompress.XzReadableStream(ReadableStream.from(input)), emit),
  lz4: (input, emit) => each(decodeLz4Frames(new ChunkReader(input)), emit),
  gzip: (input, emit) => each(Readable.from(input).pipe(createGunzip()), emit),
};

/** fzstd calls back once per block (at most 128 KiB of output), from inside `push`. */
async function decodeZstd(input: AsyncIterable<Buffer>, emit: (chunk: Buffer) => void): Promise<void> {
  const zstd = new Decompress((c) => emit(Buffer.from(c.buffer, c.byteOffset, c.length)));
  for await (const chunk of input) zstd.push(chunk);
  zstd.push(new Uint8Array(0), true);
}

/** Emits every chunk of a stream (input already decoded, or decoded by the stream itself). */
export async function each(chunks: AsyncIterable<Uint8Array>, emit: (chunk: Buffer) => void): Promise<void> {
  for await (const c of chunks) emit(Buffer.from(c.buffer, c.byteOffset, c.length));
}
