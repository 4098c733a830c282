// `--compress zstd` for the commands that write images (dump, convert, guest-memory): the output
// is written in zstd's seekable format, which coreshot reads back with random access.
import { Option } from '@commander-js/extra-typings';
import type { Sink } from '../io/sink.js';

export function compressOption() {
  return new Option(
    '--compress <format>',
    'compress the output as seekable zstd (independent frames and a seek table: coreshot reads it with random access, zstd -d decompresses it)',
  ).choices(['zstd'] as const);
}

/** What turns an output sink into one that compresses (the sink itself without --compress). */
export async function outputFilter(format: 'zstd' | undefined): Promise<(sink: Sink) => Sink> {
  if (!format) return (sink) => sink;
  const { SeekableZstdSink, zstdCompressor } = await import('../io/compressed/seekable-sink.js');
  const compress = await zstdCompressor();
  return (sink) => new SeekableZstdSink(sink, compress);
}
