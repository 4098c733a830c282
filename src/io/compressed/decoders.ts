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

type Decoder = (input: AsyncIterable<Buffer>) => AsyncIterable<Buffer>;

export const DECODERS: Readonly<Record<CompressedFormat, Decoder>> = {
  zstd: decodeZstd,
  xz: (input) => asBuffers(new xzDecompress.XzReadableStream(ReadableStream.from(input))),
  lz4: (input) => decodeLz4Frames(new ChunkReader(input)),
  gzip: (input) => Readable.from(input).pipe(createGunzip()),
};

async function* decodeZstd(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let out: Uint8Array[] = [];
  const zstd = new Decompress((chunk) => {
    out.push(chunk);
  });
  for await (const chunk of input) {
    zstd.push(chunk);
    yield* drain();
  }
  zstd.push(new Uint8Array(0), true);
  yield* drain();

  function* drain(): Generator<Buffer> {
    const ready = out;
    out = [];
    for (const c of ready) yield Buffer.from(c.buffer, c.byteOffset, c.length);
  }
}

async function* asBuffers(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const c of chunks) yield Buffer.from(c.buffer, c.byteOffset, c.length);
}
