// The one way coreshot opens an image file for reading: a path or `-` (standard input), plain or
// compressed (detected by content). Seekable zstd gets true random access; other compressed
// inputs and standard input are decoded in order into a cache file (StreamedAccess).
import { FileAccess, type RandomAccess } from '../random-access.js';
import { detectFormat, MAGIC_BYTES } from './formats.js';
import { readSeekTable } from './seek-table.js';
import { SeekableZstdAccess } from './seekable-access.js';
import { StreamedAccess } from './streamed-access.js';
import { zstdContentSize } from './zstd-size.js';

/** The input name that means standard input. */
export const STDIN = '-';

export function openInput(path: string): RandomAccess {
  if (path === STDIN) return new StreamedAccess(STDIN);
  const file = new FileAccess(path);
  try {
    const format = detectFormat(file.read(0n, MAGIC_BYTES));
    if (!format) return file;
    const frames = format === 'zstd' ? readSeekTable(file) : undefined;
    if (frames) return new SeekableZstdAccess(file, frames);
    const declared = format === 'zstd' ? zstdContentSize(file) : undefined;
    file.close();
    return new StreamedAccess(path, declared);
  } catch (err) {
    file.close();
    throw err;
  }
}
